//! # Sorted sets: members ordered by score
//!
//! A sorted set maps each member (a binary string) to a score (a double)
//! and keeps the members in order of (score, member). `ZADD board 1500
//! alice` puts alice in her place; `ZRANGE board 0 9` reads the first ten
//! in order; `ZRANK board alice` says how many are before her.
//!
//! ## Two encodings, one order
//!
//! A small sorted set is a **listpack** (`src/listpack.rs`) of pairs:
//! `member, score, member, score, ...`, kept sorted by score and then by
//! member bytes. Every operation walks it, which is O(n) but n is at most
//! `zset-max-listpack-entries` (128) and the walk is over one contiguous
//! block of memory: faster in practice than chasing pointers.
//!
//! A big one is a **skiplist plus a dict** (`SortedTable`): the skiplist
//! (`src/skiplist.rs`) keeps the order and answers ranks and ranges in
//! O(log n); the dict maps member to score, so `ZSCORE` and the "is it
//! already there?" check of `ZADD` are O(1). Both hold every member.
//!
//! The conversion happens when an insert would make the listpack longer than
//! `zset-max-listpack-entries`, or a member longer than
//! `zset-max-listpack-value` (64 bytes) arrives. It is one-way for a key:
//! deleting members never shrinks a skiplist back. Only a *new* value
//! built by a command (`ZUNIONSTORE`, `ZINTERSTORE`, `ZDIFFSTORE`,
//! `ZRANGESTORE`) starts in the smallest encoding that fits its result.
//!
//! ## How a score is stored in the listpack
//!
//! As Redis's `d2string` writes it: a score that is an integer in
//! [-2^62, 2^62] is written as that integer (so the listpack stores it in
//! its compact integer encodings: `1500` takes 3 bytes), anything else as
//! the text `%.17g` prints (`1.5`, `1e+20`, `inf`, `-0`). Reading it back
//! is `strtod` of that text, which gives back exactly the same double:
//! 17 significant digits are enough for any double.
//!
//! ## The invariants
//!
//! 1. A listpack holds 2n entries, pairs in strictly increasing (score,
//!    member) order, no member twice, no NaN score.
//! 2. A `SortedTable`'s dict and skiplist hold the same members with the
//!    same scores (each has its own copy of the member).
//! 3. No sorted set is empty: the command that removes the last member
//!    deletes the key.
//!
//! ## The Redis C counterpart
//!
//! `src/t_zset.c` (Redis 7.0): `zsetAdd`, `zsetDel`, `zsetScore`,
//! `zsetRank`, `zsetConvert`, `zsetConvertToListpackIfNeeded`, the `zzl*`
//! listpack helpers, `zaddGenericCommand`, `zrangeGenericCommand` with its
//! result handlers, `zunionInterDiffGenericCommand`, `genericZpopCommand`,
//! `blockingGenericZpopCommand`, `zrandmemberWithCountCommand`; `scanGeneric
//! Command` in `src/db.c` for `ZSCAN`.
//!
//! ## What we simplified, and why
//!
//! * Redis's dict and skiplist share one sds per member (the dict's key
//!   *is* the node's `ele`). We keep two copies: sharing would need a
//!   reference count or raw pointers, and a student should be able to
//!   read `SortedTable` as two ordinary structures. The cost is one extra
//!   copy of every member of a big sorted set.
//! * Redis hands positions around as raw listpack pointers and skiplist
//!   nodes; here a [`Cursor`] is either a listpack offset or a skiplist
//!   `NodeId`, so one range loop serves both encodings.
//! * `ZDIFF` in Redis picks between two algorithms by estimated cost; both
//!   give the same answer, and we keep only the first (walk the first set,
//!   keep what no other set has).
//! * `ZRANDMEMBER` draws from our own random source, so its answers differ
//!   from Redis's draw for draw, as they would between two Redis servers.

use std::cmp::Ordering;
use std::time::Instant;

use crate::commands::keys::parse_scan_cursor;
use crate::commands::{arg_i64, eq_ic};
use crate::dict::Dict;
use crate::glob::glob_match;
use crate::listpack::{self, Listpack, LpPos, LpValue};
use crate::object::{RObj, SetValue, SortedTable, Value, ZSetValue};
use crate::resp::{fmt_g17, fmt_i64, parse_i64, Aggregate, Args, Deferred, Reply};
use crate::sds::Sds;
use crate::server::blocking::{parse_timeout, TimeoutReply};
use crate::server::command::{CommandDef, Group};
use crate::server::config::Config;
use crate::server::{notify_class, Ctx, NOT_FLOAT, SYNTAX_ERR, WRONGTYPE};
use crate::skiplist::{strtod, LexRange, NodeId, ScoreRange, Skiplist};

// ============================================================================
// Scores: parsing, storing, replying
// ============================================================================

/// Parses a score argument as Redis's `getDoubleFromObject` does: C's
/// `strtod` over the whole argument (so `0x10`, `1e3`, `inf` and `-inf`
/// are numbers), refusing a leading space, leftover bytes, NaN, and a
/// literal out of a double's range (`1e400`, `1e-400`: strtod sets
/// `ERANGE` and returns infinity or zero). A subnormal result such as
/// `4.9e-324` is accepted, as glibc returns it non-zero.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    let first = *arg.first()?;
    if matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (value, used) = strtod(arg);
    if used != arg.len() || value.is_nan() {
        return None;
    }
    let unsigned = arg
        .strip_prefix(b"-")
        .or_else(|| arg.strip_prefix(b"+"))
        .unwrap_or(arg);
    if value.is_infinite()
        && !unsigned
            .first()
            .is_some_and(|c| c.eq_ignore_ascii_case(&b'i'))
    {
        return None; // overflow
    }
    if value == 0.0 {
        let is_hex = unsigned.len() > 1 && unsigned[0] == b'0' && (unsigned[1] | 0x20) == b'x';
        let nonzero = if is_hex {
            let mantissa = unsigned[2..]
                .split(|c| c | 0x20 == b'p')
                .next()
                .unwrap_or(&[]);
            mantissa.iter().any(|c| c.is_ascii_hexdigit() && *c != b'0')
        } else {
            let mantissa = unsigned.split(|c| c | 0x20 == b'e').next().unwrap_or(&[]);
            mantissa.iter().any(|c| (b'1'..=b'9').contains(c))
        };
        if nonzero {
            return None; // underflow
        }
    }
    Some(value)
}

/// A score argument, or Redis's `value is not a valid float` error.
fn arg_score(reply: &mut Reply, arg: &[u8]) -> Option<f64> {
    let score = parse_score(arg);
    if score.is_none() {
        reply.error(NOT_FLOAT);
    }
    score
}

// ANCHOR: zset_score_text
/// The text Redis stores for a score in a listpack (`zzlInsertAt`): an
/// integer when the double is integral and within ±2^62 (Redis's
/// `double2ll` range), else `d2string`'s `%.17g`. `buf` receives the bytes.
///
/// The listpack then stores integer text as an integer entry, so scores
/// like 1500 cost 3 bytes, not a 4-byte string plus header.
fn score_text(score: f64, buf: &mut [u8; 32]) -> usize {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // 2^62, (double)(LLONG_MAX/2)
                                                    // `double2ll` first, as `zzlInsertAt` does: -0.0 is integral too, so
                                                    // it is stored as the integer 0 and reads back as +0.
    if (-LIMIT..=LIMIT).contains(&score) && (score as i64) as f64 == score {
        let mut digits = [0u8; 20];
        let s = fmt_i64(&mut digits, score as i64);
        buf[..s.len()].copy_from_slice(s);
        return s.len();
    }
    let text = fmt_g17(score); // also "inf" and "-inf", as d2string spells them
    buf[..text.len()].copy_from_slice(text.as_bytes());
    text.len()
}
// ANCHOR_END: zset_score_text

/// A score read back from its listpack entry (`zzlGetScore`): an integer
/// entry is that integer, a string entry is parsed by `strtod`.
fn lp_score(lp: &Listpack, pos: LpPos) -> f64 {
    match lp.get(pos) {
        LpValue::Int(v) => v as f64,
        LpValue::Str(s) => strtod(s).0,
    }
}

/// Replies a score as Redis's `addReplyDouble` (`%.17g`, as a bulk string
/// in RESP2 and a `,` double in RESP3). Integral scores, by far the most
/// common, are printed without going through the float formatter: for
/// them `%.17g` is just the integer's digits.
fn reply_score(reply: &mut Reply, score: f64) {
    if score.fract() == 0.0 && score.abs() < 1e15 && !(score == 0.0 && score.is_sign_negative()) {
        let n = score as i64;
        if reply.is_resp3() {
            let mut digits = [0u8; 20];
            reply.raw(b",");
            reply.raw(fmt_i64(&mut digits, n));
            reply.raw(b"\r\n");
        } else {
            reply.bulk_i64(n);
        }
    } else {
        reply.double(score);
    }
}

/// A member as the client gave it: integer entries of a listpack are
/// printed back in decimal (exact: only canonical integers are stored so).
fn reply_member(reply: &mut Reply, member: LpValue<'_>) {
    match member {
        LpValue::Int(n) => reply.bulk_i64(n),
        LpValue::Str(s) => reply.bulk(s),
    }
}

/// Runs `f` on a member's bytes, formatting an integer entry on the stack.
fn with_bytes<R>(member: LpValue<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match member {
        LpValue::Str(s) => f(s),
        LpValue::Int(n) => {
            let mut digits = [0u8; 20];
            f(fmt_i64(&mut digits, n))
        }
    }
}

fn sds_of(member: LpValue<'_>) -> Sds {
    match member {
        LpValue::Str(s) => Sds::new(s),
        LpValue::Int(n) => Sds::from_i64(n),
    }
}

// ============================================================================
// The sorted set type (t_zset.c's zset* API)
// ============================================================================

/// The two conversion thresholds, copied out of the config so that a
/// command can hold them while it borrows the keyspace.
#[derive(Clone, Copy, Debug)]
pub struct ZsetLimits {
    /// `zset-max-listpack-entries`: most members a listpack may hold.
    pub max_entries: usize,
    /// `zset-max-listpack-value`: longest member (bytes) a listpack may hold.
    pub max_value: usize,
}

impl ZsetLimits {
    pub fn from_config(config: &Config) -> ZsetLimits {
        ZsetLimits {
            max_entries: config.zset_max_listpack_entries,
            max_value: config.zset_max_listpack_value,
        }
    }
}

/// The options of `ZADD` (Redis: `ZADD_IN_*`).
pub mod add_flags {
    pub const INCR: u8 = 1 << 0;
    pub const NX: u8 = 1 << 1;
    pub const XX: u8 = 1 << 2;
    pub const GT: u8 = 1 << 3;
    pub const LT: u8 = 1 << 4;
}

/// What [`ZSetValue::add`] did (Redis: `ZADD_OUT_*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AddOutcome {
    /// A new member, with this score.
    Added(f64),
    /// An existing member's score changed to this.
    Updated(f64),
    /// The member was there with exactly this score already.
    Unchanged(f64),
    /// NX, XX, GT or LT said no: nothing was touched.
    Skipped,
    /// The increment made the score NaN (`inf` + `-inf`): nothing was touched.
    NotANumber,
}

/// A position in a sorted set, in either encoding: the offset of a
/// member's entry in the listpack (its score is the next entry), or a
/// skiplist node. Like the raw pointers Redis passes around, a cursor is
/// valid until the sorted set is next modified.
#[derive(Clone, Copy, Debug)]
pub enum Cursor {
    Lp(LpPos),
    Node(NodeId),
}

/// Compares a listpack member with `member` as `sdscmp` would compare the
/// two strings (bytewise, the shorter first when one is a prefix).
fn cmp_member(entry: LpValue<'_>, member: &[u8]) -> Ordering {
    with_bytes(entry, |bytes| bytes.cmp(member))
}

