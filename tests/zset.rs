//! Sorted sets through real clients: replies and errors as Redis 7.0.15
//! gives them (every expected value below was read off a real 7.0.15),
//! encodings at the exact thresholds, a model check over both encodings,
//! RESP3 reply shapes, and blocking pops served first come, first served.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use redis::Value;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// The full error text a command answers (`ERR ...`).
fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Err(e) => match e.detail() {
            Some(detail) => format!("{} {}", e.code().unwrap_or("?"), detail),
            None => e.code().unwrap_or("?").to_string(),
        },
        Ok(v) => panic!("{args:?} answered {v:?}, not an error"),
    }
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

/// The raw RESP text of a command's reply on a RESP3 connection.
fn resp3(server: &redis_anatomy::server::ServerHandle) -> Raw {
    let mut raw = Raw::connect(server);
    raw.send(&resp(&[b"HELLO", b"3"]));
    // HELLO's map is long; read until the modules field ends it.
    let mut got = Vec::new();
    while !got.ends_with(b"modules\r\n*0\r\n") {
        got.extend(raw.read_exact_len(1));
    }
    raw
}

// ---------------------------------------------------------------------------
// Replies and errors
// ---------------------------------------------------------------------------

#[test]
fn every_error_text_matches_redis() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "a"]);
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    let cases: &[(&[&str], &str)] = &[
        (&["ZADD", "z", "XX", "NX", "1", "a"], "ERR XX and NX options at the same time are not compatible"),
        (&["ZADD", "z", "GT", "LT", "1", "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
        (&["ZADD", "z", "NX", "GT", "1", "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
        (&["ZADD", "z", "INCR", "1", "a", "2", "b"], "ERR INCR option supports a single increment-element pair"),
        (&["ZADD", "z", "1", "a", "2"], "ERR syntax error"),
        (&["ZADD", "z", "NX"], "ERR wrong number of arguments for 'zadd' command"),
        (&["ZADD", "z", "abc", "a"], "ERR value is not a valid float"),
        (&["ZADD", "z", " 1", "a"], "ERR value is not a valid float"),
        (&["ZADD", "z", "1e400", "a"], "ERR value is not a valid float"),
        (&["ZADD", "z", "nan", "a"], "ERR value is not a valid float"),
        (&["ZADD", "str", "1", "a"], wrongtype),
        (&["ZINCRBY", "z", "x", "a"], "ERR value is not a valid float"),
        (&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"], "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        (&["ZRANGE", "z", "[a", "[b", "BYLEX", "WITHSCORES"], "ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        (&["ZRANGE", "z", "0", "1", "REV", "REV"], "ERR syntax error"),
        (&["ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES"], "ERR syntax error"),
        (&["ZREVRANGE", "z", "0", "1", "REV"], "ERR syntax error"),
        (&["ZRANGEBYSCORE", "z", "a", "b"], "ERR min or max is not a float"),
        (&["ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "0"], "ERR syntax error"),
        (&["ZRANGEBYLEX", "z", "a", "b"], "ERR min or max not valid string range item"),
        (&["ZCOUNT", "z", "(", "x"], "ERR min or max is not a float"),
        (&["ZLEXCOUNT", "z", "a", "+"], "ERR min or max not valid string range item"),
        (&["ZREMRANGEBYRANK", "z", "a", "1"], "ERR value is not an integer or out of range"),
        (&["ZPOPMIN", "z", "-1"], "ERR value is out of range, must be positive"),
        (&["ZPOPMIN", "z", "x"], "ERR value is out of range, must be positive"),
        (&["ZPOPMIN", "z", "1", "2"], "ERR syntax error"),
        (&["ZPOPMIN", "str"], wrongtype),
        (&["BZPOPMIN", "z", "-1"], "ERR timeout is negative"),
        (&["BZPOPMIN", "z", "x"], "ERR timeout is not a float or out of range"),
        (&["ZMPOP", "0", "z", "MIN"], "ERR numkeys should be greater than 0"),
        (&["ZMPOP", "1", "z", "FOO"], "ERR syntax error"),
        (&["ZMPOP", "2", "z", "MIN"], "ERR syntax error"),
        (&["ZMPOP", "1", "z", "MIN", "COUNT", "0"], "ERR count should be greater than 0"),
        (&["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"], "ERR syntax error"),
        (&["BZMPOP", "x", "1", "z", "MIN"], "ERR timeout is not a float or out of range"),
        (&["ZUNIONSTORE", "d", "0", "z"], "ERR at least 1 input key is needed for 'zunionstore' command"),
        (&["ZINTERCARD", "0", "z"], "ERR at least 1 input key is needed for 'zintercard' command"),
        (&["ZUNION", "2", "z"], "ERR syntax error"),
        (&["ZUNION", "1", "z", "WEIGHTS", "x"], "ERR weight value is not a float"),
        (&["ZUNION", "1", "z", "AGGREGATE", "avg"], "ERR syntax error"),
        (&["ZDIFF", "1", "z", "WEIGHTS", "1"], "ERR syntax error"),
        (&["ZUNIONSTORE", "d", "1", "z", "WITHSCORES"], "ERR syntax error"),
        (&["ZUNION", "2", "z", "str"], wrongtype),
        (&["ZINTERCARD", "1", "z", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
        (&["ZINTERCARD", "1", "z", "LIMIT", "x"], "ERR LIMIT can't be negative"),
        (&["ZRANDMEMBER", "z", "-9223372036854775808"], "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        (&["ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"], "ERR value is out of range"),
        (&["ZRANDMEMBER", "z", "1", "WITHSCORE"], "ERR syntax error"),
        (&["ZSCAN", "z", "x"], "ERR invalid cursor"),
        (&["ZSCAN", "z", "0", "COUNT", "0"], "ERR syntax error"),
        (&["ZSCAN", "z", "0", "TYPE", "zset"], "ERR syntax error"),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args), *expected, "{args:?}");
    }
}

#[test]
fn zadd_options_and_replies_follow_redis() {
    let server = start();
    let mut c = conn(&server);
    let n = |c: &mut redis::Connection, a: &[&str]| q::<i64>(c, a);
    assert_eq!(n(&mut c, &["ZADD", "z", "1", "a", "2", "b"]), 2);
    assert_eq!(n(&mut c, &["ZADD", "z", "XX", "10", "a", "20", "new"]), 0);
    assert_eq!(
        n(&mut c, &["ZADD", "z", "CH", "GT", "5", "a", "20", "b"]),
        1,
        "a stays at 10"
    );
    assert_eq!(n(&mut c, &["ZADD", "z", "LT", "CH", "1", "a", "1", "c"]), 2);
    assert_eq!(q::<String>(&mut c, &["ZADD", "z", "INCR", "5", "a"]), "6");
    assert_eq!(
        q::<Option<String>>(&mut c, &["ZADD", "z", "INCR", "NX", "5", "a"]),
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["ZADD", "z", "INCR", "XX", "5", "zz"]),
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["ZADD", "z", "INCR", "GT", "-100", "a"]),
        None
    );
    assert_eq!(
        q::<String>(&mut c, &["ZADD", "z", "INCR", "LT", "-100", "a"]),
        "-94"
    );
    assert_eq!(n(&mut c, &["ZADD", "nokey", "XX", "1", "a"]), 0);
    assert_eq!(n(&mut c, &["EXISTS", "nokey"]), 0, "XX never creates");
    // inf + -inf is NaN: refused, and the member keeps its score.
    let _: i64 = n(&mut c, &["ZADD", "z", "+inf", "f"]);
    assert_eq!(
        err(&mut c, &["ZINCRBY", "z", "-inf", "f"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "z", "f"]), "inf");
    // All or nothing: one bad score and no pair is applied.
    assert_eq!(
        err(&mut c, &["ZADD", "z", "1", "x", "bad", "y"]),
        "ERR value is not a valid float"
    );
    assert_eq!(q::<Option<String>>(&mut c, &["ZSCORE", "z", "x"]), None);
}

#[test]
fn zscore_prints_doubles_with_17_significant_digits() {
    let server = start();
    let mut c = conn(&server);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1.1", "a", "0.1", "b", "1e20", "c", "-0", "d", "0x10", "e", "4.9e-324",
            "f",
        ],
    );
    let score = |c: &mut redis::Connection, m: &str| q::<String>(c, &["ZSCORE", "z", m]);
    assert_eq!(score(&mut c, "a"), "1.1000000000000001");
    assert_eq!(score(&mut c, "b"), "0.10000000000000001");
    assert_eq!(score(&mut c, "c"), "1e+20");
    assert_eq!(
        score(&mut c, "d"),
        "0",
        "a listpack stores -0 as the integer 0"
    );
    assert_eq!(score(&mut c, "e"), "16", "strtod reads hex");
    assert_eq!(score(&mut c, "f"), "4.9406564584124654e-324");
    assert_eq!(
        q::<String>(&mut c, &["ZINCRBY", "z", "0.2", "b"]),
        "0.30000000000000004"
    );
    assert_eq!(q::<String>(&mut c, &["ZINCRBY", "new", "-0", "m"]), "-0");
    let scores: Vec<Option<String>> = q(&mut c, &["ZMSCORE", "z", "a", "nope", "e"]);
    assert_eq!(
        scores,
        [Some("1.1000000000000001".into()), None, Some("16".into())]
    );
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let server = start();
    let mut c = conn(&server);
    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "1.5", "d", "-inf", "e", "+inf", "f",
        ],
    );
    let v = |c: &mut redis::Connection, a: &[&str]| q::<Vec<String>>(c, a);
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "0", "-1"]),
        ["e", "a", "d", "b", "c", "f"]
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "-3", "-1", "WITHSCORES"]),
        ["b", "2", "c", "3", "f", "inf"]
    );
    assert_eq!(
        v(&mut c, &["ZREVRANGE", "z", "0", "1", "WITHSCORES"]),
        ["f", "inf", "c", "3"]
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "(1", "3", "BYSCORE"]),
        ["d", "b", "c"]
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "z", "3", "(1", "BYSCORE", "REV"]),
        ["c", "b", "d"]
    );
    assert_eq!(
        v(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"]
        ),
        ["a", "d"]
    );
    assert!(v(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"]
    )
    .is_empty());
    assert_eq!(
        v(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "4", "-1"]
        ),
        ["c", "f"]
    );
    assert_eq!(
        v(
            &mut c,
            &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "2", "3"]
        ),
        ["b", "d", "a"]
    );
    assert_eq!(q::<i64>(&mut c, &["ZCOUNT", "z", "(1", "3"]), 3);
    assert_eq!(q::<i64>(&mut c, &["ZRANK", "z", "d"]), 2);
    assert_eq!(q::<i64>(&mut c, &["ZREVRANK", "z", "d"]), 3);
    assert_eq!(q::<Option<i64>>(&mut c, &["ZRANK", "z", "nope"]), None);

    let _: i64 = q(
        &mut c,
        &[
            "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
    );
    assert_eq!(
        v(&mut c, &["ZRANGEBYLEX", "lex", "[b", "(e"]),
        ["b", "c", "d"]
    );
    assert_eq!(
        v(
            &mut c,
            &["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "0", "2"]
        ),
        ["e", "d"]
    );
    assert_eq!(
        v(&mut c, &["ZRANGE", "lex", "[d", "[b", "BYLEX", "REV"]),
        ["d", "c", "b"]
    );
    assert_eq!(q::<i64>(&mut c, &["ZLEXCOUNT", "lex", "(a", "+"]), 4);
    assert_eq!(q::<i64>(&mut c, &["ZREMRANGEBYLEX", "lex", "[b", "(d"]), 2);
    assert_eq!(q::<i64>(&mut c, &["ZREMRANGEBYRANK", "lex", "-1", "-1"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYSCORE", "lex", "-inf", "+inf"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "lex"]),
        0,
        "an emptied zset is deleted"
    );
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

#[test]
fn encoding_changes_at_the_exact_thresholds() {
    let server = start();
    let mut c = conn(&server);
    for i in 0..128 {
        let _: i64 = q(&mut c, &["ZADD", "z", &i.to_string(), &format!("m{i}")]);
    }
    assert_eq!(encoding(&mut c, "z"), "listpack", "128 members fit");
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "one-more"]);
    assert_eq!(encoding(&mut c, "z"), "skiplist", "the 129th converts");
    let _: i64 = q(&mut c, &["ZREMRANGEBYRANK", "z", "0", "-3"]);
    assert_eq!(
        encoding(&mut c, "z"),
        "skiplist",
        "shrinking never converts back"
    );

    let _: i64 = q(&mut c, &["ZADD", "v", "1", &"x".repeat(64)]);
    assert_eq!(encoding(&mut c, "v"), "listpack", "a 64-byte member fits");
    let _: i64 = q(&mut c, &["ZADD", "v", "2", &"y".repeat(65)]);
    assert_eq!(
        encoding(&mut c, "v"),
        "skiplist",
        "a 65-byte member does not"
    );
    let _: i64 = q(&mut c, &["ZADD", "w", "1", &"y".repeat(65)]);
    assert_eq!(encoding(&mut c, "w"), "skiplist", "created big");

    let _: () = q(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "3"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "zset-max-ziplist-value", "4"]);
    let _: i64 = q(&mut c, &["ZADD", "s", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(encoding(&mut c, "s"), "listpack");
    let _: i64 = q(&mut c, &["ZADD", "s", "4", "d"]);
    assert_eq!(encoding(&mut c, "s"), "skiplist");
    let _: i64 = q(&mut c, &["ZADD", "t", "1", "abcd"]);
    assert_eq!(encoding(&mut c, "t"), "listpack");
    let _: i64 = q(&mut c, &["ZADD", "t", "1", "abcde"]);
    assert_eq!(encoding(&mut c, "t"), "skiplist");

    // Results of the STORE commands start in the smallest encoding that fits.
    assert_eq!(q::<i64>(&mut c, &["ZUNIONSTORE", "u", "1", "s"]), 4);
    assert_eq!(encoding(&mut c, "u"), "skiplist", "4 > 3 entries");
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERSTORE", "u", "1", "s", "WEIGHTS", "2"]),
        4
    );
    assert_eq!(q::<i64>(&mut c, &["ZRANGESTORE", "r", "s", "0", "2"]), 3);
    assert_eq!(encoding(&mut c, "r"), "listpack");
    assert_eq!(q::<i64>(&mut c, &["ZRANGESTORE", "r", "s", "0", "-1"]), 4);
    assert_eq!(encoding(&mut c, "r"), "skiplist");
    assert_eq!(q::<i64>(&mut c, &["ZDIFFSTORE", "r", "2", "s", "u"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "r"]),
        0,
        "an empty result deletes the destination"
    );

    let _: () = q(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
    let _: i64 = q(&mut c, &["ZADD", "zero", "1", "a"]);
    assert_eq!(encoding(&mut c, "zero"), "skiplist");
}

#[test]
fn zscan_returns_everything_in_both_encodings() {
    let server = start();
    let mut c = conn(&server);
    let _: i64 = q(&mut c, &["ZADD", "small", "1.5", "a", "-0", "b", "7", "c"]);
    let (cursor, items): (String, Vec<String>) = q(&mut c, &["ZSCAN", "small", "0"]);
    assert_eq!(
        (cursor.as_str(), items),
        (
            "0",
            ["b", "0", "a", "1.5", "c", "7"].map(String::from).to_vec()
        )
    );
    let (_, items): (String, Vec<String>) = q(&mut c, &["ZSCAN", "small", "0", "MATCH", "a*"]);
    assert_eq!(items, ["a", "1.5"]);

    let mut expected = BTreeMap::new();
    for i in 0..300 {
        let _: i64 = q(
            &mut c,
            &["ZADD", "big", &format!("{i}.25"), &format!("m{i}")],
        );
        expected.insert(format!("m{i}"), format!("{i}.25"));
    }
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["ZSCAN", "big", &cursor, "COUNT", "20"]);
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, expected);
}

// ---------------------------------------------------------------------------
// Model check: both encodings against a BTreeMap
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Add(i32, u8),
    Incr(i32, u8),
    Rem(u8),
    RemRangeByScore(i32, i32),
    PopMin(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (-20i32..20, 0u8..40).prop_map(|(s, m)| Op::Add(s, m)),
        2 => (-5i32..5, 0u8..40).prop_map(|(s, m)| Op::Incr(s, m)),
        2 => (0u8..40).prop_map(Op::Rem),
        1 => (-20i32..20, -20i32..20).prop_map(|(a, b)| Op::RemRangeByScore(a, b)),
        1 => (0u8..4).prop_map(Op::PopMin),
    ]
}

