// Scenario 3: reload after the third task trial → the page continues at the fourth; nothing is
// asked twice and no trial is stored twice.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, adminText, recordPids } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';
import { parseCsv } from '../lib/csv.mjs';

async function stateOf(server, token) {
  const res = await fetch(`${server.origin}/api/v1/sessions/${token}/state`);
  assert.equal(res.status, 200);
  return res.json();
}

test('resume: reload after trial 3 continues at trial 4, no duplicates', async () => {
  await scenario('s3-resume', async ({ server, context, redirects }) => {
    recordPids(['RESUMEPID']);
    const url = studyUrl(server, 'RESUMEPID');
    const page = await context.newPage();
    const dialogs = [];
    page.on('dialog', (d) => dialogs.push(d.type()));
    let firstMain = null;
    const first = await runDay(page, url, {
      policy: policies.perfect(),
      onTrial: (t) => {
        if (t.phase === 'practice') return undefined;
        if (firstMain === null) firstMain = t.global_trial;
        return t.global_trial === firstMain + 3 ? 'stop' : undefined;
      },
    });
    assert.equal(first.end, 'stopped');
    const token = first.session.token;
    // Wait until the third task trial is acknowledged, then reload.
    const third = firstMain + 2;
    for (let i = 0; i < 100; i += 1) {
      const st = await stateOf(server, token);
      if (st.stored.includes(third)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = await runDay(page, url, { policy: policies.perfect(), reload: true });
    assert.ok(dialogs.includes('beforeunload'), `the reload asked for confirmation (beforeunload; saw ${dialogs.join(',') || 'none'})`);
    assert.equal(second.end, 'redirect', `after reload: ${second.end} ${second.text || ''}`);
    assert.equal(second.session.token, token, 'the same session after the reload');
    assert.equal(second.trials[0].global_trial, firstMain + 3, 'continues at the fourth task trial');
    for (const p of ['consent', 'instructions', 'quiz', 'practice', 'practice-intro', 'task-intro']) {
      assert.ok(!second.pages.includes(p), `${p} not shown again after the reload`);
    }
    const answered = [...first.trials, ...second.trials].map((t) => t.global_trial);
    assert.equal(new Set(answered).size, answered.length, 'no trial answered twice');
    assert.deepEqual([...answered].sort((a, b) => a - b), first.session.trials.map((t) => t.global_trial));
    assert.equal(redirects.length, 1);
    const st = await stateOf(server, token);
    assert.equal(st.completed, true);
    assert.equal(new Set(st.stored).size, st.stored.length);
    assert.equal(st.stored.length, st.n_trials);
    const csv = parseCsv(await adminText(server, '/export?format=csv'));
    const cTrial = ['global_trial', 'trial_index', 'trial'].find((n) => csv.header.includes(n));
    const cLabel = 'label';
    const keys = csv.rows.map((r) => `${r[cTrial]}/${r[cLabel]}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate (global_trial, label) rows');
  });
});
