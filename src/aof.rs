//! # The append-only file: a log of every write
//!
//! An RDB snapshot is a photograph: whatever changed after it is lost in a
//! crash. The AOF is a diary: every write the server executes is appended
//! to a file as the RESP command that performed it (fed by the one
//! propagation path, `propagate.rs`), and on restart the server replays
//! the file to rebuild its memory. How much a crash can lose is then a
//! question of *when the kernel is told to put the file on disk*, which is
//! what `appendfsync` chooses:
//!
//! - `always`: the batch of writes is `write()`n and `fsync()`ed before any
//!   of its replies leaves the server ([`before_reply`] runs at the end of
//!   each batch, and [`group_fsync`] before the connection writes its
//!   replies). An acknowledged write survives a power cut. The price is a
//!   disk flush per round of the event loop, shared by every client whose
//!   batch ran in that round (a *group commit*, see [`group_fsync`]).
//! - `everysec` (the default): `write()` before the replies, `fsync()` once a
//!   second on a background thread, so the main thread never waits for
//!   the disk. A crash of the *process* loses nothing (the kernel has the
//!   data); a crash of the *machine* loses what was written since the last
//!   completed fsync: about a second, up to two when an fsync is slow and
//!   the next one has to wait for it.
//! - `no`: `write()` only; the kernel flushes when it likes (often every
//!   30 s). The fastest, and the most a power cut can take.
//!
//! ## The multi-part layout (Redis 7.0)
//!
//! The log would grow forever, so it is periodically *rewritten*: a child
//! process, forked with the dataset frozen by copy-on-write, writes the
//! dataset as it is now (the *base*), while the parent keeps
//! logging new writes to an *incremental* file it opened just before the
//! fork. The files live in `appenddirname` (default `appendonlydir/`):
//!
//! ```text
//! appendonlydir/
//!   appendonly.aof.1.base.rdb     the dataset at the last rewrite
//!   appendonly.aof.1.incr.aof     writes since then (maybe several files)
//!   appendonly.aof.manifest       which files, in which order:
//!       file appendonly.aof.1.base.rdb seq 1 type b
//!       file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! The base is an RDB snapshot (`.base.rdb`, with the aux field `aof-base`
//! = 1) under `aof-use-rdb-preamble yes`, 7.0's default, or commands
//! (`.base.aof`) under `no`; the loader tells them apart by the first
//! bytes (`REDIS`), as Redis does, not by the name.
//!
//! When the child exits successfully the parent renames its file to the
//! next base name, writes the new manifest to a temporary file, fsyncs it
//! and renames it over the old one (a rename is atomic: a crash leaves the
//! old manifest or the new one, never half of each), and only then deletes
//! the files the new manifest no longer names.
//!
//! ## The invariant
//!
//! At every instant the files the manifest on disk names, replayed in
//! order, rebuild every acknowledged write (to the chosen fsync policy's
//! guarantee). The rewrite preserves it: the incremental file is switched
//! *before* the fork, so every write after the fork's snapshot lands in a
//! file the new manifest keeps.
//!
//! ## Why an unsafe `fork` is sound here
//!
//! `fork()` copies only the calling thread. The child must not touch
//! anything another thread might have held locked at that moment; it uses
//! no Tokio, no channel, prints nothing: it walks the frozen keyspace,
//! writes one file with `std::fs` (the allocator, jemalloc, re-arms its
//! locks around `fork` itself), fsyncs it and `_exit`s without running
//! destructors or atexit handlers that belong to the parent.
//!
//! ## The Redis C counterpart
//!
//! `src/aof.c`: `feedAppendOnlyFile`, `flushAppendOnlyFile` (called from
//! `beforeSleep`), `aof_background_fsync` (a `bio.c` job),
//! `loadAppendOnlyFiles` / `loadSingleAppendOnlyFile`,
//! `rewriteAppendOnlyFileBackground`, `rewriteAppendOnlyFileRio`,
//! `backgroundRewriteDoneHandler`, `aofLoadManifestFromDisk`,
//! `persistAofManifest`, `openNewIncrAofForAppend`, `startAppendOnly`,
//! `stopAppendOnly`; `src/server.c`: the rewrite triggers in `serverCron`.
//!
//! ## What we simplified
//!
//! - An AOF write error is reported in INFO (`aof_last_write_status`) but,
//!   unlike Redis, does not make writes fail with `-MISCONF`.
//! - When an fsync is still running, Redis postpones the next `write()` for
//!   up to two seconds; we write and skip that second's fsync instead.
//! - Loading a pre-7.0 single `appendonly.aof` (the upgrade path) is not
//!   implemented.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::object::{HashValue, SetValue, StrValue, Value, ZSetValue};
use crate::propagate::encode_command;
use crate::server::config::AppendFsync;
use crate::server::{Config, Server};

/// `server.aof_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofStatus {
    Off,
    On,
    /// Turned on at runtime: writes are logged, but the AOF is not usable
    /// until the first rewrite has written its base.
    WaitRewrite,
}

/// One file named in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
    /// `b` base, `h` history (to delete), `i` incremental.
    pub kind: char,
}

/// The manifest: which files make the AOF, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub history: Vec<AofFile>,
    pub incrs: Vec<AofFile>,
}

impl Manifest {
    /// Parse `file <name> seq <n> type <b|h|i>` lines (`#` starts a
    /// comment; fields may come in any order, as 7.0 accepts).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            if !parts.len().is_multiple_of(2) {
                return Err(format!("Invalid AOF manifest file format: {line}"));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for kv in parts.chunks(2) {
                match kv[0] {
                    "file" => name = Some(kv[1].to_string()),
                    "seq" => seq = kv[1].parse::<u64>().ok(),
                    "type" => kind = kv[1].chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!("Invalid AOF manifest file format: {line}"));
            };
            let f = AofFile { name, seq, kind };
            match kind {
                'b' => m.base = Some(f),
                'h' => m.history.push(f),
                'i' => m.incrs.push(f),
                _ => return Err(format!("Unknown AOF file type: {kind}")),
            }
        }
        Ok(m)
    }

    /// The text 7.0 writes: base, then history, then incremental files.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incrs) {
            s.push_str(&format!("file {} seq {} type {}\n", f.name, f.seq, f.kind));
        }
        s
    }

    fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq) + 1
    }

    fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |f| f.seq) + 1
    }
}

