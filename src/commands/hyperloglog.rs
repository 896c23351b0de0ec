//! # HyperLogLog commands
//!
//! PFADD, PFCOUNT, PFMERGE, and the two internal commands PFDEBUG and
//! PFSELFTEST. The structure itself (the header, the dense and sparse
//! registers, the estimator) is the HyperLogLog chapter,
//! `src/hyperloglog.rs`; this file looks keys up, checks that a string is a
//! HyperLogLog, and replies.
//!
//! ## The invariant: a HyperLogLog is a string, checked on every use
//!
//! Any string whose first 16 bytes are a valid header is a HyperLogLog:
//! SET of bytes taken from a real Redis makes one. So every command first
//! checks the value: a non-string is the usual WRONGTYPE, a string that is
//! not a HyperLogLog gets `WRONGTYPE Key is not a valid HyperLogLog string
//! value.`, and a sparse value whose opcodes do not add up is only found
//! out when walked: `INVALIDOBJ Corrupted HLL object detected`.
//!
//! Commands that write (PFADD, PFMERGE's destination, PFCOUNT's cache,
//! PFDEBUG) first make the value `raw` (Redis's `dbUnshareStringValue`):
//! a short HyperLogLog stored with SET is an `embstr`, which is never
//! modified in place.
//!
//! ## Who counts as a write
//!
//! - PFADD changes registers: `pfadd` event, and `dirty` grows by the
//!   number of registers changed (plus one if it created the key).
//! - PFMERGE always writes its destination; its event is also `pfadd`
//!   (Redis treats a merge as a mass add), and `dirty` grows by one.
//! - PFCOUNT of one key is a read-only command, but when the cached
//!   cardinality is stale it writes the new one into the value: the key is
//!   signalled as modified (WATCH sees it) and `dirty` grows by one, so the
//!   new bytes reach replicas and the AOF. No event fires.
//! - PFDEBUG GETREG and TODENSE convert a sparse value to dense: `dirty`
//!   grows by one, nothing else.
//!
//! ## The Redis C counterpart
//!
//! `src/hyperloglog.c`: `pfaddCommand`, `pfcountCommand`, `pfmergeCommand`,
//! `pfdebugCommand`, `pfselftestCommand`, `isHLLObjectOrReply`.
//!
//! ## What we simplified
//!
//! Nothing visible. Redis's `PFDEBUG` has a "wrong number of arguments for
//! the subcommand" error that its arity (exactly 3) makes unreachable; we
//! leave it out.

use crate::hyperloglog::{self as hll, Corrupt, ERR_CORRUPT, ERR_NOT_HLL, HLL_REGISTERS};
use crate::object::{StrValue, Value};
use crate::resp::Args;
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::STRING;
use crate::server::{Ctx, WRONGTYPE};

use super::eq_ic;

/// The flags are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "pfadd",
        arity: -2,
        flags: "write denyoom fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.9",
        summary: "Adds elements to a HyperLogLog, creating it if needed.",
        run: pfadd,
        ..CommandDef::base(Group::HyperLogLog)
    },
    CommandDef {
        name: "pfcount",
        arity: -2,
        flags: "readonly may_replicate",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "2.8.9",
        summary: "Estimates the number of distinct elements in one or more HyperLogLogs.",
        run: pfcount,
        ..CommandDef::base(Group::HyperLogLog)
    },
    CommandDef {
        name: "pfmerge",
        arity: -2,
        flags: "write denyoom",
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "2.8.9",
        summary: "Merges HyperLogLogs into a destination that counts their union.",
        run: pfmerge,
        ..CommandDef::base(Group::HyperLogLog)
    },
    CommandDef {
        name: "pfdebug",
        arity: 3,
        flags: "write denyoom admin",
        first_key: 2,
        last_key: 2,
        key_step: 1,
        since: "2.8.9",
        summary: "Inspects or converts the internal encoding of a HyperLogLog.",
        run: pfdebug,
        ..CommandDef::base(Group::HyperLogLog)
    },
    CommandDef {
        name: "pfselftest",
        arity: 1,
        flags: "admin",
        since: "2.8.9",
        summary: "Tests the HyperLogLog register packing and estimator.",
        run: pfselftest,
        ..CommandDef::base(Group::HyperLogLog)
    },
];