/// Sorted (score, member) view of the model; scores are halves.
fn ordered(model: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn zset_commands_match_a_model(ops in proptest::collection::vec(op(), 1..60), limit in 0usize..12) {
        let server = start();
        let mut c = conn(&server);
        // A small threshold makes sets cross into skiplists and back (for
        // new results) in both directions during one run.
        let _: () = q(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", &limit.to_string()]);
        let mut model: BTreeMap<String, f64> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Add(s, m) => {
                    let (score, member) = (f64::from(s) / 2.0, format!("m{m}"));
                    let added: i64 = q(&mut c, &["ZADD", "z", &score.to_string(), &member]);
                    prop_assert_eq!(added, i64::from(model.insert(member, score).is_none()));
                }
                Op::Incr(s, m) => {
                    let member = format!("m{m}");
                    let got: f64 = q(&mut c, &["ZINCRBY", "z", &s.to_string(), &member]);
                    let entry = model.entry(member).or_insert(0.0);
                    *entry += f64::from(s);
                    prop_assert_eq!(got, *entry);
                }
                Op::Rem(m) => {
                    let removed: i64 = q(&mut c, &["ZREM", "z", &format!("m{m}")]);
                    prop_assert_eq!(removed, i64::from(model.remove(&format!("m{m}")).is_some()));
                }
                Op::RemRangeByScore(a, b) => {
                    let (min, max) = (f64::from(a) / 2.0, f64::from(b) / 2.0);
                    let n: i64 = q(&mut c, &["ZREMRANGEBYSCORE", "z", &min.to_string(), &max.to_string()]);
                    let before = model.len();
                    model.retain(|_, s| !(*s >= min && *s <= max));
                    prop_assert_eq!(n as usize, before - model.len());
                }
                Op::PopMin(n) => {
                    let got: Vec<String> = q(&mut c, &["ZPOPMIN", "z", &n.to_string()]);
                    let expected: Vec<String> = ordered(&model)
                        .into_iter()
                        .take(n as usize)
                        .flat_map(|(m, s)| [m, s.to_string()])
                        .collect();
                    for pair in expected.chunks(2) {
                        model.remove(&pair[0]);
                    }
                    prop_assert_eq!(got, expected);
                }
            }
            let want = ordered(&model);
            let got: Vec<(String, f64)> = q(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(q::<usize>(&mut c, &["ZCARD", "z"]), model.len());
            let rev: Vec<String> = q(&mut c, &["ZREVRANGE", "z", "0", "-1"]);
            prop_assert_eq!(rev, want.iter().rev().map(|(m, _)| m.clone()).collect::<Vec<_>>());
            if let Some((rank, (member, score))) = want.iter().enumerate().nth(want.len() / 2) {
                prop_assert_eq!(q::<usize>(&mut c, &["ZRANK", "z", member]), rank);
                prop_assert_eq!(q::<usize>(&mut c, &["ZREVRANK", "z", member]), want.len() - 1 - rank);
                let count: usize = q(&mut c, &["ZCOUNT", "z", "-inf", &score.to_string()]);
                prop_assert_eq!(count, want.iter().filter(|(_, s)| s <= score).count());
                let page: Vec<String> = q(&mut c, &["ZRANGEBYSCORE", "z", &format!("({score}"), "+inf", "LIMIT", "1", "3"]);
                let model_page: Vec<String> = want.iter().filter(|(_, s)| s > score).skip(1).take(3).map(|(m, _)| m.clone()).collect();
                prop_assert_eq!(page, model_page);
            }
            let enc = if model.is_empty() { String::new() } else { encoding(&mut c, "z") };
            if model.len() > limit {
                prop_assert_eq!(enc, "skiplist");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Set operations
// ---------------------------------------------------------------------------

#[test]
fn union_inter_diff_with_weights_and_aggregates() {
    let server = start();
    let mut c = conn(&server);
    let _: i64 = q(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    let _: i64 = q(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    let v = |c: &mut redis::Connection, a: &[&str]| q::<Vec<String>>(c, a);
    assert_eq!(
        v(
            &mut c,
            &["ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"]
        ),
        ["x", "2", "y", "34", "z", "66", "w", "90"]
    );
    assert_eq!(
        v(
            &mut c,
            &["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]
        ),
        ["x", "1", "y", "2", "z", "3", "w", "30"]
    );
    assert_eq!(
        v(
            &mut c,
            &["ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"]
        ),
        ["y", "10", "z", "20"]
    );
    assert_eq!(
        v(&mut c, &["ZDIFF", "2", "a", "b", "WITHSCORES"]),
        ["x", "1"]
    );
    assert!(v(&mut c, &["ZDIFF", "2", "a", "a"]).is_empty());
    assert!(v(&mut c, &["ZINTER", "2", "a", "nokey"]).is_empty());
    assert_eq!(q::<i64>(&mut c, &["ZINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]),
        1
    );

    // inf + -inf is NaN; SUM makes it 0. 0 * inf (a zero weight) too.
    let _: i64 = q(&mut c, &["ZADD", "pinf", "inf", "m"]);
    let _: i64 = q(&mut c, &["ZADD", "ninf", "-inf", "m"]);
    assert_eq!(
        v(&mut c, &["ZUNION", "2", "pinf", "ninf", "WITHSCORES"]),
        ["m", "0"]
    );
    assert_eq!(
        v(&mut c, &["ZINTER", "2", "pinf", "ninf", "WITHSCORES"]),
        ["m", "0"]
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "ZUNION",
                "2",
                "pinf",
                "ninf",
                "WEIGHTS",
                "0",
                "1",
                "WITHSCORES"
            ]
        ),
        ["m", "-inf"]
    );
    assert_eq!(
        v(
            &mut c,
            &[
                "ZINTER",
                "2",
                "pinf",
                "ninf",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]
        ),
        ["m", "inf"]
    );

    assert_eq!(q::<i64>(&mut c, &["ZUNIONSTORE", "d", "2", "a", "b"]), 4);
    assert_eq!(encoding(&mut c, "d"), "listpack");
    assert_eq!(
        q::<i64>(&mut c, &["ZINTERSTORE", "d", "2", "a", "nokey"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "d"]), 0);
}

#[test]
fn zrandmember_counts_and_shapes() {
    let server = start();
    let mut c = conn(&server);
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "x", "2", "y", "3", "z"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANDMEMBER", "z", "10", "WITHSCORES"]),
        ["z", "3", "y", "2", "x", "1"]
    );
    let two: Vec<String> = q(&mut c, &["ZRANDMEMBER", "z", "2"]);
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1], "a positive count gives distinct members");
    let many: Vec<String> = q(&mut c, &["ZRANDMEMBER", "z", "-50"]);
    assert_eq!(many.len(), 50, "a negative count may repeat");
    assert!(many.iter().all(|m| ["x", "y", "z"].contains(&m.as_str())));
    let one: String = q(&mut c, &["ZRANDMEMBER", "z"]);
    assert!(["x", "y", "z"].contains(&one.as_str()));
    assert_eq!(q::<Option<String>>(&mut c, &["ZRANDMEMBER", "nokey"]), None);
    assert!(q::<Vec<String>>(&mut c, &["ZRANDMEMBER", "z", "0"]).is_empty());
}

// ---------------------------------------------------------------------------
// RESP3 reply shapes (bytes as Redis 7.0.15 sends them)
// ---------------------------------------------------------------------------

#[test]
fn resp3_shapes_match_redis() {
    let server = start();
    let mut raw = resp3(&server);
    let cases: &[(&[&[u8]], &str)] = &[
        (
            &[b"ZADD", b"z", b"1", b"a", b"2.5", b"b", b"3", b"c"],
            ":3\r\n",
        ),
        (&[b"ZSCORE", b"z", b"b"], ",2.5\r\n"),
        (&[b"ZSCORE", b"z", b"nope"], "_\r\n"),
        (
            &[b"ZRANGE", b"z", b"0", b"0", b"WITHSCORES"],
            "*1\r\n*2\r\n$1\r\na\r\n,1\r\n",
        ),
        (
            &[b"ZUNION", b"1", b"z", b"WITHSCORES"],
            "*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n",
        ),
        (&[b"ZPOPMIN", b"z"], "*2\r\n$1\r\na\r\n,1\r\n"),
        (&[b"ZPOPMIN", b"z", b"1"], "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"),
        (&[b"ZADD", b"z", b"inf", b"i"], ":1\r\n"),
        (
            &[b"BZPOPMAX", b"z", b"0"],
            "*3\r\n$1\r\nz\r\n$1\r\ni\r\n,inf\r\n",
        ),
        (
            &[b"ZMPOP", b"1", b"z", b"MAX", b"COUNT", b"5"],
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n",
        ),
        (&[b"ZMPOP", b"1", b"z", b"MIN"], "_\r\n"),
        (&[b"ZPOPMIN", b"z"], "*0\r\n"),
    ];
    for (args, expected) in cases {
        raw.roundtrip(&resp(args), expected.as_bytes());
    }
}

#[test]
fn resp2_pop_shapes_match_redis() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"ZADD", b"z", b"1", b"a", b"2", b"b"]), b":2\r\n");
    raw.roundtrip(
        &resp(&[b"ZPOPMIN", b"z", b"1"]),
        b"*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    raw.roundtrip(
        &resp(&[b"ZMPOP", b"1", b"z", b"MIN"]),
        b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    raw.roundtrip(&resp(&[b"ZMPOP", b"1", b"z", b"MIN"]), b"*-1\r\n");
    raw.roundtrip(&resp(&[b"ZPOPMIN", b"z", b"0"]), b"*0\r\n");
}

// ---------------------------------------------------------------------------
// Blocking pops
// ---------------------------------------------------------------------------

#[test]
fn blocked_pops_are_served_first_come_first_served() {
    let server = start();
    let mut admin = conn(&server);
    let mut waiters: Vec<Raw> = (0..3).map(|_| Raw::connect(&server)).collect();
    // Park them one at a time, so the order is known.
    for (i, w) in waiters.iter_mut().enumerate() {
        w.send(&resp(&[b"BZPOPMIN", b"other", b"z", b"0"]));
        wait_blocked_clients(&mut admin, i + 1);
    }
    let _: i64 = q(&mut admin, &["ZADD", "z", "3", "c", "1", "a", "2", "b"]);
    let replies: Vec<Vec<u8>> = waiters
        .iter_mut()
        .map(|w| w.read_exact_len(b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n".len()))
        .collect();
    assert_eq!(
        replies,
        [
            b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n".to_vec(),
            b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n".to_vec(),
            b"*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n".to_vec(),
        ]
    );
    wait_blocked_clients(&mut admin, 0);
    assert_eq!(
        q::<i64>(&mut admin, &["EXISTS", "z"]),
        0,
        "popped empty, deleted"
    );
}

#[test]
fn bzmpop_serves_the_first_waiter_everything_it_asked_for() {
    let server = start();
    let mut admin = conn(&server);
    let mut first = Raw::connect(&server);
    let mut second = Raw::connect(&server);
    first.send(&resp(&[
        b"BZMPOP", b"0", b"1", b"z", b"MAX", b"COUNT", b"2",
    ]));
    wait_blocked_clients(&mut admin, 1);
    second.send(&resp(&[b"BZPOPMAX", b"z", b"0"]));
    wait_blocked_clients(&mut admin, 2);
    let _: i64 = q(&mut admin, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let expected =
        b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n";
    assert_eq!(first.read_exact_len(expected.len()), expected.to_vec());
    let expected = b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n";
    assert_eq!(second.read_exact_len(expected.len()), expected.to_vec());
}

#[test]
fn blocked_pops_time_out_with_a_null_array() {
    let server = start();
    let mut raw = Raw::connect(&server);
    let started = Instant::now();
    raw.roundtrip(&resp(&[b"BZPOPMIN", b"z", b"0.1"]), b"*-1\r\n");
    raw.roundtrip(&resp(&[b"BZMPOP", b"0.1", b"1", b"z", b"MIN"]), b"*-1\r\n");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "waited {elapsed:?}");
    // A key of another type is an error at once, not a wait.
    raw.roundtrip(&resp(&[b"SET", b"s", b"x"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"BZPOPMIN", b"nokey", b"s", b"0"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
}
