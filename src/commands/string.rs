//! # String commands
//!
//! A Redis string is a byte array of up to `proto-max-bulk-len` bytes (512
//! MB by default), binary safe, with no notion of characters. Twenty-odd
//! commands work on it, and they fall into four families:
//!
//! - **whole values**: SET (with its options), SETNX, SETEX, PSETEX, GETSET,
//!   MSET, MSETNX write a value given by the client; GET, MGET, GETDEL,
//!   GETEX read one;
//! - **counters**: INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT read the
//!   value as a number, add, and store the result;
//! - **editing in place**: APPEND and SETRANGE change part of a value;
//!   STRLEN, GETRANGE and SUBSTR read part of one;
//! - **comparing**: LCS, the longest common subsequence of two values.
//!
//! ## The invariant: the encoding follows how the value was made
//!
//! A string is stored in one of three encodings (see `object.rs`), and
//! which one is not a matter of taste: `OBJECT ENCODING` shows it, so we
//! follow Redis 7.0 exactly.
//!
//! | made by | encoding |
//! |---------|----------|
//! | a value stored whole from an argument (SET, MSET, GETSET, SETNX, SETEX, an APPEND that creates the key) | `int` / `embstr` / `raw` by `tryObjectEncoding` |
//! | INCR, DECR, INCRBY, DECRBY | `int` |
//! | INCRBYFLOAT | `embstr` (≤ 44 bytes) or `raw`, never `int`: `INCRBYFLOAT k 1` is an `embstr` "1" |
//! | APPEND or SETRANGE on an existing value, SETRANGE creating a key | `raw` |
//!
//! ## Where the time goes
//!
//! GET, SET, INCR, MGET and MSET are the commands benchmarks run, so their
//! paths allocate nothing beyond the value stored: GET writes the value
//! straight into the reply buffer; INCR on an `int` changes the number in
//! place; SET over a value of the same length copies into the old
//! allocation ([`StrValue::assign`]); a new key costs its name and its
//! value, nothing else.
//!
//! ## The Redis C counterpart
//!
//! `src/t_string.c`: `setGenericCommand`, `parseExtendedStringArgumentsOrReply`
//! (the option grammar shared by SET and GETEX), `getExpireMillisecondsOrReply`,
//! `getGenericCommand`, `getexCommand`, `getdelCommand`, `incrDecrCommand`,
//! `incrbyfloatCommand`, `appendCommand`, `setrangeCommand`,
//! `getrangeCommand`, `msetGenericCommand`, `lcsCommand`;
//! `checkStringLength`; `src/object.c`: `tryObjectEncoding`,
//! `createStringObjectFromLongDouble`; `src/util.c`: `ld2string`, `string2ld`.
//!
//! ## What we simplified
//!
//! - **INCRBYFLOAT computes in `f64`, Redis in `long double`** (80-bit x87
//!   on x86-64). Results agree for everyday decimals (`10.5` + `0.1` is
//!   `10.6` in both), but not always: Redis prints `0.1 + 0.2` as `0.3`, we
//!   print `0.30000000000000004`; and a number beyond `f64`'s range (`1e400`)
//!   is a valid value in Redis and "not a valid float" here. Redis also
//!   accepts C's hexadecimal floats (`0x10`), which Rust's parser does not.
//!   See [`format_float`].
//! - **No propagation rewriting yet.** Redis propagates `SET ... EX` as
//!   `SET ... PXAT`, INCRBYFLOAT as `SET ... KEEPTTL`, GETEX as `PEXPIREAT`
//!   or `PERSIST`, GETDEL as `DEL`, so that replicas and the AOF replay the
//!   same result. That arrives with the replication chapter; the comments
//!   below say where.
//! - **`mustObeyClient`.** Redis lifts the size limits for its master and
//!   for AOF loading; with neither yet, the limits always apply.

use crate::object::{StrValue, Value};
use crate::resp::{parse_i64, Aggregate, Args, Reply};
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::{GENERIC, STRING};
use crate::server::{Ctx, NOT_FLOAT, NOT_INTEGER, SYNTAX_ERR, WRONGTYPE};

use super::{arg_i64, eq_ic, parse_f64};

/// The flags are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "get",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Reads the value of a string key.",
        run: get,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "set",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary:
            "Stores a string value, optionally only if the key is absent or present, with a TTL, or returning the old value.",
        run: set,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "setnx",
        arity: 3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Stores a string value only if the key does not exist.",
        run: setnx,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "setex",
        arity: 4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Stores a string value with a TTL in seconds.",
        run: setex,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "psetex",
        arity: 4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Stores a string value with a TTL in milliseconds.",
        run: psetex,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "getset",
        arity: 3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Stores a string value and returns the one it replaced.",
        run: getset,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "getdel",
        arity: 2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Reads a string value and deletes its key.",
        run: getdel,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "getex",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Reads a string value and changes or removes its TTL.",
        run: getex,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "mget",
        arity: -2,
        flags: "readonly fast",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Reads the values of several keys; non-strings read as nil.",
        run: mget,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "mset",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: -1,
        key_step: 2,
        since: "1.0.1",
        summary: "Stores several key-value pairs at once.",
        run: mset,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "msetnx",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: -1,
        key_step: 2,
        since: "1.0.1",
        summary: "Stores several key-value pairs, only if none of the keys exists.",
        run: msetnx,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "incr",
        arity: 2,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Adds one to the integer in a key.",
        run: incr,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "decr",
        arity: 2,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Subtracts one from the integer in a key.",
        run: decr,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "incrby",
        arity: 3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Adds an integer to the integer in a key.",
        run: incrby,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "decrby",
        arity: 3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Subtracts an integer from the integer in a key.",
        run: decrby,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "incrbyfloat",
        arity: 3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Adds a decimal number to the number in a key.",
        run: incrbyfloat,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "append",
        arity: 3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Appends bytes to a string, creating it if needed.",
        run: append,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "strlen",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Returns the length of a string value in bytes.",
        run: strlen,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "setrange",
        arity: 4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Overwrites part of a string at a byte offset, padding with zeros.",
        run: setrange,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "getrange",
        arity: 4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.4.0",
        summary: "Returns the bytes of a string between two offsets.",
        run: getrange,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "substr",
        arity: 4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "The old name of GETRANGE.",
        run: getrange,
        ..CommandDef::base(Group::String)
    },
    CommandDef {
        name: "lcs",
        arity: -3,
        flags: "readonly",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "7.0.0",
        summary: "Finds the longest common subsequence of two string values.",
        run: lcs,
        ..CommandDef::base(Group::String)
    },
];