/// The value's bytes if it is a HyperLogLog (`isHLLObjectOrReply`); an
/// `int`-encoded string never is one.
fn hll_bytes(value: &StrValue) -> Option<&[u8]> {
    match value {
        StrValue::Int(_) => None,
        StrValue::Embstr(s) | StrValue::Raw(s) => Some(s.as_bytes()).filter(|b| hll::is_hll(b)),
    }
}

/// Why a key's value cannot be used as a HyperLogLog.
enum NotHll {
    WrongType,
    NotHll,
}

impl NotHll {
    fn text(self) -> &'static str {
        match self {
            NotHll::WrongType => WRONGTYPE,
            NotHll::NotHll => ERR_NOT_HLL,
        }
    }
}

/// The HyperLogLog in `value`, made `raw` so it can be written in place.
fn hll_for_write(value: &mut Value) -> Result<&mut Sds, NotHll> {
    let Value::Str(s) = value else {
        return Err(NotHll::WrongType);
    };
    if hll_bytes(s).is_none() {
        return Err(NotHll::NotHll);
    }
    Ok(s.make_raw())
}

/// The HyperLogLog in `value`, for reading.
fn hll_for_read(value: &Value) -> Result<&[u8], NotHll> {
    let Value::Str(s) = value else {
        return Err(NotHll::WrongType);
    };
    hll_bytes(s).ok_or(NotHll::NotHll)
}

// ============================================================================
// PFADD
// ============================================================================

// ANCHOR: hll_pfadd
/// PFADD key [element ...]: 1 if the estimate may have changed (some
/// register grew, or the key was created), else 0.
fn pfadd(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let sparse_max_bytes = ctx.server.config.hll_sparse_max_bytes;
    let elements = (2..args.len()).map(|i| &args[i]);

    let (changed, outcome) = match ctx.write_key(key) {
        (Some(obj), reply) => match hll_for_write(&mut obj.value) {
            Ok(hll) => add_all(hll, elements, sparse_max_bytes, 0),
            Err(why) => {
                reply.error(why.text());
                return;
            }
        },
        (None, _) => {
            // A new key is a change even with no elements.
            let mut hll = hll::new_sparse();
            let outcome = add_all(&mut hll, elements, sparse_max_bytes, 1);
            let obj = ctx.new_object(Value::Str(StrValue::Raw(hll)));
            ctx.db().add(key, obj);
            outcome
        }
    };
    if outcome.is_err() {
        // Registers set before the corruption was found stay set, and no
        // change is announced: Redis's order of events.
        ctx.reply().error(ERR_CORRUPT);
        return;
    }
    if changed > 0 {
        ctx.signal_modified_key(key);
        ctx.notify(STRING, "pfadd", key);
        ctx.dirty(changed);
    }
    ctx.reply().int(i64::from(changed > 0));
}
// ANCHOR_END: hll_pfadd

/// Add every element. Returns the number of changes (`changed` plus the
/// registers that grew) and whether the value turned out corrupt, which
/// stops the loop. After a change the cached cardinality is marked stale.
fn add_all<'a>(
    hll: &mut Sds,
    elements: impl Iterator<Item = &'a [u8]>,
    sparse_max_bytes: usize,
    mut changed: u64,
) -> (u64, Result<(), Corrupt>) {
    for element in elements {
        match hll::add(hll, element, sparse_max_bytes) {
            Ok(grew) => changed += u64::from(grew),
            Err(e) => return (changed, Err(e)),
        }
    }
    if changed > 0 {
        hll::invalidate_cache(hll.as_bytes_mut());
    }
    (changed, Ok(()))
}

// ============================================================================
// PFCOUNT
// ============================================================================

