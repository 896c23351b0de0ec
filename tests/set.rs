//! The set commands through real clients: a model-checked random walk,
//! the encoding transitions at their exact thresholds, the random-member
//! strategies of SPOP and SRANDMEMBER, the algebra, SSCAN, and every
//! error text (each checked against Redis 7.0.15).

mod common;
use common::*;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;
use redis::Value;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

/// The full error text (`ERR ...`) a command answers.
fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
    }
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

fn members(c: &mut redis::Connection, key: &str) -> BTreeSet<String> {
    q::<Vec<String>>(c, &["SMEMBERS", key])
        .into_iter()
        .collect()
}

fn sadd_range(c: &mut redis::Connection, key: &str, range: std::ops::Range<i64>) {
    let mut cmd = redis::cmd("SADD");
    cmd.arg(key);
    for i in range {
        cmd.arg(i);
    }
    let _: i64 = cmd.query(c).unwrap();
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

#[test]
fn an_intset_holds_512_integers_and_converts_at_the_513th_for_good() {
    let s = start();
    let mut c = conn(&s);
    sadd_range(&mut c, "s", 0..512);
    assert_eq!(encoding(&mut c, "s"), "intset");
    assert_eq!(
        int(&mut c, &["SADD", "s", "511"]),
        0,
        "a repeat adds nothing"
    );
    assert_eq!(encoding(&mut c, "s"), "intset");
    assert_eq!(int(&mut c, &["SADD", "s", "512"]), 1);
    assert_eq!(encoding(&mut c, "s"), "hashtable");
    assert_eq!(int(&mut c, &["SREM", "s", "512", "511"]), 2);
    assert_eq!(encoding(&mut c, "s"), "hashtable", "never converts back");
    assert_eq!(int(&mut c, &["SCARD", "s"]), 511);
}

#[test]
fn a_member_that_is_not_a_canonical_integer_makes_a_hashtable() {
    let s = start();
    let mut c = conn(&s);
    for (first, enc) in [
        ("12", "intset"),
        ("-9223372036854775808", "intset"),
        ("012", "hashtable"),
        (" 1", "hashtable"),
        ("-0", "hashtable"),
        ("1.0", "hashtable"),
        ("9223372036854775808", "hashtable"),
        ("a", "hashtable"),
    ] {
        let key = format!("k{first}");
        int(&mut c, &["SADD", &key, first]);
        assert_eq!(encoding(&mut c, &key), enc, "first member {first:?}");
    }
    int(&mut c, &["SADD", "mix", "1", "2"]);
    assert_eq!(encoding(&mut c, "mix"), "intset");
    int(&mut c, &["SADD", "mix", "x"]);
    assert_eq!(encoding(&mut c, "mix"), "hashtable");
    int(&mut c, &["SREM", "mix", "x"]);
    assert_eq!(encoding(&mut c, "mix"), "hashtable");
    assert_eq!(members(&mut c, "mix"), ["1", "2"].map(String::from).into());
}

#[test]
fn the_intset_limit_follows_config_set_and_its_old_alias() {
    let s = start();
    let mut c = conn(&s);
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "3"]);
    sadd_range(&mut c, "a", 0..3);
    assert_eq!(encoding(&mut c, "a"), "intset");
    int(&mut c, &["SADD", "a", "3"]);
    assert_eq!(encoding(&mut c, "a"), "hashtable");
    let _: () = q(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "0"]);
    int(&mut c, &["SADD", "b", "1"]);
    assert_eq!(
        encoding(&mut c, "b"),
        "hashtable",
        "limit 0: no intset can hold a member"
    );
}

#[test]
fn store_results_start_as_an_intset_whatever_their_sources_were() {
    let s = start();
    let mut c = conn(&s);
    // A hashtable set of small integers (it once held a string).
    int(&mut c, &["SADD", "h", "1", "2", "3", "x"]);
    int(&mut c, &["SREM", "h", "x"]);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "h"]), 3);
    assert_eq!(encoding(&mut c, "d"), "intset");
    assert_eq!(int(&mut c, &["SINTERSTORE", "d", "h", "h"]), 3);
    assert_eq!(encoding(&mut c, "d"), "intset");
    int(&mut c, &["SADD", "w", "a", "b"]);
    assert_eq!(int(&mut c, &["SDIFFSTORE", "d", "h", "w"]), 3);
    assert_eq!(encoding(&mut c, "d"), "intset");
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "h", "w"]), 5);
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    // Past the limit the result converts like a set built by SADD.
    sadd_range(&mut c, "big", 0..600);
    assert_eq!(int(&mut c, &["SINTERSTORE", "d", "big", "big"]), 600);
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    assert_eq!(int(&mut c, &["SDIFFSTORE", "d", "big", "h"]), 597);
    assert_eq!(encoding(&mut c, "d"), "hashtable");
}

