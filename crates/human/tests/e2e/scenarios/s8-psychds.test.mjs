// Scenario 8: the Psych-DS export. Unzip (a small reader, no extra dependency), check the data
// file names against the Psych-DS keyword rule, that dataset_description.json is valid JSON-LD
// with the required fields, and that variableMeasured lists every column of every CSV.
import test from 'node:test';
import assert from 'node:assert/strict';
import { scenario, studyUrl, admin, recordPids } from '../lib/harness.mjs';
import { runDay, policies } from '../lib/agent.mjs';
import { readZip } from '../lib/zip.mjs';
import { parseCsv } from '../lib/csv.mjs';

const DATAFILE = /^([a-z]+-[a-zA-Z0-9]+)(_[a-z]+-[a-zA-Z0-9]+)*_data\.csv$/;

test('Psych-DS export: file names, dataset_description.json, variableMeasured ⊇ CSV headers', async () => {
  await scenario('s8-psychds', async ({ server, context }) => {
    recordPids(['PSYCHDSPID']);
    const page = await context.newPage();
    const r = await runDay(page, studyUrl(server, 'PSYCHDSPID'), { policy: policies.random(3) });
    assert.equal(r.end, 'redirect');

    const unauth = await fetch(`${server.origin}/api/v1/admin/studies/${server.study}/export?format=psychds`);
    assert.equal(unauth.status, 401, 'the export needs the admin token');

    const res = await admin(server, '/export?format=psychds');
    assert.equal(res.status, 200);
    const zip = readZip(Buffer.from(await res.arrayBuffer()));
    const names = [...zip.keys()];
    // The dataset may sit in one top-level folder.
    const descName = names.find((n) => /(^|\/)dataset_description\.json$/.test(n) && n.split('/').length <= 2);
    assert.ok(descName, `dataset_description.json in ${names.join(', ')}`);
    const root = descName.slice(0, descName.length - 'dataset_description.json'.length);
    const desc = JSON.parse(zip.get(descName).toString('utf8'));
    assert.ok(String(desc['@context']).includes('schema.org'), '@context is schema.org');
    assert.equal(desc['@type'], 'Dataset');
    assert.ok(typeof desc.name === 'string' && desc.name.length > 0, 'name');
    assert.ok(typeof desc.description === 'string' && desc.description.length > 0, 'description');
    assert.ok(Array.isArray(desc.variableMeasured), 'variableMeasured is a list');
    const measured = new Set(desc.variableMeasured.map((v) => (typeof v === 'string' ? v : v.name)));

    const dataFiles = names.filter((n) => n.startsWith(`${root}data/`) && n.endsWith('.csv'));
    assert.ok(dataFiles.length > 0, 'data/ has CSV files');
    let rows = 0;
    for (const f of dataFiles) {
      const base = f.split('/').pop();
      assert.match(base, DATAFILE, `${f} follows the keyword_data.csv rule`);
      const csv = parseCsv(zip.get(f).toString('utf8'));
      assert.ok(csv.header.length > 0, `${f} has a header`);
      for (const h of csv.header) assert.ok(measured.has(h), `${f}: column ${h} is in variableMeasured`);
      rows += csv.rows.length;
    }
    assert.ok(rows > 0, 'the data files have rows');
    for (const n of names) if (n.endsWith('.json')) JSON.parse(zip.get(n).toString('utf8'));
    // No raw participant ID anywhere in the export.
    for (const [n, data] of zip) assert.equal(data.indexOf('PSYCHDSPID'), -1, `no raw PID in ${n}`);
  });
});