// ANCHOR: hll_pfcount
/// PFCOUNT key [key ...]: the estimated number of distinct elements.
///
/// One key: the cached cardinality if it is valid; otherwise compute it
/// and store it in the value (a write, see the module notes). A missing key
/// counts 0. Several keys: the count of their union, computed in a
/// scratch array of one byte per register, leaving every key untouched.
fn pfcount(ctx: &mut Ctx, args: Args) {
    if args.len() > 2 {
        pfcount_union(ctx, &args);
        return;
    }
    let key = &args[1];
    let (obj, reply) = ctx.read_key(key);
    let Some(obj) = obj else {
        reply.int(0);
        return;
    };
    let hll = match hll_for_write(&mut obj.value) {
        Ok(hll) => hll,
        Err(why) => {
            reply.error(why.text());
            return;
        }
    };
    if let Some(card) = hll::cached_cardinality(hll) {
        reply.int(card as i64);
        return;
    }
    let Ok(card) = hll::count(hll) else {
        reply.error(ERR_CORRUPT);
        return;
    };
    hll::set_cached_cardinality(hll.as_bytes_mut(), card);
    // Redis replies with the u64 read as a signed long long.
    reply.int(card as i64);
    ctx.signal_modified_key(key);
    ctx.dirty(1);
}
// ANCHOR_END: hll_pfcount

/// PFCOUNT of several keys: the union's estimate. Missing keys are empty.
fn pfcount_union(ctx: &mut Ctx, args: &Args) {
    let mut max = [0u8; HLL_REGISTERS];
    if merge_sources(ctx, args, &mut max).is_none() {
        return;
    }
    let card = hll::estimate(&hll::raw_histogram(&max));
    ctx.reply().int(card as i64);
}

/// Fold every existing key in `args[1..]` into `max`. Whether any of them
/// is dense, or `None` after replying an error.
fn merge_sources(ctx: &mut Ctx, args: &Args, max: &mut [u8; HLL_REGISTERS]) -> Option<bool> {
    let mut any_dense = false;
    for i in 1..args.len() {
        let (obj, reply) = ctx.read_key(&args[i]);
        let Some(obj) = obj else {
            continue;
        };
        let bytes = match hll_for_read(&obj.value) {
            Ok(bytes) => bytes,
            Err(why) => {
                reply.error(why.text());
                return None;
            }
        };
        any_dense |= hll::encoding(bytes) == hll::ENCODING_DENSE;
        if hll::merge_into(max, bytes).is_err() {
            reply.error(ERR_CORRUPT);
            return None;
        }
    }
    Some(any_dense)
}

// ============================================================================
// PFMERGE
// ============================================================================

// ANCHOR: hll_pfmerge
/// PFMERGE destkey [sourcekey ...]: store the union of the sources and of
/// the destination itself (it is read as a source first).
///
/// The destination stays sparse if every input was sparse (it is then
/// rebuilt register by register with the sparse update, and may still
/// cross `hll-sparse-max-bytes` on the way); if any input was dense it is
/// made dense first, saving the conversion in the middle.
fn pfmerge(ctx: &mut Ctx, args: Args) {
    let mut max = [0u8; HLL_REGISTERS];
    let Some(use_dense) = merge_sources(ctx, &args, &mut max) else {
        return;
    };
    let dest = &args[1];
    let sparse_max_bytes = ctx.server.config.hll_sparse_max_bytes;
    let outcome = match ctx.lookup_write(dest) {
        // Checked as a source above, so it is a HyperLogLog.
        Some(obj) => match hll_for_write(&mut obj.value) {
            Ok(hll) => store_registers(hll, &max, use_dense, sparse_max_bytes),
            Err(why) => {
                ctx.reply().error(why.text());
                return;
            }
        },
        None => {
            let mut hll = hll::new_sparse();
            let outcome = store_registers(&mut hll, &max, use_dense, sparse_max_bytes);
            let obj = ctx.new_object(Value::Str(StrValue::Raw(hll)));
            ctx.db().add(dest, obj);
            outcome
        }
    };
    if outcome.is_err() {
        ctx.reply().error(ERR_CORRUPT);
        return;
    }
    ctx.signal_modified_key(dest);
    ctx.notify(STRING, "pfadd", dest);
    ctx.dirty(1);
    ctx.reply().ok();
}
// ANCHOR_END: hll_pfmerge

