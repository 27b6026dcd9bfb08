// A scripted participant: walks the pages of one day and answers trials with a policy.
// It waits for `body[data-step]` to grow (a new screen ready for input), so it never races the
// app; trials are answered only in `data-state="awaiting-response"`.

/** mulberry32: a small seeded generator for the stochastic policies. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Targets of an item from the labels on screen (the balanced tree of docs/human-study.md):
 * item i carries label floor(i · n_l / P) of level l, P = the number of item-name labels.
 */
export function targetsOf(item, labels) {
  const byLevel = new Map();
  for (const l of labels) {
    if (l.level < 0) continue;
    if (!byLevel.has(l.level)) byLevel.set(l.level, []);
    byLevel.get(l.level).push(l.label);
  }
  const levels = [...byLevel.keys()].sort((a, b) => a - b);
  const P = byLevel.get(levels[levels.length - 1]).length;
  const out = new Set();
  for (const lv of levels) {
    const ls = byLevel.get(lv).sort((a, b) => a - b);
    out.add(ls[Math.floor((item * ls.length) / P)]);
  }
  return out;
}

/** Base rate of a label of level with n labels. */
function baseRate(labels, level) {
  return 1 / labels.filter((l) => l.level === level).length;
}

export const policies = {
  perfect: () => (t) => targetsOf(t.item, t.labels),
  alwaysNo: () => () => new Set(),
  /** The OCS responder: "yes" to labels with base rate > .5, a seeded coin for base rate .5, "no" below. */
  ocs: (seed) => {
    const r = rng(seed);
    return (t) => {
      const s = new Set();
      for (const l of t.labels) {
        if (l.level < 0) continue;
        const b = baseRate(t.labels, l.level);
        if (b > 0.5 || (b === 0.5 && r() < 0.5)) s.add(l.label);
      }
      return s;
    };
  },
  random: (seed, p = 0.5) => {
    const r = rng(seed);
    return (t) => new Set(t.labels.filter((l) => l.level >= 0 && r() < p).map((l) => l.label));
  },
};

export const QUIZ_CORRECT = [1, 0, 0, 1];

async function readTrial(page) {
  return page.evaluate(() => {
    const r = document.querySelector('[data-testid="trial"]');
    return {
      global_trial: Number(r.dataset.globalTrial),
      phase: r.dataset.phase,
      block: Number(r.dataset.block),
      item: r.dataset.item === undefined ? null : Number(r.dataset.item),
      state: r.dataset.state,
      labels: [...r.querySelectorAll('button.label')].map((b) => ({
        label: Number(b.dataset.label),
        level: Number(b.dataset.level),
        text: b.textContent,
      })),
    };
  });
}

async function nextScreen(page, last, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await nextScreenOnce(page, last, Math.max(1, deadline - Date.now()));
    } catch (err) {
      // A navigation (reload, the completion redirect) destroys the context: look again.
      if (!/context was destroyed|navigation|Target closed/i.test(String(err && err.message)) || Date.now() > deadline) throw err;
    }
  }
}

async function nextScreenOnce(page, last, timeout) {
  const h = await page.waitForFunction(
    (last) => {
      if (/prolific\.com$/.test(location.hostname)) return { page: 'prolific', step: -1, href: location.href };
      const b = document.body;
      if (!b) return null;
      const step = Number(b.dataset.step || 0);
      if (step > last) return { page: b.dataset.page, step };
      return null;
    },
    last,
    { polling: 'raf', timeout },
  );
  return h.jsonValue();
}

/**
 * Walk one day from `url`. Options:
 * - policy(trial) → Set of canonical labels to select (main trials);
 * - quiz: array of answers per try (default: the correct answers once);
 * - attention: 'pass' | 'fail';
 * - onTrial(trial, page): called before answering; return 'stop' to stop the walk there;
 * - afterSubmit(trial, page): awaited after the submit click;
 * - reload: true to reload the current page instead of opening `url`;
 * - goto: false when the caller already loaded the page.
 * Resolves {end, redirect, session, trials, pages, blocked}.
 */
