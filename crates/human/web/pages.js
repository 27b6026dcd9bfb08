// The pages around the trials (HUMAN-TASK §3.2): browser check, information sheet and consent,
// instructions, comprehension quiz, practice and task intros, end-of-day survey, debrief,
// saving, data saved + redirect, and the end pages (blocked, screened out, errors).
//
// Every page is a <section data-testid="page-NAME">; `document.body.dataset.page` names the
// page shown and `document.body.dataset.step` counts the screens that became ready for input
// (pages and trials), so scripted agents can wait for "the next screen" without racing.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'html') e.innerHTML = v; // only for static strings written here
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

const p = (text) => el('p', { text });

/** Mark a new screen as ready for input. */
export function ready(name) {
  const b = document.body;
  if (name) b.dataset.page = name;
  b.dataset.step = String(Number(b.dataset.step || 0) + 1);
}

/** Show a page section in the app container. */
export function show(container, name, ...children) {
  const sec = el('section', { class: `page page-${name}`, 'data-testid': `page-${name}` }, ...children);
  container.replaceChildren(sec);
  window.scrollTo(0, 0);
  ready(name);
  return sec;
}

function button(testid, text, cls = 'primary') {
  return el('button', { type: 'button', class: cls, 'data-testid': testid, text });
}

function once(btn) {
  return new Promise((resolve) => btn.addEventListener('click', () => resolve(), { once: true }));
}

// ---------------------------------------------------------------------------------------------
// Browser check

/** Desktop browser and window size. Returns {ok, reasons[], info}. */
export function checkBrowser(info) {
  const reasons = [];
  if (info.mobile) reasons.push('This study runs on a desktop or laptop computer only, not on a phone or tablet.');
  if (window.innerWidth < 1000 || window.innerHeight < 700) {
    reasons.push(
      `Your browser window is ${window.innerWidth} × ${window.innerHeight} pixels; the study needs at least 1000 × 700. ` +
        'Please enlarge the window (or leave full-screen zoom at 100 %).',
    );
  }
  return { ok: reasons.length === 0, reasons };
}

/** Browser family, major version, OS and mobile flag; never the full user-agent string. */
export function browserInfo() {
  const ua = navigator.userAgent || '';
  let family = 'other';
  let major = 0;
  const m = (re) => {
    const r = ua.match(re);
    return r ? Number(r[1]) : 0;
  };
  if (/Edg\//.test(ua)) {
    family = 'Edge';
    major = m(/Edg\/(\d+)/);
  } else if (/Firefox\//.test(ua)) {
    family = 'Firefox';
    major = m(/Firefox\/(\d+)/);
  } else if (/(?:Headless)?Chrome\/|Chromium\//.test(ua)) {
    family = 'Chrome';
    major = m(/(?:Headless)?Chrom(?:e|ium)\/(\d+)/);
  } else if (/Safari\//.test(ua) && /Version\//.test(ua)) {
    family = 'Safari';
    major = m(/Version\/(\d+)/);
  }
  let os = 'other';
  if (/Windows/.test(ua)) os = 'Windows';
  else if (/Android/.test(ua)) os = 'Android';
  else if (/iPhone|iPad|iPod/.test(ua)) os = 'iOS';
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Mac OS X|Macintosh/.test(ua)) os = 'macOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  const uad = navigator.userAgentData;
  const ipadAsMac = os === 'macOS' && navigator.maxTouchPoints > 1;
  const mobile = (uad && uad.mobile) || /Mobi|Android|iPhone|iPad|iPod/.test(ua) || ipadAsMac;
  return { family, major, os: ipadAsMac ? 'iOS' : os, mobile: !!mobile };
}

