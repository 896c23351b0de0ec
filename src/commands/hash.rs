//! # Hash commands
//!
//! A Redis hash maps field names to values, both binary-safe strings,
//! under one key: a user record (`name`, `email`, `visits`), a counter per
//! day, a small object cache. Sixteen commands work on it: HSET, HSETNX and
//! HMSET write fields; HGET, HMGET, HEXISTS, HSTRLEN and HLEN read them;
//! HDEL removes them; HKEYS, HVALS, HGETALL, HSCAN and HRANDFIELD walk or
//! sample the whole hash; HINCRBY and HINCRBYFLOAT treat a value as a
//! number.
//!
//! ## Two encodings, one way
//!
//! Most hashes are small, and a small hash is stored as a **listpack**
//! (`listpack.rs`): one allocation holding `field, value, field, value...`
//! back to back, integers packed as integers. Looking a field up walks the
//! listpack comparing every *other* entry ([`Listpack::find`] with
//! `skip = 1`, so a value is never mistaken for a field). That is a linear
//! scan, but over a few hundred bytes that sit in one or two cache lines,
//! and it saves the two allocations per field a hash table costs.
//!
//! When the hash outgrows that, it becomes a **hash table** (`dict.rs`, a
//! `Dict<Sds, Sds>`), for good:
//!
//! - more than `hash-max-listpack-entries` fields (default 128 in Redis's
//!   config file, 512 compiled in; we default to 512 as Redis 7.0 does), or
//! - a field or value longer than `hash-max-listpack-value` bytes (64).
//!
//! ## The invariant
//!
//! - A listpack hash has an even number of entries; entry `2i` is a field,
//!   entry `2i + 1` its value, and no field appears twice.
//! - A listpack hash never holds more than `hash-max-listpack-entries`
//!   fields or an entry longer than `hash-max-listpack-value`, *as those
//!   limits stood when each write happened*. Lowering the limits with
//!   CONFIG SET converts nothing until the hash is next written.
//! - A hash table hash is never converted back, even if HDEL shrinks it to
//!   one field. (Redis 7.0 does the same; only a reload from RDB packs it
//!   again.)
//! - No hash is empty: the HDEL that removes the last field deletes the key.
//!
//! ## Where Redis checks the limits
//!
//! HSET, HSETNX and HMSET look at their arguments *before* inserting
//! anything (`hashTypeTryConversion`): one field or value over the length
//! limit, or a total that would push the listpack past its 1 GiB safety
//! size, converts the hash first, so the long string never enters the
//! listpack. The count limit is checked after each insertion
//! (`hashTypeSet`): the 513th field goes into the listpack and then the
//! whole thing is converted. HINCRBY and HINCRBYFLOAT skip the argument
//! check, so `hashTypeSet` checks the lengths too, before it inserts.
//!
//! ## The Redis C counterpart
//!
//! `src/t_hash.c`: the type API `hashTypeTryConversion`,
//! `hashTypeGetValue`, `hashTypeSet`, `hashTypeDelete`, `hashTypeLength`,
//! `hashTypeConvertListpack`, the iterator `hashTypeNext` /
//! `hashTypeCurrentObject`, and the commands `hsetCommand`,
//! `hsetnxCommand`, `hincrbyCommand`, `hincrbyfloatCommand`,
//! `hgetCommand`, `hmgetCommand`, `hdelCommand`, `hlenCommand`,
//! `hstrlenCommand`, `genericHgetallCommand`, `hexistsCommand`,
//! `hscanCommand`, `hrandfieldWithCountCommand`; `src/db.c`:
//! `scanGenericCommand`; `src/listpack.c`: `lpRandomPair`,
//! `lpRandomPairs`, `lpRandomPairsUnique`.
//!
//! ## What we simplified
//!
//! - **HINCRBYFLOAT computes in `f64`, Redis in `long double`.** Everyday
//!   sums agree (`2.5 + 0.1` is `2.6` in both), the same caveats as
//!   INCRBYFLOAT apply (see `string.rs`), and a number beyond `f64`'s range
//!   (`1e400`) is "not a valid float" here. Hexadecimal floats (`0x10`) are
//!   accepted, as C's `strtold` accepts them.
//! - **No propagation rewriting yet.** Redis propagates HINCRBYFLOAT as an
//!   HSET of the resulting text, so replicas store the same digits. That
//!   arrives with the replication chapter.
//! - **HRANDFIELD draws differently, with the same distributions.** Redis
//!   picks a batch of random listpack indexes, sorts them and walks the
//!   listpack once (`lpRandomPairs`); we index the field positions once and
//!   pick from the index. When it needs most of the hash (its "case 3"),
//!   Redis copies the hash into a temporary dict and deletes random entries
//!   until `count` remain; we do the same with a vector of borrowed pairs,
//!   which copies no strings. The replies are random either way; what the
//!   client can observe (sizes, repeats or not, shapes) is Redis's.

use rand::Rng;

use crate::dict::Dict;
use crate::glob::glob_match;
use crate::listpack::{safe_to_add, Listpack, LpPos, LpValue};
use crate::object::{HashValue, RObj, Value};
use crate::resp::{fmt_i64, parse_i64, Aggregate, Args, Reply};
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::config::Config;
use crate::server::notify_class::{GENERIC, HASH};
use crate::server::{Ctx, NOT_FLOAT, SYNTAX_ERR, WRONGTYPE};
use crate::skiplist::strtod;

use super::keys::parse_scan_cursor;
use super::{arg_i64, eq_ic};

// ============================================================================
// The hash type: Redis's hashType* API
// ============================================================================

/// The two conversion thresholds, read from the config once per command.
#[derive(Clone, Copy, Debug)]
pub struct HashLimits {
    /// `hash-max-listpack-entries`: most fields a listpack hash may hold.
    pub max_entries: usize,
    /// `hash-max-listpack-value`: longest field or value it may hold.
    pub max_value: usize,
}

