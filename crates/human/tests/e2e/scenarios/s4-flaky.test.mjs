// Scenario 4: a flaky network. Two trial posts are aborted (the client queues and retries with
// backoff without stopping the participant), one is "acknowledged" by a broken proxy without
// reaching the server (so /complete answers 409 and the client re-sends it from localStorage).
// /complete succeeds only once every trial arrived, and the redirect happens only after that.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, recordPids } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';

test('flaky network: aborted posts retried, /complete refused until all trials arrived, redirect after', async () => {
  await scenario('s4-flaky', async ({ server, context, redirects }) => {
    recordPids(['FLAKYPID']);
    const page = await context.newPage();
    const log = []; // {what, gts|status, t}
    let aborted = 0;
    let fakeAcked = null;
    let lastTrial = null;
    page.on('response', async (res) => {
      if (res.request().method() !== 'POST') return;
      if (/\/api\/v1\/sessions$/.test(res.url())) {
        const j = await res.json();
        if (j.trials) lastTrial = j.trials[j.trials.length - 1].global_trial;
        return;
      }
      if (/\/complete$/.test(res.url())) {
        const t = Date.now();
        let body = null;
        try {
          body = await res.json();
        } catch {
          /* ignore */
        }
        log.push({ what: 'complete', status: res.status(), body, t });
      } else if (/\/trials$/.test(res.url()) && res.status() === 200) {
        const t = Date.now();
        const sent = res.request().postDataJSON().map((r) => r.global_trial);
        log.push({ what: 'trials-ok', gts: sent, fake: res.headers()['x-e2e-fake'] === '1', t });
      }
    });
    page.on('requestfailed', (req) => {
      if (/\/trials$/.test(req.url())) log.push({ what: 'trials-failed', gts: req.postDataJSON().map((r) => r.global_trial), t: Date.now() });
    });
    await page.route('**/api/v1/sessions/*/trials', async (route) => {
      const gts = route.request().postDataJSON().map((r) => r.global_trial);
      if (aborted < 2 && gts.some((g) => g >= 2)) {
        aborted += 1;
        return route.abort('connectionreset');
      }
      if (fakeAcked === null && lastTrial !== null && gts.length === 1 && gts[0] === lastTrial) {
        fakeAcked = lastTrial;
        return route.fulfill({
          status: 200,
          contentType: 'application/json',
          headers: { 'x-e2e-fake': '1' },
          body: JSON.stringify({ stored: gts, n_stored: gts.length }),
        });
      }
      return route.continue();
    });
    const r = await runDay(page, studyUrl(server, 'FLAKYPID'), {
      policy: policies.perfect(),
      timeout: 20000,
    });
    assert.equal(r.end, 'redirect', `${r.end}: ${r.text || ''}`);
    const n = r.session.trials.length;
    assert.equal(aborted, 2, 'two trial posts aborted');
    const failed = log.filter((e) => e.what === 'trials-failed');
    assert.equal(failed.length, 2);
    const okGts = new Set(log.filter((e) => e.what === 'trials-ok' && !e.fake).flatMap((e) => e.gts));
    for (const f of failed) for (const g of f.gts) assert.ok(okGts.has(g), `aborted trial ${g} was sent again and stored`);
    const completes = log.filter((e) => e.what === 'complete');
    const ok = completes.filter((e) => e.status === 200);
    assert.equal(ok.length, 1, `one successful /complete (saw ${completes.map((e) => e.status).join(',')})`);
    const okAt = ok[0].t;
    // Every trial had really arrived before the successful /complete.
    const arrivedAt = new Map();
    for (const e of log) if (e.what === 'trials-ok' && !e.fake) for (const g of e.gts) if (!arrivedAt.has(g)) arrivedAt.set(g, e.t);
    assert.equal(arrivedAt.size, n, 'all trials arrived');
    for (const [g, t] of arrivedAt) assert.ok(t <= okAt, `trial ${g} arrived before /complete succeeded`);
    // The queue retried the aborted posts by itself (backoff), before the end of the day.
    const firstComplete = Math.min(...completes.map((e) => e.t));
    for (const f of failed) for (const g of f.gts) assert.ok(arrivedAt.get(g) < firstComplete, `aborted trial ${g} retried before /complete`);
    if (fakeAcked !== null) {
      const conflicts = completes.filter((e) => e.status === 409);
      assert.ok(conflicts.length >= 1, '/complete refused while a trial was missing');
      assert.ok(conflicts[0].body.missing.includes(fakeAcked), `409 names the missing trial ${fakeAcked}`);
      assert.ok(conflicts.every((e) => e.t < okAt));
    }
    assert.equal(redirects.length, 1, 'one redirect');
    assert.ok(redirects[0].at >= okAt, 'redirect only after /complete succeeded');
    assert.ok(fakeAcked !== null, 'the lost acknowledgement was exercised');
    const st = await (await fetch(`${server.origin}/api/v1/sessions/${r.session.token}/state`)).json();
    assert.equal(st.stored.length, n);
    assert.equal(st.completed, true);
  });
});