/// The background fsync thread (Redis's `bio` job for the AOF).
#[derive(Debug)]
struct FsyncWorker {
    jobs: mpsc::Sender<Arc<File>>,
    /// Jobs sent and not finished (`aof_pending_bio_fsync`).
    pending: Arc<AtomicUsize>,
}

impl FsyncWorker {
    fn start() -> FsyncWorker {
        let (tx, rx) = mpsc::channel::<Arc<File>>();
        let pending = Arc::new(AtomicUsize::new(0));
        let done = pending.clone();
        std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                for file in rx {
                    let _ = file.sync_data();
                    done.fetch_sub(1, Ordering::Release);
                }
            })
            .expect("spawn the AOF fsync thread");
        FsyncWorker { jobs: tx, pending }
    }
}

/// A running BGREWRITEAOF child.
#[derive(Debug)]
struct RewriteChild {
    pid: libc::pid_t,
    started: Instant,
    /// Where the child writes the new base.
    tmp: PathBuf,
    /// The child writes an RDB base (`aof-use-rdb-preamble` at fork time;
    /// a CONFIG SET during the rewrite must not rename it wrongly).
    rdb_preamble: bool,
}

/// Everything the server keeps about its AOF.
#[derive(Debug)]
pub struct Aof {
    /// The group commit's two signals: a connection with replies waiting
    /// for the fsync kicks the fsync task, which wakes every waiter once
    /// the fsync is done (see [`wait_for_group_fsync`]).
    pub group_kick: std::rc::Rc<tokio::sync::Notify>,
    pub group_done: std::rc::Rc<tokio::sync::Notify>,
    pub status: AofStatus,
    /// Replaying the AOF at startup: nothing is fed back into it.
    pub loading: bool,
    pub manifest: Manifest,
    /// The incremental file being appended to.
    file: Option<Arc<File>>,
    /// Commands fed since the last flush (`server.aof_buf`).
    buf: Vec<u8>,
    /// The db the file's last SELECT chose (`server.aof_selected_db`).
    selected_db: Option<usize>,
    /// Written but not yet handed to fsync.
    unsynced: bool,
    last_fsync: Instant,
    fsync: Option<FsyncWorker>,
    child: Option<RewriteChild>,
    pub rewrite_scheduled: bool,
    /// Bytes in the base and incremental files (`aof_current_size`).
    pub current_size: u64,
    /// `aof_current_size` after the last rewrite or load: the growth the
    /// auto-rewrite percentage is measured against.
    pub base_size: u64,
    pub last_rewrite_time_sec: i64,
    pub last_bgrewrite_ok: bool,
    pub rewrites: u64,
    pub rewrites_consecutive_failures: u64,
    pub last_write_ok: bool,
    pub delayed_fsync: u64,
}

impl Default for Aof {
    fn default() -> Aof {
        Aof {
            group_kick: Default::default(),
            group_done: Default::default(),
            status: AofStatus::Off,
            loading: false,
            manifest: Manifest::default(),
            file: None,
            buf: Vec::new(),
            selected_db: None,
            unsynced: false,
            last_fsync: Instant::now(),
            fsync: None,
            child: None,
            rewrite_scheduled: false,
            current_size: 0,
            base_size: 0,
            last_rewrite_time_sec: -1,
            last_bgrewrite_ok: true,
            rewrites: 0,
            rewrites_consecutive_failures: 0,
            last_write_ok: true,
            delayed_fsync: 0,
        }
    }
}

/// `dir/appenddirname`.
pub fn aof_dir(config: &Config) -> PathBuf {
    config.dir.join(&config.appenddirname)
}

pub fn manifest_name(config: &Config) -> String {
    format!("{}.manifest", config.appendfilename)
}

/// `appendonly.aof.<seq>.base.rdb` when the base is an RDB preamble,
/// `.base.aof` when it is commands.
fn base_name(config: &Config, seq: u64, rdb_preamble: bool) -> String {
    let ext = if rdb_preamble { "rdb" } else { "aof" };
    format!("{}.{}.base.{ext}", config.appendfilename, seq)
}

fn incr_name(config: &Config, seq: u64) -> String {
    format!("{}.{}.incr.aof", config.appendfilename, seq)
}

/// The incremental file used while `appendonly` was just turned on and
/// the first rewrite has not finished: it is not in the manifest yet.
fn temp_incr_name(config: &Config) -> String {
    format!("temp-{}.incr", config.appendfilename)
}

fn log(level: char, msg: &str) {
    eprintln!("{} {level} {msg}", std::process::id());
}

impl Aof {
    /// Should propagation feed us?
    #[inline]
    pub fn wants_feed(&self) -> bool {
        self.status != AofStatus::Off && !self.loading
    }

    // ANCHOR: aof_feed
    /// Add one RESP-encoded command for `db` to the buffer, preceded by a
    /// SELECT when the file's current db differs (`feedAppendOnlyFile`).
    pub fn feed(&mut self, db: usize, command: &[u8]) {
        if !self.wants_feed() {
            return;
        }
        if self.selected_db != Some(db) {
            encode_command(
                &mut self.buf,
                &[&b"SELECT"[..], itoa_buf(db as u64).as_slice()],
            );
            self.selected_db = Some(db);
        }
        self.buf.extend_from_slice(command);
    }
    // ANCHOR_END: aof_feed