/// Raise `hll`'s registers to `max` (already at least its own registers),
/// then mark the cache stale.
fn store_registers(
    hll: &mut Sds,
    max: &[u8; HLL_REGISTERS],
    use_dense: bool,
    sparse_max_bytes: usize,
) -> Result<(), Corrupt> {
    if use_dense {
        hll::sparse_to_dense(hll)?;
    }
    for (index, &value) in max.iter().enumerate() {
        if value == 0 {
            continue;
        }
        if hll::encoding(hll) == hll::ENCODING_DENSE {
            hll::dense_update(&mut hll.as_bytes_mut()[hll::HDR_SIZE..], index, value);
        } else {
            // Redis ignores the outcome: the value was walked whole above.
            let _ = hll::sparse_update(hll, index, value, sparse_max_bytes);
        }
    }
    hll::invalidate_cache(hll.as_bytes_mut());
    Ok(())
}

// ============================================================================
// PFDEBUG and PFSELFTEST
// ============================================================================

/// PFDEBUG <GETREG|DECODE|ENCODING|TODENSE> key
///
/// - GETREG: all 16384 registers as integers (a sparse value is converted
///   to dense first, for good).
/// - DECODE: the sparse opcodes as text (`Z:16384`, `z:3`, `v:2,1`); an
///   error for a dense value.
/// - ENCODING: `dense` or `sparse`, as a status reply.
/// - TODENSE: convert to dense; 1 if it was sparse, else 0.
///
/// The key is looked up (and made `raw`) before the subcommand is read, so
/// an unknown subcommand on a missing key says the key is missing.
fn pfdebug(ctx: &mut Ctx, args: Args) {
    let sub = &args[1];
    let (obj, reply) = ctx.write_key(&args[2]);
    let Some(obj) = obj else {
        reply.error("ERR The specified key does not exist");
        return;
    };
    let hll = match hll_for_write(&mut obj.value) {
        Ok(hll) => hll,
        Err(why) => {
            reply.error(why.text());
            return;
        }
    };
    let sparse = hll::encoding(hll) == hll::ENCODING_SPARSE;
    let mut converted = false;
    if eq_ic(sub, "getreg") || eq_ic(sub, "todense") {
        if sparse {
            if hll::sparse_to_dense(hll).is_err() {
                reply.error(ERR_CORRUPT);
                return;
            }
            converted = true;
        }
        if eq_ic(sub, "getreg") {
            reply.array(HLL_REGISTERS);
            let registers = &hll[hll::HDR_SIZE..];
            for index in 0..HLL_REGISTERS {
                reply.int(i64::from(hll::dense_get(registers, index)));
            }
        } else {
            reply.int(i64::from(converted));
        }
    } else if eq_ic(sub, "decode") {
        if sparse {
            reply.bulk(hll::describe_sparse(hll).as_bytes());
        } else {
            reply.error("ERR HLL encoding is not sparse");
        }
    } else if eq_ic(sub, "encoding") {
        reply.simple(if sparse { "sparse" } else { "dense" });
    } else {
        let text = format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        );
        reply.error(&text);
    }
    if converted {
        // Force propagation of the new encoding, as Redis does.
        ctx.dirty(1);
    }
}

