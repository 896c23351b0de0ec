//! # Keyspace commands: keys as names, whatever their values
//!
//! These commands treat a key as a name in a database: they test it
//! (EXISTS, TYPE), remove it (DEL, UNLINK), rename or move it (RENAME,
//! MOVE, COPY), give it a lifetime (EXPIRE and friends, PERSIST), list the
//! names (KEYS, SCAN, RANDOMKEY) and look inside the object behind it
//! (OBJECT). None of them cares what type the value is.
//!
//! ## The invariants
//!
//! - A key and its TTL travel together: RENAME, MOVE and COPY carry the
//!   expiry time to the new name; DEL removes both (`db.rs`).
//! - No command sees an expired key. Each looks its keys up through the
//!   lazy-expiry path first (`expire.rs`). The exceptions are deliberate:
//!   KEYS *skips* dead keys without deleting them (it must not change the
//!   dataset while it walks it), and SCAN deletes the dead keys it found
//!   only after its walk is done.
//! - Inspection does not count as use: EXISTS, TYPE, TTL and OBJECT look
//!   keys up without refreshing their access clock (`LOOKUP_NOTOUCH`), so
//!   asking `OBJECT IDLETIME` does not reset the idle time it reports.
//!
//! ## SCAN: a cursor that survives resizing
//!
//! SCAN hands the client the dict's reverse-binary cursor (`dict.rs`
//! explains why it guarantees that every key present for the whole
//! iteration is returned at least once, even across a rehash). COUNT is
//! not a number of keys but a budget: the walk stops after `COUNT` keys
//! were collected or `10 × COUNT` buckets were visited, whichever comes
//! first, so a sparse table returns few or no keys rather than blocking
//! the server. MATCH and TYPE filter *after* the walk, which is why a
//! call may legitimately return nothing with a non-zero cursor.
//!
//! ## The Redis C counterpart
//!
//! `src/db.c`: `delGenericCommand`, `existsCommand`, `typeCommand`,
//! `renameGenericCommand`, `moveCommand`, `copyCommand`,
//! `randomkeyCommand` and `dbRandomKey`, `keysCommand`,
//! `parseScanCursorOrReply`, `scanGenericCommand`; `src/expire.c`:
//! `expireGenericCommand`, `parseExtendedExpireArgumentsOrReply`,
//! `ttlGenericCommand`, `persistCommand`, `touchCommand`; `src/object.c`:
//! `objectCommand`; `src/evict.c`: `estimateObjectIdleTime`,
//! `LFUDecrAndReturn`.
//!
//! ## What we simplified
//!
//! - UNLINK is DEL. Redis's UNLINK frees a big value on a background
//!   thread; values here are strings only and are dropped at once. Lazy
//!   freeing arrives with the memory chapter.
//! - Commands are not rewritten for propagation yet (Redis turns EXPIRE
//!   into PEXPIREAT, and a past expiry into DEL); that comes with the AOF.
//! - `OBJECT REFCOUNT` is computed, not counted: we own values outright,
//!   so we report what Redis would, 2147483647 for a shared integer
//!   (0..9999 when shared integers are allowed) and 1 otherwise. A value
//!   COPY duplicated from a shared integer is a private object in Redis
//!   (refcount 1); here it is indistinguishable and reports the shared
//!   count.

use crate::glob::glob_match;
use crate::object::{RObj, StrValue, Value, SHARED_INTEGERS, SHARED_REFCOUNT};
use crate::resp::{Aggregate, Args, Reply};
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::GENERIC;
use crate::server::{Ctx, SYNTAX_ERR};