    // ANCHOR: aof_flush
    /// Write the buffer to the incremental file and apply the fsync policy
    /// (`flushAppendOnlyFile`). Runs before a batch's replies are sent, and
    /// from cron so that `everysec` fsyncs even when no write comes.
    pub fn flush(&mut self, policy: AppendFsync, no_fsync_on_rewrite: bool) {
        let Some(file) = self.file.clone() else {
            return;
        };
        if !self.buf.is_empty() {
            match (&*file).write_all(&self.buf) {
                Ok(()) => {
                    self.current_size += self.buf.len() as u64;
                    self.last_write_ok = true;
                }
                Err(e) => {
                    // Redis keeps the data in the buffer and retries;
                    // with `always` it must not reply as if written.
                    log('#', &format!("Error writing to the AOF file: {e}"));
                    self.last_write_ok = false;
                    if policy == AppendFsync::Always {
                        log('#', "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                        std::process::exit(1);
                    }
                    return;
                }
            }
            self.buf.clear();
            self.unsynced = true;
        }
        if !self.unsynced || (no_fsync_on_rewrite && self.child.is_some()) {
            return;
        }
        match policy {
            AppendFsync::Always => {
                if let Err(e) = file.sync_data() {
                    log('#', &format!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting..."));
                    std::process::exit(1);
                }
                self.unsynced = false;
                self.last_fsync = Instant::now();
            }
            AppendFsync::Everysec => {
                if self.last_fsync.elapsed() < Duration::from_secs(1) {
                    return;
                }
                let worker = self.fsync.get_or_insert_with(FsyncWorker::start);
                if worker.pending.load(Ordering::Acquire) > 0 {
                    // The previous fsync is still running (a slow disk):
                    // this second's data waits for the next one.
                    self.delayed_fsync += 1;
                    return;
                }
                worker.pending.fetch_add(1, Ordering::Release);
                let _ = worker.jobs.send(file);
                self.unsynced = false;
                self.last_fsync = Instant::now();
            }
            AppendFsync::No => self.unsynced = false,
        }
    }
    // ANCHOR_END: aof_flush

    /// Write and fsync everything now (shutdown, turning the AOF off,
    /// before switching files).
    fn flush_and_sync(&mut self) {
        self.flush(AppendFsync::No, false);
        if let Some(f) = &self.file {
            let _ = f.sync_data();
        }
        self.unsynced = false;
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.child.is_some()
    }

    fn pending_fsyncs(&self) -> usize {
        self.fsync
            .as_ref()
            .map_or(0, |w| w.pending.load(Ordering::Acquire))
    }
}

/// Decimal digits of `n`, for the SELECT argument.
fn itoa_buf(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// Called at the end of every batch of commands, before the replies are
/// written: Redis's `beforeSleep` → `flushAppendOnlyFile`. Everywhere but
/// a connection's batch (cron, DEBUG LOADAOF) the fsync of `always`
/// happens here too.
#[inline]
pub fn before_reply(server: &mut Server) {
    if server.aof.status != AofStatus::Off {
        let policy = server.config.appendfsync;
        let no_rw = server.config.no_appendfsync_on_rewrite;
        server.aof.flush(policy, no_rw);
    }
}

// ANCHOR: aof_group_fsync
/// The end of a connection's batch: write its commands to the file now,
/// except under the group commit of `appendfsync always`, where the
/// buffer waits for [`group_fsync`] (which the connection calls before it
/// writes any reply), so a round of fifty clients costs one `write` and
/// one `fsync`, not fifty of each.
#[inline]
pub fn after_batch(server: &mut Server) {
    if server.aof.status != AofStatus::Off && !group_commit(server) {
        let policy = server.config.appendfsync;
        let no_rw = server.config.no_appendfsync_on_rewrite;
        server.aof.flush(policy, no_rw);
    }
}

/// `appendfsync always`, and not suspended by `no-appendfsync-on-rewrite`
/// during a rewrite.
#[inline]
fn group_commit(server: &Server) -> bool {
    server.config.appendfsync == AppendFsync::Always
        && !(server.config.no_appendfsync_on_rewrite && server.aof.child.is_some())
}

/// Must a reply wait for the group commit? True when `always` is in force
/// and some write is not on disk yet (still buffered, or written but not
/// fsynced).
#[inline]
pub fn fsync_pending(server: &Server) -> bool {
    let aof = &server.aof;
    aof.status != AofStatus::Off && (aof.unsynced || !aof.buf.is_empty()) && group_commit(server)
}

/// The group commit of `appendfsync always`. Redis runs every ready
/// client's commands in one turn of its event loop, then in `beforeSleep`
/// writes and fsyncs the AOF once and only then writes the replies: fifty
/// clients that each sent a SET cost one disk flush, not fifty. Our
/// connections are tasks, so the same shape is built from a queue: the
/// tasks the event loop found ready run in turn, and one whose batch left
/// writes to sync registers as a waiter and kicks the fsync task
/// ([`group_fsync_task`]). Woken by that kick, the fsync task joins the
/// back of the run queue, behind every connection the same turn of the
/// loop made ready: when it runs, their batches are all in the buffer,
/// and one `write` and one `fsync` cover them. It then wakes the waiters,
/// which write their replies. (Measured with strace under
/// `redis-benchmark -c 50 -t set`: about one fsync per 50 SETs, as
/// Redis.) An earlier version yielded instead of waiting, and Tokio polls
/// the sockets again before a yielded task resumes, which split each
/// turn in two and cost 1.5 times Redis's fsyncs.
///
/// The invariant is Redis's: no reply, to anyone, leaves before the
/// writes it may reveal are on disk. (Switching files, at a rewrite or
/// when the AOF is turned off, fsyncs the old file first, which is why one
/// flag is enough.)
pub fn group_fsync(server: &mut Server) {
    if fsync_pending(server) {
        server.aof.flush(AppendFsync::Always, false);
    }
}

/// Wait until the writes of this connection's batch are on disk: register
/// as a waiter first (so the wake-up cannot be missed), then kick the
/// fsync task.
pub async fn wait_for_group_fsync(server: &std::rc::Rc<std::cell::RefCell<Server>>) {
    let (kick, done) = {
        let s = server.borrow();
        (s.aof.group_kick.clone(), s.aof.group_done.clone())
    };
    let notified = done.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    kick.notify_one();
    notified.await;
}

/// The fsync task: one per server, spawned beside the cron.
pub async fn group_fsync_task(server: std::rc::Rc<std::cell::RefCell<Server>>) {
    let (kick, done) = {
        let s = server.borrow();
        (s.aof.group_kick.clone(), s.aof.group_done.clone())
    };
    loop {
        kick.notified().await;
        group_fsync(&mut server.borrow_mut());
        done.notify_waiters();
    }
}
// ANCHOR_END: aof_group_fsync

/// Write the manifest atomically: a temporary file, fsync, rename, and an
/// fsync of the directory so the rename itself is durable
/// (`persistAofManifest`).
pub fn persist_manifest(config: &Config, m: &Manifest) -> io::Result<()> {
    let dir = aof_dir(config);
    let name = manifest_name(config);
    let tmp = dir.join(format!("temp-{name}"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(m.to_text().as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(&name))?;
    File::open(&dir)?.sync_all()
}

fn open_append(path: &Path) -> io::Result<Arc<File>> {
    Ok(Arc::new(
        OpenOptions::new().create(true).append(true).open(path)?,
    ))
}

// ANCHOR: aof_write_base
/// Write the new base to `path` and fsync it (`rewriteAppendOnlyFile`):
/// with `aof-use-rdb-preamble yes` (7.0's default) an RDB file from the
/// RDB chapter's writer, marked `aof-base` = 1: compact and fast to load;
/// with `no`, the commands that recreate each key. `progress` is told the
/// keys written every 1024 keys (the child's copy-on-write reports).
/// Returns the keys written.
pub fn write_base(
    server: &Server,
    path: &Path,
    rdb_preamble: bool,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    if rdb_preamble {
        let meta = crate::rdb::SnapshotMeta {
            ctime: crate::server::unix_ms() / 1000,
            used_mem: crate::memory::used_memory() as u64,
            aof_base: true,
        };
        let opts = crate::commands::persistence::rdb_options(server);
        let functions = server.scripting.functions.codes();
        return crate::rdb::write_snapshot_file(
            path,
            &server.dbs,
            &functions,
            opts,
            meta,
            progress,
        );
    }
    write_base_commands(server, path, progress)
}
// ANCHOR_END: aof_write_base

// ANCHOR: aof_write_base_commands
/// The `aof-use-rdb-preamble no` base: for each key the shortest commands
/// that recreate it (`rewriteAppendOnlyFileRio`).
fn write_base_commands(
    server: &Server,
    path: &Path,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    /// Redis's `AOF_REWRITE_ITEMS_PER_CMD`: long collections are split
    /// into commands of at most 64 elements.
    const ITEMS_PER_CMD: usize = 64;
    let file = File::create(path)?;
    let mut w = BufWriter::with_capacity(64 * 1024, file);
    let mut cmd: Vec<u8> = Vec::with_capacity(1024);
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(2 + 2 * ITEMS_PER_CMD);
    let mut keys_written = 0u64;
    // The FUNCTION libraries first, one FUNCTION LOAD each (Redis's
    // `rewriteFunctions`): a key's script may need them on replay.
    for code in server.scripting.functions.codes() {
        cmd.clear();
        encode_command(&mut cmd, &[b"FUNCTION".as_slice(), b"LOAD", code]);
        w.write_all(&cmd)?;
    }
    for (dbid, db) in server.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        cmd.clear();
        encode_command(&mut cmd, &[b"SELECT".to_vec(), itoa_buf(dbid as u64)]);
        w.write_all(&cmd)?;
        for (key, obj) in db.dict.iter() {
            let key: &[u8] = key;
            keys_written += 1;
            crate::rdb::save::key_save_delay(server.config.rdb_key_save_delay, keys_written);
            if keys_written.is_multiple_of(1024) {
                progress(keys_written);
            }
            // Emit the collected items as `verb key items...`.
            let mut emit = |w: &mut BufWriter<File>, verb: &[u8], items: &mut Vec<Vec<u8>>| {
                cmd.clear();
                argv.clear();
                argv.push(verb.to_vec());
                argv.push(key.to_vec());
                argv.append(items);
                encode_command(&mut cmd, &argv);
                w.write_all(&cmd)
            };
            let mut items: Vec<Vec<u8>> = Vec::new();
            // Flush a chunk once it holds `per` elements (pairs count as one).
            macro_rules! push_items {
                ($verb:expr, $per:expr, $iter:expr) => {
                    for group in $iter {
                        items.extend(group);
                        if items.len() >= $per * ITEMS_PER_CMD {
                            emit(&mut w, $verb, &mut items)?;
                        }
                    }
                    if !items.is_empty() {
                        emit(&mut w, $verb, &mut items)?;
                    }
                };
            }
            match &obj.value {
                Value::Str(s) => {
                    let v = match s {
                        StrValue::Int(i) => i.to_string().into_bytes(),
                        StrValue::Embstr(b) | StrValue::Raw(b) => b.to_vec(),
                    };
                    items.push(v);
                    emit(&mut w, b"SET", &mut items)?;
                }
                Value::List(ql) => {
                    push_items!(b"RPUSH", 1, ql.iter().map(|e| [e]));
                }
                Value::Stream(s) => {
                    let mut result = Ok(());
                    crate::stream::rewrite_commands(key, s, |argv| {
                        if result.is_ok() {
                            cmd.clear();
                            encode_command(&mut cmd, argv);
                            result = w.write_all(&cmd);
                        }
                    });
                    result?;
                }
                Value::Set(set) => match set {
                    SetValue::Intset(is) => {
                        push_items!(b"SADD", 1, is.iter().map(|i| [i.to_string().into_bytes()]));
                    }
                    SetValue::Table(d) => {
                        push_items!(b"SADD", 1, d.iter().map(|(m, _)| [m.to_vec()]));
                    }
                },
                Value::Hash(h) => match &**h {
                    HashValue::Listpack(lp) => {
                        let flat: Vec<Vec<u8>> = lp.iter().map(|v| v.to_vec()).collect();
                        push_items!(
                            b"HMSET",
                            2,
                            flat.chunks(2).map(|p| [p[0].clone(), p[1].clone()])
                        );
                    }
                    HashValue::Table(d) => {
                        push_items!(b"HMSET", 2, d.iter().map(|(f, v)| [f.to_vec(), v.to_vec()]));
                    }
                },
                Value::ZSet(z) => match &**z {
                    ZSetValue::Listpack(lp) => {
                        let flat: Vec<Vec<u8>> = lp.iter().map(|v| v.to_vec()).collect();
                        // Stored as member, score; ZADD wants score, member.
                        push_items!(
                            b"ZADD",
                            2,
                            flat.chunks(2).map(|p| [p[1].clone(), p[0].clone()])
                        );
                    }
                    ZSetValue::Skiplist(t) => {
                        push_items!(
                            b"ZADD",
                            2,
                            t.list.iter().map(|(score, m)| [
                                crate::resp::fmt_g17(score).into_bytes(),
                                m.to_vec()
                            ])
                        );
                    }
                },
            }
            if let Some(when) = db.get_expire(key) {
                cmd.clear();
                encode_command(
                    &mut cmd,
                    &[
                        b"PEXPIREAT".to_vec(),
                        key.to_vec(),
                        when.to_string().into_bytes(),
                    ],
                );
                w.write_all(&cmd)?;
            }
        }
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(keys_written)
}
// ANCHOR_END: aof_write_base_commands

/// Startup: with `appendonly yes`, load the AOF (it wins over the RDB
/// because it is the more complete record), then open it for appending.
/// Without a manifest the dataset is empty and a first base is written,
/// as 7.0 does. An error here means the server must not start.
pub fn load_at_startup(server: &mut Server) -> Result<(), String> {
    if !server.config.appendonly {
        return Ok(());
    }
    let dir = aof_dir(&server.config);
    let manifest_path = dir.join(manifest_name(&server.config));
    let mut manifest = if manifest_path.exists() {
        let text = fs::read_to_string(&manifest_path)
            .map_err(|e| format!("Can't read the AOF manifest: {e}"))?;
        let m = Manifest::parse(&text)?;
        load_files(server, &dir, &m)?;
        m
    } else {
        fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "Can't open or create append-only dir {}: {e}",
                dir.display()
            )
        })?;
        Manifest::default()
    };
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        let seq = manifest.next_base_seq();
        let preamble = server.config.aof_use_rdb_preamble;
        let name = base_name(&server.config, seq, preamble);
        write_base(server, &dir.join(&name), preamble, &mut |_| {})
            .map_err(|e| format!("Can't write the AOF base: {e}"))?;
        manifest.base = Some(AofFile {
            name,
            seq,
            kind: 'b',
        });
    }
    if manifest.incrs.is_empty() {
        let seq = manifest.next_incr_seq();
        manifest.incrs.push(AofFile {
            name: incr_name(&server.config, seq),
            seq,
            kind: 'i',
        });
    }
    let last = &manifest.incrs.last().expect("an incr file").name;
    let file = open_append(&dir.join(last))
        .map_err(|e| format!("Can't open the append-only file {last}: {e}"))?;
    persist_manifest(&server.config, &manifest)
        .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    // Left over by a rewrite that finished its rename but not its cleanup.
    for h in std::mem::take(&mut manifest.history) {
        let _ = fs::remove_file(dir.join(&h.name));
    }
    let aof = &mut server.aof;
    aof.file = Some(file);
    aof.manifest = manifest;
    aof.status = AofStatus::On;
    aof.current_size = files_size(&server.config, &aof.manifest);
    aof.base_size = aof.current_size;
    aof.selected_db = None;
    Ok(())
}

fn files_size(config: &Config, m: &Manifest) -> u64 {
    let dir = aof_dir(config);
    m.base
        .iter()
        .chain(&m.incrs)
        .filter_map(|f| fs::metadata(dir.join(&f.name)).ok())
        .map(|md| md.len())
        .sum()
}

/// DEBUG LOADAOF: write out what is buffered, empty every database and
/// replay the files the manifest on disk names, as a restart would
/// (Redis: the `loadaof` branch of `debugCommand`). The manifest is read
/// from disk, not taken from memory, because BGREWRITEAOF with the AOF off
/// still writes a base and a manifest, and Redis's suite reloads those.
/// Without a manifest on disk the dataset ends up empty.
pub fn debug_loadaof(server: &mut Server) -> Result<(), String> {
    before_reply(server);
    for db in &mut server.dbs {
        db.clear();
    }
    // The files load the FUNCTION libraries again (`emptyData`).
    server.scripting.functions.flush();
    let dir = aof_dir(&server.config);
    let manifest_path = dir.join(manifest_name(&server.config));
    let manifest = match fs::read_to_string(&manifest_path) {
        Ok(text) => Manifest::parse(&text)?,
        Err(_) => server.aof.manifest.clone(),
    };
    load_files(server, &dir, &manifest)
}

/// Replay the base and the incremental files in order.
fn load_files(server: &mut Server, dir: &Path, m: &Manifest) -> Result<(), String> {
    let files: Vec<&AofFile> = m.base.iter().chain(&m.incrs).collect();
    server.aof.loading = true;
    // One load for all the files, as Redis's `loadAppendOnlyFiles`: INFO
    // shows `loading:1` and the bytes of every file (`server::busy`).
    let total: u64 = files
        .iter()
        .filter_map(|f| fs::metadata(dir.join(&f.name)).ok())
        .map(|md| md.len())
        .sum();
    crate::server::busy::start_loading(server, total);
    let mut result = Ok(());
    for (i, f) in files.iter().enumerate() {
        let is_last = i + 1 == files.len();
        if let Err(e) = load_one(server, &dir.join(&f.name), &f.name, is_last) {
            result = Err(e);
            break;
        }
    }
    crate::server::busy::stop_loading(server);
    server.aof.loading = false;
    result
}

/// What parsing one command from the file gave.
enum Parsed {
    Command(crate::resp::OwnedArgs, usize),
    /// The file ends inside a command: truncated.
    Eof,
    Bad,
}

/// Parse one `*N $len arg ...` command starting at `pos`.
fn parse_command(data: &[u8], pos: usize) -> Parsed {
    fn line(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
        let end = data[pos..].windows(2).position(|w| w == b"\r\n")?;
        Some((&data[pos..pos + end], pos + end + 2))
    }
    let Some((head, mut p)) = line(data, pos) else {
        return Parsed::Eof;
    };
    if head.first() != Some(&b'*') {
        return Parsed::Bad;
    }
    let Some(n) = std::str::from_utf8(&head[1..])
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return Parsed::Bad;
    };
    let mut args = crate::resp::OwnedArgs::default();
    for _ in 0..n {
        let Some((h, q)) = line(data, p) else {
            return Parsed::Eof;
        };
        if h.first() != Some(&b'$') {
            return Parsed::Bad;
        }
        let Some(len) = std::str::from_utf8(&h[1..])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return Parsed::Bad;
        };
        if q + len + 2 > data.len() {
            return Parsed::Eof;
        }
        args.push(&data[q..q + len]);
        p = q + len + 2;
    }
    if n == 0 {
        return Parsed::Bad;
    }
    Parsed::Command(args, p)
}

