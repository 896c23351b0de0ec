//! SORT and SORT_RO through real clients. Sets and strings are built with
//! SADD and SET; lists with SORT ... STORE itself (which writes a list).
//! SORT over sorted sets and hashes (`BY h_*->field`) is covered by the
//! in-process tests in `src/commands/sort.rs`, which build those values
//! from their encodings. Expected answers were checked on Redis 7.0.15.

mod common;
use common::*;

use redis::Value;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn strs(c: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    q(c, args)
}

fn opts(c: &mut redis::Connection, args: &[&str]) -> Vec<Option<String>> {
    q(c, args)
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

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

/// A set `s` of numbers, a set `sa` of words, and weights `w_*`.
fn fixture(c: &mut redis::Connection) {
    int(c, &["SADD", "s", "3", "1", "2", "10"]);
    int(c, &["SADD", "sa", "b", "a", "c"]);
    for (k, v) in [
        ("w_1", "30"),
        ("w_2", "10"),
        ("w_3", "20"),
        ("w_10", "5"),
        ("w_a", "2"),
        ("w_b", "1"),
        ("w_c", "x"),
    ] {
        let _: () = q(c, &["SET", k, v]);
    }
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

#[test]
fn a_set_sorts_numerically_unless_alpha() {
    let s = start();
    let mut c = conn(&s);
    fixture(&mut c);
    assert_eq!(strs(&mut c, &["SORT", "s"]), v(&["1", "2", "3", "10"]));
    assert_eq!(
        strs(&mut c, &["SORT", "s", "DESC"]),
        v(&["10", "3", "2", "1"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "s", "ALPHA"]),
        v(&["1", "10", "2", "3"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "s", "alpha", "desc"]),
        v(&["3", "2", "10", "1"])
    );
    assert_eq!(
        strs(&mut c, &["SORT_RO", "s", "LIMIT", "1", "2"]),
        v(&["2", "3"])
    );
    assert_eq!(err(&mut c, &["SORT", "sa"]), NOT_DOUBLE);
    assert_eq!(strs(&mut c, &["SORT", "sa", "ALPHA"]), v(&["a", "b", "c"]));
    assert_eq!(
        strs(&mut c, &["SORT", "sa", "ALPHA", "DESC", "LIMIT", "1", "5"]),
        v(&["b", "a"])
    );
    int(&mut c, &["SADD", "sm", "1.5", "-2", "x10"]);
    assert_eq!(err(&mut c, &["SORT", "sm"]), NOT_DOUBLE);
    assert_eq!(
        strs(&mut c, &["SORT", "sm", "ALPHA"]),
        v(&["-2", "1.5", "x10"])
    );
}

#[test]
fn by_weighs_each_element_by_another_key_and_get_fetches_other_keys() {
    let s = start();
    let mut c = conn(&s);
    fixture(&mut c);
    assert_eq!(
        strs(&mut c, &["SORT", "s", "BY", "w_*"]),
        v(&["10", "2", "3", "1"])
    );
    assert_eq!(
        strs(
            &mut c,
            &["SORT", "s", "BY", "w_*", "DESC", "LIMIT", "1", "2"]
        ),
        v(&["3", "2"])
    );
    assert_eq!(
        opts(
            &mut c,
            &["SORT", "s", "BY", "w_*", "GET", "#", "GET", "w_*", "GET", "nostar"]
        ),
        [("10", "5"), ("2", "10"), ("3", "20"), ("1", "30"),]
            .iter()
            .flat_map(|(e, w)| [Some(e.to_string()), Some(w.to_string()), None])
            .collect::<Vec<_>>()
    );
    // A weight that is no number fails the numeric sort, not the ALPHA one.
    assert_eq!(err(&mut c, &["SORT", "sa", "BY", "w_*"]), NOT_DOUBLE);
    assert_eq!(
        strs(&mut c, &["SORT", "sa", "BY", "w_*", "ALPHA"]),
        v(&["b", "a", "c"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "sa", "BY", "w_*", "ALPHA", "DESC"]),
        v(&["c", "a", "b"])
    );
    // Missing weights count as 0; ties are ordered by the element's bytes.
    assert_eq!(
        strs(&mut c, &["SORT", "s", "BY", "missing_*"]),
        v(&["1", "10", "2", "3"])
    );
    // A weight of another type counts as missing.
    int(&mut c, &["DEL", "w_3"]);
    int(&mut c, &["SADD", "w_3", "x"]);
    assert_eq!(
        strs(&mut c, &["SORT", "s", "BY", "w_*"]),
        v(&["3", "10", "2", "1"])
    );
}

#[test]
fn by_a_pattern_without_a_star_keeps_the_stored_order() {
    let s = start();
    let mut c = conn(&s);
    fixture(&mut c);
    // An intset's own order is ascending; DESC does not reverse a set.
    assert_eq!(
        strs(&mut c, &["SORT", "s", "BY", "nosort"]),
        v(&["1", "2", "3", "10"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "s", "BY", "nosort", "DESC"]),
        v(&["1", "2", "3", "10"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "s", "BY", "nosort", "LIMIT", "1", "2"]),
        v(&["2", "3"])
    );
    // Stored, a set is sorted ALPHA anyway, so replicas agree.
    assert_eq!(int(&mut c, &["SORT", "s", "BY", "nosort", "STORE", "d"]), 4);
    assert_eq!(
        strs(&mut c, &["SORT", "d", "BY", "nosort"]),
        v(&["1", "10", "2", "3"])
    );
    // A list keeps its order, reversed by DESC, windowed by LIMIT.
    assert_eq!(int(&mut c, &["SORT", "s", "BY", "w_*", "STORE", "l"]), 4);
    assert_eq!(
        strs(&mut c, &["SORT", "l", "BY", "nosort"]),
        v(&["10", "2", "3", "1"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "BY", "nosort", "DESC"]),
        v(&["1", "3", "2", "10"])
    );
    assert_eq!(
        strs(
            &mut c,
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"]
        ),
        v(&["3", "2"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "BY", "nosort", "LIMIT", "-5", "2"]),
        v(&["10", "2"])
    );
    assert_eq!(
        strs(&mut c, &["SORT", "l", "BY", "nosort", "LIMIT", "4", "1"]),
        v(&[])
    );
    // And sorted like any list otherwise.
    assert_eq!(strs(&mut c, &["SORT", "l"]), v(&["1", "2", "3", "10"]));
    assert_eq!(
        strs(&mut c, &["SORT", "l", "LIMIT", "2", "-1"]),
        v(&["3", "10"])
    );
}

#[test]
fn store_writes_a_list_replaces_any_value_and_deletes_on_an_empty_result() {
    let s = start();
    let mut c = conn(&s);
    fixture(&mut c);
    let _: () = q(&mut c, &["SET", "d", "old", "EX", "100"]);
    assert_eq!(
        int(
            &mut c,
            &["SORT", "s", "BY", "w_*", "GET", "#", "GET", "nothere", "STORE", "d"]
        ),
        8
    );
    assert_eq!(q::<String>(&mut c, &["TYPE", "d"]), "list");
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "d"]),
        "quicklist"
    );
    assert_eq!(int(&mut c, &["TTL", "d"]), -1);
    // A missing GET stores an empty string.
    assert_eq!(
        strs(&mut c, &["SORT", "d", "BY", "nosort"]),
        v(&["10", "", "2", "", "3", "", "1", ""])
    );
    assert_eq!(
        int(&mut c, &["SORT", "s", "LIMIT", "0", "0", "STORE", "d"]),
        0
    );
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
    assert_eq!(int(&mut c, &["SORT", "missing", "STORE", "d"]), 0);
    assert_eq!(
        strs(
            &mut c,
            &["SORT", "missing", "BY", "w_*", "GET", "#", "ALPHA"]
        ),
        v(&[])
    );
    // A failed sort stores nothing.
    assert_eq!(err(&mut c, &["SORT", "sa", "STORE", "d"]), NOT_DOUBLE);
    assert_eq!(int(&mut c, &["EXISTS", "d"]), 0);
}

