//! # SORT: a small query language over lists, sets and sorted sets
//!
//! `SORT key` returns the elements of a list, set or sorted set in order.
//! The options turn it into something like a relational query, which is
//! why Redis's own source calls it the most complex command it has:
//!
//! ```text
//!   SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
//!            [ASC|DESC] [ALPHA] [STORE destination]
//! ```
//!
//! - **How to compare.** By default elements are *numbers* (parsed with
//!   `strtod`; one that is not a number makes the whole command fail with
//!   `ERR One or more scores can't be converted into double`). `ALPHA`
//!   compares them as byte strings. Equal numbers are ordered by their
//!   text, so the answer never depends on where an element started.
//! - **What to compare (`BY`).** `BY weight_*` sorts element `e` by the
//!   value of the key `weight_e` (the first `*` is replaced by the
//!   element); `BY h_*->f` by the field `f` of the hash `h_e`. A missing
//!   weight counts as 0 (numeric) or as smaller than any string (ALPHA).
//!   A pattern without `*` (conventionally `BY nosort`) means *do not
//!   sort*: the elements keep their stored order, which is how a client
//!   pages through a sorted set or a list with `LIMIT` cheaply.
//! - **What to return (`GET`).** Each `GET` pattern is looked up the same
//!   way for every element (null when missing); `GET #` is the element
//!   itself. With GETs the reply holds only what they fetched.
//! - **`LIMIT offset count`** selects a window of the sorted result;
//!   `STORE dst` writes the result as a list instead of replying, and
//!   answers its length.
//!
//! ## The invariants
//!
//! - Sorting is deterministic: numeric ties are broken by comparing the
//!   elements' bytes. A *set* sorted with `BY nosort` and `STORE` is
//!   sorted ALPHA anyway: a set has no order of its own, and a stored
//!   result must be the same on a replica that rebuilds it.
//! - SORT reads and never changes the source, except one thing Redis does
//!   too: a sorted set still in its listpack encoding is converted to the
//!   skiplist encoding first, for good (`OBJECT ENCODING` shows it).
//! - `SORT_RO` is SORT without STORE (the word is then a syntax error), so
//!   it can be flagged read-only and run on replicas.
//!
//! ## The Redis C counterpart
//!
//! `src/sort.c` (Redis 7.0): `sortCommandGeneric` (parse, load the vector,
//! score it, `qsort` or `pqsort`, emit), `lookupKeyByPattern` (the `*`
//! substitution and the `->` hash dereference), `sortCompare`;
//! `sortGetKeys` in `db.c` for COMMAND GETKEYS.
//!
//! ## What we simplified
//!
//! - Redis sorts a LIMITed BY query with a partial quicksort (`pqsort`),
//!   which is not stable; we always sort the whole vector with a stable
//!   sort. The answers differ only among elements that compare equal
//!   (ALPHA ties on a BY key), whose order Redis does not define.
//! - ALPHA without STORE uses `strcoll` in Redis, which in the C locale
//!   (the server's usual one) is byte order up to the first NUL byte; we
//!   compare bytes, NULs included.
//! - A number that over- or underflows a double is an error, as with
//!   Redis's `errno == ERANGE` check (which Redis never resets, so in Redis
//!   an earlier failing conversion can leak into a later SORT; we judge
//!   each value on its own). An exactly representable subnormal written
//!   in hex is accepted, any other subnormal refused.
//! - SORT's ACL categories in Redis are `@set @sortedset @list`; our
//!   table derives categories from one group (generic).

use std::cmp::Ordering;

use crate::dict::Dict;
use crate::listpack::LpValue;
use crate::object::{HashValue, SortedTable, Value, ZSetValue};
use crate::quicklist::Quicklist;
use crate::resp::Args;
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::{GENERIC, LIST};
use crate::server::{Ctx, NOT_INTEGER, SYNTAX_ERR, WRONGTYPE};
use crate::skiplist::{strtod, Skiplist};