// ============================================================================
// Helpers shared by the families
// ============================================================================

/// `addReplyBulk` of a string value: an `int` is formatted on the stack.
fn reply_value(reply: &mut Reply, value: &StrValue) {
    match value {
        StrValue::Int(n) => reply.bulk_i64(*n),
        StrValue::Embstr(s) | StrValue::Raw(s) => reply.bulk(s),
    }
}

// ANCHOR: string_store_whole
/// Redis's `setKey` for a value given whole by the client: store `bytes`
/// under `key`, encoded by `tryObjectEncoding`, overwriting whatever was
/// there (of any type), dropping the key's TTL unless `keep_ttl`.
///
/// This is the hot path of SET and MSET. An existing string is overwritten
/// in place ([`StrValue::assign`] reuses its allocation when the length
/// matches); a new key costs two allocations, its name and its value.
fn store_whole(ctx: &mut Ctx, key: &[u8], bytes: &[u8], keep_ttl: bool) {
    let overwritten = match ctx.lookup_write(key) {
        Some(obj) => {
            match obj.as_str_mut() {
                Some(s) => s.assign(bytes),
                None => obj.value = Value::Str(StrValue::from_bytes(bytes)),
            }
            true
        }
        None => false,
    };
    if overwritten {
        let db = ctx.db();
        // Almost no dataset has TTLs on every key; the emptiness check
        // keeps the common case to one branch.
        if !keep_ttl && !db.expires.is_empty() {
            db.remove_expire(key);
        }
    } else {
        let obj = ctx.new_object(Value::Str(StrValue::from_bytes(bytes)));
        ctx.db().add(key, obj);
    }
    ctx.signal_modified_key(key);
}
// ANCHOR_END: string_store_whole

/// Redis's `getGenericCommand`: reply the value of `key` (nil if missing).
/// `Err` when the key holds another type (WRONGTYPE has been replied), so
/// GETSET, GETDEL and SET ... GET stop before writing.
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> Result<(), ()> {
    match ctx.read_key(key) {
        (None, reply) => reply.null(),
        (Some(obj), reply) => match obj.as_str() {
            Some(value) => reply_value(reply, value),
            None => {
                reply.error(WRONGTYPE);
                return Err(());
            }
        },
    }
    Ok(())
}

/// Redis's `checkStringLength`: would a string of `len + extra` bytes pass
/// `proto-max-bulk-len`? Replies the error if so. (Computed in `u64`, so
/// the sum cannot wrap the way Redis guards against.)
fn check_string_length(ctx: &mut Ctx, len: u64, extra: u64) -> bool {
    let total = len.checked_add(extra);
    match total {
        Some(t) if t <= ctx.server.config.proto_max_bulk_len => true,
        _ => {
            ctx.reply()
                .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            false
        }
    }
}

// ============================================================================
// Reading whole values: GET MGET GETDEL GETEX
// ============================================================================

/// GET key
fn get(ctx: &mut Ctx, args: Args) {
    let _ = get_generic(ctx, &args[1]);
}

/// MGET key [key ...]: a key that is missing or holds another type reads as
/// nil (MGET never replies WRONGTYPE).
fn mget(ctx: &mut Ctx, args: Args) {
    ctx.reply().array(args.len() - 1);
    for key in args.iter().skip(1) {
        match ctx.read_key(key) {
            (Some(obj), reply) => match obj.as_str() {
                Some(value) => reply_value(reply, value),
                None => reply.null(),
            },
            (None, reply) => reply.null(),
        }
    }
}

/// GETDEL key: GET, then delete the key if it was a string.
fn getdel(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    if get_generic(ctx, key).is_err() {
        return;
    }
    // Redis 7.0 propagates this as DEL.
    if ctx.db().delete(key).is_some() {
        ctx.signal_modified_key(key);
        ctx.notify(GENERIC, "del", key);
        ctx.dirty(1);
        ctx.propagate_as(&[&b"DEL"[..], key]);
    }
}

/// GETEX key [EX seconds | PX ms | EXAT unix-s | PXAT unix-ms | PERSIST]
///
/// Outcomes, in Redis's order:
/// 1. a bad option: `ERR syntax error`, before the key is looked at;
/// 2. a missing key: nil, even if the expire value is invalid;
/// 3. another type: WRONGTYPE;
/// 4. an invalid expire value: its error, and nothing is replied or changed;
/// 5. otherwise the value is replied, then: an EXAT/PXAT already in the past
///    deletes the key (event `del`); another expire sets the TTL (`expire`);
///    PERSIST removes a TTL if there was one (`persist`); no option changes
///    nothing.
fn getex(ctx: &mut Ctx, args: Args) {
    let Some(opts) = parse_string_options(ctx, args, Family::Get) else {
        return;
    };
    let key = &args[1];
    let now = ctx.now_ms;
    let name = ctx.cmd.full_name;
    let when = {
        let (obj, reply) = ctx.read_key(key);
        let Some(obj) = obj else {
            reply.null();
            return;
        };
        let Some(value) = obj.as_str() else {
            reply.error(WRONGTYPE);
            return;
        };
        let when = match opts.expire {
            Some(expire) => match expire.to_unix_ms(&args, now) {
                Ok(ms) => Some((ms, expire.absolute())),
                Err(e) => {
                    e.reply(reply, name);
                    return;
                }
            },
            None => None,
        };
        reply_value(reply, value);
        when
    };
    match when {
        // Propagated as DEL: the deadline had already passed.
        Some((ms, true)) if ms <= now => {
            ctx.db().delete(key);
            ctx.signal_modified_key(key);
            ctx.notify(GENERIC, "del", key);
            ctx.dirty(1);
            let verb = crate::propagate::del_verb(ctx.server.config.lazyfree_lazy_expire);
            ctx.propagate_as(&[verb, key]);
        }
        // Propagated as PEXPIREAT with the absolute time.
        Some((ms, _)) => {
            ctx.db().set_expire(key, ms);
            ctx.signal_modified_key(key);
            ctx.notify(GENERIC, "expire", key);
            ctx.dirty(1);
            if ctx.propagating() {
                ctx.propagate_as(&[&b"PEXPIREAT"[..], key, ms.to_string().as_bytes()]);
            }
        }
        // Only a TTL actually removed counts; propagated as PERSIST.
        None if opts.flags & PERSIST != 0 && ctx.db().remove_expire(key) => {
            ctx.signal_modified_key(key);
            ctx.notify(GENERIC, "persist", key);
            ctx.dirty(1);
            ctx.propagate_as(&[&b"PERSIST"[..], key]);
        }
        None => {}
    }
}