/// Finds `member` in a listpack of pairs: its entry and its score
/// (`zzlFind`). Only member entries are compared (`find` skips one entry
/// after each comparison), so a score can never be mistaken for a member.
fn lp_find(lp: &Listpack, member: &[u8]) -> Option<(LpPos, f64)> {
    let first = lp.first()?;
    let pos = lp.find(first, member, 1)?;
    let score_pos = lp.next(pos).expect("every member has a score");
    Some((pos, lp_score(lp, score_pos)))
}

// ANCHOR: zset_listpack_insert
/// Inserts a pair at its place in the order (`zzlInsert`): before the first
/// pair with a greater score, or an equal score and a greater member.
/// The caller knows the member is not there yet. O(n) to find the place,
/// and O(bytes) to open the gap: the price of one contiguous block.
fn lp_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let mut text = [0u8; 32];
    let len = score_text(score, &mut text);
    let mut pos = lp.first();
    while let Some(member_pos) = pos {
        let score_pos = lp.next(member_pos).expect("every member has a score");
        let here = lp_score(lp, score_pos);
        if here > score
            || (here == score && cmp_member(lp.get(member_pos), member) == Ordering::Greater)
        {
            let at = lp.insert_before(member_pos, member);
            lp.insert_after(at, &text[..len]);
            return;
        }
        pos = lp.next(score_pos);
    }
    lp.push_back(member);
    lp.push_back(&text[..len]);
}
// ANCHOR_END: zset_listpack_insert

impl SortedTable {
    fn new() -> SortedTable {
        SortedTable {
            dict: Dict::new(),
            list: Skiplist::new(),
        }
    }

    /// Adds a member known to be absent to both structures.
    fn insert_new(&mut self, member: &[u8], score: f64) {
        self.list.insert(score, Sds::new(member));
        self.dict.insert(Sds::new(member), score);
    }

    /// Removes `member` from both structures (`zsetRemoveFromSkiplist`),
    /// shrinking the dict when it has become sparse, as `zsetDel` does.
    fn remove(&mut self, member: &[u8]) -> bool {
        let Some((member, score)) = self.dict.remove(member) else {
            return false;
        };
        self.list.delete(score, &member);
        if self.dict.needs_shrink() {
            self.dict.shrink_to_fit();
        }
        true
    }
}

impl ZSetValue {
    /// An empty listpack-encoded sorted set (`createZsetListpackObject`).
    pub fn new_listpack() -> ZSetValue {
        ZSetValue::Listpack(Listpack::new())
    }

    /// An empty skiplist-encoded sorted set (`createZsetObject`).
    pub fn new_skiplist() -> ZSetValue {
        ZSetValue::Skiplist(Box::new(SortedTable::new()))
    }

    /// The encoding ZADD creates a key in, knowing its first member: a
    /// skiplist right away if listpacks are disabled (`entries 0`) or the
    /// member is already too long for one.
    pub fn for_first_member(member_len: usize, limits: ZsetLimits) -> ZSetValue {
        if limits.max_entries == 0 || member_len > limits.max_value {
            ZSetValue::new_skiplist()
        } else {
            ZSetValue::new_listpack()
        }
    }

    /// Number of members (`zsetLength`). The listpack's header counts
    /// entries, two per member.
    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.len() / 2,
            ZSetValue::Skiplist(t) => t.list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `member`, if present (`zsetScore`).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp_find(lp, member).map(|(_, score)| score),
            ZSetValue::Skiplist(t) => t.dict.get(member).copied(),
        }
    }

    // ANCHOR: zset_convert
    /// Listpack to skiplist + dict (`zsetConvert` to `OBJ_ENCODING_SKIPLIST`).
    /// The pairs come out of the listpack in order, so each skiplist insert
    /// lands at the end of the list.
    pub fn convert_to_skiplist(&mut self) {
        let ZSetValue::Listpack(lp) = self else {
            return;
        };
        let mut table = SortedTable::new();
        let mut pos = lp.first();
        while let Some(member_pos) = pos {
            let score_pos = lp.next(member_pos).expect("every member has a score");
            let score = lp_score(lp, score_pos);
            let member = lp.get(member_pos);
            table.list.insert(score, sds_of(member));
            table.dict.insert(sds_of(member), score);
            pos = lp.next(score_pos);
        }
        *self = ZSetValue::Skiplist(Box::new(table));
    }

    /// Skiplist + dict to listpack, if the result would be within both
    /// thresholds (`zsetConvertToListpackIfNeeded`). Only the commands that
    /// build a new sorted set call it; `maxelelen` and `totelelen` are the
    /// longest member and the members' total length, which they tracked.
    pub fn convert_to_listpack_if_fits(
        &mut self,
        maxelelen: usize,
        totelelen: usize,
        limits: ZsetLimits,
    ) {
        let ZSetValue::Skiplist(table) = self else {
            return;
        };
        if table.list.len() > limits.max_entries
            || maxelelen > limits.max_value
            || !listpack::safe_to_add(None, totelelen)
        {
            return;
        }
        let mut lp = Listpack::new();
        let mut text = [0u8; 32];
        for (score, member) in table.list.iter() {
            lp.push_back(member);
            let len = score_text(score, &mut text);
            lp.push_back(&text[..len]);
        }
        *self = ZSetValue::Listpack(lp);
    }
    // ANCHOR_END: zset_convert

    // ANCHOR: zset_add
    /// Adds `member` or updates its score, as `ZADD` with `flags`
    /// ([`add_flags`]) asks (Redis: `zsetAdd`). With `INCR`, `score` is an
    /// increment.
    ///
    /// Every outcome:
    /// - the member exists and NX is set: `Skipped`;
    /// - it exists and the increment gives NaN: `NotANumber`;
    /// - it exists, GT/LT refuse the new score: `Skipped`;
    /// - it exists with that very score: `Unchanged`;
    /// - it exists otherwise: moved to its new place, `Updated`;
    /// - it is absent and XX is set: `Skipped`;
    /// - it is absent: inserted, `Added`. A listpack that would break a
    ///   threshold by taking it is converted to a skiplist first.
    pub fn add(&mut self, score: f64, member: &[u8], flags: u8, limits: ZsetLimits) -> AddOutcome {
        use add_flags::*;
        let (incr, nx, xx, gt, lt) = (
            flags & INCR != 0,
            flags & NX != 0,
            flags & XX != 0,
            flags & GT != 0,
            flags & LT != 0,
        );
        if score.is_nan() {
            return AddOutcome::NotANumber;
        }
        // Where the member is and its current score, if present.
        let current = match self {
            ZSetValue::Listpack(lp) => lp_find(lp, member).map(|(_, s)| s),
            ZSetValue::Skiplist(t) => t.dict.get(member).copied(),
        };
        let Some(current) = current else {
            if xx {
                return AddOutcome::Skipped;
            }
            if let ZSetValue::Listpack(lp) = self {
                if lp.len() / 2 + 1 > limits.max_entries
                    || member.len() > limits.max_value
                    || !listpack::safe_to_add(Some(lp), member.len())
                {
                    self.convert_to_skiplist();
                }
            }
            match self {
                ZSetValue::Listpack(lp) => lp_insert(lp, member, score),
                ZSetValue::Skiplist(t) => t.insert_new(member, score),
            }
            return AddOutcome::Added(score);
        };
        if nx {
            return AddOutcome::Skipped;
        }
        let new_score = if incr { current + score } else { score };
        if new_score.is_nan() {
            return AddOutcome::NotANumber;
        }
        if (lt && new_score >= current) || (gt && new_score <= current) {
            return AddOutcome::Skipped;
        }
        if new_score == current {
            return AddOutcome::Unchanged(new_score);
        }
        match self {
            ZSetValue::Listpack(lp) => {
                let (pos, _) = lp_find(lp, member).expect("found above");
                lp.delete(pos);
                lp.delete(pos);
                lp_insert(lp, member, new_score);
            }
            ZSetValue::Skiplist(t) => {
                t.list.update_score(current, member, new_score);
                *t.dict.get_mut(member).expect("found above") = new_score;
            }
        }
        AddOutcome::Updated(new_score)
    }
    // ANCHOR_END: zset_add

    /// Removes `member`; true if it was there (`zsetDel`).
    pub fn delete(&mut self, member: &[u8]) -> bool {
        match self {
            ZSetValue::Listpack(lp) => match lp_find(lp, member) {
                Some((pos, _)) => {
                    lp.delete(pos);
                    lp.delete(pos);
                    true
                }
                None => false,
            },
            ZSetValue::Skiplist(t) => t.remove(member),
        }
    }

    // ANCHOR: zset_rank
    /// The 0-based rank of `member`, counted from the lowest score, or from
    /// the highest when `reverse` (`zsetRank`). A listpack is walked; a
    /// skiplist looks the score up in the dict, then sums spans down the
    /// skiplist: O(log n).
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let len = self.len();
        let rank = match self {
            ZSetValue::Listpack(lp) => {
                let mut pos = lp.first();
                let mut rank = 0;
                loop {
                    let member_pos = pos?;
                    if lp.get(member_pos).eq_bytes(member) {
                        break rank;
                    }
                    rank += 1;
                    pos = lp.next(member_pos).and_then(|s| lp.next(s));
                }
            }
            ZSetValue::Skiplist(t) => {
                let score = *t.dict.get(member)?;
                t.list.rank(score, member).expect("dict and skiplist agree") - 1
            }
        };
        Some(if reverse { len - 1 - rank } else { rank })
    }
    // ANCHOR_END: zset_rank

    // -- cursors ----------------------------------------------------------

    /// The member and score at a cursor.
    pub fn entry(&self, at: Cursor) -> (LpValue<'_>, f64) {
        match (self, at) {
            (ZSetValue::Listpack(lp), Cursor::Lp(pos)) => {
                let score_pos = lp.next(pos).expect("every member has a score");
                (lp.get(pos), lp_score(lp, score_pos))
            }
            (ZSetValue::Skiplist(t), Cursor::Node(id)) => {
                (LpValue::Str(t.list.member(id)), t.list.score(id))
            }
            _ => panic!("a cursor of the other encoding"),
        }
    }

    /// The next member in order, or the previous one when `reverse`.
    pub fn step(&self, at: Cursor, reverse: bool) -> Option<Cursor> {
        match (self, at) {
            (ZSetValue::Listpack(lp), Cursor::Lp(pos)) => if reverse {
                lp.prev(pos).and_then(|score_pos| lp.prev(score_pos))
            } else {
                lp.next(pos).and_then(|score_pos| lp.next(score_pos))
            }
            .map(Cursor::Lp),
            (ZSetValue::Skiplist(t), Cursor::Node(id)) => if reverse {
                t.list.prev(id)
            } else {
                t.list.next(id)
            }
            .map(Cursor::Node),
            _ => panic!("a cursor of the other encoding"),
        }
    }

    /// The member at 0-based `rank`, counted from the end when `reverse`.
    /// A listpack seeks (from whichever end is nearer); a skiplist starts
    /// at an end for rank 0, else descends by spans (`zslGetElementByRank`).
    pub fn at_rank(&self, rank: usize, reverse: bool) -> Option<Cursor> {
        match self {
            ZSetValue::Listpack(lp) => {
                let index = if reverse {
                    -2 - 2 * rank as i64
                } else {
                    2 * rank as i64
                };
                lp.seek(index).map(Cursor::Lp)
            }
            ZSetValue::Skiplist(t) => {
                let len = t.list.len();
                if rank >= len {
                    return None;
                }
                let node = match (rank, reverse) {
                    (0, false) => t.list.first(),
                    (0, true) => t.list.last(),
                    (_, false) => t.list.by_rank(rank + 1),
                    (_, true) => t.list.by_rank(len - rank),
                };
                node.map(Cursor::Node)
            }
        }
    }

    /// Walks from one end while `before` says the member is before the
    /// range; the first that is not is the candidate.
    fn lp_walk(
        &self,
        reverse: bool,
        mut before: impl FnMut(LpValue<'_>, f64) -> bool,
    ) -> Option<Cursor> {
        let mut at = self.at_rank(0, reverse);
        while let Some(c) = at {
            let (member, score) = self.entry(c);
            if !before(member, score) {
                return Some(c);
            }
            at = self.step(c, reverse);
        }
        None
    }

    /// The lowest member whose score is in `range` (`zzlFirstInRange`,
    /// `zslFirstInRange`). The listpack is walked from the front; the
    /// skiplist descends its levels.
    pub fn first_in_range(&self, range: &ScoreRange) -> Option<Cursor> {
        match self {
            ZSetValue::Listpack(_) => {
                if range.is_empty() {
                    return None;
                }
                let c = self.lp_walk(false, |_, score| !range.value_gte_min(score))?;
                range.value_lte_max(self.entry(c).1).then_some(c)
            }
            ZSetValue::Skiplist(t) => t.list.first_in_range(range).map(Cursor::Node),
        }
    }

    /// The highest member whose score is in `range`.
    pub fn last_in_range(&self, range: &ScoreRange) -> Option<Cursor> {
        match self {
            ZSetValue::Listpack(_) => {
                if range.is_empty() {
                    return None;
                }
                let c = self.lp_walk(true, |_, score| !range.value_lte_max(score))?;
                range.value_gte_min(self.entry(c).1).then_some(c)
            }
            ZSetValue::Skiplist(t) => t.list.last_in_range(range).map(Cursor::Node),
        }
    }

    /// The lowest member inside the lex `range`.
    pub fn first_in_lex_range(&self, range: &LexRange) -> Option<Cursor> {
        match self {
            ZSetValue::Listpack(_) => {
                if range.is_empty() {
                    return None;
                }
                let c = self.lp_walk(false, |m, _| !with_bytes(m, |b| range.value_gte_min(b)))?;
                with_bytes(self.entry(c).0, |b| range.value_lte_max(b)).then_some(c)
            }
            ZSetValue::Skiplist(t) => t.list.first_in_lex_range(range).map(Cursor::Node),
        }
    }

    /// The highest member inside the lex `range`.
    pub fn last_in_lex_range(&self, range: &LexRange) -> Option<Cursor> {
        match self {
            ZSetValue::Listpack(_) => {
                if range.is_empty() {
                    return None;
                }
                let c = self.lp_walk(true, |m, _| !with_bytes(m, |b| range.value_lte_max(b)))?;
                with_bytes(self.entry(c).0, |b| range.value_gte_min(b)).then_some(c)
            }
            ZSetValue::Skiplist(t) => t.list.last_in_lex_range(range).map(Cursor::Node),
        }
    }

    /// Members in order with their scores.
    pub fn iter(&self) -> impl Iterator<Item = (LpValue<'_>, f64)> + '_ {
        std::iter::successors(self.at_rank(0, false), move |&c| self.step(c, false))
            .map(move |c| self.entry(c))
    }

    /// Members from the highest score down. The set operations read their
    /// inputs this way, as Redis's `zuiInitIterator` does (inserting in
    /// descending order puts each new node at the head of the result).
    pub fn iter_rev(&self) -> impl Iterator<Item = (LpValue<'_>, f64)> + '_ {
        std::iter::successors(self.at_rank(0, true), move |&c| self.step(c, true))
            .map(move |c| self.entry(c))
    }

    /// The 0-based rank of the member at a cursor.
    fn rank_of(&self, at: Cursor) -> usize {
        match (self, at) {
            (ZSetValue::Skiplist(t), Cursor::Node(id)) => {
                t.list
                    .rank(t.list.score(id), t.list.member(id))
                    .expect("a live node")
                    - 1
            }
            (ZSetValue::Listpack(lp), Cursor::Lp(pos)) => {
                lp.positions().take_while(|&p| p != pos).count() / 2
            }
            _ => panic!("a cursor of the other encoding"),
        }
    }

    /// Deletes the members with 0-based ranks `start..=end` (both valid).
    fn delete_rank_range(&mut self, start: usize, end: usize) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.delete_range(2 * start as i64, 2 * (end - start + 1)) / 2,
            ZSetValue::Skiplist(t) => {
                let SortedTable { dict, list } = &mut **t;
                let n = list.delete_range_by_rank(start + 1, end + 1, |m| {
                    dict.remove(m);
                });
                if dict.needs_shrink() {
                    dict.shrink_to_fit();
                }
                n
            }
        }
    }

    /// Deletes every member whose score is in `range`.
    fn delete_score_range(&mut self, range: &ScoreRange) -> usize {
        if let ZSetValue::Skiplist(t) = self {
            let SortedTable { dict, list } = &mut **t;
            let n = list.delete_range_by_score(range, |m| {
                dict.remove(m);
            });
            if dict.needs_shrink() {
                dict.shrink_to_fit();
            }
            return n;
        }
        let Some(first) = self.first_in_range(range) else {
            return 0;
        };
        let start = self.rank_of(first);
        let mut count = 0;
        let mut at = Some(first);
        while let Some(c) = at {
            if !range.value_lte_max(self.entry(c).1) {
                break;
            }
            count += 1;
            at = self.step(c, false);
        }
        self.delete_rank_range(start, start + count - 1)
    }

    /// Deletes every member inside the lex `range`.
    fn delete_lex_range(&mut self, range: &LexRange) -> usize {
        if let ZSetValue::Skiplist(t) = self {
            let SortedTable { dict, list } = &mut **t;
            let n = list.delete_range_by_lex(range, |m| {
                dict.remove(m);
            });
            if dict.needs_shrink() {
                dict.shrink_to_fit();
            }
            return n;
        }
        let Some(first) = self.first_in_lex_range(range) else {
            return 0;
        };
        let start = self.rank_of(first);
        let mut count = 0;
        let mut at = Some(first);
        while let Some(c) = at {
            if !with_bytes(self.entry(c).0, |b| range.value_lte_max(b)) {
                break;
            }
            count += 1;
            at = self.step(c, false);
        }
        self.delete_rank_range(start, start + count - 1)
    }

    /// Removes and returns the lowest (or highest) member and its score.
    fn pop(&mut self, max: bool) -> Option<(Sds, f64)> {
        match self {
            ZSetValue::Listpack(lp) => {
                let pos = lp.seek(if max { -2 } else { 0 })?;
                let member = sds_of(lp.get(pos));
                let score = lp_score(lp, lp.next(pos).expect("a score"));
                lp.delete_range(if max { -2 } else { 0 }, 2);
                Some((member, score))
            }
            ZSetValue::Skiplist(t) => {
                let id = if max { t.list.last() } else { t.list.first() }?;
                let (member, score) = t.dict.remove(t.list.member(id)).expect("in the dict");
                t.list.delete(score, &member);
                if t.dict.needs_shrink() {
                    t.dict.shrink_to_fit();
                }
                Some((member, score))
            }
        }
    }
}