#[test]
fn getkeys_names_the_sorted_key_and_the_last_store() {
    let s = start();
    let mut c = conn(&s);
    let keys = |c: &mut redis::Connection, args: &[&str]| -> Vec<String> {
        let mut all = vec!["COMMAND", "GETKEYS"];
        all.extend_from_slice(args);
        q(c, &all)
    };
    assert_eq!(keys(&mut c, &["SORT", "k", "STORE", "d"]), v(&["k", "d"]));
    assert_eq!(
        keys(&mut c, &["SORT", "k", "STORE", "d", "STORE", "e"]),
        v(&["k", "e"])
    );
    assert_eq!(
        keys(
            &mut c,
            &["SORT", "k", "LIMIT", "STORE", "x", "1", "STORE", "d"]
        ),
        v(&["k", "d"])
    );
    assert_eq!(
        keys(&mut c, &["SORT", "k", "GET", "STORE", "BY", "x"]),
        v(&["k"])
    );
    assert_eq!(keys(&mut c, &["SORT_RO", "k", "STORE", "d"]), v(&["k"]));
}

#[test]
fn errors_match_redis_byte_for_byte() {
    let s = start();
    let mut c = conn(&s);
    fixture(&mut c);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    let cases: &[(&[&str], &str)] = &[
        (&["SORT_RO", "s", "STORE", "d"], "ERR syntax error"),
        (&["SORT", "s", "LIMIT", "1"], "ERR syntax error"),
        (
            &["SORT", "s", "LIMIT", "a", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["SORT", "s", "LIMIT", "1", "b"],
            "ERR value is not an integer or out of range",
        ),
        (&["SORT", "s", "foo"], "ERR syntax error"),
        (&["SORT", "s", "BY"], "ERR syntax error"),
        (&["SORT", "s", "GET"], "ERR syntax error"),
        (&["SORT", "s", "STORE"], "ERR syntax error"),
        (&["SORT", "str"], wrongtype),
        (&["SORT_RO", "str"], wrongtype),
        (
            &["SORT"],
            "ERR wrong number of arguments for 'sort' command",
        ),
        // Options are parsed before the key is looked at.
        (&["SORT", "str", "foo"], "ERR syntax error"),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args), *expected, "{args:?}");
    }
    // STORE over a string key is fine: it is replaced.
    assert_eq!(int(&mut c, &["SORT", "s", "STORE", "str"]), 4);
}

