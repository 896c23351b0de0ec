//! # Bitmap commands
//!
//! The seven bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO) work on ordinary string values read as arrays of
//! bits; the algorithms, and the reasons behind them, are in the bitmap
//! chapter (`src/bitops.rs`). This file is the command layer: it parses
//! arguments in Redis's order (which decides which error a bad call gets),
//! looks keys up, handles the cases the algorithms leave to it, and replies.
//!
//! ## The invariant: writers grow the string first, once, and make it raw
//!
//! A command that writes bits (SETBIT, BITFIELD with SET or INCRBY) first
//! pads the string with zero bytes up to the highest bit it will touch, then
//! writes in place. A value that was `int` or `embstr` becomes `raw` on the
//! way (it is about to be modified in place), and a key the command creates
//! is `raw` from the start. BITOP stores a brand-new `raw` value. The
//! growth alone counts as a change: `SETBIT k 1000 0` on a short string
//! changes no bit that existed, but the string got longer, so the key is
//! signalled, `setbit` fires and `dirty` goes up.
//!
//! ## What the command layer handles itself
//!
//! - BITCOUNT, GETBIT and BITPOS on a missing key answer before reading any
//!   range argument: 0, 0, and 0 or -1 (a missing key is an endless run of
//!   zeros, so the first 0 is at 0 and there is no 1).
//! - BITOP whose result is empty deletes the destination (event `del`)
//!   instead of storing an empty string.
//! - BITFIELD grows the string once, up front, to the highest field any SET
//!   or INCRBY names, even if every one of them then fails under
//!   `OVERFLOW FAIL`; only the fields actually written count as changes.
//!
//! ## The Redis C counterpart
//!
//! `src/bitops.c`: `setbitCommand`, `getbitCommand`, `bitcountCommand`,
//! `bitposCommand`, `bitopCommand`, `bitfieldGeneric` (with `bitfieldCommand`
//! and `bitfieldroCommand`), `lookupStringForBitCommand`,
//! `getObjectReadOnlyString`.
//!
//! ## What we simplified
//!
//! Redis lifts the `proto-max-bulk-len` limit on offsets for its master and
//! for AOF loading (`mustObeyClient`); there is neither yet, so the limit
//! always applies. Nothing else: every reply and error is Redis 7.0's.

use crate::bitops::{
    self, BitOp, BitUnit, FieldType, Overflow, ERR_BITFIELD_RO, ERR_BITFIELD_TYPE, ERR_BITOP_NOT,
    ERR_BITPOS_BIT, ERR_BIT_OFFSET, ERR_BIT_VALUE, ERR_OVERFLOW_TYPE,
};
use crate::object::{StrValue, Value};
use crate::resp::{parse_i64, Args, Reply};
use crate::sds::Sds;
use crate::server::command::{CommandDef, Group};
use crate::server::notify_class::{GENERIC, STRING};
use crate::server::{Ctx, NOT_INTEGER, SYNTAX_ERR, WRONGTYPE};

use super::{arg_i64, eq_ic};

/// The flags are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "setbit",
        arity: 4,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Sets or clears one bit of a string, growing it as needed.",
        run: setbit,
        ..CommandDef::base(Group::Bitmap)
    },
    CommandDef {
        name: "getbit",
        arity: 3,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.2.0",
        summary: "Reads one bit of a string; bits past the end are 0.",
        run: getbit,
        ..CommandDef::base(Group::Bitmap)
    },
    CommandDef {
        name: "bitcount",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.6.0",
        summary: "Counts the 1 bits of a string, optionally in a byte or bit range.",
        run: bitcount,
        ..CommandDef::base(Group::Bitmap)
    },
    CommandDef {
        name: "bitpos",
        arity: -3,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "2.8.7",
        summary: "Finds the first 0 or 1 bit of a string, optionally in a range.",
        run: bitpos,
        ..CommandDef::base(Group::Bitmap)
    },
    CommandDef {
        name: "bitop",
        arity: -4,
        flags: "write denyoom",
        first_key: 2,
        last_key: -1,
        key_step: 1,
        since: "2.6.0",
        summary: "Combines strings bit by bit with AND, OR, XOR or NOT into a key.",
        run: bitop,
        ..CommandDef::base(Group::Bitmap)
    },
    CommandDef {
        name: "bitfield",
        arity: -2,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Reads, writes and increments integers of any width at any bit offset.",
        run: bitfield,
        ..CommandDef::base(Group::Bitmap)
    },
    CommandDef {
        name: "bitfield_ro",
        arity: -2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.0.0",
        summary: "BITFIELD restricted to GET, safe on a read-only replica.",
        run: bitfield_ro,
        ..CommandDef::base(Group::Bitmap)
    },
];

