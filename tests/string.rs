//! String commands through real clients: every option, every error text
//! byte for byte (each expected reply below was taken from Redis 7.0.15),
//! expiry options, the INCR family's edges, GETRANGE/SETRANGE edges, LCS,
//! and a property test against a model.

mod common;
use common::*;

use std::time::{Duration, Instant};

use proptest::prelude::*;
use redis::Value;

const NIL: &str = "$-1\r\n";
const OK: &str = "+OK\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// Wait (bounded) until `key` is gone; false if it is still there after 3 s.
fn vanishes(w: &mut Wire, key: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if w.cmd(&format!("GET {key}")) == NIL {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

// ---------------------------------------------------------------------------
// GET and SET
// ---------------------------------------------------------------------------

#[test]
fn set_and_get_round_trip_binary_values_through_the_redis_crate() {
    let server = start();
    let mut c = conn(&server);
    let value: Vec<u8> = (0..=255u8).collect();
    let () = redis::cmd("SET")
        .arg("bin")
        .arg(&value)
        .query(&mut c)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg("bin").query(&mut c).unwrap();
    assert_eq!(got, value);
    let got: Value = redis::cmd("GET").arg("missing").query(&mut c).unwrap();
    assert_eq!(got, Value::Nil);
    let () = redis::cmd("SET").arg("n").arg(-42).query(&mut c).unwrap();
    let got: i64 = redis::cmd("GET").arg("n").query(&mut c).unwrap();
    assert_eq!(got, -42);
}

#[test]
fn set_nx_and_xx_store_only_when_the_key_is_absent_or_present() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SET k v XX"), NIL);
    assert_eq!(w.cmd("GET k"), NIL);
    assert_eq!(w.cmd("SET k v NX"), OK);
    assert_eq!(w.cmd("SET k w NX"), NIL);
    assert_eq!(w.cmd("GET k"), bulk("v"));
    assert_eq!(w.cmd("SET k w xx"), OK);
    assert_eq!(w.cmd("GET k"), bulk("w"));
    assert_eq!(w.cmd("SETNX k z"), int(0));
    assert_eq!(w.cmd("SETNX other z"), int(1));
    assert_eq!(w.cmd("GET other"), bulk("z"));
}

#[test]
fn set_get_replies_the_old_value_and_combines_with_nx_since_7_0() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SET k v1 GET"), NIL);
    assert_eq!(w.cmd("SET k v2 GET"), bulk("v1"));
    // NX + GET: the old value is replied and nothing is written.
    assert_eq!(w.cmd("SET k v3 NX GET"), bulk("v2"));
    assert_eq!(w.cmd("GET k"), bulk("v2"));
    assert_eq!(w.cmd("SET fresh v NX GET"), NIL);
    assert_eq!(w.cmd("GET fresh"), bulk("v"));
    // XX + GET on a missing key: nil, and no key.
    assert_eq!(w.cmd("SET none v XX GET"), NIL);
    assert_eq!(w.cmd("GET none"), NIL);
    assert_eq!(w.cmd("SET k v4 get get"), bulk("v2"));
}

#[test]
fn conflicting_or_unknown_set_options_are_syntax_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    for line in [
        "SET k v NX XX",
        "SET k v XX NX",
        "SET k v EX 10 PX 100",
        "SET k v PX 100 EXAT 1",
        "SET k v EXAT 1 PXAT 1",
        "SET k v KEEPTTL EX 10",
        "SET k v EX 10 KEEPTTL",
        "SET k v PERSIST",
        "SET k v EX",
        "SET k v foo",
        "SET k v GET foo",
    ] {
        assert_eq!(w.cmd(line), SYNTAX, "{line}");
    }
    assert_eq!(w.cmd("GET k"), NIL, "no option error may write");
    // Repeating an option is allowed; the last expire wins.
    assert_eq!(w.cmd("SET k v EX 10 EX 20"), OK);
    assert_eq!(w.cmd("SET fresh v nx nx"), OK);
    assert_eq!(w.cmd("SET k v Ex 100 Get"), bulk("v"));
}

