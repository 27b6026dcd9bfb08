//! `GET /healthz`, the app shell `GET /s/{study}`, the embedded assets and the stimuli.

use super::*;

// ---------------------------------------------------------------------------------------------
// Shell, assets, stimuli

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"ok": true}))
}

pub(crate) async fn app_shell(
    State(st): State<Arc<AppState>>,
    Path(study): Path<String>,
) -> ApiResult<Response> {
    known_study(&st, &study)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        st.index_html.clone(),
    )
        .into_response())
}

pub(crate) async fn asset(Path(file): Path<String>) -> ApiResult<Response> {
    let (body, ctype) = crate::assets::get(&file)
        .ok_or_else(|| ApiError::not_found(format!("no asset {file:?}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

pub(crate) async fn stimulus(
    State(st): State<Arc<AppState>>,
    Path((study, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    known_study(&st, &study)?;
    let n: usize = file
        .split_once('.')
        .and_then(|(n, _)| n.parse().ok())
        .ok_or_else(|| ApiError::not_found(format!("no stimulus {file:?} (expected N.ext)")))?;
    let count = st.cfg.n_stimuli();
    if n >= count || file != st.cfg.stimulus_file_name(n) {
        return Err(ApiError::not_found(format!(
            "no stimulus {file:?}: this study has {count} ({})",
            st.cfg.stimulus_file_name(0)
        )));
    }
    let image = st.stimuli.get(n);
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        image.bytes.clone(),
    )
        .into_response())
}

/// The app shell with the boot block in place of `<!--LS-BOOT-->`.
pub(crate) fn render_index(cfg: &StudyConfig, dev: bool) -> String {
    let boot = json!({
        "study": cfg.study.id,
        "dev": dev,
        "title": cfg.study.title,
        "contact": cfg.study.contact,
        "consent_version": cfg.study.consent_version,
        "ethics_reference": cfg.study.ethics_reference,
    });
    let text = serde_json::to_string(&boot)
        .expect("json")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let block = format!(r#"<script type="application/json" id="ls-boot">{text}</script>"#);
    crate::assets::INDEX_HTML.replacen("<!--LS-BOOT-->", &block, 1)
}