/// Parse a bit offset (SETBIT, GETBIT) against `proto-max-bulk-len`.
fn arg_bit_offset(ctx: &mut Ctx, arg: &[u8]) -> Option<u64> {
    let max = ctx.server.config.proto_max_bulk_len;
    match bitops::parse_bit_offset(arg, false, 0, max) {
        Ok(offset) => Some(offset),
        Err(()) => {
            ctx.reply().error(ERR_BIT_OFFSET);
            None
        }
    }
}

// ANCHOR: bitmap_grow_for_write
/// Redis's `lookupStringForBitCommand`, shaped as a callback: find `key` as
/// a string (WRONGTYPE, and `None`, if it is not), make it `raw`, pad it
/// with zeros so that bit `max_bit` exists, and hand the bytes to `write`
/// together with whether the key was created or grew, and the reply buffer.
///
/// A missing key is created as a `raw` string of exactly `max_bit / 8 + 1`
/// zero bytes. An existing one grows greedily (`sdsgrowzero`), so a SETBIT
/// walking up a bitmap reallocates only about log2(n) times.
fn with_bits_for_write<R>(
    ctx: &mut Ctx,
    key: &[u8],
    max_bit: u64,
    write: impl FnOnce(&mut Sds, bool, &mut Reply) -> R,
) -> Option<R> {
    let byte_len =
        usize::try_from(max_bit / 8 + 1).expect("offset checked against proto-max-bulk-len");
    match ctx.write_key(key) {
        (Some(obj), reply) => {
            let Some(value) = obj.as_str_mut() else {
                reply.error(WRONGTYPE);
                return None;
            };
            let sds = value.make_raw();
            let old_len = sds.len();
            sds.grow_zeroed(byte_len);
            let grew = sds.len() != old_len;
            Some(write(sds, grew, reply))
        }
        (None, reply) => {
            let mut sds = Sds::with_capacity(byte_len);
            sds.grow_zeroed(byte_len);
            let result = write(&mut sds, true, reply);
            let obj = ctx.new_object(Value::Str(StrValue::Raw(sds)));
            ctx.db().add(key, obj);
            Some(result)
        }
    }
}
// ANCHOR_END: bitmap_grow_for_write

// ============================================================================
// SETBIT GETBIT
// ============================================================================

/// SETBIT key offset 0|1: the bit's old value.
fn setbit(ctx: &mut Ctx, args: Args) {
    let key = &args[1];
    let Some(offset) = arg_bit_offset(ctx, &args[2]) else {
        return;
    };
    let on = match parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => {
            ctx.reply().error(ERR_BIT_VALUE);
            return;
        }
    };
    let changed = with_bits_for_write(ctx, key, offset, |sds, grew, reply| {
        let byte = &mut sds.as_bytes_mut()[(offset / 8) as usize];
        let mask = 0x80u8 >> (offset % 8);
        let old = *byte & mask != 0;
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        reply.int(i64::from(old));
        grew || old != on
    });
    if changed == Some(true) {
        ctx.signal_modified_key(key);
        ctx.notify(STRING, "setbit", key);
        ctx.dirty(1);
    }
}

/// GETBIT key offset: 0 or 1; 0 past the end and for a missing key.
fn getbit(ctx: &mut Ctx, args: Args) {
    let Some(offset) = arg_bit_offset(ctx, &args[2]) else {
        return;
    };
    match ctx.read_key(&args[1]) {
        (None, reply) => reply.int(0),
        (Some(obj), reply) => match obj.as_str() {
            None => reply.error(WRONGTYPE),
            Some(value) => {
                let mut scratch = [0u8; 20];
                reply.int(i64::from(bitops::get_bit(
                    value.bytes(&mut scratch),
                    offset,
                )));
            }
        },
    }
}

// ============================================================================
// BITCOUNT BITPOS
// ============================================================================