use super::eq_ic;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "sort",
        arity: -2,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "1.0.0",
        summary:
            "Sorts a list, set or sorted set, by itself or by other keys, optionally storing the result.",
        run: sort,
        get_keys: Some(sort_keys),
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "sort_ro",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "7.0.0",
        summary: "Sorts a list, set or sorted set like SORT, without STORE.",
        run: sort_ro,
        get_keys: Some(sort_ro_keys),
        ..CommandDef::base(Group::Generic)
    },
];

// ANCHOR: sort_get_keys
/// SORT's keys: the sorted key, and the destination of the *last* STORE
/// (Redis: `sortGetKeys`). The walk skips the arguments of LIMIT, GET and
/// BY so that `SORT k GET store` does not take `store` for the option.
/// The keys BY and GET patterns name are not declared: they depend on the
/// data.
fn sort_keys(args: Args) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if eq_ic(arg, "limit") {
            i += 2;
        } else if eq_ic(arg, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        } else if eq_ic(arg, "get") || eq_ic(arg, "by") {
            i += 1;
        }
        i += 1;
    }
    keys.extend(store);
    keys
}
// ANCHOR_END: sort_get_keys

/// SORT_RO has no STORE, so only the sorted key. (Redis flags it
/// `movablekeys` all the same, for the keys its patterns may read.)
fn sort_ro_keys(_args: Args) -> Vec<usize> {
    vec![1]
}

fn sort(ctx: &mut Ctx, args: Args) {
    sort_generic(ctx, args, false);
}

fn sort_ro(ctx: &mut Ctx, args: Args) {
    sort_generic(ctx, args, true);
}

/// The parsed options.
struct SortOptions<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    /// `BY` with a `*`: the weight of each element is looked up.
    by: Option<&'a [u8]>,
    /// `BY` without a `*` (`nosort`): keep the stored order. Once set it
    /// stays set, even if a later BY has a `*` (as in Redis).
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

