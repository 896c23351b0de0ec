//! # Stream commands
//!
//! The commands of the streams chapter (`crate::stream` holds the
//! structure): XADD and the reads (XRANGE, XREVRANGE, XLEN, XREAD), the
//! deletions (XDEL, XTRIM), the consumer groups (XGROUP, XREADGROUP, XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM, XSETID) and XINFO. Replies and errors are
//! Redis 7.0's, byte for byte.
//!
//! ## Propagation
//!
//! A replica or the AOF must end up with the same stream, so what is sent
//! is not always what the client typed (Redis's `t_stream.c` rewrites
//! `argv`): XADD `*` is sent with the ID it resolved to; `MAXLEN ~ 1000`
//! is sent as `MAXLEN = <the length it left>`; XREADGROUP is not sent at
//! all, but each entry it hands out becomes an `XCLAIM ... FORCE JUSTID
//! LASTID` and the group's new position an `XGROUP SETID ... ENTRIESREAD`.
//!
//! ## The Redis C counterpart
//!
//! `src/t_stream.c`: `xaddCommand`, `xrangeGenericCommand`, `xreadCommand`,
//! `xgroupCommand`, `xsetidCommand`, `xackCommand`, `xpendingCommand`,
//! `xclaimCommand`, `xautoclaimCommand`, `xdelCommand`, `xtrimCommand`,
//! `xinfoCommand`; `streamReplyWithRange` for the shared reply path.

use crate::listpack::{Listpack, LpValue};
use crate::object::Value;
use crate::resp::{parse_i64, Aggregate, Args, OwnedArgs, Reply};
use crate::server::blocking::TimeoutReply;
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::STREAM;
use crate::server::{Ctx, NOT_INTEGER, SYNTAX_ERR};
use crate::stream::{
    parse_u64, ConsumerGroup, EntryRef, NodeView, PendingEntry, Stream, StreamId, TrimStrategy,
};

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

// ============================================================================
// The command table
// ============================================================================

macro_rules! keyed {
    ($name:expr, $arity:expr, $flags:expr, $since:expr, $summary:expr, $run:expr) => {
        CommandDef {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 1,
            last_key: 1,
            key_step: 1,
            since: $since,
            summary: $summary,
            run: $run,
            ..CommandDef::base(Group::Stream)
        }
    };
}

macro_rules! sub {
    ($name:expr, $arity:expr, $flags:expr, $since:expr, $summary:expr, $run:expr) => {
        CommandDef {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 2,
            last_key: 2,
            key_step: 1,
            since: $since,
            summary: $summary,
            run: $run,
            ..CommandDef::base(Group::Stream)
        }
    };
}

pub static COMMANDS: &[CommandDef] = &[
    keyed!(
        "xadd",
        -5,
        "write denyoom fast",
        "5.0.0",
        "Appends a new entry to a stream.",
        xadd
    ),
    keyed!(
        "xrange",
        -4,
        "readonly",
        "5.0.0",
        "Returns the entries of a stream within a range of IDs.",
        xrange
    ),
    keyed!(
        "xrevrange",
        -4,
        "readonly",
        "5.0.0",
        "Returns the entries of a stream within a range of IDs, newest first.",
        xrevrange
    ),
    keyed!(
        "xlen",
        2,
        "readonly fast",
        "5.0.0",
        "Returns the number of entries in a stream.",
        xlen
    ),
    keyed!(
        "xdel",
        -3,
        "write fast",
        "5.0.0",
        "Deletes entries from a stream by ID.",
        xdel
    ),
    keyed!(
        "xtrim",
        -4,
        "write",
        "5.0.0",
        "Deletes the oldest entries of a stream.",
        xtrim
    ),
    keyed!(
        "xsetid",
        -3,
        "write denyoom fast",
        "5.0.0",
        "Sets a stream's last ID (an internal command for replication).",
        xsetid
    ),
    keyed!(
        "xack",
        -4,
        "write fast",
        "5.0.0",
        "Acknowledges entries delivered to a consumer group.",
        xack
    ),
    keyed!(
        "xpending",
        -3,
        "readonly",
        "5.0.0",
        "Returns the pending entries of a consumer group.",
        xpending
    ),
    keyed!(
        "xclaim",
        -6,
        "write fast",
        "5.0.0",
        "Moves pending entries to another consumer.",
        xclaim
    ),
    keyed!(
        "xautoclaim",
        -6,
        "write fast",
        "6.2.0",
        "Moves idle pending entries to another consumer, scanning the PEL.",
        xautoclaim
    ),
    CommandDef {
        name: "xread",
        arity: -4,
        flags: "readonly blocking",
        since: "5.0.0",
        summary:
            "Returns entries of streams with IDs above the given ones, waiting if there are none.",
        run: xread,
        get_keys: Some(xread_keys),
        ..CommandDef::base(Group::Stream)
    },
    CommandDef {
        name: "xreadgroup",
        arity: -7,
        flags: "write blocking",
        since: "5.0.0",
        summary: "Returns entries of streams for a consumer of a group, waiting if there are none.",
        run: xread,
        get_keys: Some(xread_keys),
        ..CommandDef::base(Group::Stream)
    },
    CommandDef {
        name: "xgroup",
        arity: -2,
        since: "5.0.0",
        summary: "A container for consumer groups commands.",
        run: container,
        subcommands: XGROUP_SUBCOMMANDS,
        ..CommandDef::base(Group::Stream)
    },
    CommandDef {
        name: "xinfo",
        arity: -2,
        since: "5.0.0",
        summary: "A container for stream introspection commands.",
        run: container,
        subcommands: XINFO_SUBCOMMANDS,
        ..CommandDef::base(Group::Stream)
    },
];

static XGROUP_SUBCOMMANDS: &[CommandDef] = &[
    // In the order Redis 7.0 lists them (COMMAND INFO xgroup).
    sub!(
        "setid",
        -5,
        "write",
        "5.0.0",
        "Sets a consumer group's last delivered ID.",
        xgroup
    ),
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Returns helpful text about the different subcommands.",
        run: xgroup,
        ..CommandDef::base(Group::Stream)
    },
    sub!(
        "create",
        -5,
        "write denyoom",
        "5.0.0",
        "Creates a consumer group.",
        xgroup
    ),
    sub!(
        "delconsumer",
        5,
        "write",
        "5.0.0",
        "Deletes a consumer from a consumer group.",
        xgroup
    ),
    sub!(
        "destroy",
        4,
        "write",
        "5.0.0",
        "Destroys a consumer group.",
        xgroup
    ),
    sub!(
        "createconsumer",
        5,
        "write denyoom",
        "6.2.0",
        "Creates a consumer in a consumer group.",
        xgroup
    ),
];

static XINFO_SUBCOMMANDS: &[CommandDef] = &[
    sub!(
        "stream",
        -3,
        "readonly",
        "5.0.0",
        "Returns information about a stream.",
        xinfo
    ),
    sub!(
        "groups",
        3,
        "readonly",
        "5.0.0",
        "Returns the consumer groups of a stream.",
        xinfo
    ),
    sub!(
        "consumers",
        4,
        "readonly",
        "5.0.0",
        "Returns the consumers of a consumer group.",
        xinfo
    ),
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Returns helpful text about the different subcommands.",
        run: xinfo,
        ..CommandDef::base(Group::Stream)
    },
];

fn container(ctx: &mut Ctx, args: Args) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    ctx.reply()
        .error(&format!("ERR unknown subcommand. Try {name} HELP."));
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(reply: &mut Reply, cmd: &str, sub: &[u8]) {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    reply.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."
    ));
}

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

/// XREAD/XREADGROUP's keys: the first half of what follows STREAMS
/// (Redis's `xreadGetKeys`). Options before STREAMS are skipped with their
/// arguments; anything else, or an odd count after STREAMS, gives none.
fn xread_keys(args: Args) -> Vec<usize> {
    let mut i = 1;
    let mut streams_at = None;
    while i < args.len() {
        let a = args.get(i);
        if a.eq_ignore_ascii_case(b"block") || a.eq_ignore_ascii_case(b"count") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"group") {
            i += 3;
        } else if a.eq_ignore_ascii_case(b"noack") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"streams") {
            streams_at = Some(i);
            break;
        } else {
            break;
        }
    }
    let Some(at) = streams_at else {
        return Vec::new();
    };
    let num = args.len() - at - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (at + 1..at + 1 + num / 2).collect()
}

