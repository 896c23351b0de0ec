//! # Server commands: the server looks at itself
//!
//! Most commands act on keys. The ones here act on the server: they report
//! its state (INFO, DBSIZE, TIME, COMMAND), change its settings while it
//! runs (CONFIG), empty it (FLUSHDB, FLUSHALL), watch it work (MONITOR,
//! SLOWLOG, LATENCY), poke at its internals (DEBUG) and stop it (SHUTDOWN).
//! They matter to a student for one reason above all: they are how you see
//! the machine. Every other chapter is checked through them.
//!
//! ## The invariant
//!
//! Introspection never changes what it observes. INFO, COMMAND, SLOWLOG
//! GET, DEBUG OBJECT and DEBUG HTSTATS read state and write only to the
//! asking client's reply buffer; `DEBUG OBJECT` does not even refresh the
//! key's access clock (Redis looks the key up in the dict directly, and so
//! do we). The commands that do change the server (FLUSH*, CONFIG SET,
//! CONFIG RESETSTAT, SLOWLOG RESET, LATENCY RESET, DEBUG SET-ACTIVE-EXPIRE,
//! SHUTDOWN) are `write` or `admin` in the command table, so they are never
//! shown to MONITOR and, later, never run on a read-only replica by
//! accident.
//!
//! ## Where the numbers come from
//!
//! ```text
//!            call()  ──▶ command_stats[i]   (INFO commandstats)
//!              │    ──▶ stats.error_codes   (INFO errorstats)
//!              │    ──▶ slowlog             (SLOWLOG GET)
//!              │    ──▶ latency             (LATENCY LATEST/HISTORY)
//!              └──────▶ monitors            (MONITOR)
//! ```
//!
//! Everything here only *reads* what `call` (server/mod.rs) recorded after
//! each command: a command's own cost is measured once, in one place.
//!
//! ## The Redis C counterpart
//!
//! `src/server.c`: `infoCommand` and `genRedisInfoString`, `commandCommand`
//! and its subcommands (`addReplyCommandInfo`, `addReplyCommandDocs`,
//! `getKeysSubcommandImpl`, `commandListCommand`), `timeCommand`,
//! `monitorCommand`, `resetServerStats`; `src/db.c`: `flushdbCommand`,
//! `flushallCommand`, `dbsizeCommand`, `shutdownCommand`; `src/config.c`:
//! `configGetCommand`, `configSetCommand`, `configResetStatCommand`;
//! `src/debug.c`: `debugCommand`; `src/slowlog.c`: `slowlogCommand`;
//! `src/latency.c`: `latencyCommand`.
//!
//! ## What we simplified
//!
//! - COMMAND INFO derives one key spec from the row's `first, last, step`
//!   (flags `RO access` for a read-only command, `RW update` for a write,
//!   Redis's flags for the commonest commands of each kind); Redis 7.0 has
//!   hand-written specs with finer flags (`OW`, `RM`, `insert`...). Commands
//!   whose keys move get a spec of type `unknown`. We carry no command tips.
//! - COMMAND DOCS gives summary, since and group (and subcommands); we
//!   have no argument trees, complexity notes or history, so those fields
//!   are absent rather than invented.
//! - FLUSHDB/FLUSHALL ASYNC free the data inline: Redis hands big values to
//!   its lazyfree thread, a single-core optimisation we leave to the
//!   memory chapter. The reply is the same; only the latency differs.
//! - DEBUG keeps the subcommands a student uses to look inside (OBJECT,
//!   HTSTATS, HTSTATS-KEY, SLEEP, SET-ACTIVE-EXPIRE) and those Redis's
//!   test suite needs (RELOAD, and DIGEST, DIGEST-VALUE, LOADAOF in
//!   `commands/debug.rs`); the crash helpers are left out.
//! - SHUTDOWN stops at once: there is no persistence to save yet and no
//!   replica to wait for, so there is never a shutdown "in progress" to
//!   ABORT.
//! - LATENCY has no GRAPH (an ASCII sparkline) or HISTOGRAM (per-command
//!   HDR histograms); DOCTOR gives a short factual report of our own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::commands::eq_ic;
use crate::object::{StrValue, Value, SHARED_INTEGERS, SHARED_REFCOUNT};
use crate::resp::{Aggregate, Args, Reply};
use crate::server::command::{command_table, flags, Command, CommandDef, CommandTable, Group};
use crate::server::{Client, Ctx, Server, NOT_INTEGER, SYNTAX_ERR};

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "info",
        arity: -1,
        flags: "loading stale",
        since: "1.0.0",
        summary: "Reports the server's state and counters, section by section.",
        run: info,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "dbsize",
        arity: 1,
        flags: "readonly fast",
        since: "1.0.0",
        summary: "Counts the keys of the selected database.",
        run: dbsize,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "flushdb",
        arity: -1,
        flags: "write",
        since: "1.0.0",
        summary: "Deletes every key of the selected database.",
        run: flushdb,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "flushall",
        arity: -1,
        flags: "write",
        since: "1.0.0",
        summary: "Deletes every key of every database.",
        run: flushall,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "time",
        arity: 1,
        flags: "loading stale fast",
        since: "2.6.0",
        summary: "Returns the server's clock as seconds and microseconds.",
        run: time,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "config",
        arity: -2,
        flags: "",
        since: "2.0.0",
        summary: "Reads and changes the configuration of the running server.",
        run: container,
        subcommands: CONFIG_SUBCOMMANDS,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "command",
        arity: -1,
        flags: "loading stale",
        since: "2.8.13",
        summary: "Describes the commands this server knows.",
        run: command,
        subcommands: COMMAND_SUBCOMMANDS,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "debug",
        arity: -2,
        flags: "admin noscript loading stale protected",
        since: "1.0.0",
        summary: "Inspects internals: object encodings, hash tables, timing.",
        run: debug,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "shutdown",
        arity: -1,
        flags: "admin noscript loading stale no_multi allow_busy",
        since: "1.0.0",
        summary: "Stops the server.",
        run: shutdown,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "monitor",
        arity: 1,
        flags: "admin noscript loading stale",
        since: "1.0.0",
        summary: "Streams every command the server runs to this connection.",
        run: monitor,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "slowlog",
        arity: -2,
        flags: "",
        since: "2.2.12",
        summary: "Reads and clears the log of slow commands.",
        run: container,
        subcommands: SLOWLOG_SUBCOMMANDS,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "latency",
        arity: -2,
        flags: "",
        since: "2.8.13",
        summary: "Reads and clears the latency spikes the server recorded.",
        run: container,
        subcommands: LATENCY_SUBCOMMANDS,
        ..CommandDef::base(Group::Server)
    },
];

static CONFIG_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "get",
        arity: -3,
        flags: "admin noscript loading stale",
        since: "2.0.0",
        summary: "Returns the directives matching the patterns, with their values.",
        run: config_get,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "set",
        arity: -4,
        flags: "admin noscript loading stale",
        since: "2.0.0",
        summary: "Changes directives of the running server.",
        run: config_set,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "resetstat",
        arity: 2,
        flags: "admin noscript loading stale",
        since: "2.0.0",
        summary: "Zeroes the counters INFO reports.",
        run: config_resetstat,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "rewrite",
        arity: 2,
        flags: "admin noscript loading stale",
        since: "2.8.0",
        summary: "Writes the running configuration back to the config file.",
        run: config_rewrite,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Lists the CONFIG subcommands.",
        run: config_help,
        ..CommandDef::base(Group::Server)
    },
];

static COMMAND_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "count",
        arity: 2,
        flags: "loading stale",
        since: "2.8.13",
        summary: "Counts the commands.",
        run: command_count,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "info",
        arity: -2,
        flags: "loading stale",
        since: "2.8.13",
        summary: "Describes commands: arity, flags, keys, ACL categories.",
        run: command_info,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "docs",
        arity: -2,
        flags: "loading stale",
        since: "7.0.0",
        summary: "Returns the documentation of commands.",
        run: command_docs,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "getkeys",
        arity: -4,
        flags: "loading stale",
        since: "2.8.13",
        summary: "Finds the keys in a full command line.",
        run: command_getkeys,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "getkeysandflags",
        arity: -4,
        flags: "loading stale",
        since: "7.0.0",
        summary: "Finds the keys in a full command line, with how each is used.",
        run: command_getkeysandflags,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "list",
        arity: -2,
        flags: "loading stale",
        since: "7.0.0",
        summary: "Lists command names, optionally filtered.",
        run: command_list,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Lists the COMMAND subcommands.",
        run: command_help,
        ..CommandDef::base(Group::Server)
    },
];

static SLOWLOG_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "get",
        arity: -2,
        flags: "admin loading stale",
        since: "2.2.12",
        summary: "Returns the newest slow log entries.",
        run: slowlog_get,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "len",
        arity: 2,
        flags: "admin loading stale",
        since: "2.2.12",
        summary: "Counts the slow log entries.",
        run: slowlog_len,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "reset",
        arity: 2,
        flags: "admin loading stale",
        since: "2.2.12",
        summary: "Empties the slow log.",
        run: slowlog_reset,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "6.2.0",
        summary: "Lists the SLOWLOG subcommands.",
        run: slowlog_help,
        ..CommandDef::base(Group::Server)
    },
];

