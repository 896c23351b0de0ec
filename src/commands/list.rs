//! # List commands: a queue you can reach from both ends
//!
//! A Redis list is a sequence of byte strings with cheap access at both
//! ends: `LPUSH`/`RPUSH` add, `LPOP`/`RPOP` remove, and everything in the
//! middle (`LINDEX`, `LSET`, `LINSERT`, `LREM`) is a walk. It is the
//! structure behind job queues, activity feeds and capped logs
//! (`LPUSH` + `LTRIM`), and the blocking pops (`BLPOP`, `BLMOVE`) turn it
//! into a message queue where consumers wait for producers.
//!
//! ## One encoding: the quicklist
//!
//! In Redis 7.0 every list is a [`Quicklist`](crate::quicklist): a chain
//! of small listpacks, each bounded by `list-max-listpack-size` (the
//! `fill`), with the inner nodes optionally LZF-compressed
//! (`list-compress-depth`). `OBJECT ENCODING` always answers `quicklist`,
//! even for a one-element list (7.2 brought back a plain `listpack` for
//! small lists). A list takes the two settings *when it is created*; a
//! later `CONFIG SET` shapes new lists only, as in Redis.
//!
//! ## The invariants
//!
//! - **No empty list exists.** A command that removes the last element
//!   deletes the key in the same call (and fires `del` after its own
//!   event), so `EXISTS` and `TYPE` never see a list of length 0.
//! - **Pushes to a missing key create it; everything else treats a missing
//!   key as an empty list** (`LLEN` 0, `LRANGE` empty, `LPUSHX` 0).
//! - **A waiter is served exactly when a list is born.** Clients parked in
//!   `BLPOP` wait only on keys that do not exist (a non-empty list would
//!   have served them at once), so the one moment a list can serve them is
//!   its creation: that is where we signal the key as ready, as Redis's
//!   `dbAdd` does. The server then re-runs the parked command, oldest
//!   waiter first (`server/blocking.rs`).
//!
//! ## Reading without copying
//!
//! `LRANGE` and the counted pops (`LPOP key 10`, `LMPOP`) write each
//! element into the reply straight from its listpack entry, through
//! [`Quicklist::visit_from`]: an integer entry is printed as a bulk string,
//! a string entry is copied once, into the output buffer. No element is
//! first turned into its own `Vec`.
//!
//! ## The Redis C counterpart
//!
//! `src/t_list.c`: `pushGenericCommand`, `pushxGenericCommand`,
//! `popGenericCommand`, `lrangeCommand` / `addListRangeReply`,
//! `ltrimCommand`, `lposCommand`, `lremCommand`, `linsertCommand`,
//! `lmoveGenericCommand` / `lmoveHandlePush`, `blockingPopGenericCommand`,
//! `blmoveGenericCommand`, `lmpopGenericCommand` / `mpopGenericCommand`;
//! `src/blocked.c` for the waiting side; `src/db.c`: `lmpopGetKeys`.
//!
//! ## What we simplified
//!
//! - **Serving a waiter re-runs its command** instead of Redis 7.0's
//!   pop-on-its-behalf (`serveClientsBlockedOnListKey`); the replies and
//!   the effects are the same, see `server/blocking.rs`. One visible edge
//!   remains: a client parked on several keys, one of which is re-created
//!   with another type, gets WRONGTYPE from the re-run if that key comes
//!   first in its list, where 7.0 would serve it from the other key.
//! - **Propagation**: Redis rewrites a served `BLPOP` as `LPOP` for the AOF
//!   and the replicas; that arrives with the persistence chapter.
//! - LREM finds its matches first and deletes them afterwards (our
//!   quicklist has no iterator that survives deletion); the resulting
//!   nodes are the same as Redis's, which never merges after a delete.

use crate::listpack::LpValue;
use crate::object::Value;
use crate::quicklist::Quicklist;
use crate::resp::{parse_i64, Args, Reply};
use crate::server::blocking::{parse_timeout, TimeoutReply};
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::{GENERIC, LIST};
use crate::server::{Ctx, Server, NOT_INTEGER, SYNTAX_ERR, WRONGTYPE};

use super::eq_ic;

