// Scenario 1 (HUMAN-TASK §4.7): the happy path over three days, PID TESTPID1, a perfect policy.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, adminJson, adminText, recordPids, tomlValue, TINY } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';
import { parseCsv } from '../lib/csv.mjs';

test('happy path: consent, quiz, practice, a perfect policy on three days, one redirect per day', async () => {
  await scenario('s1-happy', async ({ server, context, redirects }) => {
    recordPids(['TESTPID1']);
    const code = tomlValue(TINY, 'completed');
    const days = Number(tomlValue(TINY, 'days') || 3);
    const page = await context.newPage();
    let participant = null;
    let nLabels = 0;
    const all = [];
    for (let day = 1; day <= days; day += 1) {
      const r = await runDay(page, studyUrl(server, 'TESTPID1'), { policy: policies.perfect() });
      assert.equal(r.end, 'redirect', `day ${day} ended with ${r.end}: ${r.text || ''}`);
      assert.equal(new URL(r.redirect).searchParams.get('cc'), code, `day ${day}: completion code`);
      assert.equal(redirects.length, day, 'exactly one redirect per day');
      assert.equal(r.session.day, day);
      participant = participant || r.session.participant;
      assert.equal(r.session.participant, participant, 'the same participant every day');
      assert.match(participant, /^p\d+$/);
      nLabels = r.session.labels.length;
      // Page order: consent before instructions; quiz and practice only on day 1; debrief on the last.
      assert.ok(r.pages.indexOf('consent') < r.pages.indexOf('instructions'));
      assert.equal(r.pages.includes('quiz'), day === 1);
      assert.equal(r.pages.includes('practice'), day === 1 && r.session.practice);
      assert.equal(r.pages.includes('debrief'), day === days);
      assert.ok(r.pages.indexOf('survey') > r.pages.lastIndexOf('task'), 'the survey after the trials');
      // Every scheduled trial was shown once, in order.
      assert.deepEqual(
        r.trials.map((t) => t.global_trial),
        r.session.trials.map((t) => t.global_trial),
      );
      all.push(...r.trials.map((t) => ({ ...t, day })));
    }
    // A fourth visit: the study is done, no redirect.
    const again = await runDay(page, studyUrl(server, 'TESTPID1'));
    assert.equal(again.end, 'blocked');
    assert.equal(again.blocked, 'done');
    assert.equal(redirects.length, days);

    // Database counts through the analysis endpoint (responses_long: train and probe trials).
    const analysis = await adminJson(server, '/analysis');
    const agent = analysis.agents.find((a) => a.agent_id === participant);
    assert.ok(agent, `agent ${participant} in the analysis`);
    const learning = all.filter((t) => t.phase === 'train' || t.phase === 'probe');
    assert.equal(agent.bins.length, days, 'one bin (block) per day');
    assert.equal(agent.bins.reduce((s, b) => s + b.trials, 0), learning.length);
    assert.equal(learning.length, days * 8, '3 × 8 learning trials');
    assert.equal(analysis.n_rows, nLabels * days * 8, 'L × 24 label rows');
    for (const b of agent.bins) {
      for (const l of b.levels) {
        assert.equal(l.tnr, 1, `TNR day ${b.day} level ${l.level}`);
        assert.equal(l.tpr, 1, `TPR day ${b.day} level ${l.level}`);
        assert.ok(l.d_prime > 2.5, `d′ day ${b.day} level ${l.level} = ${l.d_prime}`);
      }
    }

    // The wide JSON export: three completed sessions with consent, browser and screen recorded.
    const wide = await adminJson(server, '/export?format=json');
    const sessions = wide.sessions.filter((x) => x.participant === participant);
    assert.equal(sessions.length, days, 'one session per day');
    for (const x of sessions) {
      assert.equal(x.status, 'completed');
      assert.equal(x.code_kind, 'completed');
      assert.equal(x.consent_version, tomlValue(TINY, 'consent_version'));
      assert.equal(x.browser.family, 'Chrome');
      assert.ok(x.browser.major > 0);
      assert.ok(x.screen.w > 0 && x.screen.h > 0);
      assert.equal(x.trials.length, x.n_trials);
      assert.equal(x.survey.confidence, '3');
      assert.match(x.survey.strategy, /learned from the feedback/);
      for (const t of x.trials) {
        assert.ok(t.rt_ms > 0 && Math.abs(t.rt_ms - (t.submit_ms - t.onset_ms)) < 0.01, `rt = submit − onset (trial ${t.global_trial})`);
        assert.ok(t.time_elapsed_ms >= t.submit_ms - 0.01);
      }
    }
    assert.equal(sessions.reduce((s, x) => s + x.trials.filter((t) => t.phase === 'train' || t.phase === 'probe').length, 0), days * 8);

    // The long CSV export: one row per (trial, label) of every stored trial, no duplicates.
    const csv = parseCsv(await adminText(server, '/export?format=csv'));
    const col = (names) => names.find((n) => csv.header.includes(n));
    const cDay = col(['day', 'session']);
    const cTrial = col(['global_trial', 'trial_index', 'trial']);
    const cLabel = col(['label']);
    assert.ok(cDay && cTrial && cLabel, `CSV columns day/global_trial/label in ${csv.header.join(',')}`);
    const keys = csv.rows.map((r) => `${r[cDay]}/${r[cTrial]}/${r[cLabel]}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate (day, trial, label) rows');
    const trialsStored = new Set(csv.rows.map((r) => `${r[cDay]}/${r[cTrial]}`));
    assert.equal(trialsStored.size, all.length, 'every trial of the three days stored once');
    const expectedRows = all.reduce((s, t) => s + t.labels.length, 0);
    assert.equal(csv.rows.length, expectedRows, 'one row per shown label');
  });
});