/// BITCOUNT key [start end [BYTE|BIT]]
///
/// Redis's order: the key first (a missing key is 0 whatever follows), then
/// the argument count (3, or more than 5, is a syntax error), `start`,
/// `end`, the "both negative and start > end" shortcut to 0, and only then
/// the unit word.
fn bitcount(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(&args[1]);
    let Some(obj) = obj else {
        reply.int(0);
        return;
    };
    let Some(value) = obj.as_str() else {
        reply.error(WRONGTYPE);
        return;
    };
    let mut scratch = [0u8; 20];
    let bytes = value.bytes(&mut scratch);
    let count = match args.len() {
        2 => bitops::popcount(bytes),
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
                reply.error(NOT_INTEGER);
                return;
            };
            if start < 0 && end < 0 && start > end {
                reply.int(0);
                return;
            }
            let unit = if args.len() == 5 {
                match BitUnit::parse(&args[4]) {
                    Some(unit) => unit,
                    None => {
                        reply.error(SYNTAX_ERR);
                        return;
                    }
                }
            } else {
                BitUnit::Byte
            };
            bitops::bitcount_range(bytes, start, end, unit)
        }
        _ => {
            reply.error(SYNTAX_ERR);
            return;
        }
    };
    reply.int(count as i64);
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
///
/// Redis's order: `bit` (an integer, then 0 or 1), the key (a missing key
/// answers at once: 0 for a 0, -1 for a 1), then `start`, the unit word,
/// `end`. More than six arguments is a syntax error.
fn bitpos(ctx: &mut Ctx, args: Args) {
    let Some(bit) = arg_i64(ctx, &args[2]) else {
        return;
    };
    if bit != 0 && bit != 1 {
        ctx.reply().error(ERR_BITPOS_BIT);
        return;
    }
    let (obj, reply) = ctx.read_key(&args[1]);
    let Some(obj) = obj else {
        reply.int(if bit == 1 { -1 } else { 0 });
        return;
    };
    let Some(value) = obj.as_str() else {
        reply.error(WRONGTYPE);
        return;
    };
    if args.len() > 6 {
        reply.error(SYNTAX_ERR);
        return;
    }
    let mut start = None;
    let mut end = None;
    let mut unit = BitUnit::Byte;
    if args.len() >= 4 {
        let Some(s) = parse_i64(&args[3]) else {
            reply.error(NOT_INTEGER);
            return;
        };
        start = Some(s);
        if args.len() == 6 {
            let Some(u) = BitUnit::parse(&args[5]) else {
                reply.error(SYNTAX_ERR);
                return;
            };
            unit = u;
        }
        if args.len() >= 5 {
            let Some(e) = parse_i64(&args[4]) else {
                reply.error(NOT_INTEGER);
                return;
            };
            end = Some(e);
        }
    }
    let mut scratch = [0u8; 20];
    let bytes = value.bytes(&mut scratch);
    reply.int(bitops::bitpos(bytes, bit as u8, start, end, unit));
}

// ============================================================================
// BITOP
// ============================================================================

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: the length of the result.
///
/// Missing sources read as empty strings. A non-empty result replaces the
/// destination (whatever its type, dropping its TTL: event `set`); an
/// empty one deletes it (event `del`, if it existed).
fn bitop(ctx: &mut Ctx, args: Args) {
    let Some(op) = BitOp::parse(&args[1]) else {
        ctx.reply().error(SYNTAX_ERR);
        return;
    };
    if op == BitOp::Not && args.len() != 4 {
        ctx.reply().error(ERR_BITOP_NOT);
        return;
    }
    let dest = &args[2];
    // First pass: the lookups Redis makes (expiry, hit/miss counts), the
    // type check, and a decoded copy of any `int` value.
    let mut decoded_ints: Vec<Option<Vec<u8>>> = Vec::with_capacity(args.len() - 3);
    for key in args.iter().skip(3) {
        match ctx.lookup_read(key).map(|obj| obj.as_str()) {
            Some(None) => {
                ctx.reply().error(WRONGTYPE);
                return;
            }
            Some(Some(StrValue::Int(n))) => decoded_ints.push(Some(Sds::from_i64(*n).to_vec())),
            _ => decoded_ints.push(None),
        }
    }
    // Second pass: borrow every source at once, without copies.
    let result = {
        let db = &ctx.server.dbs[ctx.client.db];
        let sources: Vec<&[u8]> = args
            .iter()
            .skip(3)
            .zip(&decoded_ints)
            .map(
                |(key, int)| match (int, db.get(key).and_then(|o| o.as_str())) {
                    (Some(digits), _) => digits.as_slice(),
                    (None, Some(StrValue::Embstr(s) | StrValue::Raw(s))) => s.as_bytes(),
                    _ => b"",
                },
            )
            .collect();
        bitops::bitop(op, &sources)
    };
    let len = result.len();
    if len > 0 {
        let obj = ctx.new_object(Value::Str(StrValue::Raw(Sds::new(&result))));
        ctx.set_key(dest, obj, false);
        ctx.notify(STRING, "set", dest);
        ctx.dirty(1);
    } else if ctx.delete_key(dest) {
        ctx.notify(GENERIC, "del", dest);
        ctx.dirty(1);
    }
    ctx.reply().int(len as i64);
}