#[test]
fn numbers_are_read_as_strtod_reads_them() {
    let s = start();
    let mut c = conn(&s);
    int(&mut c, &["SADD", "n", "0x10", "1e3", "inf", "-inf", "-0.5"]);
    assert_eq!(
        strs(&mut c, &["SORT", "n"]),
        v(&["-inf", "-0.5", "0x10", "1e3", "inf"])
    );
    for bad in ["nan", "1e309", "1e-310", "1 ", "12abc"] {
        int(&mut c, &["SADD", bad, "1", bad]);
        assert_eq!(err(&mut c, &["SORT", bad]), NOT_DOUBLE, "{bad:?}");
    }
}

#[test]
fn store_serves_a_client_blocked_on_the_destination() {
    // Redis's suite: "BLPOP when result key is created by SORT..STORE".
    let server = start();
    let mut c = conn(&server);
    let mut blocked = conn(&server);
    let waiter =
        std::thread::spawn(move || -> Vec<String> { q(&mut blocked, &["BLPOP", "foo", "5"]) });
    wait_blocked_clients(&mut c, 1);
    let _: i64 = q(&mut c, &["LPUSH", "notfoo", "hello", "hola", "aguacate"]);
    let n: i64 = q(&mut c, &["SORT", "notfoo", "ALPHA", "STORE", "foo"]);
    assert_eq!(n, 3);
    assert_eq!(waiter.join().unwrap(), ["foo", "aguacate"]);
}