use super::{arg_i64, eq_ic};

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "del",
        arity: -2,
        flags: "write",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Removes keys and their values; answers how many existed.",
        run: del,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "unlink",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "4.0.0",
        summary: "Removes keys like DEL, leaving big values to be freed later.",
        run: unlink,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "exists",
        arity: -2,
        flags: "readonly fast",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Counts how many of the given keys exist, repeats included.",
        run: exists,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "type",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Names the type of the value at a key, or none.",
        run: type_command,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "touch",
        arity: -2,
        flags: "readonly fast",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "3.2.1",
        summary: "Marks keys as just used; answers how many exist.",
        run: touch,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "rename",
        arity: 3,
        flags: "write",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "1.0.0",
        summary: "Gives a key a new name, replacing any key of that name.",
        run: rename,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "renamenx",
        arity: 3,
        flags: "write fast",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "1.0.0",
        summary: "Gives a key a new name only if that name is free.",
        run: renamenx,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "move",
        arity: 3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Moves a key to another database if the name is free there.",
        run: move_command,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "copy",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "6.2.0",
        summary: "Duplicates a value under another name, possibly in another database.",
        run: copy,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "randomkey",
        arity: 1,
        flags: "readonly",
        since: "1.0.0",
        summary: "Returns the name of a random live key of the database.",
        run: randomkey,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "keys",
        arity: 2,
        flags: "readonly",
        since: "1.0.0",
        summary: "Lists every key name matching a glob pattern, in one blocking pass.",
        run: keys,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "scan",
        arity: -2,
        flags: "readonly",
        since: "2.8.0",
        summary: "Walks the key names a slice at a time with a resumable cursor.",
        run: scan,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "expire",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Gives a key a time to live in seconds.",
        run: expire,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "pexpire",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Gives a key a time to live in milliseconds.",
        run: pexpire,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "expireat",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Makes a key die at a Unix time in seconds.",
        run: expireat,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "pexpireat",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Makes a key die at a Unix time in milliseconds.",
        run: pexpireat,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "ttl",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Seconds a key has left to live (-1: forever, -2: no such key).",
        run: ttl,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "pttl",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Milliseconds a key has left to live (-1: forever, -2: no such key).",
        run: pttl,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "expiretime",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "7.0.0",
        summary: "The Unix time in seconds at which a key dies.",
        run: expiretime,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "pexpiretime",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "7.0.0",
        summary: "The Unix time in milliseconds at which a key dies.",
        run: pexpiretime,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "persist",
        arity: 2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Takes a key's time to live away, so that it lives forever.",
        run: persist,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "object",
        arity: -2,
        flags: "",
        since: "2.2.3",
        summary: "Looks at the object behind a key: encoding, sharing, age, use.",
        run: object_container,
        subcommands: OBJECT_SUBCOMMANDS,
        ..CommandDef::base(Group::Generic)
    },
];

static OBJECT_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "6.2.0",
        summary: "Lists the OBJECT subcommands.",
        run: object_help,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "encoding",
        arity: 3,
        flags: "readonly",
        first_key: 2,
        last_key: 2,
        key_step: 1,
        since: "2.2.3",
        summary: "How the value is stored: int, embstr, raw...",
        run: object_encoding,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "refcount",
        arity: 3,
        flags: "readonly",
        first_key: 2,
        last_key: 2,
        key_step: 1,
        since: "2.2.3",
        summary: "How many references the value has (shared integers: all of them).",
        run: object_refcount,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "idletime",
        arity: 3,
        flags: "readonly",
        first_key: 2,
        last_key: 2,
        key_step: 1,
        since: "2.2.3",
        summary: "Seconds since the key was last used, from its 24-bit LRU clock.",
        run: object_idletime,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "freq",
        arity: 3,
        flags: "readonly",
        first_key: 2,
        last_key: 2,
        key_step: 1,
        since: "4.0.0",
        summary: "The key's logarithmic use counter under an LFU policy.",
        run: object_freq,
        ..CommandDef::base(Group::Generic)
    },
];

/// The error for an operation on a key onto itself.
const SAME_OBJECT_ERR: &str = "ERR source and destination objects are the same";
const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

// ---------------------------------------------------------------------------
// Existence, type, deletion
// ---------------------------------------------------------------------------

/// `DEL key [key ...]`: how many of the keys existed (and are gone now).
fn del(ctx: &mut Ctx, args: Args) {
    let mut deleted = 0;
    for key in args.iter().skip(1) {
        // delete_key expires the key first: a key that was already dead
        // is not counted as deleted by this command.
        if ctx.delete_key(key) {
            ctx.notify(GENERIC, "del", key);
            ctx.dirty(1);
            deleted += 1;
        }
    }
    ctx.reply().int(deleted);
}

