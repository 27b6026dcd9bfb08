// Scenario 6: failed attention checks → the "please return" page and the failed_attention code.
// A copy of tiny.toml with max_attention_failures = 0 (tiny has one check a day) and a visible
// redirect delay, so the return page and its manual link can be checked before the redirect.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, recordPids, derivedConfig, scenarioDir, tomlValue, TINY } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';

test('attention checks failed → return page and the failed_attention code', async () => {
  const dir = scenarioDir('s6-config');
  const config = derivedConfig(dir, { max_attention_failures: '0', redirect_delay_ms: '1500' });
  const failedCode = tomlValue(TINY, 'failed_attention');
  await scenario(
    's6-attention',
    async ({ server, context, redirects }) => {
      recordPids(['ATTNPID']);
      const page = await context.newPage();
      const completes = [];
      page.on('response', async (res) => {
        if (/\/complete$/.test(res.url()) && res.status() === 200) completes.push(await res.json());
      });
      const r = await runDay(page, studyUrl(server, 'ATTNPID'), { policy: policies.perfect(), attention: 'fail' });
      assert.ok(r.trials.some((t) => t.phase === 'attention'), 'the day has an attention check');
      assert.equal(r.end, 'redirect');
      assert.ok(r.pages.includes('saved-return'), `the return page was shown (${r.pages.join(',')})`);
      assert.equal(new URL(r.redirect).searchParams.get('cc'), failedCode);
      assert.equal(r.redirectLink, r.redirect, 'the manual link points to the same completion URL');
      assert.equal(completes.length, 1);
      assert.equal(completes[0].code_kind, 'failed_attention');
      assert.equal(redirects.length, 1);
      // Back again: not eligible for day 2, no redirect.
      const again = await runDay(page, studyUrl(server, 'ATTNPID'));
      assert.equal(again.end, 'blocked');
      assert.equal(again.blocked, 'not_eligible');
      assert.equal(redirects.length, 1);
    },
    { config },
  );
});

test('attention check passed → completed code', async () => {
  const dir = scenarioDir('s6b-config');
  const config = derivedConfig(dir, { max_attention_failures: '0' });
  await scenario(
    's6-attention-pass',
    async ({ server, context }) => {
      recordPids(['ATTNPID2']);
      const page = await context.newPage();
      const r = await runDay(page, studyUrl(server, 'ATTNPID2'), { policy: policies.alwaysNo(), attention: 'pass' });
      assert.equal(r.end, 'redirect');
      assert.equal(new URL(r.redirect).searchParams.get('cc'), tomlValue(TINY, 'completed'));
    },
    { config },
  );
});
