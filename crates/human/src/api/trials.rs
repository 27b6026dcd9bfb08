//! `POST …/trials` (validated against the schedule, stored idempotently), `…/events`,
//! `…/survey`.

use super::*;

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/trials

#[derive(Debug, Deserialize)]
pub(crate) struct TrialRecord {
    global_trial: i64,
    onset_ms: Option<f64>,
    submit_ms: Option<f64>,
    rt_ms: Option<f64>,
    time_elapsed_ms: Option<f64>,
    client_ts: Option<String>,
    labels: Vec<LabelRecord>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelRecord {
    label: i64,
    selected: bool,
    first_click_ms: Option<f64>,
    n_toggles: Option<u32>,
}

/// A validated trial, ready to store.
pub(super) struct Prepared {
    spec: TrialSpec,
    check_idx: Option<u32>,
    rec: TrialRecord,
    /// (label, level, target, selected, first_click_ms, n_toggles), canonical order.
    labels: Vec<(usize, i32, bool, bool, Option<f64>, u32)>,
}

pub(super) fn prepare(
    cfg: &StudyConfig,
    s: &SessionCtx,
    i: usize,
    rec: TrialRecord,
) -> ApiResult<Prepared> {
    let g = rec.global_trial;
    let spec = usize::try_from(g)
        .ok()
        .and_then(|g| s.schedule.get(g))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "record {i}: unknown global_trial {g} (day {} has trials 0..{})",
                s.day,
                s.schedule.len()
            ))
        })?
        .clone();
    let mut selected: HashMap<usize, &LabelRecord> = HashMap::new();
    for (j, l) in rec.labels.iter().enumerate() {
        let label = usize::try_from(l.label)
            .ok()
            .filter(|x| spec.shown.contains(x))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "record {i} (global_trial {g}): labels[{j}]: label {} was not shown on this trial (shown: {:?})",
                    l.label, spec.shown
                ))
            })?;
        if selected.insert(label, l).is_some() {
            return Err(ApiError::bad_request(format!(
                "record {i} (global_trial {g}): labels[{j}]: label {label} appears twice"
            )));
        }
        for (name, v) in [("first_click_ms", l.first_click_ms)] {
            if v.is_some_and(|x| !x.is_finite()) {
                return Err(ApiError::bad_request(format!(
                    "record {i}: labels[{j}].{name} is not finite"
                )));
            }
        }
    }
    let missing: Vec<usize> = spec
        .shown
        .iter()
        .copied()
        .filter(|l| !selected.contains_key(l))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "record {i} (global_trial {g}): every label shown must be answered once; missing {missing:?}"
        )));
    }
    if rec.client_ts.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(ApiError::bad_request(format!(
            "record {i}: client_ts is longer than 64 characters"
        )));
    }
    let levels: Vec<i32> = if spec.phase == Phase::Practice {
        PRACTICE_LABELS.iter().map(|(_, l)| *l).collect()
    } else {
        cfg.labels()
            .iter()
            .map(|l| l.level)
            .chain(std::iter::once(-1))
            .collect()
    };
    let labels = spec
        .shown
        .iter()
        .map(|&l| {
            let r = selected[&l];
            (
                l,
                levels[l],
                spec.targets.contains(&l),
                r.selected,
                r.first_click_ms,
                r.n_toggles.unwrap_or(0),
            )
        })
        .collect();
    let check_idx = s.check_idx.get(&spec.global_trial).copied();
    Ok(Prepared {
        spec,
        check_idx,
        rec,
        labels,
    })
}

pub(crate) async fn post_trials(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(records): ApiJson<Vec<TrialRecord>>,
) -> ApiResult<Json<Value>> {
    let t = rfc3339(now(&st, &headers)?);
    let s = session(&st, &token).await?;
    if records.is_empty() || records.len() > MAX_TRIALS_PER_POST {
        return Err(ApiError::bad_request(format!(
            "post 1 to {MAX_TRIALS_PER_POST} trial records, not {}",
            records.len()
        )));
    }
    let prepared = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| prepare(&st.cfg, &s, i, r))
        .collect::<ApiResult<Vec<_>>>()?;
    let id = s.id;
    let attention = st.cfg.attention_label().label;
    let (stored, n_stored) = st
        .writer
        .run(move |c| store_trials(c, id, &t, attention, prepared))
        .await?;
    Ok(Json(json!({"stored": stored, "n_stored": n_stored})))
}

