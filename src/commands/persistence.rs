//! # Persistence commands: SAVE, BGSAVE, LASTSAVE, DUMP, RESTORE
//!
//! The format lives in `crate::rdb`; this file is the server side of it:
//! when to write a snapshot, who writes it (this thread for SAVE, a forked
//! child for BGSAVE), what the bookkeeping INFO reports, and the two
//! commands that move one value as RDB bytes (DUMP, RESTORE).
//!
//! ## BGSAVE and fork
//!
//! `fork()` gives the child a copy of the whole address space, made lazily
//! by the kernel: pages are shared until one side writes to one, which is
//! then copied (copy-on-write). The child therefore sees the keyspace
//! frozen at the instant of the fork and can serialise it at leisure while
//! the parent keeps serving. Its only job is [`rdb::save_to_file`] and
//! `_exit`.
//!
//! Why the `unsafe` is sound here: after `fork` only the calling thread
//! exists in the child. Any lock another thread held at that instant stays
//! held forever, so the child must not call anything that might need such
//! a lock. The data is owned by this (the server's) thread; no other
//! thread touches the keyspace. The other threads of the process (a test
//! harness, other in-process servers, Tokio's blocking pool) only matter
//! through shared runtime locks: the allocator and stdio. jemalloc
//! registers `pthread_atfork` handlers that take and release its locks
//! around `fork`, so `malloc` is safe in the child; we use nothing else
//! shared: plain `std::fs` file calls (system calls) and `libc::_exit`,
//! which skips Rust's and libc's exit handlers (no destructors of the
//! parent's objects, no stdio flush of the parent's buffers). The child
//! never returns into Tokio.
//!
//! While a child exists the parent forbids dict resizing
//! (`dict::set_resize_allowed(false)`): a rehash would touch every bucket
//! and copy every page, as Redis's `updateDictResizePolicy` avoids.
//!
//! ## Redis counterparts
//!
//! `rdb.c`: `saveCommand`, `bgsaveCommand`, `lastsaveCommand`,
//! `rdbSaveBackground`, `backgroundSaveDoneHandler`; `server.c`:
//! `serverCron` (save rules, `checkChildrenDone`),
//! `writeCommandsDeniedByDiskError`, `hasActiveChildProcess`; `cluster.c`:
//! `dumpCommand`, `restoreCommand`; `debug.c`: `DEBUG RELOAD`.
//!
//! ## One child at a time
//!
//! A BGSAVE child and an AOF rewrite child never run together (Redis's
//! `hasActiveChildProcess`): two children would double the copy-on-write
//! cost and compete for the disk. Whoever comes second waits:
//!
//! - BGSAVE while a rewrite runs: refused, unless `BGSAVE SCHEDULE` (or
//!   inside MULTI), which sets `bgsave_scheduled`; cron starts it once the
//!   rewrite child has been reaped.
//! - BGREWRITEAOF while a BGSAVE runs: "scheduled" (`aof_rewrite_scheduled`),
//!   started by the AOF's cron once the RDB child is gone.
//! - Save rules and `auto-aof-rewrite-percentage` simply wait for the
//!   next tick with no child.
//!
//! Each reaper waits on its own child's pid only (`waitpid(pid, WNOHANG)`),
//! never on -1: the tests run many servers in one process, and another
//! server's child is not ours to reap.
//!
//! ## When saving fails
//!
//! With `stop-writes-on-bgsave-error yes` (the default) and save rules
//! configured, a failed BGSAVE makes the server refuse writes (and PING)
//! with `-MISCONF` until a save succeeds: a server that cannot persist
//! should say so loudly rather than accept writes it may lose
//! ([`writes_denied_by_disk_error`]).
//!
//! ## What fork costs
//!
//! The child measures its copy-on-write (private dirty pages) and reports
//! it through a pipe (`rdb::child_info`); INFO shows it as
//! `current_cow_size` while the child runs and `rdb_last_cow_size` /
//! `aof_last_cow_size` after.

use std::time::Instant;

