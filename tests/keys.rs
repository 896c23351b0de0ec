//! The keyspace commands and expiry, through real clients; plus an
//! in-process harness for what a client cannot arrange (several databases
//! before SELECT exists, keys already dead, a paused server, the LRU
//! clock) and for driving the active expiry cycle by hand.

mod common;
use common::*;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use redis::Value;
use redis_anatomy::object::{RObj, StrValue};
use redis_anatomy::resp::OwnedArgs;
use redis_anatomy::server::{self, Client, Config, Pause, Server};

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

/// The full error text (`ERR ...`) a command answers.
fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Err(e) => {
            let code = e.code().unwrap_or("?");
            match e.detail() {
                Some(detail) => format!("{code} {detail}"),
                None => code.to_string(),
            }
        }
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
    }
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

/// A server in this process, driven without a socket: a `Server`, one
/// `Client`, and `process_command`. Lets a test switch databases, plant
/// dead keys, pause the server and run cron steps by hand.
struct InProc {
    server: Server,
    client: Client,
}

impl InProc {
    fn new() -> InProc {
        InProc::with(|_| {})
    }

    fn with(f: impl FnOnce(&mut Config)) -> InProc {
        let mut config = Config::default();
        f(&mut config);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        InProc {
            server: Server::new(config),
            client: Client::new(1, addr, addr, -1),
        }
    }

    /// Run a command, return its raw RESP reply.
    fn raw(&mut self, args: &[&str]) -> String {
        let owned = OwnedArgs::from_slices(args);
        self.client.reply.buf.clear();
        server::process_command(&mut self.server, &mut self.client, owned.args());
        String::from_utf8_lossy(&self.client.reply.buf).into_owned()
    }

    /// Plant `key` = `value` in `db`, already dead (expired a second ago)
    /// unless `ttl_ms` says otherwise; no lookup touches it.
    fn plant(&mut self, db: usize, key: &str, ttl_ms: Option<i64>) {
        let d = &mut self.server.dbs[db];
        d.set(
            key.as_bytes(),
            RObj::string(StrValue::from_bytes(b"v"), 0),
            false,
        );
        if let Some(ttl) = ttl_ms {
            d.set_expire(key.as_bytes(), server::unix_ms() + ttl);
        }
    }

    fn len(&self, db: usize) -> usize {
        self.server.dbs[db].len()
    }
}

// ---------------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TYPE, TOUCH
// ---------------------------------------------------------------------------

#[test]
fn del_and_unlink_count_each_existing_key_once() {
    let server = start();
    let mut c = conn(&server);
    for k in ["a", "b", "c"] {
        let _: () = q(&mut c, &["SET", k, "v"]);
    }
    assert_eq!(int(&mut c, &["DEL", "a", "nokey", "a"]), 1);
    assert_eq!(int(&mut c, &["UNLINK", "b", "c", "b"]), 2);
    assert_eq!(int(&mut c, &["EXISTS", "a", "b", "c"]), 0);
    assert_eq!(
        err(&mut c, &["DEL"]),
        "ERR wrong number of arguments for 'del' command"
    );
}

#[test]
fn exists_counts_a_key_named_twice_twice() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "a", "1"]);
    assert_eq!(int(&mut c, &["EXISTS", "a", "a", "nokey"]), 2);
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]), 0);
}

#[test]
fn type_is_a_status_reply_and_none_for_a_missing_key() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"SET", b"s", b"v"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"TYPE", b"s"]), b"+string\r\n");
    raw.roundtrip(&resp(&[b"TYPE", b"nokey"]), b"+none\r\n");
}

#[test]
fn touch_counts_the_keys_that_exist() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "1"]);
    assert_eq!(int(&mut c, &["TOUCH", "a", "b", "nokey", "a"]), 3);
}

// ---------------------------------------------------------------------------
// RENAME, RENAMENX
// ---------------------------------------------------------------------------

