//! Running the study server: options, secrets, the router, the socket, graceful shutdown.
//!
//! Why separate from `api.rs`: the handlers are pure request → response logic, testable in
//! process through [`App::router`]; this file owns the process-level concerns — where secrets
//! come from (the environment variables the config names, or throwaway values with `--dev`),
//! refusing `--dev` on a non-loopback address, the tokio runtime, SIGINT/SIGTERM, and stopping
//! the writer thread only after everything queued is committed.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;

use crate::api::{self, AppState};
use crate::config::StudyConfig;
use crate::db::{self, ReadPool};
use crate::error::{HumanError, Result};
use crate::writer::{Writer, WriterThread};

/// What `learnscope human serve` passes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The study.
    pub config: StudyConfig,
    /// The SQLite database (created if missing).
    pub db: PathBuf,
    /// The bind address.
    pub bind: IpAddr,
    /// The port (0: any free port).
    pub port: u16,
    /// Test hooks (`X-Test-Now`, item indices, throwaway secrets); loopback only.
    pub dev: bool,
}

/// The server's secrets.
#[derive(Clone)]
pub struct Secrets {
    /// The HMAC-SHA256 key for recruitment IDs.
    pub hmac_key: Vec<u8>,
    /// The admin bearer token.
    pub admin_token: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// Throwaway development secrets, one pair per process (so that [`admin_token_for`] and the
/// server agree).
fn dev_secrets() -> &'static (String, String) {
    static DEV: OnceLock<(String, String)> = OnceLock::new();
    DEV.get_or_init(|| {
        (
            crate::privacy::random_hex(32),
            crate::privacy::random_hex(16),
        )
    })
}

fn env_secret(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The secrets of `opts`: from the environment variables the config names; with `dev`, a
/// throwaway value for any that is unset. Without `dev`, an unset variable is an error.
pub fn secrets_for(opts: &ServeOptions) -> Result<Secrets> {
    let s = &opts.config.study;
    let hmac = match env_secret(&s.hmac_secret_env) {
        Some(v) => v,
        None if opts.dev => dev_secrets().0.clone(),
        None => {
            return Err(HumanError::MissingSecret {
                var: s.hmac_secret_env.clone(),
                key: "hmac_secret_env",
            })
        }
    };
    let admin = match env_secret(&s.admin_token_env) {
        Some(v) => v,
        None if opts.dev => dev_secrets().1.clone(),
        None => {
            return Err(HumanError::MissingSecret {
                var: s.admin_token_env.clone(),
                key: "admin_token_env",
            })
        }
    };
    Ok(Secrets {
        hmac_key: hmac.into_bytes(),
        admin_token: admin,
    })
}

/// The admin token the server started with `opts` will accept (the CLI prints it in dev mode
/// when it was generated).
pub fn admin_token_for(opts: &ServeOptions) -> Result<String> {
    secrets_for(opts).map(|s| s.admin_token)
}

/// Whether the admin token of `opts` is a generated throwaway (dev mode, variable unset).
pub fn admin_token_is_generated(opts: &ServeOptions) -> bool {
    opts.dev && env_secret(&opts.config.study.admin_token_env).is_none()
}

/// An opened study: state, writer thread, router.
pub struct App {
    state: Arc<AppState>,
    writer_thread: Option<WriterThread>,
}

impl App {
    /// Open (or create) the database, register the study and start the writer. With `dev`, a
    /// study stored under another configuration is updated instead of refused.
    pub fn open(config: StudyConfig, db: &Path, dev: bool, secrets: Secrets) -> Result<App> {
        // The images first: a missing file fails before the database is touched.
        let stimuli = crate::stimuli::StimulusSet::load(&config)?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        db::register_study(db, &config, &now, dev)?;
        let (writer, writer_thread) = Writer::start(db)?;
        let index_html = api::render_index(&config, dev);
        let state = Arc::new(AppState {
            cfg: Arc::new(config),
            dev,
            hmac_key: secrets.hmac_key,
            admin_token: secrets.admin_token,
            writer,
            readers: Arc::new(ReadPool::new(db)),
            sessions: Mutex::new(Default::default()),
            index_html,
            stimuli,
        });
        Ok(App {
            state,
            writer_thread: Some(writer_thread),
        })
    }

    /// The study configuration.
    pub fn config(&self) -> &StudyConfig {
        &self.state.cfg
    }

    /// The HTTP router of docs/human-study.md.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Stop the writer after everything queued was committed (call after the server stopped).
    pub fn shutdown(mut self) {
        let thread = self.writer_thread.take();
        drop(self);
        if let Some(t) = thread {
            // The writer thread ends once every Writer handle (state, routers) is dropped.
            t.join();
        }
    }
}

fn router(state: Arc<AppState>) -> Router {
    let sessions = Router::new()
        .route("/api/v1/sessions", post(api::create_session))
        .route("/api/v1/sessions/{token}/consent", post(api::consent))
        .route("/api/v1/sessions/{token}/state", get(api::state))
        .route("/api/v1/sessions/{token}/trials", post(api::post_trials))
        .route("/api/v1/sessions/{token}/events", post(api::post_events))
        .route("/api/v1/sessions/{token}/survey", post(api::post_survey))
        .route("/api/v1/sessions/{token}/complete", post(api::complete))
        .route("/api/v1/admin/studies/{id}/export", get(api::admin_export))
        .route(
            "/api/v1/admin/studies/{id}/analysis",
            get(api::admin_analysis),
        )
        .route(
            "/api/v1/admin/studies/{id}/exclusions",
            get(api::admin_exclusions),
        );
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/s/{study}", get(api::app_shell))
        .route("/s/{study}/stimuli/{file}", get(api::stimulus))
        .route("/assets/{file}", get(api::asset))
        .merge(sessions)
        .fallback(api::no_route)
        .method_not_allowed_fallback(api::wrong_method)
        .layer(axum::middleware::map_response(api::json_errors))
        .layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                let h = r.headers_mut();
                h.insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                );
                h.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                r
            },
        ))
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .with_state(state)
}

/// Serve `opts` until SIGINT or SIGTERM: builds a tokio runtime, refuses `dev` on a
/// non-loopback address, takes the secrets ([`secrets_for`]), binds, calls `on_ready` with the
/// bound address, and on a signal stops accepting, finishes the requests in flight and commits
/// everything queued before returning.
pub fn serve_blocking(
    opts: ServeOptions,
    on_ready: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<()> {
    if opts.dev && !opts.bind.is_loopback() {
        return Err(HumanError::DevNotLoopback { addr: opts.bind });
    }
    let secrets = secrets_for(&opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("learnscope-human")
        .build()
        .map_err(|source| HumanError::Io {
            addr: "tokio runtime".into(),
            source,
        })?;
    let app = App::open(opts.config.clone(), &opts.db, opts.dev, secrets)?;
    let addr = SocketAddr::new(opts.bind, opts.port);
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| HumanError::Io {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| HumanError::Io {
            addr: addr.to_string(),
            source,
        })?;
        on_ready(local);
        axum::serve(listener, app.router())
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|source| HumanError::Io {
                addr: local.to_string(),
                source,
            })
    });
    drop(rt);
    app.shutdown();
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