/// The flags and key positions are Redis 7.0's, as `COMMAND INFO` prints
/// them. LMPOP and BLMPOP have movable keys (after a `numkeys`).
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "lpush",
        arity: -3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Adds elements at the head of a list, creating it if needed.",
        run: lpush,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "rpush",
        arity: -3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Adds elements at the tail of a list, creating it if needed.",
        run: rpush,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lpushx",
        arity: -3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Adds elements at the head of a list, only if it exists.",
        run: lpushx,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "rpushx",
        arity: -3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Adds elements at the tail of a list, only if it exists.",
        run: rpushx,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lpop",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Removes and returns the first element(s) of a list.",
        run: lpop,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "rpop",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Removes and returns the last element(s) of a list.",
        run: rpop,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "llen",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns the number of elements of a list.",
        run: llen,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lrange",
        arity: 4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns the elements between two indexes of a list.",
        run: lrange,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lindex",
        arity: 3,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns the element at an index of a list.",
        run: lindex,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lset",
        arity: 4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Replaces the element at an index of a list.",
        run: lset,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "linsert",
        arity: 5,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Inserts an element before or after the first occurrence of a pivot.",
        run: linsert,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lrem",
        arity: 4,
        flags: "write",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Removes occurrences of an element, from the head, the tail, or all.",
        run: lrem,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "ltrim",
        arity: 4,
        flags: "write",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Keeps only the elements between two indexes of a list.",
        run: ltrim,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lpos",
        arity: -3,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.0.6",
        summary: "Finds the indexes of the elements equal to a value.",
        run: lpos,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lmove",
        arity: 5,
        flags: "write denyoom",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "6.2.0",
        summary: "Pops an element from one end of a list and pushes it on an end of another.",
        run: lmove,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "rpoplpush",
        arity: 3,
        flags: "write denyoom",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "1.2.0",
        summary: "Pops the last element of a list and pushes it at the head of another.",
        run: rpoplpush,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "lmpop",
        arity: -4,
        flags: "write",
        since: "7.0.0",
        summary: "Pops elements from the first non-empty list among several keys.",
        run: lmpop,
        get_keys: Some(lmpop_keys),
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "blpop",
        arity: -3,
        flags: "write noscript blocking",
        first_key: 1,
        last_key: -2,
        key_step: 1,
        since: "2.0.0",
        summary: "Pops the first element of the first non-empty list, waiting for one if none.",
        run: blpop,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "brpop",
        arity: -3,
        flags: "write noscript blocking",
        first_key: 1,
        last_key: -2,
        key_step: 1,
        since: "2.0.0",
        summary: "Pops the last element of the first non-empty list, waiting for one if none.",
        run: brpop,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "blmove",
        arity: 6,
        flags: "write denyoom noscript blocking",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "6.2.0",
        summary: "LMOVE, waiting for the source list to have an element.",
        run: blmove,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "brpoplpush",
        arity: 4,
        flags: "write denyoom noscript blocking",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "2.2.0",
        summary: "RPOPLPUSH, waiting for the source list to have an element.",
        run: brpoplpush,
        ..CommandDef::base(Group::List)
    },
    CommandDef {
        name: "blmpop",
        arity: -5,
        flags: "write blocking",
        since: "7.0.0",
        summary: "LMPOP, waiting for one of the lists to have an element.",
        run: blmpop,
        get_keys: Some(blmpop_keys),
        ..CommandDef::base(Group::List)
    },
];

// ============================================================================
// The list type: what RDB, SORT and DUMP will use too (t_list.c's listType*)
// ============================================================================

/// An end of a list: `LEFT` is the head, `RIGHT` the tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl End {
    /// `LEFT` or `RIGHT`, case-insensitively (`getListPositionFromObjectOrReply`).
    pub fn parse(arg: &[u8]) -> Option<End> {
        if eq_ic(arg, "left") {
            Some(End::Head)
        } else if eq_ic(arg, "right") {
            Some(End::Tail)
        } else {
            None
        }
    }

    fn push_event(self) -> &'static str {
        match self {
            End::Head => "lpush",
            End::Tail => "rpush",
        }
    }

    fn pop_event(self) -> &'static str {
        match self {
            End::Head => "lpop",
            End::Tail => "rpop",
        }
    }
}

// ANCHOR: list_new
/// A new, empty list shaped by the configuration *now*: Redis's
/// `createQuicklistObject` + `quicklistSetOptions(list-max-listpack-size,
/// list-compress-depth)`. The list keeps these settings for its life.
pub fn new_list(server: &Server) -> Quicklist {
    let mut ql = Quicklist::new(
        server.config.list_max_listpack_size,
        server.config.list_compress_depth,
    );
    ql.set_packed_threshold(server.list_packed_threshold);
    ql
}
// ANCHOR_END: list_new

/// Add `value` at `end` (`listTypePush`).
pub fn list_push(ql: &mut Quicklist, value: &[u8], end: End) {
    match end {
        End::Head => ql.push_front(value),
        End::Tail => ql.push_back(value),
    };
}

/// Remove and return the element at `end` (`listTypePop`).
pub fn list_pop(ql: &mut Quicklist, end: End) -> Option<Vec<u8>> {
    match end {
        End::Head => ql.pop_front(),
        End::Tail => ql.pop_back(),
    }
}

/// One element as a bulk string: an integer entry is printed, a string
/// entry copied straight from the listpack.
fn reply_value(reply: &mut Reply, v: LpValue<'_>) {
    match v {
        LpValue::Int(n) => reply.bulk_i64(n),
        LpValue::Str(s) => reply.bulk(s),
    }
}

// ANCHOR: list_range_reply
/// Write `count` elements as an array, starting at `start` and walking
/// towards the tail (or the head if `reverse`): `addListRangeReply`. The
/// caller has clamped the range, so exactly `count` elements follow.
fn reply_range(reply: &mut Reply, ql: &Quicklist, start: i64, count: usize, reverse: bool) {
    reply.array(count);
    if count == 0 {
        return;
    }
    let mut left = count;
    ql.visit_from(start, reverse, |v| {
        reply_value(reply, v);
        left -= 1;
        left > 0
    });
}
// ANCHOR_END: list_range_reply

/// Remove `count` elements at `end` in one range delete (`quicklistDelRange`).
fn delete_at_end(ql: &mut Quicklist, end: End, count: usize) {
    match end {
        End::Head => ql.delete_range(0, count),
        End::Tail => ql.delete_range(-(count as i64), count),
    };
}

/// How a pop writes its reply.
#[derive(Clone, Copy)]
enum PopReply {
    /// LPOP key: one bulk string.
    Bulk,
    /// LPOP key count: an array of up to `count`.
    Array(usize),
    /// BLPOP: `[key, element]`.
    KeyAndBulk,
    /// LMPOP: `[key, [elements...]]`.
    KeyAndArray(usize),
}