static LATENCY_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "latest",
        arity: 2,
        flags: "admin noscript loading stale",
        since: "2.8.13",
        summary: "Returns the latest and worst spike of every event.",
        run: latency_latest,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "history",
        arity: 3,
        flags: "admin noscript loading stale",
        since: "2.8.13",
        summary: "Returns the recorded spikes of one event.",
        run: latency_history,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "reset",
        arity: -2,
        flags: "admin noscript loading stale",
        since: "2.8.13",
        summary: "Forgets the spikes of some or all events.",
        run: latency_reset,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "doctor",
        arity: 2,
        flags: "admin noscript loading stale",
        since: "2.8.13",
        summary: "Summarises the recorded spikes in words.",
        run: latency_doctor,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "histogram",
        arity: -2,
        flags: "admin noscript loading stale",
        since: "7.0.0",
        summary: "Returns the cumulative distribution of run times of some or all commands.",
        run: latency_histogram,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "2.8.13",
        summary: "Lists the LATENCY subcommands.",
        run: latency_help,
        ..CommandDef::base(Group::Server)
    },
];

/// The run function of a container row. The table resolves `CONFIG GET`
/// to its subcommand row before anything runs, and a bare `CONFIG` fails
/// the arity check, so this is reached only if a container is ever given
/// an arity that lets it run alone.
fn container(ctx: &mut Ctx, args: Args) {
    let msg = format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(args.get(1)),
        ctx.cmd.def.name.to_ascii_uppercase()
    );
    ctx.reply().error(&msg);
}

/// Redis's `addReplyHelp`: a header naming the command, the given lines,
/// and the HELP entry every container shares; all status replies.
fn reply_help(reply: &mut Reply, command: &str, lines: &[&str]) {
    reply.array(lines.len() + 3);
    reply.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}

// ---------------------------------------------------------------------------
// INFO, DBSIZE, TIME, FLUSHDB, FLUSHALL
// ---------------------------------------------------------------------------

/// INFO [section ...]
fn info(ctx: &mut Ctx, args: Args) {
    let sections: Vec<&[u8]> = args.iter().skip(1).collect();
    let text = crate::server::info::info_string(ctx.server, &sections);
    ctx.client.reply.verbatim(text.as_bytes());
}

/// DBSIZE: keys in the dict, including expired ones nobody has touched
/// yet (Redis counts them too: DBSIZE does not look at TTLs).
fn dbsize(ctx: &mut Ctx, _args: Args) {
    let n = ctx.db().len() as i64;
    ctx.reply().int(n);
}

/// TIME: the wall clock, as two bulk strings.
fn time(ctx: &mut Ctx, _args: Args) {
    let us = crate::server::unix_us();
    let reply = ctx.reply();
    reply.array(2);
    reply.bulk_i64(us / 1_000_000);
    reply.bulk_i64(us % 1_000_000);
}

/// The optional `ASYNC|SYNC` of FLUSHDB and FLUSHALL (`getFlushCommandFlags`).
/// `None` after replying the syntax error.
fn flush_mode(ctx: &mut Ctx, args: Args) -> Option<()> {
    match args.len() {
        1 => Some(()),
        2 if eq_ic(&args[1], "sync") || eq_ic(&args[1], "async") => Some(()),
        _ => {
            ctx.reply().error(SYNTAX_ERR);
            None
        }
    }
}

// ANCHOR: server_flush
/// FLUSHDB [ASYNC|SYNC]
fn flushdb(ctx: &mut Ctx, args: Args) {
    if flush_mode(ctx, args).is_none() {
        return;
    }
    // Redis's emptyData calls signalFlushedDb(dbid) first: it touches every
    // WATCHed key of the database at once (there is no per-key signal) and
    // tells tracking clients to drop their caches (not built yet).
    let db = ctx.client.db;
    crate::multi::touch_all_watched_keys_in_db(ctx.server, Some(ctx.client), db, None);
    crate::tracking::invalidate_all(ctx.server, Some(ctx.client));
    let removed = ctx.db().clear();
    ctx.server.signal_waited_keys_in_db(db);
    //
    // Every removed key counts as a change. Redis also forces FLUSHDB into
    // the AOF and to replicas even when nothing was removed
    // (`forceCommandPropagation`).
    ctx.dirty(removed as u64);
    force_propagation(ctx, args, removed);
    ctx.reply().ok();
}

/// A flush of nothing changes nothing, yet Redis sends it to the AOF and
/// the replicas anyway (their copy might not be empty).
fn force_propagation(ctx: &mut Ctx, args: Args, removed: usize) {
    if removed == 0 && ctx.propagating() {
        let argv: Vec<&[u8]> = args.iter().collect();
        ctx.also_propagate(&argv);
    }
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(ctx: &mut Ctx, args: Args) {
    if flush_mode(ctx, args).is_none() {
        return;
    }
    // As FLUSHDB, signalFlushedDb(-1): every database's watched keys.
    for db in 0..ctx.server.dbs.len() {
        crate::multi::touch_all_watched_keys_in_db(ctx.server, Some(ctx.client), db, None);
    }
    crate::tracking::invalidate_all(ctx.server, Some(ctx.client));
    let removed: usize = ctx.server.dbs.iter_mut().map(|db| db.clear()).sum();
    for db in 0..ctx.server.dbs.len() {
        ctx.server.signal_waited_keys_in_db(db);
    }
    ctx.dirty(removed as u64);
    force_propagation(ctx, args, removed);
    // With save points configured, Redis then writes the (empty) RDB at
    // once, so a restart does not bring the keys back.
    super::persistence::kill_child(ctx.server);
    if !ctx.server.config.save.is_empty() {
        let _ = super::persistence::save_sync(ctx.server);
    }
    ctx.reply().ok();
}
// ANCHOR_END: server_flush

// ---------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------

/// CONFIG GET pattern [pattern ...]: a map of directive → value.
fn config_get(ctx: &mut Ctx, args: Args) {
    let patterns: Vec<&[u8]> = args.iter().skip(2).collect();
    let pairs = ctx.server.config.config_get(&patterns);
    let reply = ctx.reply();
    reply.map(pairs.len());
    for (name, value) in &pairs {
        reply.bulk(name.as_bytes());
        reply.bulk(value.as_bytes());
    }
}

/// CONFIG SET name value [name value ...]: all or nothing. The config
/// module validates and applies every pair (or none, with Redis's error);
/// then the parts of the server that keep their own copy of a setting are
/// told.
fn config_set(ctx: &mut Ctx, args: Args) {
    // Pairs only: `CONFIG SET hz 10 maxmemory` is a syntax error.
    if !args.len().is_multiple_of(2) {
        ctx.reply().error(SYNTAX_ERR);
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len())
        .step_by(2)
        .map(|i| (args.get(i), args.get(i + 1)))
        .collect();
    // Values of sensitive settings (passwords) never reach SLOWLOG or
    // MONITOR, whatever happens next (Redis redacts them first too).
    for (n, i) in (2..args.len()).step_by(2).enumerate() {
        let sensitive = crate::server::config::lookup_config(pairs[n].0)
            .is_some_and(|(def, _)| def.flags & crate::server::config::flags::SENSITIVE != 0);
        if sensitive {
            ctx.redact_arg(i + 1);
        }
    }
    // Kept only when the listening sockets may change: re-binding can
    // fail after the values are set, and then everything is put back.
    let listening = |n: &[u8]| n.eq_ignore_ascii_case(b"port") || n.eq_ignore_ascii_case(b"bind");
    let before = pairs
        .iter()
        .any(|(n, _)| listening(n))
        .then(|| ctx.server.config.clone());
    // While loading, directives flagged DENY_LOADING are refused (`busy.rs`).
    let client = crate::server::config::ClientContext {
        loading: ctx.server.busy.loading.is_some(),
        ..Default::default()
    };
    match ctx.server.config.config_set_for(&pairs, client) {
        Ok(changed) => {
            if let Some(before) = before {
                if let Err(msg) = rebind_if_moved(ctx.server, before) {
                    ctx.reply().error(&msg);
                    return;
                }
            }
            for name in changed {
                apply_config_change(ctx.server, name);
            }
            ctx.reply().ok();
        }
        Err(msg) => ctx.reply().error(&msg),
    }
}

/// `port` or `bind` changed: listen there instead (Redis's `applyPort` and
/// `applyBind`). If the new sockets cannot be bound, the configuration goes
/// back to `before` and the old sockets stay, with Redis's error.
fn rebind_if_moved(server: &mut Server, before: crate::server::Config) -> Result<(), String> {
    let (port, bind) = (server.config.port, server.config.bind.clone());
    if port == before.port && bind == before.bind {
        return Ok(());
    }
    crate::server::connection::rebind(server).map_err(|e| {
        eprintln!("{} # {e}", std::process::id());
        server.config = before;
        if port != server.config.port {
            crate::server::config::config_set_error(
                "port",
                "Unable to listen on this port. Check server logs.",
            )
        } else {
            crate::server::config::config_set_error(
                "bind",
                "Failed to bind to specified addresses.",
            )
        }
    })
}

/// What the running server must do when a directive changes. Most
/// settings are read from `config` each time they are needed and need
/// nothing here; `hz` is copied because `dynamic-hz` raises the running
/// value above the configured one (Redis's `updateHZ` apply function).
fn apply_config_change(server: &mut Server, name: &str) {
    if name == "requirepass" {
        crate::acl::update_default_user_password(server);
    }
    if name == "hz" {
        server.hz = server.config.hz;
    }
    if name == "appendonly" {
        crate::aof::appendonly_changed(server);
    }
    // A lower limit takes effect at once, not at the next write
    // (`updateMaxmemory` calls `performEvictions`): the `evicted` events
    // go out before CONFIG SET answers.
    if name == "maxmemory" && server.config.maxmemory > 0 {
        crate::evict::perform_evictions(server, crate::server::unix_ms());
    }
}

/// CONFIG REWRITE: write the running configuration into the file the
/// server was started with (Redis's `rewriteConfig`), through a temporary
/// file renamed over it, so a crash leaves the old or the new file whole.
fn config_rewrite(ctx: &mut Ctx, _args: Args) {
    let Some(path) = ctx.server.config.config_file.clone() else {
        ctx.reply()
            .error("ERR The server is running without a config file");
        return;
    };
    // A file that vanished is rewritten from nothing, as in Redis.
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let text = rewrite_config_text(&ctx.server.config, &old);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => {
            eprintln!(
                "{} * CONFIG REWRITE executed with success.",
                std::process::id()
            );
            ctx.reply().ok();
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let msg = e.to_string();
            // Rust adds " (os error N)" to strerror's text; Redis does not.
            let msg = msg.split(" (os error").next().unwrap_or(&msg);
            ctx.reply()
                .error(&format!("ERR Rewriting config file: {msg}"));
        }
    }
}