#[test]
fn an_empty_store_result_deletes_the_destination() {
    let s = start();
    let mut c = conn(&s);
    int(&mut c, &["SADD", "a", "1"]);
    let _: () = q(&mut c, &["SET", "d", "old"]);
    assert_eq!(int(&mut c, &["SINTERSTORE", "d", "a", "missing"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    let _: () = q(&mut c, &["SET", "d", "old"]);
    assert_eq!(int(&mut c, &["SDIFFSTORE", "d", "a", "a"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    let _: () = q(&mut c, &["SET", "d", "old"]);
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "missing"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    // A non-empty result replaces a value of any type and drops its TTL.
    let _: () = q(&mut c, &["SET", "d", "old", "EX", "100"]);
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "a"]), 1);
    assert_eq!(int(&mut c, &["TTL", "d"]), -1);
    assert_eq!(q::<String>(&mut c, &["TYPE", "d"]), "set");
}

// ---------------------------------------------------------------------------
// A random walk checked against a model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Add(usize, Vec<String>),
    Rem(usize, Vec<String>),
    IsMember(usize, String),
    Card(usize),
    Move(usize, usize, String),
    Inter(Vec<usize>),
    Union(Vec<usize>),
    Diff(Vec<usize>),
    InterStore(usize, Vec<usize>),
    DiffStore(usize, Vec<usize>),
    InterCard(Vec<usize>, u64),
}

fn member() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        (-20i64..20).prop_map(|n| n.to_string()),
        "[a-d]{1,2}",
        Just("70000".to_string()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0usize..3;
    let keys = proptest::collection::vec(0usize..3, 1..4);
    let some = proptest::collection::vec(member(), 1..6);
    prop_oneof![
        4 => (key.clone(), some.clone()).prop_map(|(k, m)| Op::Add(k, m)),
        2 => (key.clone(), some).prop_map(|(k, m)| Op::Rem(k, m)),
        1 => (key.clone(), member()).prop_map(|(k, m)| Op::IsMember(k, m)),
        1 => key.clone().prop_map(Op::Card),
        1 => (key.clone(), key.clone(), member()).prop_map(|(a, b, m)| Op::Move(a, b, m)),
        1 => keys.clone().prop_map(Op::Inter),
        1 => keys.clone().prop_map(Op::Union),
        1 => keys.clone().prop_map(Op::Diff),
        1 => (key.clone(), keys.clone()).prop_map(|(d, k)| Op::InterStore(d, k)),
        1 => (key, keys.clone()).prop_map(|(d, k)| Op::DiffStore(d, k)),
        1 => (keys, 0u64..4).prop_map(|(k, l)| Op::InterCard(k, l)),
    ]
}

type Model = [BTreeSet<String>; 3];

fn inter(model: &Model, ks: &[usize]) -> BTreeSet<String> {
    let mut out = model[ks[0]].clone();
    for &k in &ks[1..] {
        out.retain(|m| model[k].contains(m));
    }
    out
}

fn diff(model: &Model, ks: &[usize]) -> BTreeSet<String> {
    let mut out = model[ks[0]].clone();
    for &k in &ks[1..] {
        out.retain(|m| !model[k].contains(m));
    }
    out
}

#[test]
fn set_commands_agree_with_a_model() {
    let server = start();
    let c = RefCell::new(conn(&server));
    let case = Cell::new(0);
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..40))| {
        let mut c = c.borrow_mut();
        case.set(case.get() + 1);
        let names: Vec<String> = (0..3).map(|k| format!("{{c{}}}:{k}", case.get())).collect();
        let name = |k: usize| names[k].as_str();
        let mut model: Model = Default::default();
        for op in &ops {
            match op {
                Op::Add(k, ms) => {
                    let mut args = vec!["SADD", name(*k)];
                    args.extend(ms.iter().map(String::as_str));
                    let new = ms.iter().filter(|m| model[*k].insert((*m).clone())).count();
                    prop_assert_eq!(int(&mut c, &args), new as i64);
                }
                Op::Rem(k, ms) => {
                    let mut args = vec!["SREM", name(*k)];
                    args.extend(ms.iter().map(String::as_str));
                    let gone = ms.iter().filter(|m| model[*k].remove(*m)).count();
                    prop_assert_eq!(int(&mut c, &args), gone as i64);
                }
                Op::IsMember(k, m) => {
                    let got = int(&mut c, &["SISMEMBER", name(*k), m]);
                    prop_assert_eq!(got, model[*k].contains(m) as i64);
                }
                Op::Card(k) => {
                    prop_assert_eq!(int(&mut c, &["SCARD", name(*k)]), model[*k].len() as i64);
                }
                Op::Move(a, b, m) => {
                    let moved = model[*a].contains(m);
                    if moved && a != b {
                        model[*a].remove(m);
                        model[*b].insert(m.clone());
                    }
                    prop_assert_eq!(int(&mut c, &["SMOVE", name(*a), name(*b), m]), moved as i64);
                }
                Op::Inter(ks) | Op::Union(ks) | Op::Diff(ks) => {
                    let (cmd, expected) = match op {
                        Op::Inter(_) => ("SINTER", inter(&model, ks)),
                        Op::Union(_) => ("SUNION", ks.iter().flat_map(|&k| model[k].clone()).collect()),
                        _ => ("SDIFF", diff(&model, ks)),
                    };
                    let mut args = vec![cmd];
                    args.extend(ks.iter().map(|&k| name(k)));
                    let got: Vec<String> = q(&mut c, &args);
                    prop_assert_eq!(got.len(), expected.len(), "no repeats in {}", cmd);
                    prop_assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);
                }
                Op::InterStore(d, ks) | Op::DiffStore(d, ks) => {
                    let (cmd, result) = match op {
                        Op::InterStore(..) => ("SINTERSTORE", inter(&model, ks)),
                        _ => ("SDIFFSTORE", diff(&model, ks)),
                    };
                    let mut args = vec![cmd, name(*d)];
                    args.extend(ks.iter().map(|&k| name(k)));
                    prop_assert_eq!(int(&mut c, &args), result.len() as i64);
                    model[*d] = result;
                }
                Op::InterCard(ks, limit) => {
                    let n = ks.len().to_string();
                    let l = limit.to_string();
                    let mut args = vec!["SINTERCARD", n.as_str()];
                    args.extend(ks.iter().map(|&k| name(k)));
                    args.extend(["LIMIT", l.as_str()]);
                    let full = inter(&model, ks).len() as u64;
                    let expected = if *limit == 0 { full } else { full.min(*limit) };
                    prop_assert_eq!(int(&mut c, &args), expected as i64);
                }
            }
        }
        for (k, expected) in model.iter().enumerate() {
            prop_assert_eq!(&members(&mut c, name(k)), expected);
            // Never an empty set under a key; the encoding fits the members.
            prop_assert_eq!(int(&mut c, &["EXISTS", name(k)]), !expected.is_empty() as i64);
            if !expected.is_empty() {
                let enc = encoding(&mut c, name(k));
                if expected.iter().any(|m| m.parse::<i64>().is_err()) {
                    prop_assert_eq!(enc, "hashtable");
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// SPOP and SRANDMEMBER
// ---------------------------------------------------------------------------

/// Pop `count` from a fresh set of `size` members and check the answer
/// is `count` distinct members that left the set (SPOP's three cases).
fn check_spop(c: &mut redis::Connection, key: &str, size: i64, count: i64, strings: bool) {
    let key = &format!("{key}:{strings}");
    let all: BTreeSet<String> = (0..size)
        .map(|i| {
            if strings {
                format!("m{i}")
            } else {
                i.to_string()
            }
        })
        .collect();
    let mut cmd = redis::cmd("SADD");
    cmd.arg(key);
    for m in &all {
        cmd.arg(m);
    }
    let _: i64 = cmd.query(c).unwrap();
    let popped: Vec<String> = q(c, &["SPOP", key, &count.to_string()]);
    let expected_len = count.min(size) as usize;
    assert_eq!(popped.len(), expected_len, "size {size} count {count}");
    let popped: BTreeSet<String> = popped.into_iter().collect();
    assert_eq!(popped.len(), expected_len, "distinct members");
    let left = members(c, key);
    assert!(popped.is_disjoint(&left));
    assert_eq!(popped.union(&left).cloned().collect::<BTreeSet<_>>(), all);
    assert_eq!(int(c, &["EXISTS", key]), (count < size) as i64);
}

#[test]
fn spop_with_a_count_pops_distinct_members_in_each_of_its_three_cases() {
    let s = start();
    let mut c = conn(&s);
    for strings in [false, true] {
        check_spop(&mut c, "whole", 10, 10, strings); // case 1
        check_spop(&mut c, "more", 10, 50, strings); // case 1
        check_spop(&mut c, "few", 100, 5, strings); // case 2: 95 * 5 > 5
        check_spop(&mut c, "most", 100, 90, strings); // case 3: 10 * 5 <= 90
        check_spop(&mut c, "edge", 6, 5, strings); // 1 * 5 <= 5: case 3
    }
    // Case 3 rebuilds the set intset-first.
    sadd_range(&mut c, "ints", 0..600);
    let _: Vec<String> = q(&mut c, &["SPOP", "ints", "590"]);
    assert_eq!(encoding(&mut c, "ints"), "intset");
    assert_eq!(int(&mut c, &["SCARD", "ints"]), 10);
}

#[test]
fn spop_without_count_removes_one_member_and_the_key_with_the_last() {
    let s = start();
    let mut c = conn(&s);
    int(&mut c, &["SADD", "s", "a", "1"]);
    let a: String = q(&mut c, &["SPOP", "s"]);
    let b: String = q(&mut c, &["SPOP", "s"]);
    assert_eq!(
        [a, b].into_iter().collect::<BTreeSet<_>>(),
        ["1", "a"].map(String::from).into()
    );
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    assert_eq!(q::<Option<String>>(&mut c, &["SPOP", "s"]), None);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SPOP", "s", "3"]),
        Vec::<String>::new()
    );
}

#[test]
fn srandmember_answers_in_each_of_its_four_cases() {
    let s = start();
    let mut c = conn(&s);
    for (key, strings) in [("ints", false), ("strs", true)] {
        let all: HashSet<String> = (0..100)
            .map(|i| {
                if strings {
                    format!("m{i}")
                } else {
                    i.to_string()
                }
            })
            .collect();
        let mut cmd = redis::cmd("SADD");
        cmd.arg(key);
        for m in &all {
            cmd.arg(m);
        }
        let _: i64 = cmd.query(&mut c).unwrap();
        // Case 1: repeats allowed, exactly |count| answers.
        let got: Vec<String> = q(&mut c, &["SRANDMEMBER", key, "-250"]);
        assert_eq!(got.len(), 250);
        assert!(got.iter().all(|m| all.contains(m)));
        assert!(
            got.iter().collect::<HashSet<_>>().len() < 250,
            "repeats happen"
        );
        // Cases 2 (count >= size), 3 (count * 3 > size), 4 (small count).
        for count in [100, 1000, 60, 34, 10, 2, 1] {
            let got: Vec<String> = q(&mut c, &["SRANDMEMBER", key, &count.to_string()]);
            let distinct: HashSet<String> = got.iter().cloned().collect();
            assert_eq!(got.len(), count.min(100), "count {count}");
            assert_eq!(distinct.len(), got.len(), "distinct for count {count}");
            assert!(distinct.is_subset(&all));
        }
        assert_eq!(int(&mut c, &["SCARD", key]), 100, "nothing removed");
    }
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "ints", "0"]),
        Vec::<String>::new()
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "none", "5"]),
        Vec::<String>::new()
    );
    assert_eq!(q::<Option<String>>(&mut c, &["SRANDMEMBER", "none"]), None);
}