pub(super) fn store_trials(
    c: &Connection,
    session_id: i64,
    server_ts: &str,
    attention: usize,
    prepared: Vec<Prepared>,
) -> Result<(Vec<u32>, u32), HumanError> {
    let mut ins_trial = c
        .prepare_cached(
            "INSERT INTO trial (session_id, global_trial, block, trial_in_block, phase, item, image, feedback, \
             onset_ms, submit_ms, rt_ms, time_elapsed_ms, client_ts, server_ts, n_selected) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT(session_id, global_trial) DO NOTHING",
        )
        .map_err(db_write(c, "prepare trial insert"))?;
    let mut ins_label = c
        .prepare_cached(
            "INSERT INTO label_response (trial_id, label, level, target, selected, first_click_ms, n_toggles) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db_write(c, "prepare label insert"))?;
    let mut stored = Vec::with_capacity(prepared.len());
    for p in prepared {
        let sp = &p.spec;
        let item = (sp.phase != Phase::Practice).then_some(sp.item as i64);
        let n_selected = p.labels.iter().filter(|l| l.3).count() as i64;
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        let changed = ins_trial
            .execute(params![
                session_id,
                sp.global_trial,
                sp.block,
                sp.trial_in_block,
                sp.phase.as_str(),
                item,
                sp.image as i64,
                sp.feedback,
                finite(p.rec.onset_ms),
                finite(p.rec.submit_ms),
                finite(p.rec.rt_ms),
                finite(p.rec.time_elapsed_ms),
                p.rec.client_ts,
                server_ts,
                n_selected
            ])
            .map_err(db_write(c, "insert trial"))?;
        if changed == 1 {
            let trial_id = c.last_insert_rowid();
            for &(label, level, target, selected, first, toggles) in &p.labels {
                ins_label
                    .execute(params![
                        trial_id,
                        label as i64,
                        level,
                        target,
                        selected,
                        finite(first),
                        toggles
                    ])
                    .map_err(db_write(c, "insert label response"))?;
            }
            if let Some(idx) = p.check_idx {
                let passed = p
                    .labels
                    .iter()
                    .all(|&(l, _, _, sel, _, _)| sel == (l == attention));
                c.execute(
                    "INSERT OR IGNORE INTO attention_check (session_id, check_idx, global_trial, passed) VALUES (?1, ?2, ?3, ?4)",
                    params![session_id, idx, sp.global_trial, passed],
                )
                .map_err(db_write(c, "insert attention check"))?;
            }
        }
        stored.push(sp.global_trial);
    }
    let n: u32 = c
        .query_row(
            "SELECT COUNT(*) FROM trial WHERE session_id = ?1",
            [session_id],
            |r| r.get(0),
        )
        .map_err(db_write(c, "count trials"))?;
    Ok((stored, n))
}

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/events and /survey

#[derive(Debug, Deserialize)]
pub(crate) struct EventRecord {
    t_ms: Option<f64>,
    kind: String,
    #[serde(default)]
    payload: Value,
}

pub(crate) async fn post_events(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiJson(events): ApiJson<Vec<EventRecord>>,
) -> ApiResult<Json<Value>> {
    let s = session(&st, &token).await?;
    if events.len() > MAX_EVENTS_PER_POST {
        return Err(ApiError::bad_request(format!(
            "post at most {MAX_EVENTS_PER_POST} events, not {}",
            events.len()
        )));
    }
    let mut rows = Vec::with_capacity(events.len());
    for (i, e) in events.into_iter().enumerate() {
        if e.kind.is_empty() || e.kind.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "events[{i}].kind must be 1 to 64 characters"
            )));
        }
        let payload = (!e.payload.is_null()).then(|| e.payload.to_string());
        if payload.as_ref().is_some_and(|p| p.len() > 4096) {
            return Err(ApiError::bad_request(format!(
                "events[{i}].payload is over 4096 bytes"
            )));
        }
        rows.push((e.t_ms.filter(|x| x.is_finite()), e.kind, payload));
    }
    let id = s.id;
    if !rows.is_empty() {
        st.writer
            .run(move |c| {
                let mut ins = c
                    .prepare_cached("INSERT INTO event (session_id, t_ms, kind, payload_json) VALUES (?1, ?2, ?3, ?4)")
                    .map_err(db_write(c, "prepare event insert"))?;
                for (t, kind, payload) in rows {
                    ins.execute(params![id, t, kind, payload]).map_err(db_write(c, "insert event"))?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(Json(json!({"ok": true})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Survey {
    answers: serde_json::Map<String, Value>,
}

pub(crate) async fn post_survey(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<Survey>,
) -> ApiResult<Json<Value>> {
    let s = session(&st, &token).await?;
    if req.answers.len() > 64 {
        return Err(ApiError::bad_request("at most 64 survey answers"));
    }
    let mut rows = Vec::new();
    for (k, v) in req.answers {
        if k.is_empty() || k.len() > 64 {
            return Err(ApiError::bad_request(format!(
                "survey key {k:?} must be 1 to 64 characters"
            )));
        }
        let value = match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        };
        if value.as_ref().is_some_and(|v| v.len() > 8192) {
            return Err(ApiError::bad_request(format!(
                "survey answer {k:?} is over 8192 bytes"
            )));
        }
        rows.push((k, value));
    }
    let id = s.id;
    st.writer
        .run(move |c| {
            for (k, v) in rows {
                c.execute(
                    "INSERT INTO survey (session_id, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(session_id, key) DO UPDATE SET value = excluded.value",
                    params![id, k, v],
                )
                .map_err(db_write(c, "store survey answer"))?;
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({"ok": true})))
}
