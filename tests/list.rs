//! List commands through real clients: every reply shape (RESP2 and
//! RESP3) and error text byte for byte (each expected reply below was taken
//! from Redis 7.0.15), a property test against a `VecDeque` model with tiny
//! quicklist nodes, PLAIN nodes, and the blocking commands with several
//! clients: FIFO service, timeouts, chains through BLMOVE, and the
//! deleted-then-re-created-as-another-type key.

mod common;
use common::*;

use std::collections::VecDeque;
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out
}

const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const NULL3: &str = "_\r\n";
const EMPTY: &str = "*0\r\n";
const OK: &str = "+OK\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_POSITIVE: &str = "-ERR value is out of range, must be positive\r\n";

/// Poll INFO until `n` clients are blocked (bounded: panics after 5 s).
fn wait_blocked(w: &mut Wire, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = w.cmd("INFO clients");
        let blocked = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap();
        if blocked == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} blocked clients, have {blocked}"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

// ---------------------------------------------------------------------------
// Replies and errors, byte for byte
// ---------------------------------------------------------------------------

#[test]
fn push_and_pop_reply_like_redis() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("LPUSH l a b c"), ":3\r\n");
    assert_eq!(w.cmd("LRANGE l 0 -1"), arr(&["c", "b", "a"]));
    assert_eq!(w.cmd("RPUSH l d"), ":4\r\n");
    assert_eq!(w.cmd("LPUSHX nokey a"), ":0\r\n");
    assert_eq!(w.cmd("RPUSHX nokey a"), ":0\r\n");
    assert_eq!(w.cmd("EXISTS nokey"), ":0\r\n");
    assert_eq!(w.cmd("RPUSHX l e f"), ":6\r\n");
    assert_eq!(w.cmd("LPOP l"), bulk("c"));
    assert_eq!(w.cmd("RPOP l"), bulk("f"));
    assert_eq!(w.cmd("LPOP l 2"), arr(&["b", "a"]));
    assert_eq!(w.cmd("RPOP l 1"), arr(&["e"]));
    assert_eq!(w.cmd("LPOP l 0"), EMPTY);
    assert_eq!(w.cmd("RPOP l 10"), arr(&["d"]));
    assert_eq!(w.cmd("EXISTS l"), ":0\r\n", "an emptied list is deleted");
    assert_eq!(w.cmd("LPOP nokey"), NIL);
    assert_eq!(w.cmd("LPOP nokey 2"), NIL_ARRAY);
    assert_eq!(w.cmd("LPOP nokey 0"), NIL_ARRAY);
    assert_eq!(w.cmd("LPOP nokey -1"), NOT_POSITIVE);
    assert_eq!(w.cmd("LPOP nokey x"), NOT_POSITIVE);
    assert_eq!(w.cmd("RPOP nokey 99999999999999999999"), NOT_POSITIVE);
    assert_eq!(
        w.cmd("LPOP a b c"),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
    w.cmd("SET s v");
    for c in [
        "LPOP s",
        "LPOP s 0",
        "LPUSH s a",
        "LPUSHX s a",
        "LLEN s",
        "RPOP s 2",
    ] {
        assert_eq!(w.cmd(c), WRONGTYPE, "{c}");
    }
    assert_eq!(
        w.cmd("LPOP s -1"),
        NOT_POSITIVE,
        "the count is parsed first"
    );
    // Integers come back as the bytes that were pushed.
    w.cmd("RPUSH n 12345678901234567890 -5 9223372036854775807 -9223372036854775808 007 1.5");
    assert_eq!(
        w.cmd("LRANGE n 0 -1"),
        arr(&[
            "12345678901234567890",
            "-5",
            "9223372036854775807",
            "-9223372036854775808",
            "007",
            "1.5"
        ])
    );
}

#[test]
fn resp3_reply_shapes() {
    let server = start();
    let mut w = Wire::resp3(&server);
    assert_eq!(w.cmd("LPOP nokey"), NULL3);
    assert_eq!(w.cmd("LPOP nokey 2"), NULL3);
    assert_eq!(w.cmd("RPUSH l a b"), ":2\r\n");
    assert_eq!(w.cmd("LPOP l 0"), EMPTY);
    assert_eq!(w.cmd("LPOP l 1"), arr(&["a"]));
    assert_eq!(
        w.cmd("LMPOP 1 l LEFT"),
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nb\r\n"
    );
    assert_eq!(w.cmd("LMPOP 1 nokey LEFT"), NULL3);
    assert_eq!(w.cmd("BLMPOP 0.01 1 nokey LEFT"), NULL3);
    assert_eq!(w.cmd("BLPOP nokey 0.01"), NULL3);
    assert_eq!(w.cmd("BLMOVE x y LEFT LEFT 0.01"), NULL3);
    assert_eq!(w.cmd("LPOS nokey a"), NULL3);
    assert_eq!(w.cmd("LPOS nokey a COUNT 1"), EMPTY);
    assert_eq!(w.cmd("LINDEX nokey 0"), NULL3);
}

