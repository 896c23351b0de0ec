//! # Sets: unordered collections of distinct strings
//!
//! `SADD s a b c` stores three members; adding `a` again changes nothing.
//! A set answers membership (SISMEMBER) in constant time, and combines
//! with other sets: SINTER, SUNION, SDIFF, and their `STORE` forms that
//! keep the result under a new key.
//!
//! ## Two encodings, one direction
//!
//! A set starts life as an **intset** (`intset.rs`) when its first member
//! is an integer: one sorted array of numbers, 2 to 8 bytes each. It
//! becomes a **hashtable** (a `Dict<Sds, ()>`, our `dict.rs`, with empty
//! values) the moment either
//!
//! - a member arrives that is not the canonical decimal text of an i64
//!   (`"12"` is an integer, `"012"`, `" 12"` and `"1.0"` are not), or
//! - it would hold more than `set-max-intset-entries` members (512).
//!
//! It never converts back, even if every non-integer member is removed:
//! checking after every SREM would cost a scan, and a set that once held a
//! string is likely to get another. `OBJECT ENCODING` shows the change.
//! Redis 7.0 has no listpack sets (7.2 added them), so these are the only
//! two names a set can report.
//!
//! ## The invariants
//!
//! - An intset holds only integers and at most
//!   `min(set-max-intset-entries, 2^30)` of them.
//! - No set is empty: the command that removes the last member deletes the
//!   key (SREM, SPOP, SMOVE), and a `*STORE` whose result is empty deletes
//!   the destination instead of writing an empty set.
//! - A result built by SINTERSTORE, SUNIONSTORE, SDIFFSTORE starts as an
//!   empty intset and converts exactly like a set built by SADD, so
//!   `SUNIONSTORE d a` of a hashtable set `a` holding only small integers
//!   gives an intset `d`.
//!
//! ## The Redis C counterpart
//!
//! `src/t_set.c` (Redis 7.0): the type API `setTypeCreate`, `setTypeAdd`,
//! `setTypeRemove`, `setTypeIsMember`, `setTypeRandomElement`,
//! `setTypeSize`, `setTypeConvert`, the iterator `setTypeNext`; the
//! commands `saddCommand` ... `sscanCommand`, `sinterGenericCommand`
//! (SINTER, SMEMBERS, SINTERSTORE, SINTERCARD) and
//! `sunionDiffGenericCommand` (SUNION, SDIFF and their STORE forms);
//! `spopWithCountCommand` and `srandmemberWithCountCommand` with their
//! strategies; `scanGenericCommand` in `db.c` for SSCAN.
//!
//! ## What we simplified
//!
//! - Propagation does not exist yet. Redis rewrites SPOP as SREM (or a
//!   whole-set SPOP as DEL) for the AOF and the replicas, because a random
//!   choice must not be made twice; the places are marked where that
//!   rewrite will go.
//! - Members are compared and hashed as bytes; an intset member is turned
//!   into its decimal text only where a reply or a hashtable needs it
//!   (Redis's `setTypeNextObject` does the same).
//! - Reply order of a hashtable set follows our dict's hash seed, which
//!   differs from Redis's (Redis seeds SipHash randomly at start-up, so
//!   two Redis processes disagree with each other too).

use rand::Rng;

use crate::dict::Dict;
use crate::intset::Intset;
use crate::object::{RObj, SetValue, Value};
use crate::resp::{fmt_i64, parse_i64, Aggregate, Args, Reply};
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::{GENERIC, SET};
use crate::server::{Ctx, Server, NOT_INTEGER, SYNTAX_ERR, WRONGTYPE};

use super::eq_ic;

// ===========================================================================
// The set type: Redis's setType* API
// ===========================================================================

/// Redis caps the intset at 2^30 members whatever the config says: the
/// intset's length is 32 bits and its byte size must stay addressable.
const INTSET_HARD_LIMIT: usize = 1 << 30;

/// One member as the set holds it: an intset holds numbers, a hashtable
/// holds bytes. A command turns an `Int` into text only when it must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Member<'a> {
    /// The member's bytes; an integer is formatted into `scratch`.
    pub fn bytes<'s>(&self, scratch: &'s mut [u8; 20]) -> &'s [u8]
    where
        'a: 's,
    {
        match *self {
            Member::Int(n) => fmt_i64(scratch, n),
            Member::Bytes(b) => b,
        }
    }

    /// Reply with the member as a bulk string.
    pub fn reply(&self, reply: &mut Reply) {
        match *self {
            Member::Int(n) => reply.bulk_i64(n),
            Member::Bytes(b) => reply.bulk(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = [0u8; 20];
        self.bytes(&mut scratch).to_vec()
    }
}

/// Iterator over a set's members (Redis: `setTypeIterator`). An intset
/// yields in ascending order, a hashtable in bucket order.
pub enum Iter<'a> {
    Intset(crate::intset::Iter<'a>),
    Table(crate::dict::Iter<'a, Sds, ()>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Intset(it) => it.next().map(Member::Int),
            Iter::Table(it) => it.next().map(|(k, _)| Member::Bytes(k.as_bytes())),
        }
    }
}