// ============================================================================
// BITFIELD BITFIELD_RO
// ============================================================================

/// One parsed BITFIELD subcommand.
#[derive(Clone, Copy)]
enum FieldOp {
    Get,
    /// SET's value.
    Set(i64),
    /// INCRBY's increment.
    IncrBy(i64),
}

/// A subcommand with its field and the overflow policy in force for it.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// BITFIELD key [GET type offset] [SET type offset value]
/// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(ctx: &mut Ctx, args: Args) {
    bitfield_generic(ctx, args, false);
}

/// BITFIELD_RO key [GET type offset ...]
fn bitfield_ro(ctx: &mut Ctx, args: Args) {
    bitfield_generic(ctx, args, true);
}

// ANCHOR: bitmap_bitfield
/// Redis's `bitfieldGeneric`.
///
/// 1. Parse every subcommand before touching the key; the first bad word
///    decides the error (syntax, type, offset, OVERFLOW kind, value).
/// 2. Only GETs: read the key (missing reads as zeros). Any SET or INCRBY:
///    BITFIELD_RO refuses here, after parsing; BITFIELD grows the string
///    once to the highest bit any writer names.
/// 3. Run the subcommands in order: GET replies the field; SET replies the
///    old value and stores the new one; INCRBY replies and stores the sum;
///    under `OVERFLOW FAIL` a SET or INCRBY that does not fit replies nil
///    and writes nothing.
/// 4. Each field written counts as a change when the string grew or the
///    field's value changed; changes fire one `setbit` event and add to
///    `dirty`.
fn bitfield_generic(ctx: &mut Ctx, args: Args, read_only: bool) {
    let max_bulk_len = ctx.server.config.proto_max_bulk_len;
    let mut fields: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest_write_bit: Option<u64> = None;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let word = &args[j];
        let writes = if eq_ic(word, "get") && remaining >= 2 {
            false
        } else if (eq_ic(word, "set") || eq_ic(word, "incrby")) && remaining >= 3 {
            true
        } else if eq_ic(word, "overflow") && remaining >= 1 {
            match Overflow::parse(&args[j + 1]) {
                Some(o) => overflow = o,
                None => {
                    ctx.reply().error(ERR_OVERFLOW_TYPE);
                    return;
                }
            }
            j += 2;
            continue;
        } else {
            ctx.reply().error(SYNTAX_ERR);
            return;
        };
        let Some(ty) = FieldType::parse(&args[j + 1]) else {
            ctx.reply().error(ERR_BITFIELD_TYPE);
            return;
        };
        let Ok(offset) = bitops::parse_bit_offset(&args[j + 2], true, ty.bits(), max_bulk_len)
        else {
            ctx.reply().error(ERR_BIT_OFFSET);
            return;
        };
        let op = if writes {
            let last_bit = offset + u64::from(ty.bits()) - 1;
            highest_write_bit = Some(highest_write_bit.map_or(last_bit, |h| h.max(last_bit)));
            let Some(n) = arg_i64(ctx, &args[j + 3]) else {
                return;
            };
            if eq_ic(word, "set") {
                FieldOp::Set(n)
            } else {
                FieldOp::IncrBy(n)
            }
        } else {
            FieldOp::Get
        };
        fields.push(Field {
            op,
            ty,
            offset,
            overflow,
        });
        j += if writes { 4 } else { 3 };
    }

    let key = &args[1];
    let Some(max_bit) = highest_write_bit else {
        // Only GETs (or nothing at all): a plain read.
        let (obj, reply) = ctx.read_key(key);
        let value = match obj.map(|o| o.as_str()) {
            Some(None) => {
                reply.error(WRONGTYPE);
                return;
            }
            Some(Some(value)) => Some(value),
            None => None,
        };
        let mut scratch = [0u8; 20];
        let bytes = value.map_or(&b""[..], |v| v.bytes(&mut scratch));
        reply.array(fields.len());
        for field in &fields {
            reply.int(bitops::get_field(bytes, field.offset, field.ty));
        }
        return;
    };
    if read_only {
        ctx.reply().error(ERR_BITFIELD_RO);
        return;
    }
    let changes = with_bits_for_write(ctx, key, max_bit, |sds, grew, reply| {
        reply.array(fields.len());
        let mut changes = 0u64;
        for field in &fields {
            let old = bitops::get_field(sds, field.offset, field.ty);
            let (stored, replied) = match field.op {
                FieldOp::Get => {
                    reply.int(old);
                    continue;
                }
                FieldOp::Set(value) => {
                    let stored = bitops::set_with_overflow(value, field.ty, field.overflow);
                    (stored, Some(old))
                }
                FieldOp::IncrBy(incr) => {
                    let stored = bitops::incr_field(old, incr, field.ty, field.overflow);
                    (stored, stored)
                }
            };
            match (stored, replied) {
                (Some(new), Some(answer)) => {
                    reply.int(answer);
                    bitops::store_field(sds.as_bytes_mut(), field.offset, field.ty, new);
                    if grew || new != old {
                        changes += 1;
                    }
                }
                _ => reply.null(),
            }
        }
        changes
    });
    if let Some(changes @ 1..) = changes {
        ctx.signal_modified_key(key);
        ctx.notify(STRING, "setbit", key);
        ctx.dirty(changes);
    }
}
// ANCHOR_END: bitmap_bitfield