#[test]
fn blocking_timeouts_reply_a_null_array_even_for_blmove() {
    // Redis 7.0 times every list blocking command out with `*-1`,
    // BLMOVE and BRPOPLPUSH included.
    let server = start();
    let mut w = Wire::connect(&server);
    let started = Instant::now();
    assert_eq!(w.cmd("BLPOP nokey 0.1"), NIL_ARRAY);
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(w.cmd("BRPOP a b 0.01"), NIL_ARRAY);
    assert_eq!(w.cmd("BLMOVE x y LEFT LEFT 0.01"), NIL_ARRAY);
    assert_eq!(w.cmd("BRPOPLPUSH x y 0.01"), NIL_ARRAY);
    assert_eq!(w.cmd("BLMPOP 0.01 2 a b RIGHT COUNT 3"), NIL_ARRAY);
    assert_eq!(w.cmd("PING"), "+PONG\r\n", "the connection is usable again");
}

#[test]
fn index_commands_reply_like_redis() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("RPUSH l a b c");
    w.cmd("SET s v");
    let cases: &[(&str, &str)] = &[
        ("LINDEX l x", NOT_INT),
        ("LINDEX l 5", NIL),
        ("LINDEX l -1", "$1\r\nc\r\n"),
        ("LINDEX l -4", NIL),
        ("LINDEX nokey 0", NIL),
        ("LINDEX nokey x", NIL),
        ("LINDEX s x", WRONGTYPE),
        ("LSET nokey 0 a", "-ERR no such key\r\n"),
        ("LSET nokey x a", "-ERR no such key\r\n"),
        ("LSET l 5 a", "-ERR index out of range\r\n"),
        ("LSET l x a", NOT_INT),
        ("LSET s x a", WRONGTYPE),
        ("LSET l -3 A", OK),
        ("LINSERT l middle a x", SYNTAX),
        ("LINSERT s middle a x", SYNTAX),
        ("LINSERT l BEFORE zz x", ":-1\r\n"),
        ("LINSERT nokey BEFORE a x", ":0\r\n"),
        ("LINSERT s BEFORE a x", WRONGTYPE),
        ("LINSERT l AFTER c d", ":4\r\n"),
        ("LINSERT l before A first", ":5\r\n"),
        (
            "LRANGE l 0 -1",
            "*5\r\n$5\r\nfirst\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
        ),
        ("LREM l x a", NOT_INT),
        ("LREM s x a", NOT_INT),
        ("LREM nokey 0 a", ":0\r\n"),
        ("LREM s 0 a", WRONGTYPE),
        ("LTRIM l x 1", NOT_INT),
        ("LTRIM s x 1", NOT_INT),
        ("LTRIM nokey 0 1", OK),
        ("LTRIM s 0 1", WRONGTYPE),
        ("LRANGE s x 1", NOT_INT),
        ("LRANGE nokey 0 -1", EMPTY),
        ("LRANGE s 0 1", WRONGTYPE),
        ("LRANGE l 5 10", EMPTY),
        ("LRANGE l 2 1", EMPTY),
        ("LRANGE l -100 1", "*2\r\n$5\r\nfirst\r\n$1\r\nA\r\n"),
        ("LLEN nokey", ":0\r\n"),
        ("LLEN l", ":5\r\n"),
    ];
    for (cmd, want) in cases {
        assert_eq!(w.cmd(cmd), *want, "{cmd}");
    }
}

#[test]
fn lrem_ltrim_and_lmove_edge_cases() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("RPUSH r 1 1 2 1 1 2");
    assert_eq!(w.cmd("LREM r 2 1"), ":2\r\n");
    assert_eq!(w.cmd("LRANGE r 0 -1"), arr(&["2", "1", "1", "2"]));
    assert_eq!(w.cmd("LREM r -1 2"), ":1\r\n");
    assert_eq!(w.cmd("LRANGE r 0 -1"), arr(&["2", "1", "1"]));
    assert_eq!(w.cmd("LREM r 0 1"), ":2\r\n");
    assert_eq!(w.cmd("LREM r 0 2"), ":1\r\n");
    assert_eq!(w.cmd("EXISTS r"), ":0\r\n");

    w.cmd("RPUSH t a b c d e f");
    assert_eq!(w.cmd("LTRIM t 1 -2"), OK);
    assert_eq!(w.cmd("LRANGE t 0 -1"), arr(&["b", "c", "d", "e"]));
    assert_eq!(w.cmd("LTRIM t 5 1"), OK);
    assert_eq!(w.cmd("EXISTS t"), ":0\r\n");

    // LMOVE onto itself: a one-element list survives the round trip.
    w.cmd("RPUSH m x");
    assert_eq!(w.cmd("LMOVE m m LEFT RIGHT"), bulk("x"));
    assert_eq!(w.cmd("LRANGE m 0 -1"), arr(&["x"]));
    w.cmd("RPUSH m y z");
    assert_eq!(w.cmd("RPOPLPUSH m m"), bulk("z"));
    assert_eq!(w.cmd("LRANGE m 0 -1"), arr(&["z", "x", "y"]));
    assert_eq!(w.cmd("LMOVE m other RIGHT LEFT"), bulk("y"));
    assert_eq!(w.cmd("LMOVE m other LEFT RIGHT"), bulk("z"));
    assert_eq!(w.cmd("LRANGE other 0 -1"), arr(&["y", "z"]));
    assert_eq!(w.cmd("OBJECT ENCODING other"), "$9\r\nquicklist\r\n");
    w.cmd("SET s v");
    assert_eq!(w.cmd("LMOVE m m up LEFT"), SYNTAX);
    assert_eq!(w.cmd("LMOVE m m LEFT down"), SYNTAX);
    assert_eq!(
        w.cmd("LMOVE nokey s LEFT LEFT"),
        NIL,
        "the destination is not checked"
    );
    assert_eq!(w.cmd("LMOVE s m LEFT LEFT"), WRONGTYPE);
    assert_eq!(w.cmd("LMOVE m s LEFT LEFT"), WRONGTYPE);
    assert_eq!(w.cmd("RPOPLPUSH m s"), WRONGTYPE);
    assert_eq!(w.cmd("LRANGE m 0 -1"), arr(&["x"]), "nothing moved");
}

