//! Bitmap commands through real clients. Every expected reply below was
//! taken from Redis 7.0.15, including the argument-order quirks (which error
//! a bad call gets, and which calls answer before reading their arguments).

mod common;
use common::*;

const NIL: &str = "$-1\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const BAD_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BAD_TYPE: &str = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// A bulk reply holding `bytes`, as [`Wire`] renders it.
fn bulk_bytes(bytes: &[u8]) -> String {
    format!("${}\r\n{}\r\n", bytes.len(), text(bytes))
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// An array reply of integers and nils (`None`).
fn array(items: &[Option<i64>]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        match item {
            Some(n) => out.push_str(&int(*n)),
            None => out.push_str(NIL),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// SETBIT GETBIT
// ---------------------------------------------------------------------------

#[test]
fn setbit_numbers_bits_from_the_most_significant_end() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SETBIT k 7 1"), int(0));
    assert_eq!(w.cmd("GET k"), bulk_bytes(b"\x01"));
    assert_eq!(w.cmd("SETBIT k 8 1"), int(0));
    assert_eq!(w.cmd("GET k"), bulk_bytes(b"\x01\x80"));
    // The reply is the old value.
    assert_eq!(w.cmd("SETBIT k 7 1"), int(1));
    assert_eq!(w.cmd("SETBIT k 7 0"), int(1));
    assert_eq!(w.cmd("GET k"), bulk_bytes(b"\x00\x80"));
    // Clearing a bit far away still grows the string.
    assert_eq!(w.cmd("SETBIT k 100 0"), int(0));
    assert_eq!(w.cmd("STRLEN k"), int(13));
}

#[test]
fn getbit_reads_zero_past_the_end_and_on_missing_keys() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SETBIT k 6 1");
    assert_eq!(w.cmd("GETBIT k 6"), int(1));
    assert_eq!(w.cmd("GETBIT k 7"), int(0));
    assert_eq!(w.cmd("GETBIT k 1000000"), int(0));
    assert_eq!(w.cmd("GETBIT missing 5"), int(0));
    // An integer value is read as its digits: "12" is 0x31 0x32.
    w.cmd("SET n 12");
    assert_eq!(w.cmd("GETBIT n 2"), int(1));
    assert_eq!(w.cmd("GETBIT n 3"), int(1));
    assert_eq!(w.cmd("GETBIT n 4"), int(0));
    assert_eq!(w.cmd("GETBIT n 15"), int(0));
    assert_eq!(w.cmd("GETBIT n 14"), int(1));
}

#[test]
fn setbit_on_an_integer_edits_its_digits() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET n 12");
    assert_eq!(w.cmd("SETBIT n 0 1"), int(0));
    assert_eq!(w.cmd("GET n"), bulk_bytes(b"\xb12"));
}

#[test]
fn bit_offsets_and_values_are_checked_in_order() {
    let server = start();
    let mut w = Wire::connect(&server);
    let bad_bit = "-ERR bit is not an integer or out of range\r\n";
    assert_eq!(w.cmd("SETBIT k -1 1"), BAD_OFFSET);
    assert_eq!(w.cmd("SETBIT k abc 1"), BAD_OFFSET);
    assert_eq!(w.cmd("SETBIT k abc abc"), BAD_OFFSET);
    assert_eq!(w.cmd("SETBIT k 4294967296 0"), BAD_OFFSET);
    assert_eq!(w.cmd("SETBIT k 0 2"), bad_bit);
    assert_eq!(w.cmd("SETBIT k 0 -1"), bad_bit);
    assert_eq!(w.cmd("SETBIT k 0 abc"), bad_bit);
    assert_eq!(w.cmd("GETBIT k -1"), BAD_OFFSET);
    assert_eq!(w.cmd("GETBIT k 4294967296"), BAD_OFFSET);
    assert_eq!(w.cmd("GETBIT k 4294967295"), int(0));
    assert_eq!(w.cmd("GET k"), NIL, "no error may create the key");
}