// ============================================================================
// The option grammar of SET and GETEX
// ============================================================================

// ANCHOR: string_set_options
// Option flags, as Redis's `OBJ_SET_*` / `OBJ_*` bits. Each option is
// allowed only if none of the options it conflicts with came before it;
// the same option twice is fine (the last expire value wins), which is what
// Redis 7.0 does.
const NX: u32 = 1 << 0;
const XX: u32 = 1 << 1;
const GET: u32 = 1 << 2;
const KEEPTTL: u32 = 1 << 3;
const PERSIST: u32 = 1 << 4;
const EX: u32 = 1 << 5;
const PX: u32 = 1 << 6;
const EXAT: u32 = 1 << 7;
const PXAT: u32 = 1 << 8;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

/// Which command's grammar: SET takes NX, XX, GET and KEEPTTL; GETEX takes
/// PERSIST; both take the four expire forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Set,
    Get,
}

/// An expire option: which form, and where its value is in the arguments.
#[derive(Clone, Copy)]
struct ExpireArg {
    form: u32,
    index: usize,
}

struct StringOptions {
    flags: u32,
    expire: Option<ExpireArg>,
}

/// Redis's `parseExtendedStringArgumentsOrReply`. Options start after the
/// value for SET (index 3) and after the key for GETEX (index 2). Any word
/// that is unknown, conflicts with an earlier option, or is an expire form
/// with no value after it, is `ERR syntax error`.
fn parse_string_options(ctx: &mut Ctx, args: Args, family: Family) -> Option<StringOptions> {
    let mut opts = StringOptions {
        flags: 0,
        expire: None,
    };
    let mut j = if family == Family::Set { 3 } else { 2 };
    while j < args.len() {
        let word = &args[j];
        let has_next = j + 1 < args.len();
        let set = family == Family::Set;
        let flags = opts.flags;
        let expire_form = [("ex", EX), ("px", PX), ("exat", EXAT), ("pxat", PXAT)]
            .into_iter()
            .find(|(name, _)| eq_ic(word, name))
            .map(|(_, form)| form);
        if let Some(form) = expire_form {
            // An expire form conflicts with KEEPTTL, PERSIST and the other
            // three forms, and needs its value.
            if flags & (KEEPTTL | PERSIST | (ANY_EXPIRE & !form)) != 0 || !has_next {
                break;
            }
            opts.flags |= form;
            opts.expire = Some(ExpireArg { form, index: j + 1 });
            j += 2;
            continue;
        }
        let flag = if set && eq_ic(word, "nx") && flags & XX == 0 {
            NX
        } else if set && eq_ic(word, "xx") && flags & NX == 0 {
            XX
        } else if set && eq_ic(word, "get") {
            GET
        } else if set && eq_ic(word, "keepttl") && flags & (PERSIST | ANY_EXPIRE) == 0 {
            KEEPTTL
        } else if !set && eq_ic(word, "persist") && flags & (KEEPTTL | ANY_EXPIRE) == 0 {
            PERSIST
        } else {
            break;
        };
        opts.flags |= flag;
        j += 1;
    }
    if j < args.len() {
        ctx.reply().error(SYNTAX_ERR);
        return None;
    }
    Some(opts)
}
// ANCHOR_END: string_set_options

/// Why an expire value was refused.
enum ExpireError {
    /// Not an integer: `ERR value is not an integer or out of range`.
    NotInteger,
    /// Zero, negative, or overflowing once converted to absolute
    /// milliseconds: `ERR invalid expire time in '<command>' command`.
    Invalid,
}

impl ExpireError {
    fn reply(self, reply: &mut Reply, command: &str) {
        match self {
            ExpireError::NotInteger => reply.error(NOT_INTEGER),
            ExpireError::Invalid => {
                reply.error(&format!("ERR invalid expire time in '{command}' command"))
            }
        }
    }
}

impl ExpireArg {
    /// EXAT and PXAT give an absolute time; EX and PX a duration.
    fn absolute(self) -> bool {
        self.form & (EXAT | PXAT) != 0
    }

    /// Redis's `getExpireMillisecondsOrReply`: the deadline in Unix ms.
    ///
    /// The value must be positive; seconds are multiplied by 1000 (refused
    /// if that would overflow); a duration is added to the clock, and a sum
    /// that overflows (Redis's signed wrap-around makes it negative) is
    /// refused too. So `SET k v EX 0` and `SET k v PX 9223372036854775807`
    /// are both "invalid expire time".
    fn to_unix_ms(self, args: &Args, now_ms: i64) -> Result<i64, ExpireError> {
        let mut ms = parse_i64(&args[self.index]).ok_or(ExpireError::NotInteger)?;
        let seconds = self.form & (EX | EXAT) != 0;
        if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
            return Err(ExpireError::Invalid);
        }
        if seconds {
            ms *= 1000;
        }
        if !self.absolute() {
            ms = ms.wrapping_add(now_ms);
        }
        if ms <= 0 {
            return Err(ExpireError::Invalid);
        }
        Ok(ms)
    }
}

// ============================================================================
// Writing whole values: SET SETNX SETEX PSETEX GETSET MSET MSETNX
// ============================================================================

/// How a SET-family command replies when it stores (`+OK` or `:1`) and when
/// NX or XX stops it (nil or `:0`). Redis passes these as `ok_reply` and
/// `abort_reply`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetReplies {
    OkOrNil,
    OneOrZero,
}

