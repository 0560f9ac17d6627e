//! Temporary schemas: a store of its own for each test, dropped with
//! everything in it when the store is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A fresh schema name: `eve_t_<pid>_<time>_<n>`, unique across the
/// processes and the stores of this machine.
pub(crate) fn fresh_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    format!("eve_t_{}_{nanos}_{n}", std::process::id())
}

/// Drops a schema (`DROP SCHEMA … CASCADE`) when dropped. The drop runs
/// on a thread of its own with its own runtime, so it works from inside
/// or outside an async context, and waits at most a few seconds.
pub struct TempSchema {
    url: String,
    schema: String,
}

impl std::fmt::Debug for TempSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempSchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl TempSchema {
    /// A guard that drops `schema` on the server `url` names.
    pub fn new(url: &str, schema: &str) -> TempSchema {
        TempSchema {
            url: url.to_string(),
            schema: schema.to_string(),
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.schema
    }
}

impl Drop for TempSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        let worker = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let drop_it = async {
                    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                        .await
                        .ok()?;
                    tokio::spawn(connection);
                    client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .await
                        .ok()
                };
                if tokio::time::timeout(Duration::from_secs(10), drop_it)
                    .await
                    .ok()
                    .flatten()
                    .is_none()
                {
                    tracing::warn!(schema, "postgres: could not drop a temporary schema");
                }
            });
        });
        let _ = worker.join();
    }
}
