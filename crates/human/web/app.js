// The study's client flow (docs/human-study.md "Front end"; HUMAN-TASK §3.2, §4.2):
// browser check → consent → instructions → quiz (day 1) → practice (day 1) → trials →
// end-of-day survey → debrief (last day) → saving → POST /complete → data saved → redirect.
// A reload resumes: POST /sessions returns the same token for a started day, GET state names
// the stored trials, and the client continues at the first trial it has no record of.

import { api, readBoot, HttpError, retryable, Progress, SaveQueue, EventLog, sleep } from './api.js';
import { TrialView, preload } from './trial.js';
import * as pages from './pages.js';

const MAX_QUIZ_ATTEMPTS = 3;

const boot = readBoot();
const container = document.getElementById('app') || document.body;
const events = new EventLog();
let unloadGuard = false;

function onBeforeUnload(e) {
  if (!unloadGuard) return undefined;
  e.preventDefault();
  e.returnValue = '';
  return '';
}

function guardUnload(on) {
  unloadGuard = on;
}

function installEventLogging() {
  document.addEventListener('visibilitychange', () => events.log('visibilitychange', { state: document.visibilityState }));
  window.addEventListener('blur', () => events.log('blur', null));
  window.addEventListener('focus', () => events.log('focus', null));
  document.addEventListener('fullscreenchange', () => events.log('fullscreenchange', { fullscreen: !!document.fullscreenElement }));
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    if (resizeTimer) clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      resizeTimer = null;
      events.log('resize', { w: window.innerWidth, h: window.innerHeight });
    }, 250);
  });
  window.addEventListener('beforeunload', onBeforeUnload);
  window.addEventListener('pagehide', () => events.flush());
}

/** Retry an API call while it fails for network/server reasons; other errors propagate. */
async function withRetry(fn, { onRetry } = {}) {
  let failures = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err)) throw err;
      failures += 1;
      if (onRetry) onRetry(failures, err);
      await sleep(Math.min(15000, 500 * 2 ** Math.min(failures, 5)));
    }
  }
}

function describe(err) {
  if (err instanceof HttpError) return `${err.status} ${(err.body && err.body.error) || ''}: ${(err.body && err.body.detail) || ''}`;
  return String(err && err.message ? err.message : err);
}

async function createSession(pid, params, info) {
  const body = {
    study: boot.study,
    prolific_pid: pid,
    prolific_study_id: params.get('STUDY_ID'),
    prolific_session_id: params.get('SESSION_ID'),
    screen: { w: window.screen ? window.screen.width : window.innerWidth, h: window.screen ? window.screen.height : window.innerHeight },
    browser: { family: info.family, major: info.major, os: info.os },
  };
  for (;;) {
    try {
      return await withRetry(() => api.createSession(body));
    } catch (err) {
      await pages.errorPage(container, boot, { title: 'The study could not start', message: describe(err), retry: true });
    }
  }
}

async function main() {
  document.body.dataset.dev = boot.dev ? '1' : '0';
  if (boot.title) document.title = boot.title;
  installEventLogging();
  const params = new URLSearchParams(window.location.search);
  let pid = (params.get('PROLIFIC_PID') || '').trim();
  if (!pid) {
    if (!boot.dev) {
      pages.notFromProlificPage(container, boot);
      return;
    }
    pid = await pages.devIdPage(container);
    params.set('PROLIFIC_PID', pid);
    if (!params.get('STUDY_ID')) params.set('STUDY_ID', 'dev-study');
    if (!params.get('SESSION_ID')) params.set('SESSION_ID', `dev-${Math.random().toString(36).slice(2, 10)}`);
    window.history.replaceState(null, '', `${window.location.pathname}?${params.toString()}`);
  }

  const info = pages.browserInfo();
  const check = await pages.browserCheckPage(container, { dev: !!boot.dev, info });
  if (check.devOverride) events.log('browser_check_overridden', { reasons: check.devOverride });

  const res = await createSession(pid, params, info);
  if (res && res.blocked) {
    guardUnload(false);
    pages.blockedPage(container, boot, { kind: res.blocked, nextAvailableAt: res.next_available_at || null });
    return;
  }
  await runDay(res);
}