// ANCHOR: set_type_add
impl SetValue {
    /// An empty set that can hold `first` (Redis: `setTypeCreate`): an
    /// intset if it is an integer, otherwise a hashtable.
    pub fn new_for(first: &[u8]) -> SetValue {
        if parse_i64(first).is_some() {
            SetValue::Intset(Intset::new())
        } else {
            SetValue::Table(Box::default())
        }
    }

    /// Add `member`; false if it was already there (Redis: `setTypeAdd`).
    /// `max_intset` is `set-max-intset-entries`: an intset that grows past
    /// it, or meets a member that is not an integer, becomes a hashtable.
    pub fn add(&mut self, member: &[u8], max_intset: usize) -> bool {
        match self {
            SetValue::Intset(is) => match parse_i64(member) {
                Some(n) => {
                    if !is.insert(n) {
                        return false;
                    }
                    if is.len() > max_intset.min(INTSET_HARD_LIMIT) {
                        self.convert_to_table();
                    }
                    true
                }
                None => {
                    // Not an integer, so certainly not a member yet.
                    self.convert_to_table();
                    self.table_insert_new(member);
                    true
                }
            },
            SetValue::Table(d) => {
                if d.get(member).is_some() {
                    return false;
                }
                d.insert(Sds::new(member), ());
                true
            }
        }
    }
    // ANCHOR_END: set_type_add

    /// [`SetValue::add`] for a member that may be held as a number, so
    /// that an intset-to-intset union never formats and parses it.
    pub fn add_member(&mut self, member: Member, max_intset: usize) -> bool {
        match (&mut *self, member) {
            (SetValue::Intset(is), Member::Int(n)) => {
                if !is.insert(n) {
                    return false;
                }
                if is.len() > max_intset.min(INTSET_HARD_LIMIT) {
                    self.convert_to_table();
                }
                true
            }
            _ => {
                let mut scratch = [0u8; 20];
                self.add(member.bytes(&mut scratch), max_intset)
            }
        }
    }

    fn table_insert_new(&mut self, member: &[u8]) {
        if let SetValue::Table(d) = self {
            d.insert(Sds::new(member), ());
        }
    }

    // ANCHOR: set_convert
    /// intset → hashtable (Redis: `setTypeConvert`). The dict is sized for
    /// every member up front, so filling it triggers no rehash.
    pub fn convert_to_table(&mut self) {
        let SetValue::Intset(is) = self else {
            return;
        };
        let mut d = Dict::new();
        let _ = d.expand(is.len());
        for n in is.iter() {
            d.insert(Sds::from_i64(n), ());
        }
        *self = SetValue::Table(Box::new(d));
    }
    // ANCHOR_END: set_convert

    /// Remove `member`; false if it was not there (Redis: `setTypeRemove`).
    /// A hashtable that became mostly empty starts shrinking, as Redis's
    /// `htNeedsResize` check does after a delete.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            SetValue::Intset(is) => parse_i64(member).is_some_and(|n| is.remove(n)),
            SetValue::Table(d) => {
                if d.remove(member).is_none() {
                    return false;
                }
                if d.needs_shrink() {
                    d.shrink_to_fit();
                }
                true
            }
        }
    }

    /// Is `member` in the set? (Redis: `setTypeIsMember`.)
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            SetValue::Intset(is) => parse_i64(member).is_some_and(|n| is.contains(n)),
            SetValue::Table(d) => d.get(member).is_some(),
        }
    }

    /// [`SetValue::contains`] for a member that may be a number: an
    /// intset checks an intset's member without any text.
    pub fn contains_member(&self, member: Member) -> bool {
        match (self, member) {
            (SetValue::Intset(is), Member::Int(n)) => is.contains(n),
            (_, m) => {
                let mut scratch = [0u8; 20];
                self.contains(m.bytes(&mut scratch))
            }
        }
    }

    /// How many members (Redis: `setTypeSize`).
    pub fn len(&self) -> usize {
        match self {
            SetValue::Intset(is) => is.len(),
            SetValue::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            SetValue::Intset(is) => Iter::Intset(is.iter()),
            SetValue::Table(d) => Iter::Table(d.iter()),
        }
    }

    /// A random member of a non-empty set (Redis: `setTypeRandomElement`):
    /// a uniform index into the intset, or the dict's fair random entry.
    pub fn random_member(&mut self) -> Option<Member<'_>> {
        match self {
            SetValue::Intset(is) => {
                if is.is_empty() {
                    return None;
                }
                let i = rand::thread_rng().gen_range(0..is.len());
                is.get(i).map(Member::Int)
            }
            SetValue::Table(d) => d
                .fair_random_entry()
                .map(|(k, _)| Member::Bytes(k.as_bytes())),
        }
    }

    /// Remove and return a random member as bytes.
    fn pop_random(&mut self) -> Option<Vec<u8>> {
        let member = self.random_member()?.to_vec();
        self.remove(&member);
        Some(member)
    }
}

