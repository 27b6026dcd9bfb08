//! `POST /sessions` (create or resume a day, day windows), consent, and `GET …/state`.

use super::*;

// ---------------------------------------------------------------------------------------------
// POST /sessions

#[derive(Debug, Deserialize)]
pub(crate) struct NewSession {
    study: String,
    prolific_pid: String,
    #[serde(default)]
    #[allow(dead_code)]
    prolific_study_id: Option<String>,
    #[serde(default)]
    prolific_session_id: Option<String>,
    #[serde(default)]
    screen: Option<Screen>,
    #[serde(default)]
    browser: Option<Browser>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Screen {
    w: Option<f64>,
    h: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Browser {
    family: Option<String>,
    major: Option<Value>,
    os: Option<String>,
}

/// What the writer decided for a session request.
pub(super) enum Opened {
    Session(SessionRow, Vec<u32>),
    Blocked(&'static str, Option<String>),
}

pub(super) struct Client {
    pid_hmac: String,
    session_hmac: Option<String>,
    browser: Option<String>,
    major: Option<i64>,
    os: Option<String>,
    w: Option<i64>,
    h: Option<i64>,
}

pub(crate) async fn create_session(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewSession>,
) -> ApiResult<Json<Value>> {
    let t = now(&st, &headers)?;
    if req.study != st.cfg.study.id {
        return Err(ApiError::not_found(format!(
            "no study {:?} on this server",
            req.study
        )));
    }
    let pid = req.prolific_pid.trim();
    if pid.is_empty() || pid.len() > 128 {
        return Err(ApiError::bad_request(
            "prolific_pid must be 1 to 128 characters",
        ));
    }
    let screen_dim = |v: Option<f64>| {
        v.filter(|x| x.is_finite() && *x >= 0.0 && *x < 1e6)
            .map(|x| x.round() as i64)
    };
    let client = Client {
        pid_hmac: privacy::pid_hmac(&st.hmac_key, pid),
        session_hmac: req
            .prolific_session_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| privacy::session_hmac(&st.hmac_key, s)),
        browser: req
            .browser
            .as_ref()
            .and_then(|b| b.family.as_deref())
            .map(privacy::browser_token),
        major: req.browser.as_ref().and_then(|b| match &b.major {
            Some(Value::Number(n)) => n.as_f64().map(|x| x as i64),
            Some(Value::String(s)) => s.split('.').next().and_then(|x| x.trim().parse().ok()),
            _ => None,
        }),
        os: req
            .browser
            .as_ref()
            .and_then(|b| b.os.as_deref())
            .map(privacy::browser_token),
        w: screen_dim(req.screen.as_ref().and_then(|s| s.w)),
        h: screen_dim(req.screen.as_ref().and_then(|s| s.h)),
    };
    let cfg = st.cfg.clone();
    let opened = st
        .writer
        .run(move |c| open_session(c, &cfg, &client, t))
        .await?;
    match opened {
        Opened::Blocked(kind, next) => {
            Ok(Json(json!({"blocked": kind, "next_available_at": next})))
        }
        Opened::Session(row, stored) => {
            let ctx = Arc::new(SessionCtx::new(&st.cfg, &row));
            st.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(row.token.clone(), ctx.clone());
            Ok(Json(session_json(&st, &row, &ctx, &stored)))
        }
    }
}

pub(super) fn open_session(
    c: &Connection,
    cfg: &StudyConfig,
    cl: &Client,
    t: DateTime<Utc>,
) -> Result<Opened, HumanError> {
    let now_s = rfc3339(t);
    let study = &cfg.study.id;
    let existing: Option<i64> = c
        .query_row(
            "SELECT id FROM participant WHERE study_id = ?1 AND pid_hmac = ?2",
            params![study, cl.pid_hmac],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_write(c, "find participant"))?;
    let participant_id = match existing {
        Some(id) => id,
        None => {
            let seq: i64 = c
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM participant WHERE study_id = ?1",
                    [study],
                    |r| r.get(0),
                )
                .map_err(db_write(c, "next participant number"))?;
            let seed = crate::schedule::participant_seed(cfg.study.seed, seq as u64);
            let plan = ParticipantPlan::new(cfg, seed);
            c.execute(
                "INSERT INTO participant (study_id, pid_hmac, public_code, seq, seed, image_perm_json, \
                 label_perm_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    study,
                    cl.pid_hmac,
                    privacy::public_code(seq as u64),
                    seq,
                    seed as i64,
                    serde_json::to_string(&plan.image_of_item).expect("json"),
                    json!({"display_order": plan.label_order, "word_of_label": plan.word_of_label})
                        .to_string(),
                    now_s
                ],
            )
            .map_err(db_write(c, "insert participant"))?;
            c.last_insert_rowid()
        }
    };
    let sessions = db::sessions_of(c, participant_id).map_err(db_write(c, "read sessions"))?;
    let pr = &cfg.protocol;
    let next_day = match sessions.last() {
        None => 1,
        Some(last) if last.status == "started" => {
            let stored = db::stored_trials(c, last.id).map_err(db_write(c, "read trials"))?;
            return Ok(Opened::Session(last.clone(), stored));
        }
        Some(last) => {
            if matches!(
                last.code_kind.as_deref(),
                Some("failed_attention" | "screened_out")
            ) {
                return Ok(Opened::Blocked("not_eligible", None));
            }
            if last.day >= pr.days {
                return Ok(Opened::Blocked("done", None));
            }
            let done = last
                .completed_at
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(t);
            let open_at = done + hours(pr.min_gap_hours);
            let close_at = done + hours(pr.max_gap_hours);
            if t < open_at {
                return Ok(Opened::Blocked("too_early", Some(rfc3339(open_at))));
            }
            if t > close_at {
                return Ok(Opened::Blocked("too_late", None));
            }
            last.day + 1
        }
    };
    let seed: i64 = c
        .query_row(
            "SELECT seed FROM participant WHERE id = ?1",
            [participant_id],
            |r| r.get(0),
        )
        .map_err(db_write(c, "read participant"))?;
    let plan = ParticipantPlan::new(cfg, seed as u64);
    let n_trials = plan.day(cfg, next_day).len();
    let token = privacy::random_hex(16);
    c.execute(
        "INSERT INTO session (participant_id, day, token, prolific_session_hmac, started_at, status, \
         browser, browser_major, os, screen_w, screen_h, n_trials) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            participant_id,
            next_day,
            token,
            cl.session_hmac,
            now_s,
            cl.browser,
            cl.major,
            cl.os,
            cl.w,
            cl.h,
            n_trials as i64
        ],
    )
    .map_err(db_write(c, "insert session"))?;
    let row = db::session_by_token(c, &token)
        .map_err(db_write(c, "read session"))?
        .expect("the session just inserted");
    Ok(Opened::Session(row, Vec::new()))
}