/// Pop from a non-empty list and write the reply; returns how many
/// elements went. The elements go from the listpacks into the reply and
/// are then deleted as one range: no copy of an element is ever made.
fn pop_into_reply(
    ql: &mut Quicklist,
    reply: &mut Reply,
    key: &[u8],
    end: End,
    how: PopReply,
) -> usize {
    let (start, reverse) = match end {
        End::Head => (0, false),
        End::Tail => (-1, true),
    };
    let n = match how {
        PopReply::Bulk | PopReply::KeyAndBulk => 1,
        PopReply::Array(c) | PopReply::KeyAndArray(c) => c.min(ql.len()),
    };
    match how {
        PopReply::Bulk => ql.visit_from(start, reverse, |v| {
            reply_value(reply, v);
            false
        }),
        PopReply::KeyAndBulk => {
            reply.array(2);
            reply.bulk(key);
            ql.visit_from(start, reverse, |v| {
                reply_value(reply, v);
                false
            });
        }
        PopReply::Array(_) => reply_range(reply, ql, start, n, reverse),
        PopReply::KeyAndArray(_) => {
            reply.array(2);
            reply.bulk(key);
            reply_range(reply, ql, start, n, reverse);
        }
    }
    delete_at_end(ql, end, n);
    n
}

impl Ctx<'_> {
    /// The bookkeeping after elements left the list at `key`: the pop
    /// event, then, if the list is now empty, its deletion and `del`; the
    /// modified-key signal; the dirty count. (Redis repeats these lines in
    /// every popping command; here they live once.)
    fn list_popped(&mut self, key: &[u8], event: &'static str, popped: usize, emptied: bool) {
        self.notify(LIST, event, key);
        if emptied {
            let db = self.client.db;
            self.server.dbs[db].delete(key);
            self.notify(GENERIC, "del", key);
        }
        self.signal_modified_key(key);
        self.dirty(popped as u64);
    }

    /// Is the value at `key` (if any) a list? Replies WRONGTYPE and returns
    /// `Err` if it is another type. Lookup as for a write.
    fn list_exists_for_write(&mut self, key: &[u8]) -> Result<bool, ()> {
        match self.lookup_write(key) {
            None => Ok(false),
            Some(obj) if matches!(obj.value, Value::List(_)) => Ok(true),
            Some(_) => {
                self.wrong_type();
                Err(())
            }
        }
    }

    /// The list at `key`, known to exist (after a lookup this command did).
    fn list_mut(&mut self, key: &[u8]) -> &mut Quicklist {
        let db = self.client.db;
        match self.server.dbs[db].dict.get_mut(key).map(|o| &mut o.value) {
            Some(Value::List(ql)) => ql,
            _ => unreachable!("the caller looked the list up"),
        }
    }
}

// ============================================================================
// Pushing
// ============================================================================

fn lpush(ctx: &mut Ctx, args: Args) {
    push_generic(ctx, args, End::Head, false);
}

fn rpush(ctx: &mut Ctx, args: Args) {
    push_generic(ctx, args, End::Tail, false);
}

fn lpushx(ctx: &mut Ctx, args: Args) {
    push_generic(ctx, args, End::Head, true);
}

fn rpushx(ctx: &mut Ctx, args: Args) {
    push_generic(ctx, args, End::Tail, true);
}

// ANCHOR: list_push_command
/// LPUSH/RPUSH key element [element ...], and the X forms that push only
/// onto an existing list. Each element is pushed in turn, so `LPUSH k a b c`
/// leaves `c b a`. Replies the new length.
fn push_generic(ctx: &mut Ctx, args: Args, end: End, only_if_exists: bool) {
    let key = args.get(1);
    let threshold = ctx.server.list_packed_threshold;
    let (obj, reply) = ctx.write_key(key);
    match obj {
        Some(obj) => {
            let Value::List(ql) = &mut obj.value else {
                reply.error(WRONGTYPE);
                return;
            };
            ql.set_packed_threshold(threshold);
            for value in args.iter().skip(2) {
                list_push(ql, value, end);
            }
            reply.int(ql.len() as i64);
        }
        None if only_if_exists => {
            reply.int(0);
            return;
        }
        None => {
            let mut ql = new_list(ctx.server);
            for value in args.iter().skip(2) {
                list_push(&mut ql, value, end);
            }
            ctx.client.reply.int(ql.len() as i64);
            let obj = ctx.new_object(Value::List(Box::new(ql)));
            let db = ctx.client.db;
            ctx.server.dbs[db].add(key, obj);
            // The list is born: clients parked in BLPOP on it may go.
            ctx.signal_key_as_ready(key);
        }
    }
    ctx.signal_modified_key(key);
    ctx.notify(LIST, end.push_event(), key);
    ctx.dirty(args.len() as u64 - 2);
}
// ANCHOR_END: list_push_command

// ============================================================================
// Popping
// ============================================================================

fn lpop(ctx: &mut Ctx, args: Args) {
    pop_generic(ctx, args, End::Head);
}

fn rpop(ctx: &mut Ctx, args: Args) {
    pop_generic(ctx, args, End::Tail);
}

/// `getPositiveLongFromObjectOrReply` with no message of its own: one
/// error for "not a number" and "negative" alike.
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// LPOP/RPOP key [count]. Without a count: the element or nil. With one:
/// an array of up to `count` elements, nil (a null *array*) if the key is
/// missing, and an empty array for a count of 0 on an existing list.
fn pop_generic(ctx: &mut Ctx, args: Args, end: End) {
    if args.len() > 3 {
        let msg = format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.full_name
        );
        ctx.reply().error(&msg);
        return;
    }
    let count = if args.len() == 3 {
        match parse_i64(args.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => {
                ctx.reply().error(NOT_POSITIVE);
                return;
            }
        }
    } else {
        None
    };
    let key = args.get(1);
    let (obj, reply) = ctx.write_key(key);
    let Some(obj) = obj else {
        match count {
            Some(_) => reply.null_array(),
            None => reply.null(),
        }
        return;
    };
    let Value::List(ql) = &mut obj.value else {
        reply.error(WRONGTYPE);
        return;
    };
    let how = match count {
        Some(0) => {
            reply.array(0);
            return;
        }
        Some(c) => PopReply::Array(c),
        None => PopReply::Bulk,
    };
    let popped = pop_into_reply(ql, reply, key, end, how);
    let emptied = ql.is_empty();
    ctx.list_popped(key, end.pop_event(), popped, emptied);
}