/// `UNLINK key [key ...]`: DEL. In Redis it unlinks the key at once and
/// frees a big value on a background thread; our values are strings and
/// are freed at once, so there is nothing to hand off until the memory
/// chapter brings lazy freeing.
fn unlink(ctx: &mut Ctx, args: Args) {
    // Count what Redis would hand to its lazyfree thread (an effort above
    // LAZYFREE_THRESHOLD, 64 allocations), though we free it here.
    let db = ctx.client.db;
    for key in args.iter().skip(1) {
        if let Some(obj) = ctx.server.dbs[db].dict.get(key) {
            if obj.value.free_effort() > crate::object::LAZYFREE_THRESHOLD {
                ctx.server.stats.lazyfreed_objects += 1;
            }
        }
    }
    del(ctx, args)
}

/// `EXISTS key [key ...]`: a key named twice is counted twice.
fn exists(ctx: &mut Ctx, args: Args) {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let count = args
        .iter()
        .skip(1)
        .filter(|key| ctx.server.lookup_read_no_touch(db, key, now).is_some())
        .count();
    ctx.reply().int(count as i64);
}

/// `TYPE key`: a status reply, `none` for a missing key.
fn type_command(ctx: &mut Ctx, args: Args) {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let name = match ctx.server.lookup_read_no_touch(db, &args[1], now) {
        Some(obj) => obj.obj_type().name(),
        None => "none",
    };
    ctx.reply().simple(name);
}

/// `TOUCH key [key ...]`: a read lookup of each key, which refreshes its
/// access clock; answers how many exist.
fn touch(ctx: &mut Ctx, args: Args) {
    let count = args
        .iter()
        .skip(1)
        .filter(|key| ctx.lookup_read(key).is_some())
        .count();
    ctx.reply().int(count as i64);
}

// ---------------------------------------------------------------------------
// Renaming, moving, copying
// ---------------------------------------------------------------------------

// ANCHOR: keys_rename
/// RENAME and RENAMENX. Every outcome:
/// - source missing: `ERR no such key` (even when renaming to itself);
/// - same name: nothing to do, `OK` (RENAMENX: 0, the name is taken);
/// - destination exists: RENAMENX answers 0; RENAME deletes it first;
/// - otherwise the value and its TTL move to the new name.
fn rename_generic(ctx: &mut Ctx, args: Args, nx: bool) {
    let (src, dst) = (&args[1], &args[2]);
    if ctx.lookup_write(src).is_none() {
        ctx.reply().error("ERR no such key");
        return;
    }
    if src == dst {
        if nx {
            ctx.reply().int(0);
        } else {
            ctx.reply().ok();
        }
        return;
    }
    if ctx.lookup_write(dst).is_some() {
        if nx {
            ctx.reply().int(0);
            return;
        }
        ctx.db().delete(dst);
    }
    let db = ctx.db();
    let (value, expire) = db.take(src).expect("looked up above");
    db.add_with_expire(dst, value, expire);
    ctx.signal_modified_key(src);
    ctx.signal_modified_key(dst);
    // A client blocked on `dst` (BLPOP dst...) may be served now, as Redis's
    // dbAdd signals every key it creates.
    ctx.signal_key_as_ready(dst);
    ctx.notify(GENERIC, "rename_from", src);
    ctx.notify(GENERIC, "rename_to", dst);
    ctx.dirty(1);
    if nx {
        ctx.reply().int(1);
    } else {
        ctx.reply().ok();
    }
}
// ANCHOR_END: keys_rename

fn rename(ctx: &mut Ctx, args: Args) {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: Args) {
    rename_generic(ctx, args, true)
}

/// Parse a database index as SELECT, MOVE and COPY do: an `int`
/// (`getIntFromObjectOrReply`), then a valid index. Replies the error.
fn arg_db_index(ctx: &mut Ctx, arg: &[u8]) -> Option<usize> {
    let n = arg_i64(ctx, arg)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        ctx.reply()
            .error("ERR value is out of range, value must between -2147483648 and 2147483647");
        return None;
    }
    if n < 0 || n as usize >= ctx.server.dbs.len() {
        ctx.reply().error(DB_OUT_OF_RANGE);
        return None;
    }
    Some(n as usize)
}