#[test]
fn bit_offsets_follow_the_configured_proto_max_bulk_len() {
    let server = start_with(|c| c.proto_max_bulk_len = 1000);
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SETBIT k 7999 1"), int(0));
    assert_eq!(w.cmd("STRLEN k"), int(1000));
    assert_eq!(w.cmd("SETBIT k 8000 1"), BAD_OFFSET);
    assert_eq!(w.cmd("GETBIT k 8000"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k GET u8 8000"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k GET u8 #1000"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k GET u8 #999"), array(&[Some(1)]));
}

// ---------------------------------------------------------------------------
// BITCOUNT
// ---------------------------------------------------------------------------

#[test]
fn bitcount_whole_string_byte_and_bit_ranges() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET foobar foobar");
    assert_eq!(w.cmd("BITCOUNT foobar"), int(26));
    assert_eq!(w.cmd("BITCOUNT foobar 0 0"), int(4));
    assert_eq!(w.cmd("BITCOUNT foobar 1 1"), int(6));
    assert_eq!(w.cmd("BITCOUNT foobar 1 1 BYTE"), int(6));
    assert_eq!(w.cmd("BITCOUNT foobar 5 30 BIT"), int(17));
    assert_eq!(w.cmd("BITCOUNT foobar 5 30 bit"), int(17));
    assert_eq!(w.cmd("BITCOUNT foobar -100 -1"), int(26));
    // Both negative with start > end is 0 at once (even -4 -5, which would
    // otherwise clamp to byte 0).
    assert_eq!(w.cmd("BITCOUNT foobar -4 -5"), int(0));
    w.cmd("SET n 12");
    assert_eq!(w.cmd("BITCOUNT n"), int(6));
    w.call(&[b"SET", b"e", b""]);
    assert_eq!(w.cmd("BITCOUNT e"), int(0));
}

#[test]
fn bitcount_checks_the_key_before_its_arguments() {
    let server = start();
    let mut w = Wire::connect(&server);
    // A missing key is 0 whatever follows.
    assert_eq!(w.cmd("BITCOUNT missing a"), int(0));
    assert_eq!(w.cmd("BITCOUNT missing 0 1 xx"), int(0));
    w.cmd("SET foobar foobar");
    assert_eq!(w.cmd("BITCOUNT foobar 0"), SYNTAX);
    assert_eq!(w.cmd("BITCOUNT foobar 0 1 BIT extra"), SYNTAX);
    assert_eq!(w.cmd("BITCOUNT foobar a b"), NOT_INT);
    assert_eq!(w.cmd("BITCOUNT foobar 5 30 foo"), SYNTAX);
    // The negative shortcut comes before the unit word is read.
    assert_eq!(w.cmd("BITCOUNT foobar -1 -5 foo"), int(0));
}

// ---------------------------------------------------------------------------
// BITPOS
// ---------------------------------------------------------------------------

#[test]
fn bitpos_finds_the_first_bit_in_byte_and_bit_ranges() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.call(&[b"SET", b"k", b"\xff\xf0\x00"]);
    assert_eq!(w.cmd("BITPOS k 0"), int(12));
    assert_eq!(w.cmd("BITPOS k 1"), int(0));
    assert_eq!(w.cmd("BITPOS k 0 2 -1 BYTE"), int(16));
    assert_eq!(w.cmd("BITPOS k 1 7 15 BIT"), int(7));
    assert_eq!(w.cmd("BITPOS k 1 2"), int(-1));
    w.call(&[b"SET", b"ff", b"\xff\xff"]);
    // No 0 inside: without an end the string counts as padded with zeros...
    assert_eq!(w.cmd("BITPOS ff 0"), int(16));
    assert_eq!(w.cmd("BITPOS ff 0 0"), int(16));
    // ...with an explicit end it does not.
    assert_eq!(w.cmd("BITPOS ff 0 0 -1"), int(-1));
    assert_eq!(w.cmd("BITPOS ff 0 0 -1 BIT"), int(-1));
    // BITPOS has no "both negative" shortcut: -4 -5 clamps to byte 0.
    assert_eq!(w.cmd("BITPOS ff 0 -4 -5"), int(-1));
    assert_eq!(w.cmd("BITPOS ff 1 -4 -5"), int(0));
    w.call(&[b"SET", b"e", b""]);
    assert_eq!(w.cmd("BITPOS e 0"), int(-1));
    assert_eq!(w.cmd("BITPOS e 1"), int(-1));
}

#[test]
fn bitpos_on_a_missing_key_answers_before_reading_the_range() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("BITPOS missing 0"), int(0));
    assert_eq!(w.cmd("BITPOS missing 1"), int(-1));
    assert_eq!(w.cmd("BITPOS missing 1 abc"), int(-1));
    // But the bit itself is checked first.
    assert_eq!(
        w.cmd("BITPOS missing 2"),
        "-ERR The bit argument must be 1 or 0.\r\n"
    );
    assert_eq!(w.cmd("BITPOS missing abc"), NOT_INT);
}

#[test]
fn bitpos_argument_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.call(&[b"SET", b"ff", b"\xff\xff"]);
    assert_eq!(w.cmd("BITPOS ff 1 abc"), NOT_INT);
    assert_eq!(w.cmd("BITPOS ff 1 0 abc"), NOT_INT);
    assert_eq!(w.cmd("BITPOS ff 1 0 1 foo"), SYNTAX);
    // The unit word is read before the end.
    assert_eq!(w.cmd("BITPOS ff 1 0 abc foo"), SYNTAX);
    assert_eq!(w.cmd("BITPOS ff 1 0 1 bit extra"), SYNTAX);
}