/// The new text of a config file (the heart of `rewriteConfig`):
///
/// - every line that is not a known directive (comments, blank lines,
///   `include`, `rename-command`, ...) stays where it is;
/// - a directive that appears in the file is rewritten in place with its
///   running value, even when that is the default; if it appeared several
///   times, the surplus lines are left blank;
/// - a directive not in the file is appended only if its value differs
///   from the default, after a `# Generated by CONFIG REWRITE` line
///   (added once: a rewritten file keeps it where it is).
///
/// Values are written as CONFIG GET shows them (Redis prints sizes with
/// units, `maxmemory 1mb`, where we write bytes; both load the same).
pub fn rewrite_config_text(config: &crate::server::Config, old: &str) -> String {
    use crate::server::config::{flags as cf, lookup_config, repr, split_args, CONFIGS};
    const MARKER: &str = "# Generated by CONFIG REWRITE";
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    // A file rewritten before keeps its marker line, and gets no second.
    let has_marker = old.lines().any(|l| l == MARKER);
    // Which lines set which directive (by its canonical name).
    let directive_of = |line: &str| -> Option<&'static str> {
        let args = split_args(line.trim().as_bytes())?;
        let (def, _) = lookup_config(args.first()?)?;
        Some(def.name)
    };
    let owners: Vec<Option<&'static str>> = lines.iter().map(|l| directive_of(l)).collect();
    let defaults = crate::server::Config::default();
    let mut appended = Vec::new();
    for def in CONFIGS {
        let value = config.value_of(def.name).unwrap_or_default();
        let changed = defaults.value_of(def.name).unwrap_or_default() != value;
        let quoted = |v: &str| {
            if v.is_empty()
                || v.bytes()
                    .any(|b| b <= b' ' || b == b'"' || b == b'\\' || b == b'\'' || b > b'~')
            {
                String::from_utf8_lossy(&repr(v.as_bytes())).into_owned()
            } else {
                v.to_string()
            }
        };
        let new_lines: Vec<String> = if def.flags & cf::MULTI_ARG == 0 {
            vec![format!("{} {}", def.name, quoted(&value))]
        } else if value.is_empty() {
            vec![format!("{} \"\"", def.name)]
        } else if def.name == "save" {
            // One rule a line, as Redis writes them.
            let words: Vec<&str> = value.split(' ').collect();
            words
                .chunks(2)
                .map(|p| format!("save {}", p.join(" ")))
                .collect()
        } else {
            vec![format!("{} {value}", def.name)]
        };
        // Each new line takes the next old line of the directive (`save`
        // rules one by one); extra new lines are appended, extra old ones
        // become blank, as Redis leaves them.
        let mut old_at = owners
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == Some(def.name))
            .map(|(i, _)| i)
            .peekable();
        if old_at.peek().is_none() && !changed {
            continue;
        }
        for line in new_lines {
            match old_at.next() {
                Some(i) => lines[i] = line,
                None => appended.push(line),
            }
        }
        for i in old_at {
            lines[i].clear();
        }
    }
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    if !appended.is_empty() {
        if !has_marker {
            text.push('\n');
            text.push_str(MARKER);
            text.push('\n');
        }
        for line in appended {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// CONFIG RESETSTAT: zero what INFO counts (`resetServerStats`,
/// `resetCommandTableStats`, `resetErrorTableStats`). The slow log and the
/// latency monitor keep their data, as in Redis: they have their own RESET.
fn config_resetstat(ctx: &mut Ctx, _args: Args) {
    let server = &mut *ctx.server;
    // The whole struct, including the instantaneous-metric samples: a
    // fresh ring restarts sampling at the next cron tick.
    server.stats = Default::default();
    for s in &mut server.command_stats {
        *s = Default::default();
    }
    ctx.reply().ok();
}

fn config_help(ctx: &mut Ctx, _args: Args) {
    reply_help(
        ctx.reply(),
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

// ---------------------------------------------------------------------------
// COMMAND: the command table describes itself
// ---------------------------------------------------------------------------

/// COMMAND (no subcommand): COMMAND INFO for every command.
fn command(ctx: &mut Ctx, _args: Args) {
    let table = command_table();
    let reply = ctx.reply();
    reply.array(table.order.len());
    for name in &table.order {
        reply_command_info(reply, &table.commands[name]);
    }
}

fn command_count(ctx: &mut Ctx, _args: Args) {
    let n = command_table().order.len() as i64;
    ctx.reply().int(n);
}

/// `get` or `config|get`, case-insensitively (`lookupCommandBySds`).
fn lookup_full_name<'t>(table: &'t CommandTable, name: &[u8]) -> Option<&'t Command> {
    let mut parts = name.splitn(3, |&b| b == b'|');
    let base = table.get(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) => base.subcommands.get(&sub.to_ascii_lowercase()),
        (Some(_), Some(_)) => None,
    }
}

/// COMMAND INFO [name ...]: unknown names give a null in their place.
fn command_info(ctx: &mut Ctx, args: Args) {
    if args.len() == 2 {
        return command(ctx, args);
    }
    let table = command_table();
    let reply = ctx.reply();
    reply.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match lookup_full_name(table, name) {
            Some(cmd) => reply_command_info(reply, cmd),
            None => reply.null(),
        }
    }
}

/// Flags Redis lists in COMMAND INFO. `may_replicate` and `protected` are
/// real flags that Redis deliberately hides from this output.
fn visible_flags(cmd: &Command) -> impl Iterator<Item = &'static str> + '_ {
    const HIDDEN: u64 = flags::MAY_REPLICATE | flags::PROTECTED;
    flags::NAMES
        .iter()
        .filter(move |(bit, _)| cmd.flags & bit & !HIDDEN != 0)
        .map(|(_, name)| *name)
}

/// ACL categories in the order Redis prints them (its category table's
/// order, not the order a row happens to produce them in).
#[rustfmt::skip]
const ACL_CATEGORY_ORDER: &[&str] = &[
    "@keyspace", "@read", "@write", "@set", "@sortedset", "@list", "@hash",
    "@string", "@bitmap", "@hyperloglog", "@geo", "@stream", "@pubsub",
    "@admin", "@fast", "@slow", "@blocking", "@dangerous", "@connection",
    "@transaction", "@scripting",
];

fn acl_categories_ordered(cmd: &Command) -> Vec<&'static str> {
    let mut cats = cmd.acl_categories();
    cats.sort_by_key(|c| {
        ACL_CATEGORY_ORDER
            .iter()
            .position(|o| o == c)
            .unwrap_or(usize::MAX)
    });
    cats
}

/// The access flags of the key spec we derive: what Redis shows for a
/// plain read (`GET`: RO access) and a plain write (`EXPIRE`: RW update).
fn key_spec_flags(cmd: &Command) -> &'static [&'static str] {
    if cmd.has(flags::WRITE) {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    }
}