#[test]
fn rename_errors_and_renaming_a_key_to_itself() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(err(&mut c, &["RENAME", "nokey", "x"]), "ERR no such key");
    assert_eq!(
        err(&mut c, &["RENAME", "nokey", "nokey"]),
        "ERR no such key"
    );
    assert_eq!(
        err(&mut c, &["RENAMENX", "nokey", "nokey"]),
        "ERR no such key"
    );
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let ok: String = q(&mut c, &["RENAME", "a", "a"]);
    assert_eq!(ok, "OK");
    assert_eq!(int(&mut c, &["RENAMENX", "a", "a"]), 0);
    let v: String = q(&mut c, &["GET", "a"]);
    assert_eq!(v, "1");
}

#[test]
fn rename_moves_the_ttl_and_replaces_the_destination() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "src", "value"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "src", "100000"]), 1);
    let _: () = q(&mut c, &["SET", "dst", "old"]);
    assert_eq!(int(&mut c, &["EXPIRE", "dst", "5"]), 1);
    let ok: String = q(&mut c, &["RENAME", "src", "dst"]);
    assert_eq!(ok, "OK");
    assert_eq!(int(&mut c, &["EXISTS", "src"]), 0);
    let v: String = q(&mut c, &["GET", "dst"]);
    assert_eq!(v, "value");
    let pttl = int(&mut c, &["PTTL", "dst"]);
    assert!(
        (99_000..=100_000).contains(&pttl),
        "the source's TTL moved: {pttl}"
    );

    // A key without a TTL renamed over one with a TTL: no TTL remains.
    let _: () = q(&mut c, &["SET", "plain", "p"]);
    let _: () = q(&mut c, &["RENAME", "plain", "dst"]);
    assert_eq!(int(&mut c, &["TTL", "dst"]), -1);
}