/// Redis's `setGenericCommand`, shared by SET, SETNX, SETEX and PSETEX.
///
/// Order of events, which the replies reveal:
/// 1. the expire value is checked (its error wins over everything);
/// 2. with GET, the old value is replied (WRONGTYPE stops here, nothing is
///    written);
/// 3. NX on an existing key, or XX on a missing one, stops: nil (or `:0`),
///    or nothing more with GET, whose reply already went out;
/// 4. the value is stored (`set` event), then the TTL (`expire` event);
/// 5. `+OK` (or `:1`), unless GET already replied.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    opts: &StringOptions,
    args: &Args,
    replies: SetReplies,
) {
    let flags = opts.flags;
    let deadline = match opts.expire {
        Some(expire) => match expire.to_unix_ms(args, ctx.now_ms) {
            Ok(ms) => Some(ms),
            Err(e) => {
                let name = ctx.cmd.full_name;
                e.reply(ctx.reply(), name);
                return;
            }
        },
        None => None,
    };
    if flags & GET != 0 && get_generic(ctx, key).is_err() {
        return;
    }
    if flags & (NX | XX) != 0 {
        let found = ctx.lookup_write(key).is_some();
        if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
            if flags & GET == 0 {
                match replies {
                    SetReplies::OkOrNil => ctx.reply().null(),
                    SetReplies::OneOrZero => ctx.reply().int(0),
                }
            }
            return;
        }
    }
    store_whole(ctx, key, value, flags & KEEPTTL != 0);
    ctx.dirty(1);
    ctx.notify(STRING, "set", key);
    if let Some(ms) = deadline {
        // Redis propagates this as SET key value PXAT <ms>, whatever the
        // form the client used (a PXAT too, since the rewrite also drops
        // NX/XX/GET).
        ctx.db().set_expire(key, ms);
        ctx.notify(GENERIC, "expire", key);
        if ctx.propagating() {
            ctx.propagate_as(&[&b"SET"[..], key, value, b"PXAT", ms.to_string().as_bytes()]);
        }
    }
    if flags & GET == 0 {
        match replies {
            SetReplies::OkOrNil => ctx.reply().ok(),
            SetReplies::OneOrZero => ctx.reply().int(1),
        }
    }
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL]
fn set(ctx: &mut Ctx, args: Args) {
    // The plain `SET key value` is by far the most common form: no option
    // parsing, no second lookup.
    if args.len() == 3 {
        store_whole(ctx, &args[1], &args[2], false);
        ctx.dirty(1);
        ctx.notify(STRING, "set", &args[1]);
        ctx.reply().ok();
        return;
    }
    let Some(opts) = parse_string_options(ctx, args, Family::Set) else {
        return;
    };
    set_generic(ctx, &args[1], &args[2], &opts, &args, SetReplies::OkOrNil);
}

/// SETNX key value: SET NX, replying 1 or 0.
fn setnx(ctx: &mut Ctx, args: Args) {
    let opts = StringOptions {
        flags: NX,
        expire: None,
    };
    set_generic(ctx, &args[1], &args[2], &opts, &args, SetReplies::OneOrZero);
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx, args: Args) {
    let opts = StringOptions {
        flags: EX,
        expire: Some(ExpireArg { form: EX, index: 2 }),
    };
    set_generic(ctx, &args[1], &args[3], &opts, &args, SetReplies::OkOrNil);
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx, args: Args) {
    let opts = StringOptions {
        flags: PX,
        expire: Some(ExpireArg { form: PX, index: 2 }),
    };
    set_generic(ctx, &args[1], &args[3], &opts, &args, SetReplies::OkOrNil);
}

/// GETSET key value: reply the old value, store the new one (dropping the
/// TTL). Redis propagates it as SET.
fn getset(ctx: &mut Ctx, args: Args) {
    if get_generic(ctx, &args[1]).is_err() {
        return;
    }
    store_whole(ctx, &args[1], &args[2], false);
    ctx.notify(STRING, "set", &args[1]);
    ctx.dirty(1);
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx, args: Args) {
    mset_generic(ctx, args, false);
}

/// MSETNX key value [key value ...]: all or nothing; 1 if stored.
fn msetnx(ctx: &mut Ctx, args: Args) {
    mset_generic(ctx, args, true);
}

/// Redis's `msetGenericCommand`. An even argument count (a key without its
/// value) is reported as an arity error, with the command's name.
fn mset_generic(ctx: &mut Ctx, args: Args, nx: bool) {
    if args.len().is_multiple_of(2) {
        let name = ctx.cmd.full_name;
        ctx.reply().error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
        return;
    }
    if nx {
        for key in args.iter().skip(1).step_by(2) {
            if ctx.lookup_write(key).is_some() {
                ctx.reply().int(0);
                return;
            }
        }
    }
    for pair in 0..args.len() / 2 {
        let (key, value) = (&args[1 + 2 * pair], &args[2 + 2 * pair]);
        store_whole(ctx, key, value, false);
        ctx.notify(STRING, "set", key);
    }
    ctx.dirty((args.len() / 2) as u64);
    if nx {
        ctx.reply().int(1);
    } else {
        ctx.reply().ok();
    }
}

// ============================================================================
// Counters: INCR DECR INCRBY DECRBY INCRBYFLOAT
// ============================================================================

/// INCR key
fn incr(ctx: &mut Ctx, args: Args) {
    incr_decr(ctx, &args[1], 1);
}

/// DECR key
fn decr(ctx: &mut Ctx, args: Args) {
    incr_decr(ctx, &args[1], -1);
}

/// INCRBY key increment
fn incrby(ctx: &mut Ctx, args: Args) {
    if let Some(incr) = arg_i64(ctx, &args[2]) {
        incr_decr(ctx, &args[1], incr);
    }
}

/// DECRBY key decrement. Negating `i64::MIN` has no answer, so that one
/// decrement is refused before the key is even looked at.
fn decrby(ctx: &mut Ctx, args: Args) {
    let Some(decr) = arg_i64(ctx, &args[2]) else {
        return;
    };
    if decr == i64::MIN {
        ctx.reply().error("ERR decrement would overflow");
        return;
    }
    incr_decr(ctx, &args[1], -decr);
}

// ANCHOR: string_incr
/// Redis's `incrDecrCommand`: add `incr` to the integer in `key` (a missing
/// key counts as 0) and store the sum as an `int`.
///
/// Outcomes: WRONGTYPE; `ERR value is not an integer or out of range` if
/// the value is not the canonical text of an i64 (`"010"`, `" 1"`, `"1.0"`
/// are not); `ERR increment or decrement would overflow` if the sum leaves
/// the i64 range; otherwise the sum is stored (keeping the TTL) and
/// replied, with the `incrby` event for all four commands.
///
/// An `int` value is updated where it lies: no allocation, no lookup
/// beyond the first. (Redis does the same when the object is not shared.)
fn incr_decr(ctx: &mut Ctx, key: &[u8], incr: i64) {
    let (obj, reply) = ctx.write_key(key);
    let (sum, existed) = match obj {
        None => (incr, false),
        Some(obj) => {
            let Some(value) = obj.as_str_mut() else {
                reply.error(WRONGTYPE);
                return;
            };
            let Some(old) = value.as_i64() else {
                reply.error(NOT_INTEGER);
                return;
            };
            let Some(sum) = old.checked_add(incr) else {
                reply.error("ERR increment or decrement would overflow");
                return;
            };
            *value = StrValue::Int(sum);
            (sum, true)
        }
    };
    if !existed {
        let obj = ctx.new_object(Value::Str(StrValue::Int(sum)));
        ctx.db().add(key, obj);
    }
    ctx.signal_modified_key(key);
    ctx.notify(STRING, "incrby", key);
    ctx.dirty(1);
    ctx.reply().int(sum);
}
// ANCHOR_END: string_incr

