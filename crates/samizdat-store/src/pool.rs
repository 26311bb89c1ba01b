//! Connections: the writer's, and a small pool of read-only ones.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// Idle read connections kept for reuse.
const MAX_IDLE: usize = 16;

/// Turns off SQLite's global memory statistics, which take a process-wide
/// mutex on every allocation; samizdat never reads them. Must run before
/// SQLite initialises, so it runs before the first connection opens.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before any other SQLite call in
        // this process (guarded by the Once, before the first open); if
        // SQLite was already initialised it returns SQLITE_MISUSE and
        // changes nothing.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

pub fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    configure_sqlite();
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if !read_only {
        // Larger pages hold more rows per b-tree node: fewer splits and
        // page writes per insert. Only takes effect on a new database.
        conn.pragma_update(None, "page_size", 8192)?;
        // WAL lets readers run while the writer commits; FULL makes every
        // commit durable before it returns, which acknowledgements rely on.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoint every 64 MiB of WAL rather than 4 MiB: pages that every
        // batch touches (index tails, interior nodes) are copied into the
        // database once per checkpoint, not once per few batches.
        conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    }
    // The writer keeps 32 MiB of pages (index tails, interior nodes); each
    // reader 8 MiB, since a node may have a reader per query at once and
    // the system's page cache holds the rest.
    let cache_kib: i64 = if read_only { 8 * 1024 } else { 32 * 1024 };
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    // Room for every statement the writer and the queries prepare, so none
    // is parsed again after its first use on a connection.
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn new(path: PathBuf) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Gives the page caches of idle readers back to the allocator (their
    /// prepared statements stay): what a burst of large reads took.
    pub fn release_memory(&self) {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        for conn in idle.iter() {
            // SAFETY: the handle is this open connection's, used by no one
            // else while it is idle (under the pool's lock).
            unsafe {
                rusqlite::ffi::sqlite3_db_release_memory(conn.handle());
            }
        }
    }

    pub fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => open_connection(&self.path, true)?,
        };
        Ok(Pooled {
            pool: self,
            conn: Some(conn),
        })
    }
}

pub struct Pooled<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Deref for Pooled<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}