#[test]
fn invalid_expire_times_name_the_command() {
    let server = start();
    let mut w = Wire::connect(&server);
    let set_err = "-ERR invalid expire time in 'set' command\r\n";
    assert_eq!(w.cmd("SET k v EX 0"), set_err);
    assert_eq!(w.cmd("SET k v PX -1"), set_err);
    assert_eq!(w.cmd("SET k v EXAT 0"), set_err);
    // Seconds that overflow once multiplied by 1000, and durations that
    // overflow once added to the clock.
    assert_eq!(w.cmd("SET k v EX 9223372036854775807"), set_err);
    assert_eq!(w.cmd("SET k v EX 9223372036854775"), set_err);
    assert_eq!(w.cmd("SET k v PX 9223372036854775807"), set_err);
    assert_eq!(w.cmd("SET k v EX abc"), NOT_INT);
    // The expire error wins over GET's WRONGTYPE-free read and writes nothing.
    assert_eq!(w.cmd("SET k v EX 0 GET"), set_err);
    assert_eq!(w.cmd("GET k"), NIL);
    assert_eq!(
        w.cmd("SETEX k 0 v"),
        "-ERR invalid expire time in 'setex' command\r\n"
    );
    assert_eq!(
        w.cmd("PSETEX k -5 v"),
        "-ERR invalid expire time in 'psetex' command\r\n"
    );
    assert_eq!(w.cmd("SETEX k abc v"), NOT_INT);
    assert_eq!(
        w.cmd("SETEX k 10"),
        "-ERR wrong number of arguments for 'setex' command\r\n"
    );
    w.cmd("SET k v");
    assert_eq!(
        w.cmd("GETEX k EX 0"),
        "-ERR invalid expire time in 'getex' command\r\n"
    );
    assert_eq!(w.cmd("GETEX k PX abc"), NOT_INT);
}

#[test]
fn set_with_a_relative_expire_makes_the_key_vanish() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SET px v PX 30"), OK);
    assert_eq!(w.cmd("PSETEX psetex 30 v"), OK);
    assert_eq!(w.cmd("GET px"), bulk("v"));
    assert!(vanishes(&mut w, "px"));
    assert!(vanishes(&mut w, "psetex"));
}

#[test]
fn set_with_an_absolute_expire_in_the_past_is_gone_at_once() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SET k v PXAT 1"), OK);
    assert_eq!(w.cmd("GET k"), NIL);
    assert_eq!(w.cmd("SET k v EXAT 1"), OK);
    assert_eq!(w.cmd("GET k"), NIL);
    let soon = now_ms() + 60;
    assert_eq!(w.cmd(&format!("SET k v PXAT {soon}")), OK);
    assert_eq!(w.cmd("GET k"), bulk("v"));
    assert!(vanishes(&mut w, "k"));
}

#[test]
fn keepttl_keeps_the_ttl_and_a_plain_set_drops_it() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SET kept v PX 40"), OK);
    assert_eq!(w.cmd("SET kept v2 KEEPTTL"), OK);
    assert_eq!(w.cmd("GET kept"), bulk("v2"));
    assert!(vanishes(&mut w, "kept"), "KEEPTTL kept the 40 ms TTL");

    assert_eq!(w.cmd("SET dropped v PX 40"), OK);
    assert_eq!(w.cmd("SET dropped v2"), OK);
    assert_eq!(w.cmd("SET other v PX 40"), OK);
    // Wait until a key with the same deadline has expired: the overwritten
    // one must still be there.
    assert!(vanishes(&mut w, "other"));
    assert_eq!(w.cmd("GET dropped"), bulk("v2"));
}

// ---------------------------------------------------------------------------
// GETSET GETDEL GETEX MGET MSET MSETNX
// ---------------------------------------------------------------------------

#[test]
fn getset_replies_the_old_value_and_drops_the_ttl() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GETSET k a"), NIL);
    assert_eq!(w.cmd("GETSET k b"), bulk("a"));
    assert_eq!(w.cmd("GET k"), bulk("b"));
    assert_eq!(w.cmd("SET t v PX 40"), OK);
    assert_eq!(w.cmd("GETSET t w"), bulk("v"));
    assert_eq!(w.cmd("SET other v PX 40"), OK);
    assert!(vanishes(&mut w, "other"));
    assert_eq!(w.cmd("GET t"), bulk("w"));
}

#[test]
fn getdel_replies_and_deletes() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET k 12");
    assert_eq!(w.cmd("GETDEL k"), bulk("12"));
    assert_eq!(w.cmd("GETDEL k"), NIL);
    assert_eq!(w.cmd("GET k"), NIL);
}