/// Redis reads floats into a buffer of `MAX_LONG_DOUBLE_CHARS` (5 KB); a
/// longer text is refused whatever it holds.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// `string2ld`: a float as INCRBYFLOAT accepts it.
fn parse_float_value(bytes: &[u8]) -> Option<f64> {
    if bytes.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    parse_f64(bytes)
}

/// The text INCRBYFLOAT stores: Redis's `ld2string` in its "human" mode,
/// which prints `%.17Lf` (fixed notation, 17 decimals, never an exponent)
/// and strips trailing zeros, then the dot, and turns `-0` into `0`.
///
/// We print Rust's shortest round-trip form (`{}`), which for an `f64` is
/// also fixed notation (`5e3` prints `5000`) and is what makes `10.6`
/// print as `10.6` rather than `10.59999999999999964`. Where that form has
/// more than 17 decimals, we round to 17 as `%.17Lf` would (`1e-20` is
/// stored as `0` by Redis, and by us). The remaining differences come from
/// `f64` against Redis's 80-bit `long double`, see the module notes.
pub(crate) fn format_float(value: f64) -> String {
    let mut text = format!("{value}");
    if let Some(dot) = text.find('.') {
        if text.len() - dot - 1 > 17 {
            text = format!("{value:.17}");
            let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
            text.truncate(trimmed);
        }
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

/// INCRBYFLOAT key increment: the sum is stored as text (`embstr` or
/// `raw`, never `int`), keeping the TTL. Redis propagates it as
/// `SET key <text> KEEPTTL`, so replicas store the same digits.
fn incrbyfloat(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let (obj, reply) = ctx.write_key(key);
    let old = match &obj {
        None => 0.0,
        Some(obj) => match obj.as_str() {
            None => {
                reply.error(WRONGTYPE);
                return;
            }
            Some(StrValue::Int(n)) => *n as f64,
            Some(StrValue::Embstr(s) | StrValue::Raw(s)) => match parse_float_value(s) {
                Some(v) => v,
                None => {
                    reply.error(NOT_FLOAT);
                    return;
                }
            },
        },
    };
    let Some(incr) = parse_float_value(&args[2]) else {
        reply.error(NOT_FLOAT);
        return;
    };
    let sum = old + incr;
    if !sum.is_finite() {
        reply.error("ERR increment would produce NaN or Infinity");
        return;
    }
    let text = format_float(sum);
    let value = StrValue::from_bytes_unencoded(text.as_bytes());
    match obj.and_then(|o| o.as_str_mut()) {
        Some(slot) => *slot = value,
        None => {
            let obj = ctx.new_object(Value::Str(value));
            ctx.db().add(key, obj);
        }
    }
    ctx.signal_modified_key(key);
    ctx.notify(STRING, "incrbyfloat", key);
    ctx.dirty(1);
    // Float formatting could differ on the replaying side: send the result.
    ctx.propagate_as(&[&b"SET"[..], key, text.as_bytes(), b"KEEPTTL"]);
    ctx.reply().bulk(text.as_bytes());
}

// ============================================================================
// Editing and reading parts: APPEND SETRANGE STRLEN GETRANGE
// ============================================================================

/// APPEND key value: the new length.
///
/// On a missing key the value is stored whole, so it is encoded like a SET
/// (`APPEND k 12` makes an `int`). On an existing one the value is made
/// `raw` (an `embstr` or `int` cannot grow) and the bytes appended; the sds
/// grows greedily, so a loop of small APPENDs reallocates rarely.
fn append(ctx: &mut Ctx, args: Args) {
    let (key, tail) = (&args[1], &args[2]);
    let max = ctx.server.config.proto_max_bulk_len;
    let (obj, reply) = ctx.write_key(key);
    let new_len = match obj {
        None => {
            let value = StrValue::from_bytes(tail);
            let obj = ctx.new_object(Value::Str(value));
            ctx.db().add(key, obj);
            tail.len()
        }
        Some(obj) => {
            let Some(value) = obj.as_str_mut() else {
                reply.error(WRONGTYPE);
                return;
            };
            let old_len = value.len() as u64;
            if old_len.saturating_add(tail.len() as u64) > max {
                reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
                return;
            }
            let sds = value.make_raw();
            sds.push_bytes(tail);
            sds.len()
        }
    };
    ctx.signal_modified_key(key);
    ctx.notify(STRING, "append", key);
    ctx.dirty(1);
    ctx.reply().int(new_len as i64);
}

/// STRLEN key: 0 for a missing key.
fn strlen(ctx: &mut Ctx, args: Args) {
    match ctx.read_key(&args[1]) {
        (None, reply) => reply.int(0),
        (Some(obj), reply) => match obj.as_str() {
            Some(value) => reply.int(value.len() as i64),
            None => reply.error(WRONGTYPE),
        },
    }
}

/// SETRANGE key offset value: overwrite bytes from `offset`, padding with
/// zero bytes if the string is shorter; reply the new length.
///
/// Outcomes, in order: a non-integer offset; a negative one (`ERR offset
/// is out of range`); an empty `value` changes nothing and replies the
/// current length (0 for a missing key, which is *not* created); WRONGTYPE
/// (checked before the empty-value shortcut for an existing key); `offset
/// + len(value)` above `proto-max-bulk-len`; otherwise the write, with the
/// `setrange` event. The result is always `raw`.
fn setrange(ctx: &mut Ctx, args: Args) {
    let (key, patch) = (&args[1], &args[3]);
    let Some(offset) = arg_i64(ctx, &args[2]) else {
        return;
    };
    if offset < 0 {
        ctx.reply().error("ERR offset is out of range");
        return;
    }
    let offset = offset as u64;
    let exists = match ctx.write_key(key) {
        (None, reply) => {
            if patch.is_empty() {
                reply.int(0);
                return;
            }
            false
        }
        (Some(obj), reply) => match obj.as_str() {
            None => {
                reply.error(WRONGTYPE);
                return;
            }
            Some(value) if patch.is_empty() => {
                reply.int(value.len() as i64);
                return;
            }
            Some(_) => true,
        },
    };
    if !check_string_length(ctx, offset, patch.len() as u64) {
        return;
    }
    let offset = offset as usize; // fits: at most proto-max-bulk-len
    let end = offset + patch.len();
    let new_len = if exists {
        let value = ctx
            .lookup_write(key)
            .and_then(|obj| obj.as_str_mut())
            .expect("the string was found above");
        let sds = value.make_raw();
        sds.grow_zeroed(end);
        sds.as_bytes_mut()[offset..end].copy_from_slice(patch);
        sds.len()
    } else {
        // A new key gets exactly the bytes it needs, as `sdsnewlen` gives.
        let mut sds = Sds::with_capacity(end);
        sds.grow_zeroed(end);
        sds.as_bytes_mut()[offset..end].copy_from_slice(patch);
        let obj = ctx.new_object(Value::Str(StrValue::Raw(sds)));
        ctx.db().add(key, obj);
        end
    };
    ctx.signal_modified_key(key);
    ctx.notify(STRING, "setrange", key);
    ctx.dirty(1);
    ctx.reply().int(new_len as i64);
}

/// Redis's index rules for GETRANGE: negative indexes count from the end;
/// both negative with `start > end` is empty at once; then both are clamped
/// into the string. `None` is an empty result.
///
/// Worked example on `"Hello"` (5 bytes): `0 -1` → 0..=4 "Hello"; `-3 -1`
/// → 2..=4 "llo"; `3 100` → 3..=4 "lo"; `-100 1` → 0..=1 "He"; `-1 -3` →
/// empty (both negative, start after end); `4 2` → empty.
fn resolve_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let mut end = if end < 0 { (len + end).max(0) } else { end };
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

/// GETRANGE key start end (and its old name SUBSTR): the bytes between two
/// inclusive offsets; an empty string for a missing key or an empty range.
fn getrange(ctx: &mut Ctx, args: Args) {
    let Some(start) = arg_i64(ctx, &args[2]) else {
        return;
    };
    let Some(end) = arg_i64(ctx, &args[3]) else {
        return;
    };
    let (obj, reply) = ctx.read_key(&args[1]);
    let Some(obj) = obj else {
        reply.bulk(b"");
        return;
    };
    let Some(value) = obj.as_str() else {
        reply.error(WRONGTYPE);
        return;
    };
    let mut scratch = [0u8; 20];
    let bytes = value.bytes(&mut scratch);
    match resolve_range(bytes.len(), start, end) {
        Some((from, to)) => reply.bulk(&bytes[from..=to]),
        None => reply.bulk(b""),
    }
}

// ============================================================================
// LCS
// ============================================================================

// ANCHOR: string_lcs
/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
///
/// The longest common subsequence of two strings: the longest string whose
/// bytes appear in both, in order, not necessarily next to each other.
/// `LCS` of "ohmytext" and "mynewtext" is "mytext".
///
/// THE TABLE. Redis's algorithm is the textbook dynamic program. `L[i][j]`
/// is the LCS length of the first `i` bytes of `a` and the first `j` of
/// `b`: 0 on the borders; `L[i-1][j-1] + 1` when `a[i-1] == b[j-1]`;
/// otherwise the larger of `L[i-1][j]` and `L[i][j-1]`. `L[alen][blen]`
/// is the answer's length. The table has `(alen+1) * (blen+1)` cells of 4
/// bytes, so two 20,000-byte strings need 1.6 GB: Redis refuses a table
/// larger than `proto-max-bulk-len` (512 MB), and so do we.
///
/// WALKING BACK. From `(alen, blen)` towards `(0, 0)`: on equal bytes the
/// byte is part of the answer and both indexes step back; otherwise step
/// back in the direction that keeps the larger `L` (on a tie, `j`). The
/// answer comes out last byte first, so it is written from its end.
///
/// IDX. Along the walk, consecutive matches form a *range* (a run of bytes
/// contiguous in both strings). A range is emitted, last one first, when a
/// mismatch ends it or when it reaches the start of either string;
/// MINMATCHLEN drops the short ones; WITHMATCHLEN adds each range's length.
/// The reply is `{matches: [[[a_start, a_end], [b_start, b_end], len?], ...],
/// len: n}`, a map in RESP3 and a flat array in RESP2.
fn lcs(ctx: &mut Ctx, args: Args) {
    // Both keys are looked up (and type-checked) before the options.
    let mut wrong_type = false;
    for key in [&args[1], &args[2]] {
        if let Some(obj) = ctx.lookup_read(key) {
            wrong_type |= obj.as_str().is_none();
        }
    }
    if wrong_type {
        ctx.reply()
            .error("ERR The specified keys must contain string values");
        return;
    }
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let word = &args[j];
        if eq_ic(word, "idx") {
            want_idx = true;
        } else if eq_ic(word, "len") {
            want_len = true;
        } else if eq_ic(word, "withmatchlen") {
            with_match_len = true;
        } else if eq_ic(word, "minmatchlen") && j + 1 < args.len() {
            let Some(n) = arg_i64(ctx, &args[j + 1]) else {
                return;
            };
            min_match_len = n.max(0);
            j += 1;
        } else {
            ctx.reply().error(SYNTAX_ERR);
            return;
        }
        j += 1;
    }
    if want_len && want_idx {
        ctx.reply()
            .error("ERR If you want both the length and indexes, please just use IDX.");
        return;
    }

    let max_table = ctx.server.config.proto_max_bulk_len;
    let db = &ctx.server.dbs[ctx.client.db];
    let reply = &mut ctx.client.reply;
    let (mut scratch_a, mut scratch_b) = ([0u8; 20], [0u8; 20]);
    let a: &[u8] = match db.get(&args[1]).and_then(|o| o.as_str()) {
        Some(v) => v.bytes(&mut scratch_a),
        None => b"",
    };
    let b: &[u8] = match db.get(&args[2]).and_then(|o| o.as_str()) {
        Some(v) => v.bytes(&mut scratch_b),
        None => b"",
    };
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        reply.error("ERR String too long for LCS");
        return;
    }
    let (alen, blen) = (a.len(), b.len());
    let width = blen + 1;
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let Some(bytes) = cells.checked_mul(4) else {
        reply.error("ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    };
    if bytes > max_table {
        reply.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        reply.error("ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    table.resize(cells as usize, 0);
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + (j - 1)] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + (j - 1)])
            };
        }
    }
    let total = table[alen * width + blen];

    if want_len {
        reply.int(i64::from(total));
        return;
    }
    let mut result = vec![0u8; total as usize];
    let mut filled = total as usize;
    let matches_len = if want_idx {
        reply.map(2);
        reply.bulk(b"matches");
        Some(reply.defer_len())
    } else {
        None
    };
    // The range being grown: `None` between ranges.
    let mut range: Option<(usize, usize, usize, usize)> = None; // (a_start, a_end, b_start, b_end)
    let mut emitted = 0;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            filled -= 1;
            result[filled] = a[i - 1];
            range = match range {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                // Contiguous with the range so far: extend it backwards.
                Some((a0, a1, b0, b1)) if a0 == i && b0 == j => Some((a0 - 1, a1, b0 - 1, b1)),
                Some(r) => {
                    emit = true;
                    Some(r)
                }
            };
            if let Some((a0, _, b0, _)) = range {
                emit |= a0 == 0 || b0 == 0;
            }
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + (j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some((a0, a1, b0, b1)) = range.take() {
                let match_len = a1 - a0 + 1;
                if matches_len.is_some() && match_len as i64 >= min_match_len {
                    reply.array(2 + usize::from(with_match_len));
                    reply.array(2);
                    reply.int(a0 as i64);
                    reply.int(a1 as i64);
                    reply.array(2);
                    reply.int(b0 as i64);
                    reply.int(b1 as i64);
                    if with_match_len {
                        reply.int(match_len as i64);
                    }
                    emitted += 1;
                }
            }
        }
    }
    match matches_len {
        Some(at) => {
            reply.bulk(b"len");
            reply.int(i64::from(total));
            reply.set_len(at, Aggregate::Array, emitted);
        }
        None => reply.bulk(&result),
    }
}
// ANCHOR_END: string_lcs