async function runDay(session) {
  const token = session.token;
  const day = Number(session.day) || 1;
  const timing = Object.assign({ fixation_ms: 300, feedback_ms: 1500, iti_ms: 300, redirect_delay_ms: 3000 }, session.timing || {});
  const trials = Array.isArray(session.trials) ? session.trials : [];
  const labels = session.labels || [];
  const attention = session.attention_label || null;
  const practiceLabels = session.practice_labels || [];
  const lastDay = session.days ? day >= Number(session.days) : day >= 3;
  document.body.dataset.day = String(day);

  events.attach(token);
  events.log('session', { day, n_trials: trials.length, participant: session.participant });
  const progress = new Progress(token);
  const queue = new SaveQueue(token, { log: (k, p) => events.log(k, p) });

  if (progress.get('screenedOut', false)) {
    pages.screenedOutPage(container, boot);
    return;
  }

  // What the server already holds.
  let state = null;
  try {
    state = await withRetry(() => api.state(token));
  } catch (err) {
    events.log('state_failed', { error: describe(err) });
  }
  const stored = new Set(((state && state.stored) || []).map(Number));
  const done = new Set([...stored, ...queue.known()]);
  if (queue.pendingCount()) queue.flush();
  const resuming = done.size > 0;
  if (resuming) events.log('resume', { stored: stored.size, local: queue.known().size });

  if (state && state.completed) {
    await finish(session, queue, progress, { day, timing });
    return;
  }

  guardUnload(true);
  preload(trials.map((t) => t.image));

  // Consent (recorded per session).
  if (!progress.get('consented', false)) {
    const ok = await pages.consentPage(container, boot, { day });
    if (!ok) {
      guardUnload(false);
      events.log('consent_declined', null);
      await events.flush();
      pages.declinedPage(container);
      return;
    }
    try {
      await withRetry(() => api.consent(token, boot.consent_version));
    } catch (err) {
      await pages.errorPage(container, boot, { title: 'Your consent could not be recorded', message: describe(err) });
      return;
    }
    progress.set('consented', true);
  }

  const practiceTrials = trials.filter((t) => t.phase === 'practice');
  const mainTrials = trials.filter((t) => t.phase !== 'practice');
  const hasPractice = practiceTrials.length > 0 && session.practice !== false;
  const attentionText = attention ? attention.text : '';

  // Instructions and quiz (quiz on day 1 only, at most three tries).
  if (!resuming && !progress.get('instructed', false)) {
    const wantQuiz = !!session.quiz;
    let attempt = progress.get('quizAttempts', 0);
    let again = attempt > 0;
    for (;;) {
      await pages.instructionsPage(container, { day, hasPractice, attentionText, again, probeFirst: mainTrials.length > 0 && mainTrials[0].phase === 'probe' });
      if (!wantQuiz) break;
      attempt += 1;
      const r = await pages.quizPage(container, { attempt, maxAttempts: MAX_QUIZ_ATTEMPTS });
      progress.set('quizAttempts', attempt);
      events.log('quiz', { attempt, passed: r.passed, answers: r.answers });
      if (r.passed) break;
      if (attempt >= MAX_QUIZ_ATTEMPTS) {
        progress.set('screenedOut', true);
        guardUnload(false);
        try {
          await withRetry(() => api.survey(token, { quiz_result: 'failed', quiz_attempts: String(attempt) }));
        } catch (err) {
          events.log('survey_failed', { error: describe(err) });
        }
        await events.flush();
        // The server ends the day with the screened-out completion code.
        let res = null;
        try {
          res = await withRetry(() => api.complete(token, { screened_out: true }));
        } catch (err) {
          events.log('complete_failed', { error: describe(err) });
        }
        const redirectUrl = res && res.redirect_url ? res.redirect_url : null;
        pages.screenedOutPage(container, boot, { redirectUrl });
        if (redirectUrl) {
          setTimeout(() => window.location.assign(redirectUrl), Number(timing.redirect_delay_ms) || 0);
        }
        return;
      }
      again = true;
    }
    if (wantQuiz) {
      try {
        await withRetry(() => api.survey(token, { quiz_result: 'passed', quiz_attempts: String(attempt) }));
      } catch (err) {
        events.log('survey_failed', { error: describe(err) });
      }
    }
    progress.set('instructed', true);
  }

  // Practice (day 1).
  const practiceLeft = practiceTrials.filter((t) => !done.has(t.global_trial));
  if (hasPractice && practiceLeft.length > 0) {
    if (practiceLeft.length === practiceTrials.length) {
      await pages.introPage(container, 'practice-intro', 'Practice', [
        `You now do ${practiceTrials.length} practice trials with different pictures and names. They do not count.`,
        'Select all names that apply, then press Submit.',
      ]);
    }
    await runTrials(practiceLeft, practiceTrials.length, { labels: practiceLabels, attention: null, queue, timing, progress, practice: true });
  }

  // Main trials.
  const mainLeft = mainTrials.filter((t) => !done.has(t.global_trial));
  if (mainLeft.length > 0) {
    if (mainLeft.length === mainTrials.length) {
      const lines = hasPractice
        ? ['The practice is over. Now the real task begins, with new creatures and new names.', 'Select all names that apply, then press Submit.']
        : [`Part ${day} begins now.`, 'Select all names that apply, then press Submit.'];
      await pages.introPage(container, 'task-intro', day > 1 ? `Part ${day}` : 'The task', lines);
    }
    await runTrials(mainLeft, mainTrials.length, { labels, attention, queue, timing, progress, practice: false, offset: mainTrials.length - mainLeft.length });
  }

  // End of day questions.
  if (!progress.get('surveyDone', false)) {
    const answers = await pages.surveyPage(container, { day });
    pages.savingPage(container, { note: 'Sending your answers…' });
    try {
      await withRetry(() => api.survey(token, answers));
    } catch (err) {
      events.log('survey_failed', { error: describe(err) });
    }
    progress.set('surveyDone', true);
  }
  if (lastDay && !progress.get('debriefDone', false)) {
    await pages.debriefPage(container, boot);
    progress.set('debriefDone', true);
  }
  await finish(session, queue, progress, { day, timing, rerun: { labels, attention, practiceLabels, trials } });
}

