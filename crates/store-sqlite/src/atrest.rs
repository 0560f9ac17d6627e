//! Data at rest: the checks that keep a damaged store from being served.
//!
//! SQLite recovers silently from a missing, truncated or damaged
//! write-ahead log (WAL): it treats what it cannot read as a transaction
//! that never committed. For a store that acknowledged those writes, that
//! is data loss nobody is told about. So the store keeps, beside the
//! database, a small **state file** ([`STATE_FILE`]) saying what the WAL
//! must hold, and checks the files against it before SQLite opens them:
//!
//! * the writer rewrites the state after every committed batch (the WAL's
//!   salts and its committed frame count, as SQLite's WAL hook reports it)
//!   and after every checkpoint (how many frames are in the main file). It
//!   is not synced: it is written after the commit's sync, so after a crash
//!   it is at worst older than the WAL, which only weakens the check;
//! * a graceful stop checkpoints the WAL into the main file and empties it
//!   (`wal_checkpoint(TRUNCATE)`), and records that nothing is expected
//!   from the WAL any more;
//! * [`verify`] runs at every open, in time linear in the size of the WAL
//!   only: the main file's header (magic, page size, page count against
//!   the file size), the WAL's header and frame checksums (as SQLite's own
//!   recovery reads them), and both against the state.
//!
//! What is **not** detectable here: damage inside a page of the main file
//! that leaves its header and size intact (SQLite's `quick_check` finds
//! it; it reads every page, so it runs at open only for small stores, and
//! always in `eve-rs check-store`), and the loss of the WAL together with
//! the state file, or their replacement by older consistent copies.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use eve_store::{StoreError, StoreResult};

/// The state file's name inside the store directory.
pub const STATE_FILE: &str = "eve.state";

/// First line of the state file.
const STATE_MAGIC: &str = "eve-rs store state v1";

/// The state file is rewritten in place at this fixed length.
const STATE_LEN: usize = 160;

/// What the WAL must hold, as last recorded by the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// Salts of the WAL generation the counts are about (0, 0: none).
    pub salt: (u32, u32),
    /// Committed frames in that generation.
    pub frames: u32,
    /// How many of them a checkpoint copied into the main file.
    pub backfilled: u32,
    /// Size of the main file when last recorded; it never shrinks (the
    /// store never vacuums).
    pub size: u64,
    /// Whether the store was closed gracefully (for the operator only).
    pub clean: bool,
}

impl State {
    fn render(&self) -> Vec<u8> {
        let text = format!(
            "{STATE_MAGIC}\nsalt {} {}\nframes {}\nbackfilled {}\nsize {}\nclean {}\n",
            self.salt.0,
            self.salt.1,
            self.frames,
            self.backfilled,
            self.size,
            u8::from(self.clean)
        );
        let mut bytes = text.into_bytes();
        // Fixed length, padded with spaces: a rewrite covers the old text.
        bytes.resize(STATE_LEN.max(bytes.len()), b' ');
        bytes
    }

    fn parse(text: &str) -> Option<State> {
        let mut lines = text.lines();
        if lines.next()? != STATE_MAGIC {
            return None;
        }
        let mut state = State::default();
        let mut seen = 0;
        for line in lines {
            let mut words = line.split_whitespace();
            let (Some(key), value) = (words.next(), words.next()) else {
                continue;
            };
            let value = value?;
            match key {
                "salt" => state.salt = (value.parse().ok()?, words.next()?.parse().ok()?),
                "frames" => state.frames = value.parse().ok()?,
                "backfilled" => state.backfilled = value.parse().ok()?,
                "size" => state.size = value.parse().ok()?,
                "clean" => state.clean = value == "1",
                _ => return None,
            }
            seen += 1;
        }
        (seen == 5).then_some(state)
    }
}

/// The state file, kept open by the writer thread.
pub(crate) struct StateFile {
    path: PathBuf,
    file: Option<File>,
    /// The last state written.
    pub current: State,
}

impl StateFile {
    /// Opens (creating) the state file of the database `db` and records
    /// `state`. A state file that cannot be written is removed: no state
    /// means no expectations, never a false alarm.
    pub fn open(db: &Path, state: State) -> StateFile {
        let path = state_path(db);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| tracing::warn!(error = %e, file = %path.display(), "cannot open the store state file"))
            .ok();
        let mut this = StateFile {
            path,
            file,
            current: state,
        };
        this.write(state, false);
        this
    }

    /// Records `state`; with `sync`, waits until it is on disk.
    pub fn write(&mut self, state: State, sync: bool) {
        self.current = state;
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let bytes = state.render();
        let result = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&bytes))
            .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
        if let Err(e) = result {
            tracing::warn!(error = %e, file = %self.path.display(), "cannot write the store state file; removing it");
            self.file = None;
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn state_path(db: &Path) -> PathBuf {
    db.with_file_name(STATE_FILE)
}

/// The WAL file of the database `db`.
pub(crate) fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push("-wal");
    PathBuf::from(name)
}