/// Parse the options, replying Redis's error if they are wrong.
fn parse_options<'a>(ctx: &mut Ctx, args: Args<'a>, readonly: bool) -> Option<SortOptions<'a>> {
    let mut o = SortOptions {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < args.len() {
        let arg = args.get(j);
        let left = args.len() - j - 1;
        if eq_ic(arg, "asc") {
            o.desc = false;
        } else if eq_ic(arg, "desc") {
            o.desc = true;
        } else if eq_ic(arg, "alpha") {
            o.alpha = true;
        } else if eq_ic(arg, "limit") && left >= 2 {
            let (Some(start), Some(count)) = (
                crate::resp::parse_i64(&args[j + 1]),
                crate::resp::parse_i64(&args[j + 2]),
            ) else {
                ctx.reply().error(NOT_INTEGER);
                return None;
            };
            o.limit_start = start;
            o.limit_count = count;
            j += 2;
        } else if !readonly && eq_ic(arg, "store") && left >= 1 {
            o.store = Some(args.get(j + 1));
            j += 1;
        } else if eq_ic(arg, "by") && left >= 1 {
            let pattern = args.get(j + 1);
            if pattern.contains(&b'*') {
                o.by = Some(pattern);
            } else {
                o.dont_sort = true;
                o.by = Some(pattern);
            }
            j += 1;
        } else if eq_ic(arg, "get") && left >= 1 {
            o.gets.push(args.get(j + 1));
            j += 1;
        } else {
            ctx.reply().error(SYNTAX_ERR);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// One element of the vector being sorted: the element, and what it is
/// compared by (Redis: `redisSortObject`).
struct SortItem {
    element: Vec<u8>,
    /// The numeric weight (0 when a BY key is missing).
    score: f64,
    /// The ALPHA weight read through BY (`None`: missing, sorts first).
    by_value: Option<Vec<u8>>,
}

impl SortItem {
    fn new(element: Vec<u8>) -> SortItem {
        SortItem {
            element,
            score: 0.0,
            by_value: None,
        }
    }
}

// ANCHOR: sort_window
/// The window `LIMIT offset count` selects from `len` elements, as an
/// inclusive `(start, end)` that may be empty (`end < start`). A negative
/// offset counts as 0 and a negative count as "all the rest", both clamped
/// to the length first so that nothing can overflow (Redis's arithmetic,
/// kept exactly: an empty window can come out as `(len-1, len-2)`).
fn limit_window(limit_start: i64, limit_count: i64, len: i64) -> (i64, i64) {
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}
// ANCHOR_END: sort_window

/// A sorted set's listpack turned into the skiplist encoding: what Redis
/// does to a sorted set before sorting it (`zsetConvert`), so that its
/// members can be reached by rank and by dict.
fn zset_listpack_to_table(lp: &crate::listpack::Listpack) -> SortedTable {
    let mut dict = Dict::new();
    let mut list = Skiplist::new();
    let mut entries = lp.iter();
    while let (Some(member), Some(score)) = (entries.next(), entries.next()) {
        let score = match score {
            LpValue::Int(n) => n as f64,
            LpValue::Str(s) => strtod(s).0,
        };
        let member = member.to_vec();
        dict.insert(Sds::new(&member), score);
        list.insert(score, Sds::new(&member));
    }
    SortedTable { dict, list }
}

// ANCHOR: sort_generic
/// SORT and SORT_RO (Redis: `sortCommandGeneric`), in five steps:
///
/// 1. Parse the options (errors before the key is even looked up).
/// 2. Look the key up: a list, set or sorted set; missing is empty.
/// 3. Load the vector. With `BY nosort` a list or sorted set loads only
///    the LIMIT window, in stored order (reversed for DESC), and is done.
/// 4. Otherwise weigh every element (itself, or its BY key) and sort.
/// 5. Emit the window: reply, or build a list and STORE it.
fn sort_generic(ctx: &mut Ctx, args: Args, readonly: bool) {
    let Some(mut o) = parse_options(ctx, args, readonly) else {
        return;
    };

    // A sorted set in a listpack is converted first, as in Redis, even if
    // the SORT fails later.
    let (obj, reply) = ctx.read_key(&args[1]);
    if let Some(obj) = obj {
        match &mut obj.value {
            Value::List(_) | Value::Set(_) => {}
            Value::ZSet(z) => {
                if let ZSetValue::Listpack(lp) = &**z {
                    **z = ZSetValue::Skiplist(Box::new(zset_listpack_to_table(lp)));
                }
            }
            _ => return reply.error(WRONGTYPE),
        }
    }

    let db = ctx.client.db;
    let (mut items, mut start, mut end) = {
        let value = ctx.server.dbs[db].dict.get(&args[1]).map(|o| &o.value);
        if o.dont_sort && matches!(value, Some(Value::Set(_))) && o.store.is_some() {
            // A set has no order of its own to keep: a stored result must
            // be reproducible, so sort it ALPHA.
            o.dont_sort = false;
            o.alpha = true;
            o.by = None;
        }
        load_vector(value, &o)
    };

    // Weigh and sort.
    let mut conversion_error = false;
    if !o.dont_sort {
        for item in items.iter_mut() {
            let weight = match o.by {
                Some(pattern) => match lookup_by_pattern(ctx, pattern, &item.element) {
                    Some(w) => w,
                    None => continue,
                },
                None => {
                    if !o.alpha {
                        match sort_score(&item.element) {
                            Some(s) => item.score = s,
                            None => conversion_error = true,
                        }
                    }
                    continue;
                }
            };
            if o.alpha {
                item.by_value = Some(weight);
            } else {
                match sort_score(&weight) {
                    Some(s) => item.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        items.sort_by(|a, b| {
            let c = compare(a, b, alpha, by_pattern);
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }

    if conversion_error {
        return ctx
            .reply()
            .error("ERR One or more scores can't be converted into double");
    }
    let window = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        start = 0;
        end = -1;
        &items[0..0]
    };
    let per_element = o.gets.len().max(1);
    let output_len = per_element * (end - start + 1) as usize;

    match o.store {
        None => {
            ctx.reply().array(output_len);
            for item in window {
                if o.gets.is_empty() {
                    ctx.reply().bulk(&item.element);
                }
                for pattern in &o.gets {
                    match lookup_by_pattern(ctx, pattern, &item.element) {
                        Some(v) => ctx.reply().bulk(&v),
                        None => ctx.reply().null(),
                    }
                }
            }
        }
        Some(dst) => {
            // `createQuicklistObject`: Redis's SORT builds its list with the
            // quicklist defaults (fill -2, no compression), not the config's.
            let mut list = Quicklist::new(-2, 0);
            for item in window {
                if o.gets.is_empty() {
                    list.push_back(&item.element);
                }
                for pattern in &o.gets {
                    let v = lookup_by_pattern(ctx, pattern, &item.element).unwrap_or_default();
                    list.push_back(&v);
                }
            }
            if output_len > 0 {
                let obj = ctx.new_object(Value::List(Box::new(list)));
                ctx.set_key(dst, obj, false);
                // A client in BLPOP on `dst` is served the new list.
                ctx.signal_key_as_ready(dst);
                ctx.notify(LIST, "sortstore", dst);
                ctx.dirty(output_len as u64);
            } else if ctx.server.dbs[db].delete(dst).is_some() {
                ctx.signal_modified_key(dst);
                ctx.notify(GENERIC, "del", dst);
                ctx.dirty(1);
            }
            ctx.reply().int(output_len as i64);
        }
    }
}
// ANCHOR_END: sort_generic

/// Step 3: the elements to sort, and the window to emit from them.
fn load_vector(value: Option<&Value>, o: &SortOptions) -> (Vec<SortItem>, i64, i64) {
    let len = match value {
        None => 0,
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => match &**z {
            ZSetValue::Skiplist(t) => t.dict.len(),
            ZSetValue::Listpack(lp) => lp.len() / 2,
        },
        Some(_) => 0,
    } as i64;
    let (start, end) = limit_window(o.limit_start, o.limit_count, len);
    // How many to load directly when the stored order is the answer.
    let direct = (end - start + 1).max(0) as usize;
    let mut items = Vec::new();
    match value {
        None | Some(Value::Str(_)) | Some(Value::Hash(_)) | Some(Value::Stream(_)) => {}
        Some(Value::List(l)) if o.dont_sort => {
            if end >= start {
                let elements = if o.desc { l.iter_rev() } else { l.iter() };
                items.extend(
                    elements
                        .skip(start as usize)
                        .take(direct)
                        .map(SortItem::new),
                );
            }
            return (items, 0, end - start);
        }
        Some(Value::List(l)) => items.extend(l.iter().map(SortItem::new)),
        Some(Value::Set(s)) => {
            items.reserve(s.len());
            items.extend(s.iter().map(|m| SortItem::new(m.to_vec())));
        }
        Some(Value::ZSet(z)) => {
            let ZSetValue::Skiplist(t) = &**z else {
                unreachable!("converted before sorting");
            };
            if o.dont_sort {
                load_zset_range(&t.list, start, direct, o.desc, &mut items);
                return (items, 0, end - start);
            }
            items.extend(t.dict.iter().map(|(m, _)| SortItem::new(m.to_vec())));
        }
    }
    (items, start, end)
}

/// `count` members of a sorted set in rank order from `start` (from the
/// top for DESC), reached by rank in O(log n) rather than by walking.
fn load_zset_range(list: &Skiplist, start: i64, count: usize, desc: bool, out: &mut Vec<SortItem>) {
    if count == 0 {
        return;
    }
    let len = list.len();
    let mut node = if desc {
        list.by_rank(len - start as usize)
    } else {
        list.by_rank(start as usize + 1)
    };
    for _ in 0..count {
        let Some(id) = node else { break };
        out.push(SortItem::new(list.member(id).to_vec()));
        node = if desc { list.prev(id) } else { list.next(id) };
    }
}

/// Redis's `sortCompare`, before DESC is applied.
fn compare(a: &SortItem, b: &SortItem, alpha: bool, by_pattern: bool) -> Ordering {
    if !alpha {
        // NaN cannot be ordered; such a sort fails anyway, and treating it
        // as a tie keeps the comparison total.
        return match a.score.partial_cmp(&b.score) {
            Some(Ordering::Equal) | None => a.element.cmp(&b.element),
            Some(c) => c,
        };
    }
    if by_pattern {
        return match (&a.by_value, &b.by_value) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        };
    }
    a.element.cmp(&b.element)
}

// ANCHOR: sort_score
/// A weight as SORT reads it: C's `strtod` over the whole text (leading
/// whitespace, hex and `inf` accepted; the empty string is 0), refusing
/// trailing bytes, NaN, and values out of a double's range (`ERANGE`:
/// overflow to infinity, or underflow to zero or a subnormal).
fn sort_score(text: &[u8]) -> Option<f64> {
    let (value, used) = strtod(text);
    if used != text.len() || value.is_nan() {
        return None;
    }
    let number = text.trim_ascii_start();
    let digits = number
        .strip_prefix(b"-")
        .or_else(|| number.strip_prefix(b"+"))
        .unwrap_or(number);
    let hex = digits.len() > 1 && digits[0] == b'0' && matches!(digits[1], b'x' | b'X');
    if value.is_infinite() {
        // Written as infinity, or overflowed.
        return digits[..1.min(digits.len())]
            .eq_ignore_ascii_case(b"i")
            .then_some(value);
    }
    if value == 0.0 || (!hex && value.abs() < f64::MIN_POSITIVE) {
        // Underflow: the mantissa had a non-zero digit but nothing is left.
        let mantissa_end = if hex {
            digits
                .iter()
                .position(|b| matches!(b, b'p' | b'P'))
                .unwrap_or(digits.len())
        } else {
            digits
                .iter()
                .position(|b| matches!(b, b'e' | b'E'))
                .unwrap_or(digits.len())
        };
        let mantissa = if hex {
            &digits[2..mantissa_end]
        } else {
            &digits[..mantissa_end]
        };
        if mantissa
            .iter()
            .any(|b| b.is_ascii_alphanumeric() && *b != b'0')
        {
            return None;
        }
    }
    Some(value)
}
// ANCHOR_END: sort_score

// ANCHOR: sort_lookup_by_pattern
/// The value a BY or GET pattern names for `element` (Redis:
/// `lookupKeyByPattern`):
///
/// - `#` is the element itself;
/// - no `*`: nothing (a fixed key would be the same for every element);
/// - `pre*post`: the string at key `pre<element>post`;
/// - `pre*post->field`, with a non-empty field: that field of the hash at
///   key `pre<element>post`.
///
/// A missing key, a key of another type, or a missing field: nothing.
/// Each lookup is a real read (it counts as a hit or a miss, and expires
/// the key if its time has come).
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(arrow) if arrow + 2 < after.len() => (&after[..arrow], Some(&after[arrow + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);

    let obj = ctx.lookup_read(&key)?;
    match (&obj.value, field) {
        (Value::Str(s), None) => Some(s.to_vec()),
        (Value::Hash(h), Some(field)) => hash_field(h, field),
        _ => None,
    }
}
// ANCHOR_END: sort_lookup_by_pattern

/// The value of `field` in a hash, read straight from its encoding: a
/// listpack of field, value, field, value..., or a dict.
fn hash_field(hash: &HashValue, field: &[u8]) -> Option<Vec<u8>> {
    match hash {
        HashValue::Listpack(lp) => {
            let mut entries = lp.iter();
            while let (Some(f), Some(v)) = (entries.next(), entries.next()) {
                if f.eq_bytes(field) {
                    return Some(v.to_vec());
                }
            }
            None
        }
        HashValue::Table(d) => d.get(field).map(|v| v.as_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_window_follows_redis_arithmetic() {
        assert_eq!(limit_window(0, -1, 3), (0, 2));
        assert_eq!(limit_window(1, 1, 3), (1, 1));
        assert_eq!(limit_window(-5, 2, 3), (0, 1));
        assert_eq!(limit_window(2, 100, 3), (2, 2));
        assert_eq!(limit_window(5, 1, 3), (2, 1), "past the end: empty");
        assert_eq!(limit_window(0, 0, 3), (0, -1));
        assert_eq!(limit_window(0, -1, 0), (-1, -2));
    }

    #[test]
    fn scores_are_refused_as_redis_refuses_them() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b" 1"), Some(1.0));
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"0e500"), Some(0.0));
        assert_eq!(sort_score(b"2.5e-308"), Some(2.5e-308));
        assert!(sort_score(b"0x1p-1074").is_some(), "exact hex subnormal");
        for bad in [
            &b"1 "[..],
            b"x",
            b"nan",
            b"1e309",
            b"-1e309",
            b"1e-310",
            b"1e-400",
        ] {
            assert_eq!(sort_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn get_keys_takes_the_last_store_and_skips_option_arguments() {
        let owned = |v: &[&str]| crate::resp::OwnedArgs::from_slices(v);
        let a = owned(&["sort", "k", "store", "d", "store", "e"]);
        assert_eq!(sort_keys(a.args()), vec![1, 5]);
        let a = owned(&["sort", "k", "limit", "store", "x", "1", "store", "d"]);
        assert_eq!(sort_keys(a.args()), vec![1, 7]);
        let a = owned(&["sort", "k", "get", "store", "x"]);
        assert_eq!(sort_keys(a.args()), vec![1]);
        let a = owned(&["sort", "k", "store"]);
        assert_eq!(sort_keys(a.args()), vec![1]);
    }
    // -- SORT over every type, in-process ----------------------------------
    //
    // The list, hash and sorted-set commands live in other chapters, so
    // these tests build those values straight from their encodings (the
    // representation `object.rs` fixes) and run SORT through the command
    // dispatcher. Every expected reply was produced by Redis 7.0.15 from
    // the same data (RPUSH l 3 1 2; ZADD z 1 a 2 b 3 c; ZADD zn 3 10 1 30
    // 2 20 1.5 5; HSET h_N f ...; SET w_N ...).

    use crate::commands::string::harness::Harness;
    use crate::listpack::Listpack;
    use crate::object::RObj;

    fn list(items: &[&str]) -> Value {
        let mut ql = Quicklist::new(-2, 0);
        for i in items {
            ql.push_back(i.as_bytes());
        }
        Value::List(Box::new(ql))
    }

    /// A listpack-encoded zset; `pairs` in score order, as ZADD keeps them.
    fn zset(pairs: &[(&str, &str)]) -> Value {
        let mut lp = Listpack::new();
        for (member, score) in pairs {
            lp.push_back(member.as_bytes());
            lp.push_back(score.as_bytes());
        }
        Value::ZSet(Box::new(ZSetValue::Listpack(lp)))
    }

    fn hash(pairs: &[(&str, &str)]) -> Value {
        let mut lp = Listpack::new();
        for (f, v) in pairs {
            lp.push_back(f.as_bytes());
            lp.push_back(v.as_bytes());
        }
        Value::Hash(Box::new(HashValue::Listpack(lp)))
    }

    fn put(h: &mut Harness, key: &str, value: Value) {
        h.server.dbs[0].add(key.as_bytes(), RObj::new(value, 0));
    }

    fn fixture() -> Harness {
        let mut h = Harness::new();
        put(&mut h, "l", list(&["3", "1", "2"]));
        put(&mut h, "z", zset(&[("a", "1"), ("b", "2"), ("c", "3")]));
        put(
            &mut h,
            "zn",
            zset(&[("30", "1"), ("5", "1.5"), ("20", "2"), ("10", "3")]),
        );
        put(&mut h, "h_1", hash(&[("f", "5")]));
        put(&mut h, "h_2", hash(&[("f", "9")]));
        put(&mut h, "h_3", hash(&[("f", "1")]));
        put(&mut h, "hb", hash(&[("f", "1"), ("g", "2")]));
        for (k, v) in [("w_1", "30"), ("w_2", "10"), ("w_3", "20"), ("w_10", "5")] {
            h.run(&[b"set", k.as_bytes(), v.as_bytes()]);
        }
        h
    }

    fn run(h: &mut Harness, line: &str) -> String {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        h.run(&words)
    }

    /// Bulk strings as RESP2 prints them (`None` for a null).
    fn bulks(items: &[Option<&str>]) -> String {
        let mut out = format!("*{}\r\n", items.len());
        for item in items {
            match item {
                Some(s) => out.push_str(&format!("${}\r\n{s}\r\n", s.len())),
                None => out.push_str("$-1\r\n"),
            }
        }
        out
    }

    fn strs(items: &[&str]) -> String {
        bulks(&items.iter().map(|s| Some(*s)).collect::<Vec<_>>())
    }

    const NOT_DOUBLE: &str = "-ERR One or more scores can't be converted into double\r\n";

    #[test]
    fn a_list_sorts_numerically_by_itself_by_keys_and_by_hash_fields() {
        let mut h = fixture();
        assert_eq!(run(&mut h, "sort l"), strs(&["1", "2", "3"]));
        assert_eq!(run(&mut h, "sort_ro l desc"), strs(&["3", "2", "1"]));
        assert_eq!(run(&mut h, "sort l by w_*"), strs(&["2", "3", "1"]));
        assert_eq!(run(&mut h, "sort l by w_* desc"), strs(&["1", "3", "2"]));
        assert_eq!(
            run(
                &mut h,
                "sort l by h_*->f get # get w_* get h_*->f get nothere get x_*"
            ),
            bulks(&[
                Some("3"),
                Some("20"),
                Some("1"),
                None,
                None,
                Some("1"),
                Some("30"),
                Some("5"),
                None,
                None,
                Some("2"),
                Some("10"),
                Some("9"),
                None,
                None,
            ])
        );
        assert_eq!(
            run(&mut h, "sort l by h_*->f limit 1 1 get #"),
            strs(&["1"])
        );
        assert_eq!(
            run(&mut h, "sort l get nostar get #"),
            bulks(&[None, Some("1"), None, Some("2"), None, Some("3")])
        );
        // `->` with nothing after it is part of the key name; `*->f` names
        // the key `<element>`, which is no hash.
        assert_eq!(run(&mut h, "sort l by h_*->"), strs(&["1", "2", "3"]));
        assert_eq!(run(&mut h, "sort l by *->f"), strs(&["1", "2", "3"]));
        assert_eq!(
            run(&mut h, "sort l by h_*->f alpha"),
            strs(&["3", "1", "2"])
        );
        // Missing ALPHA weights sort first, ties keep the list's order.
        assert_eq!(run(&mut h, "sort l by h_*-> alpha"), strs(&["3", "1", "2"]));
        assert_eq!(run(&mut h, "sort l ASC DESC ALPHA"), strs(&["3", "2", "1"]));
    }

    #[test]
    fn a_list_with_nosort_keeps_its_order_and_limits_directly() {
        let mut h = fixture();
        assert_eq!(run(&mut h, "sort l by nosort"), strs(&["3", "1", "2"]));
        assert_eq!(run(&mut h, "sort l by nosort desc"), strs(&["2", "1", "3"]));
        assert_eq!(
            run(&mut h, "sort l by nosort limit -5 2"),
            strs(&["3", "1"])
        );
        assert_eq!(run(&mut h, "sort l by nosort desc limit 1 1"), strs(&["1"]));
        assert_eq!(run(&mut h, "sort l by nosort limit 3 1"), "*0\r\n");
        // A BY without `*` anywhere wins over a later one with it.
        assert_eq!(
            run(&mut h, "sort l by w_* by nosort"),
            strs(&["3", "1", "2"])
        );
        assert_eq!(
            run(&mut h, "sort l by nosort by w_*"),
            strs(&["3", "1", "2"])
        );
    }

    #[test]
    fn limit_clamps_as_redis_does() {
        let mut h = fixture();
        assert_eq!(run(&mut h, "sort l limit 2 -1"), strs(&["3"]));
        assert_eq!(run(&mut h, "sort l limit 5 1"), "*0\r\n");
        assert_eq!(run(&mut h, "sort l limit 0 0"), "*0\r\n");
        assert_eq!(run(&mut h, "sort l limit 0 -5"), strs(&["1", "2", "3"]));
        assert_eq!(run(&mut h, "sort l limit -1 -1"), strs(&["1", "2", "3"]));
        assert_eq!(run(&mut h, "sort l limit 1"), "-ERR syntax error\r\n");
        assert_eq!(
            run(&mut h, "sort l limit 1 b"),
            "-ERR value is not an integer or out of range\r\n"
        );
    }

    #[test]
    fn a_sorted_set_is_converted_to_a_skiplist_and_nosort_keeps_score_order() {
        let mut h = fixture();
        assert_eq!(h.encoding("z"), "listpack");
        assert_eq!(run(&mut h, "sort z"), NOT_DOUBLE);
        assert_eq!(
            h.encoding("z"),
            "skiplist",
            "converted even though SORT failed"
        );
        assert_eq!(run(&mut h, "sort z by nosort"), strs(&["a", "b", "c"]));
        assert_eq!(run(&mut h, "sort z by nosort desc"), strs(&["c", "b", "a"]));
        assert_eq!(run(&mut h, "sort z by nosort limit 1 1"), strs(&["b"]));
        assert_eq!(run(&mut h, "sort z by nosort desc limit 1 1"), strs(&["b"]));
        assert_eq!(
            run(&mut h, "sort z by nosort desc limit 1 10"),
            strs(&["b", "a"])
        );
        assert_eq!(run(&mut h, "sort z by nosort limit 5 1"), "*0\r\n");
        assert_eq!(run(&mut h, "sort z alpha"), strs(&["a", "b", "c"]));
        assert_eq!(
            run(&mut h, "sort z alpha desc limit 0 2"),
            strs(&["c", "b"])
        );

        assert_eq!(run(&mut h, "sort zn"), strs(&["5", "10", "20", "30"]));
        assert_eq!(run(&mut h, "sort zn desc"), strs(&["30", "20", "10", "5"]));
        assert_eq!(
            run(&mut h, "sort zn by nosort"),
            strs(&["30", "5", "20", "10"])
        );
        assert_eq!(
            run(&mut h, "sort zn by nosort get # get w_*"),
            bulks(&[
                Some("30"),
                None,
                Some("5"),
                None,
                Some("20"),
                None,
                Some("10"),
                Some("5"),
            ])
        );
        // zn's members weigh: 30 → nothing (0), 5 → nothing (0), 20 → nothing, 10 → 5.
        assert_eq!(
            run(&mut h, "sort zn by w_*"),
            strs(&["20", "30", "5", "10"])
        );
    }

    #[test]
    fn store_writes_a_list_with_the_default_quicklist_options() {
        let mut h = fixture();
        assert_eq!(
            run(&mut h, "sort l by w_* get # get nothere store d"),
            ":6\r\n"
        );
        assert_eq!(h.encoding("d"), "quicklist");
        let Some(Value::List(ql)) = h.server.dbs[0].get(b"d").map(|o| &o.value) else {
            panic!("d is a list");
        };
        assert_eq!((ql.fill(), ql.compress_depth()), (-2, 0));
        let stored: Vec<Vec<u8>> = ql.iter().collect();
        assert_eq!(stored, [&b"2"[..], b"", b"3", b"", b"1", b""]);
        assert_eq!(run(&mut h, "sort l by w_* limit 0 0 store d"), ":0\r\n");
        assert!(
            h.server.dbs[0].get(b"d").is_none(),
            "an empty result deletes"
        );
        assert_eq!(run(&mut h, "sort_ro l store d"), "-ERR syntax error\r\n");
    }

    #[test]
    fn other_types_and_bad_numbers_are_refused() {
        let mut h = fixture();
        assert_eq!(
            run(&mut h, "sort hb"),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        put(&mut h, "lx", list(&["1", "x"]));
        assert_eq!(run(&mut h, "sort lx"), NOT_DOUBLE);
        assert_eq!(run(&mut h, "sort lx store d3"), NOT_DOUBLE);
        assert!(h.server.dbs[0].get(b"d3").is_none());
        put(&mut h, "ly", list(&["0x10", "1e3", "inf", "-inf", ""]));
        assert_eq!(
            run(&mut h, "sort ly"),
            strs(&["-inf", "", "0x10", "1e3", "inf"])
        );
        put(&mut h, "lz", list(&["nan"]));
        assert_eq!(run(&mut h, "sort lz"), NOT_DOUBLE);
    }
}