/// The set in a looked-up object: `Err` if the key holds another type.
fn as_set(obj: Option<&mut RObj>) -> Result<Option<&mut SetValue>, ()> {
    match obj {
        None => Ok(None),
        Some(obj) => match &mut obj.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(()),
        },
    }
}

/// The set at `key` in the client's db, already looked up (no clock, no
/// stats): for the second pass of the multi-key commands.
fn peek_set<'a>(server: &'a Server, db: usize, key: &[u8]) -> Option<&'a SetValue> {
    match &server.dbs[db].dict.get(key)?.value {
        Value::Set(s) => Some(s),
        _ => None,
    }
}

fn max_intset(ctx: &Ctx) -> usize {
    ctx.server.config.set_max_intset_entries
}

// ===========================================================================
// The command table
// ===========================================================================

/// The flags and key positions are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "sadd",
        arity: -3,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Adds members to a set; answers how many were new.",
        run: sadd,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "srem",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Removes members from a set; answers how many were there.",
        run: srem,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "smembers",
        arity: 2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns every member of a set.",
        run: smembers,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sismember",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Tells whether a value is a member of a set.",
        run: sismember,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "smismember",
        arity: -3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Tells, for each of several values, whether it is a member of a set.",
        run: smismember,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "scard",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Counts the members of a set.",
        run: scard,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "spop",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Removes and returns one or more random members of a set.",
        run: spop,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "srandmember",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns random members of a set, distinct or (negative count) with repeats.",
        run: srandmember,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "smove",
        arity: 4,
        flags: "write fast",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "1.0.0",
        summary: "Moves a member from one set to another.",
        run: smove,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sinter",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns the members common to every given set.",
        run: sinter,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sintercard",
        arity: -3,
        flags: "readonly",
        since: "7.0.0",
        summary: "Counts the members common to every given set, stopping at a limit.",
        run: sintercard,
        get_keys: Some(sintercard_keys),
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sinterstore",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Stores the intersection of sets under a key; answers its size.",
        run: sinterstore,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sunion",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns the members of any of the given sets.",
        run: sunion,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sunionstore",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Stores the union of sets under a key; answers its size.",
        run: sunionstore,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sdiff",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Returns the members of the first set that no other given set has.",
        run: sdiff,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sdiffstore",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "1.0.0",
        summary: "Stores the difference of sets under a key; answers its size.",
        run: sdiffstore,
        ..CommandDef::base(Group::Set)
    },
    CommandDef {
        name: "sscan",
        arity: -3,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.0",
        summary: "Walks the members of a set a slice at a time with a resumable cursor.",
        run: sscan,
        ..CommandDef::base(Group::Set)
    },
];

/// C's `atoi`: optional spaces and sign, then digits, stopping at the
/// first other byte (0 if none). Redis parses `numkeys` this way when it
/// only needs key positions, before the command validates it properly.
pub fn atoi(arg: &[u8]) -> i64 {
    let mut i = arg
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let negative = arg.get(i) == Some(&b'-');
    if matches!(arg.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut n: i64 = 0;
    for &b in &arg[i..] {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add((b - b'0') as i64);
    }
    if negative {
        n.wrapping_neg()
    } else {
        n
    }
}

/// SINTERCARD's keys: `numkeys` of them from argument 2, or none when
/// `numkeys` cannot be right (Redis: `sintercardGetKeys`).
fn sintercard_keys(args: Args) -> Vec<usize> {
    let num = atoi(&args[1]);
    if num < 1 || num > args.len() as i64 - 2 {
        return Vec::new();
    }
    (2..2 + num as usize).collect()
}

// ===========================================================================
// Adding, removing, asking
// ===========================================================================

/// `SADD key member [member ...]`: how many were new. A missing key is
/// created with the encoding its first member asks for.
fn sadd(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let max = max_intset(ctx);
    let (obj, reply) = ctx.write_key(key);
    let added = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(Some(set)) => args.iter().skip(2).filter(|m| set.add(m, max)).count(),
        Ok(None) => {
            let mut set = SetValue::new_for(&args[2]);
            let added = args.iter().skip(2).filter(|m| set.add(m, max)).count();
            let obj = ctx.new_object(Value::Set(set));
            ctx.db().add(key, obj);
            added
        }
    };
    if added > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(SET, "sadd", key);
    }
    ctx.dirty(added as u64);
    ctx.reply().int(added as i64);
}

/// `SREM key member [member ...]`: how many were removed. Removing the
/// last member deletes the key (and stops there).
fn srem(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let (obj, reply) = ctx.write_key(key);
    let set = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(None) => return reply.int(0),
        Ok(Some(set)) => set,
    };
    let mut deleted = 0;
    for member in args.iter().skip(2) {
        if set.remove(member) {
            deleted += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let key_removed = set.is_empty();
    if key_removed {
        ctx.db().delete(key);
    }
    if deleted > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(SET, "srem", key);
        if key_removed {
            ctx.notify(GENERIC, "del", key);
        }
        ctx.dirty(deleted);
    }
    ctx.reply().int(deleted as i64);
}

