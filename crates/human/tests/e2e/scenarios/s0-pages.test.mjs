// The pages around the trials: development IDs without PROLIFIC_PID (--dev), the quiz (repeat
// the instructions after a wrong try, screened out after three), declining consent, and the
// participant-facing texts the protocol requires.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, recordPids, adminJson } from '../lib/harness.mjs';
import { runDay, policies, QUIZ_CORRECT } from '../lib/agent.mjs';

const WRONG = [0, 1, 1, 0];

test('pages: dev ID, quiz retry and screen-out, consent texts, declining', async () => {
  await scenario('s0-pages', async ({ server, context, redirects }) => {
    recordPids(['QUIZPASS2', 'QUIZFAIL3', 'DECLINEPID']);
    const page = await context.newPage();

    // Without PROLIFIC_PID a --dev server offers a development ID.
    await page.goto(server.url);
    await page.waitForSelector('[data-testid="page-dev-id"]');
    const devId = await page.inputValue('[data-testid="dev-id-input"]');
    assert.match(devId, /^DEV-[A-Z0-9]+$/);
    await page.fill('[data-testid="dev-id-input"]', 'DEV-E2E-1');
    await page.click('[data-testid="dev-id-start"]');
    await page.waitForSelector('[data-testid="page-consent"]');
    assert.equal(new URL(page.url()).searchParams.get('PROLIFIC_PID'), 'DEV-E2E-1', 'the dev ID goes into the URL (reload resumes)');
    recordPids(['DEV-E2E-1']);
    const consent = await page.innerText('#app');
    assert.match(consent, /Rubruck et al\./);
    assert.match(consent, /details of the original human study were not available/);
    assert.match(consent, /ETH-TEST|Ethics approval reference: \S+/);
    assert.match(consent, /test-v1|Consent form version \S+/);
    assert.match(consent, /No personal data/i);
    // Continue is disabled until every box is ticked.
    assert.equal(await page.isDisabled('[data-testid="consent-continue"]'), true);

    // The instructions say "select all names that apply" and never "one per level".
    for (const key of ['read', 'voluntary', 'data', 'adult']) await page.check(`[data-testid="consent-checkbox-${key}"]`);
    await page.click('[data-testid="consent-continue"]');
    await page.waitForSelector('[data-testid="page-instructions"]');
    const instr = await page.innerText('#app');
    assert.match(instr, /select all names that apply/i);
    assert.doesNotMatch(instr, /one (name )?(per|for each) (level|row)|exactly one/i);

    // A wrong quiz try → the instructions again with a notice, then the quiz passes.
    const pass2 = await runDay(page, studyUrl(server, 'QUIZPASS2'), { policy: policies.alwaysNo(), quiz: [WRONG, QUIZ_CORRECT] });
    assert.equal(pass2.end, 'redirect');
    assert.deepEqual(pass2.pages.slice(0, 5), ['consent', 'instructions', 'quiz', 'instructions', 'quiz']);

    // Three wrong tries → screened out: no trial, the return notice, then the redirect with
    // the screened-out completion code (the server ends the day with it).
    const fail3 = await runDay(page, studyUrl(server, 'QUIZFAIL3'), { quiz: [WRONG] });
    // (With tiny's redirect_delay_ms = 0 the redirect may come before the agent reads the page.)
    assert.ok(['screened-out', 'redirect'].includes(fail3.end), fail3.end);
    assert.equal(fail3.pages.filter((p) => p === 'quiz').length, 3);
    assert.equal(fail3.trials.length, 0);
    if (fail3.end === 'screened-out') assert.match(fail3.text, /return your submission/i);
    const deadline = Date.now() + 10_000;
    while (redirects.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(redirects.length, 2, 'the screened-out participant is redirected');
    assert.equal(new URL(redirects[1].url).searchParams.get('cc'), 'C1TINYSCREEN');
    // A later visit is not eligible any more.
    const again = await runDay(page, studyUrl(server, 'QUIZFAIL3'));
    assert.equal(again.end, 'blocked');
    assert.equal(again.blocked, 'not_eligible');

    // Declining consent.
    await page.goto(studyUrl(server, 'DECLINEPID'));
    await page.waitForSelector('[data-testid="page-consent"]');
    await page.click('[data-testid="consent-decline"]');
    await page.waitForSelector('[data-testid="page-declined"]');
    assert.equal(redirects.length, 2, 'declining consent does not redirect');
  });
});

test('without --dev: "open from Prolific" without a PID, the window-size check, no item index in the DOM', async () => {
  await scenario(
    's0-nodev',
    async ({ server, context }) => {
      recordPids(['NODEVPID']);
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForSelector('[data-testid="page-no-pid"]');
      assert.match(await page.innerText('#app'), /open this study from Prolific/i);
      assert.equal(await page.$('[data-testid="dev-id-input"]'), null);

      // A window below 1000 × 700 is refused until it is enlarged.
      await page.setViewportSize({ width: 900, height: 650 });
      await page.goto(studyUrl(server, 'NODEVPID'));
      await page.waitForSelector('[data-testid="page-browser-check"]');
      assert.match(await page.innerText('#app'), /1000 × 700/);
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.waitForSelector('[data-testid="page-consent"]');
      for (const key of ['read', 'voluntary', 'data', 'adult']) await page.check(`[data-testid="consent-checkbox-${key}"]`);
      await page.click('[data-testid="consent-continue"]');
      await page.click('[data-testid="instructions-continue"]');
      for (let q = 0; q < QUIZ_CORRECT.length; q += 1) await page.check(`[data-testid="quiz-q${q + 1}-option-${QUIZ_CORRECT[q]}"]`);
      await page.click('[data-testid="quiz-submit"]');
      await page.click('[data-testid="practice-intro-continue"]');
      await page.waitForSelector('[data-testid="trial"][data-state="awaiting-response"]');
      assert.equal(await page.getAttribute('[data-testid="trial"]', 'data-item'), null, 'no data-item without --dev');
      assert.equal(await page.getAttribute('body', 'data-dev'), '0');
      // The window resize was logged as an event (sent once the session existed).
      let events = [];
      for (let i = 0; i < 50; i += 1) {
        const wide = await adminJson(server, '/export?format=json');
        events = (wide.sessions[0] && wide.sessions[0].events) || [];
        if (events.some((e) => e.kind === 'resize')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const resize = events.find((e) => e.kind === 'resize');
      assert.ok(resize, `a resize event was stored (${events.map((e) => e.kind).join(',')})`);
      const payload = typeof resize.payload === 'string' ? JSON.parse(resize.payload) : resize.payload || JSON.parse(resize.payload_json);
      assert.deepEqual(payload, { w: 1280, h: 800 });
    },
    { dev: false },
  );
});
