//! The admin endpoints (bearer token): export, analysis, exclusions.

use super::*;

// ---------------------------------------------------------------------------------------------
// Admin

pub(super) fn check_admin(st: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(tok) if privacy::secret_eq(tok, &st.admin_token) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    format: Option<String>,
}

pub(crate) async fn admin_export(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    check_admin(&st, &headers)?;
    known_study(&st, &study)?;
    let format = match q.format.as_deref().unwrap_or("csv") {
        "csv" => crate::export::ExportFormat::Csv,
        "json" => crate::export::ExportFormat::Json,
        "psychds" => crate::export::ExportFormat::PsychDs,
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not csv, json or psychds"
            )))
        }
    };
    let cfg = st.cfg.clone();
    let bytes = read(&st, move |c| crate::export::export_bytes(c, &cfg, format)).await?;
    let (ctype, ext) = match format {
        crate::export::ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        crate::export::ExportFormat::Json => ("application/json", "json"),
        crate::export::ExportFormat::PsychDs => ("application/zip", "zip"),
    };
    let disposition = format!("attachment; filename=\"{study}.{ext}\"");
    let mut resp = Body::from(bytes).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

pub(crate) async fn admin_analysis(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    check_admin(&st, &headers)?;
    known_study(&st, &study)?;
    let id = study.clone();
    let rows = read(&st, move |c| {
        crate::analysis::read_responses_long_conn(c, Some(&id))
    })
    .await?;
    let report = crate::analysis::analyse(&study, &rows).map_err(ApiError::internal)?;
    Ok(Json(
        serde_json::to_value(report).expect("the analysis serialises"),
    ))
}

/// `GET /api/v1/admin/studies/{id}/exclusions`: the pre-registered exclusion flags per
/// participant and day ([`crate::exclusions`]).
pub(crate) async fn admin_exclusions(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    check_admin(&st, &headers)?;
    known_study(&st, &study)?;
    let cfg = st.cfg.clone();
    let flags = read(&st, move |c| crate::exclusions::exclusion_flags(c, &cfg)).await?;
    Ok(Json(json!({"study": study, "participants": flags})))
}