use crate::commands::{arg_i64, eq_ic};
use crate::rdb::child_info::{ChildInfoPipe, InfoKind};
use crate::rdb::{self, CowStats, RdbOptions};
use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::{Ctx, Server, SYNTAX_ERR};

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "save",
        arity: 1,
        flags: "admin noscript no_async_loading no_multi",
        since: "1.0.0",
        summary: "Writes the dataset to the RDB file, blocking the server.",
        run: save,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "bgsave",
        arity: -1,
        flags: "admin noscript no_async_loading",
        since: "1.0.0",
        summary: "Writes the dataset to the RDB file from a forked child.",
        run: bgsave,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "lastsave",
        arity: 1,
        flags: "loading stale fast",
        since: "1.0.0",
        summary: "Returns the Unix time of the last successful save.",
        run: lastsave,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "dump",
        arity: 2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Serialises a key's value in RDB form.",
        run: dump,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "restore",
        arity: -4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Creates a key from a DUMP payload.",
        run: restore,
        ..CommandDef::base(Group::Generic)
    },
    // What a cluster node's MIGRATE sends so the target accepts a key in
    // a slot it is still importing. Without cluster mode it is RESTORE.
    CommandDef {
        name: "restore-asking",
        arity: -4,
        flags: "write denyoom asking",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.0.0",
        summary: "RESTORE as sent by MIGRATE between cluster nodes.",
        run: restore,
        ..CommandDef::base(Group::Server)
    },
];

/// The save settings, copied out of the config.
pub fn rdb_options(s: &Server) -> RdbOptions {
    let policy = s.config.maxmemory_policy_name();
    RdbOptions {
        compression: s.config.rdbcompression,
        checksum: s.config.rdbchecksum,
        lru_lfu: if policy.ends_with("-lru") {
            1
        } else if policy.ends_with("-lfu") {
            2
        } else {
            0
        },
        lru_clock: s.lru_clock,
        key_save_delay: s.config.rdb_key_save_delay,
        repl: None,
    }
}

/// [`rdb_options`] for SAVE and BGSAVE (the replicas' full syncs too),
/// which record the replication position; the AOF base does not.
fn save_options(s: &Server) -> RdbOptions {
    RdbOptions {
        repl: crate::replication::save_position(s),
        ..rdb_options(s)
    }
}

// ANCHOR: persistence_save_sync
/// A foreground save (`rdbSave`): on success the dirty counter restarts.
pub fn save_sync(s: &mut Server) -> std::io::Result<()> {
    let opts = save_options(s);
    let used = crate::memory::used_memory() as u64;
    let functions = s.scripting.functions.codes();
    match rdb::save_to_file(
        &s.dbs,
        &functions,
        &s.config.dir,
        &s.config.dbfilename,
        opts,
        used,
    ) {
        Ok(_) => {
            eprintln!("{} * DB saved on disk", std::process::id());
            s.dirty = 0;
            s.rdb.lastsave = crate::server::unix_ms() / 1000;
            s.rdb.last_bgsave_ok = true;
            Ok(())
        }
        Err(e) => {
            eprintln!("{} # Failed saving the DB: {e}", std::process::id());
            Err(e)
        }
    }
}
// ANCHOR_END: persistence_save_sync

// ANCHOR: persistence_bgsave_fork
/// Fork a child that writes the snapshot (`rdbSaveBackground`).
pub fn bgsave_start(s: &mut Server) -> Result<(), String> {
    let opts = save_options(s);
    let used = crate::memory::used_memory() as u64;
    s.rdb.last_bgsave_try = crate::server::unix_ms() / 1000;
    let mut pipe = child_info_open(s);
    // SAFETY: see the module essay. The child only serialises memory it
    // owns a private copy of, with plain file system calls, and leaves
    // with `_exit` without returning into the runtime.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        s.rdb.last_bgsave_ok = false;
        return Err(format!(
            "Can't save in background: fork: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        // A panic must not unwind into the parent's code (a test harness,
        // Tokio): catch it and report failure through the exit status.
        let mut reporter = pipe.as_mut().map(|p| p.child_side("RDB"));
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut progress = |keys| {
                if let Some(r) = reporter.as_mut() {
                    r.progress(keys)
                }
            };
            let functions = s.scripting.functions.codes();
            let saved = rdb::save_to_file_with(
                &s.dbs,
                &functions,
                &s.config.dir,
                &s.config.dbfilename,
                opts,
                used,
                &mut progress,
            );
            if let (Ok(keys), Some(r)) = (&saved, reporter.as_mut()) {
                r.send(InfoKind::RdbCowSize, *keys);
            }
            saved.is_ok()
        }))
        .unwrap_or(false);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    eprintln!(
        "{} * Background saving started by pid {pid}",
        std::process::id()
    );
    s.rdb.child_pid = Some(pid);
    s.rdb.child_started = Some(Instant::now());
    s.rdb.dirty_before_bgsave = s.dirty;
    child_forked(s, pipe);
    Ok(())
}
// ANCHOR_END: persistence_bgsave_fork