/// `SISMEMBER key member`: 1 or 0.
fn sismember(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(&args[1]);
    match as_set(obj) {
        Err(()) => reply.error(WRONGTYPE),
        Ok(None) => reply.int(0),
        Ok(Some(set)) => reply.int(set.contains(&args[2]) as i64),
    }
}

/// `SMISMEMBER key member [member ...]`: one 1 or 0 per member; a missing
/// key is an empty set, not an error.
fn smismember(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(&args[1]);
    let set = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(set) => set,
    };
    reply.array(args.len() - 2);
    for member in args.iter().skip(2) {
        reply.int(set.as_ref().is_some_and(|s| s.contains(member)) as i64);
    }
}

/// `SCARD key`: the number of members, 0 for a missing key.
fn scard(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(&args[1]);
    match as_set(obj) {
        Err(()) => reply.error(WRONGTYPE),
        Ok(None) => reply.int(0),
        Ok(Some(set)) => reply.int(set.len() as i64),
    }
}

/// `SMOVE source destination member`. Every outcome:
/// - source missing: 0 (even if the destination has the wrong type);
/// - either key holds another type: WRONGTYPE;
/// - source and destination are the same key: 1 if the member is there;
/// - the member is not in the source: 0;
/// - otherwise it leaves the source (an `srem`, and a `del` if that
///   emptied it), joins the destination (an `sadd`, unless it was already
///   there), and the answer is 1.
fn smove(ctx: &mut Ctx, args: Args) {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let dst_state = match as_set(ctx.lookup_write(dst)) {
        Err(()) => Err(()),
        Ok(s) => Ok(s.is_some()),
    };
    let (obj, reply) = ctx.write_key(src);
    let src_set = match as_set(obj) {
        Ok(None) => return reply.int(0),
        Err(()) => return reply.error(WRONGTYPE),
        Ok(Some(set)) => set,
    };
    let Ok(dst_exists) = dst_state else {
        return reply.error(WRONGTYPE);
    };
    if src == dst {
        return reply.int(src_set.contains(member) as i64);
    }
    if !src_set.remove(member) {
        return reply.int(0);
    }
    let src_emptied = src_set.is_empty();
    ctx.notify(SET, "srem", src);
    if src_emptied {
        ctx.db().delete(src);
        ctx.notify(GENERIC, "del", src);
    }
    if !dst_exists {
        let obj = ctx.new_object(Value::Set(SetValue::new_for(member)));
        ctx.db().add(dst, obj);
    }
    ctx.signal_modified_key(src);
    ctx.dirty(1);
    let max = max_intset(ctx);
    let added = match ctx.db().dict.get_mut(dst).map(|o| &mut o.value) {
        Some(Value::Set(set)) => set.add(member, max),
        _ => unreachable!("the destination was checked or created above"),
    };
    if added {
        ctx.dirty(1);
        ctx.signal_modified_key(dst);
        ctx.notify(SET, "sadd", dst);
    }
    ctx.reply().int(1);
}

// ===========================================================================
// Random members: SPOP and SRANDMEMBER
// ===========================================================================

/// SPOP with a count switches strategy when the members to keep are fewer
/// than this many times the members to pop (Redis: `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

/// SRANDMEMBER with a positive count copies the whole set and removes
/// members when it asks for more than a third of it
/// (Redis: `SRANDMEMBER_SUB_STRATEGY_MUL`).
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;

/// `SPOP key [count]`: remove and return a random member (null when the
/// key is missing), or `count` distinct ones as a set.
fn spop(ctx: &mut Ctx, args: Args) {
    match args.len() {
        2 => {}
        3 => return spop_with_count(ctx, args),
        _ => return ctx.reply().error(SYNTAX_ERR),
    }
    let key = &args[1];
    let (obj, reply) = ctx.write_key(key);
    let set = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(None) => return reply.null(),
        Ok(Some(set)) => set,
    };
    let member = set.pop_random().expect("sets are never empty");
    let emptied = set.is_empty();
    ctx.notify(SET, "spop", key);
    // Redis rewrites this command as `SREM key <member>` so that the AOF
    // and the replicas remove the same member instead of drawing their own.
    ctx.propagate_as(&[&b"SREM"[..], key, &member]);
    ctx.reply().bulk(&member);
    if emptied {
        ctx.db().delete(key);
        ctx.notify(GENERIC, "del", key);
    }
    ctx.signal_modified_key(key);
    ctx.dirty(1);
}