#[test]
fn renamenx_refuses_a_taken_name() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "2"]);
    assert_eq!(int(&mut c, &["RENAMENX", "a", "b"]), 0);
    let b: String = q(&mut c, &["GET", "b"]);
    assert_eq!(b, "2");
    assert_eq!(int(&mut c, &["EXPIRE", "a", "100"]), 1);
    assert_eq!(int(&mut c, &["RENAMENX", "a", "c"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(int(&mut c, &["TTL", "c"]), 100);
}

// ---------------------------------------------------------------------------
// MOVE, COPY
// ---------------------------------------------------------------------------

#[test]
fn move_errors_in_redis_order() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "x", "1"]);
    assert_eq!(
        err(&mut c, &["MOVE", "x", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "x", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "x", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "x", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "x", "2147483648"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(int(&mut c, &["MOVE", "nokey", "1"]), 0);
}

#[test]
fn move_carries_the_ttl_and_refuses_a_taken_name() {
    let mut p = InProc::new();
    assert_eq!(p.raw(&["SET", "x", "1"]), "+OK\r\n");
    assert_eq!(p.raw(&["EXPIRE", "x", "100"]), ":1\r\n");
    assert_eq!(p.raw(&["MOVE", "x", "3"]), ":1\r\n");
    assert_eq!(p.raw(&["EXISTS", "x"]), ":0\r\n");
    p.client.db = 3;
    assert_eq!(p.raw(&["GET", "x"]), "$1\r\n1\r\n");
    assert_eq!(p.raw(&["TTL", "x"]), ":100\r\n");

    // Taken in the target: nothing moves.
    p.client.db = 0;
    assert_eq!(p.raw(&["SET", "x", "2"]), "+OK\r\n");
    assert_eq!(p.raw(&["MOVE", "x", "3"]), ":0\r\n");
    assert_eq!(p.raw(&["GET", "x"]), "$1\r\n2\r\n");
    p.client.db = 3;
    assert_eq!(p.raw(&["GET", "x"]), "$1\r\n1\r\n");
}

#[test]
fn copy_options_and_errors() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "x", "1"]);
    let same = "ERR source and destination objects are the same";
    assert_eq!(err(&mut c, &["COPY", "x", "x"]), same);
    assert_eq!(err(&mut c, &["COPY", "x", "x", "DB", "0"]), same);
    assert_eq!(
        err(&mut c, &["COPY", "x", "y", "DB", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(err(&mut c, &["COPY", "x", "y", "foo"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["COPY", "x", "y", "DB"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["COPY", "x", "y", "db", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(int(&mut c, &["COPY", "nokey", "y"]), 0);
    assert_eq!(int(&mut c, &["COPY", "x", "y"]), 1);
    let _: () = q(&mut c, &["SET", "x", "2"]);
    assert_eq!(int(&mut c, &["COPY", "x", "y"]), 0, "taken without REPLACE");
    let y: String = q(&mut c, &["GET", "y"]);
    assert_eq!(y, "1");
    assert_eq!(int(&mut c, &["COPY", "x", "y", "REPLACE", "replace"]), 1);
    let y: String = q(&mut c, &["GET", "y"]);
    assert_eq!(y, "2");
    // A copy into another db of the same name is fine.
    assert_eq!(int(&mut c, &["COPY", "x", "x", "DB", "1"]), 1);
}

#[test]
fn copy_to_another_db_keeps_the_ttl_and_leaves_the_source() {
    let mut p = InProc::new();
    p.raw(&["SET", "src", "hello"]);
    assert_eq!(p.raw(&["PEXPIRE", "src", "50000"]), ":1\r\n");
    assert_eq!(p.raw(&["COPY", "src", "dst", "DB", "2"]), ":1\r\n");
    assert_eq!(p.raw(&["EXISTS", "src", "dst"]), ":1\r\n");
    p.client.db = 2;
    assert_eq!(p.raw(&["GET", "dst"]), "$5\r\nhello\r\n");
    let pttl: i64 = p.raw(&["PTTL", "dst"])[1..].trim().parse().unwrap();
    assert!((49_000..=50_000).contains(&pttl), "{pttl}");
    // The copy is its own object: changing one leaves the other.
    p.raw(&["SET", "dst", "changed"]);
    p.client.db = 0;
    assert_eq!(p.raw(&["GET", "src"]), "$5\r\nhello\r\n");
}

// ---------------------------------------------------------------------------
// RANDOMKEY
// ---------------------------------------------------------------------------

#[test]
fn randomkey_is_null_on_an_empty_db_and_a_key_otherwise() {
    let server = start();
    let mut c = conn(&server);
    let v: Value = q(&mut c, &["RANDOMKEY"]);
    assert_eq!(v, Value::Nil);
    let keys: HashSet<String> = (0..20).map(|i| format!("k{i}")).collect();
    for k in &keys {
        let _: () = q(&mut c, &["SET", k, "v"]);
    }
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert!(keys.contains(&k), "{k}");
        seen.insert(k);
    }
    assert!(seen.len() > 5, "random, not fixed: saw {seen:?}");
}

#[test]
fn randomkey_skips_and_deletes_dead_keys() {
    let mut p = InProc::new();
    p.server.active_expire_enabled = false;
    for i in 0..50 {
        p.plant(0, &format!("dead{i}"), Some(-1000));
    }
    p.plant(0, "alive", None);
    for _ in 0..20 {
        assert_eq!(p.raw(&["RANDOMKEY"]), "$5\r\nalive\r\n");
    }
    assert!(
        p.server.stats.expired_keys > 0,
        "the picks deleted dead keys"
    );
    assert_eq!(p.len(0) as u64, 51 - p.server.stats.expired_keys);
}

#[test]
fn randomkey_gives_up_on_an_all_dead_db_while_clients_are_paused() {
    let mut p = InProc::new();
    for i in 0..10 {
        p.plant(0, &format!("dead{i}"), Some(-1000));
    }
    p.server.pause = Some(Pause {
        until: Instant::now() + Duration::from_secs(60),
        all: false,
    });
    // Expiry may not delete during a pause, so without the guard this
    // would loop forever; with it, some (dead) name comes back.
    let reply = p.raw(&["RANDOMKEY"]);
    assert!(reply.starts_with("$5\r\ndead"), "{reply}");
    assert_eq!(p.len(0), 10, "nothing deleted during the pause");
    // And lookups still report the dead keys as missing.
    assert_eq!(p.raw(&["EXISTS", "dead0"]), ":0\r\n");
    assert_eq!(p.len(0), 10);
}

// ---------------------------------------------------------------------------
// KEYS
// ---------------------------------------------------------------------------

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]

fn keys_matches_glob_patterns() {
    let server = start();
    let mut c = conn(&server);
    for k in ["user:1", "user:2", "user:10", "session", "u"] {
        let _: () = q(&mut c, &["SET", k, "v"]);
    }
    let all: Vec<String> = q(&mut c, &["KEYS", "*"]);
    assert_eq!(sorted(all), ["session", "u", "user:1", "user:10", "user:2"]);
    let users: Vec<String> = q(&mut c, &["KEYS", "user:*"]);
    assert_eq!(sorted(users), ["user:1", "user:10", "user:2"]);
    let one_char: Vec<String> = q(&mut c, &["KEYS", "user:?"]);
    assert_eq!(sorted(one_char), ["user:1", "user:2"]);
    let exact: Vec<String> = q(&mut c, &["KEYS", "session"]);
    assert_eq!(exact, ["session"]);
    let none: Vec<String> = q(&mut c, &["KEYS", "nomatch*"]);
    assert!(none.is_empty());
}

#[test]
fn keys_hides_dead_keys_without_deleting_them() {
    let mut p = InProc::new();
    p.plant(0, "dead", Some(-1000));
    p.plant(0, "alive", None);
    assert_eq!(p.raw(&["KEYS", "*"]), "*1\r\n$5\r\nalive\r\n");
    assert_eq!(p.len(0), 2, "KEYS must not change the dataset it walks");
    assert_eq!(p.server.stats.expired_keys, 0);
}

// ---------------------------------------------------------------------------
// SCAN
// ---------------------------------------------------------------------------

/// One SCAN call: (next cursor, keys).
fn scan_call(c: &mut redis::Connection, cursor: &str, opts: &[&str]) -> (String, Vec<String>) {
    let mut args = vec!["SCAN", cursor];
    args.extend_from_slice(opts);
    q(c, &args)
}

/// A full SCAN iteration, running `between` after every call.
fn scan_all(
    c: &mut redis::Connection,
    opts: &[&str],
    mut between: impl FnMut(&mut redis::Connection, usize),
) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let (next, batch) = scan_call(c, &cursor, opts);
        keys.extend(batch);
        calls += 1;
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == "0" {
            return (keys, calls);
        }
        between(c, calls);
        cursor = next;
    }
}

#[test]
fn scan_returns_every_key_with_every_count_from_1_to_100() {
    let server = start();
    let mut c = conn(&server);
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    let expected: HashSet<String> = (0..300).map(|i| format!("key:{i}")).collect();
    for count in 1..=100 {
        let count_s = count.to_string();
        let (keys, calls) = scan_all(&mut c, &["COUNT", &count_s], |_, _| {});
        let got: HashSet<String> = keys.iter().cloned().collect();
        assert_eq!(got, expected, "COUNT {count}");
        // No key twice without a resize in between.
        assert_eq!(keys.len(), 300, "COUNT {count}: duplicates");
        if count == 1 {
            assert!(calls > 10, "COUNT 1 must take many calls, took {calls}");
        }
    }
}

#[test]
fn scan_returns_every_key_present_for_the_whole_iteration_while_the_table_grows() {
    let server = start();
    let mut c = conn(&server);
    for i in 0..200 {
        let _: () = q(&mut c, &["SET", &format!("old:{i}"), "v"]);
    }
    // Insert new keys between calls: the table resizes and rehashes
    // under the cursor, which must still cover every old key.
    let mut next_new = 0;
    let (keys, _) = scan_all(&mut c, &["COUNT", "5"], |c, _| {
        for _ in 0..20 {
            let _: () = q(c, &["SET", &format!("new:{next_new}"), "v"]);
            next_new += 1;
        }
    });
    let got: HashSet<String> = keys.into_iter().collect();
    for i in 0..200 {
        assert!(got.contains(&format!("old:{i}")), "old:{i} missed");
    }
}

#[test]

fn scan_match_and_type_filter_after_the_walk() {
    let server = start();
    let mut c = conn(&server);
    for i in 0..50 {
        let _: () = q(&mut c, &["SET", &format!("user:{i}"), "v"]);
        let _: () = q(&mut c, &["SET", &format!("other:{i}"), "v"]);
    }
    let (users, _) = scan_all(&mut c, &["MATCH", "user:*", "COUNT", "7"], |_, _| {});
    let users: HashSet<String> = users.into_iter().collect();
    assert_eq!(users, (0..50).map(|i| format!("user:{i}")).collect());
    let (strings, _) = scan_all(&mut c, &["TYPE", "STRING"], |_, _| {});
    assert_eq!(strings.len(), 100, "TYPE matches case-insensitively");
    let (hashes, _) = scan_all(&mut c, &["type", "hash", "count", "3"], |_, _| {});
    assert!(hashes.is_empty());
    let (both, _) = scan_all(&mut c, &["MATCH", "other:1*", "TYPE", "string"], |_, _| {});
    let both: HashSet<String> = both.into_iter().collect();
    let want: HashSet<String> = (0..50)
        .map(|i| format!("other:{i}"))
        .filter(|k| k.starts_with("other:1"))
        .collect();
    assert_eq!(both, want);
}

#[test]
fn scan_replies_a_bulk_cursor_and_an_array() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"SCAN", b"0"]), b"*2\r\n$1\r\n0\r\n*0\r\n");
    raw.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"SCAN", b"0"]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
    );
    // strtoul's cursors: empty is 0.
    raw.roundtrip(
        &resp(&[b"SCAN", b""]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
    );
}