/// The sorted set in an object, or `None` for another type.
fn as_zset(obj: &mut RObj) -> Option<&mut ZSetValue> {
    match &mut obj.value {
        Value::ZSet(z) => Some(z),
        _ => None,
    }
}

// ============================================================================
// The command table
// ============================================================================

/// Key positions of a `numkeys key [key ...]` command whose `numkeys` is
/// argument `at`, plus the destination key at 1 when `with_destination`.
fn numkeys_keys(args: Args, at: usize, with_destination: bool) -> Vec<usize> {
    let mut keys = Vec::new();
    if with_destination && args.len() > 1 {
        keys.push(1);
    }
    if at >= args.len() {
        return keys;
    }
    let Some(n) = parse_i64(args.get(at)) else {
        return keys;
    };
    if n < 1 || n as u64 > (args.len() - at - 1) as u64 {
        return keys;
    }
    keys.extend(at + 1..at + 1 + n as usize);
    keys
}

fn keys_numkeys_at_1(args: Args) -> Vec<usize> {
    numkeys_keys(args, 1, false)
}

fn keys_numkeys_at_2(args: Args) -> Vec<usize> {
    numkeys_keys(args, 2, false)
}

fn keys_store_numkeys_at_2(args: Args) -> Vec<usize> {
    numkeys_keys(args, 2, true)
}

/// The flags are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "zadd",
        arity: -4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary:
            "Adds members with scores, or updates their scores; NX, XX, GT, LT, CH and INCR refine it.",
        run: zadd,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zincrby",
        arity: 4,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Adds an increment to a member's score, adding the member if needed.",
        run: zincrby,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrem",
        arity: -3,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Removes members from a sorted set.",
        run: zrem,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zcard",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Returns the number of members of a sorted set.",
        run: zcard,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zscore",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Returns the score of a member.",
        run: zscore,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zmscore",
        arity: -3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Returns the scores of several members.",
        run: zmscore,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrank",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Returns a member's 0-based position, lowest score first.",
        run: zrank,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrevrank",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Returns a member's 0-based position, highest score first.",
        run: zrevrank,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zcount",
        arity: 4,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Counts the members with scores in a range.",
        run: zcount,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zlexcount",
        arity: 4,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.9",
        summary: "Counts the members in a lexicographic range.",
        run: zlexcount,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrange",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Returns members by rank, score or lexicographic range, in either direction.",
        run: zrange,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrangestore",
        arity: -5,
        flags: "write denyoom",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "6.2.0",
        summary: "Stores a range of a sorted set (as ZRANGE selects it) in another key.",
        run: zrangestore,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrevrange",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Returns members by rank, highest score first.",
        run: zrevrange,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrangebyscore",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.5",
        summary: "Returns members with scores in a range, lowest first.",
        run: zrangebyscore,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrevrangebyscore",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Returns members with scores in a range, highest first.",
        run: zrevrangebyscore,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrangebylex",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.9",
        summary: "Returns members in a lexicographic range.",
        run: zrangebylex,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrevrangebylex",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.9",
        summary: "Returns members in a lexicographic range, in reverse order.",
        run: zrevrangebylex,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zremrangebyrank",
        arity: 4,
        flags: "write",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Removes the members with ranks in a range.",
        run: zremrangebyrank,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zremrangebyscore",
        arity: 4,
        flags: "write",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.2.0",
        summary: "Removes the members with scores in a range.",
        run: zremrangebyscore,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zremrangebylex",
        arity: 4,
        flags: "write",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.9",
        summary: "Removes the members in a lexicographic range.",
        run: zremrangebylex,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zpopmin",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "5.0.0",
        summary: "Removes and returns the members with the lowest scores.",
        run: zpopmin,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zpopmax",
        arity: -2,
        flags: "write fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "5.0.0",
        summary: "Removes and returns the members with the highest scores.",
        run: zpopmax,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "bzpopmin",
        arity: -3,
        flags: "write noscript blocking fast",
        first_key: 1,
        last_key: -2,
        key_step: 1,
        since: "5.0.0",
        summary:
            "Pops the lowest-scored member of the first non-empty sorted set, waiting if all are empty.",
        run: bzpopmin,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "bzpopmax",
        arity: -3,
        flags: "write noscript blocking fast",
        first_key: 1,
        last_key: -2,
        key_step: 1,
        since: "5.0.0",
        summary:
            "Pops the highest-scored member of the first non-empty sorted set, waiting if all are empty.",
        run: bzpopmax,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zmpop",
        arity: -4,
        flags: "write",
        since: "7.0.0",
        summary: "Pops members from the first non-empty sorted set of several.",
        run: zmpop,
        get_keys: Some(keys_numkeys_at_1),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "bzmpop",
        arity: -5,
        flags: "write blocking",
        since: "7.0.0",
        summary:
            "Pops members from the first non-empty sorted set of several, waiting if all are empty.",
        run: bzmpop,
        get_keys: Some(keys_numkeys_at_2),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zrandmember",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Returns random members, distinct or not, optionally with scores.",
        run: zrandmember,
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zunion",
        arity: -3,
        flags: "readonly",
        since: "6.2.0",
        summary: "Returns the union of sorted sets (and sets), with weights and an aggregate.",
        run: zunion,
        get_keys: Some(keys_numkeys_at_1),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zinter",
        arity: -3,
        flags: "readonly",
        since: "6.2.0",
        summary:
            "Returns the intersection of sorted sets (and sets), with weights and an aggregate.",
        run: zinter,
        get_keys: Some(keys_numkeys_at_1),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zdiff",
        arity: -3,
        flags: "readonly",
        since: "6.2.0",
        summary: "Returns the members of the first sorted set found in none of the others.",
        run: zdiff,
        get_keys: Some(keys_numkeys_at_1),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zunionstore",
        arity: -4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Stores the union of sorted sets (and sets) in a key.",
        run: zunionstore,
        get_keys: Some(keys_store_numkeys_at_2),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zinterstore",
        arity: -4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.0.0",
        summary: "Stores the intersection of sorted sets (and sets) in a key.",
        run: zinterstore,
        get_keys: Some(keys_store_numkeys_at_2),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zdiffstore",
        arity: -4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Stores the difference of sorted sets in a key.",
        run: zdiffstore,
        get_keys: Some(keys_store_numkeys_at_2),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zintercard",
        arity: -3,
        flags: "readonly",
        since: "7.0.0",
        summary: "Counts the members of an intersection, optionally stopping at a limit.",
        run: zintercard,
        get_keys: Some(keys_numkeys_at_1),
        ..CommandDef::base(Group::SortedSet)
    },
    CommandDef {
        name: "zscan",
        arity: -3,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.0",
        summary: "Iterates over members and scores with a cursor.",
        run: zscan,
        ..CommandDef::base(Group::SortedSet)
    },
];