pub(super) fn hours(h: f64) -> chrono::Duration {
    chrono::Duration::milliseconds((h * 3_600_000.0).round() as i64)
}

pub(super) fn session_json(
    st: &AppState,
    row: &SessionRow,
    ctx: &SessionCtx,
    stored: &[u32],
) -> Value {
    let cfg = &st.cfg;
    let plan = ParticipantPlan::new(cfg, row.seed);
    let labels = cfg.labels();
    let label_json: Vec<Value> = plan
        .label_order
        .iter()
        .map(|&l| {
            let word = &labels[plan.word_of_label[l]].text;
            json!({"label": l, "level": labels[l].level, "text": word})
        })
        .collect();
    let att = cfg.attention_label();
    let practice_labels: Vec<Value> = PRACTICE_LABELS
        .iter()
        .enumerate()
        .map(|(i, (text, level))| json!({"label": i, "level": level, "text": text}))
        .collect();
    let trials: Vec<Value> = ctx
        .schedule
        .iter()
        .map(|t| {
            let mut v = json!({
                "global_trial": t.global_trial,
                "block": t.block,
                "trial_in_block": t.trial_in_block,
                "phase": t.phase,
                "image": format!("/s/{}/stimuli/{}", cfg.study.id, cfg.stimulus_file_name(t.image)),
                "feedback": t.feedback,
            });
            if t.feedback {
                v["targets"] = json!(t.targets);
            }
            if st.dev {
                v["item"] = json!(t.item);
            }
            v
        })
        .collect();
    let day1 = row.day == 1;
    json!({
        "token": row.token,
        "day": row.day,
        "days": cfg.protocol.days,
        "participant": row.public_code,
        "labels": label_json,
        "attention_label": {"label": att.label, "level": att.level, "text": att.text},
        "practice_labels": practice_labels,
        "trials": trials,
        "n_trials": ctx.schedule.len(),
        "stored": stored,
        "timing": {
            "fixation_ms": cfg.timing.fixation_ms,
            "feedback_ms": cfg.timing.feedback_ms,
            "iti_ms": cfg.timing.iti_ms,
            "redirect_delay_ms": cfg.timing.redirect_delay_ms,
        },
        "quiz": cfg.protocol.quiz && day1,
        "practice": cfg.protocol.practice && day1,
    })
}

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/consent

#[derive(Debug, Deserialize)]
pub(crate) struct Consent {
    version: String,
}

pub(crate) async fn consent(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Consent>,
) -> ApiResult<Json<Value>> {
    let t = rfc3339(now(&st, &headers)?);
    let s = session(&st, &token).await?;
    if req.version != st.cfg.study.consent_version {
        return Err(ApiError::bad_request(format!(
            "consent version {:?} is not this study's {:?}",
            req.version, st.cfg.study.consent_version
        )));
    }
    let id = s.id;
    st.writer
        .run(move |c| {
            c.execute(
                "UPDATE session SET consent_version = ?2, consent_at = COALESCE(consent_at, ?3) WHERE id = ?1",
                params![id, req.version, t],
            )
            .map_err(db_write(c, "record consent"))
        })
        .await?;
    Ok(Json(json!({"ok": true})))
}

// ---------------------------------------------------------------------------------------------
// GET /sessions/{token}/state

pub(crate) async fn state(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = session(&st, &token).await?;
    let id = s.id;
    let (stored, status) = read(&st, move |c| {
        let stored = db::stored_trials(c, id).map_err(|e| db_read(c, e))?;
        let status: String = c
            .query_row("SELECT status FROM session WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(|e| db_read(c, e))?;
        Ok((stored, status))
    })
    .await?;
    let n = s.schedule.len() as u32;
    let next = (0..n).find(|g| stored.binary_search(g).is_err());
    Ok(Json(json!({
        "day": s.day,
        "n_trials": n,
        "stored": stored,
        "next_trial": next,
        "completed": status == "completed",
    })))
}
