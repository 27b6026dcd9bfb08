// The HTTP API of docs/human-study.md (`/api/v1`), the persistent save queue and the event log.
//
// Trials are posted right after each submit. A post that fails (network error, 5xx, 429) leaves
// the record in a localStorage queue that is retried with exponential backoff without blocking
// the participant. Every record of the day also stays in localStorage until /complete succeeded,
// so a 409 ("trials missing") can be answered by sending the missing ones again.

const API = '/api/v1';

/** The boot block the server put into <head> (study, dev, title, contact, consent_version, ethics_reference). */
export function readBoot() {
  const el = document.getElementById('ls-boot');
  if (!el) return { study: '', dev: false, title: 'Study', contact: '', consent_version: '', ethics_reference: '' };
  try {
    return JSON.parse(el.textContent || '{}');
  } catch (e) {
    return { study: '', dev: false, title: 'Study', contact: '', consent_version: '', ethics_reference: '', boot_error: String(e) };
  }
}

/** An answer that is not 2xx. */
export class HttpError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}: ${body && body.error ? body.error : ''} ${body && body.detail ? body.detail : ''}`.trim());
    this.status = status;
    this.body = body;
  }
}

/** One JSON request; network failures throw a TypeError, non-2xx an HttpError. */
export async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let json = null;
  const text = await res.text();
  if (text) {
    try {
      json = JSON.parse(text);
    } catch (e) {
      json = { error: 'bad_json', detail: text.slice(0, 200) };
    }
  }
  if (!res.ok) throw new HttpError(res.status, json);
  return json;
}

export const api = {
  createSession: (body) => request('POST', `${API}/sessions`, body),
  consent: (token, version) => request('POST', `${API}/sessions/${encodeURIComponent(token)}/consent`, { version }),
  state: (token) => request('GET', `${API}/sessions/${encodeURIComponent(token)}/state`),
  postTrials: (token, records) => request('POST', `${API}/sessions/${encodeURIComponent(token)}/trials`, records),
  postEvents: (token, events) => request('POST', `${API}/sessions/${encodeURIComponent(token)}/events`, events),
  survey: (token, answers) => request('POST', `${API}/sessions/${encodeURIComponent(token)}/survey`, { answers }),
  complete: (token, body = {}) => request('POST', `${API}/sessions/${encodeURIComponent(token)}/complete`, body),
};

/** Is this failure worth retrying (network, server trouble) rather than a client mistake? */
export function retryable(err) {
  if (!(err instanceof HttpError)) return true; // fetch threw: network
  return err.status >= 500 || err.status === 429 || err.status === 408;
}

// ---------------------------------------------------------------------------------------------
// localStorage helpers (a private mode without storage degrades to memory)

const memoryStore = new Map();
function storeGet(key) {
  try {
    const v = window.localStorage.getItem(key);
    return v === null ? null : JSON.parse(v);
  } catch (e) {
    return memoryStore.has(key) ? memoryStore.get(key) : null;
  }
}
function storeSet(key, value) {
  memoryStore.set(key, value);
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    /* quota or privacy mode: memory only */
  }
}
function storeDel(key) {
  memoryStore.delete(key);
  try {
    window.localStorage.removeItem(key);
  } catch (e) {
    /* ignore */
  }
}

/** Small per-session progress flags (consented, quiz passed, points, survey sent…). */
export class Progress {
  constructor(token) {
    this.key = `ls-progress:${token}`;
    this.data = storeGet(this.key) || {};
  }
  get(name, dflt) {
    return name in this.data ? this.data[name] : dflt;
  }
  set(name, value) {
    this.data[name] = value;
    storeSet(this.key, this.data);
  }
  clear() {
    storeDel(this.key);
  }
}

const MAX_BATCH = 64;

/**
 * The trial save queue of one session. `add` stores the record and starts a flush; `flush`
 * posts the pending records (at most 64 per request) and keeps the unacknowledged ones.
 */
export class SaveQueue {
  constructor(token, { onChange, log } = {}) {
    this.token = token;
    this.pendingKey = `ls-pending:${token}`;
    this.recordsKey = `ls-records:${token}`;
    this.pending = storeGet(this.pendingKey) || {}; // global_trial -> record
    this.records = storeGet(this.recordsKey) || {}; // every record of the day
    this.acked = new Set();
    this.inFlight = null;
    this.again = false;
    this.failures = 0;
    this.timer = null;
    this.onChange = onChange || (() => {});
    this.log = log || (() => {});
  }

  /** Global trials this client has a record of (stored or still pending). */
  known() {
    return new Set(Object.keys(this.records).map(Number));
  }

  pendingCount() {
    return Object.keys(this.pending).length;
  }

  add(record) {
    const k = String(record.global_trial);
    this.records[k] = record;
    this.pending[k] = record;
    storeSet(this.recordsKey, this.records);
    storeSet(this.pendingKey, this.pending);
    this.onChange();
    return this.flush();
  }

  /** Put records back into the queue (after a 409 named them missing). Returns how many were found. */
  requeue(globalTrials) {
    let found = 0;
    for (const g of globalTrials) {
      const k = String(g);
      if (this.records[k]) {
        this.pending[k] = this.records[k];
        this.acked.delete(Number(g));
        found += 1;
      }
    }
    storeSet(this.pendingKey, this.pending);
    this.onChange();
    return found;
  }

  /** Start (or join) a flush; resolves to true once the queue is empty, false after a failed try. */
  flush() {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inFlight = this._flushLoop().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  async _flushLoop() {
    for (;;) {
      this.again = false;
      const keys = Object.keys(this.pending)
        .map(Number)
        .sort((a, b) => a - b)
        .slice(0, MAX_BATCH);
      if (keys.length === 0) {
        this.failures = 0;
        return true;
      }
      const batch = keys.map((k) => this.pending[String(k)]);
      try {
        const res = await api.postTrials(this.token, batch);
        const stored = new Set(((res && res.stored) || []).map(Number));
        for (const k of keys) {
          // The server answers with the global trials it holds from this batch; an old server
          // that answers nothing useful still took the whole batch with a 2xx.
          if (stored.size === 0 || stored.has(k)) {
            delete this.pending[String(k)];
            this.acked.add(k);
          }
        }
        storeSet(this.pendingKey, this.pending);
        this.failures = 0;
        this.onChange();
        if (stored.size !== 0 && keys.some((k) => !stored.has(k))) {
          // Something in the batch was not acknowledged: try again later.
          this._schedule();
          return false;
        }
      } catch (err) {
        if (!retryable(err)) {
          // A 4xx for a record is a client bug; keep the record (complete will name it) but log.
          this.log('trial_post_rejected', { status: err.status, error: err.body && err.body.error, trials: keys });
        } else {
          this.log('trial_post_failed', { trials: keys, failures: this.failures + 1 });
        }
        this.failures += 1;
        this._schedule();
        return false;
      }
      if (!this.again && this.pendingCount() === 0) return true;
    }
  }

  _schedule() {
    if (this.timer) return;
    const delay = Math.min(30000, 500 * 2 ** Math.min(this.failures, 6));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }

  /** Keep flushing (with backoff) until the queue is empty. */
  async drain() {
    for (;;) {
      if (await this.flush()) return;
      const delay = Math.min(30000, 500 * 2 ** Math.min(this.failures, 6));
      await sleep(delay);
    }
  }

  /** The day is saved: forget everything. */
  clear() {
    storeDel(this.pendingKey);
    storeDel(this.recordsKey);
    this.pending = {};
    this.records = {};
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Browser events (visibility, focus, fullscreen, resize, app milestones), posted in batches. */
export class EventLog {
  constructor() {
    this.token = null;
    this.buffer = [];
    this.timer = null;
    this.sending = false;
  }
  attach(token) {
    this.token = token;
    const key = `ls-events:${token}`;
    const saved = storeGet(key);
    if (Array.isArray(saved)) this.buffer = saved.concat(this.buffer);
    this.key = key;
    this.flushSoon(0);
  }
  log(kind, payload) {
    this.buffer.push({ t_ms: round(performance.now()), kind, payload: payload === undefined ? null : payload });
    if (this.buffer.length > 500) this.buffer.splice(0, this.buffer.length - 500);
    if (this.key) storeSet(this.key, this.buffer);
    this.flushSoon(2000);
  }
  flushSoon(ms) {
    if (!this.token || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }
  async flush() {
    if (!this.token || this.sending || this.buffer.length === 0) return;
    this.sending = true;
    const batch = this.buffer.slice(0, 200);
    try {
      await api.postEvents(this.token, batch);
      this.buffer.splice(0, batch.length);
      if (this.key) storeSet(this.key, this.buffer);
    } catch (err) {
      if (!retryable(err)) {
        this.buffer.splice(0, batch.length); // the server refuses them: drop, never loop
        if (this.key) storeSet(this.key, this.buffer);
      } else {
        this.sending = false;
        this.flushSoon(5000);
        return;
      }
    }
    this.sending = false;
    if (this.buffer.length) this.flushSoon(1000);
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function round(x) {
  return Math.round(x * 1000) / 1000;
}