// ---------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------

#[test]
fn bitop_combines_sources_padding_the_short_ones_with_zeros() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.call(&[b"SET", b"a", b"\xff\x0f"]);
    w.call(&[b"SET", b"b", b"\xf0"]);
    assert_eq!(w.cmd("BITOP AND d a b"), int(2));
    assert_eq!(w.cmd("GET d"), bulk_bytes(b"\xf0\x00"));
    assert_eq!(w.cmd("BITOP OR d a b"), int(2));
    assert_eq!(w.cmd("GET d"), bulk_bytes(b"\xff\x0f"));
    assert_eq!(w.cmd("BITOP XOR d a b missing"), int(2));
    assert_eq!(w.cmd("GET d"), bulk_bytes(b"\x0f\x0f"));
    assert_eq!(w.cmd("BITOP not d a"), int(2));
    assert_eq!(w.cmd("GET d"), bulk_bytes(b"\x00\xf0"));
    // An integer source is its digits.
    w.cmd("SET n 12");
    assert_eq!(w.cmd("BITOP OR d n"), int(2));
    assert_eq!(w.cmd("GET d"), bulk("12"));
}

#[test]
fn bitop_with_an_empty_result_deletes_the_destination() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET d old");
    assert_eq!(w.cmd("BITOP AND d missing1 missing2"), int(0));
    assert_eq!(w.cmd("GET d"), NIL);
    assert_eq!(w.cmd("BITOP NOT d missing"), int(0));
    assert_eq!(w.cmd("GET d"), NIL);
}

#[test]
fn bitop_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(
        w.cmd("BITOP NOT d a b"),
        "-ERR BITOP NOT must be called with a single source key.\r\n"
    );
    assert_eq!(w.cmd("BITOP NAND d a"), SYNTAX);
    assert_eq!(
        w.cmd("BITOP AND d"),
        "-ERR wrong number of arguments for 'bitop' command\r\n"
    );
}

// ---------------------------------------------------------------------------
// BITFIELD BITFIELD_RO
// ---------------------------------------------------------------------------

#[test]
fn bitfield_set_get_and_incrby() {
    let server = start();
    let mut w = Wire::connect(&server);
    // SET replies the old value; INCRBY the new one.
    assert_eq!(w.cmd("BITFIELD k SET u8 0 255"), array(&[Some(0)]));
    assert_eq!(
        w.cmd("BITFIELD k GET u8 0 GET i8 0"),
        array(&[Some(255), Some(-1)])
    );
    assert_eq!(w.cmd("BITFIELD k INCRBY u8 0 10"), array(&[Some(9)]));
    // `#N` is the N-th field of the type's width.
    assert_eq!(
        w.cmd("BITFIELD k SET i8 #1 -1 GET i8 #1 GET u8 8"),
        array(&[Some(0), Some(-1), Some(255)])
    );
    assert_eq!(w.cmd("GET k"), bulk_bytes(b"\x09\xff"));
    assert_eq!(
        w.cmd("BITFIELD k GET i64 0 GET u63 1"),
        array(&[Some(720294465402568704), Some(720294465402568704)])
    );
    // No subcommands at all: an empty array.
    assert_eq!(w.cmd("BITFIELD k"), "*0\r\n");
    assert_eq!(w.cmd("BITFIELD k OVERFLOW SAT"), "*0\r\n");
    assert_eq!(w.cmd("BITFIELD missing GET u8 0"), array(&[Some(0)]));
}

#[test]
fn bitfield_overflow_policies() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("BITFIELD k SET u8 0 255");
    assert_eq!(
        w.cmd("BITFIELD k INCRBY u8 0 1"),
        array(&[Some(0)]),
        "WRAP is the default"
    );
    w.cmd("BITFIELD k SET u8 0 250");
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW SAT INCRBY u8 0 300"),
        array(&[Some(255)])
    );
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW FAIL INCRBY u8 0 1"),
        array(&[None]),
        "FAIL replies nil"
    );
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW FAIL INCRBY u8 0 -300 GET u8 0"),
        array(&[None, Some(255)]),
        "and writes nothing"
    );
    // The policy applies to the subcommands after it.
    assert_eq!(
        w.cmd(
            "BITFIELD k INCRBY i8 0 200 OVERFLOW SAT INCRBY i8 0 200 OVERFLOW FAIL INCRBY i8 0 -1"
        ),
        array(&[Some(-57), Some(127), Some(126)])
    );
    // Redis 7.0 quirks kept: SAT of a negative into an unsigned field is
    // the maximum; SAT of a value near i64::MIN into i8 saturates up.
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW SAT SET u8 0 -1 GET u8 0"),
        array(&[Some(126), Some(255)])
    );
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775808 GET i8 0"),
        array(&[Some(-1), Some(127)])
    );
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW WRAP SET i8 0 128 GET i8 0"),
        array(&[Some(127), Some(-128)])
    );
    assert_eq!(
        w.cmd(
            "BITFIELD k SET i64 0 0 INCRBY i64 0 9223372036854775807 OVERFLOW FAIL INCRBY i64 0 1"
        ),
        array(&[Some(i64::MIN), Some(9223372036854775807), None])
    );
}