#[test]
fn lpos_options_and_errors() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("RPUSH l a b c a b c a");
    w.cmd("SET s v");
    let rank0 = "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n";
    let cases: &[(&str, &str)] = &[
        ("LPOS l a", ":0\r\n"),
        ("LPOS l a RANK 2", ":3\r\n"),
        ("LPOS l a RANK -1", ":6\r\n"),
        ("LPOS l a RANK -2 COUNT 0", "*2\r\n:3\r\n:0\r\n"),
        ("LPOS l a COUNT 0", "*3\r\n:0\r\n:3\r\n:6\r\n"),
        ("LPOS l a COUNT 2", "*2\r\n:0\r\n:3\r\n"),
        ("LPOS l a COUNT 2 MAXLEN 4", "*2\r\n:0\r\n:3\r\n"),
        ("LPOS l a MAXLEN 0", ":0\r\n"),
        ("LPOS l b RANK -1 MAXLEN 3", ":4\r\n"),
        ("LPOS l c RANK -1 COUNT 0 MAXLEN 3", "*1\r\n:5\r\n"),
        ("LPOS l a RANK 0", rank0),
        ("LPOS s a RANK 0", rank0),
        ("LPOS nokey a RANK 0", rank0),
        ("LPOS l a RANK -9223372036854775808", ":6\r\n"),
        (
            "LPOS l a RANK -9223372036854775808 COUNT 2",
            "*3\r\n:6\r\n:3\r\n:0\r\n",
        ),
        ("LPOS l a RANK -9223372036854775807 COUNT 2", EMPTY),
        ("LPOS l a RANK x", NOT_INT),
        ("LPOS l a COUNT -1", "-ERR COUNT can't be negative\r\n"),
        ("LPOS l a COUNT x", "-ERR COUNT can't be negative\r\n"),
        ("LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative\r\n"),
        ("LPOS l a MAXLEN x", "-ERR MAXLEN can't be negative\r\n"),
        ("LPOS l a foo", SYNTAX),
        ("LPOS l a RANK", SYNTAX),
        ("LPOS l z", NIL),
        ("LPOS l z COUNT 2", EMPTY),
        ("LPOS nokey a", NIL),
        ("LPOS nokey a COUNT 1", EMPTY),
        ("LPOS l a RANK 1 RANK 3", ":6\r\n"),
        ("LPOS s a", WRONGTYPE),
        ("LPOS l a COUNT 1 MAXLEN 1 RANK 10", EMPTY),
        ("LPOS l a RANK 10", NIL),
        ("LPOS l a RANK -10 COUNT 0", EMPTY),
    ];
    for (cmd, want) in cases {
        assert_eq!(w.cmd(cmd), *want, "{cmd}");
    }
}

