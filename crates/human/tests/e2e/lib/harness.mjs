// Test harness: a fresh `learnscope human serve … --dev` per scenario, Debian's chromium through
// playwright-core, and artefacts (trace, screenshot, server log) kept on failure.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const CRATE_DIR = path.resolve(E2E_DIR, '../..');
export const REPO_ROOT = path.resolve(CRATE_DIR, '../..');
export const TINY = process.env.LEARNSCOPE_E2E_CONFIG || path.join(CRATE_DIR, 'tests/fixtures/tiny.toml');
export const ADMIN_TOKEN = process.env.LEARNSCOPE_HUMAN_ADMIN_TOKEN || 'test-token';
export const CHROMIUM = process.env.LEARNSCOPE_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The run's scratch directory (run.sh sets E2E_TMP; standalone runs make one). */
export function runDir() {
  if (!process.env.E2E_TMP) {
    process.env.E2E_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-e2e-'));
  }
  fs.mkdirSync(process.env.E2E_TMP, { recursive: true });
  return process.env.E2E_TMP;
}

/** A fresh directory for one scenario. */
export function scenarioDir(name) {
  const dir = path.join(runDir(), name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Remember the raw PIDs a scenario used, for the privacy scan at the end of the run. */
export function recordPids(pids) {
  fs.appendFileSync(path.join(runDir(), 'pids.txt'), pids.map((p) => `${p}\n`).join(''));
}

function serverCommand() {
  const cmd = process.env.LEARNSCOPE_HUMAN_SERVER || '/work/target-h2/release/examples/serve';
  return cmd.trim().split(/\s+/);
}

/**
 * Start the server on a config (default: tiny.toml) with a fresh database in `dir`.
 * Resolves {origin, url (the study page), study, db, log, stop()}.
 */
export async function startServer(dir, { config = TINY, env = {}, dev = true } = {}) {
  const [bin, ...pre] = serverCommand();
  const db = path.join(dir, 'study.sqlite');
  const logPath = path.join(dir, 'server.log');
  const log = fs.openSync(logPath, 'a');
  const child = spawn(bin, [...pre, config, '--db', db, '--port', '0', ...(dev ? ['--dev'] : [])], {
    env: {
      ...process.env,
      LEARNSCOPE_HUMAN_ADMIN_TOKEN: ADMIN_TOKEN,
      LEARNSCOPE_HUMAN_SECRET: process.env.LEARNSCOPE_HUMAN_SECRET || 'e2e-secret-not-for-production',
      ...env,
    },
    stdio: ['ignore', 'pipe', log],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not print its address within 20 s (log: ${logPath})`)), 20000);
    child.stdout.on('data', (chunk) => {
      const s = chunk.toString();
      fs.writeSync(log, s);
      buf += s;
      const m = buf.match(/learnscope human: listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start server ${bin}: ${e.message}`));
    });
    exited.then(({ code, sig }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? sig}) before listening; log ${logPath}:\n${safeRead(logPath)}`));
    });
  });
  const u = new URL(url);
  const study = u.pathname.replace(/^\/s\//, '').replace(/\/$/, '');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    fs.closeSync(log);
  };
  return { origin: u.origin, url: `${u.origin}/s/${study}`, study, db, dir, logPath, child, stop };
}

function safeRead(p) {
  try {
    return fs.readFileSync(p, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

/** Admin GET (bearer token); returns the Response. */
export async function admin(server, pathAndQuery) {
  return fetch(`${server.origin}/api/v1/admin/studies/${server.study}${pathAndQuery}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
}