#[test]
fn getex_sets_persists_or_deletes_after_replying() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET k v");
    assert_eq!(w.cmd("GETEX k"), bulk("v"));
    assert_eq!(w.cmd("GETEX k PX 30"), bulk("v"));
    assert!(vanishes(&mut w, "k"));

    w.cmd("SET p v PX 40");
    assert_eq!(w.cmd("GETEX p PERSIST"), bulk("v"));
    w.cmd("SET other v PX 40");
    assert!(vanishes(&mut w, "other"));
    assert_eq!(w.cmd("GET p"), bulk("v"), "PERSIST removed the TTL");

    // An absolute time already past: the value is replied, then the key
    // is deleted.
    assert_eq!(w.cmd("GETEX p EXAT 1"), bulk("v"));
    assert_eq!(w.cmd("GET p"), NIL);

    // A missing key is nil before the expire value is even checked.
    assert_eq!(w.cmd("GETEX missing EX 0"), NIL);
    assert_eq!(w.cmd("GETEX missing EX abc"), NIL);
}

#[test]
fn getex_options_are_checked_before_the_key() {
    let server = start();
    let mut w = Wire::connect(&server);
    for line in [
        "GETEX missing NX",
        "GETEX missing KEEPTTL",
        "GETEX missing GET",
        "GETEX missing PERSIST EX 10",
        "GETEX missing EX 10 PERSIST",
        "GETEX missing EX 10 PX 10",
        "GETEX missing EX",
    ] {
        assert_eq!(w.cmd(line), SYNTAX, "{line}");
    }
}