fn has_keys(cmd: &Command) -> bool {
    cmd.def.first_key > 0 || cmd.def.get_keys.is_some()
}

// ANCHOR: server_command_info
/// One command's 10-element description (`addReplyCommandInfo`): name,
/// arity, flags, first key, last key, key step, ACL categories, tips, key
/// specs, subcommands (each described the same way).
fn reply_command_info(reply: &mut Reply, cmd: &Command) {
    let def = cmd.def;
    reply.array(10);
    reply.bulk(cmd.full_name.as_bytes());
    reply.int(def.arity as i64);

    let flag_names: Vec<&str> = visible_flags(cmd).collect();
    reply.set(flag_names.len());
    for f in flag_names {
        reply.simple(f);
    }

    reply.int(def.first_key as i64);
    reply.int(def.last_key as i64);
    reply.int(def.key_step as i64);

    let cats = acl_categories_ordered(cmd);
    reply.set(cats.len());
    for c in cats {
        reply.simple(c);
    }

    reply.set(0); // tips: we carry none
    reply_key_specs(reply, cmd);

    if cmd.subcommand_order.is_empty() {
        reply.set(0);
    } else {
        reply.array(cmd.subcommand_order.len());
        for name in &cmd.subcommand_order {
            reply_command_info(reply, &cmd.subcommands[name]);
        }
    }
}

/// The key specs: none for a keyless command, else one derived from the
/// row. `begin_search` says where the keys start, `find_keys` how to walk
/// them: a `range` whose `lastkey` is relative to the first key (-1: up to
/// the last argument), every `keystep` arguments, no `limit`.
fn reply_key_specs(reply: &mut Reply, cmd: &Command) {
    let def = cmd.def;
    let specs = crate::server::key_specs::key_specs(cmd.full_name);
    if !specs.is_empty() {
        return reply_table_key_specs(reply, specs);
    }
    if !has_keys(cmd) {
        reply.set(0);
        return;
    }
    reply.set(1);
    reply.map(3);
    reply.bulk(b"flags");
    let kflags = key_spec_flags(cmd);
    reply.set(kflags.len());
    for f in kflags {
        reply.simple(f);
    }
    if def.get_keys.is_some() {
        // The keys' places depend on the arguments (a `numkeys`): our rows
        // know them only through a function, so the spec says `unknown`,
        // as Redis's own specs do when they cannot describe a command.
        for part in [&b"begin_search"[..], b"find_keys"] {
            reply.bulk(part);
            reply.map(2);
            reply.bulk(b"type");
            reply.bulk(b"unknown");
            reply.bulk(b"spec");
            reply.map(0);
        }
        return;
    }
    reply.bulk(b"begin_search");
    reply.map(2);
    reply.bulk(b"type");
    reply.bulk(b"index");
    reply.bulk(b"spec");
    reply.map(1);
    reply.bulk(b"index");
    reply.int(def.first_key as i64);

    reply.bulk(b"find_keys");
    reply.map(2);
    reply.bulk(b"type");
    reply.bulk(b"range");
    reply.bulk(b"spec");
    reply.map(3);
    reply.bulk(b"lastkey");
    let relative_last = if def.last_key < 0 {
        def.last_key
    } else {
        def.last_key - def.first_key
    };
    reply.int(relative_last as i64);
    reply.bulk(b"keystep");
    reply.int(def.key_step as i64);
    reply.bulk(b"limit");
    reply.int(0);
}
// ANCHOR_END: server_command_info

/// The key specs of the table (`crate::server::key_specs`), as Redis's
/// `addReplyCommandKeySpecs` writes them.
fn reply_table_key_specs(reply: &mut Reply, specs: &[crate::server::key_specs::KeySpec]) {
    use crate::server::key_specs::{BeginSearch, FindKeys};
    reply.set(specs.len());
    for s in specs {
        reply.map(3);
        reply.bulk(b"flags");
        reply.set(s.flags.split(' ').count());
        for f in s.flags.split(' ') {
            reply.simple(f);
        }
        reply.bulk(b"begin_search");
        reply.map(2);
        reply.bulk(b"type");
        match s.begin_search {
            BeginSearch::Index(i) => {
                reply.bulk(b"index");
                reply.bulk(b"spec");
                reply.map(1);
                reply.bulk(b"index");
                reply.int(i as i64);
            }
            BeginSearch::Keyword(word, from) => {
                reply.bulk(b"keyword");
                reply.bulk(b"spec");
                reply.map(2);
                reply.bulk(b"keyword");
                reply.bulk(word.as_bytes());
                reply.bulk(b"startfrom");
                reply.int(from as i64);
            }
            BeginSearch::Unknown => {
                reply.bulk(b"unknown");
                reply.bulk(b"spec");
                reply.map(0);
            }
        }
        reply.bulk(b"find_keys");
        reply.map(2);
        reply.bulk(b"type");
        let fields: &[(&[u8], i32)] = match s.find_keys {
            FindKeys::Range(last, step, limit) => {
                reply.bulk(b"range");
                &[(b"lastkey", last), (b"keystep", step), (b"limit", limit)]
            }
            FindKeys::Keynum(idx, first, step) => {
                reply.bulk(b"keynum");
                &[
                    (b"keynumidx", idx),
                    (b"firstkey", first),
                    (b"keystep", step),
                ]
            }
            FindKeys::Unknown => {
                reply.bulk(b"unknown");
                &[]
            }
        };
        reply.bulk(b"spec");
        reply.map(fields.len());
        for (name, value) in fields {
            reply.bulk(name);
            reply.int(*value as i64);
        }
    }
}

/// COMMAND DOCS [name ...]: a map of name → documentation. Unknown names
/// are skipped (not nulls, unlike COMMAND INFO).
fn command_docs(ctx: &mut Ctx, args: Args) {
    let table = command_table();
    let reply = ctx.reply();
    if args.len() == 2 {
        reply.map(table.order.len());
        for name in &table.order {
            let cmd = &table.commands[name];
            reply.bulk(cmd.full_name.as_bytes());
            reply_command_docs(reply, cmd);
        }
        return;
    }
    let header = reply.defer_len();
    let mut found = 0;
    for name in args.iter().skip(2) {
        if let Some(cmd) = lookup_full_name(table, name) {
            reply.bulk(cmd.full_name.as_bytes());
            reply_command_docs(reply, cmd);
            found += 1;
        }
    }
    reply.set_len(header, Aggregate::Map, found);
}

fn reply_command_docs(reply: &mut Reply, cmd: &Command) {
    let def = cmd.def;
    let has_subs = !cmd.subcommand_order.is_empty();
    reply.map(3 + has_subs as usize);
    reply.bulk(b"summary");
    reply.bulk(def.summary.as_bytes());
    reply.bulk(b"since");
    reply.bulk(def.since.as_bytes());
    reply.bulk(b"group");
    reply.bulk(def.group.name().as_bytes());
    if has_subs {
        reply.bulk(b"subcommands");
        reply.map(cmd.subcommand_order.len());
        for name in &cmd.subcommand_order {
            let sub = &cmd.subcommands[name];
            reply.bulk(sub.full_name.as_bytes());
            reply_command_docs(reply, sub);
        }
    }
}