#[test]
fn scan_errors() {
    let server = start();
    let mut c = conn(&server);
    for cursor in ["abc", " 1", "1 ", "18446744073709551616", "-"] {
        assert_eq!(
            err(&mut c, &["SCAN", cursor]),
            "ERR invalid cursor",
            "{cursor:?}"
        );
    }
    for (opts, msg) in [
        (&["COUNT", "0"][..], "ERR syntax error"),
        (&["COUNT", "-1"], "ERR syntax error"),
        (
            &["COUNT", "abc"],
            "ERR value is not an integer or out of range",
        ),
        (&["COUNT"], "ERR syntax error"),
        (&["MATCH"], "ERR syntax error"),
        (&["TYPE"], "ERR syntax error"),
        (&["foo", "bar"], "ERR syntax error"),
    ] {
        let mut args = vec!["SCAN", "0"];
        args.extend_from_slice(opts);
        assert_eq!(err(&mut c, &args), msg, "{opts:?}");
    }
}

#[test]
fn scan_deletes_the_dead_keys_it_walked_over() {
    let mut p = InProc::new();
    p.server.active_expire_enabled = false;
    for i in 0..10 {
        p.plant(0, &format!("dead{i}"), Some(-1000));
    }
    p.plant(0, "alive", None);
    assert_eq!(
        p.raw(&["SCAN", "0", "COUNT", "1000"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$5\r\nalive\r\n"
    );
    assert_eq!(p.len(0), 1);
    assert_eq!(p.server.stats.expired_keys, 10);
}

// ---------------------------------------------------------------------------
// EXPIRE family, TTL family, PERSIST
// ---------------------------------------------------------------------------

#[test]
fn ttl_transitions_from_missing_to_forever_to_counting_down() {
    let server = start();
    let mut c = conn(&server);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut c, &[cmd, "k"]), -2, "{cmd} of a missing key");
    }
    let _: () = q(&mut c, &["SET", "k", "v"]);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut c, &[cmd, "k"]), -1, "{cmd} without a TTL");
    }
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 100);
    let pttl = int(&mut c, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    // TTL rounds to the nearest second: 1.8 s left is 2, not 1.
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "1800"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 2);
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "1200"]), 1);
    assert_eq!(int(&mut c, &["TTL", "k"]), 1);
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(int(&mut c, &["PERSIST", "nokey"]), 0);
    assert_eq!(int(&mut c, &["TTL", "k"]), -1);
}