#[test]
fn mget_mset_and_msetnx() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("MSET a 1 b 2"), OK);
    assert_eq!(
        w.cmd("MGET a missing b"),
        "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        w.cmd("MSET a 1 b"),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(
        w.cmd("MSETNX x 1 y"),
        "-ERR wrong number of arguments for 'msetnx' command\r\n"
    );
    // All or nothing.
    assert_eq!(w.cmd("MSETNX a 9 x 9"), int(0));
    assert_eq!(w.cmd("MGET a x"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    assert_eq!(w.cmd("MSETNX x 1 y 2"), int(1));
    assert_eq!(w.cmd("MGET x y"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    // The same key twice: the last value wins.
    assert_eq!(w.cmd("MSET d 1 d 2"), OK);
    assert_eq!(w.cmd("GET d"), bulk("2"));
}

// ---------------------------------------------------------------------------
// INCR DECR INCRBY DECRBY
// ---------------------------------------------------------------------------

#[test]
fn incr_family_counts_from_zero_and_keeps_integers() {
    let server = start();
    let mut c = conn(&server);
    let n: i64 = redis::cmd("INCR").arg("c").query(&mut c).unwrap();
    assert_eq!(n, 1);
    let n: i64 = redis::cmd("INCRBY").arg("c").arg(41).query(&mut c).unwrap();
    assert_eq!(n, 42);
    let n: i64 = redis::cmd("DECRBY").arg("c").arg(50).query(&mut c).unwrap();
    assert_eq!(n, -8);
    let n: i64 = redis::cmd("DECR").arg("c").query(&mut c).unwrap();
    assert_eq!(n, -9);
    let s: String = redis::cmd("GET").arg("c").query(&mut c).unwrap();
    assert_eq!(s, "-9");
    let n: i64 = redis::cmd("DECR").arg("d").query(&mut c).unwrap();
    assert_eq!(n, -1);
}

#[test]
fn incr_family_overflow_edges() {
    let server = start();
    let mut w = Wire::connect(&server);
    let overflow = "-ERR increment or decrement would overflow\r\n";
    w.cmd("SET max 9223372036854775807");
    assert_eq!(w.cmd("INCR max"), overflow);
    assert_eq!(w.cmd("INCRBY max 1"), overflow);
    assert_eq!(w.cmd("DECRBY max -1"), overflow);
    assert_eq!(w.cmd("GET max"), bulk("9223372036854775807"));
    assert_eq!(w.cmd("INCRBY max -9223372036854775808"), int(-1));
    w.cmd("SET min -9223372036854775808");
    assert_eq!(w.cmd("DECR min"), overflow);
    assert_eq!(w.cmd("INCRBY min -1"), overflow);
    assert_eq!(w.cmd("INCRBY min 9223372036854775807"), int(-1));
    // -i64::MIN does not exist: refused before the key is read.
    assert_eq!(
        w.cmd("DECRBY nokey -9223372036854775808"),
        "-ERR decrement would overflow\r\n"
    );
    assert_eq!(w.cmd("GET nokey"), NIL);
    assert_eq!(
        w.cmd("DECRBY zero 9223372036854775807"),
        int(-9223372036854775807)
    );
    assert_eq!(w.cmd("DECR zero"), int(i64::MIN));
}

#[test]
fn incr_refuses_values_and_increments_that_are_not_canonical_integers() {
    let server = start();
    let mut w = Wire::connect(&server);
    for value in [
        "hello",
        " 1",
        "1 ",
        "010",
        "1.0",
        "+1",
        "-0",
        "99999999999999999999",
        "",
    ] {
        w.call(&[b"SET", b"k", value.as_bytes()]);
        assert_eq!(w.cmd("INCR k"), NOT_INT, "value {value:?}");
    }
    for incr in ["01", "+1", "1.5", "abc", "99999999999999999999"] {
        assert_eq!(
            w.call(&[b"INCRBY", b"n", incr.as_bytes()]),
            NOT_INT,
            "{incr:?}"
        );
        assert_eq!(
            w.call(&[b"DECRBY", b"n", incr.as_bytes()]),
            NOT_INT,
            "{incr:?}"
        );
    }
    assert_eq!(w.cmd("GET n"), NIL);
    // A digit string made raw by APPEND still counts.
    w.cmd("SET r 1");
    w.cmd("APPEND r 0");
    assert_eq!(w.cmd("INCR r"), int(11));
}

#[test]
fn counters_keep_the_ttl() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET c 1 PX 40");
    assert_eq!(w.cmd("INCR c"), int(2));
    assert_eq!(w.cmd("INCRBYFLOAT c 0.5"), bulk("2.5"));
    assert_eq!(w.cmd("APPEND c 0"), int(4));
    assert!(vanishes(&mut w, "c"));
}

// ---------------------------------------------------------------------------
// INCRBYFLOAT
// ---------------------------------------------------------------------------

#[test]
fn incrbyfloat_formats_like_redis_without_exponents() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET f 10.5");
    assert_eq!(w.cmd("INCRBYFLOAT f 0.1"), bulk("10.6"));
    assert_eq!(w.cmd("INCRBYFLOAT g 5.0e3"), bulk("5000"));
    assert_eq!(w.cmd("INCRBYFLOAT g -5000"), bulk("0"));
    assert_eq!(w.cmd("INCRBYFLOAT h 3.0"), bulk("3"));
    assert_eq!(w.cmd("INCRBYFLOAT tiny 1e-20"), bulk("0"));
    assert_eq!(w.cmd("INCRBYFLOAT z -0"), bulk("0"));
    assert_eq!(w.cmd("INCRBYFLOAT i .5"), bulk("0.5"));
    assert_eq!(w.cmd("INCRBYFLOAT i 5."), bulk("5.5"));
    assert_eq!(w.cmd("INCRBYFLOAT i +1"), bulk("6.5"));
    w.cmd("SET n 7");
    assert_eq!(w.cmd("INCRBYFLOAT n 1.25"), bulk("8.25"));
    assert_eq!(w.cmd("GET n"), bulk("8.25"));
    assert_eq!(w.cmd("INCR n"), NOT_INT);
}

#[test]
fn incrbyfloat_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET f 1");
    let nan_inf = "-ERR increment would produce NaN or Infinity\r\n";
    assert_eq!(w.cmd("INCRBYFLOAT f inf"), nan_inf);
    assert_eq!(w.cmd("INCRBYFLOAT f -inf"), nan_inf);
    assert_eq!(w.cmd("INCRBYFLOAT f nan"), NOT_FLOAT);
    assert_eq!(w.cmd("INCRBYFLOAT f abc"), NOT_FLOAT);
    assert_eq!(w.call(&[b"INCRBYFLOAT", b"f", b" 1"]), NOT_FLOAT);
    assert_eq!(w.call(&[b"INCRBYFLOAT", b"f", b"1 "]), NOT_FLOAT);
    assert_eq!(w.call(&[b"INCRBYFLOAT", b"f", b""]), NOT_FLOAT);
    w.cmd("SET s hello");
    assert_eq!(w.cmd("INCRBYFLOAT s 1"), NOT_FLOAT);
    w.call(&[b"SET", b"sp", b" 1"]);
    assert_eq!(w.cmd("INCRBYFLOAT sp 1"), NOT_FLOAT);
    assert_eq!(w.cmd("GET f"), bulk("1"));
}

// ---------------------------------------------------------------------------
// APPEND STRLEN SETRANGE GETRANGE SUBSTR
// ---------------------------------------------------------------------------