// ANCHOR: aof_load
/// Replay one file with a fake client (`loadSingleAppendOnlyFile`).
/// MULTI ... EXEC blocks are applied only once their EXEC is read. A file
/// that ends mid-command (or mid-transaction) is a crash during a write:
/// if it is the last file and `aof-load-truncated` is yes, the partial tail
/// is cut off with a warning; otherwise the server refuses to start.
fn load_one(server: &mut Server, path: &Path, name: &str, is_last: bool) -> Result<(), String> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| {
            format!("Fatal error: can't open the append log file {name} for reading: {e}")
        })?;
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let mut client = crate::server::Client::new(u64::MAX, addr, addr, -1);
    client.authenticated = true;
    let table = crate::server::command_table();
    let mut pos = rdb_preamble(server, &data, name)?;
    let mut queued: Option<(usize, Vec<crate::resp::OwnedArgs>)> = None;
    let mut valid_up_to = pos;
    // Bytes of the files before this one, for INFO's loading progress.
    let loaded_before = server.busy.loading.as_ref().map_or(0, |p| p.loaded_bytes);
    let mut commands_read = 0u64;
    while pos < data.len() {
        // Serve the clients every 1024 commands, as Redis does here.
        commands_read += 1;
        if commands_read.is_multiple_of(1024) {
            crate::server::busy::loading_progress(server, loaded_before + pos as u64, 0);
        }
        match parse_command(&data, pos) {
            Parsed::Command(args, next) => {
                let a = args.args();
                let verb = a.get(0);
                if verb.eq_ignore_ascii_case(b"MULTI") {
                    queued = Some((pos, Vec::new()));
                } else if verb.eq_ignore_ascii_case(b"EXEC") {
                    for q in queued.take().map(|(_, v)| v).unwrap_or_default() {
                        run_loaded(server, &mut client, table, &q, name)?;
                    }
                } else if let Some((_, q)) = queued.as_mut() {
                    q.push(args);
                } else {
                    run_loaded(server, &mut client, table, &args, name)?;
                }
                pos = next;
                if queued.is_none() {
                    valid_up_to = pos;
                }
            }
            Parsed::Eof => break,
            Parsed::Bad => {
                return Err(format!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                ))
            }
        }
    }
    if let Some(p) = server.busy.loading.as_mut() {
        p.loaded_bytes = loaded_before + data.len() as u64;
    }
    if valid_up_to < data.len() {
        if queued.is_some() {
            log(
                '#',
                &format!("Revert incomplete MULTI/EXEC transaction in AOF file {name}"),
            );
        }
        if !is_last || !server.config.aof_load_truncated {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        log(
            '#',
            &format!("!!! Warning: short read while loading the AOF file {name}!!!"),
        );
        log(
            '#',
            &format!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!"),
        );
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(valid_up_to as u64))
            .map_err(|e| format!("Error truncating the AOF file {name}: {e}"))?;
        log(
            '#',
            &format!("AOF {name} loaded anyway because aof-load-truncated is enabled"),
        );
    }
    Ok(())
}
// ANCHOR_END: aof_load