/// Is a BGSAVE or AOF rewrite child running (`hasActiveChildProcess`)?
pub fn has_active_child(s: &Server) -> bool {
    s.rdb.child_pid.is_some() || s.aof.rewrite_in_progress()
}

// ANCHOR: persistence_child_info
/// Before a fork: a fresh pipe and fresh `current_cow_*` counters. A
/// pipe that cannot be opened only costs the measurement.
pub fn child_info_open(s: &mut Server) -> Option<ChildInfoPipe> {
    s.rdb.cow = CowStats {
        rdb_last: s.rdb.cow.rdb_last,
        aof_last: s.rdb.cow.aof_last,
        ..CowStats::default()
    };
    ChildInfoPipe::open().ok()
}

/// In the parent, right after a successful fork (either kind of child).
pub fn child_forked(s: &mut Server, pipe: Option<ChildInfoPipe>) {
    s.rdb.child_info = pipe.map(|mut p| {
        p.parent_side();
        p
    });
    s.rdb.cow.keys_total = s.dbs.iter().map(|d| d.len() as u64).sum();
    crate::dict::set_resize_allowed(false);
}

/// Read what the child has sent so far (`receiveChildInfo`): from cron,
/// and once more when the child is reaped so the final report counts.
pub fn receive_child_info(s: &mut Server) {
    let Some(pipe) = s.rdb.child_info.as_mut() else {
        return;
    };
    let cow = &mut s.rdb.cow;
    pipe.drain(|m| {
        cow.current_peak = cow.current_peak.max(m.cow);
        match m.kind {
            InfoKind::Current => {
                cow.current_size = m.cow;
                cow.current_updated = Some(Instant::now());
                cow.keys_processed = m.keys;
            }
            InfoKind::RdbCowSize | InfoKind::AofCowSize => {
                if m.kind == InfoKind::RdbCowSize {
                    cow.rdb_last = cow.current_peak;
                } else {
                    cow.aof_last = cow.current_peak;
                }
                let name = if m.kind == InfoKind::RdbCowSize {
                    "RDB"
                } else {
                    "AOF rewrite"
                };
                eprintln!(
                    "{} * Fork CoW for {name}: current {} MB, peak {} MB, average {} MB",
                    std::process::id(),
                    m.cow >> 20,
                    m.peak >> 20,
                    m.average >> 20
                );
            }
        }
    });
}

/// After a child is reaped (`resetChildState`): close the pipe, zero the
/// `current_*` counters, let dicts resize again.
pub fn child_gone(s: &mut Server) {
    receive_child_info(s);
    s.rdb.child_info = None;
    s.rdb.cow = CowStats {
        rdb_last: s.rdb.cow.rdb_last,
        aof_last: s.rdb.cow.aof_last,
        ..CowStats::default()
    };
    crate::dict::set_resize_allowed(true);
}
// ANCHOR_END: persistence_child_info

// ANCHOR: persistence_misconf
/// Redis's `shared.bgsaveerr`, byte for byte.
pub const MISCONF_ERR: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Should writes be refused because the last BGSAVE failed
/// (`writeCommandsDeniedByDiskError`)? Only with save rules configured:
/// a server that was never asked to snapshot has nothing to warn about.
/// The caller refuses write commands, EXEC of a transaction holding one,
/// and PING, as Redis's `processCommand`.
pub fn writes_denied_by_disk_error(s: &Server) -> Option<&'static str> {
    (s.config.stop_writes_on_bgsave_error && !s.config.save.is_empty() && !s.rdb.last_bgsave_ok)
        .then_some(MISCONF_ERR)
}
// ANCHOR_END: persistence_misconf