/// Running commands in-process, without a socket: for unit tests that
/// look inside the keyspace (the encoding of a value) or switch a client to
/// RESP3 directly.
#[cfg(test)]
pub(crate) mod harness {
    use crate::resp::{OwnedArgs, Protocol};
    use crate::server::{process_command, Client, Config, Server};

    pub struct Harness {
        pub server: Server,
        pub client: Client,
    }

    impl Harness {
        pub fn new() -> Harness {
            let addr = "127.0.0.1:1".parse().unwrap();
            Harness {
                server: Server::new(Config::default()),
                client: Client::new(1, addr, addr, -1),
            }
        }

        pub fn resp3(mut self) -> Harness {
            self.client.reply.protocol = Protocol::Resp3;
            self
        }

        /// Run one command; its raw reply as text.
        pub fn run(&mut self, words: &[&[u8]]) -> String {
            self.client.reply.buf.clear();
            let args = OwnedArgs::from_slices(words);
            process_command(&mut self.server, &mut self.client, args.args());
            String::from_utf8_lossy(&std::mem::take(&mut self.client.reply.buf)).into_owned()
        }

        /// What `OBJECT ENCODING key` will say.
        pub fn encoding(&self, key: &str) -> &'static str {
            self.server.dbs[0]
                .get(key.as_bytes())
                .expect("key exists")
                .encoding()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::Harness;
    use super::*;

