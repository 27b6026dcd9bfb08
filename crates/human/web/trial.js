// One multi-label trial (HUMAN-TASK §2.3, §3.4, §4.2):
// fixation → image (decoded, double rAF, onset = rAF timestamp) + label toggle buttons grouped
// by level in the server's display order → Submit (allowed with nothing selected) → feedback
// (when the trial has feedback) → ITI.
//
// The trial root (`data-testid="trial"`) carries data-global-trial, data-phase, data-state
// (fixation | loading | awaiting-response | submitted | feedback | iti), data-feedback
// (none | shown) and, in dev mode, data-item. Label buttons are `label-<canonical index>` with
// data-label, data-level, aria-pressed and, during feedback, data-fb
// (hit | false-alarm | miss | correct-rejection).

import { round } from './api.js';

const raf = () => new Promise((resolve) => requestAnimationFrame(resolve));
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Preload and decode images (failures are ignored here; the trial reports them). */
export function preload(urls) {
  const unique = [...new Set(urls)];
  return Promise.all(
    unique.map((url) => {
      const img = new Image();
      img.src = url;
      return img.decode().catch(() => null);
    }),
  );
}

/** Group labels (already in display order) into rows of consecutive equal level. */
export function rowsByLevel(labels) {
  const rows = [];
  for (const l of labels) {
    const last = rows[rows.length - 1];
    if (last && last.level === l.level) last.labels.push(l);
    else rows.push({ level: l.level, labels: [l] });
  }
  return rows;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

/**
 * The trial view: one root element reused across the trials of a run.
 *
 * `run(trial, labels, opts)` resolves after the ITI with the trial record; `opts.onSubmit(record)`
 * is called at the moment of submit (before feedback) so the record is posted at once.
 */
export class TrialView {
  constructor(container, { dev, onReady, log, points = 0, total = 0 }) {
    this.dev = dev;
    this.onReady = onReady || (() => {});
    this.log = log || (() => {});
    this.points = points;
    this.total = total;
    this.root = el('section', { class: 'trial', 'data-testid': 'trial', 'data-state': 'idle', 'data-feedback': 'none' });
    this.header = el('div', { class: 'trial-header' });
    this.progress = el('span', { class: 'progress', 'data-testid': 'progress' });
    this.pointsEl = el('span', { class: 'points', 'data-testid': 'points' });
    this.header.append(this.progress, this.pointsEl);
    this.stage = el('div', { class: 'stage' });
    this.prompt = el('p', { class: 'prompt', 'data-testid': 'prompt' });
    this.labelsEl = el('div', { class: 'labels' });
    this.submitBtn = el('button', { type: 'button', class: 'primary submit', 'data-testid': 'submit', text: 'Submit' });
    this.footer = el('div', { class: 'trial-footer' }, this.submitBtn);
    this.root.append(this.header, this.stage, this.prompt, this.labelsEl, this.footer);
    container.replaceChildren(this.root);
    this.showPoints(false);
  }

  showPoints(on) {
    this.pointsEl.hidden = !on;
    this.pointsEl.textContent = `Points: ${this.points}`;
    this.pointsEl.dataset.points = String(this.points);
  }

  setState(s) {
    this.root.dataset.state = s;
  }

  /**
   * Run one trial.
   * trial: {global_trial, block, trial_in_block, phase, image, feedback, targets?, item?}
   * labels: [{label, level, text}] in display order (attention label included where shown)
   * opts: {index, count, fixationMs, feedbackMs, itiMs, attention: {label,text}|null, showPoints, onSubmit}
   */
  async run(trial, labels, opts) {
    const root = this.root;
    root.dataset.globalTrial = String(trial.global_trial);
    root.dataset.phase = trial.phase;
    root.dataset.block = String(trial.block);
    root.dataset.feedback = 'none';
    if (this.dev && trial.item !== undefined && trial.item !== null) root.dataset.item = String(trial.item);
    else delete root.dataset.item;
    this.progress.textContent = opts.count ? `${opts.index + 1} / ${opts.count}` : '';
    this.showPoints(!!opts.showPoints);
    this.submitBtn.disabled = true;
    this.submitBtn.hidden = true;
    this.prompt.textContent = '';
    this.labelsEl.replaceChildren();

    // Fixation.
    this.setState('fixation');
    this.stage.replaceChildren(el('div', { class: 'fixation', 'data-testid': 'fixation', text: '+' }));
    const fixStart = performance.now();

    // Decode the image during the fixation.
    this.setState('fixation');
    const img = new Image();
    img.className = 'stimulus';
    img.alt = 'creature';
    img.setAttribute('data-testid', 'stimulus');
    img.width = 256;
    img.height = 256;
    img.draggable = false;
    img.src = trial.image;
    let decodeError = null;
    const decoded = img.decode().catch((e) => {
      decodeError = String(e && e.message ? e.message : e);
    });
    const rest = opts.fixationMs - (performance.now() - fixStart);
    if (rest > 0) await wait(rest);
    this.setState('loading');
    await decoded;
    if (decodeError) this.log('image_error', { global_trial: trial.global_trial, image: trial.image, error: decodeError });

    // Image and buttons into the DOM (buttons disabled until onset).
    const state = new Map(); // label -> {selected, first_click_ms, n_toggles}
    const buttons = new Map();
    const rows = rowsByLevel(labels);
    for (const row of rows) {
      const rowEl = el('div', { class: 'label-row', 'data-level': row.level, 'data-testid': `label-row-${row.level}` });
      for (const l of row.labels) {
        state.set(l.label, { selected: false, first_click_ms: null, n_toggles: 0 });
        const b = el('button', {
          type: 'button',
          class: l.level === -1 ? 'label attention-label' : 'label',
          'data-testid': `label-${l.label}`,
          'data-label': l.label,
          'data-level': l.level,
          'aria-pressed': 'false',
          disabled: true,
          text: l.text,
        });
        buttons.set(l.label, b);
        rowEl.append(b);
      }
      this.labelsEl.append(rowEl);
    }
    if (opts.attention) this.prompt.textContent = `For this one, select only the name ${opts.attention.text}.`;
    this.stage.replaceChildren(img);
    this.submitBtn.hidden = false;

    // Onset: the frame after the decoded image is in the DOM.
    await raf();
    const onset = await raf();
    const onsetMs = onset;

    let submitted;
    const done = new Promise((resolve) => {
      submitted = resolve;
    });
    const onLabel = (ev) => {
      const b = ev.target.closest('button.label');
      if (!b || b.disabled) return;
      const now = performance.now();
      const label = Number(b.dataset.label);
      const s = state.get(label);
      s.selected = !s.selected;
      s.n_toggles += 1;
      if (s.first_click_ms === null) s.first_click_ms = round(Math.max(0, now - onsetMs));
      b.setAttribute('aria-pressed', s.selected ? 'true' : 'false');
      b.classList.toggle('selected', s.selected);
    };
    const onSubmitClick = () => {
      if (this.submitBtn.disabled) return;
      submitted(performance.now());
    };
    this.labelsEl.addEventListener('click', onLabel);
    this.submitBtn.addEventListener('click', onSubmitClick);
    for (const b of buttons.values()) b.disabled = false;
    this.submitBtn.disabled = false;
    this.setState('awaiting-response');
    this.onReady();

    const submitMs = await done;
    this.labelsEl.removeEventListener('click', onLabel);
    this.submitBtn.removeEventListener('click', onSubmitClick);
    for (const b of buttons.values()) b.disabled = true;
    this.submitBtn.disabled = true;
    this.setState('submitted');

    const record = {
      global_trial: trial.global_trial,
      onset_ms: round(onsetMs),
      submit_ms: round(submitMs),
      rt_ms: round(submitMs - onsetMs),
      time_elapsed_ms: round(submitMs),
      client_ts: new Date().toISOString(),
      labels: labels.map((l) => {
        const s = state.get(l.label);
        return { label: l.label, selected: s.selected, first_click_ms: s.first_click_ms, n_toggles: s.n_toggles };
      }),
    };
    if (opts.onSubmit) opts.onSubmit(record);

    // Feedback.
    let gained = 0;
    if (trial.feedback && Array.isArray(trial.targets)) {
      const targets = new Set(trial.targets.map(Number));
      for (const [label, b] of buttons) {
        const sel = state.get(label).selected;
        const tgt = targets.has(label);
        const fb = sel && tgt ? 'hit' : sel ? 'false-alarm' : tgt ? 'miss' : 'correct-rejection';
        b.dataset.fb = fb;
        if (sel === tgt) gained += 1;
      }
      this.points += gained;
      this.showPoints(!!opts.showPoints);
      root.dataset.feedback = 'shown';
      root.dataset.correct = String(gained);
      this.prompt.textContent = `${gained} of ${buttons.size} correct. Green: right choices; red: wrong choices; outlined: names you missed.`;
      this.setState('feedback');
      await wait(opts.feedbackMs);
      root.dataset.feedback = 'none';
    }

    // Inter-trial interval.
    this.setState('iti');
    this.stage.replaceChildren();
    this.labelsEl.replaceChildren();
    this.prompt.textContent = '';
    this.submitBtn.hidden = true;
    if (opts.itiMs > 0) await wait(opts.itiMs);
    return { record, gained };
  }
}