// ============================================================================
// Reading
// ============================================================================

fn llen(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(args.get(1));
    match obj.map(|o| &o.value) {
        None => reply.int(0),
        Some(Value::List(ql)) => reply.int(ql.len() as i64),
        Some(_) => reply.error(WRONGTYPE),
    }
}

/// Parse two integer arguments (start and stop), replying the error.
fn two_indexes(ctx: &mut Ctx, args: Args) -> Option<(i64, i64)> {
    match (parse_i64(args.get(2)), parse_i64(args.get(3))) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            ctx.reply().error(NOT_INTEGER);
            None
        }
    }
}

/// Clamp `start..=stop` (negative: from the tail) to a list of `len`:
/// `None` if the range is empty, else the first index and the count.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    Some((start as usize, (stop - start + 1) as usize))
}

/// LRANGE key start stop: indexes are inclusive and clamped, so
/// `LRANGE k 0 -1` is the whole list and out-of-range bounds are not errors.
fn lrange(ctx: &mut Ctx, args: Args) {
    let Some((start, stop)) = two_indexes(ctx, args) else {
        return;
    };
    let (obj, reply) = ctx.read_key(args.get(1));
    match obj.map(|o| &o.value) {
        None => reply.array(0),
        Some(Value::List(ql)) => match clamp_range(start, stop, ql.len()) {
            None => reply.array(0),
            Some((first, count)) => reply_range(reply, ql, first as i64, count, false),
        },
        Some(_) => reply.error(WRONGTYPE),
    }
}