#[test]
fn bitfield_grows_the_string_once_even_when_every_write_fails() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW FAIL INCRBY u8 100 300"),
        array(&[None])
    );
    assert_eq!(w.cmd("STRLEN k"), int(14));
    assert_eq!(w.cmd("BITCOUNT k"), int(0));
}

#[test]
fn bitfield_argument_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    for line in [
        "BITFIELD k GET u64 0",
        "BITFIELD k GET i65 0",
        "BITFIELD k GET I8 0",
        "BITFIELD k GET u0 0",
        "BITFIELD k GET x8 0",
    ] {
        assert_eq!(w.cmd(line), BAD_TYPE, "{line}");
    }
    assert_eq!(w.cmd("BITFIELD k GET u8 -1"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k GET u8 4294967296"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k GET u8 #536870912"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k SET u8 0 abc"), NOT_INT);
    assert_eq!(
        w.cmd("BITFIELD k OVERFLOW foo"),
        "-ERR Invalid OVERFLOW type specified\r\n"
    );
    assert_eq!(w.cmd("BITFIELD k FOO"), SYNTAX);
    assert_eq!(w.cmd("BITFIELD k GET u8"), SYNTAX);
    assert_eq!(w.cmd("BITFIELD k SET u8 0"), SYNTAX);
    assert_eq!(w.cmd("BITFIELD k OVERFLOW"), SYNTAX);
    // The first bad subcommand decides, and nothing runs.
    assert_eq!(w.cmd("BITFIELD k SET u8 0 1 GET u99 0"), BAD_TYPE);
    assert_eq!(w.cmd("GET k"), NIL);
}

#[test]
fn bitfield_ro_reads_and_refuses_writes_after_parsing() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("BITFIELD k SET u8 0 170");
    assert_eq!(
        w.cmd("BITFIELD_RO k GET u8 0 GET i4 4"),
        array(&[Some(170), Some(-6)])
    );
    assert_eq!(w.cmd("BITFIELD_RO missing GET u8 0"), array(&[Some(0)]));
    let ro = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
    assert_eq!(w.cmd("BITFIELD_RO k SET u8 0 1"), ro);
    assert_eq!(w.cmd("BITFIELD_RO k INCRBY u8 0 1"), ro);
    // Arguments are parsed first, so a bad GET after a SET is a GET error.
    assert_eq!(w.cmd("BITFIELD_RO k INCRBY u8 0 1 GET u8 foo"), BAD_OFFSET);
    assert_eq!(w.cmd("BITFIELD k GET u8 0"), array(&[Some(170)]));
}

#[test]
fn bitfield_on_an_integer_value_uses_its_digits() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET n 12");
    assert_eq!(w.cmd("BITFIELD n GET u8 0"), array(&[Some(0x31)]));
    assert_eq!(w.cmd("BITFIELD n SET u8 0 65"), array(&[Some(0x31)]));
    assert_eq!(w.cmd("GET n"), bulk("A2"));
}

// ---------------------------------------------------------------------------
// Needs other chapters: these pass once they are integrated.
// ---------------------------------------------------------------------------

#[test]

fn bitmap_commands_on_another_type() {
    let server = start();
    let mut w = Wire::connect(&server);
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(w.cmd("LPUSH l a"), int(1));
    for line in [
        "SETBIT l 0 1",
        "GETBIT l 0",
        "BITCOUNT l",
        "BITPOS l 1",
        "BITOP AND d l",
        "BITFIELD l GET u8 0",
        "BITFIELD l SET u8 0 1",
        "BITFIELD_RO l GET u8 0",
    ] {
        assert_eq!(w.cmd(line), wrongtype, "{line}");
    }
    // BITOP overwrites a destination of any type.
    w.cmd("SET s x");
    assert_eq!(w.cmd("BITOP OR l s"), int(1));
    assert_eq!(w.cmd("GET l"), bulk("x"));
}

#[test]

fn bitmap_values_are_raw() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET s abc");
    w.cmd("SETBIT s 1 1");
    w.cmd("SETBIT new 1 1");
    w.cmd("SET n 12");
    w.cmd("BITFIELD n SET u8 0 1");
    w.cmd("BITOP OR d n");
    for key in ["s", "new", "n", "d"] {
        assert_eq!(
            w.cmd(&format!("OBJECT ENCODING {key}")),
            bulk("raw"),
            "{key}"
        );
    }
}