async function runTrials(list, count, { labels, attention, queue, timing, progress, practice, offset = 0 }) {
  document.body.dataset.page = practice ? 'practice' : 'task';
  const view = new TrialView(container, {
    dev: !!boot.dev,
    log: (k, p) => events.log(k, p),
    onReady: () => pages.ready(practice ? 'practice' : 'task'),
    points: progress.get(practice ? 'practicePoints' : 'points', 0),
  });
  let i = offset;
  for (const trial of list) {
    const isAttention = trial.phase === 'attention';
    const shown = practice ? labels : isAttention && attention ? labels.concat([attention]) : labels;
    const { gained } = await view.run(trial, shown, {
      index: i,
      count,
      fixationMs: Number(timing.fixation_ms) || 0,
      feedbackMs: Number(timing.feedback_ms) || 0,
      itiMs: Number(timing.iti_ms) || 0,
      attention: isAttention ? attention : null,
      showPoints: true,
      onSubmit: (record) => {
        queue.add(record);
      },
    });
    progress.set(practice ? 'practicePoints' : 'points', view.points);
    void gained;
    i += 1;
  }
}

async function finish(session, queue, progress, { day, timing, rerun }) {
  const token = session.token;
  const status = pages.savingPage(container, {});
  let tries = 0;
  for (;;) {
    tries += 1;
    status.textContent = queue.pendingCount() ? `Sending ${queue.pendingCount()} answers…` : 'Checking that everything arrived…';
    await queue.drain();
    await events.flush();
    let res;
    try {
      res = await api.complete(token);
    } catch (err) {
      if (err instanceof HttpError && err.status === 409) {
        const missing = ((err.body && err.body.missing) || []).map(Number);
        events.log('complete_conflict', { missing });
        const found = queue.requeue(missing);
        if (found < missing.length && rerun) {
          // The server lacks trials this browser has no record of (e.g. storage was cleared):
          // run them again rather than lose the day.
          const known = queue.known();
          const left = rerun.trials.filter((t) => missing.includes(t.global_trial) && !known.has(t.global_trial));
          const prac = left.filter((t) => t.phase === 'practice');
          const main = left.filter((t) => t.phase !== 'practice');
          if (prac.length) await runTrials(prac, prac.length, { labels: rerun.practiceLabels, attention: null, queue, timing, progress, practice: true });
          if (main.length) await runTrials(main, main.length, { labels: rerun.labels, attention: rerun.attention, queue, timing, progress, practice: false });
          pages.savingPage(container, {});
        } else if (found < missing.length) {
          status.textContent = 'Some answers did not arrive. Please keep this page open; if this message stays, contact the researchers.';
        }
        await sleep(Math.min(10000, 250 * 2 ** Math.min(tries, 6)));
        continue;
      }
      if (!retryable(err)) {
        await pages.errorPage(container, boot, { title: 'Your answers could not be saved', message: describe(err), retry: true });
        pages.savingPage(container, {});
        continue;
      }
      status.textContent = `The connection failed; trying again (try ${tries})…`;
      await sleep(Math.min(15000, 500 * 2 ** Math.min(tries, 5)));
      continue;
    }
    if (!res || !res.redirect_url) {
      status.textContent = 'Unexpected answer from the server; trying again…';
      await sleep(2000);
      continue;
    }
    queue.clear();
    progress.set('completed', true);
    guardUnload(false);
    const failedAttention = /attention|return|fail/i.test(String(res.code_kind || ''));
    const delay = Number(timing.redirect_delay_ms) || 0;
    pages.savedPage(container, boot, { redirectUrl: res.redirect_url, delayMs: delay, failedAttention });
    document.body.dataset.codeKind = String(res.code_kind || '');
    setTimeout(() => {
      window.location.assign(res.redirect_url);
    }, delay);
    void day;
    return;
  }
}

main().catch((err) => {
  guardUnload(false);
  console.error(err);
  pages.errorPage(container, boot, { title: 'Something went wrong', message: describe(err) });
});