// ANCHOR: aof_load_preamble
/// A file that starts with `REDIS` opens with an RDB image (a 7.0
/// `.base.rdb`, or a pre-7.0 AOF with a preamble): load it with the RDB
/// chapter's loader and return where the commands, if any, begin. The
/// name does not decide: Redis looks at the first bytes too.
fn rdb_preamble(server: &mut Server, data: &[u8], name: &str) -> Result<usize, String> {
    if !data.starts_with(b"REDIS") {
        return Ok(0);
    }
    log('*', "Reading RDB base file on AOF loading...");
    let (_, end) = crate::server::busy::load_rdb_serving(server, data, false)
        .map_err(|e| format!("Error reading the RDB base file {name}, AOF loading aborted: {e}"))?;
    Ok(end)
}
// ANCHOR_END: aof_load_preamble

fn run_loaded(
    server: &mut Server,
    client: &mut crate::server::Client,
    table: &'static crate::server::command::CommandTable,
    args: &crate::resp::OwnedArgs,
    name: &str,
) -> Result<(), String> {
    let a = args.args();
    let cmd = table.lookup(a).map_err(|_| {
        format!(
            "Unknown command '{}' reading the append only file {name}",
            String::from_utf8_lossy(a.get(0))
        )
    })?;
    crate::server::call(server, client, cmd, a);
    client.reply.buf.clear();
    client.reply.errors.clear();
    Ok(())
}