impl HashLimits {
    pub fn from_config(config: &Config) -> HashLimits {
        HashLimits {
            max_entries: config.hash_max_listpack_entries,
            max_value: config.hash_max_listpack_value,
        }
    }
}

/// One field or value as the hash holds it: a listpack entry may be an
/// integer, a hash table entry is always bytes. Redis passes the same pair
/// around as `(vstr, vlen, vll)`.
pub type HashElement<'a> = LpValue<'a>;

/// Field-value pairs of a hash, in storage order: listpack order, or the
/// hash table's bucket order. Redis: `hashTypeInitIterator` /
/// `hashTypeNext`.
pub enum HashIter<'a> {
    Listpack(crate::listpack::Iter<'a>),
    Table(crate::dict::Iter<'a, Sds, Sds>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (HashElement<'a>, HashElement<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(entries) => {
                let field = entries.next()?;
                let value = entries.next().expect("a listpack hash has an even length");
                Some((field, value))
            }
            HashIter::Table(entries) => {
                let (field, value) = entries.next()?;
                Some((
                    LpValue::Str(field.as_bytes()),
                    LpValue::Str(value.as_bytes()),
                ))
            }
        }
    }
}

/// The value's position in a listpack hash, given its field's position.
fn value_of(lp: &Listpack, field: LpPos) -> LpPos {
    lp.next(field)
        .expect("a listpack field is followed by its value")
}