    #[test]
    fn values_stored_whole_are_encoded_by_try_object_encoding() {
        let mut h = Harness::new();
        let long = "x".repeat(45);
        for cmd in [
            &[&b"SET"[..], b"int", b"12345"][..],
            &[b"SET", b"emb", b"hello"],
            &[b"SET", b"raw", long.as_bytes()],
            &[b"SET", b"edge", &[b'y'; 44]],
            &[b"SET", b"lead0", b"0123"],
            &[b"SET", b"huge", b"12345678901234567890"],
            &[b"MSET", b"m1", b"-7", b"m2", b"7.5"],
            &[b"SETNX", b"nx", b"42"],
            &[b"SETEX", b"ex", b"100", b"42"],
            &[b"GETSET", b"gs", b"42"],
            &[b"APPEND", b"ap", b"12"],
        ] {
            h.run(cmd);
        }
        let expected = [
            ("int", "int"),
            ("emb", "embstr"),
            ("raw", "raw"),
            ("edge", "embstr"),
            ("lead0", "embstr"),
            ("huge", "embstr"),
            ("m1", "int"),
            ("m2", "embstr"),
            ("nx", "int"),
            ("ex", "int"),
            ("gs", "int"),
            ("ap", "int"),
        ];
        for (key, enc) in expected {
            assert_eq!(h.encoding(key), enc, "encoding of {key}");
        }
    }

    #[test]
    fn overwriting_a_value_re_encodes_it() {
        let mut h = Harness::new();
        h.run(&[b"SET", b"k", b"abc"]);
        h.run(&[b"APPEND", b"k", b"d"]);
        assert_eq!(h.encoding("k"), "raw");
        // Same length as the raw value: the allocation is reused, but the
        // encoding is the one a fresh SET gives.
        h.run(&[b"SET", b"k", b"wxyz"]);
        assert_eq!(h.encoding("k"), "embstr");
        assert_eq!(h.run(&[b"GET", b"k"]), "$4\r\nwxyz\r\n");
        h.run(&[b"SET", b"k", b"1234"]);
        assert_eq!(h.encoding("k"), "int");
        let long = "z".repeat(50);
        h.run(&[b"SET", b"k", long.as_bytes()]);
        assert_eq!(h.encoding("k"), "raw");
        let other = "q".repeat(50);
        h.run(&[b"SET", b"k", other.as_bytes()]);
        assert_eq!(h.run(&[b"GET", b"k"]), format!("$50\r\n{other}\r\n"));
    }

    #[test]
    fn modifying_commands_leave_raw_values_and_counters_leave_ints() {
        let mut h = Harness::new();
        h.run(&[b"SET", b"a", b"12"]);
        h.run(&[b"APPEND", b"a", b"3"]);
        assert_eq!(h.encoding("a"), "raw");
        h.run(&[b"SET", b"s", b"hello"]);
        h.run(&[b"SETRANGE", b"s", b"0", b"J"]);
        assert_eq!(h.encoding("s"), "raw");
        h.run(&[b"SETRANGE", b"new", b"2", b"12"]);
        assert_eq!(h.encoding("new"), "raw");
        h.run(&[b"INCR", b"a"]);
        assert_eq!(h.encoding("a"), "int");
        h.run(&[b"INCRBY", b"fresh", b"5"]);
        assert_eq!(h.encoding("fresh"), "int");
        h.run(&[b"INCRBYFLOAT", b"f", b"1"]);
        assert_eq!(h.encoding("f"), "embstr");
        h.run(&[b"INCRBYFLOAT", b"big", b"1e50"]);
        assert_eq!(h.encoding("big"), "raw");
    }