/// LINDEX key index: the element, or nil out of range. The key is looked
/// up before the index is parsed (so a missing key wins over a bad index).
fn lindex(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(args.get(1));
    let ql = match obj.map(|o| &o.value) {
        None => return reply.null(),
        Some(Value::List(ql)) => ql,
        Some(_) => return reply.error(WRONGTYPE),
    };
    let Some(index) = parse_i64(args.get(2)) else {
        return reply.error(NOT_INTEGER);
    };
    let mut found = false;
    ql.visit_from(index, false, |v| {
        reply_value(reply, v);
        found = true;
        false
    });
    if !found {
        reply.null();
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
///
/// RANK picks the n-th match (negative: searching from the tail), COUNT
/// asks for an array of up to that many matches (0: all), MAXLEN bounds
/// how many elements are compared (0: all). Indexes are always counted
/// from the head, whichever way the search goes.
///
/// A RANK of `i64::MIN` is accepted by 7.0, and its negation overflows
/// back to itself; we reproduce the outcome with wrapping arithmetic: the
/// search runs from the tail and every match counts.
fn lpos(ctx: &mut Ctx, args: Args) {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        let has_value = i + 1 < args.len();
        if eq_ic(opt, "rank") && has_value {
            i += 1;
            let Some(r) = parse_i64(args.get(i)) else {
                return ctx.reply().error(NOT_INTEGER);
            };
            if r == 0 {
                return ctx.reply().error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                );
            }
            rank = r;
        } else if eq_ic(opt, "count") && has_value {
            i += 1;
            match parse_i64(args.get(i)) {
                Some(c) if c >= 0 => count = Some(c),
                _ => return ctx.reply().error("ERR COUNT can't be negative"),
            }
        } else if eq_ic(opt, "maxlen") && has_value {
            i += 1;
            match parse_i64(args.get(i)) {
                Some(m) if m >= 0 => maxlen = m,
                _ => return ctx.reply().error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
        i += 1;
    }
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let element = args.get(2);
    let (obj, reply) = ctx.read_key(args.get(1));
    let ql = match obj.map(|o| &o.value) {
        None if count.is_some() => return reply.array(0),
        None => return reply.null(),
        Some(Value::List(ql)) => ql,
        Some(_) => return reply.error(WRONGTYPE),
    };
    let len = ql.len() as i64;
    let mut scanned: i64 = 0;
    let mut matches: i64 = 0;
    let mut found: Vec<i64> = Vec::new();
    let start = if from_tail { -1 } else { 0 };
    ql.visit_from(start, from_tail, |v| {
        if maxlen != 0 && scanned >= maxlen {
            return false;
        }
        if v.eq_bytes(element) {
            matches += 1;
            if matches >= rank {
                found.push(if from_tail {
                    len - scanned - 1
                } else {
                    scanned
                });
                match count {
                    None => return false,
                    Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => {
                        return false
                    }
                    _ => {}
                }
            }
        }
        scanned += 1;
        true
    });
    match count {
        Some(_) => {
            reply.array(found.len());
            for index in found {
                reply.int(index);
            }
        }
        None => match found.first() {
            Some(&index) => reply.int(index),
            None => reply.null(),
        },
    }
}

// ============================================================================
// Changing the middle
// ============================================================================

/// LSET key index element. The key is looked up first: a missing key is
/// `ERR no such key` whatever the index.
fn lset(ctx: &mut Ctx, args: Args) {
    let key = args.get(1);
    let threshold = ctx.server.list_packed_threshold;
    let (obj, reply) = ctx.write_key(key);
    let Some(obj) = obj else {
        return reply.error("ERR no such key");
    };
    let Value::List(ql) = &mut obj.value else {
        return reply.error(WRONGTYPE);
    };
    let Some(index) = parse_i64(args.get(2)) else {
        return reply.error(NOT_INTEGER);
    };
    ql.set_packed_threshold(threshold);
    if !ql.set(index, args.get(3)) {
        return reply.error("ERR index out of range");
    }
    reply.ok();
    ctx.signal_modified_key(key);
    ctx.notify(LIST, "lset", key);
    ctx.dirty(1);
}

/// LINSERT key BEFORE|AFTER pivot element: insert next to the first
/// element equal to `pivot`. Replies the new length, 0 if the key does not
/// exist, -1 if the pivot is not found (and then nothing changed, no
/// event fires).
fn linsert(ctx: &mut Ctx, args: Args) {
    let after = match args.get(2) {
        w if eq_ic(w, "after") => true,
        w if eq_ic(w, "before") => false,
        _ => return ctx.reply().error(SYNTAX_ERR),
    };
    let key = args.get(1);
    let threshold = ctx.server.list_packed_threshold;
    let (obj, reply) = ctx.write_key(key);
    let Some(obj) = obj else {
        return reply.int(0);
    };
    let Value::List(ql) = &mut obj.value else {
        return reply.error(WRONGTYPE);
    };
    let pivot = args.get(3);
    let mut at: Option<i64> = None;
    let mut index = 0;
    ql.visit_from(0, false, |v| {
        if v.eq_bytes(pivot) {
            at = Some(index);
            return false;
        }
        index += 1;
        true
    });
    let Some(at) = at else {
        return reply.int(-1);
    };
    ql.set_packed_threshold(threshold);
    if after {
        ql.insert_after(at, args.get(4));
    } else {
        ql.insert_before(at, args.get(4));
    }
    reply.int(ql.len() as i64);
    ctx.signal_modified_key(key);
    ctx.notify(LIST, "linsert", key);
    ctx.dirty(1);
}

// ANCHOR: list_lrem
/// LREM key count element: remove the first `count` elements equal to
/// `element` (from the tail if `count` is negative; all if 0). Replies
/// how many went.
///
/// Two passes: find the matching indexes (a borrowing walk, no copies),
/// then delete them from the highest index down, so that each deletion
/// leaves the indexes still to delete where they were; neighbouring
/// matches go in one range delete.
fn lrem(ctx: &mut Ctx, args: Args) {
    let Some(count) = parse_i64(args.get(2)) else {
        return ctx.reply().error(NOT_INTEGER);
    };
    let key = args.get(1);
    let (obj, reply) = ctx.write_key(key);
    let Some(obj) = obj else {
        return reply.int(0);
    };
    let Value::List(ql) = &mut obj.value else {
        return reply.error(WRONGTYPE);
    };
    let element = args.get(3);
    let limit = count.unsigned_abs() as usize; // 0: no limit
    let from_tail = count < 0;
    let len = ql.len();
    let mut hits: Vec<usize> = Vec::new();
    let mut walked = 0;
    ql.visit_from(if from_tail { -1 } else { 0 }, from_tail, |v| {
        if v.eq_bytes(element) {
            hits.push(if from_tail { len - 1 - walked } else { walked });
            if hits.len() == limit {
                return false;
            }
        }
        walked += 1;
        true
    });
    if !from_tail {
        hits.reverse(); // highest index first
    }
    let mut i = 0;
    while i < hits.len() {
        // A run of consecutive indexes, descending: hits[i], hits[i]-1, ...
        let mut run = 1;
        while i + run < hits.len() && hits[i + run] + run == hits[i] {
            run += 1;
        }
        ql.delete_range((hits[i + run - 1]) as i64, run);
        i += run;
    }
    let removed = hits.len();
    let emptied = ql.is_empty();
    reply.int(removed as i64);
    if removed > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(LIST, "lrem", key);
    }
    if emptied {
        let db = ctx.client.db;
        ctx.server.dbs[db].delete(key);
        ctx.notify(GENERIC, "del", key);
    }
    ctx.dirty(removed as u64);
}
// ANCHOR_END: list_lrem

/// LTRIM key start stop: keep only `start..=stop` (clamped as LRANGE);
/// an empty range deletes the key. Fires `ltrim` even when nothing was
/// removed, as Redis does.
fn ltrim(ctx: &mut Ctx, args: Args) {
    let Some((start, stop)) = two_indexes(ctx, args) else {
        return;
    };
    let key = args.get(1);
    let (obj, reply) = ctx.write_key(key);
    let Some(obj) = obj else {
        return reply.ok();
    };
    let Value::List(ql) = &mut obj.value else {
        return reply.error(WRONGTYPE);
    };
    let len = ql.len();
    let (ltrim, rtrim) = match clamp_range(start, stop, len) {
        None => (len, 0),
        Some((first, count)) => (first, len - first - count),
    };
    if ltrim > 0 {
        ql.delete_range(0, ltrim);
    }
    if rtrim > 0 {
        ql.delete_range(-(rtrim as i64), rtrim);
    }
    let emptied = ql.is_empty();
    reply.ok();
    ctx.notify(LIST, "ltrim", key);
    if emptied {
        let db = ctx.client.db;
        ctx.server.dbs[db].delete(key);
        ctx.notify(GENERIC, "del", key);
    }
    ctx.signal_modified_key(key);
    ctx.dirty((ltrim + rtrim) as u64);
}

// ============================================================================
// Moving between lists
// ============================================================================

fn lmove(ctx: &mut Ctx, args: Args) {
    let (Some(from), Some(to)) = (End::parse(args.get(3)), End::parse(args.get(4))) else {
        return ctx.reply().error(SYNTAX_ERR);
    };
    lmove_generic(ctx, args.get(1), args.get(2), from, to);
}

fn rpoplpush(ctx: &mut Ctx, args: Args) {
    lmove_generic(ctx, args.get(1), args.get(2), End::Tail, End::Head);
}

/// LMOVE without blocking: nil if the source is missing; WRONGTYPE if
/// either key holds another type (the destination is only checked when
/// there is something to move).
fn lmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    match ctx.list_exists_for_write(src) {
        Err(()) => {}
        Ok(false) => ctx.reply().null(),
        Ok(true) => move_element(ctx, src, dst, from, to),
    }
}