// ANCHOR: set_spop_count
/// `SPOP key count`, Redis 7.0's three cases:
///
/// 1. `count >= size`: the answer is the whole set; the key is deleted.
/// 2. Few to pop compared with what stays (`remaining * 5 > count`): pop
///    random members one at a time.
/// 3. Most of the set goes: drawing random members that are still there
///    gets slow as the set empties, so draw the `remaining` members that
///    *stay* into a new set instead, answer with everything left in the
///    old one, and put the new set under the key.
fn spop_with_count(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let count = match parse_i64(&args[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => {
            return ctx
                .reply()
                .error("ERR value is out of range, must be positive")
        }
    };
    let max = max_intset(ctx);
    let propagating = ctx.propagating();
    let mut popped: Vec<Vec<u8>> = Vec::new();
    let (obj, reply) = ctx.write_key(key);
    let set = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(None) => return reply.set(0),
        Ok(Some(set)) => set,
    };
    if count == 0 {
        return reply.set(0);
    }
    let size = set.len() as u64;

    if count >= size {
        // Case 1. The reply is built as SUNION of this one key builds it
        // (a fresh intset-first copy), as Redis does.
        let whole = union_of(&[&*set], max);
        reply_members(reply, &whole);
        ctx.notify(SET, "spop", key);
        ctx.dirty(size);
        ctx.db().delete(key);
        ctx.notify(GENERIC, "del", key);
        // Propagated as `DEL key` (UNLINK with lazyfree-lazy-server-del).
        let verb = crate::propagate::del_verb(ctx.server.config.lazyfree_lazy_server_del);
        ctx.propagate_as(&[verb, key]);
        ctx.signal_modified_key(key);
        return;
    }

    // Propagation, cases 2 and 3: `SREM key <members>` (in batches, as
    // Redis's SPOP_MOVE... batches of 1024), and not the SPOP itself.
    reply.set(count as usize);
    let remaining = size - count;
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // Case 2.
        for _ in 0..count {
            let member = set.pop_random().expect("count < size");
            reply.bulk(&member);
            if propagating {
                popped.push(member);
            }
        }
    } else {
        // Case 3.
        let mut kept: Option<SetValue> = None;
        for _ in 0..remaining {
            let member = set.pop_random().expect("remaining < size");
            kept.get_or_insert_with(|| SetValue::new_for(&member))
                .add(&member, max);
        }
        for member in set.iter() {
            member.reply(reply);
            if propagating {
                popped.push(member.to_vec());
            }
        }
        *set = kept.expect("remaining >= 1");
    }
    for batch in popped.chunks(1024) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(batch.len() + 2);
        argv.push(b"SREM");
        argv.push(key);
        argv.extend(batch.iter().map(|m| &m[..]));
        ctx.also_propagate(&argv);
    }
    ctx.prevent_propagation();
    ctx.notify(SET, "spop", key);
    ctx.dirty(count);
    ctx.signal_modified_key(key);
}
// ANCHOR_END: set_spop_count

/// `SRANDMEMBER key [count]`: a random member (null when missing), or an
/// array of them: see [`srandmember_with_count`].
fn srandmember(ctx: &mut Ctx, args: Args) {
    match args.len() {
        2 => {}
        3 => return srandmember_with_count(ctx, args),
        _ => return ctx.reply().error(SYNTAX_ERR),
    }
    let (obj, reply) = ctx.read_key(&args[1]);
    match as_set(obj) {
        Err(()) => reply.error(WRONGTYPE),
        Ok(None) => reply.null(),
        Ok(Some(set)) => set.random_member().expect("never empty").reply(reply),
    }
}

/// `SRANDMEMBER key count`, Redis 7.0's four cases:
///
/// 1. Negative count (or 1): `|count|` independent draws, repeats allowed,
///    in the order drawn.
/// 2. `count >= size`: the whole set.
/// 3. `count * 3 > size`: copy the set into a scratch dict and remove
///    random members until `count` remain (drawing that many distinct
///    members one by one would keep hitting ones already drawn).
/// 4. Otherwise draw into a scratch dict until it holds `count` distinct
///    members.
///
/// Cases 3 and 4 answer in the scratch dict's order, which is why the
/// members of a small-count reply do not come out sorted even for an
/// intset.
fn srandmember_with_count(ctx: &mut Ctx, args: Args) {
    let (count, distinct) = match parse_i64(&args[2]) {
        None => return ctx.reply().error(NOT_INTEGER),
        Some(i64::MIN) => {
            return ctx.reply().error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            )
        }
        Some(n) if n < 0 => (n.unsigned_abs(), false),
        Some(n) => (n as u64, true),
    };
    let (obj, reply) = ctx.read_key(&args[1]);
    let set = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(None) => return reply.array(0),
        Ok(Some(set)) => set,
    };
    if count == 0 {
        return reply.array(0);
    }
    let size = set.len() as u64;

    if !distinct || count == 1 {
        reply.array(count as usize);
        for _ in 0..count {
            set.random_member().expect("never empty").reply(reply);
        }
        return;
    }
    if count >= size {
        reply.array(size as usize);
        for member in set.iter() {
            member.reply(reply);
        }
        return;
    }
    let mut picked: Dict<Sds, ()> = Dict::new();
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        let _ = picked.expand(size as usize);
        for member in set.iter() {
            let mut scratch = [0u8; 20];
            picked.insert(Sds::new(member.bytes(&mut scratch)), ());
        }
        while picked.len() as u64 > count {
            let victim = picked.fair_random_entry().expect("not empty").0.clone();
            picked.remove(&victim);
        }
    } else {
        let _ = picked.expand(count as usize);
        while (picked.len() as u64) < count {
            let member = set.random_member().expect("never empty");
            let mut scratch = [0u8; 20];
            let bytes = member.bytes(&mut scratch);
            if picked.get(bytes).is_none() {
                picked.insert(Sds::new(bytes), ());
            }
        }
    }
    reply.array(count as usize);
    for (member, _) in picked.iter() {
        reply.bulk(member);
    }
}