/// `MOVE key db`: 1 if moved; 0 if the key is missing or the name is
/// taken in the target database. The TTL moves along.
fn move_command(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let src = ctx.client.db;
    let Some(dst) = arg_db_index(ctx, &args[2]) else {
        return;
    };
    if src == dst {
        ctx.reply().error(SAME_OBJECT_ERR);
        return;
    }
    let now = ctx.now_ms;
    if ctx.server.lookup_write(src, key, now).is_none()
        || ctx.server.lookup_write(dst, key, now).is_some()
    {
        ctx.reply().int(0);
        return;
    }
    let (value, expire) = ctx.server.dbs[src].take(key).expect("looked up above");
    ctx.server.dbs[dst].add_with_expire(key, value, expire);
    ctx.signal_modified_key_in(src, key);
    ctx.signal_modified_key_in(dst, key);
    ctx.server.signal_key_as_ready(dst, key);
    ctx.notify_in(src, GENERIC, "move_from", key);
    ctx.notify_in(dst, GENERIC, "move_to", key);
    ctx.dirty(1);
    ctx.reply().int(1);
}

/// `COPY source destination [DB destination-db] [REPLACE]`: 1 if copied,
/// 0 if the source is missing or the destination exists without REPLACE.
/// The copy is a new object (fresh access clock) with the source's TTL.
fn copy(ctx: &mut Ctx, args: Args) {
    let (src_key, dst_key) = (&args[1], &args[2]);
    let src = ctx.client.db;
    let mut dst = src;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - j - 1;
        if eq_ic(&args[j], "replace") {
            replace = true;
        } else if eq_ic(&args[j], "db") && more >= 1 {
            let Some(db) = arg_db_index(ctx, &args[j + 1]) else {
                return;
            };
            dst = db;
            j += 1;
        } else {
            ctx.reply().error(SYNTAX_ERR);
            return;
        }
        j += 1;
    }
    if src == dst && src_key == dst_key {
        ctx.reply().error(SAME_OBJECT_ERR);
        return;
    }
    let now = ctx.now_ms;
    if ctx.server.lookup_read(src, src_key, now).is_none() {
        ctx.reply().int(0);
        return;
    }
    if ctx.server.lookup_write(dst, dst_key, now).is_some() {
        if !replace {
            ctx.reply().int(0);
            return;
        }
        ctx.server.dbs[dst].delete(dst_key);
    }
    let source = &ctx.server.dbs[src];
    let value = source.get(src_key).expect("looked up above").value.clone();
    let expire = source.get_expire(src_key);
    let copy = ctx.new_object(value);
    ctx.server.dbs[dst].add_with_expire(dst_key, copy, expire);
    ctx.signal_modified_key_in(dst, dst_key);
    ctx.server.signal_key_as_ready(dst, dst_key);
    ctx.notify_in(dst, GENERIC, "copy_to", dst_key);
    ctx.dirty(1);
    ctx.reply().int(1);
}

// ---------------------------------------------------------------------------
// Listing keys: RANDOMKEY, KEYS, SCAN
// ---------------------------------------------------------------------------

/// `RANDOMKEY`: a random key that is alive, or null for an empty db.
///
/// A random pick may land on a dead key; lazy expiry deletes it and we
/// pick again, so the loop ends because the db shrinks. Unless deleting
/// is on hold (CLIENT PAUSE, and later on a replica): a db made only of
/// dead keys would then loop forever, so when every key is volatile we
/// give up after 100 picks and return a possibly dead name, as Redis does.
fn randomkey(ctx: &mut Ctx, _args: Args) {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let all_volatile = {
        let d = &ctx.server.dbs[db];
        d.dict.len() == d.expires.len()
    };
    let mut tries_left = 100;
    loop {
        let Some((key, _)) = ctx.server.dbs[db].dict.fair_random_entry() else {
            ctx.reply().null();
            return;
        };
        let key = key.as_bytes().to_vec();
        if ctx.server.dbs[db].get_expire(&key).is_some() {
            if all_volatile && ctx.server.expiry_paused() {
                tries_left -= 1;
                if tries_left == 0 {
                    ctx.reply().bulk(&key);
                    return;
                }
            }
            if ctx.server.expire_if_needed(db, &key, now) {
                continue;
            }
        }
        ctx.reply().bulk(&key);
        return;
    }
}