// ANCHOR: list_move
/// Move one element from the `from` end of `src` (an existing list) to the
/// `to` end of `dst`, and reply it. The events are Redis's, in its order:
/// the push on `dst` first, then the pop on `src` (and `del` if it is now
/// empty). With `src == dst` the list is never empty in between, so a
/// one-element list rotates onto itself and survives.
fn move_element(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    let dst_exists = match ctx.list_exists_for_write(dst) {
        Err(()) => return,
        Ok(exists) => exists,
    };
    let threshold = ctx.server.list_packed_threshold;
    let value = list_pop(ctx.list_mut(src), from).expect("source list is not empty");
    if dst_exists {
        let ql = ctx.list_mut(dst);
        ql.set_packed_threshold(threshold);
        list_push(ql, &value, to);
    } else {
        let mut ql = new_list(ctx.server);
        list_push(&mut ql, &value, to);
        let obj = ctx.new_object(Value::List(Box::new(ql)));
        let db = ctx.client.db;
        ctx.server.dbs[db].add(dst, obj);
        ctx.signal_key_as_ready(dst);
    }
    ctx.signal_modified_key(dst);
    ctx.notify(LIST, to.push_event(), dst);
    ctx.reply().bulk(&value);
    let emptied = ctx.list_mut(src).is_empty();
    ctx.list_popped(src, from.pop_event(), 1, emptied);
}
// ANCHOR_END: list_move

// ============================================================================
// Popping from the first non-empty of several lists
// ============================================================================

/// The parsed tail of LMPOP/BLMPOP: `numkeys key [key ...] LEFT|RIGHT
/// [COUNT count]`, starting at argument `numkeys_at`. Errors in Redis's
/// order and words.
struct MpopArgs {
    first_key: usize,
    numkeys: usize,
    end: End,
    count: usize,
}

fn parse_mpop(ctx: &mut Ctx, args: Args, numkeys_at: usize) -> Option<MpopArgs> {
    let numkeys = match parse_i64(args.get(numkeys_at)) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.reply().error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_at = (numkeys_at as u64 + 1).saturating_add(numkeys);
    if where_at >= args.len() as u64 {
        ctx.reply().error(SYNTAX_ERR);
        return None;
    }
    let where_at = where_at as usize;
    let Some(end) = End::parse(args.get(where_at)) else {
        ctx.reply().error(SYNTAX_ERR);
        return None;
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && eq_ic(args.get(i), "count") && i + 1 < args.len() {
            i += 1;
            match parse_i64(args.get(i)) {
                Some(c) if c >= 1 => count = Some(c as usize),
                _ => {
                    ctx.reply().error("ERR count should be greater than 0");
                    return None;
                }
            }
        } else {
            ctx.reply().error(SYNTAX_ERR);
            return None;
        }
        i += 1;
    }
    Some(MpopArgs {
        first_key: numkeys_at + 1,
        numkeys: numkeys as usize,
        end,
        count: count.unwrap_or(1),
    })
}