// ===========================================================================
// Algebra: SINTER, SUNION, SDIFF and friends
// ===========================================================================

/// Reply with every member of `set`, as a set (`~` in RESP3).
fn reply_members(reply: &mut Reply, set: &SetValue) {
    reply.set(set.len());
    for member in set.iter() {
        member.reply(reply);
    }
}

/// Look up every key for reading, in order (counting hits and misses
/// and expiring as Redis's `lookupKeyRead` does). `Err` once a key holds
/// another type, even after a missing key: Redis 7.0 checks them all.
/// `Ok(n)` is the number of missing keys.
fn check_set_keys<'k>(ctx: &mut Ctx, keys: impl Iterator<Item = &'k [u8]>) -> Result<usize, ()> {
    let mut missing = 0;
    for key in keys {
        match as_set(ctx.lookup_read(key)) {
            Err(()) => return Err(()),
            Ok(None) => missing += 1,
            Ok(Some(_)) => {}
        }
    }
    Ok(missing)
}

/// What a SINTER-family command does with the intersection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InterOutput<'a> {
    Reply,
    Store(&'a [u8]),
    /// SINTERCARD: count only, stopping at the limit (0: none).
    Count(u64),
}

// ANCHOR: set_sinter
/// SINTER, SMEMBERS, SINTERSTORE, SINTERCARD (Redis:
/// `sinterGenericCommand`). A missing key is an empty set, so the
/// intersection is empty at once. Otherwise the sets are sorted smallest
/// first, and each member of the smallest is kept if every other set has
/// it: the work is `size(smallest) * (number of sets)` lookups, whatever
/// the size of the big sets.
fn sinter_generic(ctx: &mut Ctx, keys: Args, first: usize, end: usize, output: InterOutput) {
    let key_iter = || (first..end).map(|i| keys.get(i));
    let missing = match check_set_keys(ctx, key_iter()) {
        Err(()) => return ctx.wrong_type(),
        Ok(n) => n,
    };
    if missing > 0 {
        match output {
            InterOutput::Reply => ctx.reply().set(0),
            InterOutput::Count(_) => ctx.reply().int(0),
            InterOutput::Store(dst) => {
                if ctx.db().delete(dst).is_some() {
                    ctx.signal_modified_key(dst);
                    ctx.notify(GENERIC, "del", dst);
                    ctx.dirty(1);
                }
                ctx.reply().int(0);
            }
        }
        return;
    }
    let max = max_intset(ctx);
    let result = {
        let db = ctx.client.db;
        let mut sets: Vec<&SetValue> = key_iter()
            .map(|k| peek_set(ctx.server, db, k).expect("checked above"))
            .collect();
        sets.sort_by_key(|s| s.len());
        let (smallest, others) = sets.split_first().expect("at least one key");
        let in_all = |m: Member| {
            others
                .iter()
                .all(|s| std::ptr::eq(*s, *smallest) || s.contains_member(m))
        };
        match output {
            InterOutput::Count(limit) => {
                let mut n = 0u64;
                for m in smallest.iter() {
                    if in_all(m) {
                        n += 1;
                        if limit != 0 && n >= limit {
                            break;
                        }
                    }
                }
                return ctx.client.reply.int(n as i64);
            }
            InterOutput::Reply => {
                let reply = &mut ctx.client.reply;
                let header = reply.defer_len();
                let mut n = 0;
                for m in smallest.iter().filter(|m| in_all(*m)) {
                    m.reply(reply);
                    n += 1;
                }
                return reply.set_len(header, Aggregate::Set, n);
            }
            InterOutput::Store(_) => {
                let mut result = SetValue::Intset(Intset::new());
                for m in smallest.iter().filter(|m| in_all(*m)) {
                    result.add_member(m, max);
                }
                result
            }
        }
    };
    if let InterOutput::Store(dst) = output {
        store_result(ctx, dst, result, "sinterstore");
    }
}
// ANCHOR_END: set_sinter

/// Put a STORE result under `dst` and answer its size, or delete `dst`
/// when the result is empty (Redis never stores an empty set).
fn store_result(ctx: &mut Ctx, dst: &[u8], result: SetValue, event: &str) {
    let size = result.len();
    if size > 0 {
        let obj = ctx.new_object(Value::Set(result));
        ctx.set_key(dst, obj, false);
        ctx.reply().int(size as i64);
        ctx.notify(SET, event, dst);
        ctx.dirty(1);
    } else {
        ctx.reply().int(0);
        if ctx.db().delete(dst).is_some() {
            ctx.dirty(1);
            ctx.signal_modified_key(dst);
            ctx.notify(GENERIC, "del", dst);
        }
    }
}