// ============================================================================
// ZADD, ZINCRBY, ZREM
// ============================================================================

pub(crate) fn zadd(ctx: &mut Ctx, args: Args) {
    zadd_generic(ctx, args, 0);
}

fn zincrby(ctx: &mut Ctx, args: Args) {
    zadd_generic(ctx, args, add_flags::INCR);
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`,
/// and `ZINCRBY key increment member` (Redis: `zaddGenericCommand`).
///
/// The whole command is checked before anything changes: the options,
/// their conflicts, the pairing, and every score. Then the key is found
/// or created (in the encoding its first member fits), and each pair is
/// applied. The reply is the number added (or added + updated with CH),
/// or, with INCR, the new score (nil if NX/XX/GT/LT refused it).
fn zadd_generic(ctx: &mut Ctx, args: Args, mut flags: u8) {
    use add_flags::*;
    let key = args.get(1);
    let mut ch = false;
    let mut first = 2;
    while first < args.len() {
        let opt = args.get(first);
        match () {
            _ if eq_ic(opt, "nx") => flags |= NX,
            _ if eq_ic(opt, "xx") => flags |= XX,
            _ if eq_ic(opt, "ch") => ch = true,
            _ if eq_ic(opt, "incr") => flags |= INCR,
            _ if eq_ic(opt, "gt") => flags |= GT,
            _ if eq_ic(opt, "lt") => flags |= LT,
            _ => break,
        }
        first += 1;
    }
    let rest = args.len() - first;
    if rest == 0 || !rest.is_multiple_of(2) {
        ctx.client.reply.error(SYNTAX_ERR);
        return;
    }
    let pairs = rest / 2;
    let has = |f: u8| flags & f != 0;
    if has(NX) && has(XX) {
        ctx.client
            .reply
            .err("XX and NX options at the same time are not compatible");
        return;
    }
    if (has(GT) && has(NX)) || (has(LT) && has(NX)) || (has(GT) && has(LT)) {
        ctx.client
            .reply
            .err("GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if has(INCR) && pairs > 1 {
        ctx.client
            .reply
            .err("INCR option supports a single increment-element pair");
        return;
    }
    // All or nothing: every score must parse before the first is applied.
    // (Parsed twice rather than kept in a Vec: no allocation per command.)
    for j in 0..pairs {
        if arg_score(&mut ctx.client.reply, args.get(first + 2 * j)).is_none() {
            return;
        }
    }

    let limits = ZsetLimits::from_config(&ctx.server.config);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut created = false;
    let zset: &mut ZSetValue = match ctx.server.lookup_write(db, key, now) {
        Some(obj) => match as_zset(obj) {
            Some(z) => z,
            None => {
                ctx.client.reply.error(WRONGTYPE);
                return;
            }
        },
        None if has(XX) => {
            // Nothing to update, and XX never creates.
            if has(INCR) {
                ctx.client.reply.null();
            } else {
                ctx.client.reply.int(0);
            }
            return;
        }
        None => {
            let value = ZSetValue::for_first_member(args.get(first + 1).len(), limits);
            let obj = ctx.new_object(Value::ZSet(Box::new(value)));
            ctx.server.dbs[db].add(key, obj);
            created = true;
            let obj = ctx.server.dbs[db].get_mut(key).expect("just added");
            as_zset(obj).expect("just added")
        }
    };

    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last_score = 0.0;
    let mut nan = false;
    for j in 0..pairs {
        let score = parse_score(args.get(first + 2 * j)).expect("checked above");
        let member = args.get(first + 2 * j + 1);
        match zset.add(score, member, flags, limits) {
            AddOutcome::Added(s) => (added, processed, last_score) = (added + 1, processed + 1, s),
            AddOutcome::Updated(s) => {
                (updated, processed, last_score) = (updated + 1, processed + 1, s)
            }
            AddOutcome::Unchanged(s) => (processed, last_score) = (processed + 1, s),
            AddOutcome::Skipped => {}
            AddOutcome::NotANumber => {
                nan = true;
                break;
            }
        }
    }
    let reply = &mut ctx.client.reply;
    if nan {
        reply.err("resulting score is not a number (NaN)");
    } else {
        ctx.server.dirty += (added + updated) as u64;
        if has(INCR) {
            if processed > 0 {
                reply_score(reply, last_score);
            } else {
                reply.null();
            }
        } else {
            reply.int(if ch { added + updated } else { added });
        }
    }
    if added > 0 || updated > 0 {
        ctx.signal_modified_key(key);
        let event = if has(INCR) { "zincr" } else { "zadd" };
        ctx.notify(notify_class::ZSET, event, key);
    }
    if created {
        // A client may be parked in BZPOPMIN on this key.
        ctx.signal_key_as_ready(key);
    }
}

/// `ZREM key member [member ...]`: how many were removed. The key goes
/// with its last member.
fn zrem(ctx: &mut Ctx, args: Args) {
    let key = args.get(1);
    let (deleted, emptied) = {
        let (obj, reply) = ctx.write_key(key);
        let Some(obj) = obj else {
            reply.int(0);
            return;
        };
        let Some(zset) = as_zset(obj) else {
            reply.error(WRONGTYPE);
            return;
        };
        let mut deleted = 0;
        for member in args.iter().skip(2) {
            if zset.delete(member) {
                deleted += 1;
            }
            if zset.is_empty() {
                break;
            }
        }
        reply.int(deleted);
        (deleted, zset.is_empty())
    };
    if deleted > 0 {
        ctx.notify(notify_class::ZSET, "zrem", key);
        if emptied {
            delete_emptied(ctx, key);
        }
        ctx.signal_modified_key(key);
        ctx.dirty(deleted as u64);
    }
}

/// The key's last member is gone: the key goes too, with a `del` event.
fn delete_emptied(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.client.db;
    ctx.server.dbs[db].delete(key);
    ctx.notify(notify_class::GENERIC, "del", key);
}

// ============================================================================
// Reading single members: ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK
// ============================================================================

fn zcard(ctx: &mut Ctx, args: Args) {
    match ctx.read_key(args.get(1)) {
        (None, reply) => reply.int(0),
        (Some(obj), reply) => match as_zset(obj) {
            Some(z) => reply.int(z.len() as i64),
            None => reply.error(WRONGTYPE),
        },
    }
}

fn zscore(ctx: &mut Ctx, args: Args) {
    match ctx.read_key(args.get(1)) {
        (None, reply) => reply.null(),
        (Some(obj), reply) => match as_zset(obj) {
            Some(z) => match z.score(args.get(2)) {
                Some(score) => reply_score(reply, score),
                None => reply.null(),
            },
            None => reply.error(WRONGTYPE),
        },
    }
}

/// `ZMSCORE key member [member ...]`: a missing key reads as empty.
fn zmscore(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(args.get(1));
    let zset = match obj {
        None => None,
        Some(obj) => match as_zset(obj) {
            Some(z) => Some(&*z),
            None => {
                reply.error(WRONGTYPE);
                return;
            }
        },
    };
    reply.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match zset.and_then(|z| z.score(member)) {
            Some(score) => reply_score(reply, score),
            None => reply.null(),
        }
    }
}

fn zrank(ctx: &mut Ctx, args: Args) {
    rank_generic(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx, args: Args) {
    rank_generic(ctx, args, true);
}

fn rank_generic(ctx: &mut Ctx, args: Args, reverse: bool) {
    match ctx.read_key(args.get(1)) {
        (None, reply) => reply.null(),
        (Some(obj), reply) => match as_zset(obj) {
            Some(z) => match z.rank(args.get(2), reverse) {
                Some(rank) => reply.int(rank as i64),
                None => reply.null(),
            },
            None => reply.error(WRONGTYPE),
        },
    }
}

// ============================================================================
// Counting ranges: ZCOUNT ZLEXCOUNT
// ============================================================================

/// `ZCOUNT key min max`. On a skiplist the count is the difference of two
/// ranks, found in O(log n) each; a listpack is walked.
fn zcount(ctx: &mut Ctx, args: Args) {
    let Some(range) = ScoreRange::parse(args.get(2), args.get(3)) else {
        ctx.client.reply.err("min or max is not a float");
        return;
    };
    count_generic(ctx, args, |z| {
        let first = z.first_in_range(&range)?;
        Some(match z {
            ZSetValue::Skiplist(_) => {
                let last = z.last_in_range(&range).expect("first exists");
                z.rank_of(last) - z.rank_of(first) + 1
            }
            ZSetValue::Listpack(_) => std::iter::successors(Some(first), |&c| z.step(c, false))
                .take_while(|&c| range.value_lte_max(z.entry(c).1))
                .count(),
        })
    });
}

fn zlexcount(ctx: &mut Ctx, args: Args) {
    let Some(range) = LexRange::parse(args.get(2), args.get(3)) else {
        ctx.client
            .reply
            .err("min or max not valid string range item");
        return;
    };
    count_generic(ctx, args, |z| {
        let first = z.first_in_lex_range(&range)?;
        Some(match z {
            ZSetValue::Skiplist(_) => {
                let last = z.last_in_lex_range(&range).expect("first exists");
                z.rank_of(last) - z.rank_of(first) + 1
            }
            ZSetValue::Listpack(_) => std::iter::successors(Some(first), |&c| z.step(c, false))
                .take_while(|&c| with_bytes(z.entry(c).0, |b| range.value_lte_max(b)))
                .count(),
        })
    });
}

fn count_generic(ctx: &mut Ctx, args: Args, count: impl FnOnce(&ZSetValue) -> Option<usize>) {
    match ctx.read_key(args.get(1)) {
        (None, reply) => reply.int(0),
        (Some(obj), reply) => match as_zset(obj) {
            Some(z) => reply.int(count(z).unwrap_or(0) as i64),
            None => reply.error(WRONGTYPE),
        },
    }
}

// ============================================================================
// ZRANGE and its family
// ============================================================================

/// Where the members a range selects go (Redis: `zrange_result_handler`):
/// to the client as a reply, or into a new sorted set for ZRANGESTORE.
trait RangeSink {
    /// The count when known up front (rank ranges), else `None`.
    fn begin(&mut self, len: Option<usize>);
    fn emit(&mut self, member: LpValue<'_>, score: f64);
    fn finish(&mut self, count: usize);
}

/// Replies the members, with their scores if asked: a flat array in RESP2,
/// an array of [member, score] pairs in RESP3 (Redis cannot use a map: the
/// order matters).
struct ReplySink<'r> {
    reply: &'r mut Reply,
    withscores: bool,
    deferred: Option<Deferred>,
}

impl ReplySink<'_> {
    fn per_member(&self) -> usize {
        if self.withscores && !self.reply.is_resp3() {
            2
        } else {
            1
        }
    }
}

impl RangeSink for ReplySink<'_> {
    fn begin(&mut self, len: Option<usize>) {
        match len {
            Some(n) if n > 0 => self.reply.array(n * self.per_member()),
            _ => self.deferred = Some(self.reply.defer_len()),
        }
    }

    fn emit(&mut self, member: LpValue<'_>, score: f64) {
        if self.withscores && self.reply.is_resp3() {
            self.reply.array(2);
        }
        reply_member(self.reply, member);
        if self.withscores {
            reply_score(self.reply, score);
        }
    }

    fn finish(&mut self, count: usize) {
        if let Some(at) = self.deferred.take() {
            let n = count * self.per_member();
            self.reply.set_len(at, Aggregate::Array, n);
        }
    }
}

/// Builds ZRANGESTORE's result. It starts as a listpack unless the count is
/// known to exceed `zset-max-listpack-entries`, and converts as it grows
/// past a threshold, exactly as ZADD would (`zrangeResultBeginStore`).
struct StoreSink {
    zset: Option<ZSetValue>,
    limits: ZsetLimits,
}

impl RangeSink for StoreSink {
    fn begin(&mut self, len: Option<usize>) {
        self.zset = Some(match len {
            Some(n) if n > self.limits.max_entries => ZSetValue::new_skiplist(),
            _ => ZSetValue::new_listpack(),
        });
    }

    fn emit(&mut self, member: LpValue<'_>, score: f64) {
        let zset = self.zset.as_mut().expect("begun");
        with_bytes(member, |m| zset.add(score, m, 0, self.limits));
    }

    fn finish(&mut self, _count: usize) {}
}

/// What a range selects by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The parsed range of one of the three kinds.
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

// ANCHOR: zset_range_by_rank
/// Emits ranks `start..=end` (negative counts from the end), in reverse
/// from the highest score when `reverse` (`genericZrangebyrankCommand`).
/// Indices are clamped to the set; an empty range emits nothing.
fn range_by_rank(z: &ZSetValue, start: i64, end: i64, reverse: bool, sink: &mut impl RangeSink) {
    let len = z.len() as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        sink.begin(Some(0));
        sink.finish(0);
        return;
    }
    let end = end.min(len - 1);
    let count = (end - start + 1) as usize;
    sink.begin(Some(count));
    // One O(log n) descent to the first, then neighbour links.
    let mut at = z.at_rank(start as usize, reverse);
    for _ in 0..count {
        let c = at.expect("within the set");
        let (member, score) = z.entry(c);
        sink.emit(member, score);
        at = z.step(c, reverse);
    }
    sink.finish(count);
}
// ANCHOR_END: zset_range_by_rank

/// Emits the members whose score is in `range` (by lex range for `Lex`),
/// skipping `offset` and stopping after `limit` (negative: no limit), as
/// `genericZrangebyscoreCommand` / `genericZrangebylexCommand`. A negative
/// offset selects nothing (Redis's loop walks off the end).
fn range_by_value(
    z: &ZSetValue,
    spec: &RangeSpec,
    offset: i64,
    mut limit: i64,
    reverse: bool,
    sink: &mut impl RangeSink,
) {
    sink.begin(None);
    if offset > 0 && offset >= z.len() as i64 {
        sink.finish(0);
        return;
    }
    let mut at = match (spec, reverse) {
        (RangeSpec::Score(r), false) => z.first_in_range(r),
        (RangeSpec::Score(r), true) => z.last_in_range(r),
        (RangeSpec::Lex(r), false) => z.first_in_lex_range(r),
        (RangeSpec::Lex(r), true) => z.last_in_lex_range(r),
        (RangeSpec::Rank(..), _) => unreachable!("ranks go to range_by_rank"),
    };
    if offset < 0 {
        at = None;
    }
    let mut skip = offset.max(0);
    while skip > 0 {
        let Some(c) = at else { break };
        at = z.step(c, reverse);
        skip -= 1;
    }
    let mut count = 0;
    while let Some(c) = at {
        if limit == 0 {
            break;
        }
        limit -= 1;
        let (member, score) = z.entry(c);
        let inside = match (spec, reverse) {
            (RangeSpec::Score(r), false) => r.value_lte_max(score),
            (RangeSpec::Score(r), true) => r.value_gte_min(score),
            (RangeSpec::Lex(r), false) => with_bytes(member, |b| r.value_lte_max(b)),
            (RangeSpec::Lex(r), true) => with_bytes(member, |b| r.value_gte_min(b)),
            (RangeSpec::Rank(..), _) => unreachable!(),
        };
        if !inside {
            break;
        }
        sink.emit(member, score);
        count += 1;
        at = z.step(c, reverse);
    }
    sink.finish(count);
}

fn zrange(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 1, false, RangeBy::Auto, None);
}

fn zrangestore(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 2, true, RangeBy::Auto, None);
}

fn zrevrange(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 1, false, RangeBy::Rank, Some(true));
}

fn zrangebyscore(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 1, false, RangeBy::Score, Some(false));
}

fn zrevrangebyscore(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 1, false, RangeBy::Score, Some(true));
}

fn zrangebylex(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 1, false, RangeBy::Lex, Some(false));
}

fn zrevrangebylex(ctx: &mut Ctx, args: Args) {
    zrange_generic(ctx, args, 1, false, RangeBy::Lex, Some(true));
}

/// Every ZRANGE variant (Redis: `zrangeGenericCommand`). `src_at` is the
/// source key's position (2 for ZRANGESTORE, after the destination);
/// `by` and `direction` are fixed by the old commands (ZREVRANGE is
/// `Rank` + reverse) and `Auto`/`None` for ZRANGE, which takes them from
/// its options. The order of checks, and so which error wins, is Redis's:
/// options, LIMIT without BYSCORE/BYLEX, WITHSCORES with BYLEX, the range,
/// then the key.
fn zrange_generic(
    ctx: &mut Ctx,
    args: Args,
    src_at: usize,
    store: bool,
    mut by: RangeBy,
    mut direction: Option<bool>,
) {
    let fixed_direction = direction.is_some();
    let mut withscores = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut j = src_at + 3;
    while j < args.len() {
        let opt = args.get(j);
        let left = args.len() - j - 1;
        if !store && eq_ic(opt, "withscores") {
            withscores = true;
        } else if eq_ic(opt, "limit") && left >= 2 {
            let Some(offset) = arg_i64(ctx, args.get(j + 1)) else {
                return;
            };
            let Some(count) = arg_i64(ctx, args.get(j + 2)) else {
                return;
            };
            limit = Some((offset, count));
            j += 2;
        } else if !fixed_direction && direction.is_none() && eq_ic(opt, "rev") {
            direction = Some(true);
        } else if by == RangeBy::Auto && eq_ic(opt, "bylex") {
            by = RangeBy::Lex;
        } else if by == RangeBy::Auto && eq_ic(opt, "byscore") {
            by = RangeBy::Score;
        } else {
            ctx.client.reply.error(SYNTAX_ERR);
            return;
        }
        j += 1;
    }
    let reverse = direction.unwrap_or(false);
    if by == RangeBy::Auto {
        by = RangeBy::Rank;
    }
    // Redis keeps "no LIMIT" as a count of -1, so `LIMIT 0 -1` counts as none.
    let (offset, count) = limit.unwrap_or((0, -1));
    if count != -1 && by == RangeBy::Rank {
        ctx.client.reply.err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return;
    }
    if withscores && by == RangeBy::Lex {
        ctx.client
            .reply
            .err("syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    // ZREVRANGEBYSCORE and ZRANGE ... BYSCORE REV take max before min.
    let (mut min_at, mut max_at) = (src_at + 1, src_at + 2);
    if reverse && by != RangeBy::Rank {
        std::mem::swap(&mut min_at, &mut max_at);
    }
    let spec = match by {
        RangeBy::Score => match ScoreRange::parse(args.get(min_at), args.get(max_at)) {
            Some(r) => RangeSpec::Score(r),
            None => {
                ctx.client.reply.err("min or max is not a float");
                return;
            }
        },
        RangeBy::Lex => match LexRange::parse(args.get(min_at), args.get(max_at)) {
            Some(r) => RangeSpec::Lex(r),
            None => {
                ctx.client
                    .reply
                    .err("min or max not valid string range item");
                return;
            }
        },
        _ => {
            let Some(start) = arg_i64(ctx, args.get(min_at)) else {
                return;
            };
            let Some(end) = arg_i64(ctx, args.get(max_at)) else {
                return;
            };
            RangeSpec::Rank(start, end)
        }
    };

    let key = args.get(src_at);
    /// Rank ranges and value ranges, into either sink.
    fn select(
        z: &ZSetValue,
        spec: &RangeSpec,
        offset: i64,
        count: i64,
        reverse: bool,
        sink: &mut impl RangeSink,
    ) {
        match spec {
            RangeSpec::Rank(start, end) => range_by_rank(z, *start, *end, reverse, sink),
            _ => range_by_value(z, spec, offset, count, reverse, sink),
        }
    }

    if !store {
        let (obj, reply) = ctx.read_key(key);
        let Some(obj) = obj else {
            reply.array(0);
            return;
        };
        let Some(zset) = as_zset(obj) else {
            reply.error(WRONGTYPE);
            return;
        };
        let mut sink = ReplySink {
            reply,
            withscores,
            deferred: None,
        };
        select(zset, &spec, offset, count, reverse, &mut sink);
        return;
    }

    let mut sink = StoreSink {
        zset: None,
        limits: ZsetLimits::from_config(&ctx.server.config),
    };
    match ctx.lookup_read(key) {
        None => {
            sink.begin(None);
        }
        Some(obj) => match as_zset(obj) {
            Some(zset) => select(zset, &spec, offset, count, reverse, &mut sink),
            None => {
                ctx.client.reply.error(WRONGTYPE);
                return;
            }
        },
    }
    let result = sink.zset.expect("begun");
    store_result(ctx, args.get(1), result, "zrangestore");
}

/// Stores a command's result at `dst` (Redis: `setKey`, which replaces any
/// value of any type and drops the TTL) and replies its size; an empty
/// result deletes `dst` instead (`del` event if it existed).
fn store_result(ctx: &mut Ctx, dst: &[u8], result: ZSetValue, event: &str) {
    let len = result.len();
    if len > 0 {
        let obj = ctx.new_object(Value::ZSet(Box::new(result)));
        ctx.set_key(dst, obj, false);
        ctx.client.reply.int(len as i64);
        ctx.notify(notify_class::ZSET, event, dst);
        ctx.dirty(1);
        ctx.signal_key_as_ready(dst);
    } else {
        ctx.client.reply.int(0);
        if ctx.delete_key(dst) {
            ctx.notify(notify_class::GENERIC, "del", dst);
            ctx.dirty(1);
        }
    }
}

// ============================================================================
// ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX
// ============================================================================

fn zremrangebyrank(ctx: &mut Ctx, args: Args) {
    let Some(start) = arg_i64(ctx, args.get(2)) else {
        return;
    };
    let Some(end) = arg_i64(ctx, args.get(3)) else {
        return;
    };
    remrange_generic(ctx, args, "zremrangebyrank", |z| {
        let len = z.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let end = if end < 0 { len + end } else { end };
        if start > end || start >= len {
            return 0;
        }
        z.delete_rank_range(start as usize, end.min(len - 1) as usize)
    });
}

fn zremrangebyscore(ctx: &mut Ctx, args: Args) {
    let Some(range) = ScoreRange::parse(args.get(2), args.get(3)) else {
        ctx.client.reply.err("min or max is not a float");
        return;
    };
    remrange_generic(ctx, args, "zremrangebyscore", |z| {
        z.delete_score_range(&range)
    });
}

fn zremrangebylex(ctx: &mut Ctx, args: Args) {
    let Some(range) = LexRange::parse(args.get(2), args.get(3)) else {
        ctx.client
            .reply
            .err("min or max not valid string range item");
        return;
    };
    remrange_generic(ctx, args, "zremrangebylex", |z| z.delete_lex_range(&range));
}

/// The shared part of the ZREMRANGEBY* commands (`zremrangeGenericCommand`).
fn remrange_generic(
    ctx: &mut Ctx,
    args: Args,
    event: &str,
    delete: impl FnOnce(&mut ZSetValue) -> usize,
) {
    let key = args.get(1);
    let (deleted, emptied) = {
        let (obj, reply) = ctx.write_key(key);
        let Some(obj) = obj else {
            reply.int(0);
            return;
        };
        let Some(zset) = as_zset(obj) else {
            reply.error(WRONGTYPE);
            return;
        };
        let deleted = delete(zset);
        reply.int(deleted as i64);
        (deleted, zset.is_empty())
    };
    if emptied {
        let db = ctx.client.db;
        ctx.server.dbs[db].delete(key);
    }
    if deleted > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(notify_class::ZSET, event, key);
        if emptied {
            ctx.notify(notify_class::GENERIC, "del", key);
        }
    }
    ctx.dirty(deleted as u64);
}

// ============================================================================
// ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP
// ============================================================================

/// How a pop lays out its reply (the arguments of `genericZpopCommand`).
#[derive(Clone, Copy)]
struct PopReply {
    /// Name the key the members came from (BZPOP*, ZMPOP, BZMPOP).
    with_key: bool,
    /// [member, score] pairs as nested arrays instead of one flat array.
    nested: bool,
    /// Nothing to pop: a null array (ZMPOP) instead of an empty one.
    nil_when_empty: bool,
}

/// Pops up to `count` members (`None`: a plain single pop) from the first
/// of `keys` that exists (Redis: `genericZpopCommand`). Returns false if
/// it stopped on a key of the wrong type.
///
/// The reply shapes, by command and protocol:
/// - ZPOPMIN k: `[m, s]`; with a count, RESP2 `[m, s, m, s]` and RESP3
///   `[[m, s], [m, s]]`;
/// - BZPOPMIN: `[key, m, s]` in both protocols;
/// - ZMPOP, BZMPOP: `[key, [[m, s], ...]]`, or a null array.
fn zpop_generic(ctx: &mut Ctx, keys: &[&[u8]], max: bool, count: Option<u64>, shape: PopReply) {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut found = None;
    for &key in keys {
        match ctx.server.lookup_write(db, key, now) {
            None => continue,
            Some(obj) if !matches!(obj.value, Value::ZSet(_)) => {
                ctx.client.reply.error(WRONGTYPE);
                return;
            }
            Some(_) => {
                found = Some(key);
                break;
            }
        }
    }
    let Some(key) = found else {
        if shape.nil_when_empty {
            ctx.client.reply.null_array();
        } else {
            ctx.client.reply.array(0);
        }
        return;
    };
    if count == Some(0) {
        ctx.client.reply.array(0);
        return;
    }
    let zset = as_zset(ctx.server.dbs[db].get_mut(key).expect("found above")).expect("a zset");
    let reply = &mut ctx.client.reply;
    let popped = (count.unwrap_or(1) as usize).min(zset.len());
    match (shape.with_key, shape.nested) {
        (false, false) => reply.array(popped * 2),
        (false, true) => reply.array(popped),
        (true, false) => {
            reply.array(popped * 2 + 1);
            reply.bulk(key);
        }
        (true, true) => {
            reply.array(2);
            reply.bulk(key);
            reply.array(popped);
        }
    }
    for _ in 0..popped {
        let (member, score) = zset.pop(max).expect("counted above");
        if shape.nested {
            reply.array(2);
        }
        reply.bulk(&member);
        reply_score(reply, score);
    }
    let emptied = zset.is_empty();
    ctx.dirty(popped as u64);
    let event = if max { "zpopmax" } else { "zpopmin" };
    ctx.notify(notify_class::ZSET, event, key);
    ctx.signal_modified_key(key);
    if emptied {
        delete_emptied(ctx, key);
    }
    // BZPOPMIN/BZPOPMAX go out as ZPOPMIN/ZPOPMAX key; ZMPOP and BZMPOP
    // as ZPOPMIN/ZPOPMAX key <count actually popped>.
    if shape.with_key {
        let verb: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        if !shape.nested {
            ctx.propagate_as(&[verb, key]);
        } else if ctx.propagating() {
            ctx.propagate_as(&[verb, key, popped.to_string().as_bytes()]);
        }
    }
}

fn zpopmin(ctx: &mut Ctx, args: Args) {
    zpop_command(ctx, args, false);
}

fn zpopmax(ctx: &mut Ctx, args: Args) {
    zpop_command(ctx, args, true);
}

/// `ZPOPMIN key [count]` (`zpopMinMaxCommand`).
fn zpop_command(ctx: &mut Ctx, args: Args, max: bool) {
    if args.len() > 3 {
        ctx.client.reply.error(SYNTAX_ERR);
        return;
    }
    let mut count = None;
    if args.len() == 3 {
        // `getPositiveLongFromObjectOrReply`: one error for both "not a
        // number" and "negative".
        match parse_i64(args.get(2)) {
            Some(n) if n >= 0 => count = Some(n as u64),
            _ => {
                ctx.client
                    .reply
                    .err("value is out of range, must be positive");
                return;
            }
        }
    }
    let nested = ctx.client.reply.is_resp3() && count.is_some();
    let shape = PopReply {
        with_key: false,
        nested,
        nil_when_empty: false,
    };
    zpop_generic(ctx, &[args.get(1)], max, count, shape);
}

fn bzpopmin(ctx: &mut Ctx, args: Args) {
    bzpop_command(ctx, args, false);
}

fn bzpopmax(ctx: &mut Ctx, args: Args) {
    bzpop_command(ctx, args, true);
}

/// `BZPOPMIN key [key ...] timeout`.
fn bzpop_command(ctx: &mut Ctx, args: Args, max: bool) {
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    let shape = PopReply {
        with_key: true,
        nested: false,
        nil_when_empty: false,
    };
    blocking_pop(ctx, args, args.get(args.len() - 1), &keys, max, None, shape);
}

/// The blocking pops (`blockingGenericZpopCommand`): the timeout is checked
/// first; then, if any key has members, this is an ordinary pop from the
/// first such key. If none has, the client parks on all the keys and no
/// reply is written now. When a ZADD creates one of them, the server runs
/// this command again for the oldest waiter, and then it finds members.
fn blocking_pop(
    ctx: &mut Ctx,
    args: Args,
    timeout: &[u8],
    keys: &[&[u8]],
    max: bool,
    count: Option<u64>,
    shape: PopReply,
) {
    let deadline = match parse_timeout(timeout, Instant::now()) {
        Ok(deadline) => deadline,
        Err(e) => {
            ctx.client.reply.error(e);
            return;
        }
    };
    for &key in keys {
        match ctx.lookup_write(key) {
            None => continue,
            Some(obj) => match as_zset(obj) {
                None => {
                    ctx.client.reply.error(WRONGTYPE);
                    return;
                }
                Some(z) if z.is_empty() => continue,
                Some(_) => {
                    zpop_generic(ctx, &[key], max, count, shape);
                    return;
                }
            },
        }
    }
    if !ctx.can_block() {
        // Inside MULTI a client cannot wait: the timeout reply, at once.
        ctx.client.reply.null_array();
        return;
    }
    ctx.block_for_keys(keys, deadline, TimeoutReply::NullArray, args);
}

fn zmpop(ctx: &mut Ctx, args: Args) {
    zmpop_generic(ctx, args, 1, false);
}

fn bzmpop(ctx: &mut Ctx, args: Args) {
    zmpop_generic(ctx, args, 2, true);
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]` and `BZMPOP timeout
/// numkeys ...` (`zmpopGenericCommand`).
fn zmpop_generic(ctx: &mut Ctx, args: Args, numkeys_at: usize, blocking: bool) {
    let numkeys = match parse_i64(args.get(numkeys_at)) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.client.reply.err("numkeys should be greater than 0");
            return;
        }
    };
    let where_at = (numkeys_at as u64)
        .saturating_add(numkeys)
        .saturating_add(1);
    if where_at >= args.len() as u64 {
        ctx.client.reply.error(SYNTAX_ERR);
        return;
    }
    let where_at = where_at as usize;
    let max = match args.get(where_at) {
        w if eq_ic(w, "min") => false,
        w if eq_ic(w, "max") => true,
        _ => {
            ctx.client.reply.error(SYNTAX_ERR);
            return;
        }
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(args.get(j), "count") && j + 1 < args.len() {
            match parse_i64(args.get(j + 1)) {
                Some(n) if n >= 1 => count = Some(n as u64),
                _ => {
                    ctx.client.reply.err("count should be greater than 0");
                    return;
                }
            }
            j += 2;
        } else {
            ctx.client.reply.error(SYNTAX_ERR);
            return;
        }
    }
    let count = Some(count.unwrap_or(1));
    let keys: Vec<&[u8]> = (numkeys_at + 1..where_at).map(|i| args.get(i)).collect();
    let shape = PopReply {
        with_key: true,
        nested: true,
        nil_when_empty: true,
    };
    if blocking {
        blocking_pop(ctx, args, args.get(1), &keys, max, count, shape);
    } else {
        zpop_generic(ctx, &keys, max, count, shape);
    }
}