// ANCHOR: persistence_cron
/// From `serverCron`: reap a finished child, start a scheduled BGSAVE, and
/// apply the save rules (`save <seconds> <changes>`).
pub fn persistence_cron(s: &mut Server) {
    receive_child_info(s);
    if let Some(pid) = s.rdb.child_pid {
        let mut status = 0;
        // SAFETY: a plain system call on our own child's pid.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid || r < 0 {
            let ok = r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            bgsave_done(s, ok);
        }
        return;
    }
    // One child at a time: an AOF rewrite child makes the save rules and
    // a scheduled BGSAVE wait (the AOF's cron reaps it).
    if has_active_child(s) {
        return;
    }
    let now = crate::server::unix_ms() / 1000;
    // A failed BGSAVE is retried only after 5 seconds.
    let may_retry = s.rdb.last_bgsave_ok || now - s.rdb.last_bgsave_try > 5;
    if s.rdb.bgsave_scheduled && may_retry {
        s.rdb.bgsave_scheduled = false;
        let _ = bgsave_start(s);
        return;
    }
    let due = s
        .config
        .save
        .iter()
        .any(|p| s.dirty >= p.changes.max(0) as u64 && now - s.rdb.lastsave > p.seconds);
    if due && may_retry {
        eprintln!(
            "{} * {} changes in some seconds. Saving...",
            std::process::id(),
            s.dirty
        );
        let _ = bgsave_start(s);
    }
}
// ANCHOR_END: persistence_cron

/// The child is gone (`backgroundSaveDoneHandler`).
fn bgsave_done(s: &mut Server, ok: bool) {
    if ok {
        eprintln!(
            "{} * Background saving terminated with success",
            std::process::id()
        );
        s.dirty = s.dirty.saturating_sub(s.rdb.dirty_before_bgsave);
        s.rdb.lastsave = crate::server::unix_ms() / 1000;
        s.rdb.saves += 1;
    } else {
        eprintln!("{} # Background saving error", std::process::id());
    }
    s.rdb.last_bgsave_ok = ok;
    if let Some(t) = s.rdb.child_started.take() {
        s.rdb.last_bgsave_time_sec = t.elapsed().as_secs() as i64;
    }
    s.rdb.child_pid = None;
    child_gone(s);
    crate::replication::bgsave_done(s, ok);
}

/// Wait for a running child (SAVE after BGSAVE, SHUTDOWN).
pub fn wait_child(s: &mut Server) {
    if let Some(pid) = s.rdb.child_pid {
        let mut status = 0;
        // SAFETY: blocking wait for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        bgsave_done(
            s,
            r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        );
    }
}

// ANCHOR: persistence_load_startup
/// Load `dir/dbfilename` into the empty keyspace before accepting clients
/// (`loadDataFromDisk`). A missing file is an empty start; a damaged one
/// is an error the caller must not start on (and the file is left as is).
pub fn load_at_startup(s: &mut Server) -> Result<(), String> {
    load_rdb(s, false)
}