#[cfg(test)]
mod tests {
    use crate::commands::string::harness::Harness;

    #[test]
    fn bitmap_writes_leave_raw_values() {
        let mut h = Harness::new();
        h.run(&[b"SET", b"emb", b"abc"]);
        h.run(&[b"SETBIT", b"emb", b"1", b"1"]);
        h.run(&[b"SETBIT", b"new", b"1", b"1"]);
        h.run(&[b"SET", b"int", b"12"]);
        h.run(&[b"BITFIELD", b"int", b"SET", b"u8", b"0", b"65"]);
        h.run(&[b"SET", b"n", b"7"]);
        h.run(&[b"BITOP", b"OR", b"dest", b"n"]);
        for key in ["emb", "new", "int", "dest"] {
            assert_eq!(h.encoding(key), "raw", "{key}");
        }
        // Reads do not change the encoding.
        h.run(&[b"BITCOUNT", b"n"]);
        h.run(&[b"BITFIELD", b"n", b"GET", b"u8", b"0"]);
        assert_eq!(h.encoding("n"), "int");
    }

    #[test]
    fn a_new_bitmap_is_exactly_as_long_as_its_highest_bit_needs() {
        let mut h = Harness::new();
        h.run(&[b"SETBIT", b"k", b"8000", b"1"]);
        let value = h.server.dbs[0]
            .get(b"k")
            .unwrap()
            .as_str()
            .unwrap()
            .to_vec();
        assert_eq!(value.len(), 1001);
    }

    #[test]
    fn resp3_bitfield_fail_is_a_null() {
        let mut h = Harness::new().resp3();
        assert_eq!(
            h.run(&[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"FAIL",
                b"INCRBY",
                b"u2",
                b"0",
                b"9"
            ]),
            "*1\r\n_\r\n"
        );
    }

    #[test]
    fn dirty_counts_changes_as_redis_does() {
        let mut h = Harness::new();
        let dirty = |h: &Harness| h.server.dirty;
        h.run(&[b"SETBIT", b"k", b"7", b"1"]);
        assert_eq!(dirty(&h), 1, "created");
        h.run(&[b"SETBIT", b"k", b"7", b"1"]);
        assert_eq!(dirty(&h), 1, "same bit: no change");
        h.run(&[b"SETBIT", b"k", b"100", b"0"]);
        assert_eq!(dirty(&h), 2, "a pure length change counts");
        h.run(&[
            b"BITFIELD",
            b"k",
            b"SET",
            b"u8",
            b"0",
            b"1",
            b"SET",
            b"u8",
            b"8",
            b"0",
        ]);
        assert_eq!(dirty(&h), 2, "fields set to their current values");
        h.run(&[
            b"BITFIELD",
            b"k",
            b"SET",
            b"u8",
            b"0",
            b"2",
            b"INCRBY",
            b"u8",
            b"8",
            b"1",
        ]);
        assert_eq!(dirty(&h), 4, "one per field changed");
        h.run(&[
            b"BITFIELD",
            b"f",
            b"OVERFLOW",
            b"FAIL",
            b"INCRBY",
            b"u8",
            b"0",
            b"300",
        ]);
        assert_eq!(dirty(&h), 4, "a created key whose only write failed");
        h.run(&[b"BITOP", b"AND", b"d", b"none"]);
        assert_eq!(dirty(&h), 4, "nothing to delete");
        h.run(&[b"BITOP", b"OR", b"d", b"k"]);
        assert_eq!(dirty(&h), 5);
    }
}