/// `SMEMBERS key`: Redis runs it as SINTER of one key.
fn smembers(ctx: &mut Ctx, args: Args) {
    sinter_generic(ctx, args, 1, args.len(), InterOutput::Reply);
}

fn sinter(ctx: &mut Ctx, args: Args) {
    sinter_generic(ctx, args, 1, args.len(), InterOutput::Reply);
}

fn sinterstore(ctx: &mut Ctx, args: Args) {
    sinter_generic(ctx, args, 2, args.len(), InterOutput::Store(&args[1]));
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`.
fn sintercard(ctx: &mut Ctx, args: Args) {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.reply().error("ERR numkeys should be greater than 0"),
    };
    if numkeys > args.len() - 2 {
        return ctx
            .reply()
            .error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if eq_ic(&args[j], "limit") && j + 1 < args.len() {
            j += 1;
            match parse_i64(&args[j]) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => return ctx.reply().error("ERR LIMIT can't be negative"),
            }
        } else {
            return ctx.reply().error(SYNTAX_ERR);
        }
        j += 1;
    }
    sinter_generic(ctx, args, 2, 2 + numkeys, InterOutput::Count(limit));
}

/// Every member of any of `sets`, in a new set that starts as an intset.
fn union_of(sets: &[&SetValue], max: usize) -> SetValue {
    let mut result = SetValue::Intset(Intset::new());
    for set in sets {
        for m in set.iter() {
            result.add_member(m, max);
        }
    }
    result
}

// ANCHOR: set_sdiff
/// SDIFF's two algorithms (Redis: `sunionDiffGenericCommand`):
///
/// 1. For each member of the first set, look it up in every other set:
///    `size(first) * number of sets` lookups. The other sets are tried
///    biggest first, where a member is most likely to be found.
/// 2. Copy the first set, then remove every member of every other set:
///    `total members of all sets` operations.
///
/// Redis estimates both and halves the first estimate (its lookups are
/// cheaper than insertions and removals): algorithm 1 unless
/// `size(first) * sets / 2 > total`. A missing first key, or any later key
/// naming the first set again, makes the answer empty.
fn diff_of(sets: &[Option<&SetValue>], max: usize) -> SetValue {
    let mut result = SetValue::Intset(Intset::new());
    let Some(first) = sets[0] else {
        return result;
    };
    let others: Vec<&SetValue> = sets[1..].iter().flatten().copied().collect();
    if others.iter().any(|s| std::ptr::eq(*s, first)) {
        return result;
    }
    let algo_one_work = (first.len() * (1 + others.len())) / 2;
    let algo_two_work = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if algo_one_work <= algo_two_work {
        let mut others = others;
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_member(m)) {
                result.add_member(m, max);
            }
        }
    } else {
        for m in first.iter() {
            result.add_member(m, max);
        }
        for set in others {
            for m in set.iter() {
                let mut scratch = [0u8; 20];
                result.remove(m.bytes(&mut scratch));
            }
            if result.is_empty() {
                break;
            }
        }
    }
    result
}
// ANCHOR_END: set_sdiff

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// SUNION, SDIFF and their STORE forms: build the result as a new set
/// (intset first), then reply with it or store it.
fn union_diff_generic(ctx: &mut Ctx, args: Args, first: usize, dst: Option<&[u8]>, op: SetOp) {
    let key_iter = || (first..args.len()).map(|i| args.get(i));
    if check_set_keys(ctx, key_iter()).is_err() {
        return ctx.wrong_type();
    }
    let max = max_intset(ctx);
    let result = {
        let db = ctx.client.db;
        let sets: Vec<Option<&SetValue>> =
            key_iter().map(|k| peek_set(ctx.server, db, k)).collect();
        match op {
            SetOp::Union => {
                let present: Vec<&SetValue> = sets.iter().flatten().copied().collect();
                union_of(&present, max)
            }
            SetOp::Diff => diff_of(&sets, max),
        }
    };
    match dst {
        None => reply_members(ctx.reply(), &result),
        Some(dst) => {
            let event = match op {
                SetOp::Union => "sunionstore",
                SetOp::Diff => "sdiffstore",
            };
            store_result(ctx, dst, result, event);
        }
    }
}

fn sunion(ctx: &mut Ctx, args: Args) {
    union_diff_generic(ctx, args, 1, None, SetOp::Union);
}

fn sunionstore(ctx: &mut Ctx, args: Args) {
    union_diff_generic(ctx, args, 2, Some(&args[1]), SetOp::Union);
}

fn sdiff(ctx: &mut Ctx, args: Args) {
    union_diff_generic(ctx, args, 1, None, SetOp::Diff);
}

fn sdiffstore(ctx: &mut Ctx, args: Args) {
    union_diff_generic(ctx, args, 2, Some(&args[1]), SetOp::Diff);
}

// ===========================================================================
// SSCAN
// ===========================================================================

// ANCHOR: set_sscan
/// `SSCAN key cursor [MATCH pattern] [COUNT count]`.
///
/// A hashtable set is walked with the dict's reverse-binary cursor, like
/// SCAN walks the keyspace (COUNT is a budget: stop after `count` members
/// or `10 × count` buckets). An intset has no buckets to resume from, and
/// is small by construction: the whole set comes back at once with cursor
/// 0, whatever the cursor and COUNT say. MATCH filters after the walk.
fn sscan(ctx: &mut Ctx, args: Args) {
    let Some(cursor) = super::keys::parse_scan_cursor(&args[2]) else {
        return ctx.reply().error("ERR invalid cursor");
    };
    let (obj, reply) = ctx.read_key(&args[1]);
    let set = match as_set(obj) {
        Err(()) => return reply.error(WRONGTYPE),
        Ok(None) => {
            reply.array(2);
            reply.bulk(b"0");
            return reply.array(0);
        }
        Ok(Some(set)) => set,
    };
    let super::keys::ScanOptions { count, pattern, .. } =
        match super::keys::parse_scan_options(&args, 3, false) {
            Ok(options) => options,
            Err(e) => return reply.error(e),
        };

    // Matching members, packed in one buffer: `ends[i]` is where the
    // i-th one stops.
    let mut bytes: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut keep = |member: &[u8]| {
        if pattern.is_none_or(|p| crate::glob::glob_match(p, member, false)) {
            bytes.extend_from_slice(member);
            ends.push(bytes.len());
        }
    };
    let next_cursor = match set {
        SetValue::Intset(is) => {
            for n in is.iter() {
                let mut scratch = [0u8; 20];
                keep(fmt_i64(&mut scratch, n));
            }
            0
        }
        SetValue::Table(d) => {
            let mut cursor = cursor;
            let mut seen = 0usize;
            let mut budget = count.saturating_mul(10);
            loop {
                cursor = d.scan(cursor, |member, _| {
                    seen += 1;
                    keep(member.as_bytes());
                });
                if cursor == 0 || budget == 0 || seen >= count as usize {
                    break;
                }
                budget -= 1;
            }
            cursor
        }
    };
    reply.array(2);
    reply.bulk_i64(next_cursor as i64);
    reply.array(ends.len());
    let mut start = 0;
    for end in ends {
        reply.bulk(&bytes[start..end]);
        start = end;
    }
}
// ANCHOR_END: set_sscan

#[cfg(test)]
mod tests {
    use super::*;

    fn members(set: &SetValue) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn an_intset_becomes_a_table_past_the_limit_and_on_a_string() {
        let mut s = SetValue::new_for(b"1");
        for i in 0..4 {
            assert!(s.add(i.to_string().as_bytes(), 4));
        }
        assert!(matches!(s, SetValue::Intset(_)));
        assert!(!s.add(b"3", 4), "a repeat changes nothing");
        assert!(s.add(b"4", 4));
        assert!(matches!(s, SetValue::Table(_)));
        assert_eq!(s.len(), 5);

        let mut t = SetValue::new_for(b"1");
        t.add(b"1", 512);
        t.add(b"01", 512);
        assert!(matches!(t, SetValue::Table(_)), "01 is not canonical");
        assert!(t.contains(b"1") && t.contains(b"01"));
        t.remove(b"01");
        assert!(matches!(t, SetValue::Table(_)), "never converts back");
    }

    #[test]
    fn a_first_member_that_is_not_an_integer_makes_a_table() {
        assert!(matches!(SetValue::new_for(b"a"), SetValue::Table(_)));
        assert!(matches!(SetValue::new_for(b"-0"), SetValue::Table(_)));
        assert!(matches!(
            SetValue::new_for(b"-9223372036854775808"),
            SetValue::Intset(_)
        ));
    }

    #[test]
    fn diff_uses_either_algorithm_with_the_same_answer() {
        let mut a = SetValue::new_for(b"x");
        for m in ["a", "b", "c", "1", "2"] {
            a.add(m.as_bytes(), 512);
        }
        let mut b = SetValue::new_for(b"1");
        b.add(b"1", 512);
        let mut big = SetValue::new_for(b"1");
        for i in 0..100 {
            big.add(i.to_string().as_bytes(), 512);
        }
        // Small others: algorithm 1; a huge other: algorithm 2.
        let d1 = diff_of(&[Some(&a), Some(&b), None], 512);
        assert_eq!(
            members(&d1),
            vec![b"2".to_vec(), b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        let d2 = diff_of(&[Some(&b), Some(&big)], 512);
        assert!(d2.is_empty());
        let d3 = diff_of(&[Some(&a), Some(&a)], 512);
        assert!(d3.is_empty(), "the same set twice");
    }

    #[test]
    fn atoi_reads_leading_digits_like_c() {
        assert_eq!(atoi(b"2x"), 2);
        assert_eq!(atoi(b" -3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }
}