// ============================================================================
// ZRANDMEMBER
// ============================================================================

fn random_below(n: usize) -> usize {
    use rand::Rng;
    rand::thread_rng().gen_range(0..n)
}

/// A random member (and its score) of a non-empty sorted set. A skiplist
/// asks its dict for a fair random entry; a listpack picks a pair index.
fn random_member(z: &mut ZSetValue) -> (Sds, f64) {
    match z {
        ZSetValue::Listpack(lp) => {
            let i = random_below(lp.len() / 2);
            let pos = lp.seek(2 * i as i64).expect("in range");
            (
                sds_of(lp.get(pos)),
                lp_score(lp, lp.next(pos).expect("a score")),
            )
        }
        ZSetValue::Skiplist(t) => {
            let (member, score) = t.dict.fair_random_entry().expect("not empty");
            (member.clone(), *score)
        }
    }
}

/// `ZRANDMEMBER key [count [WITHSCORES]]` (`zrandmemberCommand`).
///
/// - no count: one member, or nil;
/// - count >= 0: distinct members, at most the set's size;
/// - count < 0: |count| members drawn independently, repeats allowed.
fn zrandmember(ctx: &mut Ctx, args: Args) {
    if args.len() < 3 {
        let (obj, reply) = ctx.read_key(args.get(1));
        let Some(obj) = obj else {
            reply.null();
            return;
        };
        let Some(zset) = as_zset(obj) else {
            reply.error(WRONGTYPE);
            return;
        };
        let (member, _) = random_member(zset);
        reply.bulk(&member);
        return;
    }
    let count = match parse_i64(args.get(2)) {
        Some(n) if n != i64::MIN => n,
        Some(_) => {
            ctx.client.reply.err(
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            );
            return;
        }
        None => {
            ctx.client.reply.error(crate::server::NOT_INTEGER);
            return;
        }
    };
    let withscores = match args.len() {
        3 => false,
        4 if eq_ic(args.get(3), "withscores") => true,
        _ => {
            ctx.client.reply.error(SYNTAX_ERR);
            return;
        }
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        ctx.client.reply.err("value is out of range");
        return;
    }
    let (obj, reply) = ctx.read_key(args.get(1));
    let Some(obj) = obj else {
        reply.array(0);
        return;
    };
    let Some(zset) = as_zset(obj) else {
        reply.error(WRONGTYPE);
        return;
    };
    let emit = |reply: &mut Reply, member: &[u8], score: f64| {
        if withscores && reply.is_resp3() {
            reply.array(2);
        }
        reply.bulk(member);
        if withscores {
            reply_score(reply, score);
        }
    };
    let per_member = if withscores && !reply.is_resp3() {
        2
    } else {
        1
    };
    let wanted = count.unsigned_abs();
    if wanted == 0 {
        reply.array(0);
        return;
    }
    let size = zset.len();
    if count < 0 || wanted == 1 {
        // Independent draws: repeats allowed.
        reply.array(wanted as usize * per_member);
        for _ in 0..wanted {
            let (member, score) = random_member(zset);
            emit(reply, &member, score);
        }
        return;
    }
    if wanted as usize >= size {
        // The whole set, highest first (Redis reads it with its set
        // operations' iterator, which runs backwards).
        reply.array(size * per_member);
        for (member, score) in zset.iter_rev() {
            with_bytes(member, |m| emit(reply, m, score));
        }
        return;
    }
    // Distinct members, fewer than the set has: draw distinct ranks by a
    // partial Fisher-Yates shuffle of 0..size, then reply them in the set's
    // order (as Redis's listpack sampler does).
    let wanted = wanted as usize;
    let mut ranks: Vec<usize> = (0..size).collect();
    for i in 0..wanted {
        let j = i + random_below(size - i);
        ranks.swap(i, j);
    }
    let mut chosen = ranks[..wanted].to_vec();
    chosen.sort_unstable();
    reply.array(wanted * per_member);
    let mut next = chosen.iter().peekable();
    for (rank, (member, score)) in zset.iter().enumerate() {
        if next.peek() == Some(&&rank) {
            next.next();
            with_bytes(member, |m| emit(reply, m, score));
        }
    }
}