// ============================================================================
// Parsing IDs
// ============================================================================

// ANCHOR: stream_parse_id
/// Parse `<ms>-<seq>`, `<ms>` (seq = `missing_seq`), `-` and `+` (unless
/// `strict`), and with `seq_given` also `<ms>-*`. Redis's
/// `streamGenericParseIDOrReply`. Returns the ID and whether the sequence
/// was given (false only for `<ms>-*`).
fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_seq_star: bool,
) -> Option<(StreamId, bool)> {
    if arg.len() > 127 {
        return None;
    }
    match arg {
        b"-" if !strict => return Some((StreamId::MIN, true)),
        b"+" if !strict => return Some((StreamId::MAX, true)),
        b"-" | b"+" => return None,
        _ => {}
    }
    let (ms_part, seq_part) = match arg.iter().position(|&b| b == b'-') {
        Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
        None => (arg, None),
    };
    let ms = parse_u64(ms_part)?;
    match seq_part {
        Some(b"*") if allow_seq_star => Some((StreamId::new(ms, 0), false)),
        Some(seq) => Some((StreamId::new(ms, parse_u64(seq)?), true)),
        None => Some((StreamId::new(ms, missing_seq), true)),
    }
}
// ANCHOR_END: stream_parse_id

fn id_or_reply(ctx: &mut Ctx, arg: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    match parse_id(arg, missing_seq, strict, false) {
        Some((id, _)) => Some(id),
        None => {
            ctx.reply().error(INVALID_ID);
            None
        }
    }
}

/// A range bound: `(id` is exclusive (Redis's
/// `streamParseIntervalIDOrReply`). Returns the ID and whether it was.
fn interval_or_reply(ctx: &mut Ctx, arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        id_or_reply(ctx, &arg[1..], missing_seq, true).map(|id| (id, true))
    } else {
        id_or_reply(ctx, arg, missing_seq, false).map(|id| (id, false))
    }
}

fn i64_or_reply(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    match parse_i64(arg) {
        Some(n) => Some(n),
        None => {
            ctx.reply().error(NOT_INTEGER);
            None
        }
    }
}

// ============================================================================
// Replies
// ============================================================================

fn bulk_value(reply: &mut Reply, v: LpValue) {
    match v {
        LpValue::Int(n) => reply.bulk_i64(n),
        LpValue::Str(s) => reply.bulk(s),
    }
}

fn bulk_id(reply: &mut Reply, id: StreamId) {
    let mut buf = [0u8; 41];
    reply.bulk(id.format(&mut buf));
}

// ANCHOR: stream_reply_entry
/// One entry as Redis replies it: `[id, [field, value, ...]]`.
fn reply_entry(reply: &mut Reply, lp: &Listpack, view: &NodeView, e: &EntryRef) {
    reply.array(2);
    bulk_id(reply, e.id);
    reply.array(2 * e.num_fields);
    for (f, v) in view.fields(lp, e) {
        bulk_value(reply, f);
        bulk_value(reply, v);
    }
}
// ANCHOR_END: stream_reply_entry