// ---------------------------------------------------------------------------
// SMOVE, SMISMEMBER, SINTERCARD, SSCAN
// ---------------------------------------------------------------------------

#[test]
fn smove_creates_the_destination_and_deletes_an_emptied_source() {
    let s = start();
    let mut c = conn(&s);
    int(&mut c, &["SADD", "a", "1", "x"]);
    assert_eq!(int(&mut c, &["SMOVE", "a", "b", "1"]), 1);
    assert_eq!(encoding(&mut c, "b"), "intset", "created for its member");
    assert_eq!(
        int(&mut c, &["SMOVE", "a", "a", "x"]),
        1,
        "same key: is it there?"
    );
    assert_eq!(int(&mut c, &["SMOVE", "a", "a", "y"]), 0);
    assert_eq!(int(&mut c, &["SMOVE", "a", "b", "nope"]), 0);
    assert_eq!(int(&mut c, &["SMOVE", "a", "b", "x"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(members(&mut c, "b"), ["1", "x"].map(String::from).into());
    assert_eq!(encoding(&mut c, "b"), "hashtable");
    assert_eq!(int(&mut c, &["SMOVE", "missing", "b", "1"]), 0);
}

#[test]
fn smismember_answers_per_member_even_for_a_missing_key() {
    let s = start();
    let mut c = conn(&s);
    int(&mut c, &["SADD", "s", "a", "2"]);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "s", "a", "b", "2"]),
        [1, 0, 1]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "none", "a", "b"]),
        [0, 0]
    );
}