#[test]
fn lmpop_parsing_and_getkeys() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("RPUSH l a b c");
    w.cmd("SET s v");
    let count_err = "-ERR count should be greater than 0\r\n";
    let numkeys_err = "-ERR numkeys should be greater than 0\r\n";
    let cases: &[(&str, &str)] = &[
        ("LMPOP 1 l LEFT COUNT 0", count_err),
        ("LMPOP 0 l LEFT", numkeys_err),
        ("LMPOP -1 l LEFT", numkeys_err),
        ("LMPOP x l LEFT", numkeys_err),
        ("LMPOP 2 l LEFT", SYNTAX),
        ("LMPOP 1 l middle", SYNTAX),
        ("LMPOP 1 l LEFT COUNT", SYNTAX),
        ("LMPOP 1 l LEFT COUNT -1", count_err),
        ("LMPOP 1 l LEFT COUNT x", count_err),
        ("LMPOP 1 l LEFT COUNT 1 COUNT 2", SYNTAX),
        ("LMPOP 1 l LEFT foo", SYNTAX),
        ("LMPOP 99999999999 l LEFT", SYNTAX),
        ("LMPOP 3 a b c", SYNTAX),
        ("BLMPOP 0 0 l LEFT", numkeys_err),
        ("BLMPOP -1 1 l LEFT", "-ERR timeout is negative\r\n"),
        (
            "BLMPOP x 1 l LEFT",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        ("BLMPOP 0 1 l LEFT COUNT 0", count_err),
        ("BLMPOP 0 1 l LEFT COUNT 1 COUNT 1", SYNTAX),
        ("LMPOP 2 s l LEFT", WRONGTYPE),
        ("LMPOP 2 nokey s LEFT", WRONGTYPE),
        (
            "LMPOP 1 l left COUNT 2",
            "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
        // The first non-empty list serves; `s` after it is never looked at.
        ("BLMPOP 0 2 l s RIGHT", "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nc\r\n"),
        ("LMPOP 1 l LEFT COUNT 99", NIL_ARRAY),
        ("COMMAND GETKEYS LMPOP 2 a b LEFT", arr(&["a", "b"]).leak()),
        (
            "COMMAND GETKEYS BLMPOP 0 2 a b LEFT COUNT 3",
            arr(&["a", "b"]).leak(),
        ),
        (
            "COMMAND GETKEYS LMPOP 0 a LEFT",
            "-ERR Invalid arguments specified for command\r\n",
        ),
        (
            "COMMAND GETKEYS LMPOP 3 a LEFT",
            "-ERR Invalid arguments specified for command\r\n",
        ),
        (
            "COMMAND GETKEYS BLPOP a b c 0",
            arr(&["a", "b", "c"]).leak(),
        ),
        (
            "COMMAND GETKEYS LMOVE a b LEFT LEFT",
            arr(&["a", "b"]).leak(),
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(w.cmd(cmd), *want, "{cmd}");
    }
}

#[test]
fn blocking_argument_errors_come_before_waiting() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET s v");
    let cases: &[(&str, &str)] = &[
        (
            "BLPOP nokey x",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        ("BLPOP nokey -1", "-ERR timeout is negative\r\n"),
        ("BLPOP s 0", WRONGTYPE),
        ("BLPOP nokey s 0", WRONGTYPE),
        ("BRPOPLPUSH s d 0", WRONGTYPE),
        ("BLMOVE nokey d LEFT up 0", SYNTAX),
        ("BLMOVE nokey d up LEFT x", SYNTAX),
        (
            "BLMOVE nokey d LEFT LEFT x",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            "BRPOPLPUSH nokey d x",
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            "BLPOP nokey",
            "-ERR wrong number of arguments for 'blpop' command\r\n",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(w.cmd(cmd), *want, "{cmd}");
    }
}

#[test]
fn object_encoding_is_quicklist_at_every_size_and_setting() {
    let server = start();
    let mut w = Wire::connect(&server);
    let quicklist = bulk("quicklist");
    w.cmd("RPUSH one x");
    assert_eq!(w.cmd("OBJECT ENCODING one"), quicklist);
    assert_eq!(w.cmd("CONFIG SET list-max-listpack-size 2"), OK);
    assert_eq!(w.cmd("CONFIG SET list-compress-depth 1"), OK);
    for i in 0..50 {
        w.cmd(&format!(
            "RPUSH many element-number-{i}-padding-padding-padding"
        ));
    }
    assert_eq!(w.cmd("OBJECT ENCODING many"), quicklist);
    assert_eq!(w.cmd("LLEN many"), ":50\r\n");
    // Compressed inner nodes read back intact, from either end.
    assert_eq!(
        w.cmd("LINDEX many 25"),
        bulk("element-number-25-padding-padding-padding")
    );
    assert_eq!(
        w.cmd("LRANGE many 23 24"),
        arr(&[
            "element-number-23-padding-padding-padding",
            "element-number-24-padding-padding-padding"
        ])
    );
    assert_eq!(
        w.cmd("LPOS many element-number-40-padding-padding-padding"),
        ":40\r\n"
    );
    // The old ziplist name of the directive is the same setting.
    assert_eq!(w.cmd("CONFIG SET list-max-ziplist-size -2"), OK);
    assert_eq!(
        w.cmd("CONFIG GET list-max-listpack-size"),
        arr(&["list-max-listpack-size", "-2"])
    );
}

#[test]
fn plain_nodes_for_big_elements_behave_like_any_other() {
    let server = start_with(|c| {
        c.enable_debug_command = redis_anatomy::server::config::ProtectedAction::Yes
    });
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 1k"), OK);
    assert_eq!(
        w.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 4gb"),
        "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n"
    );
    let big = "B".repeat(2000);
    let big2 = "C".repeat(1500);
    w.call(&[b"RPUSH", b"p", b"a", big.as_bytes(), b"b"]);
    assert_eq!(w.cmd("LINDEX p 1"), bulk(&big));
    assert_eq!(w.call(&[b"LPOS", b"p", big.as_bytes()]), ":1\r\n");
    assert_eq!(w.call(&[b"LSET", b"p", b"0", big2.as_bytes()]), OK);
    assert_eq!(
        w.call(&[b"LINSERT", b"p", b"AFTER", big.as_bytes(), b"mid"]),
        ":4\r\n"
    );
    assert_eq!(w.cmd("LRANGE p 0 -1"), arr(&[&big2, &big, "mid", "b"]));
    assert_eq!(w.call(&[b"LREM", b"p", b"0", big.as_bytes()]), ":1\r\n");
    assert_eq!(w.cmd("LPOP p"), bulk(&big2));
    assert_eq!(w.cmd("LRANGE p 0 -1"), arr(&["mid", "b"]));
    assert_eq!(w.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 0"), OK);
    assert_eq!(
        w.cmd("DEBUG LISTPACK p"),
        "-ERR Not a listpack encoded object.\r\n"
    );
    assert_eq!(w.cmd("DEBUG LISTPACK nokey"), "-ERR no such key\r\n");
}

#[test]
fn list_commands_are_described_as_in_redis() {
    let server = start();
    let mut c = conn(&server);
    // name, arity, flags, first, last, step (Redis 7.0.15's COMMAND INFO).
    type Row = (&'static str, i64, &'static [&'static str], i64, i64, i64);
    let want: &[Row] = &[
        ("lpush", -3, &["write", "denyoom", "fast"], 1, 1, 1),
        ("lpop", -2, &["write", "fast"], 1, 1, 1),
        ("llen", 2, &["readonly", "fast"], 1, 1, 1),
        ("lrange", 4, &["readonly"], 1, 1, 1),
        ("lmove", 5, &["write", "denyoom"], 1, 2, 1),
        ("lmpop", -4, &["write", "movablekeys"], 0, 0, 0),
        ("blpop", -3, &["write", "noscript", "blocking"], 1, -2, 1),
        (
            "blmove",
            6,
            &["write", "denyoom", "noscript", "blocking"],
            1,
            2,
            1,
        ),
        ("blmpop", -5, &["write", "blocking", "movablekeys"], 0, 0, 0),
    ];
    for (name, arity, flags, first, last, step) in want {
        let info: Vec<redis::Value> = redis::cmd("COMMAND")
            .arg("INFO")
            .arg(*name)
            .query(&mut c)
            .unwrap();
        let redis::Value::Array(fields) = &info[0] else {
            panic!("{info:?}")
        };
        let int = |v: &redis::Value| match v {
            redis::Value::Int(n) => *n,
            other => panic!("{other:?}"),
        };
        assert_eq!(int(&fields[1]), *arity, "{name}");
        let got_flags: Vec<String> = match &fields[2] {
            redis::Value::Array(a) | redis::Value::Set(a) => a
                .iter()
                .map(|f| redis::from_redis_value::<String>(f).unwrap())
                .collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(got_flags, *flags, "{name}");
        assert_eq!(
            (int(&fields[3]), int(&fields[4]), int(&fields[5])),
            (*first, *last, *step),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------
// A model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Push(bool, Vec<String>),
    Pop(bool, Option<usize>),
    Index(i64),
    Set(i64, String),
    Insert(bool, String, String),
    Rem(i64, String),
    Trim(i64, i64),
    Range(i64, i64),
    Pos(String, i64),
    Rotate(bool),
}

fn value() -> impl Strategy<Value = String> {
    // Small alphabet (so LREM/LPOS/LINSERT hit), integers (the listpack's
    // integer encodings), and longer strings (bigger entries).
    prop_oneof![
        "[abc]",
        (-300i64..300).prop_map(|n| n.to_string()),
        "[a-z]{20,70}",
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), prop::collection::vec(value(), 1..6)).prop_map(|(h, v)| Op::Push(h, v)),
        2 => (any::<bool>(), prop::option::of(0usize..5)).prop_map(|(h, c)| Op::Pop(h, c)),
        1 => (-12i64..12).prop_map(Op::Index),
        1 => (-12i64..12, value()).prop_map(|(i, v)| Op::Set(i, v)),
        1 => (any::<bool>(), value(), value()).prop_map(|(a, p, v)| Op::Insert(a, p, v)),
        1 => (-3i64..4, value()).prop_map(|(c, v)| Op::Rem(c, v)),
        1 => (-15i64..15, -15i64..15).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => (-15i64..15, -15i64..15).prop_map(|(a, b)| Op::Range(a, b)),
        1 => (value(), prop_oneof![Just(1i64), Just(-1), Just(2), Just(-2)]).prop_map(|(v, r)| Op::Pos(v, r)),
        1 => any::<bool>().prop_map(Op::Rotate),
    ]
}

fn resolve(i: i64, n: usize) -> Option<usize> {
    let j = if i < 0 { i + n as i64 } else { i };
    (j >= 0 && j < n as i64).then_some(j as usize)
}

fn range(m: &VecDeque<String>, a: i64, b: i64) -> Vec<String> {
    let n = m.len() as i64;
    let a = if a < 0 { (a + n).max(0) } else { a };
    let b = if b < 0 { b + n } else { b }.min(n - 1);
    if a > b || a >= n {
        return Vec::new();
    }
    m.range(a as usize..=b as usize).cloned().collect()
}

fn strs(v: &[String]) -> String {
    let refs: Vec<&str> = v.iter().map(String::as_str).collect();
    arr(&refs)
}

/// Apply `op` to the model and return the reply Redis gives.
fn model_step(m: &mut VecDeque<String>, op: &Op) -> String {
    let n = m.len();
    match op {
        Op::Push(head, vals) => {
            for v in vals {
                if *head {
                    m.push_front(v.clone())
                } else {
                    m.push_back(v.clone())
                }
            }
            format!(":{}\r\n", m.len())
        }
        Op::Pop(head, None) => match if *head { m.pop_front() } else { m.pop_back() } {
            Some(v) => bulk(&v),
            None => NIL.into(),
        },
        Op::Pop(head, Some(c)) => {
            if n == 0 {
                return NIL_ARRAY.into();
            }
            let k = (*c).min(n);
            let got: Vec<String> = (0..k)
                .map(|_| if *head { m.pop_front() } else { m.pop_back() }.unwrap())
                .collect();
            strs(&got)
        }
        Op::Index(i) => resolve(*i, n).map_or(NIL.into(), |j| bulk(&m[j])),
        Op::Set(i, v) => {
            if n == 0 {
                return "-ERR no such key\r\n".into();
            }
            match resolve(*i, n) {
                Some(j) => {
                    m[j] = v.clone();
                    OK.into()
                }
                None => "-ERR index out of range\r\n".into(),
            }
        }
        Op::Insert(after, pivot, v) => {
            if n == 0 {
                return ":0\r\n".into();
            }
            match m.iter().position(|x| x == pivot) {
                Some(j) => {
                    m.insert(if *after { j + 1 } else { j }, v.clone());
                    format!(":{}\r\n", m.len())
                }
                None => ":-1\r\n".into(),
            }
        }
        Op::Rem(count, v) => {
            let limit = count.unsigned_abs() as usize;
            let mut idx: Vec<usize> = (0..n).filter(|&j| &m[j] == v).collect();
            if *count < 0 {
                idx.reverse();
            }
            if limit > 0 {
                idx.truncate(limit);
            }
            idx.sort_unstable_by(|a, b| b.cmp(a));
            for &j in &idx {
                m.remove(j);
            }
            format!(":{}\r\n", idx.len())
        }
        Op::Trim(a, b) => {
            *m = range(m, *a, *b).into();
            OK.into()
        }
        Op::Range(a, b) => strs(&range(m, *a, *b)),
        Op::Pos(v, rank) => {
            let hits: Vec<usize> = (0..n).filter(|&j| &m[j] == v).collect();
            let pick = if *rank > 0 {
                hits.get(*rank as usize - 1)
            } else {
                hits.iter().rev().nth((-rank) as usize - 1)
            };
            pick.map_or(NIL.into(), |j| format!(":{j}\r\n"))
        }
        Op::Rotate(right_to_left) => {
            let v = if *right_to_left {
                m.pop_back()
            } else {
                m.pop_front()
            };
            match v {
                None => NIL.into(),
                Some(v) => {
                    if *right_to_left {
                        m.push_front(v.clone())
                    } else {
                        m.push_back(v.clone())
                    }
                    bulk(&v)
                }
            }
        }
    }
}

fn op_command(op: &Op, key: &str) -> Vec<String> {
    let k = key.to_string();
    let s = |x: &str| x.to_string();
    match op {
        Op::Push(h, vals) => {
            let mut v = vec![s(if *h { "LPUSH" } else { "RPUSH" }), k];
            v.extend(vals.iter().cloned());
            v
        }
        Op::Pop(h, c) => {
            let mut v = vec![s(if *h { "LPOP" } else { "RPOP" }), k];
            if let Some(c) = c {
                v.push(c.to_string());
            }
            v
        }
        Op::Index(i) => vec![s("LINDEX"), k, i.to_string()],
        Op::Set(i, val) => vec![s("LSET"), k, i.to_string(), val.clone()],
        Op::Insert(a, p, val) => vec![
            s("LINSERT"),
            k,
            s(if *a { "AFTER" } else { "BEFORE" }),
            p.clone(),
            val.clone(),
        ],
        Op::Rem(c, val) => vec![s("LREM"), k, c.to_string(), val.clone()],
        Op::Trim(a, b) => vec![s("LTRIM"), k, a.to_string(), b.to_string()],
        Op::Range(a, b) => vec![s("LRANGE"), k, a.to_string(), b.to_string()],
        Op::Pos(val, r) => vec![s("LPOS"), k, val.clone(), s("RANK"), r.to_string()],
        Op::Rotate(rl) => {
            let (from, to) = if *rl {
                ("RIGHT", "LEFT")
            } else {
                ("LEFT", "RIGHT")
            };
            vec![s("LMOVE"), k.clone(), k, s(from), s(to)]
        }
    }
}

#[test]
fn random_operations_agree_with_a_model() {
    // Tiny nodes (3 elements, or 64 bytes) and compression, so the model
    // exercises splits, merges, node removal and compressed inner nodes.
    let server = start_with(|c| {
        c.list_max_listpack_size = 3;
        c.list_compress_depth = 1;
    });
    let wire = std::cell::RefCell::new(Wire::connect(&server));
    let case = std::cell::Cell::new(0u32);
    let config = ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 1..40), fill in prop_oneof![Just(3i64), Just(-1)])| {
        let mut w = wire.borrow_mut();
        case.set(case.get() + 1);
        let key = format!("case{}", case.get());
        w.cmd(&format!("CONFIG SET list-max-listpack-size {fill}"));
        let mut model = VecDeque::new();
        for op in &ops {
            let expected = model_step(&mut model, op);
            let words = op_command(op, &key);
            let refs: Vec<&[u8]> = words.iter().map(|s| s.as_bytes()).collect();
            let got = w.call(&refs);
            prop_assert_eq!(&got, &expected, "after {:?}", op);
            let whole = w.call(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]);
            prop_assert_eq!(whole, strs(&Vec::from(model.clone())));
            let exists = w.call(&[b"EXISTS", key.as_bytes()]);
            prop_assert_eq!(exists, if model.is_empty() { ":0\r\n" } else { ":1\r\n" });
        }
    });
}

// ---------------------------------------------------------------------------
// Blocking, with several clients
// ---------------------------------------------------------------------------

#[test]
fn waiters_are_served_first_come_first_served() {
    let server = start();
    let mut admin = Wire::connect(&server);
    let mut waiters: Vec<Wire> = Vec::new();
    for i in 0..3 {
        let mut w = Wire::connect(&server);
        w.cmd(&format!("CLIENT SETNAME waiter{i}"));
        w.send(&[b"BLPOP", b"q", b"0"]);
        wait_blocked(&mut admin, i + 1);
        waiters.push(w);
    }
    // One element serves exactly the oldest waiter.
    assert_eq!(admin.cmd("RPUSH q job1"), ":1\r\n");
    assert_eq!(waiters[0].reply(), arr(&["q", "job1"]));
    wait_blocked(&mut admin, 2);
    assert_eq!(admin.cmd("EXISTS q"), ":0\r\n", "served and deleted");
    // Three elements, two waiters: each gets one in order, one is left.
    assert_eq!(admin.cmd("RPUSH q a b c"), ":3\r\n");
    assert_eq!(waiters[1].reply(), arr(&["q", "a"]));
    assert_eq!(waiters[2].reply(), arr(&["q", "b"]));
    assert_eq!(admin.cmd("LRANGE q 0 -1"), arr(&["c"]));
    wait_blocked(&mut admin, 0);
    // A served client is an ordinary client again.
    assert_eq!(waiters[0].cmd("PING"), "+PONG\r\n");
}

#[test]
fn a_waiter_on_several_keys_is_served_by_the_first_to_get_data() {
    let server = start();
    let mut admin = Wire::connect(&server);
    let mut w = Wire::connect(&server);
    w.send(&[b"BRPOP", b"a", b"b", b"c", b"0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("RPUSH b x y");
    assert_eq!(w.reply(), arr(&["b", "y"]));
    // BLMPOP with a count takes several at once.
    w.send(&[b"BLMPOP", b"0", b"2", b"m1", b"m2", b"LEFT", b"COUNT", b"5"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("RPUSH m2 1 2 3");
    assert_eq!(
        w.reply(),
        "*2\r\n$2\r\nm2\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(admin.cmd("EXISTS m2"), ":0\r\n");
}

#[test]
fn a_timeout_ends_the_wait_and_leaves_the_key_alone() {
    let server = start();
    let mut admin = Wire::connect(&server);
    let mut w = Wire::connect(&server);
    let started = Instant::now();
    w.send(&[b"BLPOP", b"q", b"0.1"]);
    assert_eq!(w.reply(), NIL_ARRAY);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    wait_blocked(&mut admin, 0);
    // The timed-out client is no longer a waiter: a push stays in the list.
    admin.cmd("RPUSH q x");
    assert_eq!(admin.cmd("LRANGE q 0 -1"), arr(&["x"]));
    // Commands pipelined behind a blocking one run after it.
    w.send(&[b"BLPOP", b"none", b"0.05"]);
    w.send(&[b"PING"]);
    assert_eq!(w.reply(), NIL_ARRAY);
    assert_eq!(w.reply(), "+PONG\r\n");
}

#[test]
fn a_disconnected_waiter_takes_nothing() {
    let server = start();
    let mut admin = Wire::connect(&server);
    {
        let mut gone = Wire::connect(&server);
        gone.send(&[b"BLPOP", b"q", b"0"]);
        wait_blocked(&mut admin, 1);
    }
    wait_blocked(&mut admin, 0);
    admin.cmd("RPUSH q x");
    assert_eq!(admin.cmd("LLEN q"), ":1\r\n");
}

#[test]
fn blmove_feeds_a_client_blocked_on_its_destination() {
    let server = start();
    let mut admin = Wire::connect(&server);
    // A waits on `dst`; B waits to move from `src` to `dst`.
    let mut a = Wire::connect(&server);
    a.send(&[b"BLPOP", b"dst", b"0"]);
    wait_blocked(&mut admin, 1);
    let mut b = Wire::connect(&server);
    b.send(&[b"BLMOVE", b"src", b"dst", b"RIGHT", b"LEFT", b"0"]);
    wait_blocked(&mut admin, 2);
    // One push to `src` serves B, whose push to `dst` serves A.
    admin.cmd("RPUSH src job");
    assert_eq!(b.reply(), bulk("job"));
    assert_eq!(a.reply(), arr(&["dst", "job"]));
    assert_eq!(admin.cmd("EXISTS src dst"), ":0\r\n");
    // BRPOPLPUSH the same way.
    a.send(&[b"BRPOP", b"dst2", b"0"]);
    wait_blocked(&mut admin, 1);
    b.send(&[b"BRPOPLPUSH", b"src2", b"dst2", b"0"]);
    wait_blocked(&mut admin, 2);
    admin.cmd("LPUSH src2 one");
    assert_eq!(b.reply(), bulk("one"));
    assert_eq!(a.reply(), arr(&["dst2", "one"]));
}

#[test]
fn blmove_to_a_destination_of_another_type_fails_when_served() {
    // Redis 7.0.15: the waiter gets WRONGTYPE and the element stays put.
    let server = start();
    let mut admin = Wire::connect(&server);
    let mut w = Wire::connect(&server);
    w.send(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("SET dst str");
    admin.cmd("RPUSH src x");
    assert_eq!(w.reply(), WRONGTYPE);
    wait_blocked(&mut admin, 0);
    assert_eq!(admin.cmd("LRANGE src 0 -1"), arr(&["x"]));
}

#[test]
fn a_waiter_outlives_its_key_being_set_and_deleted() {
    let server = start();
    let mut admin = Wire::connect(&server);
    let mut w = Wire::connect(&server);
    w.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut admin, 1);
    admin.cmd("SET k str");
    admin.cmd("DEL k");
    wait_blocked(&mut admin, 1);
    admin.cmd("RPUSH k b");
    assert_eq!(w.reply(), arr(&["k", "b"]));
}

#[test]
fn client_unblock_ends_a_list_wait() {
    let server = start();
    let mut admin = Wire::connect(&server);
    let mut w = Wire::connect(&server);
    let id = w.cmd("CLIENT ID");
    let id = id.trim_start_matches(':').trim_end();
    w.send(&[b"BLMOVE", b"s", b"d", b"LEFT", b"LEFT", b"0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&format!("CLIENT UNBLOCK {id}")), ":1\r\n");
    assert_eq!(w.reply(), NIL_ARRAY);
    w.set_read_timeout(Some(Duration::from_secs(10)));
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
}

// ---------------------------------------------------------------------------
// Keys that become lists by other means, and blocking inside MULTI
// ---------------------------------------------------------------------------

/// RENAME, MOVE and COPY onto a key a client is blocked on serve that
/// client at once, as Redis's dbAdd signals every key it creates.
#[test]
fn rename_move_and_copy_onto_a_waited_key_serve_the_waiter() {
    let server = start();
    let mut control = Wire::connect(&server);
    for (setup, make_ready) in [
        ("RPUSH staging job", "RENAME staging queue"),
        ("RPUSH staging job", "COPY staging queue"),
        ("SELECT 1|RPUSH queue job", "MOVE queue 0|SELECT 0"),
    ] {
        let mut waiter = Wire::connect(&server);
        waiter.send(&[b"BLPOP", b"queue", b"5"]);
        wait_blocked(&mut control, 1);
        for line in setup.split('|') {
            control.cmd(line);
        }
        for line in make_ready.split('|') {
            control.cmd(line);
        }
        assert_eq!(waiter.reply(), arr(&["queue", "job"]), "{make_ready}");
        wait_blocked(&mut control, 0);
        control.cmd("FLUSHALL");
    }
}

/// Inside MULTI a blocking pop cannot wait: EXEC runs it as its
/// non-blocking form, which finds nothing and answers a null array.
#[test]
fn blpop_inside_multi_does_not_block() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("MULTI"), OK);
    assert_eq!(w.cmd("BLPOP empty 0"), "+QUEUED\r\n");
    assert_eq!(w.cmd("RPUSH full a"), "+QUEUED\r\n");
    assert_eq!(w.cmd("BLPOP full 0"), "+QUEUED\r\n");
    assert_eq!(
        w.cmd("EXEC"),
        format!("*3\r\n{NIL_ARRAY}:1\r\n{}", arr(&["full", "a"]))
    );
}
