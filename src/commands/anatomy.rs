//! # ANATOMY: the visualizer's commands
//!
//! `ANATOMY DICT [key]`, `ANATOMY EVENTS <since-seq>`, `ANATOMY BACKLOG`,
//! `ANATOMY BUSY <ms> [EVAL|FUNCTION]` (a stand-in for a slow script; see
//! `server/busy.rs`) and `ANATOMY HELP`.
//! These are ours, not Redis's: a real Redis answers `ERR unknown command
//! 'ANATOMY'`, which is how `anatomy-viz` tells it is talking to a server
//! it cannot look into. The snapshots themselves are built in
//! `introspect.rs`; this file parses arguments and replies.
//!
//! Both subcommands are read-only (`readonly`: they change nothing) and
//! `admin`, like `DEBUG HTSTATS`: they expose internals, not data. Replies
//! are one bulk string of JSON.
//!
//! ## The Redis C counterpart
//!
//! None; the closest is `DEBUG HTSTATS` / `HTSTATS-KEY` in `debug.c`.

use anatomy_viz_proto::DictSource;

use crate::introspect::{collect_events, dict_snapshot, to_json};
use crate::object::{HashValue, SetValue, Value, ZSetValue};
use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::{Ctx, NOT_INTEGER};

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "anatomy",
    arity: -2,
    flags: "",
    since: "7.0.0",
    summary: "Returns JSON snapshots of internal data structures for anatomy-viz.",
    run: container,
    subcommands: ANATOMY_SUBCOMMANDS,
    ..CommandDef::base(Group::Server)
}];

static ANATOMY_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "dict",
        arity: -2,
        flags: "readonly admin noscript loading stale",
        since: "7.0.0",
        summary: "Snapshot of the keyspace dict, or of the dict inside a hash, set or sorted set.",
        run: anatomy_dict,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "events",
        arity: 3,
        flags: "readonly admin noscript loading stale",
        since: "7.0.0",
        summary: "The rehash and resize events logged after a sequence number.",
        run: anatomy_events,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "backlog",
        arity: 2,
        flags: "readonly admin noscript loading stale",
        since: "7.0.0",
        summary: "Snapshot of the replication backlog and each replica's offsets.",
        run: anatomy_backlog,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "busy",
        arity: -3,
        flags: "admin noscript",
        since: "7.0.0",
        summary:
            "Holds the server for some milliseconds, serving others under the busy-script rules.",
        run: crate::server::busy::anatomy_busy,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "7.0.0",
        summary: "Shows the ANATOMY subcommands.",
        run: anatomy_help,
        ..CommandDef::base(Group::Server)
    },
];

/// Reached only through a misconfigured arity: the table routes
/// `ANATOMY <sub>` to the subcommand's row.
fn container(ctx: &mut Ctx, _args: Args) {
    ctx.reply()
        .error("ERR unknown subcommand. Try ANATOMY HELP.");
}

/// ANATOMY DICT [key]
fn anatomy_dict(ctx: &mut Ctx, args: Args) {
    if args.len() > 3 {
        ctx.reply()
            .error("ERR wrong number of arguments for 'anatomy|dict' command");
        return;
    }
    collect_events(ctx.server, ctx.now_ms);
    let db = ctx.client.db;
    let active_rehashing = ctx.server.config.activerehashing;
    let server = &mut *ctx.server;
    let json = if args.len() == 2 {
        let source = DictSource::Keyspace { db: db as u32 };
        let snap = dict_snapshot(
            &mut server.anatomy,
            &server.dbs[db].dict,
            source,
            active_rehashing,
            ctx.now_ms,
        );
        to_json(&snap)
    } else {
        let key = &args[2];
        let Some(obj) = server.dbs[db].dict.get(key) else {
            ctx.client.reply.error("ERR no such key");
            return;
        };
        let source = |kind: &str| DictSource::Key {
            db: db as u32,
            key: String::from_utf8_lossy(key).into_owned(),
            kind: kind.to_string(),
        };
        let anatomy = &mut server.anatomy;
        let now = ctx.now_ms;
        let snap = match &obj.value {
            Value::Hash(h) => match &**h {
                HashValue::Table(d) => Some(dict_snapshot(
                    anatomy,
                    d,
                    source("hash"),
                    active_rehashing,
                    now,
                )),
                HashValue::Listpack(_) => None,
            },
            Value::Set(s) => match s {
                SetValue::Table(d) => Some(dict_snapshot(
                    anatomy,
                    d,
                    source("set"),
                    active_rehashing,
                    now,
                )),
                SetValue::Intset(_) => None,
            },
            Value::ZSet(z) => match &**z {
                ZSetValue::Skiplist(t) => Some(dict_snapshot(
                    anatomy,
                    &t.dict,
                    source("zset"),
                    active_rehashing,
                    now,
                )),
                ZSetValue::Listpack(_) => None,
            },
            Value::Str(_) | Value::List(_) | Value::Stream(_) => None,
        };
        match snap {
            Some(snap) => to_json(&snap),
            None => {
                // DEBUG HTSTATS-KEY's words for the same situation.
                ctx.client.reply.error(
                    "ERR The value stored at the specified key is not represented using an hash table",
                );
                return;
            }
        }
    };
    ctx.client.reply.bulk(&json);
}

/// ANATOMY EVENTS since-seq
fn anatomy_events(ctx: &mut Ctx, args: Args) {
    let since = match crate::resp::parse_i64(&args[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => {
            ctx.reply().error(NOT_INTEGER);
            return;
        }
    };
    collect_events(ctx.server, ctx.now_ms);
    let json = to_json(&ctx.server.anatomy.events_since(since));
    ctx.client.reply.bulk(&json);
}

/// ANATOMY BACKLOG (the replication chapter builds the snapshot).
fn anatomy_backlog(ctx: &mut Ctx, _args: Args) {
    let json = to_json(&crate::replication::backlog_snapshot(ctx.server));
    ctx.client.reply.bulk(&json);
}

/// ANATOMY HELP, in the shape every container's HELP has.
fn anatomy_help(ctx: &mut Ctx, _args: Args) {
    let lines = [
        "ANATOMY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DICT [<key>]",
        "    JSON snapshot of the selected database's keyspace dict, or of the dict",
        "    inside the hash, set or sorted set at <key>: both tables, rehashidx and",
        "    bucket chain lengths (sampled beyond 4096 buckets).",
        "EVENTS <since-seq>",
        "    JSON list of the rehash and resize events numbered above <since-seq>.",
        "BACKLOG",
        "    JSON snapshot of the replication stream: replid, master offset, the",
        "    backlog ring (size, first byte offset, histlen) and each replica's offsets.",
        "BUSY <milliseconds> [EVAL|FUNCTION]",
        "    Hold the server that long, as a script past busy-reply-threshold would:",
        "    other clients get -BUSY except for allow_busy commands.",
        "HELP",
        "    Print this help.",
    ];
    let reply = ctx.reply();
    reply.array(lines.len());
    for line in lines {
        reply.simple(line);
    }
}