#[test]
fn sintercard_stops_at_the_limit_and_declares_its_keys() {
    let s = start();
    let mut c = conn(&s);
    sadd_range(&mut c, "a", 0..50);
    sadd_range(&mut c, "b", 25..100);
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b"]), 25);
    assert_eq!(
        int(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "10"]),
        10
    );
    assert_eq!(
        int(&mut c, &["SINTERCARD", "2", "a", "b", "limit", "0"]),
        25
    );
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "none"]), 0);
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND",
            "GETKEYS",
            "SINTERCARD",
            "2",
            "a",
            "b",
            "LIMIT",
            "1",
        ],
    );
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "SINTERCARD", "3", "a", "b"]),
        "ERR Invalid arguments specified for command"
    );
}

#[test]
fn sscan_visits_every_member_of_a_hashtable_and_all_of_an_intset_at_once() {
    let s = start();
    let mut c = conn(&s);
    let all: HashSet<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut cmd = redis::cmd("SADD");
    cmd.arg("h");
    for m in &all {
        cmd.arg(m);
    }
    let _: i64 = cmd.query(&mut c).unwrap();
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, batch): (String, Vec<String>) =
            q(&mut c, &["SSCAN", "h", &cursor, "COUNT", "20"]);
        seen.extend(batch);
        calls += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, all);
    assert!(calls > 10, "COUNT 20 walks in slices ({calls} calls)");
    let (next, batch): (String, Vec<String>) = q(
        &mut c,
        &["SSCAN", "h", "0", "COUNT", "2000", "MATCH", "m99*"],
    );
    assert_eq!(next, "0");
    assert_eq!(batch.into_iter().collect::<BTreeSet<_>>().len(), 11);

    sadd_range(&mut c, "i", 0..300);
    let (next, batch): (String, Vec<String>) = q(&mut c, &["SSCAN", "i", "77", "COUNT", "1"]);
    assert_eq!(next, "0", "an intset comes back whole");
    assert_eq!(batch.len(), 300);
    let (_, batch): (String, Vec<String>) = q(&mut c, &["SSCAN", "i", "0", "MATCH", "1?"]);
    assert_eq!(batch, (10..20).map(|i| i.to_string()).collect::<Vec<_>>());
    let (next, batch): (String, Vec<String>) = q(&mut c, &["SSCAN", "none", "0"]);
    assert_eq!((next.as_str(), batch.len()), ("0", 0));
}