/// An element as owned bytes, for the hash table (Redis:
/// `hashTypeCurrentObjectNewSds`).
fn element_sds(element: HashElement<'_>) -> Sds {
    match element {
        LpValue::Int(n) => Sds::from_i64(n),
        LpValue::Str(s) => Sds::new(s),
    }
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

impl HashValue {
    /// A new, empty hash: always a listpack (`createHashObject`). It must
    /// receive a field before it is stored under a key.
    pub fn new() -> HashValue {
        HashValue::Listpack(Listpack::new())
    }

    /// Number of fields. Redis: `hashTypeLength`.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Listpack(lp) => lp.len() / 2,
            HashValue::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`, if present. Redis: `hashTypeGetValue`. On a
    /// hash table this takes a rehash step first, as `dictFind` does, which
    /// is why it needs `&mut self`; [`HashValue::peek`] does not.
    pub fn get(&mut self, field: &[u8]) -> Option<HashElement<'_>> {
        match self {
            HashValue::Listpack(lp) => {
                let at = lp.find(lp.first()?, field, 1)?;
                Some(lp.get(value_of(lp, at)))
            }
            HashValue::Table(d) => d.get_mut(field).map(|v| LpValue::Str(v.as_bytes())),
        }
    }

    /// Like [`HashValue::get`], without the rehash step, for readers that
    /// only hold a shared borrow.
    pub fn peek(&self, field: &[u8]) -> Option<HashElement<'_>> {
        match self {
            HashValue::Listpack(lp) => {
                let at = lp.find(lp.first()?, field, 1)?;
                Some(lp.get(value_of(lp, at)))
            }
            HashValue::Table(d) => d.get(field).map(|v| LpValue::Str(v.as_bytes())),
        }
    }

    /// Pairs in storage order.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            HashValue::Listpack(lp) => HashIter::Listpack(lp.iter()),
            HashValue::Table(d) => HashIter::Table(d.iter()),
        }
    }

    // ANCHOR: hash_convert
    /// Redis's `hashTypeTryConversion`, called with a write command's
    /// fields and values before any of them is inserted: convert to a hash
    /// table if one of them is longer than `hash-max-listpack-value`, or if
    /// all of them together could push the listpack past its 1 GiB safety
    /// limit. Checking first means a long string is never copied into the
    /// listpack only to be copied out again.
    pub fn try_conversion<'a>(&mut self, args: impl Iterator<Item = &'a [u8]>, limits: HashLimits) {
        let HashValue::Listpack(lp) = self else {
            return;
        };
        let mut sum = 0usize;
        for arg in args {
            if arg.len() > limits.max_value {
                self.convert_to_table();
                return;
            }
            sum += arg.len();
        }
        if !safe_to_add(Some(lp), sum) {
            self.convert_to_table();
        }
    }

    /// Rebuild a listpack hash as a hash table (`hashTypeConvertListpack`).
    /// The dict is sized for every field up front, so filling it triggers
    /// no rehash. Does nothing to a hash that is already a table: Redis
    /// never converts back.
    pub fn convert_to_table(&mut self) {
        let HashValue::Listpack(lp) = self else {
            return;
        };
        let mut dict: Dict<Sds, Sds> = Dict::new();
        // Only an absurd size can fail; the dict would then grow as it fills.
        let _ = dict.expand(lp.len() / 2);
        let mut entries = lp.iter();
        while let (Some(field), Some(value)) = (entries.next(), entries.next()) {
            let duplicate = dict.insert(element_sds(field), element_sds(value));
            // Redis panics here: a listpack with a repeated field is corrupt.
            assert!(duplicate.is_none(), "listpack hash with a duplicate field");
        }
        *self = HashValue::Table(Box::new(dict));
    }
    // ANCHOR_END: hash_convert

    // ANCHOR: hash_set
    /// Set `field` to `value`, adding the field if it is new. Returns true
    /// if the field existed (an update), false if it was added. Redis:
    /// `hashTypeSet`.
    ///
    /// Outcomes on a listpack hash:
    /// 1. `field` or `value` is longer than `hash-max-listpack-value`: the
    ///    hash becomes a table first (HSET has already checked this through
    ///    [`HashValue::try_conversion`]; HINCRBY and HINCRBYFLOAT rely on
    ///    this check);
    /// 2. the field is present: its value entry is replaced in place (and
    ///    left alone if it already holds these exact bytes, which changes
    ///    nothing: a listpack stores equal strings identically);
    /// 3. it is absent: the pair is appended at the tail;
    /// 4. either way, if the hash now has more than
    ///    `hash-max-listpack-entries` fields, it becomes a table.
    ///
    /// On a hash table: one lookup (a rehash step), then the value is
    /// replaced, or the pair added with a second lookup (`dictAdd`).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let HashValue::Listpack(_) = self {
            if field.len() > limits.max_value || value.len() > limits.max_value {
                self.convert_to_table();
            }
        }
        match self {
            HashValue::Listpack(lp) => {
                let found = lp.first().and_then(|first| lp.find(first, field, 1));
                if let Some(at) = found {
                    let value_at = value_of(lp, at);
                    if !lp.get(value_at).eq_bytes(value) {
                        lp.replace(value_at, value);
                    }
                } else {
                    lp.push_back(field);
                    lp.push_back(value);
                }
                // Checked after an update too: CONFIG SET may have lowered
                // the limit since the hash last grew.
                if lp.len() / 2 > limits.max_entries {
                    self.convert_to_table();
                }
                found.is_some()
            }
            HashValue::Table(d) => {
                if let Some(old) = d.get_mut(field) {
                    assign_sds(old, value);
                    return true;
                }
                d.insert(Sds::new(field), Sds::new(value));
                false
            }
        }
    }
    // ANCHOR_END: hash_set

    /// Remove `field`; true if it was there. Redis: `hashTypeDelete`. A
    /// hash table that falls under 10% full is shrunk right away (Redis
    /// checks `htNeedsResize` after every delete); a listpack simply closes
    /// the gap.
    pub fn delete(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack(lp) => {
                let Some(at) = lp.first().and_then(|first| lp.find(first, field, 1)) else {
                    return false;
                };
                let value_at = lp
                    .delete(at)
                    .expect("a listpack field is followed by its value");
                lp.delete(value_at);
                true
            }
            HashValue::Table(d) => {
                if d.remove(field).is_none() {
                    return false;
                }
                if d.needs_shrink() {
                    d.shrink_to_fit();
                }
                true
            }
        }
    }
}

/// Overwrite an sds with `bytes`: in place when the length is the same
/// (no allocation, and the same memory as a fresh copy), otherwise a fresh
/// exact-size copy, as Redis's `sdsdup` makes.
fn assign_sds(old: &mut Sds, bytes: &[u8]) {
    if old.len() == bytes.len() {
        old.as_bytes_mut().copy_from_slice(bytes);
    } else {
        *old = Sds::new(bytes);
    }
}

// ============================================================================
// The command table
// ============================================================================

/// The flags are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "hset",
        arity: -4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Sets one or more fields of a hash, creating it if needed; counts the new fields.",
        run: hset,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hsetnx",
        arity: 4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Sets a field of a hash only if the field does not exist yet.",
        run: hsetnx,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hget",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Reads the value of one field of a hash.",
        run: hget,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hmget",
        arity: -3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Reads the values of several fields of a hash; missing ones read as nil.",
        run: hmget,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hmset",
        arity: -4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "The old form of HSET, replying OK instead of a count.",
        run: hset,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hdel",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Removes fields from a hash, deleting the key with the last one.",
        run: hdel,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hlen",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Counts the fields of a hash.",
        run: hlen,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hstrlen",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Returns the length in bytes of one field's value.",
        run: hstrlen,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hexists",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Tells whether a hash has a field.",
        run: hexists,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hkeys",
        arity: 2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Lists every field name of a hash.",
        run: hkeys,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hvals",
        arity: 2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Lists every value of a hash.",
        run: hvals,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hgetall",
        arity: 2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Returns every field and value of a hash, as a map in RESP3.",
        run: hgetall,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hincrby",
        arity: 4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Adds an integer to the integer in a hash field.",
        run: hincrby,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hincrbyfloat",
        arity: 4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Adds a decimal number to the number in a hash field.",
        run: hincrbyfloat,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hrandfield",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Picks random fields of a hash, distinct or with repeats, optionally with values.",
        run: hrandfield,
        ..CommandDef::base(Group::Hash)
    },
    CommandDef {
        name: "hscan",
        arity: -3,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.0",
        summary: "Walks the fields and values of a hash a slice at a time with a cursor.",
        run: hscan,
        ..CommandDef::base(Group::Hash)
    },
];

// ============================================================================
// Helpers shared by the commands
// ============================================================================

/// `addReplyBulk` of a field or value: an integer entry is formatted on the
/// stack, not allocated.
fn reply_element(reply: &mut Reply, element: HashElement<'_>) {
    match element {
        LpValue::Int(n) => reply.bulk_i64(n),
        LpValue::Str(s) => reply.bulk(s),
    }
}

/// The hash inside an object, or `None` if it holds another type.
fn as_hash(obj: &mut RObj) -> Option<&mut HashValue> {
    match &mut obj.value {
        Value::Hash(h) => Some(h),
        _ => None,
    }
}

// ANCHOR: hash_write_or_create
/// Redis's `hashTypeLookupWriteOrCreate` followed by the command's work:
/// run `write` on the hash at `key`, or on a new empty hash that is stored
/// under `key` afterwards if `write` left a field in it. `None` means the
/// key holds another type (WRONGTYPE has been replied).
///
/// Redis adds the empty hash to the keyspace first and fills it after;
/// filling it first and adding it once saves looking the key up a second
/// time, and no command can observe the difference (nothing runs between
/// the two steps).
fn write_hash<R>(
    ctx: &mut Ctx,
    key: &[u8],
    write: impl FnOnce(&mut HashValue, &mut Reply) -> R,
) -> Option<R> {
    match ctx.write_key(key) {
        (Some(obj), reply) => match as_hash(obj) {
            Some(hash) => Some(write(hash, reply)),
            None => {
                reply.error(WRONGTYPE);
                None
            }
        },
        (None, reply) => {
            let mut hash = HashValue::new();
            let result = write(&mut hash, reply);
            if !hash.is_empty() {
                let obj = ctx.new_object(Value::Hash(Box::new(hash)));
                ctx.db().add(key, obj);
            }
            Some(result)
        }
    }
}
// ANCHOR_END: hash_write_or_create

/// `lookupKeyReadOrReply` + `checkType` for the read commands: run `read`
/// on the hash at `key`; a missing key gets `missing(reply)` instead.
fn read_hash(
    ctx: &mut Ctx,
    key: &[u8],
    missing: impl FnOnce(&mut Reply),
    read: impl FnOnce(&mut HashValue, &mut Reply),
) {
    match ctx.read_key(key) {
        (None, reply) => missing(reply),
        (Some(obj), reply) => match as_hash(obj) {
            Some(hash) => read(hash, reply),
            None => reply.error(WRONGTYPE),
        },
    }
}

// ============================================================================
// Writing fields: HSET HMSET HSETNX
// ============================================================================

/// HSET key field value [field value ...] (the number of fields added) and
/// HMSET, its older spelling (OK). The table's arity only says "at least
/// 4"; an odd count is refused here with the same arity error.
fn hset(ctx: &mut Ctx, args: Args) {
    if args.len() % 2 == 1 {
        let msg = format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.full_name
        );
        ctx.reply().error(&msg);
        return;
    }
    let key = &args[1];
    let limits = HashLimits::from_config(&ctx.server.config);
    let added = write_hash(ctx, key, |hash, _| {
        hash.try_conversion(args.iter().skip(2), limits);
        let mut added = 0;
        for i in (2..args.len()).step_by(2) {
            if !hash.set(&args[i], &args[i + 1], limits) {
                added += 1;
            }
        }
        added
    });
    let Some(added) = added else {
        return;
    };
    // Redis tells the two apart by the second letter of the name as sent.
    if matches!(args[0].get(1), Some(b's' | b'S')) {
        ctx.reply().int(added);
    } else {
        ctx.reply().ok();
    }
    ctx.signal_modified_key(key);
    ctx.notify(HASH, "hset", key);
    ctx.dirty((args.len() as u64 - 2) / 2);
}

/// HSETNX key field value: 1 if the field was added, 0 if it existed (and
/// is left alone).
fn hsetnx(ctx: &mut Ctx, args: Args) {
    let (key, field, value) = (&args[1], &args[2], &args[3]);
    let limits = HashLimits::from_config(&ctx.server.config);
    let added = write_hash(ctx, key, |hash, _| {
        if hash.get(field).is_some() {
            return false;
        }
        hash.try_conversion([field, value].into_iter(), limits);
        hash.set(field, value, limits);
        true
    });
    match added {
        None => {}
        Some(false) => ctx.reply().int(0),
        Some(true) => {
            ctx.reply().int(1);
            ctx.signal_modified_key(key);
            ctx.notify(HASH, "hset", key);
            ctx.dirty(1);
        }
    }
}

// ============================================================================
// Reading fields: HGET HMGET HEXISTS HSTRLEN HLEN
// ============================================================================

/// HGET key field: the value, or nil.
fn hget(ctx: &mut Ctx, args: Args) {
    read_hash(ctx, &args[1], Reply::null, |hash, reply| {
        match hash.get(&args[2]) {
            Some(value) => reply_element(reply, value),
            None => reply.null(),
        }
    });
}

/// HMGET key field [field ...]: one value or nil per field. A missing key
/// is an empty hash, so every field reads as nil.
fn hmget(ctx: &mut Ctx, args: Args) {
    let fields = args.len() - 2;
    match ctx.read_key(&args[1]) {
        (None, reply) => {
            reply.array(fields);
            (0..fields).for_each(|_| reply.null());
        }
        (Some(obj), reply) => {
            let Some(hash) = as_hash(obj) else {
                reply.error(WRONGTYPE);
                return;
            };
            reply.array(fields);
            for field in args.iter().skip(2) {
                match hash.get(field) {
                    Some(value) => reply_element(reply, value),
                    None => reply.null(),
                }
            }
        }
    }
}

/// HEXISTS key field: 1 or 0.
fn hexists(ctx: &mut Ctx, args: Args) {
    read_hash(
        ctx,
        &args[1],
        |r| r.int(0),
        |hash, reply| {
            reply.int(i64::from(hash.get(&args[2]).is_some()));
        },
    );
}

/// HSTRLEN key field: the value's length in bytes (0 if missing). An
/// integer entry's length is its digit count, computed without printing.
fn hstrlen(ctx: &mut Ctx, args: Args) {
    read_hash(
        ctx,
        &args[1],
        |r| r.int(0),
        |hash, reply| {
            let len = hash.get(&args[2]).map_or(0, |v| v.byte_len());
            reply.int(len as i64);
        },
    );
}

/// HLEN key: the number of fields.
fn hlen(ctx: &mut Ctx, args: Args) {
    read_hash(
        ctx,
        &args[1],
        |r| r.int(0),
        |hash, reply| {
            reply.int(hash.len() as i64);
        },
    );
}

// ============================================================================
// Deleting fields: HDEL
// ============================================================================

/// HDEL key field [field ...]: how many were removed. Removing the last
/// field deletes the key (event `del` after `hdel`); the remaining
/// arguments are then not even looked at, as in Redis.
fn hdel(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let (deleted, emptied) = match ctx.write_key(key) {
        (None, reply) => {
            reply.int(0);
            return;
        }
        (Some(obj), reply) => {
            let Some(hash) = as_hash(obj) else {
                reply.error(WRONGTYPE);
                return;
            };
            let mut deleted = 0;
            let mut emptied = false;
            for field in args.iter().skip(2) {
                if hash.delete(field) {
                    deleted += 1;
                    if hash.is_empty() {
                        emptied = true;
                        break;
                    }
                }
            }
            (deleted, emptied)
        }
    };
    if emptied {
        ctx.db().delete(key);
    }
    if deleted > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(HASH, "hdel", key);
        if emptied {
            ctx.notify(GENERIC, "del", key);
        }
        ctx.dirty(deleted);
    }
    ctx.reply().int(deleted as i64);
}

// ============================================================================
// The whole hash: HKEYS HVALS HGETALL
// ============================================================================

/// What `genericHgetallCommand` replies for each pair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// Redis's `genericHgetallCommand`: every field, every value, or both (a
/// map in RESP3, a flat array in RESP2), in storage order.
fn hgetall_generic(ctx: &mut Ctx, key: &[u8], parts: Parts) {
    let missing = |reply: &mut Reply| match parts {
        Parts::Both => reply.map(0),
        _ => reply.array(0),
    };
    read_hash(ctx, key, missing, |hash, reply| {
        match parts {
            Parts::Both => reply.map(hash.len()),
            _ => reply.array(hash.len()),
        }
        for (field, value) in hash.iter() {
            if parts != Parts::Values {
                reply_element(reply, field);
            }
            if parts != Parts::Fields {
                reply_element(reply, value);
            }
        }
    });
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx, args: Args) {
    hgetall_generic(ctx, &args[1], Parts::Fields);
}

/// HVALS key
fn hvals(ctx: &mut Ctx, args: Args) {
    hgetall_generic(ctx, &args[1], Parts::Values);
}

/// HGETALL key
fn hgetall(ctx: &mut Ctx, args: Args) {
    hgetall_generic(ctx, &args[1], Parts::Both);
}

// ============================================================================
// Counters: HINCRBY HINCRBYFLOAT
// ============================================================================

/// HINCRBY key field increment: add to the integer in a field (a missing
/// field counts as 0) and reply the sum.
///
/// Outcomes, in Redis's order: a bad increment (`ERR value is not an
/// integer or out of range`, before the key is looked at); WRONGTYPE;
/// a value that is not the canonical text of an i64 (`ERR hash value is
/// not an integer`); a sum outside i64 (`ERR increment or decrement would
/// overflow`); otherwise the sum is stored, event `hincrby`.
fn hincrby(ctx: &mut Ctx, args: Args) {
    let Some(incr) = arg_i64(ctx, &args[3]) else {
        return;
    };
    let (key, field) = (&args[1], &args[2]);
    let limits = HashLimits::from_config(&ctx.server.config);
    let sum = write_hash(ctx, key, |hash, reply| {
        let old = match hash.get(field) {
            None => 0,
            Some(LpValue::Int(n)) => n,
            Some(LpValue::Str(s)) => match parse_i64(s) {
                Some(n) => n,
                None => {
                    reply.error("ERR hash value is not an integer");
                    return None;
                }
            },
        };
        let Some(sum) = old.checked_add(incr) else {
            reply.error("ERR increment or decrement would overflow");
            return None;
        };
        let mut digits = [0u8; 20];
        hash.set(field, fmt_i64(&mut digits, sum), limits);
        Some(sum)
    });
    if let Some(Some(sum)) = sum {
        ctx.reply().int(sum);
        ctx.signal_modified_key(key);
        ctx.notify(HASH, "hincrby", key);
        ctx.dirty(1);
    }
}

/// Redis reads floats into a buffer of `MAX_LONG_DOUBLE_CHARS` (5 KB); a
/// longer text is refused whatever it holds.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Redis's `string2ld`: the whole text must be one `strtold` number, with
/// no leading space, not NaN, and not out of range. `inf` is accepted (the
/// caller decides what to do with it); an overflow like `1e400` is not
/// (in `f64`; Redis's `long double` holds it, see the module notes).
fn string_to_float(text: &[u8]) -> Option<f64> {
    if text.is_empty() || text.len() >= MAX_LONG_DOUBLE_CHARS || text[0].is_ascii_whitespace() {
        return None;
    }
    let (value, used) = strtod(text);
    if used != text.len() || value.is_nan() {
        return None;
    }
    // An infinity that was not written as one is an overflow (ERANGE).
    let spelled_inf = text.iter().any(|b| matches!(b, b'i' | b'I'));
    if value.is_infinite() && !spelled_inf {
        return None;
    }
    Some(value)
}

/// HINCRBYFLOAT key field increment: add a decimal number to the number
/// in a field and reply the sum as text (stored the same way, as
/// INCRBYFLOAT prints it: fixed notation, no trailing zeros).
///
/// Outcomes, in Redis's order: a bad increment (`ERR value is not a valid
/// float`); an infinite one (`ERR value is NaN or Infinity`); WRONGTYPE;
/// a value that is not a number (`ERR hash value is not a float`); a sum
/// that overflows (`ERR increment would produce NaN or Infinity`).
fn hincrbyfloat(ctx: &mut Ctx, args: Args) {
    let Some(incr) = string_to_float(&args[3]) else {
        ctx.reply().error(NOT_FLOAT);
        return;
    };
    if incr.is_infinite() {
        ctx.reply().error("ERR value is NaN or Infinity");
        return;
    }
    let (key, field) = (&args[1], &args[2]);
    let limits = HashLimits::from_config(&ctx.server.config);
    let stored = write_hash(ctx, key, |hash, reply| {
        let old = match hash.get(field) {
            None => 0.0,
            Some(LpValue::Int(n)) => n as f64,
            Some(LpValue::Str(s)) => match string_to_float(s) {
                Some(v) => v,
                None => {
                    reply.error("ERR hash value is not a float");
                    return None;
                }
            },
        };
        let sum = old + incr;
        if !sum.is_finite() {
            reply.error("ERR increment would produce NaN or Infinity");
            return None;
        }
        let text = super::string::format_float(sum);
        hash.set(field, text.as_bytes(), limits);
        Some(text)
    });
    if let Some(Some(text)) = stored {
        ctx.reply().bulk(text.as_bytes());
        ctx.signal_modified_key(key);
        ctx.notify(HASH, "hincrbyfloat", key);
        ctx.dirty(1);
        // The result, not the increment: float formatting could differ.
        ctx.propagate_as(&[&b"HSET"[..], key, field, text.as_bytes()]);
    }
}

// ============================================================================
// Random fields: HRANDFIELD
// ============================================================================

/// Above this many times the requested count, HRANDFIELD draws random
/// fields one by one; below, it copies the hash and removes random ones
/// (`HRANDFIELD_SUB_STRATEGY_MUL`).
const SUB_STRATEGY_MUL: u64 = 3;

/// HRANDFIELD key [count [WITHVALUES]]
///
/// Without a count: one random field, or nil. With one: an array, empty
/// for a missing key. A count of `-LONG_MAX..=LONG_MAX` is accepted
/// (`i64::MIN` has no positive twin), and with WITHVALUES only half that
/// range, so the reply length `2 * count` cannot overflow.
fn hrandfield(ctx: &mut Ctx, args: Args) {
    if args.len() == 2 {
        read_hash(ctx, &args[1], Reply::null, |hash, reply| {
            let (field, _) = random_pair(hash);
            reply_element(reply, field);
        });
        return;
    }
    let Some(count) = arg_i64(ctx, &args[2]) else {
        return;
    };
    if count == i64::MIN {
        ctx.reply().error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        );
        return;
    }
    let with_values = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withvalues") => true,
        _ => {
            ctx.reply().error(SYNTAX_ERR);
            return;
        }
    };
    if with_values && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        ctx.reply().error("ERR value is out of range");
        return;
    }
    hrandfield_with_count(ctx, &args[1], count, with_values);
}

