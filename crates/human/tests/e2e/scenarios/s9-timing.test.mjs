// Scenario 9: timing sanity with Playwright's fake clock (it fakes Date, timers,
// requestAnimationFrame and performance.now). The clock is paused once the first task trial is
// in its fixation; the test then steps time by hand, so onset, first click and submit are known
// exactly: rt_ms = submit − onset, first_click_ms = click − onset, to the microsecond.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, recordPids, derivedConfig, scenarioDir } from '../lib/harness.mjs';
import { QUIZ_CORRECT } from '../lib/agent.mjs';

const FIX = 400;

test('timing: onset from rAF after decode, rt = submit − onset exactly (fake clock)', async () => {
  const dir = scenarioDir('s9-config');
  const config = derivedConfig(dir, { fixation_ms: String(FIX), practice: 'false' });
  await scenario(
    's9-timing',
    async ({ server, context }) => {
      recordPids(['TIMINGPID']);
      const page = await context.newPage();
      await page.clock.install({ time: new Date('2030-02-01T09:00:00Z') });
      const posted = [];
      page.on('request', (req) => {
        if (req.method() === 'POST' && /\/trials$/.test(req.url())) posted.push(...req.postDataJSON());
      });
      await page.goto(studyUrl(server, 'TIMINGPID'));
      // Walk to the first task trial with the clock running.
      for (const key of ['read', 'voluntary', 'data', 'adult']) await page.check(`[data-testid="consent-checkbox-${key}"]`);
      await page.click('[data-testid="consent-continue"]');
      await page.click('[data-testid="instructions-continue"]');
      await page.waitForSelector('[data-testid="page-quiz"], [data-testid="page-task-intro"]');
      if (await page.isVisible('[data-testid="page-quiz"]')) {
        for (let q = 0; q < QUIZ_CORRECT.length; q += 1) await page.check(`[data-testid="quiz-q${q + 1}-option-${QUIZ_CORRECT[q]}"]`);
        await page.click('[data-testid="quiz-submit"]');
      }
      await page.waitForSelector('[data-testid="page-task-intro"]');
      // Pause the clock before the trial starts, then start it.
      const t0 = await page.evaluate(() => Date.now());
      await page.clock.pauseAt(t0 + 1000);
      await page.click('[data-testid="task-intro-continue"]');
      await page.waitForSelector('[data-testid="trial"][data-state="fixation"]');
      const fixAt = await page.evaluate(() => performance.now());
      // The fixation lasts FIX ms of (fake) time: it is still there just before.
      await page.clock.runFor(FIX - 50);
      assert.equal(await page.getAttribute('[data-testid="trial"]', 'data-state'), 'fixation');
      await page.clock.runFor(60);
      // Decoding is real work; then two animation frames (16 ms fake frames) give the onset.
      let state = null;
      for (let i = 0; i < 200 && state !== 'awaiting-response'; i += 1) {
        await page.clock.runFor(16);
        state = await page.getAttribute('[data-testid="trial"]', 'data-state');
      }
      assert.equal(state, 'awaiting-response');
      const labels = await page.$$eval('[data-testid="trial"] button.label', (bs) => bs.map((b) => Number(b.dataset.label)));
      await page.clock.runFor(1234);
      const clickAt = await page.evaluate(() => performance.now());
      await page.click(`[data-testid="label-${labels[0]}"]`);
      await page.clock.runFor(500);
      const submitAt = await page.evaluate(() => performance.now());
      await page.click('[data-testid="submit"]');
      // Let the post go out.
      for (let i = 0; i < 50 && posted.length === 0; i += 1) {
        await page.clock.runFor(20);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(posted.length >= 1, 'the trial was posted');
      const rec = posted[0];
      assert.equal(rec.submit_ms, submitAt, 'submit_ms = performance.now() at the click');
      assert.equal(rec.rt_ms, Math.round((submitAt - rec.onset_ms) * 1000) / 1000, 'rt_ms = submit − onset');
      assert.ok(rec.onset_ms >= fixAt + FIX, `onset ${rec.onset_ms} after the fixation (${fixAt} + ${FIX})`);
      assert.ok(rec.onset_ms <= clickAt - 1234 + 1e-9, 'onset before the waiting started');
      assert.ok(rec.rt_ms >= 1734 - 1e-9, `rt_ms ${rec.rt_ms} ≥ 1234 + 500`);
      const l0 = rec.labels.find((l) => l.label === labels[0]);
      assert.equal(l0.selected, true);
      assert.equal(l0.n_toggles, 1);
      assert.equal(l0.first_click_ms, Math.round((clickAt - rec.onset_ms) * 1000) / 1000, 'first_click_ms = click − onset');
      for (const l of rec.labels) if (l.label !== labels[0]) assert.equal(l.first_click_ms, null);
    },
    { config },
  );
});