// ---------------------------------------------------------------------------
// Reply types and errors
// ---------------------------------------------------------------------------

#[test]
fn replies_use_redis_7_aggregate_types_in_resp3() {
    let s = start();
    let mut r = Raw::connect(&s);
    r.send(&resp(&[b"HELLO", b"3"]));
    let mut buf = [0u8; 4096];
    let _ = std::io::Read::read(&mut r.stream, &mut buf).unwrap();
    r.roundtrip(&resp(&[b"SADD", b"s", b"1", b"2"]), b":2\r\n");
    r.roundtrip(&resp(&[b"SMEMBERS", b"s"]), b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(&resp(&[b"SMEMBERS", b"none"]), b"~0\r\n");
    r.roundtrip(&resp(&[b"SINTER", b"s", b"none"]), b"~0\r\n");
    r.roundtrip(&resp(&[b"SUNION", b"s"]), b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(&resp(&[b"SDIFF", b"s"]), b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    r.roundtrip(
        &resp(&[b"SRANDMEMBER", b"s", b"10"]),
        b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
    );
    r.roundtrip(&resp(&[b"SRANDMEMBER", b"none", b"2"]), b"*0\r\n");
    r.roundtrip(&resp(&[b"SRANDMEMBER", b"none"]), b"_\r\n");
    r.roundtrip(&resp(&[b"SPOP", b"none"]), b"_\r\n");
    r.roundtrip(&resp(&[b"SPOP", b"none", b"2"]), b"~0\r\n");
    r.roundtrip(&resp(&[b"SPOP", b"s", b"0"]), b"~0\r\n");
    r.roundtrip(
        &resp(&[b"SSCAN", b"none", b"0"]),
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    );
    r.roundtrip(
        &resp(&[b"SPOP", b"s", b"5"]),
        b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n",
    );
}

#[test]
fn errors_match_redis_byte_for_byte() {
    let s = start();
    let mut c = conn(&s);
    int(&mut c, &["SADD", "s", "1"]);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    let cases: &[(&[&str], &str)] = &[
        (&["SPOP", "s", "-1"], "ERR value is out of range, must be positive"),
        (&["SPOP", "s", "abc"], "ERR value is out of range, must be positive"),
        (&["SPOP", "s", "1", "2"], "ERR syntax error"),
        (&["SRANDMEMBER", "s", "abc"], "ERR value is not an integer or out of range"),
        (
            &["SRANDMEMBER", "s", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        (&["SRANDMEMBER", "s", "1", "2"], "ERR syntax error"),
        (&["SINTERCARD", "0", "s"], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "abc", "s"], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "2", "s"], "ERR Number of keys can't be greater than number of args"),
        (&["SINTERCARD", "1", "s", "LIMIT"], "ERR syntax error"),
        (&["SINTERCARD", "1", "s", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "s", "LIMIT", "x"], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "s", "foo"], "ERR syntax error"),
        (&["SSCAN", "s", "abc"], "ERR invalid cursor"),
        (&["SSCAN", "none", "abc"], "ERR invalid cursor"),
        (&["SSCAN", "s", "0", "COUNT", "0"], "ERR syntax error"),
        (&["SSCAN", "s", "0", "COUNT", "x"], "ERR value is not an integer or out of range"),
        (&["SSCAN", "s", "0", "TYPE", "set"], "ERR syntax error"),
        (&["SSCAN", "s", "0", "MATCH"], "ERR syntax error"),
        (&["SADD", "s"], "ERR wrong number of arguments for 'sadd' command"),
        (&["SADD", "str", "a"], WRONGTYPE),
        (&["SREM", "str", "a"], WRONGTYPE),
        (&["SMEMBERS", "str"], WRONGTYPE),
        (&["SISMEMBER", "str", "a"], WRONGTYPE),
        (&["SMISMEMBER", "str", "a"], WRONGTYPE),
        (&["SCARD", "str"], WRONGTYPE),
        (&["SPOP", "str"], WRONGTYPE),
        (&["SPOP", "str", "0"], WRONGTYPE),
        (&["SRANDMEMBER", "str", "1"], WRONGTYPE),
        (&["SMOVE", "str", "s", "1"], WRONGTYPE),
        (&["SMOVE", "s", "str", "1"], WRONGTYPE),
        // Redis 7.0 checks every key's type, even after a missing one.
        (&["SINTER", "none", "str"], WRONGTYPE),
        (&["SINTERCARD", "2", "none", "str"], WRONGTYPE),
        (&["SUNION", "none", "str"], WRONGTYPE),
        (&["SDIFF", "none", "str"], WRONGTYPE),
        (&["SINTERSTORE", "d", "s", "str"], WRONGTYPE),
        (&["SSCAN", "str", "0"], WRONGTYPE),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args), *expected, "{args:?}");
    }
    // Not errors: a missing source, whatever the destination holds.
    assert_eq!(int(&mut c, &["SMOVE", "none", "str", "1"]), 0);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SPOP", "none", "0"]),
        Vec::<String>::new()
    );
}