/// Reply the entries from `start` to `end` (at most `count`, 0: all).
fn reply_range(
    reply: &mut Reply,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> usize {
    let at = reply.defer_len();
    let mut n = 0;
    let (lo, hi) = if rev { (end, start) } else { (start, end) };
    s.for_each_in_range(lo, hi, rev, |lp, view, e| {
        reply_entry(reply, lp, view, e);
        n += 1;
        count == 0 || n < count
    });
    reply.set_len(at, Aggregate::Array, n);
    n
}

/// Look `key` up as a stream for reading: `Ok(None)` if missing,
/// `Err(())` after replying WRONGTYPE.
macro_rules! stream_or_wrongtype {
    ($obj:expr, $reply:expr) => {
        match $obj {
            None => None,
            Some(o) => match &mut o.value {
                Value::Stream(s) => Some(&mut **s),
                _ => {
                    $reply.error(crate::server::WRONGTYPE);
                    return;
                }
            },
        }
    };
}

// ============================================================================
// XADD and XTRIM
// ============================================================================

/// XADD and XTRIM's shared options (Redis's `streamAddTrimArgs`).
struct AddTrimArgs {
    id: Option<(StreamId, bool)>,
    no_mkstream: bool,
    strategy: TrimStrategy,
    /// Index of the MAXLEN/MINID threshold argument, for the rewrite.
    strategy_arg: usize,
    approx: bool,
    limit: u64,
    /// Where the ID (XADD) or the end of the options is.
    end: usize,
}

// ANCHOR: stream_parse_add_trim
/// Parse `[NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] <*|id>`
/// (XADD) or the trimming part alone (XTRIM), with Redis's errors and
/// in Redis's order (`streamParseAddOrTrimArgsOrReply`).
fn parse_add_trim(ctx: &mut Ctx, args: &Args, xadd: bool) -> Option<AddTrimArgs> {
    let mut p = AddTrimArgs {
        id: None,
        no_mkstream: false,
        strategy: TrimStrategy::None,
        strategy_arg: 0,
        approx: false,
        limit: 0,
        end: args.len(),
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if xadd && opt == b"*" {
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
            && more > 0
        {
            if p.strategy != TrimStrategy::None {
                ctx.reply().error(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                );
                return None;
            }
            p.approx = false;
            let next = args.get(i + 1);
            if more >= 2 && next == b"~" {
                p.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let threshold = args.get(i + 1);
            if opt.eq_ignore_ascii_case(b"maxlen") {
                let n = i64_or_reply(ctx, threshold)?;
                if n < 0 {
                    ctx.reply().error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                p.strategy = TrimStrategy::MaxLen(n as u64);
            } else {
                p.strategy = TrimStrategy::MinId(id_or_reply(ctx, threshold, 0, true)?);
            }
            i += 1;
            p.strategy_arg = i;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let n = i64_or_reply(ctx, args.get(i + 1))?;
            if n < 0 {
                ctx.reply().error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            p.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            p.no_mkstream = true;
        } else if xadd {
            match parse_id(opt, 0, true, true) {
                Some(id) => p.id = Some(id),
                None => {
                    ctx.reply().error(INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            ctx.reply().error(SYNTAX_ERR);
            return None;
        }
        i += 1;
    }
    p.end = i;
    if p.limit != 0 && p.strategy == TrimStrategy::None {
        ctx.reply()
            .error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && p.strategy == TrimStrategy::None {
        ctx.reply()
            .error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if ctx.server.aof.loading {
        // Replaying the AOF (Redis's `mustObeyClient`): the threshold was
        // rewritten to what the trim reached, so it is applied in full.
        p.limit = 0;
    } else if limit_given {
        if !p.approx {
            ctx.reply()
                .error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if p.approx {
        // At most 100 nodes' worth of work per call, so `~` never stalls
        // the server on a huge stream.
        let limit = 100u64.saturating_mul(ctx.server.config.stream_node_max_entries);
        p.limit = if limit == 0 {
            10000
        } else {
            limit.min(1_000_000)
        };
    } else {
        p.limit = 0;
    }
    Some(p)
}
// ANCHOR_END: stream_parse_add_trim

/// After an approximate trim, what replicas and the AOF must be told
/// instead: `=` and the threshold the trim actually reached (Redis's
/// `streamRewriteApproxSpecifier` and `streamRewriteTrimArgument`).
fn trimmed_argv(
    args: &Args,
    p: &AddTrimArgs,
    s: &Stream,
    id_at: Option<(usize, StreamId)>,
) -> Vec<Vec<u8>> {
    let mut argv: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    if p.approx {
        argv[p.strategy_arg - 1] = b"=".to_vec();
        argv[p.strategy_arg] = match p.strategy {
            TrimStrategy::MaxLen(_) => s.length.to_string().into_bytes(),
            _ => s.edge_id(true, true).unwrap_or(StreamId::MAX).to_vec(),
        };
    }
    if let Some((at, id)) = id_at {
        argv[at] = id.to_vec();
    }
    argv
}

// ANCHOR: stream_xadd
/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] <*|id> field value ...
fn xadd(ctx: &mut Ctx, args: Args) {
    let Some(p) = parse_add_trim(ctx, &args, true) else {
        return;
    };
    let field_pos = p.end + 1;
    if args.len() < field_pos + 2 || (args.len() - field_pos) % 2 == 1 {
        ctx.reply()
            .error("ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if let Some((id, true)) = p.id {
        if id.is_zero() {
            ctx.reply()
                .error("ERR The ID specified in XADD must be greater than 0-0");
            return;
        }
    }
    let key = &args[1];
    let max_bytes = ctx.server.config.stream_node_max_bytes;
    let max_entries = ctx.server.config.stream_node_max_entries;
    let now = ctx.now_ms.max(0) as u64;
    let pairs: Vec<&[u8]> = (field_pos..args.len()).map(|i| args.get(i)).collect();

    let exists = match ctx.write_key(key) {
        (Some(o), reply) => {
            if !matches!(o.value, Value::Stream(_)) {
                reply.error(crate::server::WRONGTYPE);
                return;
            }
            true
        }
        (None, _) => false,
    };
    if !exists {
        if p.no_mkstream {
            ctx.reply().null();
            return;
        }
        let obj = ctx.new_object(Value::Stream(Box::default()));
        ctx.db().add(key, obj);
    }
    let (Some(obj), reply) = ctx.write_key(key) else {
        return;
    };
    let Value::Stream(s) = &mut obj.value else {
        return;
    };
    if s.last_id == StreamId::MAX {
        reply.error("ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    // Resolve the ID: `*` is the clock (or one above the last ID), `ms-*`
    // the next sequence in that millisecond.
    let id = match p.id {
        None => s.next_id(now),
        Some((id, true)) => id,
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                if s.last_id.seq == u64::MAX {
                    reply.error(
                        "ERR The ID specified in XADD is equal or smaller than the target stream top item",
                    );
                    return;
                }
                StreamId::new(id.ms, s.last_id.seq + 1)
            } else {
                id
            }
        }
    };
    match s.append(id, &pairs, max_bytes, max_entries) {
        Ok(()) => {}
        Err(crate::stream::AppendError::IdTooSmall) => {
            reply.error(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            );
            return;
        }
        Err(crate::stream::AppendError::TooLarge) => {
            reply.error("ERR Elements are too large to be stored");
            return;
        }
    }
    bulk_id(reply, id);
    let trimmed = s.trim(p.strategy, p.approx, p.limit);
    let id_rewrite = match p.id {
        Some((_, true)) => None,
        _ => Some((p.end, id)),
    };
    let rewrite =
        (p.approx || id_rewrite.is_some()).then(|| trimmed_argv(&args, &p, s, id_rewrite));
    ctx.signal_modified_key(key);
    ctx.notify(STREAM, "xadd", key);
    ctx.dirty(1);
    if trimmed > 0 {
        ctx.notify(STREAM, "xtrim", key);
    }
    if let Some(argv) = rewrite {
        ctx.propagate_as(&argv);
    }
    ctx.signal_key_as_ready(key);
}
// ANCHOR_END: stream_xadd

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let (obj, reply) = ctx.write_key(key);
    let exists = stream_or_wrongtype!(obj, reply).is_some();
    let Some(p) = parse_add_trim(ctx, &args, false) else {
        return;
    };
    if !exists {
        ctx.reply().int(0);
        return;
    }
    let (Some(obj), reply) = ctx.write_key(key) else {
        return;
    };
    let Value::Stream(s) = &mut obj.value else {
        return;
    };
    let deleted = s.trim(p.strategy, p.approx, p.limit);
    reply.int(deleted as i64);
    let rewrite = p.approx.then(|| trimmed_argv(&args, &p, s, None));
    if deleted > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(STREAM, "xtrim", key);
        ctx.dirty(deleted);
        if let Some(argv) = rewrite {
            ctx.propagate_as(&argv);
        }
    }
}

/// XDEL key id [id ...]: how many of the IDs existed and were deleted.
fn xdel(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let (obj, reply) = ctx.write_key(key);
    let exists = stream_or_wrongtype!(obj, reply).is_some();
    // Every ID is checked before anything is deleted.
    let mut ids = Vec::with_capacity(args.len() - 2);
    for i in 2..args.len() {
        let Some(id) = id_or_reply(ctx, args.get(i), 0, true) else {
            return;
        };
        ids.push(id);
    }
    if !exists {
        ctx.reply().int(0);
        return;
    }
    let (Some(obj), reply) = ctx.write_key(key) else {
        return;
    };
    let Value::Stream(s) = &mut obj.value else {
        return;
    };
    let deleted = ids.iter().filter(|id| s.delete(**id)).count();
    reply.int(deleted as i64);
    if deleted > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(STREAM, "xdel", key);
        ctx.dirty(deleted as u64);
    }
}

// ============================================================================
// XRANGE, XREVRANGE, XLEN
// ============================================================================

fn xrange(ctx: &mut Ctx, args: Args) {
    range_command(ctx, args, false);
}

fn xrevrange(ctx: &mut Ctx, args: Args) {
    range_command(ctx, args, true);
}

// ANCHOR: stream_xrange
/// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].
fn range_command(ctx: &mut Ctx, args: Args, rev: bool) {
    let (start_arg, end_arg) = if rev {
        (args.get(3), args.get(2))
    } else {
        (args.get(2), args.get(3))
    };
    let Some((mut start, start_ex)) = interval_or_reply(ctx, start_arg, 0) else {
        return;
    };
    if start_ex {
        match start.next() {
            Some(id) => start = id,
            None => return ctx.reply().error("ERR invalid start ID for the interval"),
        }
    }
    let Some((mut end, end_ex)) = interval_or_reply(ctx, end_arg, u64::MAX) else {
        return;
    };
    if end_ex {
        match end.prev() {
            Some(id) => end = id,
            None => return ctx.reply().error("ERR invalid end ID for the interval"),
        }
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if args.get(j).eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            let Some(n) = i64_or_reply(ctx, args.get(j + 1)) else {
                return;
            };
            count = n.max(0);
            j += 2;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
    }
    let (obj, reply) = ctx.read_key(&args[1]);
    let Some(s) = stream_or_wrongtype!(obj, reply) else {
        reply.array(0);
        return;
    };
    if count == 0 {
        reply.null_array();
        return;
    }
    let count = if count < 0 { 0 } else { count as usize };
    if rev {
        reply_range(reply, s, end, start, count, true);
    } else {
        reply_range(reply, s, start, end, count, false);
    }
}
// ANCHOR_END: stream_xrange

fn xlen(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(&args[1]);
    let len = stream_or_wrongtype!(obj, reply).map_or(0, |s| s.length);
    reply.int(len as i64);
}

// ============================================================================
// XREAD and XREADGROUP
// ============================================================================

/// Redis's `getTimeoutFromObjectOrReply` in milliseconds.
fn block_ms_or_reply(ctx: &mut Ctx, arg: &[u8]) -> Option<Option<std::time::Instant>> {
    let Some(ms) = parse_i64(arg) else {
        ctx.reply()
            .error("ERR timeout is not an integer or out of range");
        return None;
    };
    if ms < 0 {
        ctx.reply().error("ERR timeout is negative");
        return None;
    }
    if ms > i64::MAX - ctx.now_ms {
        ctx.reply().error("ERR timeout is out of range");
        return None;
    }
    if ms == 0 {
        return Some(None);
    }
    Some(Some(
        std::time::Instant::now() + std::time::Duration::from_millis(ms as u64),
    ))
}

// ANCHOR: stream_xread
/// XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...
/// XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...
///
/// For each stream with entries above its ID (`$`: the last ID now;
/// `>` for a group: never delivered to the group), reply them. If none has
/// any and BLOCK was given, park on all the keys; the parked command runs
/// again when one is written to, with `$` replaced by the ID it stood for
/// (otherwise the re-run would wait for entries after the new one).
fn xread(ctx: &mut Ctx, args: Args) {
    let xreadgroup = args[0].len() == 10;
    let mut block: Option<Option<std::time::Instant>> = None;
    let mut count: usize = 0;
    let mut streams_at = 0;
    let mut noack = false;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let o = args.get(i);
        if o.eq_ignore_ascii_case(b"block") && more > 0 {
            i += 1;
            let Some(deadline) = block_ms_or_reply(ctx, args.get(i)) else {
                return;
            };
            block = Some(deadline);
        } else if o.eq_ignore_ascii_case(b"count") && more > 0 {
            i += 1;
            let Some(n) = i64_or_reply(ctx, args.get(i)) else {
                return;
            };
            count = n.max(0) as usize;
        } else if o.eq_ignore_ascii_case(b"streams") && more > 0 {
            streams_at = i + 1;
            if !(args.len() - streams_at).is_multiple_of(2) {
                ctx.reply().error(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                );
                return;
            }
            break;
        } else if o.eq_ignore_ascii_case(b"group") && more >= 2 {
            if !xreadgroup {
                ctx.reply().error(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                );
                return;
            }
            group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if o.eq_ignore_ascii_case(b"noack") {
            if !xreadgroup {
                ctx.reply().error(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                );
                return;
            }
            noack = true;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
        i += 1;
    }
    if streams_at == 0 {
        return ctx.reply().error(SYNTAX_ERR);
    }
    if xreadgroup && group.is_none() {
        return ctx.reply().error("ERR Missing GROUP option for XREADGROUP");
    }
    let nstreams = (args.len() - streams_at) / 2;

    // Resolve each stream's ID; check types and groups first, as Redis.
    let mut ids: Vec<StreamId> = Vec::with_capacity(nstreams);
    for k in 0..nstreams {
        let key = args.get(streams_at + k);
        let id_arg = args.get(streams_at + nstreams + k);
        let (obj, reply) = ctx.read_key(key);
        let s = stream_or_wrongtype!(obj, reply);
        if let Some((g, _)) = group {
            if !s.as_ref().is_some_and(|s| s.groups.contains_key(g)) {
                let msg = format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(g)
                );
                reply.error(&msg);
                return;
            }
        }
        if id_arg == b"$" {
            if xreadgroup {
                reply.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return;
            }
            ids.push(s.map_or(StreamId::MIN, |s| s.last_id));
            continue;
        }
        if id_arg == b">" {
            if !xreadgroup {
                reply.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return;
            }
            ids.push(StreamId::MAX);
            continue;
        }
        let Some(id) = id_or_reply(ctx, id_arg, 0, true) else {
            return;
        };
        ids.push(id);
    }

    let resp3 = ctx.client.reply.is_resp3();
    let mut served = 0usize;
    let mut at = None;
    let now = ctx.now_ms;
    for (k, &gt) in ids.iter().enumerate() {
        let key = args.get(streams_at + k);
        let db = ctx.client.db;
        let Some(obj) = ctx.server.dbs[db].dict.get_mut(key) else {
            continue;
        };
        let Value::Stream(s) = &mut obj.value else {
            continue;
        };
        let (serve, history) = match group {
            Some((g, _)) => {
                if gt != StreamId::MAX {
                    (true, true)
                } else {
                    let last = s.groups[g].last_id;
                    (s.length > 0 && s.last_valid_id() > last, false)
                }
            }
            None => (s.length > 0 && s.last_valid_id() > gt, false),
        };
        if !serve {
            continue;
        }
        let reply = &mut ctx.client.reply;
        if served == 0 {
            at = Some(reply.defer_len());
        }
        served += 1;
        if !resp3 {
            reply.array(2);
        }
        reply.bulk(key);
        let start = gt.next().unwrap_or(StreamId::MAX);
        match group {
            None => {
                reply_range(reply, s, start, StreamId::MAX, count, false);
            }
            Some((g, consumer)) => {
                let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
                let created = serve_group(
                    reply, s, key, g, consumer, start, count, noack, history, now, &mut props,
                );
                if created {
                    ctx.notify(STREAM, "xgroup-createconsumer", key);
                    if noack {
                        props.insert(
                            0,
                            vec![
                                b"XGROUP".to_vec(),
                                b"CREATECONSUMER".to_vec(),
                                key.to_vec(),
                                g.to_vec(),
                                consumer.to_vec(),
                            ],
                        );
                    }
                }
                for p in &props {
                    ctx.also_propagate(p);
                }
                ctx.dirty(1);
            }
        }
    }
    if served > 0 {
        let kind = if resp3 {
            Aggregate::Map
        } else {
            Aggregate::Array
        };
        ctx.client
            .reply
            .set_len(at.expect("deferred"), kind, served);
        ctx.prevent_propagation();
        return;
    }
    ctx.prevent_propagation();
    match block {
        Some(deadline) if ctx.can_block() => {
            // Park with `$` pinned to the ID it meant now.
            let mut owned = OwnedArgs::default();
            for j in 0..args.len() {
                if j >= streams_at + nstreams && args.get(j) == b"$" {
                    owned.push(&ids[j - streams_at - nstreams].to_vec());
                } else {
                    owned.push(args.get(j));
                }
            }
            let keys: Vec<&[u8]> = (0..nstreams).map(|k| args.get(streams_at + k)).collect();
            ctx.block_for_keys(&keys, deadline, TimeoutReply::NullArray, owned.args());
        }
        _ => ctx.client.reply.null_array(),
    }
}
// ANCHOR_END: stream_xread

// ANCHOR: stream_serve_group
/// Reply a consumer's share of a stream and record it (Redis's
/// `streamReplyWithRange` with a group, or
/// `streamReplyWithRangeFromConsumerPEL` for history). New entries move
/// the group's last ID forward and, unless NOACK, enter both PELs; every
/// delivery is queued in `props` as the XCLAIM a replica replays, and the
/// group's new position as an XGROUP SETID. Returns whether the consumer
/// was created.
#[allow(clippy::too_many_arguments)]
fn serve_group(
    reply: &mut Reply,
    s: &mut Stream,
    key: &[u8],
    gname: &[u8],
    cname: &[u8],
    start: StreamId,
    count: usize,
    noack: bool,
    history: bool,
    now: i64,
    props: &mut Vec<Vec<Vec<u8>>>,
) -> bool {
    let mut created = false;
    let Stream { groups, .. } = &mut *s;
    let group = groups.get_mut(gname).expect("checked");
    if !group.consumers.contains_key(cname) {
        group.consumers.insert(cname.to_vec(), Default::default());
        created = true;
    }
    group.consumers.get_mut(cname).expect("present").seen_time = now;

    if history {
        // The consumer's own pending entries from `start`.
        let ids: Vec<StreamId> = {
            let consumer = &group.consumers[cname];
            consumer
                .pel
                .range(start..)
                .map(|(id, _)| *id)
                .take(if count == 0 { usize::MAX } else { count })
                .collect()
        };
        reply.array(ids.len());
        for id in ids {
            let mut found = false;
            s.for_each_in_range(id, id, false, |lp, view, e| {
                reply_entry(reply, lp, view, e);
                found = true;
                false
            });
            let group = s.groups.get_mut(gname).expect("checked");
            if found {
                if let Some(nack) = group.pel.get_mut(&id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            } else {
                reply.array(2);
                bulk_id(reply, id);
                reply.null_array();
            }
        }
        return created;
    }

    // New entries: those after the group's last delivered ID.
    let start = group.last_id.next().unwrap_or(StreamId::MAX);
    let at = reply.defer_len();
    let mut delivered: Vec<StreamId> = Vec::new();
    s.for_each_in_range(start, StreamId::MAX, false, |lp, view, e| {
        reply_entry(reply, lp, view, e);
        delivered.push(e.id);
        count == 0 || delivered.len() < count
    });
    reply.set_len(at, Aggregate::Array, delivered.len());
    if delivered.is_empty() {
        return created;
    }
    // Per delivered entry: may a deleted entry lie after it, and what is
    // its distance from the first entry ever (both O(1) questions).
    let counters: Vec<(bool, i64)> = delivered
        .iter()
        .map(|id| {
            (
                range_has_tombstones(s, *id, StreamId::MAX),
                estimate_distance(s, *id),
            )
        })
        .collect();
    let entries_added = s.entries_added;
    let group = s.groups.get_mut(gname).expect("checked");
    for (id, (tombstones, estimate)) in delivered.iter().zip(counters) {
        if *id > group.last_id {
            if group.entries_read != -1 && !tombstones {
                group.entries_read += 1;
            } else if entries_added != 0 {
                group.entries_read = estimate;
            }
            group.last_id = *id;
        }
        if noack {
            continue;
        }
        let nack = PendingEntry {
            delivery_time: now,
            delivery_count: 1,
            consumer: cname.to_vec(),
        };
        if let Some(old) = group.pel.insert(*id, nack) {
            if let Some(c) = group.consumers.get_mut(&old.consumer) {
                c.pel.remove(id);
            }
        }
        group
            .consumers
            .get_mut(cname)
            .expect("present")
            .pel
            .insert(*id, ());
        props.push(xclaim_propagation(key, gname, cname, *id, group));
    }
    // Redis 7.0 sends the group's new position only under NOACK (with
    // acknowledgements the XCLAIMs carry it as LASTID).
    if noack {
        props.push(setid_propagation(key, gname, group));
    }
    created
}
// ANCHOR_END: stream_serve_group

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID
/// last`: what a delivery looks like to a replica (`streamPropagateXCLAIM`).
fn xclaim_propagation(
    key: &[u8],
    g: &[u8],
    c: &[u8],
    id: StreamId,
    group: &ConsumerGroup,
) -> Vec<Vec<u8>> {
    let nack = &group.pel[&id];
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        g.to_vec(),
        c.to_vec(),
        b"0".to_vec(),
        id.to_vec(),
        b"TIME".to_vec(),
        nack.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        nack.delivery_count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        group.last_id.to_vec(),
    ]
}

/// `XGROUP SETID key group last ENTRIESREAD n` (`streamPropagateGroupID`).
fn setid_propagation(key: &[u8], g: &[u8], group: &ConsumerGroup) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        g.to_vec(),
        group.last_id.to_vec(),
        b"ENTRIESREAD".to_vec(),
        group.entries_read.to_string().into_bytes(),
    ]
}

/// Could a deleted entry lie in `start..=end`? Judged from the greatest
/// deleted ID, as Redis does (`streamRangeHasTombstones`).
fn range_has_tombstones(s: &Stream, start: StreamId, end: StreamId) -> bool {
    if s.length == 0 || s.max_deleted_entry_id.is_zero() {
        return false;
    }
    if s.first_id > s.max_deleted_entry_id {
        return false;
    }
    start <= s.max_deleted_entry_id && s.max_deleted_entry_id <= end
}

// ANCHOR: stream_lag
/// How many entries were added up to `id` (Redis's
/// `streamEstimateDistanceFromFirstEverEntry`): exact at the ends of the
/// stream, and when no deletion happened inside it; otherwise unknown
/// (-1), and XINFO's lag is then null.
pub fn estimate_distance(s: &Stream, id: StreamId) -> i64 {
    if s.entries_added == 0 {
        return 0;
    }
    if s.length == 0 && id < s.last_id {
        return s.entries_added as i64;
    }
    if id == s.last_id {
        return s.entries_added as i64;
    }
    if id > s.last_id {
        return -1;
    }
    if s.max_deleted_entry_id.is_zero() || s.max_deleted_entry_id < s.first_id {
        if id < s.first_id {
            return (s.entries_added - s.length) as i64;
        }
        if id == s.first_id {
            return (s.entries_added - s.length + 1) as i64;
        }
    }
    -1
}
// ANCHOR_END: stream_lag

/// The lag of a group (XINFO): entries added but not read by it, or null
/// when that cannot be known (`streamReplyWithCGLag`).
fn reply_lag(reply: &mut Reply, s: &Stream, g: &ConsumerGroup) {
    let valid;
    let mut entries_read = g.entries_read;
    if s.entries_added == 0 {
        valid = true;
        entries_read = 0;
    } else if g.entries_read != -1 && !range_has_tombstones(s, g.last_id, StreamId::MAX) {
        valid = true;
    } else {
        let est = estimate_distance(s, g.last_id);
        if est >= 0 {
            entries_read = est;
            valid = true;
        } else {
            valid = false;
        }
    }
    if valid {
        reply.int(s.entries_added as i64 - entries_read);
    } else {
        reply.null();
    }
}

// ============================================================================
// XGROUP
// ============================================================================

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

// ANCHOR: stream_xgroup
/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP, checked in
/// Redis's order: options, key type, key existence, group existence.
fn xgroup(ctx: &mut Ctx, args: Args) {
    let sub = args.get(1).to_ascii_lowercase();
    let mut mkstream = false;
    let mut entries_read: i64 = -1;
    let mut exists = false;
    if args.len() >= 4 {
        let mut i = 5;
        while i < args.len() {
            let a = args.get(i);
            if sub == b"create" && a.eq_ignore_ascii_case(b"mkstream") {
                mkstream = true;
                i += 1;
            } else if (sub == b"create" || sub == b"setid")
                && a.eq_ignore_ascii_case(b"entriesread")
                && i + 1 < args.len()
            {
                let Some(n) = i64_or_reply(ctx, args.get(i + 1)) else {
                    return;
                };
                if n < 0 && n != -1 {
                    ctx.reply()
                        .error("ERR value for ENTRIESREAD must be positive or -1");
                    return;
                }
                entries_read = n;
                i += 2;
            } else {
                subcommand_syntax_error(ctx.reply(), "XGROUP", args.get(1));
                return;
            }
        }
        let (obj, reply) = ctx.write_key(args.get(2));
        exists = stream_or_wrongtype!(obj, reply).is_some();
    }
    let key = if args.len() >= 3 { args.get(2) } else { b"" };
    let gname = if args.len() >= 4 { args.get(3) } else { b"" };
    let mut group_exists = false;
    if args.len() >= 4 && !mkstream {
        if !exists {
            ctx.reply().error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
            return;
        }
        group_exists = with_stream(ctx, key, |s| s.groups.contains_key(gname)).unwrap_or(false);
        if !group_exists && matches!(&sub[..], b"setid" | b"createconsumer" | b"delconsumer") {
            let msg = format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(gname),
                String::from_utf8_lossy(key)
            );
            ctx.reply().error(&msg);
            return;
        }
    }
    match &sub[..] {
        b"help" if args.len() == 2 => reply_help(ctx.reply(), "XGROUP", XGROUP_HELP),
        b"create" if (5..=8).contains(&args.len()) => {
            let id = if args.get(4) == b"$" {
                with_stream(ctx, key, |s| s.last_id).unwrap_or(StreamId::MIN)
            } else {
                match id_or_reply(ctx, args.get(4), 0, true) {
                    Some(id) => id,
                    None => return,
                }
            };
            if !exists {
                let obj = ctx.new_object(Value::Stream(Box::default()));
                ctx.db().add(key, obj);
                ctx.signal_modified_key(key);
            }
            let created = with_stream(ctx, key, |s| {
                if s.groups.contains_key(gname) {
                    return false;
                }
                s.groups.insert(
                    gname.to_vec(),
                    ConsumerGroup {
                        last_id: id,
                        entries_read,
                        ..Default::default()
                    },
                );
                true
            })
            .unwrap_or(false);
            if created {
                ctx.reply().ok();
                ctx.dirty(1);
                ctx.notify(STREAM, "xgroup-create", key);
            } else {
                ctx.reply()
                    .error("BUSYGROUP Consumer Group name already exists");
            }
        }
        b"setid" if args.len() == 5 || args.len() == 7 => {
            let id = if args.get(4) == b"$" {
                with_stream(ctx, key, |s| s.last_id).unwrap_or(StreamId::MIN)
            } else {
                match id_or_reply(ctx, args.get(4), 0, false) {
                    Some(id) => id,
                    None => return,
                }
            };
            with_stream(ctx, key, |s| {
                if let Some(g) = s.groups.get_mut(gname) {
                    g.last_id = id;
                    g.entries_read = entries_read;
                }
            });
            ctx.reply().ok();
            ctx.dirty(1);
            ctx.notify(STREAM, "xgroup-setid", key);
        }
        b"destroy" if args.len() == 4 => {
            if group_exists {
                with_stream(ctx, key, |s| s.groups.remove(gname));
                ctx.reply().int(1);
                ctx.dirty(1);
                ctx.notify(STREAM, "xgroup-destroy", key);
                // Readers blocked on this group must learn it is gone.
                ctx.signal_key_as_ready(key);
            } else {
                ctx.reply().int(0);
            }
        }
        b"createconsumer" if args.len() == 5 => {
            let cname = args.get(4);
            let now = ctx.now_ms;
            let created = with_stream(ctx, key, |s| {
                let g = s.groups.get_mut(gname).expect("checked");
                if g.consumers.contains_key(cname) {
                    return false;
                }
                g.consumers.insert(
                    cname.to_vec(),
                    crate::stream::Consumer {
                        seen_time: now,
                        ..Default::default()
                    },
                );
                true
            })
            .unwrap_or(false);
            if created {
                ctx.dirty(1);
                ctx.notify(STREAM, "xgroup-createconsumer", key);
            }
            ctx.reply().int(i64::from(created));
        }
        b"delconsumer" if args.len() == 5 => {
            let cname = args.get(4);
            let pending = with_stream(ctx, key, |s| {
                let g = s.groups.get_mut(gname).expect("checked");
                let c = g.consumers.remove(cname)?;
                for id in c.pel.keys() {
                    g.pel.remove(id);
                }
                Some(c.pel.len())
            })
            .flatten();
            if pending.is_some() {
                ctx.dirty(1);
                ctx.notify(STREAM, "xgroup-delconsumer", key);
            }
            ctx.reply().int(pending.unwrap_or(0) as i64);
        }
        _ => subcommand_syntax_error(ctx.reply(), "XGROUP", args.get(1)),
    }
}
// ANCHOR_END: stream_xgroup

/// Run `f` on the stream at `key` (no expiry check, no stats: the caller
/// already looked the key up once for this command).
fn with_stream<T>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Stream) -> T) -> Option<T> {
    let db = ctx.client.db;
    match ctx.server.dbs[db].dict.get_mut(key).map(|o| &mut o.value) {
        Some(Value::Stream(s)) => Some(f(s)),
        _ => None,
    }
}

// ============================================================================
// XSETID, XACK, XPENDING
// ============================================================================

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
fn xsetid(ctx: &mut Ctx, args: Args) {
    let Some(id) = id_or_reply(ctx, args.get(2), 0, true) else {
        return;
    };
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let o = args.get(i);
        if o.eq_ignore_ascii_case(b"entriesadded") && more > 0 {
            let Some(n) = i64_or_reply(ctx, args.get(i + 1)) else {
                return;
            };
            if n < 0 {
                return ctx.reply().error("ERR entries_added must be positive");
            }
            entries_added = n;
            i += 2;
        } else if o.eq_ignore_ascii_case(b"maxdeletedid") && more > 0 {
            let Some(m) = id_or_reply(ctx, args.get(i + 1), 0, true) else {
                return;
            };
            if id < m {
                return ctx.reply().error(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                );
            }
            max_xdel = m;
            i += 2;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
    }
    let key = &args[1];
    let (obj, reply) = ctx.write_key(key);
    let Some(s) = stream_or_wrongtype!(obj, reply) else {
        reply.error("ERR no such key");
        return;
    };
    if s.length > 0 {
        if id < s.last_valid_id() {
            reply
                .error("ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if entries_added != -1 && s.length > entries_added as u64 {
            reply.error(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            );
            return;
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_entry_id = max_xdel;
    }
    reply.ok();
    ctx.dirty(1);
    ctx.notify(STREAM, "xsetid", key);
}

/// XACK key group id [id ...]: how many were pending and are no more.
fn xack(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let (obj, reply) = ctx.read_key(key);
    let has_group =
        stream_or_wrongtype!(obj, reply).is_some_and(|s| s.groups.contains_key(args.get(2)));
    if !has_group {
        return reply.int(0);
    }
    let mut ids = Vec::with_capacity(args.len() - 3);
    for j in 3..args.len() {
        let Some(id) = id_or_reply(ctx, args.get(j), 0, true) else {
            return;
        };
        ids.push(id);
    }
    let acked = with_stream(ctx, key, |s| {
        let g = s.groups.get_mut(args.get(2)).expect("checked");
        let mut n = 0;
        for id in &ids {
            if let Some(nack) = g.pel.remove(id) {
                if let Some(c) = g.consumers.get_mut(&nack.consumer) {
                    c.pel.remove(id);
                }
                n += 1;
            }
        }
        n
    })
    .unwrap_or(0);
    ctx.dirty(acked);
    ctx.reply().int(acked as i64);
}

// ANCHOR: stream_xpending
/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
fn xpending(ctx: &mut Ctx, args: Args) {
    let justinfo = args.len() == 3;
    if args.len() != 3 && !(6..=9).contains(&args.len()) {
        return ctx.reply().error(SYNTAX_ERR);
    }
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&[u8]> = None;
    if args.len() >= 6 {
        let mut at = 3;
        if args.get(3).eq_ignore_ascii_case(b"idle") {
            let Some(n) = i64_or_reply(ctx, args.get(4)) else {
                return;
            };
            minidle = n;
            if args.len() < 8 {
                return ctx.reply().error(SYNTAX_ERR);
            }
            at += 2;
        }
        let Some(n) = i64_or_reply(ctx, args.get(at + 2)) else {
            return;
        };
        count = n.max(0);
        let Some((s, ex)) = interval_or_reply(ctx, args.get(at), 0) else {
            return;
        };
        start = s;
        if ex {
            match start.next() {
                Some(id) => start = id,
                None => return ctx.reply().error("ERR invalid start ID for the interval"),
            }
        }
        let Some((e, ex)) = interval_or_reply(ctx, args.get(at + 1), u64::MAX) else {
            return;
        };
        end = e;
        if ex {
            match end.prev() {
                Some(id) => end = id,
                None => return ctx.reply().error("ERR invalid end ID for the interval"),
            }
        }
        if at + 3 < args.len() {
            consumer = Some(args.get(at + 3));
        }
    }
    let key = &args[1];
    let gname = args.get(2);
    let now = ctx.now_ms;
    let (obj, reply) = ctx.read_key(key);
    let s = stream_or_wrongtype!(obj, reply);
    let Some(g) = s.and_then(|s| s.groups.get(gname)) else {
        let msg = format!(
            "NOGROUP No such key '{}' or consumer group '{}'",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(gname)
        );
        reply.error(&msg);
        return;
    };
    if justinfo {
        reply.array(4);
        reply.int(g.pel.len() as i64);
        if g.pel.is_empty() {
            reply.null();
            reply.null();
            reply.null_array();
        } else {
            bulk_id(reply, *g.pel.keys().next().expect("non-empty"));
            bulk_id(reply, *g.pel.keys().next_back().expect("non-empty"));
            let holders: Vec<(&Vec<u8>, usize)> = g
                .consumers
                .iter()
                .filter(|(_, c)| !c.pel.is_empty())
                .map(|(n, c)| (n, c.pel.len()))
                .collect();
            reply.array(holders.len());
            for (name, n) in holders {
                reply.array(2);
                reply.bulk(name);
                reply.bulk_i64(n as i64);
            }
        }
        return;
    }
    let ids: Vec<StreamId> = match consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => c.pel.range(start..).map(|(id, _)| *id).collect(),
            None => {
                reply.array(0);
                return;
            }
        },
        None => g.pel.range(start..).map(|(id, _)| *id).collect(),
    };
    let at = reply.defer_len();
    let mut n = 0;
    for id in ids {
        if count == 0 || id > end {
            break;
        }
        let nack = &g.pel[&id];
        let idle = now - nack.delivery_time;
        if minidle != 0 && idle < minidle {
            continue;
        }
        n += 1;
        count -= 1;
        reply.array(4);
        bulk_id(reply, id);
        reply.bulk(&nack.consumer);
        reply.int(idle.max(0));
        reply.int(nack.delivery_count as i64);
    }
    reply.set_len(at, Aggregate::Array, n);
}
// ANCHOR_END: stream_xpending

// ============================================================================
// XCLAIM and XAUTOCLAIM
// ============================================================================

/// Move the pending entry `id` to `consumer`, creating the consumer if
/// needed (Redis's shared core of XCLAIM and XAUTOCLAIM). Returns whether
/// the consumer was created.
fn claim_one(group: &mut ConsumerGroup, id: StreamId, cname: &[u8], now: i64) -> bool {
    let mut created = false;
    if !group.consumers.contains_key(cname) {
        group.consumers.insert(
            cname.to_vec(),
            crate::stream::Consumer {
                seen_time: now,
                ..Default::default()
            },
        );
        created = true;
    }
    let nack = group.pel.get_mut(&id).expect("pending");
    if nack.consumer != cname {
        let old = std::mem::replace(&mut nack.consumer, cname.to_vec());
        if let Some(c) = group.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
    }
    let consumer = group.consumers.get_mut(cname).expect("present");
    consumer.seen_time = now;
    consumer.pel.insert(id, ());
    created
}

fn nogroup_key_or_group(reply: &mut Reply, key: &[u8], g: &[u8]) {
    let msg = format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(g)
    );
    reply.error(&msg);
}

// ANCHOR: stream_xclaim
/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME
/// unix-ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
///
/// The IDs run until the first argument that is not one; the options
/// follow. An ID still pending and idle long enough moves to `consumer`
/// (FORCE: even if it was not pending); an ID whose entry was deleted
/// leaves the PEL. Each change is propagated as a canonical XCLAIM.
fn xclaim(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let gname = args.get(2);
    let cname = args.get(3);
    let (obj, reply) = ctx.read_key(key);
    let s = stream_or_wrongtype!(obj, reply);
    if !s.is_some_and(|s| s.groups.contains_key(gname)) {
        return nogroup_key_or_group(reply, key, gname);
    }
    let Some(minidle) = parse_i64(args.get(4)) else {
        return reply.error("ERR Invalid min-idle-time argument for XCLAIM");
    };
    let minidle = minidle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match parse_id(args.get(j), 0, true, false) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now_ms;
    let (mut force, mut justid) = (false, false);
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut lastid = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        let mut number = |ctx: &mut Ctx, what: &str| -> Option<i64> {
            j += 1;
            let n = parse_i64(args.get(j));
            if n.is_none() {
                ctx.reply()
                    .error(&format!("ERR Invalid {what} option argument for XCLAIM"));
            }
            n
        };
        if opt.eq_ignore_ascii_case(b"force") {
            force = true;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else if opt.eq_ignore_ascii_case(b"idle") && more > 0 {
            let Some(n) = number(ctx, "IDLE") else { return };
            deliverytime = now - n;
        } else if opt.eq_ignore_ascii_case(b"time") && more > 0 {
            let Some(n) = number(ctx, "TIME") else { return };
            deliverytime = n;
        } else if opt.eq_ignore_ascii_case(b"retrycount") && more > 0 {
            let Some(n) = number(ctx, "RETRYCOUNT") else {
                return;
            };
            retrycount = n;
        } else if opt.eq_ignore_ascii_case(b"lastid") && more > 0 {
            j += 1;
            let Some(id) = id_or_reply(ctx, args.get(j), 0, true) else {
                return;
            };
            lastid = id;
        } else {
            let msg = format!(
                "ERR Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(opt)
            );
            return ctx.reply().error(&msg);
        }
        j += 1;
    }
    if deliverytime == -1 || deliverytime < 0 || deliverytime > now {
        deliverytime = now;
    }

    let db = ctx.client.db;
    let Some(Value::Stream(s)) = ctx.server.dbs[db].dict.get_mut(key).map(|o| &mut o.value) else {
        return;
    };
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut dirty = 0u64;
    let mut created = false;
    let mut propagate_last_id = false;
    {
        let g = s.groups.get_mut(gname).expect("checked");
        if lastid > g.last_id {
            g.last_id = lastid;
            propagate_last_id = true;
        }
    }
    let reply = &mut ctx.client.reply;
    let at = reply.defer_len();
    let mut n = 0;
    for id in &ids {
        let exists = entry_exists(s, *id);
        let g = s.groups.get_mut(gname).expect("checked");
        if !exists {
            if g.pel.contains_key(id) {
                props.push(xclaim_propagation(
                    key,
                    gname,
                    &g.pel[id].consumer.clone(),
                    *id,
                    g,
                ));
                propagate_last_id = false;
                dirty += 1;
                let nack = g.pel.remove(id).expect("pending");
                if let Some(c) = g.consumers.get_mut(&nack.consumer) {
                    c.pel.remove(id);
                }
            }
            continue;
        }
        if force && !g.pel.contains_key(id) {
            // A NACK with no owner yet: claim_one gives it one.
            g.pel.insert(
                *id,
                PendingEntry {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: Vec::new(),
                },
            );
        }
        let Some(nack) = g.pel.get(id) else { continue };
        if !nack.consumer.is_empty() && minidle != 0 && now - nack.delivery_time < minidle {
            continue;
        }
        created |= claim_one(g, *id, cname, now);
        let nack = g.pel.get_mut(id).expect("pending");
        nack.delivery_time = deliverytime;
        if retrycount >= 0 {
            nack.delivery_count = retrycount as u64;
        } else if !justid {
            nack.delivery_count += 1;
        }
        props.push(xclaim_propagation(key, gname, cname, *id, g));
        propagate_last_id = false;
        dirty += 1;
        if justid {
            bulk_id(reply, *id);
        } else {
            s.for_each_in_range(*id, *id, false, |lp, view, e| {
                reply_entry(reply, lp, view, e);
                false
            });
        }
        n += 1;
    }
    if propagate_last_id {
        let g = &s.groups[gname];
        props.push(setid_propagation(key, gname, g));
        dirty += 1;
    }
    reply.set_len(at, Aggregate::Array, n);
    if created {
        ctx.dirty(1);
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    for p in &props {
        ctx.also_propagate(p);
    }
    ctx.dirty(dirty);
    ctx.prevent_propagation();
}
// ANCHOR_END: stream_xclaim

fn entry_exists(s: &Stream, id: StreamId) -> bool {
    let mut found = false;
    s.for_each_in_range(id, id, false, |_, _, _| {
        found = true;
        false
    });
    found
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]:
/// XCLAIM over the PEL from `start`, at most `n` (100) entries and 10n
/// PEL slots looked at. Replies the cursor to continue from (0-0 at the
/// end), the claimed entries, and the IDs dropped because deleted.
fn xautoclaim(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let gname = args.get(2);
    let cname = args.get(3);
    let Some(minidle) = parse_i64(args.get(4)) else {
        return ctx
            .reply()
            .error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
    };
    let minidle = minidle.max(0);
    let Some((mut start, ex)) = interval_or_reply(ctx, args.get(5), 0) else {
        return;
    };
    if ex {
        match start.next() {
            Some(id) => start = id,
            None => return ctx.reply().error("ERR invalid start ID for the interval"),
        }
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            let max = i64::MAX / 16;
            match parse_i64(args.get(j + 1)) {
                Some(n) if (1..=max).contains(&n) => count = n,
                _ => return ctx.reply().error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
        j += 1;
    }
    let (obj, reply) = ctx.read_key(key);
    let s = stream_or_wrongtype!(obj, reply);
    if !s.is_some_and(|s| s.groups.contains_key(gname)) {
        return nogroup_key_or_group(reply, key, gname);
    }
    let db = ctx.client.db;
    let Some(Value::Stream(s)) = ctx.server.dbs[db].dict.get_mut(key).map(|o| &mut o.value) else {
        return;
    };
    let now = ctx.now_ms;
    let mut attempts = count * 10;
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut deleted: Vec<StreamId> = Vec::new();
    let mut created = false;
    let reply = &mut ctx.client.reply;
    reply.array(3);
    let mut claimed: Vec<StreamId> = Vec::new();
    let mut cursor = start;
    let mut next_id = None;
    loop {
        let candidate = s.groups[gname]
            .pel
            .range(cursor..)
            .next()
            .map(|(id, _)| *id);
        let Some(id) = candidate else { break };
        if attempts == 0 || count == 0 {
            next_id = Some(id);
            break;
        }
        attempts -= 1;
        cursor = id.next().unwrap_or(StreamId::MAX);
        let exists = entry_exists(s, id);
        let g = s.groups.get_mut(gname).expect("checked");
        if !exists {
            let owner = g.pel[&id].consumer.clone();
            props.push(xclaim_propagation(key, gname, &owner, id, g));
            let nack = g.pel.remove(&id).expect("pending");
            if let Some(c) = g.consumers.get_mut(&nack.consumer) {
                c.pel.remove(&id);
            }
            deleted.push(id);
            count -= 1;
            if id == StreamId::MAX {
                break;
            }
            continue;
        }
        if minidle != 0 && now - g.pel[&id].delivery_time < minidle {
            if id == StreamId::MAX {
                break;
            }
            continue;
        }
        created |= claim_one(g, id, cname, now);
        let nack = g.pel.get_mut(&id).expect("pending");
        nack.delivery_time = now;
        if !justid {
            nack.delivery_count += 1;
        }
        props.push(xclaim_propagation(key, gname, cname, id, g));
        claimed.push(id);
        count -= 1;
        if id == StreamId::MAX {
            break;
        }
    }
    bulk_id(reply, next_id.unwrap_or(StreamId::MIN));
    reply.array(claimed.len());
    for id in &claimed {
        if justid {
            bulk_id(reply, *id);
        } else {
            s.for_each_in_range(*id, *id, false, |lp, view, e| {
                reply_entry(reply, lp, view, e);
                false
            });
        }
    }
    reply.array(deleted.len());
    for id in &deleted {
        bulk_id(reply, *id);
    }
    if created {
        ctx.dirty(1);
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    ctx.dirty(props.len() as u64);
    for p in &props {
        ctx.also_propagate(p);
    }
    ctx.prevent_propagation();
}

// ============================================================================
// XINFO
// ============================================================================

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

// ANCHOR: stream_xinfo
/// XINFO STREAM key [FULL [COUNT n]] | GROUPS key | CONSUMERS key group | HELP
fn xinfo(ctx: &mut Ctx, args: Args) {
    let sub = args.get(1).to_ascii_lowercase();
    if sub == b"help" {
        return reply_help(ctx.reply(), "XINFO", XINFO_HELP);
    }
    let key = &args[2];
    let now = ctx.now_ms;
    let (obj, reply) = ctx.read_key(key);
    let Some(s) = stream_or_wrongtype!(obj, reply) else {
        return reply.error("ERR no such key");
    };
    match &sub[..] {
        b"consumers" => {
            let Some(g) = s.groups.get(args.get(3)) else {
                let msg = format!(
                    "NOGROUP No such consumer group '{}' for key name '{}'",
                    String::from_utf8_lossy(args.get(3)),
                    String::from_utf8_lossy(key)
                );
                return reply.error(&msg);
            };
            reply.array(g.consumers.len());
            for (name, c) in &g.consumers {
                reply.map(3);
                reply.bulk(b"name");
                reply.bulk(name);
                reply.bulk(b"pending");
                reply.int(c.pel.len() as i64);
                reply.bulk(b"idle");
                reply.int((now - c.seen_time).max(0));
            }
        }
        b"groups" => {
            reply.array(s.groups.len());
            for (name, g) in &s.groups {
                reply.map(6);
                reply.bulk(b"name");
                reply.bulk(name);
                reply.bulk(b"consumers");
                reply.int(g.consumers.len() as i64);
                reply.bulk(b"pending");
                reply.int(g.pel.len() as i64);
                reply.bulk(b"last-delivered-id");
                bulk_id(reply, g.last_id);
                reply.bulk(b"entries-read");
                reply_entries_read(reply, g);
                reply.bulk(b"lag");
                reply_lag(reply, s, g);
            }
        }
        _ => xinfo_stream(reply, s, &args),
    }
}

fn reply_entries_read(reply: &mut Reply, g: &ConsumerGroup) {
    if g.entries_read != -1 {
        reply.int(g.entries_read);
    } else {
        reply.null();
    }
}

/// XINFO STREAM: the stream's counters, then its first and last entries,
/// or with FULL its entries and every group, PEL and consumer (COUNT
/// bounds each list, default 10, 0: all).
fn xinfo_stream(reply: &mut Reply, s: &Stream, args: &Args) {
    let opts = args.len() - 3;
    let full = opts > 0;
    let mut count: usize = 10;
    if full {
        if (opts != 1 && opts != 3) || !args.get(3).eq_ignore_ascii_case(b"full") {
            return subcommand_syntax_error(reply, "XINFO", args.get(1));
        }
        if opts == 3 {
            if !args.get(4).eq_ignore_ascii_case(b"count") {
                return subcommand_syntax_error(reply, "XINFO", args.get(1));
            }
            let Some(n) = parse_i64(args.get(5)) else {
                return reply.error(NOT_INTEGER);
            };
            count = if n < 0 { 10 } else { n as usize };
        }
    }
    reply.map(if full { 9 } else { 10 });
    reply.bulk(b"length");
    reply.int(s.length as i64);
    reply.bulk(b"radix-tree-keys");
    reply.int(s.nodes.len() as i64);
    reply.bulk(b"radix-tree-nodes");
    reply.int(s.radix_tree_nodes() as i64);
    reply.bulk(b"last-generated-id");
    bulk_id(reply, s.last_id);
    reply.bulk(b"max-deleted-entry-id");
    bulk_id(reply, s.max_deleted_entry_id);
    reply.bulk(b"entries-added");
    reply.int(s.entries_added as i64);
    reply.bulk(b"recorded-first-entry-id");
    bulk_id(reply, s.first_id);
    if !full {
        reply.bulk(b"groups");
        reply.int(s.groups.len() as i64);
        for (name, rev) in [(&b"first-entry"[..], false), (&b"last-entry"[..], true)] {
            reply.bulk(name);
            let mut emitted = false;
            s.for_each_in_range(StreamId::MIN, StreamId::MAX, rev, |lp, view, e| {
                reply_entry(reply, lp, view, e);
                emitted = true;
                false
            });
            if !emitted {
                reply.null();
            }
        }
        return;
    }
    reply.bulk(b"entries");
    reply_range(reply, s, StreamId::MIN, StreamId::MAX, count, false);
    reply.bulk(b"groups");
    reply.array(s.groups.len());
    let limit = if count == 0 { usize::MAX } else { count };
    for (name, g) in &s.groups {
        reply.map(7);
        reply.bulk(b"name");
        reply.bulk(name);
        reply.bulk(b"last-delivered-id");
        bulk_id(reply, g.last_id);
        reply.bulk(b"entries-read");
        reply_entries_read(reply, g);
        reply.bulk(b"lag");
        reply_lag(reply, s, g);
        reply.bulk(b"pel-count");
        reply.int(g.pel.len() as i64);
        reply.bulk(b"pending");
        let shown = g.pel.len().min(limit);
        reply.array(shown);
        for (id, nack) in g.pel.iter().take(shown) {
            reply.array(4);
            bulk_id(reply, *id);
            reply.bulk(&nack.consumer);
            reply.int(nack.delivery_time);
            reply.int(nack.delivery_count as i64);
        }
        reply.bulk(b"consumers");
        reply.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            reply.map(4);
            reply.bulk(b"name");
            reply.bulk(cname);
            reply.bulk(b"seen-time");
            reply.int(c.seen_time);
            reply.bulk(b"pel-count");
            reply.int(c.pel.len() as i64);
            reply.bulk(b"pending");
            let shown = c.pel.len().min(limit);
            reply.array(shown);
            for id in c.pel.keys().take(shown) {
                let nack = &g.pel[id];
                reply.array(3);
                bulk_id(reply, *id);
                reply.int(nack.delivery_time);
                reply.int(nack.delivery_count as i64);
            }
        }
    }
}
// ANCHOR_END: stream_xinfo

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_does() {
        assert_eq!(
            parse_id(b"5", 0, true, false),
            Some((StreamId::new(5, 0), true))
        );
        assert_eq!(
            parse_id(b"5", u64::MAX, false, false),
            Some((StreamId::new(5, u64::MAX), true))
        );
        assert_eq!(
            parse_id(b"5-*", 0, true, true),
            Some((StreamId::new(5, 0), false))
        );
        assert_eq!(parse_id(b"5-*", 0, true, false), None);
        assert_eq!(parse_id(b"-", 0, true, false), None);
        assert_eq!(parse_id(b"-", 0, false, false), Some((StreamId::MIN, true)));
        assert_eq!(
            parse_id(b"18446744073709551615-18446744073709551615", 0, true, false),
            Some((StreamId::MAX, true))
        );
        assert_eq!(parse_id(b"18446744073709551616", 0, true, false), None);
        assert_eq!(parse_id(b"1-2-3", 0, true, false), None);
        assert_eq!(parse_id(b"-1", 0, true, false), None);
    }
}