/// What the WAL holds, read as SQLite's recovery reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct WalInfo {
    /// The header's salts, when the header is valid.
    pub salt: Option<(u32, u32)>,
    /// Page size written in a valid header.
    pub page_size: u32,
    /// Frames up to the last valid commit frame (SQLite's `mxFrame`).
    pub committed: u32,
    /// Database size in pages after the last valid commit.
    pub db_pages: u32,
    /// Pages held by the committed frames.
    pub pages: HashSet<u32>,
    /// The first invalid frame, when a commit frame of this generation
    /// follows it (so committed writes are unreadable).
    pub broken_at: Option<u32>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// SQLite's WAL checksum over `data` (a multiple of 8 bytes), seeded with
/// `seed`; words are big-endian when `big_endian`.
fn wal_checksum(big_endian: bool, data: &[u8], seed: (u32, u32)) -> (u32, u32) {
    let (mut s1, mut s2) = seed;
    for pair in data.chunks_exact(8) {
        let word = |i: usize| {
            let b = [pair[i], pair[i + 1], pair[i + 2], pair[i + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        s1 = s1.wrapping_add(word(0)).wrapping_add(s2);
        s2 = s2.wrapping_add(word(4)).wrapping_add(s1);
    }
    (s1, s2)
}

/// Reads the WAL at `path` (absent or empty: nothing in it).
pub(crate) fn read_wal(path: &Path) -> StoreResult<WalInfo> {
    let mut info = WalInfo::default();
    let mut file = match File::open(path) {
        Ok(f) => std::io::BufReader::with_capacity(1 << 20, f),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(info),
        Err(e) => return Err(io_err(path, e)),
    };
    let mut header = [0u8; 32];
    if !read_full(&mut file, &mut header).map_err(|e| io_err(path, e))? {
        return Ok(info);
    }
    let magic = be32(&header, 0);
    let page_size = be32(&header, 8);
    let big_endian = magic & 1 == 1;
    let valid = (magic & !1) == 0x377f_0682
        && be32(&header, 4) == 3_007_000
        && (512..=65536).contains(&page_size)
        && page_size.is_power_of_two()
        && wal_checksum(big_endian, &header[..24], (0, 0))
            == (be32(&header, 24), be32(&header, 28));
    if !valid {
        return Ok(info);
    }
    let salt = (be32(&header, 16), be32(&header, 20));
    info.salt = Some(salt);
    info.page_size = page_size;
    let mut sum = (be32(&header, 24), be32(&header, 28));
    let mut frame = vec![0u8; 24 + page_size as usize];
    let mut pending = Vec::new();
    let mut number = 0u32;
    let mut chain_ok = true;
    while read_full(&mut file, &mut frame).map_err(|e| io_err(path, e))? {
        number += 1;
        let same_generation = (be32(&frame, 8), be32(&frame, 12)) == salt;
        let commit = be32(&frame, 4);
        if chain_ok {
            let next = wal_checksum(big_endian, &frame[..8], sum);
            let next = wal_checksum(big_endian, &frame[24..], next);
            let pgno = be32(&frame, 0);
            if same_generation && pgno != 0 && next == (be32(&frame, 16), be32(&frame, 20)) {
                sum = next;
                pending.push(pgno);
                if commit != 0 {
                    info.committed = number;
                    info.db_pages = commit;
                    info.pages.extend(pending.drain(..));
                }
                continue;
            }
            chain_ok = false;
            info.broken_at = Some(number);
            // The frame at the break itself may be a torn write of a
            // commit that was never acknowledged.
            continue;
        }
        if same_generation && commit != 0 {
            // A commit of this generation after the break: SQLite would
            // stop reading at the break and lose it.
            return Ok(info);
        }
    }
    info.broken_at = None;
    Ok(info)
}

/// Fills `buf` completely; `false` at the end of the file (a partial last
/// piece counts as the end, as for SQLite).
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

/// What [`verify`] found: the state to start from.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The recorded state, or a fresh one.
    pub state: State,
    /// Size of the main file.
    pub size: u64,
}

/// What the operator can do about a damaged store.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Remedy {
    /// The WAL is missing or damaged: put it back, or accept the loss.
    Wal,
    /// The main file is damaged.
    MainFile,
    /// The state file itself is damaged.
    State,
}

/// The error refusing the store of the database `db` because of `what`.
pub(crate) fn damaged(db: &Path, what: &str, remedy: Remedy) -> StoreError {
    let dir = db.parent().unwrap_or(db).display();
    let remedy = match remedy {
        Remedy::Wal => format!(
            "put the write-ahead log back if you have it, or restore the store from a backup; \
             to serve what is left and lose those writes, remove {STATE_FILE}"
        ),
        Remedy::MainFile => "restore the store from a backup (sqlite3's .recover can \
                             salvage what is still readable)"
            .to_string(),
        Remedy::State => format!(
            "remove {STATE_FILE}; the store then opens without checking its write-ahead log \
             against it"
        ),
    };
    StoreError::Corrupt(format!("{what}. Not serving the store in {dir}: {remedy}"))
}

/// Checks the files of the database `db` (before SQLite opens them); the
/// error says what is damaged and what the operator can do.
pub(crate) fn verify(db: &Path) -> StoreResult<Verified> {
    let wal_file = wal_path(db);
    let state_file = state_path(db);
    let wal_damaged = |what: String| damaged(db, &what, Remedy::Wal);
    let main_damaged = |what: String| damaged(db, &what, Remedy::MainFile);
    let state = match std::fs::read(&state_file) {
        Ok(bytes) => Some(
            State::parse(&String::from_utf8_lossy(&bytes)).ok_or_else(|| {
                damaged(
                    db,
                    &format!("the state file {STATE_FILE} is unreadable"),
                    Remedy::State,
                )
            })?,
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(&state_file, e)),
    };
    let expected = state.unwrap_or_default();
    let size = match std::fs::metadata(db) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(io_err(db, e)),
    };
    let name = db
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if size < expected.size {
        return Err(main_damaged(format!(
            "the database file {name} is truncated: {size} bytes, it had {}",
            expected.size
        )));
    }
    let wal = read_wal(&wal_file)?;
    let wal_name = format!("{name}-wal");
    if let Some(frame) = wal.broken_at {
        return Err(wal_damaged(format!(
            "the write-ahead log {wal_name} is damaged at frame {frame}: committed writes after it would be lost"
        )));
    }
    // Frames the main file does not hold yet, per the state.
    let unsaved = expected.frames.saturating_sub(expected.backfilled);
    let same_generation = wal.salt == Some(expected.salt);
    if same_generation && wal.committed < expected.frames && (wal.committed > 0 || unsaved > 0) {
        return Err(wal_damaged(format!(
            "the write-ahead log {wal_name} is truncated or damaged: it holds {} committed frames, {} were written",
            wal.committed, expected.frames
        )));
    }
    if !same_generation && unsaved > 0 {
        return Err(wal_damaged(format!(
            "the write-ahead log {wal_name} is {}: {unsaved} committed frames that are not in {name} are lost",
            if wal_file.exists() { "damaged or replaced" } else { "missing" }
        )));
    }
    if size > 0 {
        check_main_header(db, size, &wal).map_err(main_damaged)?;
    }
    Ok(Verified {
        state: expected,
        size,
    })
}