#[test]
fn expiretime_reports_the_absolute_deadline_rounded() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", "4102444800123"]), 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]), 4102444800123);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), 4102444800);
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", "4102444800623"]), 1);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), 4102444801);
    assert_eq!(int(&mut c, &["EXPIREAT", "k", "4102444800"]), 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]), 4102444800000);
    // The largest deadline: the rounding must not overflow.
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", "9223372036854775807"]), 1);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), 9223372036854776);
}

#[test]
fn expire_in_the_past_deletes_the_key() {
    let server = start();
    let mut c = conn(&server);
    for args in [
        &["EXPIRE", "k", "-1"][..],
        &["PEXPIRE", "k", "0"],
        &["EXPIREAT", "k", "1"],
        &["PEXPIREAT", "k", "-9223372036854775808"],
        &["EXPIREAT", "k", "0", "LT"],
    ] {
        let _: () = q(&mut c, &["SET", "k", "v"]);
        assert_eq!(int(&mut c, args), 1, "{args:?}");
        assert_eq!(int(&mut c, &["EXISTS", "k"]), 0, "{args:?}");
    }
    assert_eq!(int(&mut c, &["EXPIRE", "nokey", "100"]), 0);
}

#[test]
fn expire_errors_name_the_command() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["EXPIRE", "k", "10", "NX", "XX"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            &["EXPIRE", "k", "10", "nx", "gt"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            &["PEXPIRE", "k", "10", "lt", "nx"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            &["EXPIREAT", "k", "10", "GT", "LT"],
            "ERR GT and LT options at the same time are not compatible",
        ),
        (&["EXPIRE", "k", "10", "foo"], "ERR Unsupported option foo"),
        (&["EXPIRE", "k", "abc", "foo"], "ERR Unsupported option foo"),
        (
            &["EXPIRE", "k", "abc"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["EXPIRE", "k", "9223372036854776"],
            "ERR invalid expire time in 'expire' command",
        ),
        (
            &["EXPIRE", "k", "-9223372036854776"],
            "ERR invalid expire time in 'expire' command",
        ),
        (
            &["PEXPIRE", "k", "9223372036854775807"],
            "ERR invalid expire time in 'pexpire' command",
        ),
        (
            &["EXPIREAT", "k", "9223372036854776"],
            "ERR invalid expire time in 'expireat' command",
        ),
    ];
    for (args, msg) in cases {
        assert_eq!(err(&mut c, args), *msg, "{args:?}");
    }
    // PEXPIREAT cannot overflow: its argument is already absolute ms.
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", "9223372036854775807"]), 1);
    assert!(int(&mut c, &["TTL", "k"]) > 0);
}

#[test]
fn expire_options_follow_redis_7_rules_with_no_ttl_as_infinite() {
    let server = start();
    let mut c = conn(&server);
    // (current TTL in s or None, option, new TTL, reply, TTL afterwards)
    let cases: &[(Option<i64>, &str, i64, i64, i64)] = &[
        (None, "NX", 100, 1, 100),
        (Some(50), "NX", 100, 0, 50),
        (None, "XX", 100, 0, -1),
        (Some(50), "XX", 100, 1, 100),
        (None, "GT", 100, 0, -1), // nothing is greater than forever
        (Some(50), "GT", 100, 1, 100),
        (Some(50), "GT", 10, 0, 50),
        (None, "LT", 100, 1, 100), // everything is less than forever
        (Some(50), "LT", 10, 1, 10),
        (Some(50), "LT", 100, 0, 50),
        (Some(50), "XX GT", 100, 1, 100),
        (None, "XX LT", 100, 0, -1),
    ];
    for (i, &(current, option, new, reply, after)) in cases.iter().enumerate() {
        let key = format!("k{i}");
        let _: () = q(&mut c, &["SET", &key, "v"]);
        if let Some(ttl) = current {
            assert_eq!(int(&mut c, &["EXPIRE", &key, &ttl.to_string()]), 1);
        }
        let new_s = new.to_string();
        let mut args = vec!["EXPIRE", key.as_str(), new_s.as_str()];
        args.extend(option.split(' '));
        assert_eq!(int(&mut c, &args), reply, "{current:?} {option} {new}");
        // TTL rounds to the nearest second: on a loaded machine half a
        // second may pass between EXPIRE and TTL, so allow one less.
        let ttl = int(&mut c, &["TTL", &key]);
        let ok = if after > 0 {
            ttl == after || ttl == after - 1
        } else {
            ttl == after
        };
        assert!(
            ok,
            "{current:?} {option} {new}: TTL {ttl}, expected {after}"
        );
    }
}

#[test]
fn a_key_dies_when_its_ttl_passes() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "30"]), 1);
    let started = Instant::now();
    while int(&mut c, &["EXISTS", "k"]) == 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "never expired");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(started.elapsed() >= Duration::from_millis(25), "died early");
    assert_eq!(int(&mut c, &["TTL", "k"]), -2);
    let v: Option<String> = q(&mut c, &["GET", "k"]);
    assert_eq!(v, None);
}