// ============================================================================
// ZUNION ZINTER ZDIFF and their STORE forms, ZINTERCARD
// ============================================================================

/// One input of a set operation: a sorted set, a plain set (every member
/// scoring 1), or a missing key (empty). Redis: `zsetopsrc`.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    ZSet(&'a ZSetValue),
    Set(&'a SetValue),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::ZSet(z) => z.len(),
            Source::Set(SetValue::Intset(s)) => s.len(),
            Source::Set(SetValue::Table(d)) => d.len(),
        }
    }

    /// Every member with its score (1 for a plain set).
    fn for_each(&self, mut f: impl FnMut(LpValue<'_>, f64) -> bool) {
        match self {
            Source::Missing => {}
            Source::ZSet(z) => {
                for (member, score) in z.iter_rev() {
                    if !f(member, score) {
                        return;
                    }
                }
            }
            Source::Set(SetValue::Intset(s)) => {
                for v in s.iter() {
                    if !f(LpValue::Int(v), 1.0) {
                        return;
                    }
                }
            }
            Source::Set(SetValue::Table(d)) => {
                for (member, _) in d.iter() {
                    if !f(LpValue::Str(member), 1.0) {
                        return;
                    }
                }
            }
        }
    }

    /// The score of `member` here (`zuiFind`).
    fn find(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::ZSet(z) => z.score(member),
            Source::Set(SetValue::Intset(s)) => {
                parse_i64(member).filter(|&v| s.contains(v)).map(|_| 1.0)
            }
            Source::Set(SetValue::Table(d)) => d.get(member).map(|_| 1.0),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregation {
    Sum,
    Min,
    Max,
}

/// Folds one more weighted score into an accumulated one
/// (`zunionInterAggregate`). In a SUM, `inf + -inf` is NaN, which a
/// sorted set cannot hold; Redis's convention is to make it 0.
fn aggregate(target: &mut f64, value: f64, how: Aggregation) {
    match how {
        Aggregation::Sum => {
            *target += value;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregation::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregation::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

/// What the set operations leave behind: the result (always a skiplist at
/// first, as Redis builds it), and the member lengths that decide whether
/// a stored copy fits a listpack.
struct OpResult {
    table: SortedTable,
    maxelelen: usize,
    totelelen: usize,
}

impl OpResult {
    fn add(&mut self, member: LpValue<'_>, score: f64) {
        let member = sds_of(member);
        self.maxelelen = self.maxelelen.max(member.len());
        self.totelelen += member.len();
        self.table.list.insert(score, member.clone());
        self.table.dict.insert(member, score);
    }
}

fn zunion(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, None, 1, SetOp::Union, false);
}

fn zinter(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, None, 1, SetOp::Inter, false);
}

fn zdiff(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, None, 1, SetOp::Diff, false);
}

fn zintercard(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, None, 1, SetOp::Inter, true);
}

fn zunionstore(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, Some(args.get(1)), 2, SetOp::Union, false);
}

