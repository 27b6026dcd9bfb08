//! `POST …/complete`: every trial stored → the completion code kind and redirect.

use super::*;

// ---------------------------------------------------------------------------------------------
// POST /sessions/{token}/complete

pub(super) enum Completed {
    Missing(Vec<u32>),
    Done(String),
}

pub(crate) async fn complete(
    State(st): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let t = rfc3339(now(&st, &headers)?);
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError::bad_request("malformed JSON body (send {})"))?
    };
    // `{"screened_out": true}`: the client screened the participant out (the comprehension
    // quiz failed three times); the day ends with the screened-out code, trials or not.
    let screened_out = match request.get("screened_out") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`screened_out` must be true or false, found {other}"
            )))
        }
    };
    let s = session(&st, &token).await?;
    let (id, n) = (s.id, s.schedule.len() as u32);
    let max_fail = st.cfg.protocol.max_attention_failures;
    let done = st
        .writer
        .run(move |c| {
            let row: (String, Option<String>) = c
                .query_row("SELECT status, completion_code_kind FROM session WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(db_write(c, "read session"))?;
            if let (status, Some(kind)) = &row {
                if status == "completed" || status == "screened_out" {
                    return Ok(Completed::Done(kind.clone()));
                }
            }
            if screened_out {
                c.execute(
                    "UPDATE session SET status = 'screened_out', completed_at = ?2, \
                     completion_code_kind = 'screened_out' WHERE id = ?1",
                    params![id, t],
                )
                .map_err(db_write(c, "screen out session"))?;
                return Ok(Completed::Done("screened_out".to_string()));
            }
            let stored = db::stored_trials(c, id).map_err(db_write(c, "read trials"))?;
            let missing: Vec<u32> = (0..n).filter(|g| stored.binary_search(g).is_err()).collect();
            if !missing.is_empty() {
                return Ok(Completed::Missing(missing));
            }
            let failures = db::attention_failures(c, id).map_err(db_write(c, "read attention checks"))?;
            let kind = if failures > max_fail { "failed_attention" } else { "completed" };
            c.execute(
                "UPDATE session SET status = 'completed', completed_at = ?2, completion_code_kind = ?3 WHERE id = ?1",
                params![id, t, kind],
            )
            .map_err(db_write(c, "complete session"))?;
            Ok(Completed::Done(kind.to_string()))
        })
        .await?;
    match done {
        Completed::Missing(missing) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "{} of {n} trials of this day are not stored yet",
                    missing.len()
                ),
            );
            e.missing = Some(missing);
            Err(e)
        }
        Completed::Done(kind) => {
            let c = &st.cfg.completion;
            let code = match kind.as_str() {
                "failed_attention" => &c.failed_attention,
                "screened_out" => &c.screened_out,
                _ => &c.completed,
            };
            Ok(Json(
                json!({"redirect_url": format!("{}{}", c.url, code), "code_kind": kind}),
            ))
        }
    }
}