// ANCHOR: aof_rewrite_start
/// BGREWRITEAOF (`rewriteAppendOnlyFileBackground`): flush and switch to
/// a new incremental file, then fork a child that writes the new base.
pub fn start_rewrite(server: &mut Server) -> Result<(), String> {
    if server.aof.child.is_some() {
        return Err("ERR Background append only file rewriting already in progress".into());
    }
    if crate::commands::persistence::has_active_child(server) {
        return Err("ERR Another child process is active".into());
    }
    let dir = aof_dir(&server.config);
    fs::create_dir_all(&dir).map_err(|e| format!("ERR Can't create the AOF dir: {e}"))?;
    // 1. Everything logged so far goes to the old incremental file.
    server.aof.flush_and_sync();
    // 2. New writes go to a new one, named in the manifest before the
    //    fork, so a crash during the rewrite still replays everything.
    let config = &server.config;
    let aof = &mut server.aof;
    // With the AOF off (a BGREWRITEAOF on a server with `appendonly no`)
    // nothing is being logged: only the base is written.
    let new_incr = match aof.status {
        AofStatus::Off => None,
        AofStatus::WaitRewrite => Some(dir.join(temp_incr_name(config))),
        AofStatus::On => {
            let seq = aof.manifest.next_incr_seq();
            let f = AofFile {
                name: incr_name(config, seq),
                seq,
                kind: 'i',
            };
            let path = dir.join(&f.name);
            let mut m = aof.manifest.clone();
            m.incrs.push(f);
            File::create(&path).map_err(|e| format!("ERR Can't open the new AOF file: {e}"))?;
            persist_manifest(config, &m)
                .map_err(|e| format!("ERR Can't persist the AOF manifest: {e}"))?;
            aof.manifest = m;
            Some(path)
        }
    };
    if let Some(new_incr) = new_incr {
        if aof.status == AofStatus::WaitRewrite {
            let _ = fs::remove_file(&new_incr);
        }
        aof.file = Some(
            open_append(&new_incr).map_err(|e| format!("ERR Can't open the new AOF file: {e}"))?,
        );
    }
    aof.selected_db = None;
    // Counted when started, as Redis's `stat_aof_rewrites`.
    aof.rewrites += 1;
    // 3. Fork. The child sees the dataset as of this instant.
    let rdb_preamble = server.config.aof_use_rdb_preamble;
    let mut pipe = crate::commands::persistence::child_info_open(server);
    // SAFETY: the child only reads the keyspace and writes one file with
    // std::fs, then `_exit`s: no runtime, no locks held by other threads.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!(
            "ERR Can't rewrite append only file in background: fork: {}",
            io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        let me = unsafe { libc::getpid() };
        let tmp = server
            .config
            .dir
            .join(format!("temp-rewriteaof-bg-{me}.aof"));
        let mut reporter = pipe.as_mut().map(|p| p.child_side("AOF rewrite"));
        let mut progress = |keys| {
            if let Some(r) = reporter.as_mut() {
                r.progress(keys)
            }
        };
        let written = write_base(server, &tmp, rdb_preamble, &mut progress);
        if let (Ok(keys), Some(r)) = (&written, reporter.as_mut()) {
            r.send(crate::rdb::child_info::InfoKind::AofCowSize, *keys);
        }
        unsafe { libc::_exit(if written.is_ok() { 0 } else { 1 }) };
    }
    let tmp = server
        .config
        .dir
        .join(format!("temp-rewriteaof-bg-{pid}.aof"));
    log(
        '*',
        &format!("Background append only file rewriting started by pid {pid}"),
    );
    server.aof.child = Some(RewriteChild {
        pid,
        started: Instant::now(),
        tmp,
        rdb_preamble,
    });
    crate::commands::persistence::child_forked(server, pipe);
    server.aof.rewrite_scheduled = false;
    Ok(())
}
// ANCHOR_END: aof_rewrite_start