fn zinterstore(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, Some(args.get(1)), 2, SetOp::Inter, false);
}

fn zdiffstore(ctx: &mut Ctx, args: Args) {
    setop_generic(ctx, args, Some(args.get(1)), 2, SetOp::Diff, false);
}

/// Every set operation on sorted sets (Redis:
/// `zunionInterDiffGenericCommand`). Inputs may be sorted sets or plain
/// sets (score 1). Options: `WEIGHTS` (each input's scores are multiplied
/// by its weight; `0 * inf` is NaN, taken as 0), `AGGREGATE SUM|MIN|MAX`
/// (how the scores of a member found in several inputs combine),
/// `WITHSCORES` (reply forms only), `LIMIT` (ZINTERCARD only).
///
/// - UNION: every member of any input.
/// - INTER: walk the smallest input; keep a member found in every other.
/// - DIFF: walk the first input; keep a member found in no other, with its
///   own score.
fn setop_generic(
    ctx: &mut Ctx,
    args: Args,
    dst: Option<&[u8]>,
    numkeys_at: usize,
    op: SetOp,
    cardinality_only: bool,
) {
    let Some(numkeys) = arg_i64(ctx, args.get(numkeys_at)) else {
        return;
    };
    if numkeys < 1 {
        let msg = format!(
            "ERR at least 1 input key is needed for '{}' command",
            ctx.cmd.full_name
        );
        ctx.client.reply.error(&msg);
        return;
    }
    if numkeys as u64 > (args.len() - numkeys_at - 1) as u64 {
        ctx.client.reply.error(SYNTAX_ERR);
        return;
    }
    let numkeys = numkeys as usize;
    let first_key = numkeys_at + 1;

    // Look every input up (expiring it, counting the hit or miss) and check
    // its type before reading any option, as Redis does.
    let (db, now) = (ctx.client.db, ctx.now_ms);
    for i in 0..numkeys {
        if let Some(obj) = ctx.server.lookup_read(db, args.get(first_key + i), now) {
            if !matches!(obj.value, Value::ZSet(_) | Value::Set(_)) {
                ctx.client.reply.error(WRONGTYPE);
                return;
            }
        }
    }

    let mut weights = vec![1.0f64; numkeys];
    let mut how = Aggregation::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = first_key + numkeys;
    while j < args.len() {
        let remaining = args.len() - j;
        let opt = args.get(j);
        if op != SetOp::Diff && !cardinality_only && remaining > numkeys && eq_ic(opt, "weights") {
            for (i, weight) in weights.iter_mut().enumerate() {
                match parse_score(args.get(j + 1 + i)) {
                    Some(w) => *weight = w,
                    None => {
                        ctx.client.reply.err("weight value is not a float");
                        return;
                    }
                }
            }
            j += 1 + numkeys;
        } else if op != SetOp::Diff
            && !cardinality_only
            && remaining >= 2
            && eq_ic(opt, "aggregate")
        {
            how = match args.get(j + 1) {
                a if eq_ic(a, "sum") => Aggregation::Sum,
                a if eq_ic(a, "min") => Aggregation::Min,
                a if eq_ic(a, "max") => Aggregation::Max,
                _ => {
                    ctx.client.reply.error(SYNTAX_ERR);
                    return;
                }
            };
            j += 2;
        } else if dst.is_none() && !cardinality_only && eq_ic(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if cardinality_only && remaining >= 2 && eq_ic(opt, "limit") {
            match parse_i64(args.get(j + 1)) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => {
                    ctx.client.reply.err("LIMIT can't be negative");
                    return;
                }
            }
            j += 2;
        } else {
            ctx.client.reply.error(SYNTAX_ERR);
            return;
        }
    }

    let limits = ZsetLimits::from_config(&ctx.server.config);
    let mut result = OpResult {
        table: SortedTable::new(),
        maxelelen: 0,
        totelelen: 0,
    };
    let mut cardinality: u64 = 0;
    {
        let dbref = &ctx.server.dbs[db];
        let mut sources: Vec<(Source, f64)> = (0..numkeys)
            .map(|i| {
                let source = match dbref.get(args.get(first_key + i)).map(|o| &o.value) {
                    Some(Value::ZSet(z)) => Source::ZSet(z),
                    Some(Value::Set(s)) => Source::Set(s),
                    _ => Source::Missing,
                };
                (source, weights[i])
            })
            .collect();
        if op != SetOp::Diff {
            // Smallest first: INTER walks the smallest and probes the rest.
            sources.sort_by_key(|(s, _)| s.len());
        }
        match op {
            SetOp::Inter => {
                let (first, first_weight) = sources[0];
                first.for_each(|member, score| {
                    let mut total = first_weight * score;
                    if total.is_nan() {
                        total = 0.0;
                    }
                    let everywhere = with_bytes(member, |m| {
                        sources[1..]
                            .iter()
                            .all(|(other, weight)| match other.find(m) {
                                Some(s) => {
                                    aggregate(&mut total, weight * s, how);
                                    true
                                }
                                None => false,
                            })
                    });
                    if !everywhere {
                        return true;
                    }
                    if cardinality_only {
                        cardinality += 1;
                        return limit == 0 || cardinality < limit;
                    }
                    result.add(member, total);
                    true
                });
            }
            SetOp::Union => {
                // Accumulate member -> score in the result's own dict, then
                // thread every member into the skiplist once.
                let acc = &mut result.table.dict;
                for (source, weight) in &sources {
                    source.for_each(|member, score| {
                        let mut value = weight * score;
                        if value.is_nan() {
                            value = 0.0;
                        }
                        with_bytes(member, |m| match acc.get_mut(m) {
                            Some(total) => aggregate(total, value, how),
                            None => {
                                acc.insert(Sds::new(m), value);
                                result.maxelelen = result.maxelelen.max(m.len());
                                result.totelelen += m.len();
                            }
                        });
                        true
                    });
                }
                for (member, score) in result.table.dict.iter() {
                    result.table.list.insert(*score, member.clone());
                }
            }
            SetOp::Diff => {
                let (first, _) = sources[0];
                first.for_each(|member, score| {
                    let elsewhere = with_bytes(member, |m| {
                        sources[1..]
                            .iter()
                            .any(|(other, _)| other.find(m).is_some())
                    });
                    if !elsewhere {
                        result.add(member, score);
                    }
                    true
                });
            }
        }
    }

    if cardinality_only {
        ctx.client.reply.int(cardinality as i64);
        return;
    }
    if let Some(dst) = dst {
        let mut zset = ZSetValue::Skiplist(Box::new(result.table));
        zset.convert_to_listpack_if_fits(result.maxelelen, result.totelelen, limits);
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        store_result(ctx, dst, zset, event);
        return;
    }
    let reply = &mut ctx.client.reply;
    let len = result.table.list.len();
    reply.array(if withscores && !reply.is_resp3() {
        len * 2
    } else {
        len
    });
    for (score, member) in result.table.list.iter() {
        if withscores && reply.is_resp3() {
            reply.array(2);
        }
        reply.bulk(member);
        if withscores {
            reply_score(reply, score);
        }
    }
}