/// One field-value pair of a non-empty hash, uniformly at random (as
/// near as the dict allows). Redis: `hashTypeRandomElement`.
fn random_pair(hash: &mut HashValue) -> (HashElement<'_>, HashElement<'_>) {
    match hash {
        HashValue::Listpack(lp) => {
            let pairs = lp.len() / 2;
            let index = rand::thread_rng().gen_range(0..pairs);
            let at = lp.seek(2 * index as i64).expect("index below the length");
            (lp.get(at), lp.get(value_of(lp, at)))
        }
        HashValue::Table(d) => {
            let (field, value) = d.fair_random_entry().expect("a hash is never empty");
            (
                LpValue::Str(field.as_bytes()),
                LpValue::Str(value.as_bytes()),
            )
        }
    }
}

/// Reply one picked pair: `[field, value]` in RESP3, `field value` flat in
/// RESP2, or just the field.
fn reply_pick(reply: &mut Reply, with_values: bool, field: HashElement, value: HashElement) {
    if with_values && reply.is_resp3() {
        reply.array(2);
    }
    reply_element(reply, field);
    if with_values {
        reply_element(reply, value);
    }
}

// ANCHOR: hash_randfield
/// Redis's `hrandfieldWithCountCommand`: four cases, chosen so that no
/// request costs much more than its reply.
///
/// 1. **Negative count (repeats allowed), or a count of 1**: `|count|`
///    independent draws, in random order.
/// 2. **Count ≥ size**: the whole hash, in storage order.
/// 3. **Count > size / 3**: most of the hash is wanted, so start from all
///    of it and remove random pairs until `count` remain. Drawing instead
///    would keep hitting pairs already picked.
/// 4. **A small count of a big hash**: draw and skip repeats (hash
///    table), or walk the listpack once picking each pair with probability
///    `still needed / still unseen` (selection sampling, Redis's
///    `lpRandomPairsUnique`), which gives distinct pairs in listpack order.
fn hrandfield_with_count(ctx: &mut Ctx, key: &[u8], count: i64, with_values: bool) {
    let close_asap = ctx.client.close_asap;
    read_hash(
        ctx,
        key,
        |r| r.array(0),
        |hash, reply| {
            let size = hash.len() as u64;
            let wanted = count.unsigned_abs();
            if wanted == 0 {
                reply.array(0);
                return;
            }
            let rng = &mut rand::thread_rng();
            let per_pick = if with_values && !reply.is_resp3() {
                2
            } else {
                1
            };

            // Case 1.
            if count < 0 || wanted == 1 {
                reply.array((wanted * per_pick) as usize);
                match hash {
                    HashValue::Listpack(lp) => {
                        // Index the fields once; every draw is then O(1).
                        let fields: Vec<LpPos> = lp.positions().step_by(2).collect();
                        for _ in 0..wanted {
                            let at = fields[rng.gen_range(0..fields.len())];
                            reply_pick(reply, with_values, lp.get(at), lp.get(value_of(lp, at)));
                        }
                    }
                    HashValue::Table(d) => {
                        for _ in 0..wanted {
                            let (field, value) = d.fair_random_entry().expect("not empty");
                            reply_pick(
                                reply,
                                with_values,
                                LpValue::Str(field),
                                LpValue::Str(value),
                            );
                            if close_asap {
                                break;
                            }
                        }
                    }
                }
                return;
            }

            let reply_len = wanted.min(size);
            reply.array((reply_len * per_pick) as usize);

            // Case 2.
            if wanted >= size {
                for (field, value) in hash.iter() {
                    reply_pick(reply, with_values, field, value);
                }
                return;
            }

            // Case 3.
            if wanted * SUB_STRATEGY_MUL > size {
                let mut pairs: Vec<(HashElement, HashElement)> = hash.iter().collect();
                while pairs.len() as u64 > wanted {
                    pairs.swap_remove(rng.gen_range(0..pairs.len()));
                }
                for (field, value) in pairs {
                    reply_pick(reply, with_values, field, value);
                }
                return;
            }

            // Case 4.
            match hash {
                HashValue::Listpack(lp) => {
                    let mut remaining = wanted;
                    let mut unseen = size;
                    let mut at = lp.first();
                    while let (Some(field_at), true) = (at, remaining > 0) {
                        let value_at = value_of(lp, field_at);
                        let threshold = remaining as f64 / unseen as f64;
                        if rng.gen::<f64>() <= threshold {
                            reply_pick(reply, with_values, lp.get(field_at), lp.get(value_at));
                            remaining -= 1;
                        }
                        unseen -= 1;
                        at = lp.next(value_at);
                    }
                }
                HashValue::Table(d) => {
                    let mut picked: Dict<Sds, ()> = Dict::new();
                    let _ = picked.expand(wanted as usize);
                    while (picked.len() as u64) < wanted {
                        let (field, value) = d.fair_random_entry().expect("not empty");
                        if picked.contains_key(field) {
                            continue;
                        }
                        picked.insert(Sds::new(field), ());
                        reply_pick(reply, with_values, LpValue::Str(field), LpValue::Str(value));
                    }
                }
            }
        },
    );
}
// ANCHOR_END: hash_randfield