export async function browserCheckPage(container, { dev, info }) {
  for (;;) {
    const res = checkBrowser(info);
    if (res.ok) return { ok: true };
    if (dev) return { ok: true, devOverride: res.reasons };
    const again = button('browser-recheck', 'Check again');
    show(
      container,
      'browser-check',
      el('h1', { text: 'Please check your browser' }),
      ...res.reasons.map(p),
      p('The study page checks again when you press the button or resize the window.'),
      again,
    );
    await new Promise((resolve) => {
      const onResize = () => {
        if (checkBrowser(info).ok) {
          window.removeEventListener('resize', onResize);
          resolve();
        }
      };
      window.addEventListener('resize', onResize);
      again.addEventListener('click', () => {
        window.removeEventListener('resize', onResize);
        resolve();
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Entry pages

export function notFromProlificPage(container, boot) {
  show(
    container,
    'no-pid',
    el('h1', { text: 'Please open this study from Prolific' }),
    p('This link is missing your Prolific participant ID. Please go back to Prolific and open the study from there.'),
    boot.contact ? p(`Questions: ${boot.contact}`) : null,
  );
}

/** Dev mode without PROLIFIC_PID: offer a development ID. Resolves to the ID. */
export async function devIdPage(container) {
  const rand = Math.random().toString(36).slice(2, 10).toUpperCase();
  const input = el('input', { type: 'text', 'data-testid': 'dev-id-input', value: `DEV-${rand}`, size: 32, 'aria-label': 'development ID' });
  const start = button('dev-id-start', 'Start');
  show(
    container,
    'dev-id',
    el('h1', { text: 'Development mode' }),
    p('No PROLIFIC_PID in the address. This server runs with --dev, so a development ID can be used instead.'),
    el('label', {}, 'Development ID: ', input),
    el('div', { class: 'actions' }, start),
  );
  for (;;) {
    await once(start);
    const v = input.value.trim();
    if (v) return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Consent

const CONSENT_ITEMS = [
  ['read', 'I have read and understood the information above.'],
  ['voluntary', 'I understand that taking part is voluntary and that I can stop at any time without giving a reason.'],
  ['data', 'I agree that my anonymous answers are stored and used for research, and may be shared in anonymous form.'],
  ['adult', 'I am 18 years or older.'],
];

/** Information sheet and consent. Resolves true (consented) or false (declined). */
export async function consentPage(container, boot, { day }) {
  const boxes = CONSENT_ITEMS.map(([key, text]) => {
    const cb = el('input', { type: 'checkbox', id: `consent-${key}`, 'data-testid': `consent-checkbox-${key}` });
    return { cb, row: el('div', { class: 'check' }, cb, el('label', { for: `consent-${key}`, text })) };
  });
  const go = button('consent-continue', 'I agree, continue');
  const decline = button('consent-decline', 'I do not agree', 'secondary');
  go.disabled = true;
  const update = () => {
    go.disabled = !boxes.every((b) => b.cb.checked);
  };
  for (const b of boxes) b.cb.addEventListener('change', update);
  show(
    container,
    'consent',
    el('h1', { text: boot.title || 'Information and consent' }),
    day > 1 ? p(`Welcome back. This is part ${day} of the study. Please confirm your consent again.`) : null,
    el('h2', { text: 'What is this study about?' }),
    p(
      'We study how people learn names for new things. You will see pictures of made-up creatures together with ' +
        'made-up names, and learn from feedback which names go with which creature.',
    ),
    p('Protocol inspired by Rubruck et al.; details of the original human study were not available.'),
    el('h2', { text: 'What will I do?' }),
    p(
      'The study has several parts on different days; each part is a separate Prolific study. In each part you ' +
        'look at creatures, select the names you think apply, and (on most trials) then see the correct names. ' +
        'At the end of each part we ask two short questions about how you approached the task.',
    ),
    el('h2', { text: 'Your data' }),
    p(
      'No personal data are collected. We store your answers, response times, your browser family and version, ' +
        'operating system and screen size. Your Prolific ID is not stored: we keep only a keyed one-way code of ' +
        'it to recognise you on the next day. IP addresses are not logged. The anonymous data are kept for at ' +
        'least ten years and may be published in anonymous form.',
    ),
    el('h2', { text: 'Your rights' }),
    p(
      'Taking part is voluntary. You can stop at any time by closing this page, without giving a reason; ' +
        'to withdraw data you already gave, contact us with the date and time you took part.',
    ),
    el('h2', { text: 'Contact and approval' }),
    p(`Contact: ${boot.contact || '(not configured)'}`),
    p(`Ethics approval reference: ${boot.ethics_reference || '(not configured)'}`),
    el('p', { class: 'small', 'data-testid': 'consent-version', text: `Consent form version ${boot.consent_version || '?'}` }),
    el('div', { class: 'checks' }, ...boxes.map((b) => b.row)),
    el('div', { class: 'actions' }, decline, go),
  );
  return new Promise((resolve) => {
    go.addEventListener('click', () => {
      if (!go.disabled) resolve(true);
    });
    decline.addEventListener('click', () => resolve(false), { once: true });
  });
}

export function declinedPage(container) {
  show(
    container,
    'declined',
    el('h1', { text: 'Thank you' }),
    p('You chose not to take part. Nothing was recorded beyond this choice. Please return the study on Prolific.'),
  );
}

// ---------------------------------------------------------------------------------------------
// Instructions and quiz

export async function instructionsPage(container, { day, hasPractice, attentionText, again, probeFirst }) {
  const go = button('instructions-continue', again ? 'Try the questions again' : 'Continue');
  const body = [
    el('h1', { text: day > 1 ? `Part ${day}: a reminder` : 'Instructions' }),
    again ? el('p', { class: 'notice', 'data-testid': 'quiz-retry-notice', text: 'Some answers were not right. Please read the instructions again.' }) : null,
    p('On each trial you see a picture of a creature from another planet, and below it a set of names.'),
    el('p', { class: 'emph', text: 'Select all names that apply to the creature, then press Submit.' }),
    p(
      'Click a name to select it, click it again to unselect it. You may select as many or as few names as you ' +
        'think apply, including none. There is no time limit, but please answer without long pauses.',
    ),
    p(
      'On most trials you then briefly see the correct answer: names you selected correctly turn green, names ' +
        'you selected that do not apply turn red, and names that apply but that you did not select are outlined. ' +
        'You get one point for every name you decided correctly (selected or not selected).',
    ),
    day > 1 || probeFirst ? p('Some trials, at the beginning, show no feedback: just answer as well as you can.') : null,
    p(
      `Sometimes a trial asks you to do something specific, for example to select only the name ${attentionText || 'shown in the question'}. ` +
        'Then please do exactly that.',
    ),
    p('At first you will have to guess. That is expected: you learn from the feedback.'),
    hasPractice ? p('You start with a few practice trials with different pictures and names.') : null,
    el('div', { class: 'actions' }, go),
  ];
  show(container, 'instructions', ...body);
  await once(go);
}

/** The comprehension quiz; the correct option of each question is given by `correct` (index). */
export const QUIZ = [
  {
    q: 'What do you do on each trial?',
    options: [
      'Select exactly one name and press Submit',
      'Select all names that apply to the creature and press Submit',
      'Type the creature’s name',
    ],
    correct: 1,
  },
  {
    q: 'May you press Submit without selecting any name?',
    options: ['Yes, if I think that no name applies', 'No, I must always select at least one name'],
    correct: 0,
  },
  {
    q: 'What does a red name mean during feedback?',
    options: ['I selected it and it does not apply', 'It applies but I did not select it', 'It is the correct answer'],
    correct: 0,
  },
  {
    q: 'A trial asks you to select only one particular name. What do you do?',
    options: ['Select the names I think apply to the creature', 'Select only the name the trial asks for', 'Skip the trial'],
    correct: 1,
  },
];

/** One try at the quiz. Resolves {passed, answers}. */
export async function quizPage(container, { attempt, maxAttempts }) {
  const chosen = new Array(QUIZ.length).fill(null);
  const submit = button('quiz-submit', 'Check my answers');
  submit.disabled = true;
  const blocks = QUIZ.map((item, qi) => {
    const name = `quiz-q${qi + 1}`;
    const opts = item.options.map((text, oi) => {
      const id = `${name}-option-${oi}`;
      const r = el('input', { type: 'radio', name, id, value: String(oi), 'data-testid': id });
      r.addEventListener('change', () => {
        chosen[qi] = oi;
        submit.disabled = chosen.some((c) => c === null);
      });
      return el('div', { class: 'option' }, r, el('label', { for: id, text }));
    });
    return el('fieldset', { class: 'quiz-q', 'data-testid': name }, el('legend', { text: `${qi + 1}. ${item.q}` }), ...opts);
  });
  show(
    container,
    'quiz',
    el('h1', { text: 'A few questions about the instructions' }),
    p(`Try ${attempt} of ${maxAttempts}.`),
    ...blocks,
    el('div', { class: 'actions' }, submit),
  );
  await new Promise((resolve) => {
    submit.addEventListener('click', () => {
      if (!submit.disabled) resolve();
    });
  });
  const passed = QUIZ.every((item, i) => chosen[i] === item.correct);
  return { passed, answers: chosen };
}

export function screenedOutPage(container, boot, { redirectUrl } = {}) {
  show(
    container,
    'screened-out',
    el('h1', { text: 'Thank you for your time' }),
    p(
      'Unfortunately the answers to the questions about the instructions were not right after three tries, so ' +
        'you cannot take part in this study. Please return your submission on Prolific ' +
        '(“Stop without completing”). You will not be penalised for this.',
    ),
    redirectUrl
      ? el('p', {}, 'You will be taken back to Prolific in a moment. If nothing happens, ', el('a', { href: redirectUrl, 'data-testid': 'redirect-link', text: 'click here' }), '.')
      : null,
    boot.contact ? p(`Questions: ${boot.contact}`) : null,
  );
}

export async function introPage(container, name, title, lines, buttonText) {
  const go = button(`${name}-continue`, buttonText || 'Start');
  show(container, name, el('h1', { text: title }), ...lines.map(p), el('div', { class: 'actions' }, go));
  await once(go);
}

// ---------------------------------------------------------------------------------------------
// End of day

/** Strategy (free text) and confidence (1–5). Resolves the answers. */
export async function surveyPage(container, { day }) {
  const text = el('textarea', { 'data-testid': 'survey-strategy', id: 'survey-strategy', rows: 4, cols: 60, maxlength: 2000 });
  let conf = null;
  const submit = button('survey-submit', 'Continue');
  submit.disabled = true;
  const scale = el('div', { class: 'scale' });
  const anchors = { 1: 'not at all confident', 5: 'very confident' };
  for (let v = 1; v <= 5; v += 1) {
    const id = `survey-confidence-${v}`;
    const r = el('input', { type: 'radio', name: 'confidence', id, value: String(v), 'data-testid': id });
    r.addEventListener('change', () => {
      conf = v;
      submit.disabled = false;
    });
    scale.append(el('div', { class: 'scale-point' }, r, el('label', { for: id, text: anchors[v] ? `${v} (${anchors[v]})` : String(v) })));
  }
  show(
    container,
    'survey',
    el('h1', { text: day > 1 ? `End of part ${day}` : 'End of this part' }),
    el('label', { for: 'survey-strategy', text: 'How did you decide which names to select? (optional)' }),
    text,
    el('fieldset', {}, el('legend', { text: 'How confident are you in your answers at the end of this part?' }), scale),
    el('div', { class: 'actions' }, submit),
  );
  await new Promise((resolve) => {
    submit.addEventListener('click', () => {
      if (!submit.disabled) resolve();
    });
  });
  return { strategy: text.value.slice(0, 2000), confidence: String(conf) };
}

export async function debriefPage(container, boot) {
  const go = button('debrief-continue', 'Continue');
  show(
    container,
    'debrief',
    el('h1', { text: 'Thank you: what the study was about' }),
    p(
      'The names you learned formed a hierarchy: two names for large groups of creatures, four for smaller groups ' +
        'and one name for each creature. Names of large groups apply to many creatures, individual names to few.',
    ),
    p(
      'Models of learning predict that early in learning people (and neural networks) first learn how often each ' +
        'name applies in general, and only later which creature it belongs to. For example, they would quickly ' +
        'stop selecting rare names even before they know which creature each rare name belongs to. We compare ' +
        'your learning curves with such models.',
    ),
    p('Protocol inspired by Rubruck et al.; details of the original human study were not available.'),
    p(`If you have questions or want to withdraw your data, contact ${boot.contact || 'the researchers'}.`),
    el('div', { class: 'actions' }, go),
  );
  await once(go);
}

export function savingPage(container, { note } = {}) {
  const status = el('p', { 'data-testid': 'saving-status', text: note || '' });
  show(
    container,
    'saving',
    el('h1', { text: 'Saving…' }),
    p('Please keep this page open while your answers are saved.'),
    el('div', { class: 'spinner', 'aria-hidden': 'true' }),
    status,
  );
  return status;
}

/** Data saved; redirect after `delayMs` with a manual link. */
export function savedPage(container, boot, { redirectUrl, delayMs, failedAttention }) {
  const link = el('a', { href: redirectUrl, 'data-testid': 'redirect-link', text: 'Return to Prolific' });
  const seconds = Math.ceil(delayMs / 1000);
  const children = failedAttention
    ? [
        el('h1', { text: 'Your data are saved' }),
        el('p', {
          class: 'notice',
          'data-testid': 'return-notice',
          text:
            'Unfortunately you did not pass the attention checks (trials that asked you to select one particular name). ' +
            'Please return your submission on Prolific. You are sent back to Prolific now.',
        }),
      ]
    : [el('h1', { text: 'Your data are saved. Thank you!' }), p('You are sent back to Prolific to complete your submission.')];
  show(
    container,
    failedAttention ? 'saved-return' : 'saved',
    ...children,
    p(seconds > 0 ? `This happens automatically in ${seconds} s. If it does not, use this link: ` : 'If nothing happens, use this link: '),
    link,
    boot.contact ? p(`Questions: ${boot.contact}`) : null,
  );
}

export function blockedPage(container, boot, { kind, nextAvailableAt }) {
  const children = [];
  if (kind === 'too_early') {
    let when = nextAvailableAt || '';
    if (nextAvailableAt) {
      const d = new Date(nextAvailableAt);
      if (!Number.isNaN(d.getTime())) {
        when = d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
      }
    }
    children.push(
      el('h1', { text: 'The next part is not open yet' }),
      el('p', {
        'data-testid': 'come-back-at',
        'data-next-available-at': nextAvailableAt || '',
        text: nextAvailableAt ? `Please come back at ${when}.` : 'Please come back later.',
      }),
      p('Your answers so far are saved. This page does not send you back to Prolific.'),
    );
  } else if (kind === 'too_late') {
    children.push(
      el('h1', { text: 'The time window for this part has closed' }),
      p('This part had to be started within the time window after the previous part. Unfortunately it is now too late to continue the study. Please return the submission on Prolific.'),
    );
  } else if (kind === 'done') {
    children.push(el('h1', { text: 'You have completed this study' }), p('You have already completed all parts of this study. Thank you!'));
  } else {
    children.push(el('h1', { text: 'You cannot take part in this study' }), p('According to our records you are not eligible for this part of the study. Please return the submission on Prolific.'));
  }
  if (boot.contact) children.push(p(`Questions: ${boot.contact}`));
  const sec = show(container, 'blocked', ...children);
  sec.dataset.blocked = kind;
  document.body.dataset.blocked = kind;
}

export function errorPage(container, boot, { title, message, retry }) {
  const children = [el('h1', { text: title || 'Something went wrong' }), el('p', { 'data-testid': 'error-message', text: message || '' })];
  let btn = null;
  if (retry) {
    btn = button('error-retry', 'Try again');
    children.push(el('div', { class: 'actions' }, btn));
  }
  if (boot.contact) children.push(p(`If this keeps happening, contact ${boot.contact}.`));
  show(container, 'error', ...children);
  return btn ? once(btn) : new Promise(() => {});
}