/// Pop from the first non-empty list among `keys`, replying with the key:
/// `[key, element]` (BLPOP) or `[key, [elements]]` (LMPOP). Returns
/// `Ok(true)` if something was popped, `Ok(false)` if every key was
/// missing, `Err` after replying WRONGTYPE: keys are checked in order, so
/// a wrong type after the first non-empty list goes unnoticed, as in Redis.
fn pop_first_non_empty<'k>(
    ctx: &mut Ctx,
    keys: impl Iterator<Item = &'k [u8]>,
    end: End,
    how: PopReply,
) -> Result<bool, ()> {
    for key in keys {
        let (obj, reply) = ctx.write_key(key);
        let Some(obj) = obj else { continue };
        let Value::List(ql) = &mut obj.value else {
            reply.error(WRONGTYPE);
            return Err(());
        };
        let popped = pop_into_reply(ql, reply, key, end, how);
        let emptied = ql.is_empty();
        ctx.list_popped(key, end.pop_event(), popped, emptied);
        // BLPOP, LMPOP and BLMPOP go out as the plain pop they performed.
        let verb: &[u8] = match end {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        };
        match how {
            // The count actually popped, as Redis sends it.
            PopReply::KeyAndArray(_) if ctx.propagating() => {
                ctx.propagate_as(&[verb, key, popped.to_string().as_bytes()])
            }
            _ => ctx.propagate_as(&[verb, key]),
        }
        return Ok(true);
    }
    Ok(false)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn lmpop(ctx: &mut Ctx, args: Args) {
    let Some(m) = parse_mpop(ctx, args, 1) else {
        return;
    };
    let keys = (m.first_key..m.first_key + m.numkeys).map(|i| args.get(i));
    if let Ok(false) = pop_first_non_empty(ctx, keys, m.end, PopReply::KeyAndArray(m.count)) {
        ctx.reply().null_array();
    }
}

/// The keys of `LMPOP numkeys key...` (and BLMPOP, one argument later):
/// none if `numkeys` is not a number in `1..=` the arguments left, and
/// then COMMAND GETKEYS says the arguments are invalid. Redis: `lmpopGetKeys`.
fn mpop_keys(args: Args, numkeys_at: usize) -> Vec<usize> {
    let first = numkeys_at + 1;
    match parse_i64(args.get(numkeys_at)) {
        Some(n) if n >= 1 && (n as u64) <= (args.len() - first) as u64 => {
            (first..first + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

fn lmpop_keys(args: Args) -> Vec<usize> {
    mpop_keys(args, 1)
}

fn blmpop_keys(args: Args) -> Vec<usize> {
    mpop_keys(args, 2)
}

// ============================================================================
// Blocking forms
// ============================================================================

/// The timeout argument as a deadline, or the error Redis gives.
fn timeout_arg(ctx: &mut Ctx, arg: &[u8]) -> Option<Option<std::time::Instant>> {
    match parse_timeout(arg, std::time::Instant::now()) {
        Ok(deadline) => Some(deadline),
        Err(msg) => {
            ctx.reply().error(msg);
            None
        }
    }
}

fn blpop(ctx: &mut Ctx, args: Args) {
    blocking_pop(ctx, args, End::Head);
}

fn brpop(ctx: &mut Ctx, args: Args) {
    blocking_pop(ctx, args, End::Tail);
}

// ANCHOR: list_blocking_pop
/// BLPOP/BRPOP key [key ...] timeout. If one of the keys holds a list, this
/// is an LPOP of the first such key, replied as `[key, element]`.
/// Otherwise the client parks on all the keys until one is pushed to (it
/// is then re-run, and takes the first branch) or the timeout passes
/// (null array). Inside MULTI nothing may wait: the timeout reply at once.
fn blocking_pop(ctx: &mut Ctx, args: Args, end: End) {
    let Some(deadline) = timeout_arg(ctx, args.get(args.len() - 1)) else {
        return;
    };
    let keys = (1..args.len() - 1).map(|i| args.get(i));
    match pop_first_non_empty(ctx, keys, end, PopReply::KeyAndBulk) {
        Err(()) | Ok(true) => {}
        Ok(false) if !ctx.can_block() => ctx.reply().null_array(),
        Ok(false) => {
            let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
            ctx.block_for_keys(&keys, deadline, TimeoutReply::NullArray, args);
        }
    }
}
// ANCHOR_END: list_blocking_pop

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
fn blmove(ctx: &mut Ctx, args: Args) {
    let (Some(from), Some(to)) = (End::parse(args.get(3)), End::parse(args.get(4))) else {
        return ctx.reply().error(SYNTAX_ERR);
    };
    let Some(deadline) = timeout_arg(ctx, args.get(5)) else {
        return;
    };
    blocking_move(ctx, args, from, to, deadline);
}

/// BRPOPLPUSH source destination timeout: BLMOVE source destination RIGHT LEFT.
fn brpoplpush(ctx: &mut Ctx, args: Args) {
    let Some(deadline) = timeout_arg(ctx, args.get(3)) else {
        return;
    };
    blocking_move(ctx, args, End::Tail, End::Head, deadline);
}

/// The move, or park on the source. Redis 7.0 quirk, reproduced: inside
/// MULTI an empty source answers a null *bulk*, but a parked client that
/// times out gets a null *array*, like BLPOP.
fn blocking_move(
    ctx: &mut Ctx,
    args: Args,
    from: End,
    to: End,
    deadline: Option<std::time::Instant>,
) {
    let (src, dst) = (args.get(1), args.get(2));
    match ctx.list_exists_for_write(src) {
        Err(()) => {}
        Ok(true) => {
            move_element(ctx, src, dst, from, to);
            // Propagated without the wait: RPOPLPUSH or LMOVE.
            let side = |e: End| -> &'static [u8] {
                match e {
                    End::Head => b"LEFT",
                    End::Tail => b"RIGHT",
                }
            };
            if ctx.cmd.full_name == "brpoplpush" {
                ctx.propagate_as(&[&b"RPOPLPUSH"[..], src, dst]);
            } else {
                ctx.propagate_as(&[&b"LMOVE"[..], src, dst, side(from), side(to)]);
            }
        }
        Ok(false) if !ctx.can_block() => ctx.reply().null(),
        Ok(false) => ctx.block_for_keys(&[src], deadline, TimeoutReply::NullArray, args),
    }
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]. The
/// timeout is parsed first, then the rest as LMPOP.
fn blmpop(ctx: &mut Ctx, args: Args) {
    let Some(deadline) = timeout_arg(ctx, args.get(1)) else {
        return;
    };
    let Some(m) = parse_mpop(ctx, args, 2) else {
        return;
    };
    let keys = (m.first_key..m.first_key + m.numkeys).map(|i| args.get(i));
    match pop_first_non_empty(ctx, keys, m.end, PopReply::KeyAndArray(m.count)) {
        Err(()) | Ok(true) => {}
        Ok(false) if !ctx.can_block() => ctx.reply().null_array(),
        Ok(false) => {
            let keys: Vec<&[u8]> = (m.first_key..m.first_key + m.numkeys)
                .map(|i| args.get(i))
                .collect();
            ctx.block_for_keys(&keys, deadline, TimeoutReply::NullArray, args);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;
    use crate::server::{process_command, Client, Config};

    fn setup() -> (Server, Client) {
        let addr = "127.0.0.1:5000".parse().unwrap();
        let mut client = Client::new(1, addr, addr, -1);
        client.authenticated = true;
        (Server::new(Config::default()), client)
    }

    fn run(server: &mut Server, client: &mut Client, parts: &[&str]) -> String {
        client.reply.buf.clear();
        let args = OwnedArgs::from_slices(parts);
        process_command(server, client, args.args());
        String::from_utf8_lossy(&client.reply.buf).into_owned()
    }

    #[test]
    fn blocking_commands_inside_exec_answer_their_multi_reply_at_once() {
        let (mut s, mut c) = setup();
        c.in_exec = true;
        assert_eq!(run(&mut s, &mut c, &["BLPOP", "q", "0"]), "*-1\r\n");
        assert_eq!(run(&mut s, &mut c, &["BRPOP", "q", "p", "0"]), "*-1\r\n");
        assert_eq!(
            run(&mut s, &mut c, &["BLMPOP", "0", "1", "q", "LEFT"]),
            "*-1\r\n"
        );
        // BLMOVE and BRPOPLPUSH: a null bulk inside MULTI (7.0).
        assert_eq!(
            run(&mut s, &mut c, &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"]),
            "$-1\r\n"
        );
        assert_eq!(
            run(&mut s, &mut c, &["BRPOPLPUSH", "q", "d", "0"]),
            "$-1\r\n"
        );
        assert_eq!(
            run(&mut s, &mut c, &["BLPOP", "q", "-1"]),
            "-ERR timeout is negative\r\n"
        );
        assert!(c.blocked.is_none());
        assert_eq!(s.blocking.blocked_count, 0);
        // With data, they pop as usual.
        run(&mut s, &mut c, &["RPUSH", "q", "a", "b"]);
        assert_eq!(
            run(&mut s, &mut c, &["BLPOP", "q", "0"]),
            "*2\r\n$1\r\nq\r\n$1\r\na\r\n"
        );
        assert_eq!(
            run(&mut s, &mut c, &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"]),
            "$1\r\nb\r\n"
        );
    }

    #[test]
    fn a_list_takes_the_node_settings_in_force_when_it_is_created() {
        let (mut s, mut c) = setup();
        s.config.list_max_listpack_size = 3;
        s.config.list_compress_depth = 1;
        run(&mut s, &mut c, &["RPUSH", "l", "a"]);
        s.config.list_max_listpack_size = -2;
        s.config.list_compress_depth = 0;
        let ql = match &s.dbs[0].dict.get(b"l".as_slice()).unwrap().value {
            Value::List(ql) => ql,
            _ => unreachable!(),
        };
        assert_eq!((ql.fill(), ql.compress_depth()), (3, 1));
    }

    #[test]
    fn dirty_counts_match_redis() {
        // Each line: the command and the change in server.dirty that
        // Redis 7.0.15 showed (INFO rdb_changes_since_last_save).
        let (mut s, mut c) = setup();
        let steps: &[(&[&str], u64)] = &[
            (&["RPUSH", "l", "a", "b", "c", "d", "e"], 5),
            (&["LPUSHX", "nol", "a", "b"], 0),
            (&["LPOP", "l", "2"], 2),
            (&["LPOP", "l", "0"], 0),
            (&["RPOP", "l", "100"], 3),
            (&["RPUSH", "l", "a", "b", "c", "d", "e", "f"], 6),
            (&["LTRIM", "l", "1", "-2"], 2),
            (&["LTRIM", "l", "0", "-1"], 0),
            (&["LSET", "l", "0", "z"], 1),
            (&["LINSERT", "l", "BEFORE", "z", "q"], 1),
            (&["LINSERT", "l", "BEFORE", "nomatch", "q"], 0),
            (&["LREM", "l", "0", "q"], 1),
            (&["LMOVE", "l", "l2", "LEFT", "LEFT"], 1),
            (&["LMOVE", "l", "l", "LEFT", "LEFT"], 1),
            (&["LMPOP", "2", "no", "l", "RIGHT", "COUNT", "2"], 2),
            (&["LINDEX", "l", "0"], 0),
        ];
        for (cmd, delta) in steps {
            let before = s.dirty;
            run(&mut s, &mut c, cmd);
            assert_eq!(s.dirty - before, *delta, "{cmd:?}");
        }
    }

    /// Run a command without serving parked clients afterwards, as the
    /// commands queued in a MULTI run one after the other inside EXEC.
    fn run_in_exec(server: &mut Server, client: &mut Client, parts: &[&str]) {
        let args = OwnedArgs::from_slices(parts);
        let cmd = crate::server::command_table()
            .lookup(args.args())
            .ok()
            .unwrap();
        crate::server::call(server, client, cmd, args.args());
    }

    #[test]
    fn a_waiter_stays_parked_when_its_key_is_recreated_with_another_type() {
        // Redis 7.0.15, client A: BLPOP k 0; client B: MULTI, RPUSH k a,
        // DEL k, SET k foo, EXEC. A stays blocked (no WRONGTYPE), and is
        // served once k is a list again.
        use std::cell::RefCell;
        use std::rc::Rc;
        let (mut s, mut b) = setup();
        let addr = "127.0.0.1:5001".parse().unwrap();
        let mut a = Client::new(2, addr, addr, -1);
        a.authenticated = true;
        let a = Rc::new(RefCell::new(a));
        s.clients.insert(2, a.clone());
        assert_eq!(run(&mut s, &mut a.borrow_mut(), &["BLPOP", "k", "0"]), "");
        assert_eq!(s.blocking.blocked_count, 1);
        for cmd in [
            &["RPUSH", "k", "a"][..],
            &["DEL", "k"],
            &["SET", "k", "foo"],
        ] {
            run_in_exec(&mut s, &mut b, cmd);
        }
        s.handle_clients_blocked_on_keys();
        assert_eq!(s.blocking.blocked_count, 1, "still parked");
        assert!(a.borrow().reply.buf.is_empty(), "and told nothing");
        run(&mut s, &mut b, &["DEL", "k"]);
        run(&mut s, &mut b, &["RPUSH", "k", "b"]);
        assert_eq!(s.blocking.blocked_count, 0);
        assert_eq!(
            String::from_utf8_lossy(&a.borrow().reply.buf),
            "*2\r\n$1\r\nk\r\n$1\r\nb\r\n"
        );
    }

    #[test]
    fn clamp_range_follows_lrange() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 3)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 3)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(5, 10, 3), None);
        assert_eq!(clamp_range(-1, -1, 3), Some((2, 1)));
        assert_eq!(clamp_range(0, -4, 3), None);
    }
}