/// Load `dir/dbfilename` over what the keyspace holds; `allow_dup` lets
/// the file's keys replace existing ones (DEBUG RELOAD MERGE).
fn load_rdb(s: &mut Server, allow_dup: bool) -> Result<(), String> {
    let path = s.config.dir.join(&s.config.dbfilename);
    let start = Instant::now();
    // Clients are served while the file loads (`-LOADING`, INFO's
    // loading_* fields): see `server::busy`.
    let loaded = match std::fs::read(&path) {
        Ok(buf) => {
            crate::server::busy::load_rdb_serving(s, &buf, allow_dup).map(|(stats, _)| Some(stats))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    match loaded {
        Ok(Some(stats)) => {
            eprintln!(
                "{} * DB loaded from disk: {:.3} seconds",
                std::process::id(),
                start.elapsed().as_secs_f64()
            );
            s.rdb.last_load = stats;
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            for db in &mut s.dbs {
                db.clear();
            }
            Err(format!(
                "Fatal error loading the DB ({}): {e}",
                path.display()
            ))
        }
    }
}
// ANCHOR_END: persistence_load_startup

/// INFO's `# Persistence` section (Redis 7.0's field names and order).
pub fn info_section(s: &Server, out: &mut String) {
    use std::fmt::Write;
    let p = &s.rdb;
    let in_progress = p.child_pid.is_some();
    let current = p
        .child_started
        .map(|t| t.elapsed().as_secs() as i64)
        .unwrap_or(-1);
    let cow = &p.cow;
    let fork_perc = if cow.keys_total > 0 {
        cow.keys_processed as f64 / cow.keys_total as f64 * 100.0
    } else {
        0.0
    };
    let _ = write!(
        out,
        "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:{}\r\n\
         current_cow_size:{}\r\ncurrent_cow_size_age:{}\r\ncurrent_fork_perc:{:.2}\r\n\
         current_save_keys_processed:{}\r\ncurrent_save_keys_total:{}\r\n\
         rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\n\
         rdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\n\
         rdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\n\
         rdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\n\
         rdb_last_load_keys_loaded:{}\r\n",
        s.busy.loading.is_some() as u8,
        cow.current_peak,
        cow.current_size,
        cow.current_updated.map_or(0, |t| t.elapsed().as_secs()),
        fork_perc,
        cow.keys_processed,
        cow.keys_total,
        s.dirty,
        in_progress as u8,
        p.lastsave,
        if p.last_bgsave_ok { "ok" } else { "err" },
        p.last_bgsave_time_sec,
        current,
        p.saves,
        cow.rdb_last,
        p.last_load.keys_expired,
        p.last_load.keys_loaded,
    );
    crate::aof::aof_info_lines(s, out);
    crate::server::busy::loading_info_lines(s, out);
}

/// SAVE
fn save(ctx: &mut Ctx, _args: Args) {
    if ctx.server.rdb.child_pid.is_some() {
        return ctx.reply().err("Background save already in progress");
    }
    match save_sync(ctx.server) {
        Ok(()) => {
            // Only SAVE and BGSAVE count in `rdb_saves`; the saves made by
            // FLUSHALL, SHUTDOWN and DEBUG RELOAD do not (as Redis 7.0).
            ctx.server.rdb.saves += 1;
            ctx.reply().ok()
        }
        Err(_) => ctx.reply().error("ERR"),
    }
}

/// BGSAVE [SCHEDULE]
fn bgsave(ctx: &mut Ctx, args: Args) {
    let mut schedule = false;
    if args.len() > 1 {
        if args.len() == 2 && eq_ic(&args[1], "schedule") {
            schedule = true;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
    }
    // A running BGSAVE is refused either way. Another kind of child (an
    // AOF rewrite) refuses too, unless SCHEDULE (or inside MULTI, where
    // a refusal would break the transaction): cron starts it later.
    if ctx.server.rdb.child_pid.is_some() {
        return ctx.reply().err("Background save already in progress");
    }
    if has_active_child(ctx.server) || ctx.client.in_exec {
        if schedule || ctx.client.in_exec {
            ctx.server.rdb.bgsave_scheduled = true;
            return ctx.reply().simple("Background saving scheduled");
        }
        return ctx.reply().err("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    match bgsave_start(ctx.server) {
        Ok(()) => ctx.reply().simple("Background saving started"),
        Err(e) => ctx.reply().err(&e),
    }
}

/// LASTSAVE
fn lastsave(ctx: &mut Ctx, _args: Args) {
    let t = ctx.server.rdb.lastsave;
    ctx.reply().int(t);
}

// ANCHOR: persistence_dump
/// DUMP key
fn dump(ctx: &mut Ctx, args: Args) {
    let opts = rdb_options(ctx.server);
    let (obj, reply) = ctx.read_key(&args[1]);
    match obj {
        None => reply.null(),
        Some(o) => reply.bulk(&rdb::dump_payload(&o.value, opts)),
    }
}
// ANCHOR_END: persistence_dump

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]
fn restore(ctx: &mut Ctx, args: Args) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j];
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "absttl") {
            absttl = true;
        } else if eq_ic(a, "idletime") && more && freq.is_none() {
            let Some(v) = arg_i64(ctx, &args[j + 1]) else {
                return;
            };
            if v < 0 {
                return ctx.reply().err("Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if eq_ic(a, "freq") && more && idle.is_none() {
            let Some(v) = arg_i64(ctx, &args[j + 1]) else {
                return;
            };
            if !(0..=255).contains(&v) {
                return ctx
                    .reply()
                    .err("Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
            j += 1;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
        j += 1;
    }
    let key = &args[1];
    if !replace && ctx.lookup_write(key).is_some() {
        return ctx.reply().error("BUSYKEY Target key name already exists.");
    }
    let Some(mut ttl) = arg_i64(ctx, &args[2]) else {
        return;
    };
    if ttl < 0 {
        return ctx.reply().err("Invalid TTL value, must be >= 0");
    }
    let payload = &args[3];
    if !rdb::verify_dump_payload(payload) {
        return ctx
            .reply()
            .err("DUMP payload version or checksum are wrong");
    }
    let value = match rdb::load::load_dump_payload(payload, &ctx.server.config) {
        Ok(v) => v,
        Err(_) => return ctx.reply().err("Bad data format"),
    };
    let deleted = replace && ctx.delete_key(key);
    if ttl > 0 && !absttl {
        ttl += ctx.now_ms;
    }
    if ttl > 0 && ttl < ctx.now_ms {
        // Already expired: as if restored and expired at once.
        if deleted {
            ctx.signal_modified_key(key);
            ctx.notify(crate::server::notify_class::GENERIC, "del", key);
            ctx.dirty(1);
        }
        return ctx.reply().ok();
    }
    let mut obj = ctx.new_object(value);
    if let Some(s) = idle {
        obj.lru = ctx.server.lru_clock.wrapping_sub(s as u32) & ((1 << 24) - 1);
    } else if let Some(f) = freq {
        obj.lru = ((((ctx.now_ms / 60_000) as u32) & 0xffff) << 8) | f as u32;
    }
    let db = ctx.client.db;
    ctx.server.dbs[db].add_with_expire(key, obj, (ttl > 0).then_some(ttl));
    ctx.signal_modified_key(key);
    ctx.notify(crate::server::notify_class::GENERIC, "restore", key);
    ctx.dirty(1);
    // A relative TTL goes to the AOF and replicas as the absolute time it
    // became, flagged ABSTTL (Redis 7.0's restoreCommand).
    if ttl > 0 && !absttl && ctx.propagating() {
        let ttl_text = ttl.to_string();
        let mut argv: Vec<&[u8]> = args.iter().collect();
        argv[2] = ttl_text.as_bytes();
        argv.push(b"ABSTTL");
        ctx.propagate_as(&argv);
    }
    ctx.reply().ok();
}

/// Stop a running BGSAVE child and forget it (`killRDBChild`).
pub fn kill_child(s: &mut Server) {
    if let Some(pid) = s.rdb.child_pid {
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(pid, libc::SIGUSR1);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        let _ = std::fs::remove_file(s.config.dir.join(format!("temp-{pid}.rdb")));
        s.rdb.child_pid = None;
        s.rdb.child_started = None;
        child_gone(s);
    }
}

// ANCHOR: persistence_debug_reload
/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the keyspace, load
/// the file back. A student's quickest proof that the format round-trips.
pub fn debug_reload(ctx: &mut Ctx, args: &Args) {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for a in args.iter().skip(2) {
        if eq_ic(a, "nosave") {
            save = false;
        } else if eq_ic(a, "noflush") {
            flush = false;
        } else if eq_ic(a, "merge") {
            merge = true;
        } else {
            return ctx
                .reply()
                .err("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        }
    }
    if save && save_sync(ctx.server).is_err() {
        return ctx.reply().error("ERR");
    }
    if flush {
        for db in &mut ctx.server.dbs {
            db.clear();
        }
        // `emptyData` empties the FUNCTION registry with the keyspace;
        // the file brings the libraries back.
        ctx.server.scripting.functions.flush();
    }
    // MERGE: a key both in memory (NOFLUSH) and in the file takes the
    // file's value; without it such a duplicate fails the load.
    match load_rdb(ctx.server, merge) {
        Ok(()) => {
            eprintln!("{} # DB reloaded by DEBUG RELOAD", std::process::id());
            ctx.reply().ok()
        }
        Err(_) => ctx
            .reply()
            .err("Error trying to load the RDB dump, check server logs."),
    }
}
// ANCHOR_END: persistence_debug_reload
