// Scenario 2: scripted policies → the analysis endpoint's TNR/TPR equal the values computed here
// from what each policy actually selected (±0.02), and the golden values of the pure policies.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, adminJson, recordPids } from '../lib/harness.mjs';
import { runDay, policies, rates } from '../lib/agent.mjs';

const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 0.02, `${what}: analysis ${a} vs expected ${b}`);

test('policies → analysis golden values (always-no, perfect, OCS responder, random p=.5)', async () => {
  await scenario('s2-policies', async ({ server, browser }) => {
    const agents = [
      { pid: 'POLICY-NO', policy: policies.alwaysNo() },
      { pid: 'POLICY-PERFECT', policy: policies.perfect() },
      { pid: 'POLICY-OCS', policy: policies.ocs(7) },
      { pid: 'POLICY-RANDOM', policy: policies.random(11, 0.5) },
    ];
    recordPids(agents.map((a) => a.pid));
    const runs = await Promise.all(
      agents.map(async (a) => {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        await context.route('https://app.prolific.com/**', (r) => r.fulfill({ status: 200, body: 'ok' }));
        const page = await context.newPage();
        try {
          const r = await runDay(page, studyUrl(server, a.pid), { policy: a.policy });
          assert.equal(r.end, 'redirect', `${a.pid}: ${r.end}`);
          return { ...a, r };
        } finally {
          await context.close();
        }
      }),
    );
    const analysis = await adminJson(server, '/analysis');
    for (const { pid, r } of runs) {
      const agent = analysis.agents.find((x) => x.agent_id === r.session.participant);
      assert.ok(agent, `${pid}: agent ${r.session.participant} in the analysis`);
      const expected = rates(r.trials.map((t) => ({ ...t, day: r.session.day })));
      assert.ok(expected.length > 0);
      for (const e of expected) {
        const bin = agent.bins.find((b) => b.day === e.day && b.block === e.block);
        assert.ok(bin, `${pid}: bin day ${e.day} block ${e.block}`);
        const lv = bin.levels.find((l) => l.level === e.level);
        assert.ok(lv, `${pid}: level ${e.level}`);
        close(lv.tnr, e.tnr, `${pid} TNR level ${e.level}`);
        close(lv.tpr, e.tpr, `${pid} TPR level ${e.level}`);
        // Golden values of the deterministic policies.
        if (pid === 'POLICY-NO') {
          assert.equal(lv.tnr, 1);
          assert.equal(lv.tpr, 0);
        }
        if (pid === 'POLICY-PERFECT') {
          assert.equal(lv.tnr, 1);
          assert.equal(lv.tpr, 1);
        }
        if (pid === 'POLICY-OCS') {
          // "No" to every label with base rate < .5 (basic and item names here).
          const nAtLevel = r.session.labels.filter((l) => l.level === e.level).length;
          if (1 / nAtLevel < 0.5) {
            assert.equal(lv.tnr, 1);
            assert.equal(lv.tpr, 0);
          }
        }
      }
      // The random responder selected something and missed something.
      if (pid === 'POLICY-RANDOM') {
        const sel = r.trials.filter((t) => t.phase === 'train').reduce((s, t) => s + t.selected.length, 0);
        assert.ok(sel > 0);
      }
    }
  });
});