// ============================================================================
// Iterating with a cursor: HSCAN
// ============================================================================

/// Fields and values collected by a hash table walk, packed into one
/// buffer (one allocation per call, not one per string).
#[derive(Default)]
struct Collected {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Collected {
    fn push(&mut self, s: &[u8]) {
        self.bytes.extend_from_slice(s);
        self.ends.push(self.bytes.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter())
            .map(|(s, &e)| &self.bytes[s..e])
    }
}

/// Does `field` pass the MATCH filter (if any)? Integers are matched as
/// their decimal text, as Redis matches the string it made from them.
fn field_matches(pattern: Option<&[u8]>, field: HashElement) -> bool {
    let Some(pattern) = pattern else {
        return true;
    };
    let mut digits = [0u8; 20];
    let text = match field {
        LpValue::Int(n) => fmt_i64(&mut digits, n),
        LpValue::Str(s) => s,
    };
    glob_match(pattern, text, false)
}

// ANCHOR: hash_scan
/// HSCAN key cursor [MATCH pattern] [COUNT count]
///
/// Outcomes, in Redis's order: a bad cursor (`ERR invalid cursor`); a
/// missing key (`[0, []]`); WRONGTYPE; a bad option (COUNT not an integer,
/// COUNT below 1, TYPE, which only SCAN takes, or anything else: errors);
/// then one of two walks:
///
/// - **listpack**: every pair, in one reply, with cursor 0, whatever the
///   cursor given. A listpack is small by construction, so there is no
///   need to keep a position, and no position that would survive the
///   listpack changing between calls.
/// - **hash table**: the dict's reverse-binary cursor (`dict.rs`), bucket
///   by bucket, until `COUNT` *strings* were collected (Redis counts fields
///   and values, so it doubles COUNT), the cursor is back to 0, or
///   `10 × COUNT` buckets were visited.
///
/// MATCH filters the fields after the walk has counted them, so a call may
/// return fewer pairs than COUNT, even none, with a non-zero cursor.
fn hscan(ctx: &mut Ctx, args: Args) {
    let Some(mut cursor) = parse_scan_cursor(&args[2]) else {
        ctx.reply().error("ERR invalid cursor");
        return;
    };
    let (obj, reply) = ctx.read_key(&args[1]);
    let Some(obj) = obj else {
        reply.array(2);
        reply.bulk(b"0");
        reply.array(0);
        return;
    };
    let Some(hash) = as_hash(obj) else {
        reply.error(WRONGTYPE);
        return;
    };

    let super::keys::ScanOptions { count, pattern, .. } =
        match super::keys::parse_scan_options(&args, 3, false) {
            Ok(options) => options,
            Err(e) => return reply.error(e),
        };

    match hash {
        HashValue::Listpack(_) => {
            reply.array(2);
            reply.bulk(b"0");
            let header = reply.defer_len();
            let mut n = 0;
            for (field, value) in hash.iter().filter(|(f, _)| field_matches(pattern, *f)) {
                reply_element(reply, field);
                reply_element(reply, value);
                n += 2;
            }
            reply.set_len(header, Aggregate::Array, n);
        }
        HashValue::Table(d) => {
            let wanted = count.saturating_mul(2) as u64;
            let mut max_iterations = wanted.saturating_mul(10);
            let mut walked = 0u64;
            let mut kept = Collected::default();
            loop {
                cursor = d.scan(cursor, |field, value| {
                    walked += 2;
                    if field_matches(pattern, LpValue::Str(field)) {
                        kept.push(field);
                        kept.push(value);
                    }
                });
                if cursor == 0 || max_iterations == 0 || walked >= wanted {
                    break;
                }
                max_iterations -= 1;
            }
            reply.array(2);
            // Redis formats the unsigned cursor as a signed number.
            reply.bulk_i64(cursor as i64);
            reply.array(kept.ends.len());
            for s in kept.iter() {
                reply.bulk(s);
            }
        }
    }
}
// ANCHOR_END: hash_scan

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::string::harness::Harness;

