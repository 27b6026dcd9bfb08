// Scenario 5: day windows through the server clock (`X-Test-Now`, --dev only). A copy of
// tiny.toml with min_gap_hours = 16: day 2 too early → "come back at …"; within the window →
// day 2; day 3 after max_gap_hours → too_late. Blocked pages never redirect.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, recordPids, derivedConfig, scenarioDir, tomlValue, TINY } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';

const T0 = Date.parse('2030-01-07T10:00:00Z');
const at = (hours) => new Date(T0 + hours * 3600e3).toISOString();

test('day windows: too early, within the window, too late', async () => {
  const dir = scenarioDir('s5-config');
  const config = derivedConfig(dir, { min_gap_hours: '16.0', max_gap_hours: '48.0' });
  const code = tomlValue(TINY, 'completed');
  await scenario(
    's5-windows',
    async ({ server, context, redirects }) => {
      recordPids(['WINDOWPID']);
      const url = studyUrl(server, 'WINDOWPID');
      const page = await context.newPage();
      const visit = async (hours, opts = {}) => {
        await page.setExtraHTTPHeaders({ 'X-Test-Now': at(hours) });
        return runDay(page, url, { policy: policies.perfect(), ...opts });
      };
      const d1 = await visit(0);
      assert.equal(d1.end, 'redirect');
      assert.equal(new URL(d1.redirect).searchParams.get('cc'), code);
      assert.equal(d1.session.day, 1);

      const early = await visit(1);
      assert.equal(early.end, 'blocked');
      assert.equal(early.blocked, 'too_early');
      assert.match(early.text, /come back at/i);
      const next = await page.getAttribute('[data-testid="come-back-at"]', 'data-next-available-at');
      assert.equal(Date.parse(next), T0 + 16 * 3600e3, `next_available_at ${next} = completion + 16 h`);
      assert.equal(redirects.length, 1, 'no redirect when too early');

      const d2 = await visit(17);
      assert.equal(d2.end, 'redirect', `within the window: ${d2.end} ${d2.text || ''}`);
      assert.equal(d2.session.day, 2);
      assert.equal(redirects.length, 2);

      const late = await visit(17 + 49);
      assert.equal(late.end, 'blocked');
      assert.equal(late.blocked, 'too_late');
      assert.match(late.text, /closed|too late/i);
      assert.equal(redirects.length, 2, 'no redirect when too late');
      assert.equal(page.url().startsWith(server.origin), true);
    },
    { config },
  );
});