#[test]
fn append_and_strlen() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("STRLEN k"), int(0));
    assert_eq!(w.cmd("APPEND k hello"), int(5));
    assert_eq!(w.call(&[b"APPEND", b"k", b" world"]), int(11));
    assert_eq!(w.cmd("GET k"), bulk("hello world"));
    assert_eq!(w.cmd("STRLEN k"), int(11));
    w.cmd("SET i 12345");
    assert_eq!(w.cmd("STRLEN i"), int(5));
    assert_eq!(w.cmd("APPEND i 6"), int(6));
    assert_eq!(w.cmd("GET i"), bulk("123456"));
    w.cmd("SET neg -100");
    assert_eq!(w.cmd("STRLEN neg"), int(4));
}

#[test]
fn append_refuses_to_pass_proto_max_bulk_len() {
    let server = start_with(|c| c.proto_max_bulk_len = 1024 * 1024);
    let mut w = Wire::connect(&server);
    let big = vec![b'x'; 1024 * 1024 - 1];
    assert_eq!(w.call(&[b"APPEND", b"k", &big]), int(1024 * 1024 - 1));
    assert_eq!(w.cmd("APPEND k y"), int(1024 * 1024));
    assert_eq!(
        w.cmd("APPEND k z"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(w.cmd("STRLEN k"), int(1024 * 1024));
}

#[test]
fn setrange_pads_with_zeros_and_checks_its_offset() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SETRANGE k 3 hi"), int(5));
    assert_eq!(w.cmd("GET k"), bulk("\0\0\0hi"));
    w.cmd("SET g Hello_World");
    assert_eq!(w.cmd("SETRANGE g 6 Redis"), int(11));
    assert_eq!(w.cmd("GET g"), bulk("Hello_Redis"));
    assert_eq!(w.cmd("SETRANGE g 20 !"), int(21));
    // Empty values change nothing; on a missing key nothing is created.
    assert_eq!(w.call(&[b"SETRANGE", b"g", b"100", b""]), int(21));
    assert_eq!(w.call(&[b"SETRANGE", b"none", b"5", b""]), int(0));
    assert_eq!(w.cmd("GET none"), NIL);
    assert_eq!(w.cmd("SETRANGE g -1 x"), "-ERR offset is out of range\r\n");
    assert_eq!(w.cmd("SETRANGE g abc x"), NOT_INT);
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    assert_eq!(w.cmd("SETRANGE g 536870912 x"), too_big);
    assert_eq!(w.cmd("SETRANGE g 536870911 xy"), too_big);
    assert_eq!(w.cmd("SETRANGE none 536870912 x"), too_big);
    // An integer value is edited as its digits.
    w.cmd("SET n 12345");
    assert_eq!(w.cmd("SETRANGE n 1 9"), int(5));
    assert_eq!(w.cmd("GET n"), bulk("19345"));
    assert_eq!(w.cmd("INCR n"), int(19346));
}

#[test]
fn setrange_limit_follows_the_configured_proto_max_bulk_len() {
    let server = start_with(|c| c.proto_max_bulk_len = 1000);
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("SETRANGE k 995 abcde"), int(1000));
    assert_eq!(
        w.cmd("SETRANGE k 996 abcde"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
}

#[test]
fn getrange_follows_redis_index_rules() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET g Hello_World");
    for (start, end, want) in [
        (0, 4, "Hello"),
        (-5, -1, "World"),
        (-1, -5, ""),
        (5, 3, ""),
        (0, 100, "Hello_World"),
        (-100, 1, "He"),
        // Both clamp to 0: the first byte (Redis 7.0 does this).
        (-100, -50, "H"),
        (100, 200, ""),
        (10, 10, "d"),
        (0, -100, "H"),
        (-3, 100, "rld"),
    ] {
        assert_eq!(
            w.cmd(&format!("GETRANGE g {start} {end}")),
            bulk(want),
            "GETRANGE {start} {end}"
        );
        assert_eq!(w.cmd(&format!("SUBSTR g {start} {end}")), bulk(want));
    }
    assert_eq!(w.cmd("GETRANGE missing 0 -1"), bulk(""));
    assert_eq!(w.cmd("GETRANGE g abc 1"), NOT_INT);
    assert_eq!(w.cmd("GETRANGE g 0 1.5"), NOT_INT);
    w.cmd("SET n -12345");
    assert_eq!(w.cmd("GETRANGE n 1 2"), bulk("12"));
    w.call(&[b"SET", b"e", b""]);
    assert_eq!(w.cmd("GETRANGE e 0 -1"), bulk(""));
    assert_eq!(w.cmd("GETRANGE e 0 0"), bulk(""));
}

// ---------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------

#[test]
fn lcs_examples_from_the_redis_docs() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("MSET key1 ohmytext key2 mynewtext");
    assert_eq!(w.cmd("LCS key1 key2"), bulk("mytext"));
    assert_eq!(w.cmd("LCS key1 key2 LEN"), int(6));
    assert_eq!(
        w.cmd("LCS key1 key2 IDX"),
        "*4\r\n$7\r\nmatches\r\n*2\r\n\
         *2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
         *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n\
         $3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        w.cmd("LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
        "*4\r\n$7\r\nmatches\r\n*1\r\n\
         *3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
         $3\r\nlen\r\n:6\r\n"
    );
    // A negative MINMATCHLEN is 0: every match.
    assert_eq!(
        w.cmd("LCS key1 key2 IDX MINMATCHLEN -5"),
        w.cmd("LCS key1 key2 IDX")
    );
}

#[test]
fn lcs_of_missing_keys_and_integers() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("LCS a b"), bulk(""));
    assert_eq!(w.cmd("LCS a b LEN"), int(0));
    assert_eq!(
        w.cmd("LCS a b IDX"),
        "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
    );
    w.cmd("SET l1 12345");
    w.cmd("SET l2 2x4");
    assert_eq!(w.cmd("LCS l1 l2"), bulk("24"));
    assert_eq!(
        w.cmd("LCS l1 l2 IDX WITHMATCHLEN"),
        "*4\r\n$7\r\nmatches\r\n*2\r\n\
         *3\r\n*2\r\n:3\r\n:3\r\n*2\r\n:2\r\n:2\r\n:1\r\n\
         *3\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n:1\r\n\
         $3\r\nlen\r\n:2\r\n"
    );
}