/// `KEYS pattern`: every live key matching the glob, in one pass over the
/// whole db (which is why it is dangerous on a big one). Dead keys are
/// skipped but not deleted: the walk must not change the table it walks.
fn keys(ctx: &mut Ctx, args: Args) {
    let pattern = &args[1];
    let match_all = pattern == b"*";
    let now = ctx.now_ms;
    let db = &ctx.server.dbs[ctx.client.db];
    let reply = &mut ctx.client.reply;
    let header = reply.defer_len();
    let mut n = 0;
    for (key, _) in db.dict.iter() {
        let key = key.as_bytes();
        if (match_all || glob_match(pattern, key, false)) && !db.is_expired(key, now) {
            reply.bulk(key);
            n += 1;
        }
    }
    reply.set_len(header, Aggregate::Array, n);
}

/// Parse a SCAN cursor as Redis does with `strtoul`: an optional sign,
/// decimal digits, nothing else; a leading space or an overflow of 64
/// bits is an error. Like `strtoul`, the empty string is 0 and a minus
/// sign negates modulo 2^64 (`-1` is the largest cursor).
pub fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // strtoul converted nothing and points back at the sign.
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// The options of SCAN, SSCAN, HSCAN and ZSCAN, parsed once for all four
/// as Redis does in `scanGenericCommand`: `COUNT n` (at least 1, default
/// 10), `MATCH pattern` (`*` is no filter at all), and for SCAN alone
/// `TYPE name`. Options start at argument `first`; anything else, or an
/// option without its value, is a syntax error.
pub struct ScanOptions<'a> {
    pub count: i64,
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
}

/// Parse [`ScanOptions`]; `Err` is the full error text to reply.
pub fn parse_scan_options<'a>(
    args: &Args<'a>,
    first: usize,
    allow_type: bool,
) -> Result<ScanOptions<'a>, &'static str> {
    let mut options = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = first;
    while i < args.len() {
        let option = args.get(i);
        let value = (i + 1 < args.len()).then(|| args.get(i + 1));
        match value {
            Some(n) if eq_ic(option, "count") => match crate::resp::parse_i64(n) {
                None => return Err(crate::server::NOT_INTEGER),
                Some(n) if n < 1 => return Err(SYNTAX_ERR),
                Some(n) => options.count = n,
            },
            Some(p) if eq_ic(option, "match") => options.pattern = (p != b"*").then_some(p),
            Some(t) if allow_type && eq_ic(option, "type") => options.type_name = Some(t),
            _ => return Err(SYNTAX_ERR),
        }
        i += 2;
    }
    Ok(options)
}