    #[test]
    fn resp3_replies_use_null_and_map() {
        let mut h = Harness::new().resp3();
        assert_eq!(h.run(&[b"GET", b"nope"]), "_\r\n");
        assert_eq!(h.run(&[b"SET", b"k", b"v", b"XX"]), "_\r\n");
        assert_eq!(h.run(&[b"MGET", b"nope", b"k"]), "*2\r\n_\r\n_\r\n");
        assert_eq!(h.run(&[b"GETEX", b"nope"]), "_\r\n");
        h.run(&[b"MSET", b"key1", b"ohmytext", b"key2", b"mynewtext"]);
        assert_eq!(
            h.run(&[b"LCS", b"key1", b"key2", b"IDX", b"MINMATCHLEN", b"4"]),
            "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
        );
    }

    #[test]
    fn dirty_counts_writes_as_redis_does() {
        // Each step's running total was read from Redis 7.0.15's INFO
        // `rdb_changes_since_last_save` after the same command.
        let mut h = Harness::new();
        let steps: &[(&[&[u8]], u64)] = &[
            (&[b"SET", b"s", b"v"], 1),
            (&[b"SETNX", b"s", b"v"], 1),
            (&[b"MSET", b"a", b"1", b"b", b"2"], 3),
            (&[b"GETEX", b"s", b"PERSIST"], 3),
            (&[b"SETRANGE", b"s", b"0", b""], 3),
            (&[b"APPEND", b"s", b"x"], 4),
            (&[b"INCR", b"a"], 5),
            (&[b"GETDEL", b"nope"], 5),
            (&[b"GETDEL", b"a"], 6),
            (&[b"SET", b"e", b"v", b"PX", b"100000"], 7),
            (&[b"GETEX", b"e", b"PERSIST"], 8),
            (&[b"GETEX", b"e", b"EX", b"100"], 9),
            (&[b"SET", b"s2", b"v", b"XX"], 9),
            (&[b"MSETNX", b"a", b"1", b"s", b"2"], 9),
            (&[b"INCRBYFLOAT", b"fl", b"1"], 10),
            (&[b"GETSET", b"s", b"q"], 11),
        ];
        for (words, total) in steps {
            h.run(words);
            assert_eq!(
                h.server.dirty,
                *total,
                "after {:?}",
                String::from_utf8_lossy(words[0])
            );
        }
    }

    #[test]
    fn table_rows_match_redis_command_info() {
        let table = crate::server::command_table();
        // name, arity, flags, first, last, step: Redis 7.0.15's COMMAND INFO.
        let rows: &[(&str, i32, &str, i32, i32, i32)] = &[
            ("get", 2, "readonly fast", 1, 1, 1),
            ("set", -3, "write denyoom", 1, 1, 1),
            ("getset", 3, "write denyoom fast", 1, 1, 1),
            ("getdel", 2, "write fast", 1, 1, 1),
            ("getex", -2, "write fast", 1, 1, 1),
            ("mget", -2, "readonly fast", 1, -1, 1),
            ("mset", -3, "write denyoom", 1, -1, 2),
            ("msetnx", -3, "write denyoom", 1, -1, 2),
            ("setnx", 3, "write denyoom fast", 1, 1, 1),
            ("setex", 4, "write denyoom", 1, 1, 1),
            ("psetex", 4, "write denyoom", 1, 1, 1),
            ("incr", 2, "write denyoom fast", 1, 1, 1),
            ("decr", 2, "write denyoom fast", 1, 1, 1),
            ("incrby", 3, "write denyoom fast", 1, 1, 1),
            ("decrby", 3, "write denyoom fast", 1, 1, 1),
            ("incrbyfloat", 3, "write denyoom fast", 1, 1, 1),
            ("append", 3, "write denyoom fast", 1, 1, 1),
            ("strlen", 2, "readonly fast", 1, 1, 1),
            ("setrange", 4, "write denyoom", 1, 1, 1),
            ("getrange", 4, "readonly", 1, 1, 1),
            ("substr", 4, "readonly", 1, 1, 1),
            ("lcs", -3, "readonly", 1, 2, 1),
            ("setbit", 4, "write denyoom", 1, 1, 1),
            ("getbit", 3, "readonly fast", 1, 1, 1),
            ("bitcount", -2, "readonly", 1, 1, 1),
            ("bitpos", -3, "readonly", 1, 1, 1),
            ("bitop", -4, "write denyoom", 2, -1, 1),
            ("bitfield", -2, "write denyoom", 1, 1, 1),
            ("bitfield_ro", -2, "readonly fast", 1, 1, 1),
        ];
        for &(name, arity, flags, first, last, step) in rows {
            let cmd = table
                .get(name.as_bytes())
                .unwrap_or_else(|| panic!("{name} missing"));
            let def = cmd.def;
            assert_eq!(
                (
                    def.arity,
                    def.flags,
                    def.first_key,
                    def.last_key,
                    def.key_step
                ),
                (arity, flags, first, last, step),
                "row of {name}"
            );
        }
    }

    #[test]
    fn format_float_never_uses_an_exponent_and_strips_zeros() {
        assert_eq!(format_float(5e3), "5000");
        assert_eq!(format_float(10.6), "10.6");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(-0.0), "0");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(-2.5), "-2.5");
    }

    #[test]
    fn format_float_rounds_to_17_decimals_like_redis() {
        assert_eq!(format_float(1e-20), "0");
        assert_eq!(format_float(-1e-20), "0");
        assert_eq!(format_float(1.5e-17), "0.00000000000000002");
        assert_eq!(format_float(1e-17), "0.00000000000000001");
    }

    #[test]
    fn resolve_range_follows_redis_index_rules() {
        assert_eq!(resolve_range(5, 0, -1), Some((0, 4)));
        assert_eq!(resolve_range(5, -3, -1), Some((2, 4)));
        assert_eq!(resolve_range(5, 3, 100), Some((3, 4)));
        assert_eq!(resolve_range(5, -100, 1), Some((0, 1)));
        assert_eq!(resolve_range(5, -1, -3), None);
        assert_eq!(resolve_range(5, 4, 2), None);
        assert_eq!(resolve_range(0, 0, -1), None);
        assert_eq!(resolve_range(5, 5, 10), None);
    }
}