/// PFSELFTEST: the self-test in `hyperloglog::self_test`; +OK, or the
/// first failure as a `TESTFAILED ...` error. Takes about half a second in
/// a release build, as in Redis.
fn pfselftest(ctx: &mut Ctx, _args: Args) {
    let mut rng = rand::thread_rng();
    match hll::self_test(&mut rng, ctx.server.config.hll_sparse_max_bytes) {
        Ok(()) => ctx.reply().ok(),
        Err(text) => ctx.reply().error(&text),
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::string::harness::Harness;
    use crate::object::{RObj, SetValue, Value};

    /// `server.dirty` after each command, as Redis 7.0.15 counts it
    /// (`rdb_changes_since_last_save` deltas measured on the reference).
    #[test]
    fn dirty_counts_match_redis() {
        let mut h = Harness::new();
        let step = |h: &mut Harness, words: &[&[u8]], delta: u64| {
            let before = h.server.dirty;
            h.run(words);
            assert_eq!(
                h.server.dirty - before,
                delta,
                "{:?}",
                String::from_utf8_lossy(words[0])
            );
        };
        step(&mut h, &[b"PFADD", b"p"], 1); // created, no element
        step(&mut h, &[b"PFADD", b"p"], 0);
        step(&mut h, &[b"PFADD", b"p", b"a", b"b", b"c", b"a"], 3); // one per register
        step(&mut h, &[b"PFADD", b"p", b"a"], 0);
        step(&mut h, &[b"PFCOUNT", b"p"], 1); // the cache is written
        step(&mut h, &[b"PFCOUNT", b"p"], 0); // and then read
        step(&mut h, &[b"PFCOUNT", b"p", b"p"], 0); // a union writes nothing
        step(&mut h, &[b"PFADD", b"q", b"x", b"y"], 3); // created + 2 registers
        step(&mut h, &[b"PFMERGE", b"p", b"q"], 1);
        step(&mut h, &[b"PFMERGE", b"p"], 1);
        step(&mut h, &[b"PFCOUNT", b"nokey"], 0);
        step(&mut h, &[b"PFMERGE", b"new"], 1);
        step(&mut h, &[b"PFDEBUG", b"ENCODING", b"p"], 0);
        step(&mut h, &[b"PFDEBUG", b"DECODE", b"p"], 0);
        step(&mut h, &[b"PFDEBUG", b"GETREG", b"p"], 1); // converted to dense
        step(&mut h, &[b"PFDEBUG", b"TODENSE", b"p"], 0);
        step(&mut h, &[b"PFDEBUG", b"TODENSE", b"q"], 1);
        step(&mut h, &[b"PFDEBUG", b"GETREG", b"q"], 0);
        step(&mut h, &[b"PFCOUNT", b"q"], 1);
    }

    #[test]
    fn non_strings_are_the_usual_wrongtype() {
        let mut h = Harness::new();
        let set = RObj::new(
            Value::Set(SetValue::Intset(crate::intset::Intset::new())),
            0,
        );
        h.server.dbs[0].add(b"s", set);
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for words in [
            &[&b"PFADD"[..], b"s", b"a"][..],
            &[b"PFCOUNT", b"s"],
            &[b"PFCOUNT", b"nokey", b"s"],
            &[b"PFMERGE", b"s"],
            &[b"PFMERGE", b"d", b"s"],
            &[b"PFDEBUG", b"ENCODING", b"s"],
            &[b"PFDEBUG", b"nosuch", b"s"],
        ] {
            assert_eq!(
                h.run(words),
                wrongtype,
                "{:?}",
                String::from_utf8_lossy(words[0])
            );
        }
        // PFMERGE checks every source before creating the destination.
        assert!(h.server.dbs[0].get(b"d").is_none());
    }

    #[test]
    fn writes_make_an_embstr_hyperloglog_raw() {
        let mut h = Harness::new();
        // A sparse HyperLogLog of one element is 21 bytes: SET stores it
        // as an embstr, as Redis does.
        let one = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x71\xa6\x84\x4e\x57";
        h.run(&[b"SET", b"k", one]);
        assert_eq!(h.encoding("k"), "embstr");
        h.run(&[b"PFCOUNT", b"k", b"k"]);
        assert_eq!(h.encoding("k"), "embstr", "a union reads only");
        assert_eq!(h.run(&[b"PFCOUNT", b"k"]), ":1\r\n");
        assert_eq!(h.encoding("k"), "raw");
    }
}