// ============================================================================
// ZSCAN
// ============================================================================

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]` (`scanGenericCommand`
/// for a sorted set). A listpack is small by construction, so it is
/// returned whole with cursor 0; a skiplist-encoded set is scanned through
/// its dict, as SCAN scans the keyspace. Scores of a dict are printed with
/// `%.17g`; scores of a listpack as they are stored.
fn zscan(ctx: &mut Ctx, args: Args) {
    let Some(mut cursor) = parse_scan_cursor(args.get(2)) else {
        ctx.client.reply.err("invalid cursor");
        return;
    };
    let (obj, reply) = ctx.read_key(args.get(1));
    let Some(obj) = obj else {
        reply.array(2);
        reply.bulk(b"0");
        reply.array(0);
        return;
    };
    let Some(zset) = as_zset(obj) else {
        reply.error(WRONGTYPE);
        return;
    };
    let super::keys::ScanOptions { count, pattern, .. } =
        match super::keys::parse_scan_options(&args, 3, false) {
            Ok(options) => options,
            Err(e) => return reply.error(e),
        };

    // Collect (member, score text) pairs, then filter on the member.
    let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    match zset {
        ZSetValue::Listpack(lp) => {
            let mut entries = lp.iter();
            while let (Some(member), Some(score)) = (entries.next(), entries.next()) {
                found.push((member.to_vec(), score.to_vec()));
            }
            cursor = 0;
        }
        ZSetValue::Skiplist(t) => {
            let wanted = (count as usize).saturating_mul(2) / 2;
            let mut max_iterations = count.saturating_mul(2).saturating_mul(10);
            loop {
                cursor = t.dict.scan(cursor, |member, score| {
                    found.push((member.to_vec(), fmt_g17(*score).into_bytes()));
                });
                if cursor == 0 || max_iterations == 0 || found.len() >= wanted {
                    break;
                }
                max_iterations -= 1;
            }
        }
    }
    if let Some(p) = pattern {
        found.retain(|(member, _)| glob_match(p, member, false));
    }
    reply.array(2);
    reply.bulk_i64(cursor as i64);
    reply.array(found.len() * 2);
    for (member, score) in &found {
        reply.bulk(member);
        reply.bulk(score);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::string::harness::Harness;

    fn limits() -> ZsetLimits {
        ZsetLimits {
            max_entries: 128,
            max_value: 64,
        }
    }

    fn text(score: f64) -> String {
        let mut buf = [0u8; 32];
        let n = score_text(score, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn scores_are_stored_as_d2string_writes_them() {
        assert_eq!(text(1500.0), "1500");
        assert_eq!(text(-3.0), "-3");
        assert_eq!(text(1.5), "1.5");
        assert_eq!(text(0.1), "0.10000000000000001");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(f64::INFINITY), "inf");
        assert_eq!(text(f64::NEG_INFINITY), "-inf");
        assert_eq!(text(4_611_686_018_427_387_904.0), "4611686018427387904");
        assert_eq!(text(9_223_372_036_854_775_808.0), "9.2233720368547758e+18");
        assert_eq!(text(1e20), "1e+20");
    }

    #[test]
    fn score_arguments_parse_like_get_double_from_object() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"4.9e-324"), Some(4.9e-324));
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"abc",
            b"0x1p-5000",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn listpack_keeps_pairs_in_score_then_member_order() {
        let mut z = ZSetValue::new_listpack();
        for (score, member) in [(2.0, "b"), (1.0, "z"), (2.0, "a"), (1.5, "12"), (-1.0, "x")] {
            assert_eq!(
                z.add(score, member.as_bytes(), 0, limits()),
                AddOutcome::Added(score)
            );
        }
        let order: Vec<(String, f64)> = z
            .iter()
            .map(|(m, s)| (String::from_utf8(m.to_vec()).unwrap(), s))
            .collect();
        assert_eq!(
            order,
            [("x", -1.0), ("z", 1.0), ("12", 1.5), ("a", 2.0), ("b", 2.0)]
                .map(|(m, s)| (m.to_string(), s))
        );
        assert_eq!(z.rank(b"a", false), Some(3));
        assert_eq!(z.rank(b"a", true), Some(1));
        assert_eq!(
            z.add(0.5, b"b", add_flags::INCR, limits()),
            AddOutcome::Updated(2.5)
        );
        assert_eq!(
            z.add(0.0, b"b", add_flags::GT, limits()),
            AddOutcome::Skipped
        );
        assert!(z.delete(b"12"));
        assert_eq!(z.len(), 4);
    }

    #[test]
    fn both_encodings_answer_alike() {
        let mut lp = ZSetValue::new_listpack();
        let mut sl = ZSetValue::new_skiplist();
        for i in 0..50i64 {
            let member = format!("m{}", (i * 37) % 50);
            let score = (i % 7) as f64 / 2.0;
            lp.add(score, member.as_bytes(), 0, limits());
            sl.add(score, member.as_bytes(), 0, limits());
        }
        let items = |z: &ZSetValue| -> Vec<(Vec<u8>, f64)> {
            z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
        };
        assert_eq!(items(&lp), items(&sl));
        let range = ScoreRange::parse(b"(1", b"2.5").unwrap();
        let rank = |z: &ZSetValue, c: Option<Cursor>| c.map(|c| z.rank_of(c));
        assert_eq!(
            rank(&lp, lp.first_in_range(&range)),
            rank(&sl, sl.first_in_range(&range))
        );
        assert_eq!(
            rank(&lp, lp.last_in_range(&range)),
            rank(&sl, sl.last_in_range(&range))
        );
        for r in [0, 1, 17, 49] {
            for rev in [false, true] {
                let a = lp.entry(lp.at_rank(r, rev).unwrap());
                let b = sl.entry(sl.at_rank(r, rev).unwrap());
                assert_eq!((a.0.to_vec(), a.1), (b.0.to_vec(), b.1));
            }
        }
        assert_eq!(lp.delete_score_range(&range), sl.delete_score_range(&range));
        assert_eq!(items(&lp), items(&sl));
        let mut converted = lp.clone();
        converted.convert_to_skiplist();
        assert_eq!(items(&converted), items(&sl));
        converted.convert_to_listpack_if_fits(3, 100, limits());
        assert!(matches!(converted, ZSetValue::Listpack(_)));
        assert_eq!(items(&converted), items(&sl));
        if let ZSetValue::Skiplist(t) = &sl {
            t.list.check_invariants().unwrap();
            assert_eq!(t.dict.len(), t.list.len());
        }
    }

    #[test]
    fn zadd_converts_past_the_entry_threshold() {
        let mut h = Harness::new();
        h.run(&[b"CONFIG", b"SET", b"zset-max-listpack-entries", b"3"]);
        h.run(&[b"ZADD", b"z", b"1", b"a", b"2", b"b", b"3", b"c"]);
        assert_eq!(h.encoding("z"), "listpack");
        h.run(&[b"ZADD", b"z", b"4", b"d"]);
        assert_eq!(h.encoding("z"), "skiplist");
        h.run(&[b"ZREM", b"z", b"a", b"b"]);
        assert_eq!(h.encoding("z"), "skiplist", "never converts back");
        assert_eq!(h.run(&[b"ZUNIONSTORE", b"u", b"1", b"z"]), ":2\r\n");
        assert_eq!(h.encoding("u"), "listpack", "new results start small");
    }

    /// `server.dirty` moves as Redis 7.0.15's `rdb_changes_since_last_save`
    /// does for the same commands (read off a real server).
    #[test]
    fn changes_are_counted_as_redis_counts_them() {
        let mut h = Harness::new();
        let steps: &[(&[&[u8]], u64)] = &[
            (&[b"ZADD", b"z", b"1", b"a", b"2", b"b"], 2),
            (&[b"ZADD", b"z", b"1", b"a", b"2", b"b"], 0),
            (&[b"ZADD", b"z", b"CH", b"5", b"a"], 1),
            (&[b"ZINCRBY", b"z", b"1", b"a"], 1),
            (&[b"ZREM", b"z", b"a", b"nope"], 1),
            (&[b"ZADD", b"z", b"1", b"a", b"2", b"c", b"3", b"d"], 3),
            (&[b"ZPOPMIN", b"z", b"2"], 2),
            (&[b"ZREMRANGEBYSCORE", b"z", b"-inf", b"+inf"], 2),
            (&[b"ZADD", b"y", b"1", b"a"], 1),
            (&[b"ZUNIONSTORE", b"u", b"1", b"y"], 1),
            (&[b"ZINTERSTORE", b"u", b"1", b"nokey"], 1),
            (&[b"ZRANGESTORE", b"r", b"y", b"0", b"-1"], 1),
            (&[b"ZRANGESTORE", b"r", b"nokey", b"0", b"-1"], 1),
            (&[b"ZRANGESTORE", b"r", b"nokey", b"0", b"-1"], 0),
        ];
        for (args, expected) in steps {
            let before = h.server.dirty;
            h.run(args);
            assert_eq!(h.server.dirty - before, *expected, "{args:?}");
        }
    }

    #[test]
    fn resp3_pop_and_range_shapes() {
        let mut h = Harness::new().resp3();
        h.run(&[b"ZADD", b"z", b"1", b"a", b"2.5", b"b"]);
        assert_eq!(
            h.run(&[b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"]),
            "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
        );
        assert_eq!(h.run(&[b"ZPOPMIN", b"z"]), "*2\r\n$1\r\na\r\n,1\r\n");
        assert_eq!(
            h.run(&[b"ZPOPMAX", b"z", b"5"]),
            "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
        );
        assert_eq!(h.run(&[b"ZMPOP", b"1", b"z", b"MIN"]), "_\r\n");
    }
}

#[cfg(test)]
mod set_input_tests {
    use crate::commands::string::harness::Harness;
    use crate::dict::Dict;
    use crate::intset::Intset;
    use crate::object::{RObj, SetValue, Value};
    use crate::sds::Sds;

    /// Plain sets as inputs score 1 each, in both set encodings. The
    /// expected replies are Redis 7.0.15's for the same data.
    #[test]
    fn plain_sets_count_as_score_one() {
        let mut h = Harness::new();
        let mut table = Dict::new();
        for m in ["y", "w", "q"] {
            table.insert(Sds::new(m.as_bytes()), ());
        }
        let mut ints = Intset::new();
        for v in [1, 2, 3] {
            ints.insert(v);
        }
        let db = &mut h.server.dbs[0];
        db.add(
            b"s",
            RObj::new(Value::Set(SetValue::Table(Box::new(table))), 0),
        );
        db.add(b"is", RObj::new(Value::Set(SetValue::Intset(ints)), 0));
        h.run(&[b"ZADD", b"a", b"1", b"x", b"2", b"y", b"3", b"z"]);
        h.run(&[b"ZADD", b"b", b"10", b"y", b"20", b"z", b"30", b"w"]);
        h.run(&[b"ZADD", b"ni", b"5", b"1", b"6", b"2", b"7", b"9"]);
        let flat = |reply: String| {
            reply
                .split("\r\n")
                .filter(|l| !l.starts_with('*') && !l.starts_with('$') && !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            flat(h.run(&[b"ZUNION", b"3", b"a", b"b", b"s", b"WITHSCORES"])),
            "q 1 x 1 y 13 z 23 w 31"
        );
        assert_eq!(
            flat(h.run(&[b"ZINTER", b"3", b"a", b"b", b"s", b"WITHSCORES"])),
            "y 13"
        );
        assert_eq!(
            flat(h.run(&[b"ZINTER", b"2", b"ni", b"is", b"WITHSCORES"])),
            "1 6 2 7"
        );
        assert_eq!(
            flat(h.run(&[b"ZUNION", b"2", b"ni", b"is", b"WITHSCORES"])),
            "3 1 1 6 2 7 9 7"
        );
        assert_eq!(
            flat(h.run(&[b"ZDIFF", b"2", b"b", b"s", b"WITHSCORES"])),
            "z 20"
        );
        assert_eq!(
            flat(h.run(&[b"ZDIFF", b"2", b"ni", b"is", b"WITHSCORES"])),
            "9 7"
        );
        assert_eq!(h.run(&[b"ZINTERCARD", b"3", b"a", b"b", b"s"]), ":1\r\n");
        assert_eq!(h.run(&[b"ZUNIONSTORE", b"d", b"2", b"is", b"s"]), ":6\r\n");
        assert_eq!(h.encoding("d"), "listpack");
    }
}