/// Key names collected by a SCAN walk, packed into one buffer (one
/// allocation per call, not one per key).
#[derive(Default)]
struct KeyList {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl KeyList {
    fn push(&mut self, key: &[u8]) {
        self.bytes.extend_from_slice(key);
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
}

// ANCHOR: keys_scan
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`.
///
/// 1. Parse: COUNT must be at least 1; MATCH `*` is no filter at all.
/// 2. Walk the dict from `cursor`, bucket by bucket, until `count` keys
///    were collected, the cursor came back to 0 (done), or `10 × count`
///    more buckets were visited (a sparse table must not stall us).
/// 3. Filter what was collected: the pattern, then the type, then expiry
///    (dead keys are deleted now, after the walk, never during it).
/// 4. Reply `[next-cursor, [keys...]]`.
fn scan(ctx: &mut Ctx, args: Args) {
    let Some(mut cursor) = parse_scan_cursor(&args[1]) else {
        ctx.reply().error("ERR invalid cursor");
        return;
    };
    let ScanOptions {
        count,
        pattern,
        type_name,
    } = match parse_scan_options(&args, 2, true) {
        Ok(options) => options,
        Err(e) => return ctx.reply().error(e),
    };

    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut found = KeyList::default();
    {
        let dict = &ctx.server.dbs[db].dict;
        let mut max_iterations = count.saturating_mul(10);
        loop {
            cursor = dict.scan(cursor, |key, _| found.push(key.as_bytes()));
            if cursor == 0 || max_iterations == 0 || found.len() >= count as usize {
                break;
            }
            max_iterations -= 1;
        }
    }

    let reply = &mut ctx.client.reply;
    reply.array(2);
    // Redis writes the unsigned cursor through a signed formatter; a real
    // cursor is below the table size, so this only shows for absurd input.
    reply.bulk_i64(cursor as i64);
    let header = reply.defer_len();
    let mut kept = 0;
    for k in 0..found.len() {
        let key = found.get(k);
        if let Some(p) = pattern {
            if !glob_match(p, key, false) {
                continue;
            }
        }
        if let Some(wanted) = type_name {
            let actual = ctx
                .server
                .lookup_read_no_touch(db, key, now)
                .map_or("none", |obj| obj.obj_type().name());
            if !wanted.eq_ignore_ascii_case(actual.as_bytes()) {
                continue;
            }
        }
        if ctx.server.expire_if_needed(db, key, now) {
            continue;
        }
        ctx.client.reply.bulk(key);
        kept += 1;
    }
    ctx.client.reply.set_len(header, Aggregate::Array, kept);
}
// ANCHOR_END: keys_scan

// ---------------------------------------------------------------------------
// Expiry: EXPIRE family, TTL family, PERSIST
// ---------------------------------------------------------------------------

/// The NX / XX / GT / LT options of the EXPIRE family.
#[derive(Default, Clone, Copy)]
struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCondition {
    /// Parse the options after `key time`, replying Redis's errors.
    fn parse(ctx: &mut Ctx, args: Args) -> Option<ExpireCondition> {
        let mut c = ExpireCondition::default();
        for opt in args.iter().skip(3) {
            if eq_ic(opt, "nx") {
                c.nx = true;
            } else if eq_ic(opt, "xx") {
                c.xx = true;
            } else if eq_ic(opt, "gt") {
                c.gt = true;
            } else if eq_ic(opt, "lt") {
                c.lt = true;
            } else {
                let msg = format!("ERR Unsupported option {}", String::from_utf8_lossy(opt));
                ctx.reply().error(&msg);
                return None;
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            ctx.reply()
                .error("ERR NX and XX, GT or LT options at the same time are not compatible");
            return None;
        }
        if c.gt && c.lt {
            ctx.reply()
                .error("ERR GT and LT options at the same time are not compatible");
            return None;
        }
        Some(c)
    }

    /// May a key whose current expiry is `current` (None: no TTL, which
    /// counts as *infinite*) get the new expiry `when`?
    fn allows(self, current: Option<i64>, when: i64) -> bool {
        match current {
            // No TTL: NX passes, XX fails, nothing is greater than
            // infinity (GT fails) and everything is less (LT passes).
            None => !self.xx && !self.gt,
            Some(current) => {
                !(self.nx || (self.gt && when <= current) || (self.lt && when >= current))
            }
        }
    }
}

// ANCHOR: keys_expire
/// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT. `base_ms` is 0 for the
/// absolute forms and now for the relative ones; `seconds` says the unit
/// of the argument. Every outcome:
/// - a bad option, or conflicting ones: an error, before anything else;
/// - not an integer: `ERR value is not an integer or out of range`;
/// - the time overflows 64-bit milliseconds once converted or added to
///   now: `ERR invalid expire time in '<command>' command`;
/// - no such key, or NX/XX/GT/LT not satisfied: 0;
/// - the new time is already past: the key is deleted (a `del` event,
///   not `expired`: the client did it) and 1;
/// - otherwise the TTL is set (an `expire` event) and 1.
fn expire_generic(ctx: &mut Ctx, args: Args, base_ms: i64, seconds: bool) {
    let Some(condition) = ExpireCondition::parse(ctx, args) else {
        return;
    };
    let Some(mut when) = arg_i64(ctx, &args[2]) else {
        return;
    };
    let when = (|| {
        if seconds {
            when = when.checked_mul(1000)?;
        }
        when.checked_add(base_ms)
    })();
    let Some(when) = when else {
        let msg = format!("ERR invalid expire time in '{}' command", ctx.cmd.full_name);
        ctx.reply().error(&msg);
        return;
    };
    let key = &args[1];
    if ctx.lookup_write(key).is_none() {
        ctx.reply().int(0);
        return;
    }
    let current = ctx.db().get_expire(key);
    if !condition.allows(current, when) {
        ctx.reply().int(0);
        return;
    }
    if when <= ctx.now_ms {
        ctx.db().delete(key);
        ctx.signal_modified_key(key);
        ctx.notify(GENERIC, "del", key);
        // A deadline in the past is a deletion, and is sent as one.
        let verb = crate::propagate::del_verb(ctx.server.config.lazyfree_lazy_expire);
        ctx.propagate_as(&[verb, key]);
    } else {
        ctx.db().set_expire(key, when);
        ctx.signal_modified_key(key);
        ctx.notify(GENERIC, "expire", key);
        // Relative times mean "from when you read this": send the absolute
        // deadline (PEXPIREAT itself goes out as it came).
        if ctx.cmd.full_name != "pexpireat" && ctx.propagating() {
            ctx.propagate_as(&[&b"PEXPIREAT"[..], key, when.to_string().as_bytes()]);
        }
    }
    ctx.dirty(1);
    ctx.reply().int(1);
}
// ANCHOR_END: keys_expire

fn expire(ctx: &mut Ctx, args: Args) {
    let now = ctx.now_ms;
    expire_generic(ctx, args, now, true)
}

fn pexpire(ctx: &mut Ctx, args: Args) {
    let now = ctx.now_ms;
    expire_generic(ctx, args, now, false)
}

fn expireat(ctx: &mut Ctx, args: Args) {
    expire_generic(ctx, args, 0, true)
}

fn pexpireat(ctx: &mut Ctx, args: Args) {
    expire_generic(ctx, args, 0, false)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for no
/// TTL, else the remaining (or absolute) time, never negative. Seconds
/// are rounded to the nearest: a PTTL of 1500 is a TTL of 2.
fn ttl_generic(ctx: &mut Ctx, args: Args, milliseconds: bool, absolute: bool) {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let key = &args[1];
    if ctx.server.lookup_read_no_touch(db, key, now).is_none() {
        ctx.reply().int(-2);
        return;
    }
    let Some(when) = ctx.server.dbs[db].get_expire(key) else {
        ctx.reply().int(-1);
        return;
    };
    let ms = if absolute { when } else { when - now }.max(0);
    let value = if milliseconds {
        ms
    } else {
        // Unsigned, as the C expression behaves: PEXPIREAT i64::MAX
        // must not wrap negative when 500 is added.
        ((ms as u64 + 500) / 1000) as i64
    };
    ctx.reply().int(value);
}

fn ttl(ctx: &mut Ctx, args: Args) {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx, args: Args) {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx, args: Args) {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: Args) {
    ttl_generic(ctx, args, true, true)
}

/// `PERSIST key`: 1 if a TTL was removed, 0 if the key is missing or had
/// none.
fn persist(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    if ctx.lookup_write(key).is_some() && ctx.db().remove_expire(key) {
        ctx.signal_modified_key(key);
        ctx.notify(GENERIC, "persist", key);
        ctx.dirty(1);
        ctx.reply().int(1);
    } else {
        ctx.reply().int(0);
    }
}

// ---------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------

/// The container row never runs: the table dispatches to a subcommand or
/// answers the arity or unknown-subcommand error itself.
fn object_container(ctx: &mut Ctx, _args: Args) {
    ctx.reply().error(SYNTAX_ERR);
}

fn object_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    let reply = ctx.reply();
    reply.array(LINES.len());
    for line in LINES {
        reply.simple(line);
    }
}

/// OBJECT's lookup: no access-clock update (so that IDLETIME does not
/// measure itself), a null reply for a missing key.
fn object_lookup<'a>(ctx: &'a mut Ctx, key: &[u8]) -> (Option<&'a RObj>, &'a mut Reply) {
    let obj = ctx
        .server
        .lookup_read_no_touch(ctx.client.db, key, ctx.now_ms);
    let reply = &mut ctx.client.reply;
    if obj.is_none() {
        reply.null();
    }
    (obj, reply)
}

fn object_encoding(ctx: &mut Ctx, args: Args) {
    if let (Some(obj), reply) = object_lookup(ctx, &args[2]) {
        reply.bulk(obj.encoding().as_bytes());
    }
}

/// Eviction policies as Redis classifies them: LRU and LFU policies read
/// the access clock, and under them integers are not shared (a shared
/// object has one clock for every key that uses it).
fn policy_is_lfu(policy: &str) -> bool {
    policy.ends_with("-lfu")
}

fn policy_is_lru(policy: &str) -> bool {
    policy.ends_with("-lru")
}

fn object_refcount(ctx: &mut Ctx, args: Args) {
    let policy = ctx.server.config.maxmemory_policy_name();
    let shared_allowed =
        ctx.server.config.maxmemory == 0 || !(policy_is_lru(policy) || policy_is_lfu(policy));
    if let (Some(obj), reply) = object_lookup(ctx, &args[2]) {
        let shared = shared_allowed
            && matches!(obj.value, Value::Str(StrValue::Int(n)) if (0..SHARED_INTEGERS).contains(&n));
        reply.int(if shared { SHARED_REFCOUNT } else { 1 });
    }
}

/// The largest value of the 24-bit LRU clock (`LRU_CLOCK_MAX`).
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

// ANCHOR: keys_idle_time
/// Seconds since an object was last used, from two readings of a 24-bit
/// clock of seconds (`estimateObjectIdleTime`). The clock wraps every
/// 2^24 s (194 days); if "now" is below the object's stamp, the clock
/// has wrapped once since, and the idle time is the distance to the top
/// plus the distance from zero.
pub fn estimate_idle_seconds(lru_clock: u32, obj_lru: u32) -> u64 {
    if lru_clock >= obj_lru {
        (lru_clock - obj_lru) as u64
    } else {
        lru_clock as u64 + (LRU_CLOCK_MAX - obj_lru) as u64
    }
}
// ANCHOR_END: keys_idle_time

fn object_idletime(ctx: &mut Ctx, args: Args) {
    let lfu = policy_is_lfu(ctx.server.config.maxmemory_policy_name());
    let clock = ctx.server.lru_clock;
    if let (Some(obj), reply) = object_lookup(ctx, &args[2]) {
        if lfu {
            reply.error(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            );
        } else {
            reply.int(estimate_idle_seconds(clock, obj.lru) as i64);
        }
    }
}

fn object_freq(ctx: &mut Ctx, args: Args) {
    let lfu = policy_is_lfu(ctx.server.config.maxmemory_policy_name());
    let now_ms = ctx.now_ms;
    let decay = ctx.server.config.lfu_decay_time;
    if let (Some(obj), reply) = object_lookup(ctx, &args[2]) {
        if lfu {
            // The counter as it reads now, decayed (`LFUDecrAndReturn`).
            reply.int(crate::evict::lfu_decayed(obj.lru, decay, now_ms) as i64);
        } else {
            reply.error(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+5"), Some(5));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b" 1"), None);
        assert_eq!(parse_scan_cursor(b"1 "), None);
        assert_eq!(parse_scan_cursor(b"abc"), None);
        assert_eq!(parse_scan_cursor(b"-"), None);
    }

    #[test]
    fn idle_time_survives_the_24_bit_clock_wrapping() {
        assert_eq!(estimate_idle_seconds(100, 40), 60);
        assert_eq!(estimate_idle_seconds(100, 100), 0);
        // Stamped 10 s before the wrap, read 5 s after it.
        assert_eq!(estimate_idle_seconds(5, LRU_CLOCK_MAX - 10), 15);
    }

    #[test]
    fn the_lfu_counter_decays_one_point_per_idle_minute() {
        let minutes: u32 = 1000;
        let lru = (minutes << 8) | 20;
        assert_eq!(crate::evict::lfu_decayed(lru, 1, 1000 * 60_000) as i64, 20);
        assert_eq!(
            crate::evict::lfu_decayed(lru, 1, (1003 * 60 + 59) * 1000) as i64,
            17
        );
        assert_eq!(crate::evict::lfu_decayed(lru, 1, 2000 * 60_000) as i64, 0);
    }
}
