-- learnscope-human: the study database (HUMAN-TASK.md §4.3, extended where noted).
-- Labels and items are canonical indices everywhere; permutations apply to display only and
-- are kept in `participant` for audit. No raw recruitment IDs, no user-agent strings, no IPs.
CREATE TABLE IF NOT EXISTS study (
  id TEXT PRIMARY KEY,
  config_json TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participant (
  id INTEGER PRIMARY KEY,
  study_id TEXT NOT NULL REFERENCES study(id),
  pid_hmac TEXT NOT NULL,
  public_code TEXT NOT NULL,                 -- 'p007'
  seq INTEGER NOT NULL,                      -- k of p00k (added: the seed derives from it)
  seed INTEGER NOT NULL,
  image_perm_json TEXT NOT NULL,             -- image_of_item: item -> stimulus number
  label_perm_json TEXT NOT NULL,             -- {display_order, word_of_label}
  condition TEXT NOT NULL DEFAULT 'main',
  created_at TEXT NOT NULL,
  UNIQUE(study_id, pid_hmac), UNIQUE(study_id, public_code), UNIQUE(study_id, seq));
CREATE TABLE IF NOT EXISTS session (
  id INTEGER PRIMARY KEY,
  participant_id INTEGER NOT NULL REFERENCES participant(id),
  day INTEGER NOT NULL CHECK(day >= 1),
  token TEXT NOT NULL UNIQUE,
  prolific_session_hmac TEXT,
  consent_version TEXT, consent_at TEXT,
  started_at TEXT NOT NULL, completed_at TEXT,
  status TEXT NOT NULL,                      -- started|completed|screened_out|returned|timed_out
  browser TEXT, browser_major INTEGER, os TEXT, screen_w INTEGER, screen_h INTEGER,
  completion_code_kind TEXT,                 -- completed|failed_attention
  n_trials INTEGER NOT NULL,                 -- added: the day's scheduled trial count
  UNIQUE(participant_id, day));
CREATE TABLE IF NOT EXISTS trial (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES session(id),
  global_trial INTEGER NOT NULL, block INTEGER NOT NULL, trial_in_block INTEGER NOT NULL,
  phase TEXT NOT NULL,                       -- practice|train|probe|attention
  item INTEGER,                              -- leaf index 0..P-1 (NULL for practice)
  image INTEGER NOT NULL,                    -- added: stimulus number shown
  feedback INTEGER NOT NULL,
  onset_ms REAL, submit_ms REAL, rt_ms REAL, time_elapsed_ms REAL,
  client_ts TEXT, server_ts TEXT NOT NULL, n_selected INTEGER NOT NULL,
  UNIQUE(session_id, global_trial));
CREATE TABLE IF NOT EXISTS label_response (
  trial_id INTEGER NOT NULL REFERENCES trial(id),
  label INTEGER NOT NULL,                    -- canonical (practice: toy label index)
  level INTEGER NOT NULL,                    -- 0 root, 1 superordinate, …, -1 attention
  target INTEGER NOT NULL, selected INTEGER NOT NULL,
  first_click_ms REAL, n_toggles INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(trial_id, label));
CREATE TABLE IF NOT EXISTS event (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES session(id),
  t_ms REAL, kind TEXT NOT NULL, payload_json TEXT);
CREATE TABLE IF NOT EXISTS attention_check (
  session_id INTEGER NOT NULL REFERENCES session(id),
  check_idx INTEGER NOT NULL, global_trial INTEGER NOT NULL, passed INTEGER NOT NULL,
  PRIMARY KEY(session_id, check_idx));
CREATE TABLE IF NOT EXISTS survey (
  session_id INTEGER NOT NULL REFERENCES session(id),
  key TEXT NOT NULL, value TEXT,
  PRIMARY KEY(session_id, key));
-- The shared analysis input (humans and virtual participants); study_id added so that one
-- database can hold several studies.
CREATE VIEW IF NOT EXISTS responses_long AS
  SELECT 'human' AS agent_kind, p.public_code AS agent_id, s.day, t.block, t.global_trial, t.phase,
         t.item, r.label, r.level, r.target, r.selected AS response, p.study_id
  FROM label_response r JOIN trial t ON t.id = r.trial_id JOIN session s ON s.id = t.session_id
  JOIN participant p ON p.id = s.participant_id WHERE t.phase IN ('train', 'probe');