// ANCHOR: aof_rewrite_done
/// Has the rewrite child exited? If so, install its base
/// (`backgroundRewriteDoneHandler`). Reaps only our own child's pid.
fn reap_rewrite_child(server: &mut Server) {
    let Some(child) = &server.aof.child else {
        return;
    };
    let mut status = 0;
    let r = unsafe { libc::waitpid(child.pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return;
    }
    let child = server.aof.child.take().expect("checked above");
    crate::commands::persistence::child_gone(server);
    let ok = r == child.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let secs = child.started.elapsed().as_secs() as i64;
    // (Turning the AOF off kills the child: an `ok` child here always
    // belongs to the current AOF state.)
    let result = if ok {
        install_new_base(server, &child.tmp, child.rdb_preamble)
    } else {
        Err("the child exited with an error".to_string())
    };
    let aof = &mut server.aof;
    aof.last_rewrite_time_sec = secs;
    match result {
        Ok(()) => {
            aof.last_bgrewrite_ok = true;
            aof.rewrites_consecutive_failures = 0;
            log('*', "Background AOF rewrite finished successfully");
        }
        Err(e) => {
            let _ = fs::remove_file(&child.tmp);
            aof.last_bgrewrite_ok = false;
            aof.rewrites_consecutive_failures += 1;
            log('#', &format!("Background AOF rewrite failed: {e}"));
        }
    }
}

fn install_new_base(server: &mut Server, tmp: &Path, rdb_preamble: bool) -> Result<(), String> {
    let config = &server.config;
    let dir = aof_dir(config);
    let aof = &mut server.aof;
    let mut m = aof.manifest.clone();
    let seq = m.next_base_seq();
    let base = AofFile {
        name: base_name(config, seq, rdb_preamble),
        seq,
        kind: 'b',
    };
    fs::rename(tmp, dir.join(&base.name)).map_err(|e| e.to_string())?;
    if let Some(mut old) = m.base.replace(base) {
        old.kind = 'h';
        m.history.push(old);
    }
    if aof.status == AofStatus::WaitRewrite {
        // The writes logged since the rewrite started become the first
        // incremental file of the new AOF.
        for mut f in std::mem::take(&mut m.incrs) {
            f.kind = 'h';
            m.history.push(f);
        }
        let seq = m
            .next_incr_seq()
            .max(m.history.iter().map(|f| f.seq + 1).max().unwrap_or(1));
        let f = AofFile {
            name: incr_name(config, seq),
            seq,
            kind: 'i',
        };
        aof.flush_and_sync();
        fs::rename(dir.join(temp_incr_name(config)), dir.join(&f.name))
            .map_err(|e| e.to_string())?;
        m.incrs.push(f);
    } else {
        // Every incremental file but the one opened at the start of the
        // rewrite is now inside the new base (with the AOF off none was
        // opened: all of them are).
        let keep = if aof.status == AofStatus::On {
            m.incrs.pop()
        } else {
            None
        };
        for mut f in std::mem::take(&mut m.incrs) {
            f.kind = 'h';
            m.history.push(f);
        }
        m.incrs.extend(keep);
    }
    persist_manifest(config, &m).map_err(|e| e.to_string())?;
    // Only once the new manifest is durable are the old files garbage;
    // then the manifest forgets them (`aofDelHistoryFiles`).
    for h in std::mem::take(&mut m.history) {
        let _ = fs::remove_file(dir.join(&h.name));
    }
    let _ = persist_manifest(config, &m);
    aof.manifest = m;
    if aof.status == AofStatus::WaitRewrite {
        aof.status = AofStatus::On;
    }
    aof.current_size = files_size(config, &aof.manifest);
    aof.base_size = aof.current_size;
    Ok(())
}
// ANCHOR_END: aof_rewrite_done

// ANCHOR: aof_cron
/// The AOF's share of `serverCron`: the everysec fsync tick, reaping the
/// rewrite child, and the rewrite triggers.
pub fn aof_cron(server: &mut Server) {
    let aof = &server.aof;
    if aof.status == AofStatus::Off && aof.child.is_none() && !aof.rewrite_scheduled {
        return;
    }
    before_reply(server);
    reap_rewrite_child(server);
    // One child at a time: a BGSAVE child makes a scheduled or automatic
    // rewrite wait for a later tick.
    if crate::commands::persistence::has_active_child(server) {
        return;
    }
    let start = if server.aof.rewrite_scheduled {
        true
    } else {
        // auto-aof-rewrite-percentage: the AOF grew this much since the
        // last rewrite (or load), and is at least the minimum size.
        let perc = server.config.auto_aof_rewrite_percentage as u64;
        let aof = &server.aof;
        aof.status == AofStatus::On
            && perc > 0
            && aof.current_size > server.config.auto_aof_rewrite_min_size
            && {
                let base = aof.base_size.max(1);
                aof.current_size.saturating_mul(100) / base >= 100 + perc
            }
    };
    if start {
        if let Err(e) = start_rewrite(server) {
            log('#', &e);
        }
    }
}
// ANCHOR_END: aof_cron

/// `CONFIG SET appendonly yes|no` (`startAppendOnly` / `stopAppendOnly`).
pub fn appendonly_changed(server: &mut Server) {
    if server.config.appendonly && server.aof.status == AofStatus::Off {
        // Load the manifest's numbering so new names don't clash with files
        // from an earlier run.
        let path = aof_dir(&server.config).join(manifest_name(&server.config));
        if let Ok(text) = fs::read_to_string(path) {
            if let Ok(m) = Manifest::parse(&text) {
                server.aof.manifest = m;
            }
        }
        server.aof.status = AofStatus::WaitRewrite;
        if crate::commands::persistence::has_active_child(server) {
            server.aof.rewrite_scheduled = true;
        } else if let Err(e) = start_rewrite(server) {
            log('#', &format!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {e}"));
            server.aof.status = AofStatus::Off;
            server.config.appendonly = false;
        }
    } else if !server.config.appendonly && server.aof.status != AofStatus::Off {
        server.aof.flush_and_sync();
        server.aof.file = None;
        server.aof.status = AofStatus::Off;
        kill_rewrite_child(server);
        server.aof.rewrite_scheduled = false;
    }
}

/// Shutdown: everything buffered reaches the disk, and a rewrite still
/// running is abandoned (its temporary file removed), as Redis's
/// `prepareForShutdown` does.
pub fn on_shutdown(server: &mut Server) {
    if server.aof.status != AofStatus::Off {
        server.aof.flush_and_sync();
    }
    kill_rewrite_child(server);
}

fn kill_rewrite_child(server: &mut Server) {
    if let Some(child) = server.aof.child.take() {
        // SAFETY: plain syscalls on our own child's pid.
        unsafe {
            libc::kill(child.pid, libc::SIGUSR1);
            let mut st = 0;
            libc::waitpid(child.pid, &mut st, 0);
        }
        let _ = fs::remove_file(&child.tmp);
        crate::commands::persistence::child_gone(server);
    }
}

pub static COMMANDS: &[crate::server::command::CommandDef] =
    &[crate::server::command::CommandDef {
        name: "bgrewriteaof",
        arity: 1,
        flags: "admin noscript no_async_loading",
        first_key: 0,
        last_key: 0,
        key_step: 0,
        group: crate::server::command::Group::Server,
        since: "1.0.0",
        summary: "Rewrites the append-only file in a forked child, shortest commands first.",
        run: bgrewriteaof_command,
        get_keys: None,
        subcommands: &[],
    }];

/// BGREWRITEAOF
pub fn bgrewriteaof_command(ctx: &mut crate::server::Ctx, _args: crate::resp::Args) {
    if ctx.server.aof.child.is_some() {
        ctx.reply()
            .error("ERR Background append only file rewriting already in progress");
        return;
    }
    // A BGSAVE child is running (or we are inside EXEC): the AOF's cron
    // starts the rewrite once no child is left.
    if crate::commands::persistence::has_active_child(ctx.server) || ctx.client.in_exec {
        ctx.server.aof.rewrite_scheduled = true;
        ctx.server.aof.rewrites_consecutive_failures = 0;
        ctx.reply()
            .simple("Background append only file rewriting scheduled");
        return;
    }
    match start_rewrite(ctx.server) {
        Ok(()) => ctx
            .reply()
            .simple("Background append only file rewriting started"),
        Err(e) => {
            log('#', &e);
            ctx.reply().error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
        }
    }
}

// ANCHOR: aof_info
/// The aof_* lines of `INFO persistence`, in 7.0's order.
pub fn aof_info_lines(s: &Server, out: &mut String) {
    use std::fmt::Write as _;
    let a = &s.aof;
    let on = a.status != AofStatus::Off;
    let current = a
        .child
        .as_ref()
        .map_or(-1, |c| c.started.elapsed().as_secs() as i64);
    let _ = write!(
        out,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\n\
         aof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\n\
         aof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\n\
         aof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\n\
         aof_last_cow_size:{}\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        on as u8,
        a.child.is_some() as u8,
        a.rewrite_scheduled as u8,
        a.last_rewrite_time_sec,
        current,
        if a.last_bgrewrite_ok { "ok" } else { "err" },
        a.rewrites,
        a.rewrites_consecutive_failures,
        if a.last_write_ok { "ok" } else { "err" },
        s.rdb.cow.aof_last,
    );
    if on {
        let _ = write!(
            out,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\n\
             aof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
            a.current_size,
            a.base_size,
            a.rewrite_scheduled as u8,
            a.buf.len(),
            a.pending_fsyncs(),
            a.delayed_fsync,
        );
    }
}
// ANCHOR_END: aof_info

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_in_7_0_format() {
        let text = "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.to_text(), text);
        assert_eq!(m.next_base_seq(), 2);
        assert_eq!(m.next_incr_seq(), 3);
        assert!(Manifest::parse("file x seq 1 type z\n").is_err());
    }

    #[test]
    fn parse_command_tells_truncation_from_garbage() {
        let full = b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        assert!(matches!(parse_command(full, 0), Parsed::Command(_, 20)));
        for cut in 1..full.len() {
            assert!(
                matches!(parse_command(&full[..cut], 0), Parsed::Eof),
                "{cut}"
            );
        }
        assert!(matches!(parse_command(b"GET k\r\n", 0), Parsed::Bad));
    }
}
