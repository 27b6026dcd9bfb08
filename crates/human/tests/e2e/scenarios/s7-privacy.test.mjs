// Scenario 7: privacy. After the other scenarios (run.sh runs this file last), no raw Prolific
// ID appears in any SQLite file the run wrote, nor its -wal/-shm, and no IPv4 address is stored.
// It also runs a session of its own and scans while its server is still running (WAL present)
// and after it stopped.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { scenario, studyUrl, recordPids, runDir } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';

const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/g;

function dbFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.sqlite(-wal|-shm|-journal)?$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function scan(files, pids) {
  const problems = [];
  for (const f of files) {
    let buf;
    try {
      buf = fs.readFileSync(f);
    } catch {
      continue; // a -wal/-shm removed at shutdown between listing and reading
    }
    for (const pid of pids) {
      if (buf.indexOf(Buffer.from(pid, 'utf8')) !== -1) problems.push(`${f}: raw PID ${pid}`);
      if (buf.indexOf(Buffer.from(pid, 'utf16le')) !== -1) problems.push(`${f}: raw PID ${pid} (UTF-16)`);
    }
    const text = buf.toString('latin1');
    if (text.includes('127.0.0.1')) problems.push(`${f}: 127.0.0.1`);
    const ips = text.match(IPV4);
    if (ips) problems.push(`${f}: IPv4-like ${[...new Set(ips)].slice(0, 5).join(', ')}`);
  }
  return problems;
}

test('privacy: no raw PID and no IP in the database files (-wal/-shm included)', async () => {
  const pids = ['TESTPID1', 'PRIVACYPID9'];
  let ownDir = null;
  await scenario('s7-privacy', async ({ server, context, dir }) => {
    ownDir = dir;
    recordPids(['PRIVACYPID9']);
    const page = await context.newPage();
    const r = await runDay(page, studyUrl(server, 'PRIVACYPID9', { study: 'PRIVSTUDY42', session: 'PRIVSESS42' }), {
      policy: policies.perfect(),
    });
    assert.equal(r.end, 'redirect');
    const live = dbFiles(dir);
    assert.ok(live.some((f) => f.endsWith('.sqlite')), `the database exists (${live.join(', ')})`);
    assert.ok(live.some((f) => f.endsWith('.sqlite-wal')), `the live database has its -wal (WAL mode): ${live.join(', ')}`);
    assert.deepEqual(scan(live, [...pids, 'PRIVSESS42']), [], 'while the server runs');
  });
  // After the servers stopped: every database of this run.
  const pidFile = path.join(runDir(), 'pids.txt');
  const all = new Set(pids);
  if (fs.existsSync(pidFile)) for (const p of fs.readFileSync(pidFile, 'utf8').split('\n')) if (p.trim()) all.add(p.trim());
  const files = dbFiles(runDir());
  assert.ok(files.length >= 1 && files.some((f) => f.startsWith(ownDir)));
  assert.deepEqual(scan(files, [...all]), [], `scanned ${files.length} files for ${all.size} PIDs`);
  console.log(`privacy: scanned ${files.length} database files for ${all.size} raw PIDs`);
});