    fn limits(max_entries: usize, max_value: usize) -> HashLimits {
        HashLimits {
            max_entries,
            max_value,
        }
    }

    fn pairs(hash: &HashValue) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<_> = hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        v.sort();
        v
    }

    #[test]
    fn a_listpack_hash_alternates_fields_and_values() {
        let mut h = HashValue::new();
        let l = limits(8, 16);
        assert!(!h.set(b"a", b"1", l));
        assert!(!h.set(b"1", b"a", l));
        assert!(h.set(b"a", b"2", l));
        let HashValue::Listpack(lp) = &h else {
            panic!("still small")
        };
        let entries: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        assert_eq!(entries, [&b"a"[..], b"2", b"1", b"a"]);
        // A value equal to a field name is never found as a field.
        assert_eq!(h.get(b"2"), None);
        assert_eq!(h.get(b"1"), Some(LpValue::Str(b"a")));
        assert!(h.delete(b"a"));
        assert!(!h.delete(b"a"));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn conversion_keeps_every_pair_and_never_goes_back() {
        let mut h = HashValue::new();
        let l = limits(4, 16);
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), l);
        }
        assert!(matches!(h, HashValue::Listpack(_)));
        let before = pairs(&h);
        h.set(b"f4", b"4", l);
        assert!(matches!(h, HashValue::Table(_)));
        let mut expected = before;
        expected.push((b"f4".to_vec(), b"4".to_vec()));
        assert_eq!(pairs(&h), expected);
        for i in 0..4 {
            h.delete(format!("f{i}").as_bytes());
        }
        assert!(matches!(h, HashValue::Table(_)));
    }

    #[test]
    fn try_conversion_looks_at_every_argument_length() {
        let mut h = HashValue::new();
        h.try_conversion([&b"short"[..], b"x"].into_iter(), limits(8, 5));
        assert!(matches!(h, HashValue::Listpack(_)));
        h.try_conversion([&b"x"[..], b"sixsix"].into_iter(), limits(8, 5));
        assert!(matches!(h, HashValue::Table(_)));
    }

    #[test]
    fn hincrby_on_a_long_field_converts_before_inserting() {
        let mut h = Harness::new();
        h.server.config.hash_max_listpack_value = 4;
        h.run(&[b"HSET", b"k", b"a", b"1"]);
        assert_eq!(h.encoding("k"), "listpack");
        assert_eq!(h.run(&[b"HINCRBY", b"k", b"longer", b"5"]), ":5\r\n");
        assert_eq!(h.encoding("k"), "hashtable");
        // A sum longer than the limit converts as well.
        h.run(&[b"HSET", b"j", b"a", b"1"]);
        h.run(&[b"HINCRBY", b"j", b"a", b"99999"]);
        assert_eq!(h.encoding("j"), "hashtable");
    }

    #[test]
    fn table_rows_match_redis_command_info() {
        let table = crate::server::command_table();
        // name, arity, flags: Redis 7.0.15's COMMAND INFO (all keys 1 1 1).
        let rows: &[(&str, i32, &str)] = &[
            ("hset", -4, "write denyoom fast"),
            ("hsetnx", 4, "write denyoom fast"),
            ("hget", 3, "readonly fast"),
            ("hmget", -3, "readonly fast"),
            ("hmset", -4, "write denyoom fast"),
            ("hdel", -3, "write fast"),
            ("hlen", 2, "readonly fast"),
            ("hstrlen", 3, "readonly fast"),
            ("hexists", 3, "readonly fast"),
            ("hkeys", 2, "readonly"),
            ("hvals", 2, "readonly"),
            ("hgetall", 2, "readonly"),
            ("hincrby", 4, "write denyoom fast"),
            ("hincrbyfloat", 4, "write denyoom fast"),
            ("hrandfield", -2, "readonly"),
            ("hscan", -3, "readonly"),
        ];
        assert_eq!(rows.len(), COMMANDS.len());
        for &(name, arity, flags) in rows {
            let def = table.get(name.as_bytes()).expect(name).def;
            assert_eq!(
                (
                    def.arity,
                    def.flags,
                    def.first_key,
                    def.last_key,
                    def.key_step
                ),
                (arity, flags, 1, 1, 1),
                "row of {name}"
            );
        }
    }

    #[test]
    fn string_to_float_is_string2ld() {
        assert_eq!(string_to_float(b"1.5"), Some(1.5));
        assert_eq!(string_to_float(b"0x10"), Some(16.0));
        assert_eq!(string_to_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(string_to_float(b"1e-400"), Some(0.0));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"1e400", b"abc", b"1.5x"] {
            assert_eq!(
                string_to_float(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn dirty_counts_writes_as_redis_does() {
        // Running totals read from Redis 7.0.15's INFO
        // `rdb_changes_since_last_save` after the same commands.
        let mut h = Harness::new();
        let steps: &[(&[&[u8]], u64)] = &[
            (&[b"HSET", b"h", b"a", b"1", b"b", b"2"], 2),
            (&[b"HSET", b"h", b"a", b"1"], 3),
            (&[b"HMSET", b"h", b"c", b"3"], 4),
            (&[b"HSETNX", b"h", b"a", b"9"], 4),
            (&[b"HSETNX", b"h", b"d", b"9"], 5),
            (&[b"HDEL", b"h", b"a", b"zz", b"b"], 7),
            (&[b"HDEL", b"h", b"zz"], 7),
            (&[b"HINCRBY", b"h", b"n", b"1"], 8),
            (&[b"HINCRBYFLOAT", b"h", b"n", b"1.5"], 9),
            (&[b"HINCRBY", b"h", b"n", b"1"], 9),
            (&[b"HDEL", b"h", b"c", b"d", b"n", b"x"], 12),
        ];
        for (cmd, total) in steps {
            h.run(cmd);
            assert_eq!(
                h.server.dirty,
                *total,
                "after {:?}",
                String::from_utf8_lossy(cmd[0])
            );
        }
        assert!(h.server.dbs[0].get(b"h").is_none());
    }
}