/// The main file's header against its size (and the WAL's pages).
fn check_main_header(db: &Path, size: u64, wal: &WalInfo) -> Result<(), String> {
    let name = db
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut header = [0u8; 100];
    let mut file = File::open(db).map_err(|e| format!("cannot read {name}: {e}"))?;
    if !read_full(&mut file, &mut header).map_err(|e| format!("cannot read {name}: {e}"))? {
        return Err(format!(
            "the database file {name} is truncated ({size} bytes)"
        ));
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err(format!(
            "the database file {name} has a damaged header (not an SQLite database)"
        ));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!(
            "the database file {name} has a damaged header (page size {page_size})"
        ));
    }
    if wal.salt.is_some() && u64::from(wal.page_size) != page_size {
        return Err(format!(
            "the write-ahead log's page size ({}) is not the database's ({page_size})",
            wal.page_size
        ));
    }
    if !size.is_multiple_of(page_size) {
        return Err(format!(
            "the database file {name} is truncated or damaged: {size} bytes is not a whole number of {page_size}-byte pages"
        ));
    }
    let on_disk = size / page_size;
    let (needed, from_wal) = if wal.committed > 0 {
        (u64::from(wal.db_pages), true)
    } else if be32(&header, 24) == be32(&header, 92) {
        (u64::from(be32(&header, 28)), false)
    } else {
        (on_disk, false)
    };
    // Pages past the end of the main file must be in the WAL.
    let missing = (on_disk + 1..=needed)
        .filter(|p| !(from_wal && wal.pages.contains(&(*p as u32))))
        .count();
    if missing > 0 {
        return Err(format!(
            "the database file {name} is truncated: {missing} of its {needed} pages are missing"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_and_refuses_garbage() {
        let s = State {
            salt: (7, 4_000_000_000),
            frames: 12,
            backfilled: 3,
            size: 1 << 33,
            clean: true,
        };
        let text = String::from_utf8(s.render()).unwrap_or_default();
        assert_eq!(text.len(), STATE_LEN);
        assert_eq!(State::parse(&text), Some(s));
        assert_eq!(State::parse("eve-rs store state v1\nframes x\n"), None);
        assert_eq!(State::parse(&text.replace("frames", "framez")), None);
        assert_eq!(State::parse(&text[..40]), None);
    }

    #[test]
    fn the_checksum_is_sqlites_fibonacci_weighted_sum() {
        // Two words, little-endian: s1 = 1 + 0, s2 = 2 + 1.
        let data = [1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(wal_checksum(false, &data, (0, 0)), (1, 3));
        // Big-endian reads the same bytes as other words.
        assert_eq!(
            wal_checksum(true, &data, (0, 0)),
            (1 << 24, (2 << 24) + (1 << 24))
        );
    }
}