export async function adminJson(server, pathAndQuery) {
  const res = await admin(server, pathAndQuery);
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${pathAndQuery}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

export async function adminText(server, pathAndQuery) {
  const res = await admin(server, pathAndQuery);
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${pathAndQuery}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A browser context (1280×800) that records a trace, and captures Prolific redirects. */
export async function newContext(browser, { trace = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (trace) await context.tracing.start({ snapshots: true, screenshots: false });
  const redirects = [];
  await context.route('https://app.prolific.com/**', (route) => {
    redirects.push({ url: route.request().url(), at: Date.now() });
    return route.fulfill({ status: 200, contentType: 'text/plain', body: 'ok' });
  });
  context.on('page', (page) => page.on('dialog', (d) => d.accept().catch(() => {})));
  return { context, redirects, trace };
}

/**
 * Run a scenario body with a server and a browser; on failure keep the trace, a screenshot
 * of every open page and the server log in E2E_TMP/<name>/ and name the path in the error.
 */
export async function scenario(name, body, { config, serverEnv, dev = true } = {}) {
  const dir = scenarioDir(name);
  const server = await startServer(dir, { config, env: serverEnv, dev });
  const browser = await launch();
  const ctx = await newContext(browser);
  try {
    await body({ server, browser, dir, ...ctx });
    if (ctx.trace) await ctx.context.tracing.stop();
  } catch (err) {
    const pages = ctx.context.pages();
    for (let i = 0; i < pages.length; i += 1) {
      await pages[i].screenshot({ path: path.join(dir, `failure-${i}.png`), fullPage: true }).catch(() => {});
      fs.writeFileSync(path.join(dir, `failure-${i}.html`), await pages[i].content().catch(() => ''));
    }
    if (ctx.trace) await ctx.context.tracing.stop({ path: path.join(dir, 'trace.zip') }).catch(() => {});
    const note = `\n[e2e] ${name} failed; trace, screenshots and server log in ${dir}`;
    console.error(note);
    if (err && typeof err === 'object' && 'message' in err) err.message += note;
    throw err;
  } finally {
    await ctx.context.close().catch(() => {});
    await browser.close().catch(() => {});
    await server.stop();
  }
  return server;
}

const SECTION_OF = {
  min_gap_hours: 'protocol',
  max_gap_hours: 'protocol',
  max_attention_failures: 'protocol',
  attention_checks_per_day: 'protocol',
  practice: 'protocol',
  quiz: 'protocol',
  fixation_ms: 'timing',
  feedback_ms: 'timing',
  iti_ms: 'timing',
  redirect_delay_ms: 'timing',
};

/** Derive a temporary config from tiny.toml by replacing (or adding) `key = value` lines. */
export function derivedConfig(dir, replacements, from = TINY) {
  let text = fs.readFileSync(from, 'utf8');
  for (const [key, value] of Object.entries(replacements)) {
    const re = new RegExp(`^(\\s*${key}\\s*=\\s*)[^\\n#]*`, 'm');
    if (re.test(text)) {
      text = text.replace(re, `$1${value}`);
      continue;
    }
    const section = SECTION_OF[key];
    const head = new RegExp(`^\\[${section}\\][^\\n]*\\n`, 'm');
    if (!section) throw new Error(`derivedConfig: no '${key} =' line in ${from}`);
    if (head.test(text)) text = text.replace(head, (h) => `${h}${key} = ${value}\n`);
    else text += `\n[${section}]\n${key} = ${value}\n`;
  }
  const out = path.join(dir, `derived-${Object.keys(replacements).join('-')}.toml`);
  fs.writeFileSync(out, text);
  return out;
}

/** The study URL for a participant. */
export function studyUrl(server, pid, { study = 'E2ESTUDY', session = `E2ESESS-${Math.random().toString(36).slice(2, 8)}` } = {}) {
  const q = new URLSearchParams({ PROLIFIC_PID: pid, STUDY_ID: study, SESSION_ID: session });
  return `${server.url}?${q}`;
}

/** Read a value `key = …` from a TOML file (simple scalar lines only). */
export function tomlValue(file, key) {
  const text = fs.readFileSync(file, 'utf8');
  const m = text.match(new RegExp(`^\\s*${key}\\s*=\\s*("([^"]*)"|[^\\s#]+)`, 'm'));
  if (!m) return undefined;
  return m[2] !== undefined ? m[2] : m[1];
}
