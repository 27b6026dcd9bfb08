//! Error bodies (`{"error", "detail"}` with a 4xx status) and the JSON body extractor.

use super::*;

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answer: `{"error": kind, "detail": …}` (plus `missing` for an incomplete day).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    pub(super) missing: Option<Vec<u32>>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            missing: None,
        }
    }
    /// 400 `bad_request`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }
    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
    pub(super) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the header `Authorization: Bearer <admin token>`",
        )
    }
    pub(super) fn internal(e: HumanError) -> Self {
        eprintln!("learnscope human: internal error: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to process the request; it was not stored",
        )
    }
}

impl From<HumanError> for ApiError {
    fn from(e: HumanError) -> Self {
        ApiError::internal(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(HumanError::Db {
            db: "(read)".into(),
            what: "query".into(),
            source: e,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.kind, "detail": self.detail});
        if let Some(m) = self.missing {
            body["missing"] = json!(m);
        }
        (self.status, Json(body)).into_response()
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// The kind of an error status, for error bodies that did not come from our handlers.
pub(super) fn kind_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "bad_request",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "too_large",
        415 => "bad_request",
        s if s < 500 => "bad_request",
        _ => "internal",
    }
}

/// Middleware: an error response whose body is not JSON (an axum rejection we did not
/// customise, a timeout) becomes `{"error", "detail"}` with the same status; 422 becomes 400.
pub(crate) async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).trim().to_string();
    let detail = if detail.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        detail
    };
    (
        status,
        Json(json!({"error": kind_of(status), "detail": detail})),
    )
        .into_response()
}

/// Fallback for unknown routes.
pub(crate) async fn no_route(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", req.method(), req.uri().path()))
}

/// Fallback for a known route with another method.
pub(crate) async fn wrong_method(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

// ---------------------------------------------------------------------------------------------
// The JSON body extractor

/// A JSON request body whose every failure is an [`ApiError`]: 413 `too_large` past
/// [`BODY_LIMIT`], 400 `bad_request` with serde's line/column and path otherwise.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("request bodies are limited to {BODY_LIMIT} bytes"),
                )
            } else {
                ApiError::bad_request(format!("cannot read the body: {}", e.body_text()))
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path.is_empty() || path == "." {
                    ApiError::bad_request(format!("malformed JSON body: {inner}"))
                } else {
                    ApiError::bad_request(format!("malformed JSON body at `{path}`: {inner}"))
                }
            })
    }
}