/// The command named by `args[2..]` and the positions of its keys in
/// `args[2..]`, or the error Redis gives (`getKeysSubcommandImpl`), in
/// its order: unknown command, keyless command, wrong arity.
fn getkeys_of(args: Args) -> Result<(&'static Command, Vec<usize>), &'static str> {
    let table = command_table();
    let inner: Vec<&[u8]> = args.iter().skip(2).collect();
    let base = table.get(inner[0]).ok_or("ERR Invalid command specified")?;
    let cmd = if base.subcommands.is_empty() || inner.len() == 1 {
        base
    } else {
        base.subcommands
            .get(&inner[1].to_ascii_lowercase())
            .ok_or("ERR Invalid command specified")?
    };
    if !has_keys(cmd) {
        return Err("ERR The command has no key arguments");
    }
    if !cmd.arity_ok(inner.len()) {
        return Err("ERR Invalid number of arguments specified for command");
    }
    let owned = crate::resp::OwnedArgs::from_slices(&inner);
    let keys = cmd.key_positions(owned.args());
    if keys.is_empty() && !cmd.has(flags::NO_MANDATORY_KEYS) {
        return Err("ERR Invalid arguments specified for command");
    }
    Ok((cmd, keys))
}

/// COMMAND GETKEYS command [arg ...]
fn command_getkeys(ctx: &mut Ctx, args: Args) {
    match getkeys_of(args) {
        Err(msg) => ctx.reply().error(msg),
        Ok((_, keys)) => {
            let reply = ctx.reply();
            reply.array(keys.len());
            for k in keys {
                reply.bulk(&args[k + 2]);
            }
        }
    }
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]: each key with its access flags.
fn command_getkeysandflags(ctx: &mut Ctx, args: Args) {
    match getkeys_of(args) {
        Err(msg) => ctx.reply().error(msg),
        Ok((cmd, _)) => {
            let inner: Vec<&[u8]> = args.iter().skip(2).collect();
            let owned = crate::resp::OwnedArgs::from_slices(&inner);
            let keys = crate::server::key_specs::keys_and_flags(cmd, owned.args());
            let reply = ctx.reply();
            reply.array(keys.len());
            for (k, kflags) in keys {
                reply.array(2);
                reply.bulk(&args[k + 2]);
                reply.set(kflags.split(' ').count());
                for f in kflags.split(' ') {
                    reply.simple(f);
                }
            }
        }
    }
}

/// COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]:
/// full names, parents before their subcommands.
fn command_list(ctx: &mut Ctx, args: Args) {
    enum Filter<'a> {
        All,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let mut filter = Filter::All;
    let mut i = 2;
    while i < args.len() {
        // FILTERBY needs exactly its two arguments to be the last ones.
        if eq_ic(&args[i], "filterby") && args.len() - 1 - i == 2 {
            filter = match &args[i + 1] {
                t if eq_ic(t, "module") => Filter::Module,
                t if eq_ic(t, "aclcat") => Filter::AclCat(args.get(i + 2)),
                t if eq_ic(t, "pattern") => Filter::Pattern(args.get(i + 2)),
                _ => return ctx.reply().error(SYNTAX_ERR),
            };
            i += 3;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
    }
    let table = command_table();
    let reply = ctx.reply();
    let header = reply.defer_len();
    let mut n = 0;
    for cmd in table.all() {
        let keep = match filter {
            Filter::All => true,
            // No modules can be loaded, so no command belongs to one.
            Filter::Module => false,
            // Category names are given without the `@` (`ACLCAT admin`).
            Filter::AclCat(cat) => cmd
                .acl_categories()
                .iter()
                .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(cat)),
            Filter::Pattern(p) => crate::glob::glob_match(p, cmd.full_name.as_bytes(), true),
        };
        if keep {
            reply.bulk(cmd.full_name.as_bytes());
            n += 1;
        }
    }
    reply.set_len(header, Aggregate::Array, n);
}

fn command_help(ctx: &mut Ctx, _args: Args) {
    reply_help(
        ctx.reply(),
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

// ---------------------------------------------------------------------------
// DEBUG
// ---------------------------------------------------------------------------

/// DEBUG is `protected`: `enable-debug-command` decides who may run it
/// (`no` by default, `yes`, or `local` for loopback connections only).
/// `process_command` asks this right after the arity check, as Redis's
/// `processCommand` does, and rejects the command with the returned error
/// before it runs: a refused DEBUG counts as a rejected call, not a failed
/// one.
pub fn protected_command_refusal(
    server: &Server,
    client: &Client,
    cmd: &Command,
) -> Option<String> {
    if !cmd.has(flags::PROTECTED) {
        return None;
    }
    // Redis's islocalClient: exactly 127.0.0.1 or ::1 (not all of
    // 127.0.0.0/8).
    let is_local = matches!(client.addr.ip(), IpAddr::V4(ip) if ip == Ipv4Addr::LOCALHOST)
        || client.addr.ip() == IpAddr::V6(Ipv6Addr::LOCALHOST);
    let allowed = server.config.allows(
        server.config.enable_debug_command,
        crate::server::config::ClientContext {
            is_local,
            loading: false,
        },
    );
    if allowed {
        return None;
    }
    Some(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
         you can run it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server."
            .to_string(),
    )
}

/// DEBUG subcommand [args]: one command whose first argument picks what to
/// do; each subcommand has an exact argument count, and anything else gets
/// Redis's combined "unknown subcommand or wrong number of arguments".
/// `DEBUG REPLYBUFFER peak-reset-time <ms|never|reset>` and
/// `DEBUG REPLYBUFFER resizing <0|1>`: the knobs of the client cron's
/// reply buffer resizing (see `Client::cron_resize_reply_buffer`).
fn debug_replybuffer(ctx: &mut Ctx, what: &[u8], value: &[u8]) {
    if eq_ic(what, "peak-reset-time") {
        ctx.server.reply_buffer_peak_reset_ms = if eq_ic(value, "never") {
            -1
        } else if eq_ic(value, "reset") {
            crate::server::client::REPLY_PEAK_RESET_MS
        } else {
            match crate::resp::parse_i64(value) {
                Some(ms) => ms,
                None => return ctx.reply().error(crate::server::NOT_INTEGER),
            }
        };
    } else if eq_ic(what, "resizing") {
        ctx.server.reply_buffer_resizing = c_atoi(value) != 0;
    } else {
        return ctx.reply().error(
            "ERR unknown subcommand or wrong number of arguments for 'replybuffer'. Try DEBUG HELP.",
        );
    }
    ctx.reply().ok();
}

fn debug(ctx: &mut Ctx, args: Args) {
    let sub = &args[1];
    let argc = args.len();
    if argc == 2 && eq_ic(sub, "help") {
        debug_help(ctx.reply());
    } else if argc == 4 && eq_ic(sub, "replybuffer") {
        debug_replybuffer(ctx, &args[2], &args[3]);
    } else if argc == 3 && eq_ic(sub, "sleep") {
        debug_sleep(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "object") {
        debug_object(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "set-active-expire") {
        ctx.server.active_expire_enabled = c_atoi(&args[2]) != 0;
        ctx.reply().ok();
    } else if argc == 3 && eq_ic(sub, "htstats") {
        debug_htstats(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "htstats-key") {
        debug_htstats_key(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "sdslen") {
        debug_sdslen(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "protocol") {
        debug_protocol(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "quicklist-packed-threshold") {
        debug_quicklist_packed_threshold(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "listpack") {
        debug_listpack(ctx, &args[2]);
    } else if argc == 3 && eq_ic(sub, "rehash-step") {
        debug_rehash_step(ctx, &args[2]);
    } else if eq_ic(sub, "reload") {
        super::persistence::debug_reload(ctx, &args);
    } else if super::debug::dispatch(ctx, &args) {
        // DIGEST, DIGEST-VALUE, LOADAOF...: commands/debug.rs.
    } else {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            crate::server::command::truncate_lossy(sub, 128)
        );
        ctx.reply().error(&msg);
    }
}

/// DEBUG QUICKLIST-PACKED-THRESHOLD size: from now on, list elements of
/// `size` bytes or more go into PLAIN quicklist nodes of their own (0
/// restores the 1 GiB default). Lets a test build plain nodes without
/// gigabyte values.
fn debug_quicklist_packed_threshold(ctx: &mut Ctx, arg: &[u8]) {
    match crate::server::config::memtoull(arg) {
        Some(sz) if sz <= (1 << 32) - (1 << 20) => {
            ctx.server.list_packed_threshold = sz as usize;
            ctx.reply().ok();
        }
        _ => ctx
            .reply()
            .error("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
    }
}

/// DEBUG LISTPACK key: Redis prints a listpack-encoded value's entries on
/// the server's stdout. Lists are quicklists in 7.0, so for them (and for
/// every non-listpack value) the answer is an error, as in Redis.
fn debug_listpack(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.client.db;
    let Some(obj) = ctx.server.dbs[db].dict.get(key) else {
        ctx.client.reply.error("ERR no such key");
        return;
    };
    if obj.encoding() != "listpack" {
        ctx.client.reply.error("ERR Not a listpack encoded object.");
        return;
    }
    println!("{:?}", obj.value);
    ctx.client
        .reply
        .simple("Listpack structure printed on stdout");
}

fn debug_help(reply: &mut Reply) {
    reply_help(
        reply,
        "DEBUG",
        &[
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "    Dangerous: should be used only for testing the replication subsystem.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "HTSTATS <dbid>",
            "    Return hash table statistics of the specified Redis database.",
            "HTSTATS-KEY <key>",
            "    Like HTSTATS but for the hash table stored at <key>'s value.",
            "LOADAOF",
            "    Flush the AOF buffers on disk and reload the AOF in memory.",
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "REHASH-STEP <n>",
            "    Rehash up to <n> buckets of the selected database's keyspace now (ours,",
            "    not Redis's). Replies with rehashidx afterwards, -1 when not rehashing.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "SDSLEN <key>",
            "    Show low level SDS string info representing `key` and value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "STRINGMATCH-TEST",
            "    Run a fuzz tester against the stringmatchlen() function.",
        ],
    );
}

/// DEBUG SLEEP seconds: the whole server stops, not just this client,
/// because the one thread that runs every command is asleep. That is the
/// point: it is how the latency monitor and the slow log are tested.
fn debug_sleep(ctx: &mut Ctx, arg: &[u8]) {
    let seconds = c_strtod(arg);
    if seconds > 0.0 && seconds.is_finite() {
        std::thread::sleep(Duration::from_micros((seconds * 1e6) as u64));
    }
    ctx.reply().ok();
}

/// C's `strtod` as Redis uses it here: the longest numeric prefix, 0 when
/// there is none ("abc" sleeps 0 seconds, "0.1x" sleeps 0.1).
fn c_strtod(arg: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(arg);
    let s = s.trim_start();
    (1..=s.len())
        .rev()
        .filter(|&end| s.is_char_boundary(end))
        .find_map(|end| s[..end].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// C's `atoi`: an optional sign and the digits that follow, 0 otherwise.
fn c_atoi(arg: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(arg);
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n = digits.parse::<i64>().unwrap_or(0);
    if neg {
        -n
    } else {
        n
    }
}

// ANCHOR: server_debug_object
/// DEBUG OBJECT key: the low-level view of one value, in Redis's format:
///
/// `Value at:0x7f.. refcount:1 encoding:embstr serializedlength:6 lru:153480 lru_seconds_idle:0`
///
/// - `at` is the real address of the object in our keyspace dict.
/// - `refcount` is 2147483647 for integers Redis would share (0..9999),
///   1 otherwise: what Redis reports, though we keep no count (object.rs).
/// - `serializedlength` is the size the value takes in an RDB file. It is
///   exact for integers and for strings up to 20 bytes; longer strings are
///   counted uncompressed, while Redis LZF-compresses them when that helps
///   (our LZF comes with the RDB chapter), so for them it is an upper bound.
/// - `lru` is the object's 24-bit access clock and `lru_seconds_idle` the
///   time since, both exact. (For a shared integer Redis shows the shared
///   object's clock instead, which no key owns.)
///
/// Like Redis, the lookup goes to the dict directly: no expiry check and
/// no access-clock refresh, so looking does not change what is seen.
fn debug_object(ctx: &mut Ctx, key: &[u8]) {
    let lru_clock = ctx.server.lru_clock;
    let db = ctx.client.db;
    let Some(obj) = ctx.server.dbs[db].dict.get(key) else {
        ctx.client.reply.error("ERR no such key");
        return;
    };
    let refcount = match &obj.value {
        Value::Str(StrValue::Int(n)) if (0..SHARED_INTEGERS).contains(n) => SHARED_REFCOUNT,
        _ => 1,
    };
    // The serialized length of a collection comes with the RDB chapter;
    // until then it is reported for strings only, and 0 otherwise.
    let serialized = match &obj.value {
        Value::Str(s) => rdb_string_len(s),
        _ => 0,
    };
    let line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        obj as *const _,
        refcount,
        obj.encoding(),
        serialized,
        obj.lru,
        idle_seconds(lru_clock, obj.lru)
    );
    ctx.client.reply.simple(&line);
}
// ANCHOR_END: server_debug_object

/// Seconds since `lru`, on the 24-bit clock that wraps every ~194 days
/// (`estimateObjectIdleTime`).
fn idle_seconds(now: u32, lru: u32) -> u64 {
    const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;
    if now >= lru {
        (now - lru) as u64
    } else {
        now as u64 + (LRU_CLOCK_MAX - lru as u64)
    }
}

/// The bytes RDB uses for a string value (`rdbSavedObjectLen` of a
/// string), without LZF compression. Integers that fit 8, 16 or 32 bits
/// take a one-byte tag plus 1, 2 or 4 bytes; anything else is a length
/// prefix (1, 2, 5 or 9 bytes) and the bytes. A short string that is a
/// canonical integer is stored as one.
fn rdb_string_len(s: &StrValue) -> usize {
    fn int_len(n: i64) -> Option<usize> {
        if (i8::MIN as i64..=i8::MAX as i64).contains(&n) {
            Some(2)
        } else if (i16::MIN as i64..=i16::MAX as i64).contains(&n) {
            Some(3)
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
            Some(5)
        } else {
            None
        }
    }
    fn len_prefix(len: usize) -> usize {
        match len {
            0..=63 => 1,
            64..=16383 => 2,
            _ if len as u64 <= u32::MAX as u64 => 5,
            _ => 9,
        }
    }
    let mut scratch = [0u8; 20];
    let bytes = s.bytes(&mut scratch);
    if bytes.len() <= 11 {
        if let Some(n) = crate::object::canonical_i64(bytes).and_then(int_len) {
            return n;
        }
    }
    len_prefix(bytes.len()) + bytes.len()
}

/// DEBUG HTSTATS dbid: both dicts of a database, as text. (Redis 7.0 takes
/// no `full` argument here and always prints the chain-length histogram.)
fn debug_htstats(ctx: &mut Ctx, arg: &[u8]) {
    let Some(id) = crate::resp::parse_i64(arg) else {
        ctx.reply().error(NOT_INTEGER);
        return;
    };
    if id < 0 || id as usize >= ctx.server.dbs.len() {
        ctx.reply().error("ERR Out of range database");
        return;
    }
    let db = &ctx.server.dbs[id as usize];
    let mut text = String::from("[Dictionary HT]\n");
    text.push_str(&db.dict.stats(true));
    text.push_str("[Expires HT]\n");
    text.push_str(&db.expires.stats(true));
    ctx.client.reply.verbatim(text.as_bytes());
}

/// DEBUG HTSTATS-KEY key: the stats of the dict inside a hash, set or
/// sorted set value. Strings are never dicts.
fn debug_htstats_key(ctx: &mut Ctx, key: &[u8]) {
    // Redis looks up without touching the access clock, but with the
    // expiry check and the hit/miss count of a read.
    ctx.expire_if_needed(key);
    let db = ctx.client.db;
    let server = &mut *ctx.server;
    let Some(obj) = server.dbs[db].dict.get(key) else {
        server.stats.keyspace_misses += 1;
        ctx.client.reply.error("ERR no such key");
        return;
    };
    server.stats.keyspace_hits += 1;
    use crate::object::{HashValue, SetValue, ZSetValue};
    let stats = match &obj.value {
        Value::Hash(h) => match &**h {
            HashValue::Table(d) => Some(d.stats(true)),
            HashValue::Listpack(_) => None,
        },
        Value::Set(set) => match set {
            SetValue::Table(d) => Some(d.stats(true)),
            SetValue::Intset(_) => None,
        },
        Value::ZSet(z) => match &**z {
            ZSetValue::Skiplist(t) => Some(t.dict.stats(true)),
            ZSetValue::Listpack(_) => None,
        },
        Value::Str(_) | Value::List(_) | Value::Stream(_) => None,
    };
    match stats {
        Some(text) => ctx.client.reply.verbatim(text.as_bytes()),
        None => ctx.client.reply.error(
            "ERR The value stored at the specified key is not represented using an hash table",
        ),
    }
}

/// DEBUG REHASH-STEP n: our addition for the visualizer. With
/// `activerehashing no` and no traffic a rehash stands still; this moves it
/// on by `n` buckets (the dict's `rehash(n)`: up to n non-empty buckets,
/// giving up after 10 × n empty ones), so a student can watch each step.
fn debug_rehash_step(ctx: &mut Ctx, arg: &[u8]) {
    let n = match crate::resp::parse_i64(arg) {
        Some(n) if n > 0 => n as usize,
        Some(_) => {
            ctx.reply()
                .error("ERR value is out of range, must be positive");
            return;
        }
        None => {
            ctx.reply().error(NOT_INTEGER);
            return;
        }
    };
    let dict = &mut ctx.db().dict;
    dict.rehash(n);
    let index = dict.rehash_index().map_or(-1, |i| i as i64);
    ctx.reply().int(index);
}

// ANCHOR: debug_sdslen
/// DEBUG SDSLEN key: the sds behind the key and its value: length, spare
/// room, and the bytes the allocator really handed out (its size class).
/// An `int`-encoded value has no sds, as in Redis.
fn debug_sdslen(ctx: &mut Ctx, key: &[u8]) {
    ctx.expire_if_needed(key);
    let db = ctx.client.db;
    let Some((stored_key, obj)) = ctx.server.dbs[db].dict.get_key_value(key) else {
        ctx.client.reply.error("ERR no such key");
        return;
    };
    let value = match &obj.value {
        Value::Str(crate::object::StrValue::Embstr(s))
        | Value::Str(crate::object::StrValue::Raw(s)) => s,
        _ => {
            ctx.client.reply.error("ERR Not an sds encoded string.");
            return;
        }
    };
    let line = format!(
        "key_sds_len:{}, key_sds_avail:{}, key_zmalloc: {}, val_sds_len:{}, val_sds_avail:{}, val_zmalloc: {}",
        stored_key.len(),
        stored_key.avail(),
        crate::memory::size_class(stored_key.alloc_size()),
        value.len(),
        value.avail(),
        crate::memory::size_class(value.alloc_size()),
    );
    ctx.client.reply.simple(&line);
}
// ANCHOR_END: debug_sdslen

/// DEBUG PROTOCOL type: a sample reply of each RESP type, so a student (or
/// a client library's test) can see how RESP2 and RESP3 encode it.
fn debug_protocol(ctx: &mut Ctx, kind: &[u8]) {
    let r = &mut ctx.client.reply;
    let kind = kind.to_ascii_lowercase();
    match kind.as_slice() {
        b"string" => r.bulk(b"Hello World"),
        b"integer" => r.int(12345),
        b"double" => {
            if r.is_resp3() {
                r.raw(b",3.141\r\n");
            } else {
                r.bulk(b"3.141");
            }
        }
        b"bignum" => {
            const BIG: &[u8] = b"1234567999999999999999999999999999999";
            if r.is_resp3() {
                r.raw(b"(");
                r.raw(BIG);
                r.raw(b"\r\n");
            } else {
                r.bulk(BIG);
            }
        }
        b"null" => r.null(),
        b"array" | b"set" => {
            if kind == b"set" {
                r.set(3);
            } else {
                r.array(3);
            }
            for i in 0..3 {
                r.int(i);
            }
        }
        b"map" => {
            r.map(3);
            for i in 0..3 {
                r.int(i);
                r.boolean(i == 1);
            }
        }
        b"attrib" => {
            if r.is_resp3() {
                r.raw(b"|1\r\n");
                r.bulk(b"key-popularity");
                r.array(2);
                r.bulk(b"key:123");
                r.int(90);
            }
            r.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !r.is_resp3() {
                r.err("RESP2 is not supported by this command");
                return;
            }
            r.push(2);
            r.bulk(b"server-cpu-usage");
            r.int(42);
            r.bulk(b"Some real reply following the push reply");
        }
        b"verbatim" => r.verbatim(b"This is a verbatim\nstring"),
        b"true" => r.boolean(true),
        b"false" => r.boolean(false),
        _ => r.err(
            "Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

// ---------------------------------------------------------------------------
// SHUTDOWN, MONITOR
// ---------------------------------------------------------------------------

// ANCHOR: server_shutdown
/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
///
/// With no persistence and no replicas there is nothing to save and no one
/// to wait for, so a valid SHUTDOWN stops the server now: the accept loop
/// and the cron see the flag, every client is closed, and `serve` returns
/// (then `main` exits, or an in-process test server's thread ends). Like
/// Redis, the client that asked gets no reply: its connection just closes.
fn shutdown(ctx: &mut Ctx, args: Args) {
    let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
    for a in args.iter().skip(1) {
        if eq_ic(a, "nosave") {
            nosave = true;
        } else if eq_ic(a, "save") {
            save = true;
        } else if eq_ic(a, "now") || eq_ic(a, "force") {
            other = true;
        } else if eq_ic(a, "abort") {
            abort = true;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return ctx.reply().error(SYNTAX_ERR);
    }
    if abort {
        // A shutdown only stays "in progress" while it waits for lagging
        // replicas; ours never waits.
        return ctx.reply().error("ERR No shutdown in progress.");
    }
    // While a script holds the server, only SHUTDOWN NOSAVE may end it:
    // saving now would snapshot the script's half-done writes.
    if !nosave {
        use crate::server::busy::{BusyReason, SLOW_EVAL_ERR, SLOW_SCRIPT_ERR};
        match ctx.server.busy.serving {
            Some(BusyReason::Eval) => return ctx.reply().error(SLOW_EVAL_ERR),
            Some(BusyReason::Function) => return ctx.reply().error(SLOW_SCRIPT_ERR),
            _ => {}
        }
    }
    eprintln!("{} # User requested shutdown...", std::process::id());
    let force = args.iter().skip(1).any(|a| eq_ic(a, "force"));
    super::persistence::kill_child(ctx.server);
    if save || (!nosave && !ctx.server.config.save.is_empty()) {
        eprintln!(
            "{} * Saving the final RDB snapshot before exiting.",
            std::process::id()
        );
        if super::persistence::save_sync(ctx.server).is_err() && !force {
            return ctx.reply().err("Errors trying to SHUTDOWN. Check logs.");
        }
    }
    let server = &mut *ctx.server;
    server.shutdown_requested = true;
    server.for_each_client(ctx.client, |c| {
        c.close_asap = true;
        c.wake.notify_one();
    });
    // `serve` is the one waiter; a permit is kept if it is not waiting yet.
    server.shutdown.notify_one();
}
// ANCHOR_END: server_shutdown

/// MONITOR: from now on this connection receives a line for every command
/// any client runs (see `feed_monitors` in server/mod.rs). A second
/// MONITOR on the same connection is ignored without a reply, as in Redis.
fn monitor(ctx: &mut Ctx, _args: Args) {
    // Inside EXEC (and a script) Redis refuses: such a client expects
    // exactly one reply per command.
    if ctx.client.in_exec {
        ctx.reply()
            .err("MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if ctx.client.monitor {
        return;
    }
    ctx.client.monitor = true;
    ctx.server.monitors.push(ctx.client.id);
    ctx.reply().ok();
}

// ---------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------

/// SLOWLOG GET [count]: newest first; 10 by default, -1 for all. Each
/// entry: id, Unix time, microseconds, arguments, client address, name.
fn slowlog_get(ctx: &mut Ctx, args: Args) {
    let mut count = 10usize;
    if args.len() == 3 {
        match crate::resp::parse_i64(&args[2]) {
            Some(-1) => count = usize::MAX,
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                ctx.reply()
                    .err("count should be greater than or equal to -1");
                return;
            }
        }
    }
    let log = &ctx.server.slowlog;
    let reply = &mut ctx.client.reply;
    let n = count.min(log.entries.len());
    reply.array(n);
    for e in log.entries.iter().take(n) {
        reply.array(6);
        reply.int(e.id as i64);
        reply.int(e.time);
        reply.int(e.duration_us as i64);
        reply.array(e.args.len());
        for a in &e.args {
            reply.bulk(a);
        }
        reply.bulk(e.client_addr.as_bytes());
        reply.bulk(&e.client_name);
    }
}

fn slowlog_len(ctx: &mut Ctx, _args: Args) {
    let n = ctx.server.slowlog.entries.len() as i64;
    ctx.reply().int(n);
}

fn slowlog_reset(ctx: &mut Ctx, _args: Args) {
    ctx.server.slowlog.reset();
    ctx.reply().ok();
}

fn slowlog_help(ctx: &mut Ctx, _args: Args) {
    reply_help(
        ctx.reply(),
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---------------------------------------------------------------------------
// LATENCY
// ---------------------------------------------------------------------------

/// LATENCY LATEST: per event, [name, time of the latest spike, its ms,
/// the worst ms ever].
fn latency_latest(ctx: &mut Ctx, _args: Args) {
    let events = &ctx.server.latency.events;
    let reply = &mut ctx.client.reply;
    reply.array(events.len());
    for (name, series) in events {
        let (time, ms) = series.samples.last().copied().unwrap_or((0, 0));
        reply.array(4);
        reply.bulk(name.as_bytes());
        reply.int(time);
        reply.int(ms as i64);
        reply.int(series.max as i64);
    }
}

/// LATENCY HISTORY event: [time, ms] pairs, oldest first (at most one per
/// second, 160 kept).
fn latency_history(ctx: &mut Ctx, args: Args) {
    let name = String::from_utf8_lossy(&args[2]);
    let reply = &mut ctx.client.reply;
    match ctx.server.latency.events.get(name.as_ref()) {
        None => reply.array(0),
        Some(series) => {
            reply.array(series.samples.len());
            for &(time, ms) in &series.samples {
                reply.array(2);
                reply.int(time);
                reply.int(ms as i64);
            }
        }
    }
}

/// LATENCY RESET [event ...]: how many event series were dropped. Event
/// names match case-insensitively here (not in HISTORY), as in Redis.
fn latency_reset(ctx: &mut Ctx, args: Args) {
    let events = &mut ctx.server.latency.events;
    let resets = if args.len() == 2 {
        let n = events.len();
        events.clear();
        n
    } else {
        let before = events.len();
        events.retain(|name, _| !args.iter().skip(2).any(|a| eq_ic(a, name)));
        before - events.len()
    };
    ctx.reply().int(resets as i64);
}

/// LATENCY DOCTOR: Redis writes an essay with advice; we state the facts
/// the monitor holds, one line per event, in our own words.
fn latency_doctor(ctx: &mut Ctx, _args: Args) {
    let threshold = ctx.server.config.latency_monitor_threshold;
    let events = &ctx.server.latency.events;
    let mut text = String::new();
    if threshold == 0 {
        text.push_str(
            "Latency monitoring is disabled: CONFIG SET latency-monitor-threshold <milliseconds> \
             to record events that take at least that long.\n",
        );
    } else if events.is_empty() {
        text.push_str(&format!(
            "No latency spike of {threshold} ms or more has been recorded.\n"
        ));
    } else {
        text.push_str(&format!(
            "Events of {threshold} ms or more recorded, per event:\n"
        ));
        for (name, series) in events {
            let n = series.samples.len();
            let sum: u64 = series.samples.iter().map(|s| s.1).sum();
            let first = series.samples.first().map_or(0, |s| s.0);
            let last = series.samples.last().map_or(0, |s| s.0);
            text.push_str(&format!(
                "{name}: {n} spikes over {} seconds, average {} ms, worst {} ms.\n",
                last - first,
                sum / n.max(1) as u64,
                series.max
            ));
        }
    }
    ctx.client.reply.verbatim(text.as_bytes());
}

/// LATENCY HISTOGRAM [command ...]: a map from command name to its run
/// time distribution (`latencyAllCommandsFillCDF`,
/// `latencySpecificCommandsFillCDF`). No names: every command that ran
/// since the last CONFIG RESETSTAT. A container name (`client`) stands
/// for its subcommands; `client|id` names one. Unknown names and commands
/// that have not run are left out.
fn latency_histogram(ctx: &mut Ctx, args: Args) {
    let table = crate::server::command_table();
    let stats = &ctx.server.command_stats;
    let reply = &mut ctx.client.reply;
    let at = reply.defer_len();
    let mut entries = 0;
    let mut emit = |cmd: &crate::server::Command, reply: &mut crate::resp::Reply| {
        let h = &stats[cmd.stats_index].latency;
        if h.total > 0 {
            reply.bulk(cmd.full_name.as_bytes());
            h.reply(reply);
            entries += 1;
        }
    };
    if args.len() == 2 {
        for cmd in table.all() {
            emit(cmd, reply);
        }
    } else {
        for name in args.iter().skip(2) {
            let found = match name.iter().position(|&b| b == b'|') {
                Some(bar) => table
                    .get(&name[..bar])
                    .and_then(|c| c.subcommands.get(&name[bar + 1..].to_ascii_lowercase())),
                None => table.get(name),
            };
            let Some(cmd) = found else {
                continue;
            };
            if cmd.subcommands.is_empty() {
                emit(cmd, reply);
            } else {
                for sub in &cmd.subcommand_order {
                    emit(&cmd.subcommands[sub], reply);
                }
            }
        }
    }
    reply.set_len(at, crate::resp::Aggregate::Map, entries);
}

fn latency_help(ctx: &mut Ctx, _args: Args) {
    reply_help(
        ctx.reply(),
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;
    use crate::server::{process_command, Config};

    fn run(server: &mut Server, client: &mut Client, parts: &[&str]) -> String {
        client.reply.buf.clear();
        let args = OwnedArgs::from_slices(parts);
        process_command(server, client, args.args());
        String::from_utf8_lossy(&client.reply.buf).into_owned()
    }

    fn setup() -> (Server, Client) {
        let addr = "127.0.0.1:5000".parse().unwrap();
        let mut client = Client::new(1, addr, addr, -1);
        client.authenticated = true;
        // No save points: FLUSHALL would otherwise write dump.rdb here.
        let config = Config {
            save: Vec::new(),
            ..Config::default()
        };
        (Server::new(config), client)
    }

    #[test]
    fn flushes_count_every_removed_key_as_a_change() {
        let (mut s, mut c) = setup();
        for k in ["a", "b", "c"] {
            run(&mut s, &mut c, &["SET", k, "1"]);
        }
        assert_eq!(s.dirty, 3);
        assert_eq!(run(&mut s, &mut c, &["FLUSHDB"]), "+OK\r\n");
        assert_eq!(s.dirty, 6, "three keys removed");
        assert_eq!(run(&mut s, &mut c, &["FLUSHDB", "ASYNC"]), "+OK\r\n");
        assert_eq!(s.dirty, 6, "an empty database changes nothing");
        run(&mut s, &mut c, &["SET", "a", "1"]);
        c.db = 2;
        run(&mut s, &mut c, &["SET", "b", "1"]);
        assert_eq!(run(&mut s, &mut c, &["FLUSHALL"]), "+OK\r\n");
        assert_eq!(s.dirty, 10, "two keys in two databases");
        assert!(s.dbs.iter().all(|db| db.is_empty()));
    }

    #[test]
    fn resetstat_zeroes_counters_but_not_the_slowlog_or_latency() {
        let (mut s, mut c) = setup();
        s.config.slowlog_log_slower_than = 0;
        run(&mut s, &mut c, &["SET", "a", "1"]);
        run(&mut s, &mut c, &["GET"]);
        s.latency.add_sample("command", 5);
        assert!(s.stats.total_commands_processed > 0);
        run(&mut s, &mut c, &["CONFIG", "RESETSTAT"]);
        // RESETSTAT's own call is counted after the reset.
        assert_eq!(s.stats.total_commands_processed, 1);
        assert!(s.stats.error_codes.is_empty());
        assert_eq!(s.stats.total_error_replies, 0);
        let set = command_table().get(b"set").unwrap();
        assert_eq!(s.command_stats[set.stats_index].calls, 0);
        assert!(s.slowlog.entries.len() >= 2);
        assert_eq!(s.latency.events.len(), 1);
    }

    #[test]
    fn config_set_of_hz_reaches_the_running_server() {
        let (mut s, mut c) = setup();
        s.hz = 40; // raised by dynamic-hz
        s.config.hz = 25; // what a successful CONFIG SET hz 25 leaves
        apply_config_change(&mut s, "hz");
        assert_eq!(s.hz, 25);
        assert_eq!(
            run(&mut s, &mut c, &["CONFIG", "SET", "hz"]),
            "-ERR wrong number of arguments for 'config|set' command\r\n"
        );
    }

    #[test]
    fn rdb_lengths_of_strings() {
        let len = |b: &str| rdb_string_len(&StrValue::from_bytes(b.as_bytes()));
        assert_eq!(len("1"), 2); // int8
        assert_eq!(len("-129"), 3); // int16
        assert_eq!(len("100000"), 5); // int32
        assert_eq!(len("123456789012"), 13); // too big: 1 + 12 digits
        assert_eq!(len("hello"), 6);
        assert_eq!(len(&"x".repeat(64)), 66); // two-byte length prefix
        assert_eq!(len("0123"), 5, "not canonical: a string");
    }

    #[test]
    fn c_number_parsing_takes_the_longest_prefix() {
        assert_eq!(c_strtod(b"0.5"), 0.5);
        assert_eq!(c_strtod(b"0.1x"), 0.1);
        assert_eq!(c_strtod(b"abc"), 0.0);
        assert_eq!(c_atoi(b"2"), 2);
        assert_eq!(c_atoi(b"-1z"), -1);
        assert_eq!(c_atoi(b"x"), 0);
    }

    #[test]
    fn debug_local_allows_exactly_the_loopback_addresses() {
        let (mut s, _) = setup();
        s.config.enable_debug_command = crate::server::config::ProtectedAction::Local;
        let debug = command_table().get(b"debug").unwrap();
        for (addr, allowed) in [
            ("127.0.0.1:1", true),
            ("[::1]:1", true),
            ("127.0.0.2:1", false),
            ("10.0.0.1:1", false),
        ] {
            let addr = addr.parse().unwrap();
            let client = Client::new(1, addr, addr, -1);
            assert_eq!(
                protected_command_refusal(&s, &client, debug).is_none(),
                allowed,
                "{addr}"
            );
        }
        let get = command_table().get(b"get").unwrap();
        s.config.enable_debug_command = crate::server::config::ProtectedAction::No;
        let client = Client::new(
            1,
            "10.0.0.1:1".parse().unwrap(),
            "10.0.0.1:1".parse().unwrap(),
            -1,
        );
        assert!(protected_command_refusal(&s, &client, get).is_none());
    }

    /// Byte-exact RESP3 replies, captured from Redis 7.0.15 after HELLO 3.
    #[test]
    fn resp3_command_introspection_matches_redis_bytes() {
        let (mut s, mut c) = setup();
        c.reply.protocol = crate::resp::Protocol::Resp3;
        assert_eq!(
            run(&mut s, &mut c, &["COMMAND", "INFO", "get", "nosuch"]),
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
             ~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n\
             +RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n\
             $4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n\
             $5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n\
             $5\r\nlimit\r\n:0\r\n~0\r\n_\r\n"
        );
        assert_eq!(
            run(&mut s, &mut c, &["COMMAND", "DOCS", "nosuch"]),
            "%0\r\n"
        );
        assert_eq!(
            run(&mut s, &mut c, &["COMMAND", "INFO", "config|help"]),
            "*1\r\n*10\r\n$11\r\nconfig|help\r\n:2\r\n~2\r\n+loading\r\n+stale\r\n\
             :0\r\n:0\r\n:0\r\n~1\r\n+@slow\r\n~0\r\n~0\r\n~0\r\n"
        );
        assert_eq!(
            run(&mut s, &mut c, &["COMMAND", "GETKEYSANDFLAGS", "get", "k"]),
            "*1\r\n*2\r\n$1\r\nk\r\n~2\r\n+RO\r\n+access\r\n"
        );
        assert_eq!(run(&mut s, &mut c, &["INFO", "nosuch"]), "=4\r\ntxt:\r\n");
    }

    #[test]
    fn idle_time_wraps_with_the_24_bit_clock() {
        assert_eq!(idle_seconds(100, 40), 60);
        assert_eq!(idle_seconds(5, (1 << 24) - 10), 5 + 9);
    }
}