#[test]
fn lcs_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("MSET key1 ohmytext key2 mynewtext");
    assert_eq!(
        w.cmd("LCS key1 key2 LEN IDX"),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(w.cmd("LCS key1 key2 foo"), SYNTAX);
    assert_eq!(w.cmd("LCS key1 key2 MINMATCHLEN"), SYNTAX);
    assert_eq!(w.cmd("LCS key1 key2 MINMATCHLEN abc"), NOT_INT);
    assert_eq!(
        w.cmd("LCS key1"),
        "-ERR wrong number of arguments for 'lcs' command\r\n"
    );
}

#[test]
fn lcs_refuses_a_table_larger_than_proto_max_bulk_len() {
    // The table has (alen + 1) * (blen + 1) cells of 4 bytes: 15 * 15 * 4 =
    // 900 fits in 1000, 16 * 16 * 4 = 1024 does not.
    let server = start_with(|c| c.proto_max_bulk_len = 1000);
    let mut w = Wire::connect(&server);
    w.cmd("MSET a aaaaaaaaaaaaaa b aaaaaaaaaaaaaa");
    assert_eq!(w.cmd("LCS a b LEN"), int(14));
    w.cmd("MSET a aaaaaaaaaaaaaaa b aaaaaaaaaaaaaaa");
    assert_eq!(
        w.cmd("LCS a b LEN"),
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
}

// ---------------------------------------------------------------------------
// Arity errors come from the table
// ---------------------------------------------------------------------------

#[test]
fn arity_errors_name_the_command() {
    let server = start();
    let mut w = Wire::connect(&server);
    for (line, name) in [
        ("GET", "get"),
        ("SET k", "set"),
        ("GETDEL", "getdel"),
        ("GETEX", "getex"),
        ("MGET", "mget"),
        ("MSET k", "mset"),
        ("INCR", "incr"),
        ("INCRBY k", "incrby"),
        ("INCRBYFLOAT k", "incrbyfloat"),
        ("APPEND k", "append"),
        ("SETRANGE k 0", "setrange"),
        ("GETRANGE k 0", "getrange"),
        ("SUBSTR k 0", "substr"),
        ("GETSET k", "getset"),
        ("SETNX k", "setnx"),
        ("PSETEX k 10", "psetex"),
        ("STRLEN", "strlen"),
        ("DECR", "decr"),
    ] {
        assert_eq!(
            w.cmd(line),
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Needs other chapters: these pass once they are integrated.
// ---------------------------------------------------------------------------

#[test]

fn string_commands_on_another_type() {
    let server = start();
    let mut w = Wire::connect(&server);
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(w.cmd("LPUSH l a"), int(1));
    for line in [
        "GET l",
        "SET l x GET",
        "SET l x NX GET",
        "GETSET l x",
        "GETDEL l",
        "GETEX l",
        "INCR l",
        "INCRBYFLOAT l 1",
        "APPEND l x",
        "STRLEN l",
        "SETRANGE l 0 x",
        "GETRANGE l 0 -1",
    ] {
        assert_eq!(w.cmd(line), wrongtype, "{line}");
    }
    assert_eq!(w.call(&[b"SETRANGE", b"l", b"0", b""]), wrongtype);
    assert_eq!(w.cmd("MGET l"), "*1\r\n$-1\r\n");
    assert_eq!(
        w.cmd("LCS l l"),
        "-ERR The specified keys must contain string values\r\n"
    );
    // SET without GET overwrites any type.
    assert_eq!(w.cmd("SET l x"), OK);
    assert_eq!(w.cmd("GET l"), bulk("x"));
}

#[test]

fn object_encoding_of_string_values() {
    let server = start();
    let mut w = Wire::connect(&server);
    let long = "x".repeat(45);
    w.cmd("SET int 12345");
    w.cmd("SET emb hello");
    w.cmd(&format!("SET raw {long}"));
    w.cmd("APPEND app 12");
    w.cmd("SET grown abc");
    w.cmd("APPEND grown d");
    w.cmd("INCRBYFLOAT f 1");
    w.cmd("SETRANGE sr 0 12");
    for (key, enc) in [
        ("int", "int"),
        ("emb", "embstr"),
        ("raw", "raw"),
        ("app", "int"),
        ("grown", "raw"),
        ("f", "embstr"),
        ("sr", "raw"),
    ] {
        assert_eq!(w.cmd(&format!("OBJECT ENCODING {key}")), bulk(enc), "{key}");
    }
}

#[test]

fn expire_options_set_the_ttl_pttl_reports() {
    let server = start();
    let mut w = Wire::connect(&server);
    let in_range = |reply: String, lo: i64, hi: i64| {
        let n: i64 = reply.trim_start_matches(':').trim_end().parse().unwrap();
        assert!((lo..=hi).contains(&n), "{n} not in {lo}..={hi}");
    };
    w.cmd("SET k v EX 100");
    in_range(w.cmd("PTTL k"), 99_000, 100_000);
    w.cmd("SET k v PX 5000");
    in_range(w.cmd("PTTL k"), 4_000, 5_000);
    w.cmd("SET k v KEEPTTL");
    in_range(w.cmd("PTTL k"), 4_000, 5_000);
    w.cmd(&format!("SET k v PXAT {}", now_ms() + 8000));
    in_range(w.cmd("PTTL k"), 7_000, 8_000);
    w.cmd("SETEX k 20 v");
    in_range(w.cmd("PTTL k"), 19_000, 20_000);
    w.cmd("GETEX k PX 3000");
    in_range(w.cmd("PTTL k"), 2_000, 3_000);
    w.cmd("GETEX k PERSIST");
    assert_eq!(w.cmd("PTTL k"), int(-1));
    w.cmd("SET k v");
    assert_eq!(w.cmd("PTTL k"), int(-1));
}

// ---------------------------------------------------------------------------
// A model test: random edits against a Rust model, through a connection.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Set(usize, Vec<u8>),
    Append(usize, Vec<u8>),
    SetRange(usize, usize, Vec<u8>),
    GetRange(usize, i64, i64),
    IncrBy(usize, i64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = 0usize..3;
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..8),
        (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
    ];
    prop_oneof![
        (key.clone(), bytes.clone()).prop_map(|(k, v)| Op::Set(k, v)),
        (key.clone(), bytes.clone()).prop_map(|(k, v)| Op::Append(k, v)),
        (key.clone(), 0usize..12, bytes).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
        (key.clone(), -15i64..15, -15i64..15).prop_map(|(k, s, e)| Op::GetRange(k, s, e)),
        (key, prop_oneof![-5i64..5, Just(i64::MAX), Just(i64::MIN)])
            .prop_map(|(k, n)| Op::IncrBy(k, n)),
    ]
}

/// What Redis replies, computed from a plain map of byte vectors.
fn model_step(model: &mut [Option<Vec<u8>>; 3], op: &Op) -> String {
    match op {
        Op::Set(k, v) => {
            model[*k] = Some(v.clone());
            OK.to_string()
        }
        Op::Append(k, v) => {
            let s = model[*k].get_or_insert_with(Vec::new);
            s.extend_from_slice(v);
            int(s.len() as i64)
        }
        Op::SetRange(k, offset, v) => {
            if v.is_empty() {
                return int(model[*k].as_ref().map_or(0, |s| s.len()) as i64);
            }
            let s = model[*k].get_or_insert_with(Vec::new);
            if s.len() < offset + v.len() {
                s.resize(offset + v.len(), 0);
            }
            s[*offset..offset + v.len()].copy_from_slice(v);
            int(s.len() as i64)
        }
        Op::GetRange(k, start, end) => {
            let s = model[*k].clone().unwrap_or_default();
            let len = s.len() as i64;
            if *start < 0 && *end < 0 && start > end {
                return "$0\r\n\r\n".to_string();
            }
            let from = if *start < 0 {
                (len + start).max(0)
            } else {
                *start
            };
            let to = if *end < 0 { (len + end).max(0) } else { *end }.min(len - 1);
            if from > to || len == 0 {
                "$0\r\n\r\n".to_string()
            } else {
                let part = &s[from as usize..=to as usize];
                format!("${}\r\n{}\r\n", part.len(), text(part))
            }
        }
        Op::IncrBy(k, n) => {
            let old = match &model[*k] {
                None => Some(0),
                Some(s) => std::str::from_utf8(s)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .filter(|v| v.to_string().as_bytes() == s.as_slice()),
            };
            match old {
                None => NOT_INT.to_string(),
                Some(old) => match old.checked_add(*n) {
                    None => "-ERR increment or decrement would overflow\r\n".to_string(),
                    Some(sum) => {
                        model[*k] = Some(sum.to_string().into_bytes());
                        int(sum)
                    }
                },
            }
        }
    }
}

#[test]
fn random_edits_agree_with_a_model() {
    let server = start();
    // proptest runs the body as an `Fn`, so the connection and the case
    // counter are shared through cells.
    let wire = std::cell::RefCell::new(Wire::connect(&server));
    let case = std::cell::Cell::new(0u32);
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in proptest::collection::vec(op_strategy(), 1..40))| {
        let mut w = wire.borrow_mut();
        // Each case uses its own keys, so no state leaks between cases
        // (nor from a shrinking run into the next attempt).
        case.set(case.get() + 1);
        let keys: Vec<String> = (0..3).map(|k| format!("case{}:{k}", case.get())).collect();
        let mut model: [Option<Vec<u8>>; 3] = [None, None, None];
        for op in &ops {
            let expected = model_step(&mut model, op);
            let got = match op {
                Op::Set(k, v) => w.call(&[b"SET", keys[*k].as_bytes(), v]),
                Op::Append(k, v) => w.call(&[b"APPEND", keys[*k].as_bytes(), v]),
                Op::SetRange(k, o, v) => {
                    w.call(&[b"SETRANGE", keys[*k].as_bytes(), o.to_string().as_bytes(), v])
                }
                Op::GetRange(k, s, e) => w.call(&[
                    b"GETRANGE",
                    keys[*k].as_bytes(),
                    s.to_string().as_bytes(),
                    e.to_string().as_bytes(),
                ]),
                Op::IncrBy(k, n) => {
                    w.call(&[b"INCRBY", keys[*k].as_bytes(), n.to_string().as_bytes()])
                }
            };
            prop_assert_eq!(&got, &expected, "after {:?}", op);
        }
        for (k, key) in keys.iter().enumerate() {
            let got = w.call(&[b"GET", key.as_bytes()]);
            let expected = match &model[k] {
                None => NIL.to_string(),
                Some(s) => format!("${}\r\n{}\r\n", s.len(), text(s)),
            };
            prop_assert_eq!(got, expected);
        }
    });
}

/// The time a command sees is never behind the wall clock: an absolute
/// deadline 10 s after the client's own "now" leaves at most 10,000 ms
/// (Redis's suite, `GETEX PXAT option`). A command's time is derived from
/// a cached anchor (`CachedClock`); one kept in whole milliseconds made
/// this 10,001 about half the time.
#[test]
fn an_absolute_deadline_never_leaves_more_than_was_asked() {
    let server = start();
    let mut c = conn(&server);
    for _ in 0..200 {
        let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
        let _: String = redis::cmd("GETEX")
            .arg("k")
            .arg("PXAT")
            .arg((now_ms() + 10_000) as u64)
            .query(&mut c)
            .unwrap();
        let pttl: i64 = redis::cmd("PTTL").arg("k").query(&mut c).unwrap();
        assert!((9_000..=10_000).contains(&pttl), "PTTL {pttl}");
    }
}