// ---------------------------------------------------------------------------
// Lazy and active expiry, driven by hand
// ---------------------------------------------------------------------------

#[test]
fn lazy_expiry_deletes_a_dead_key_when_it_is_looked_up() {
    let mut p = InProc::new();
    p.server.active_expire_enabled = false;
    for i in 0..100 {
        p.plant(0, &format!("dead{i}"), Some(-1000));
    }
    for _ in 0..20 {
        server::cron::server_cron(&mut p.server);
    }
    assert_eq!(p.len(0), 100, "no active expiry: the dead keys stay");
    assert_eq!(p.raw(&["GET", "dead7"]), "$-1\r\n");
    assert_eq!(p.len(0), 99, "the lookup deleted exactly that key");
    assert_eq!(p.server.stats.expired_keys, 1);
}

#[test]
fn the_active_cycle_reclaims_dead_keys_nobody_asks_for() {
    let mut p = InProc::new();
    for i in 0..1000 {
        p.plant(0, &format!("dead{i}"), Some(-1000));
    }
    for i in 0..100 {
        p.plant(0, &format!("later{i}"), Some(3_600_000));
        p.plant(0, &format!("forever{i}"), None);
    }
    for i in 0..200 {
        p.plant(5, &format!("dead{i}"), Some(-1000));
    }
    let mut cycles = 0;
    while p.len(0) > 200 || p.len(5) > 0 {
        redis_anatomy::expire::active_expire_cycle(&mut p.server);
        cycles += 1;
        assert!(cycles < 1000, "left {} and {}", p.len(0), p.len(5));
    }
    assert_eq!(p.len(0), 200, "live keys survive");
    assert_eq!(p.server.dbs[0].expires.len(), 100);
    assert_eq!(p.server.stats.expired_keys, 1200);
    assert!(
        p.server.dbs[0].avg_ttl > 3_000_000,
        "avg_ttl of the live keys"
    );
}

