//! The one database writer: a dedicated thread that owns the write connection and commits in
//! groups.
//!
//! Why: SQLite allows one writer at a time, and with `synchronous = FULL` every commit costs an
//! fsync. Instead of many request tasks contending for the write lock (and each paying an
//! fsync), requests send their work to this thread through a channel; the thread takes the
//! first job, drains everything else already queued, runs each job inside its own SAVEPOINT (a
//! failing job is rolled back alone), commits the whole group in ONE transaction (one fsync),
//! and only then answers each job's oneshot. So a request is acknowledged only after its data
//! are durable, and under load the cost of an fsync is shared by every request of the group.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{HumanError, Result};

type Work = Box<dyn FnOnce(&Connection) -> Result<Box<dyn Any + Send>> + Send>;
type Reply = oneshot::Sender<Result<Box<dyn Any + Send>>>;

/// At most this many jobs share a transaction.
const MAX_GROUP: usize = 512;

/// A handle on the writer thread (cheap to clone).
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<(Work, Reply)>,
}

/// Owns the thread; dropping the last [`Writer`] and then this joins it.
pub struct WriterThread {
    handle: Option<JoinHandle<()>>,
}

impl WriterThread {
    /// Wait until the thread has committed everything queued and stopped (after every
    /// [`Writer`] was dropped).
    pub fn join(mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Writer {
    /// Start the writer thread on `db` (created with the schema if needed).
    pub fn start(db: &Path) -> Result<(Writer, WriterThread)> {
        let conn = crate::db::open(db, true)?;
        let (tx, rx) = mpsc::channel::<(Work, Reply)>();
        let db = db.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("learnscope-human-writer".into())
            .spawn(move || run(conn, db, rx))
            .map_err(|source| HumanError::Io {
                addr: "writer thread".into(),
                source,
            })?;
        Ok((
            Writer { tx },
            WriterThread {
                handle: Some(handle),
            },
        ))
    }

    /// Run `f` in the next group transaction; resolves after the commit.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        let work: Work = Box::new(move |c| f(c).map(|t| Box::new(t) as Box<dyn Any + Send>));
        self.tx
            .send((work, reply))
            .map_err(|_| HumanError::WriterGone("channel closed".into()))?;
        let out = rx
            .await
            .map_err(|_| HumanError::WriterGone("no answer".into()))??;
        Ok(*out
            .downcast::<T>()
            .expect("the writer answers with the job's type"))
    }
}

fn run(mut conn: Connection, db: PathBuf, rx: mpsc::Receiver<(Work, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        for (reply, result) in commit_group(&mut conn, &db, group) {
            let _ = reply.send(result);
        }
    }
}

type Answered = Vec<(Reply, Result<Box<dyn Any + Send>>)>;

/// Run a group in one transaction, each job in its own savepoint; every job's answer is an
/// error if the transaction could not begin or commit (nothing of the group is then stored).
fn commit_group(conn: &mut Connection, db: &Path, group: Vec<(Work, Reply)>) -> Answered {
    let failed = |replies: Vec<Reply>, what: &str, e: rusqlite::Error| -> Answered {
        let msg = format!("{what}: {e}");
        replies
            .into_iter()
            .map(|r| {
                (
                    r,
                    Err(HumanError::WriterGone(format!("{} {msg}", db.display()))),
                )
            })
            .collect()
    };
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return failed(group.into_iter().map(|(_, r)| r).collect(), "begin", e),
    };
    let mut answered = Vec::with_capacity(group.len());
    for (work, reply) in group {
        let result = match tx.savepoint() {
            // Dropping an uncommitted savepoint rolls it back: a failed job leaves no trace.
            Ok(sp) => work(&sp).and_then(|v| {
                sp.commit()
                    .map(|_| v)
                    .map_err(crate::db::db_err(db, "release savepoint"))
            }),
            Err(e) => Err(crate::db::db_err(db, "savepoint")(e)),
        };
        answered.push((reply, result));
    }
    match tx.commit() {
        Ok(()) => answered,
        Err(e) => failed(answered.into_iter().map(|(r, _)| r).collect(), "commit", e),
    }
}