export async function runDay(page, url, opts = {}) {
  const {
    policy = policies.alwaysNo(),
    quiz = [QUIZ_CORRECT],
    attention = 'pass',
    onTrial,
    afterSubmit,
    goto = true,
    reload = false,
    timeout = 15000,
    survey = { strategy: 'I guessed at first and then learned from the feedback.', confidence: 3 },
  } = opts;
  const out = { trials: [], pages: [], session: null, sessions: [], end: null, redirect: null };
  const onResponse = async (res) => {
    if (res.request().method() === 'POST' && /\/api\/v1\/sessions$/.test(res.url())) {
      try {
        const j = await res.json();
        out.sessions.push(j);
        out.session = j;
      } catch {
        /* ignore */
      }
    }
  };
  page.on('response', onResponse);
  try {
    let last = 0;
    if (reload) await page.reload();
    else if (goto) await page.goto(url);
    let quizTry = 0;
    const answered = new Set();
    for (;;) {
      const s = await nextScreen(page, last, timeout);
      last = s.step;
      out.pages.push(s.page);
      switch (s.page) {
        case 'prolific':
          out.end = 'redirect';
          out.redirect = s.href;
          return out;
        case 'consent':
          for (const key of ['read', 'voluntary', 'data', 'adult']) await page.check(`[data-testid="consent-checkbox-${key}"]`);
          await page.click('[data-testid="consent-continue"]');
          break;
        case 'instructions':
          await page.click('[data-testid="instructions-continue"]');
          break;
        case 'quiz': {
          const answers = quiz[Math.min(quizTry, quiz.length - 1)];
          quizTry += 1;
          for (let q = 0; q < answers.length; q += 1) await page.check(`[data-testid="quiz-q${q + 1}-option-${answers[q]}"]`);
          await page.click('[data-testid="quiz-submit"]');
          break;
        }
        case 'practice-intro':
        case 'task-intro':
          await page.click(`[data-testid="${s.page}-continue"]`);
          break;
        case 'practice':
        case 'task': {
          const t = await readTrial(page);
          if (t.state !== 'awaiting-response') throw new Error(`trial ${t.global_trial} not awaiting a response: ${t.state}`);
          if (answered.has(t.global_trial)) throw new Error(`trial ${t.global_trial} shown twice`);
          answered.add(t.global_trial);
          if (onTrial && (await onTrial(t, page)) === 'stop') {
            out.end = 'stopped';
            out.stoppedAt = t.global_trial;
            return out;
          }
          let sel;
          if (t.phase === 'practice') sel = new Set();
          else if (t.phase === 'attention') {
            const att = t.labels.find((l) => l.level === -1);
            sel = attention === 'pass' ? new Set([att.label]) : new Set();
          } else sel = policy(t);
          for (const l of t.labels) if (sel.has(l.label)) await page.click(`[data-testid="label-${l.label}"]`);
          await page.click('[data-testid="submit"]');
          out.trials.push({ ...t, selected: [...sel].sort((a, b) => a - b) });
          if (afterSubmit) await afterSubmit(t, page);
          break;
        }
        case 'survey':
          await page.fill('[data-testid="survey-strategy"]', survey.strategy);
          await page.check(`[data-testid="survey-confidence-${survey.confidence}"]`);
          await page.click('[data-testid="survey-submit"]');
          break;
        case 'debrief':
          await page.click('[data-testid="debrief-continue"]');
          break;
        case 'saving':
          break;
        case 'saved':
        case 'saved-return':
          // With redirect_delay_ms = 0 the page may already be gone.
          out.redirectLink = await page.getAttribute('[data-testid="redirect-link"]', 'href', { timeout: 500 }).catch(() => null);
          break;
        case 'blocked':
        case 'screened-out':
        case 'declined':
        case 'error':
        case 'no-pid':
        case 'browser-check':
          out.end = s.page;
          out.blocked = await page.evaluate(() => document.body.dataset.blocked || null);
          out.text = await page.evaluate(() => document.querySelector('#app').innerText);
          return out;
        default:
          throw new Error(`unexpected page ${s.page}`);
      }
    }
  } finally {
    page.off('response', onResponse);
  }
}

/**
 * TNR and TPR per (day, block, level) over train/probe trials, computed from what the agent did.
 * trials: [{day, block, phase, item, labels, selected}]
 */
export function rates(trials) {
  const acc = new Map();
  for (const t of trials) {
    if (t.phase !== 'train' && t.phase !== 'probe') continue;
    const targets = targetsOf(t.item, t.labels);
    const sel = new Set(t.selected);
    for (const l of t.labels) {
      if (l.level < 0) continue;
      const key = `${t.day}/${t.block}/${l.level}`;
      if (!acc.has(key)) acc.set(key, { day: t.day, block: t.block, level: l.level, tp: 0, fn: 0, tn: 0, fp: 0 });
      const a = acc.get(key);
      const y = targets.has(l.label);
      const r = sel.has(l.label);
      if (y && r) a.tp += 1;
      else if (y) a.fn += 1;
      else if (r) a.fp += 1;
      else a.tn += 1;
    }
  }
  return [...acc.values()].map((a) => ({
    ...a,
    tpr: a.tp + a.fn ? a.tp / (a.tp + a.fn) : null,
    tnr: a.tn + a.fp ? a.tn / (a.tn + a.fp) : null,
  }));
}