#[test]
fn cron_expires_keys_without_any_client_touching_them() {
    let mut p = InProc::new();
    for i in 0..1000 {
        p.plant(0, &format!("k{i}"), Some(-1));
    }
    let started = Instant::now();
    while p.len(0) > 0 {
        server::cron::server_cron(&mut p.server);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} left",
            p.len(0)
        );
    }
    assert_eq!(p.server.stats.expired_keys, 1000);
}

#[test]
fn nothing_expires_while_clients_are_paused() {
    let mut p = InProc::new();
    for i in 0..50 {
        p.plant(0, &format!("dead{i}"), Some(-1000));
    }
    p.server.pause = Some(Pause {
        until: Instant::now() + Duration::from_secs(60),
        all: false,
    });
    for _ in 0..10 {
        redis_anatomy::expire::active_expire_cycle(&mut p.server);
    }
    assert_eq!(
        p.raw(&["GET", "dead1"]),
        "$-1\r\n",
        "still reported missing"
    );
    assert_eq!(
        p.raw(&["SCAN", "0", "COUNT", "100"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(p.len(0), 50, "but not deleted");
    p.server.pause = None;
    redis_anatomy::expire::active_expire_cycle(&mut p.server);
    assert!(p.len(0) < 50);
}

// ---------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------

#[test]
fn object_encoding_at_the_exact_thresholds() {
    let server = start();
    let mut c = conn(&server);
    let forty_four = "x".repeat(44);
    let forty_five = "x".repeat(45);
    let cases = [
        ("123", "int"),
        ("0", "int"),
        ("-1", "int"),
        ("9223372036854775807", "int"),
        ("-9223372036854775808", "int"),
        ("9223372036854775808", "embstr"),
        ("-9223372036854775809", "embstr"),
        ("0123", "embstr"),
        (" 12", "embstr"),
        ("-0", "embstr"),
        ("+1", "embstr"),
        ("", "embstr"),
        (forty_four.as_str(), "embstr"),
        (forty_five.as_str(), "raw"),
    ];
    for (value, encoding) in cases {
        let _: () = q(&mut c, &["SET", "k", value]);
        let got: String = q(&mut c, &["OBJECT", "ENCODING", "k"]);
        assert_eq!(got, encoding, "{value:?}");
    }
}

#[test]
fn object_refcount_reports_shared_integers_like_redis() {
    let server = start();
    let mut c = conn(&server);
    for (value, refcount) in [
        ("0", 2147483647),
        ("9999", 2147483647),
        ("10000", 1),
        ("-1", 1),
        ("abc", 1),
        ("0123", 1),
    ] {
        let _: () = q(&mut c, &["SET", "k", value]);
        assert_eq!(
            int(&mut c, &["OBJECT", "REFCOUNT", "k"]),
            refcount,
            "{value}"
        );
    }
}

#[test]
fn object_on_a_missing_key_is_null_and_errors_are_redis_s() {
    let server = start();
    let mut raw = Raw::connect(&server);
    for sub in [&b"ENCODING"[..], b"REFCOUNT", b"IDLETIME", b"FREQ"] {
        raw.roundtrip(&resp(&[b"OBJECT", sub, b"nokey"]), b"$-1\r\n");
    }
    let mut c = conn(&server);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        err(&mut c, &["OBJECT", "FREQ", "k"]),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "foo"]),
        "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "ENCODING"]),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "encoding", "k", "extra"]),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
    assert_eq!(
        err(&mut c, &["OBJECT"]),
        "ERR wrong number of arguments for 'object' command"
    );
}

#[test]
fn object_help_lists_the_subcommands() {
    let mut p = InProc::new();
    insta::assert_snapshot!(p.raw(&["OBJECT", "HELP"]));
}

#[test]
fn object_idletime_reads_the_lru_clock_without_touching_it() {
    let mut p = InProc::new();
    p.raw(&["SET", "k", "v"]);
    p.server.lru_clock = 1_000_000;
    p.server.dbs[0].get_mut(b"k").unwrap().lru = 999_900;
    assert_eq!(p.raw(&["OBJECT", "IDLETIME", "k"]), ":100\r\n");
    // OBJECT, EXISTS, TYPE and TTL inspect; they do not count as use.
    p.raw(&["EXISTS", "k"]);
    p.raw(&["TYPE", "k"]);
    p.raw(&["TTL", "k"]);
    p.raw(&["OBJECT", "ENCODING", "k"]);
    assert_eq!(p.raw(&["OBJECT", "IDLETIME", "k"]), ":100\r\n");
    // GET and TOUCH do.
    p.raw(&["TOUCH", "k"]);
    assert_eq!(p.raw(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");

    // The 24-bit clock wrapped since the key was last used.
    p.server.lru_clock = 5;
    p.server.dbs[0].get_mut(b"k").unwrap().lru = (1 << 24) - 1 - 10;
    assert_eq!(p.raw(&["OBJECT", "IDLETIME", "k"]), ":15\r\n");
}
