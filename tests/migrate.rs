//! MIGRATE between two of our servers, from us to a real redis-server and
//! from it to us; its errors, its connection cache, the DEL it propagates
//! and the passwords it hides from SLOWLOG and MONITOR.

mod common;
use common::*;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn cmd(c: &mut redis::Connection, words: &[&str]) -> redis::Value {
    let mut q = redis::cmd(words[0]);
    for w in &words[1..] {
        q.arg(*w);
    }
    q.query(c).unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

/// The reply as text: a status or bulk's text, an error's full message.
fn reply(c: &mut redis::Connection, words: &[&str]) -> String {
    let mut q = redis::cmd(words[0]);
    for w in &words[1..] {
        q.arg(*w);
    }
    match q.query::<redis::Value>(c) {
        Ok(redis::Value::Okay) => "OK".into(),
        Ok(redis::Value::SimpleString(s)) => s,
        Ok(redis::Value::BulkString(d)) => String::from_utf8_lossy(&d).into_owned(),
        Ok(redis::Value::Int(n)) => n.to_string(),
        Ok(redis::Value::Nil) => "(nil)".into(),
        Ok(other) => format!("{other:?}"),
        Err(e) => {
            // The crate splits "CODE detail"; put the error back together.
            let code = e.code().unwrap_or("").to_string();
            match e.detail() {
                Some(d) => format!("{code} {d}"),
                None => code,
            }
        }
    }
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .to_string()
}

/// Move keys of every kind (with a TTL, COPY, KEYS, REPLACE) from `src` to
/// the server at `port`, checking both sides after each step.
fn migrate_scenario(src: &mut redis::Connection, dst: &mut redis::Connection, port: &str) {
    cmd(src, &["FLUSHALL"]);
    cmd(dst, &["FLUSHALL"]);
    cmd(src, &["SET", "s", "Some Value"]);
    cmd(src, &["RPUSH", "l", "a", "b", "c"]);
    cmd(src, &["HSET", "h", "f1", "v1", "f2", "v2"]);
    cmd(src, &["SET", "t", "ttl", "PX", "100000"]);

    assert_eq!(
        reply(src, &["MIGRATE", "127.0.0.1", port, "s", "9", "5000"]),
        "OK"
    );
    assert_eq!(reply(src, &["EXISTS", "s"]), "0");
    cmd(dst, &["SELECT", "9"]);
    assert_eq!(reply(dst, &["GET", "s"]), "Some Value");
    assert_eq!(reply(dst, &["TTL", "s"]), "-1");
    assert_eq!(info_field(src, "stats", "migrate_cached_sockets"), "1");

    // COPY keeps ours; a second COPY meets the key and relays the error;
    // REPLACE overwrites it.
    let copy = ["MIGRATE", "127.0.0.1", port, "l", "9", "5000", "COPY"];
    assert_eq!(reply(src, &copy), "OK");
    assert_eq!(reply(src, &["LLEN", "l"]), "3");
    assert_eq!(
        reply(src, &copy),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    cmd(src, &["RPUSH", "l", "d"]);
    let replace = [
        "MIGRATE",
        "127.0.0.1",
        port,
        "l",
        "9",
        "5000",
        "COPY",
        "REPLACE",
    ];
    assert_eq!(reply(src, &replace), "OK");
    let list: Vec<String> = redis::cmd("LRANGE")
        .arg("l")
        .arg(0)
        .arg(-1)
        .query(dst)
        .unwrap();
    assert_eq!(list, ["a", "b", "c", "d"]);

    // The TTL travels as what is left of it.
    assert_eq!(
        reply(src, &["MIGRATE", "127.0.0.1", port, "t", "9", "5000"]),
        "OK"
    );
    let pttl: i64 = redis::cmd("PTTL").arg("t").query(dst).unwrap();
    assert!((90_000..=100_000).contains(&pttl), "pttl {pttl}");

    // KEYS: absent keys are skipped; a busy key stays here, the others go.
    cmd(src, &["MSET", "k1", "1", "k2", "2", "k3", "3"]);
    cmd(dst, &["SET", "k2", "busy"]);
    let many = [
        "MIGRATE",
        "127.0.0.1",
        port,
        "",
        "9",
        "5000",
        "KEYS",
        "nokey",
        "k1",
        "k2",
        "k3",
        "h",
    ];
    assert_eq!(
        reply(src, &many),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    assert_eq!(reply(src, &["EXISTS", "k1", "k2", "k3", "h"]), "1");
    assert_eq!(reply(dst, &["GET", "k2"]), "busy");
    assert_eq!(reply(dst, &["HGET", "h", "f2"]), "v2");
    let moved: Vec<String> = redis::cmd("MGET").arg("k1").arg("k3").query(dst).unwrap();
    assert_eq!(moved, ["1", "3"]);
    let none = [
        "MIGRATE",
        "127.0.0.1",
        port,
        "",
        "9",
        "5000",
        "KEYS",
        "x",
        "y",
    ];
    assert_eq!(reply(src, &none), "NOKEY");
}

#[test]
fn migrate_moves_keys_between_two_of_our_servers() {
    let a = start();
    let b = start();
    let port = b.addr.port().to_string();
    migrate_scenario(&mut conn(&a), &mut conn(&b), &port);
}

#[test]
fn migrate_moves_keys_from_us_to_a_real_redis_and_back() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    let real = RealRedis::start(&dir, &[]);
    let ours = start();
    let real_port = real.addr().port().to_string();
    let our_port = ours.addr.port().to_string();
    migrate_scenario(&mut conn(&ours), &mut real.conn(), &real_port);
    migrate_scenario(&mut real.conn(), &mut conn(&ours), &our_port);
}

#[test]
fn migrate_sends_auth_and_relays_a_wrong_password() {
    let src = start();
    let dst = start_with(|c| c.requirepass = Some("foobar".into()));
    let port = dst.addr.port().to_string();
    let mut s = conn(&src);
    let mut d = conn(&dst);
    cmd(&mut d, &["AUTH", "foobar"]);
    cmd(&mut s, &["RPUSH", "list", "a", "b"]);
    let no_auth = ["MIGRATE", "127.0.0.1", &port, "list", "0", "5000"];
    assert_eq!(
        reply(&mut s, &no_auth),
        "ERR Target instance replied with error: NOAUTH Authentication required."
    );
    let auth = [
        "MIGRATE",
        "127.0.0.1",
        &port,
        "list",
        "0",
        "5000",
        "AUTH",
        "foobar",
    ];
    assert_eq!(reply(&mut s, &auth), "OK");
    assert_eq!(reply(&mut d, &["LLEN", "list"]), "2");
    cmd(&mut s, &["SET", "k", "v"]);
    let auth2 = [
        "MIGRATE",
        "127.0.0.1",
        &port,
        "k",
        "0",
        "5000",
        "AUTH2",
        "default",
        "nope",
    ];
    assert_eq!(
        reply(&mut s, &auth2),
        "ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(reply(&mut s, &["EXISTS", "k"]), "1");
}

#[test]
fn migrate_argument_errors_match_redis() {
    let server = start();
    let mut c = conn(&server);
    cmd(&mut c, &["SET", "k", "v"]);
    let cases: &[(&[&str], &str)] = &[
        (&["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100"], "NOKEY"),
        (
            &["MIGRATE", "127.0.0.1", "1", "k", "x", "100"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["MIGRATE", "127.0.0.1", "1", "k", "0", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "foo"],
            "ERR syntax error",
        ),
        (
            &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "AUTH"],
            "ERR syntax error",
        ),
        (
            &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "AUTH2", "u"],
            "ERR syntax error",
        ),
        (
            &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a"],
            "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
        ),
        (
            &["MIGRATE", "nosuchhost.invalid", "1", "k", "0", "100"],
            "IOERR error or timeout connecting to the client",
        ),
    ];
    for (words, want) in cases {
        assert_eq!(&reply(&mut c, words), want, "{words:?}");
    }
    // Nothing listens on port 1: Redis's non-blocking connect only fails
    // on the first write.
    let refused = reply(&mut c, &["MIGRATE", "127.0.0.1", "1", "k", "0", "1000"]);
    assert_eq!(refused, "IOERR error or timeout writing to target instance");
    assert_eq!(reply(&mut c, &["EXISTS", "k"]), "1");
    assert_eq!(info_field(&mut c, "stats", "migrate_cached_sockets"), "0");
}

#[test]
fn migrate_times_out_reading_from_a_target_that_never_answers() {
    let server = start();
    let mut c = conn(&server);
    cmd(&mut c, &["SET", "k", "v"]);
    // A target that accepts and reads but never replies.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = silent.accept().unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
        sink
    });
    let started = Instant::now();
    let e = reply(&mut c, &["MIGRATE", "127.0.0.1", &port, "k", "3", "200"]);
    assert_eq!(e, "IOERR error or timeout reading to target instance");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The key stays, the failed socket is not kept.
    assert_eq!(reply(&mut c, &["EXISTS", "k"]), "1");
    assert_eq!(info_field(&mut c, "stats", "migrate_cached_sockets"), "0");
    // What the target received: SELECT 3, then the RESTORE.
    let sent = reader.join().unwrap();
    let sent = String::from_utf8_lossy(&sent);
    assert!(
        sent.starts_with(
            "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*4\r\n$7\r\nRESTORE\r\n$1\r\nk\r\n$1\r\n0\r\n"
        ),
        "{sent:?}"
    );
}

#[test]
fn migrate_deletes_with_a_del_event_and_copy_does_not() {
    let a = start();
    let b = start();
    let port = b.addr.port().to_string();
    let mut c = conn(&a);
    cmd(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Eg"]);
    let mut sub = Wire::connect(&a);
    sub.cmd("SUBSCRIBE __keyevent@0__:del");
    cmd(&mut c, &["SET", "k", "v"]);
    cmd(&mut c, &["SET", "kept", "v"]);
    assert_eq!(
        reply(
            &mut c,
            &["MIGRATE", "127.0.0.1", &port, "kept", "0", "5000", "COPY"]
        ),
        "OK"
    );
    assert_eq!(
        reply(&mut c, &["MIGRATE", "127.0.0.1", &port, "k", "0", "5000"]),
        "OK"
    );
    // The first event is k's: COPY fired none.
    let event = sub.reply();
    assert!(event.ends_with("$1\r\nk\r\n"), "{event:?}");
}

#[test]
fn migrate_propagates_a_del_of_the_moved_keys_to_a_replica() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let primary = start();
    let target = start();
    let mut c = conn(&primary);
    let dir = scratch_dir();
    let port = primary.addr.port().to_string();
    let replica = RealRedis::start(&dir, &["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    cmd(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"]);
    eventually("the replica to have the keys", || {
        reply(&mut r, &["DBSIZE"]) == "3"
    });
    let tport = target.addr.port().to_string();
    let m = [
        "MIGRATE",
        "127.0.0.1",
        &tport,
        "",
        "0",
        "5000",
        "COPY",
        "KEYS",
        "a",
    ];
    assert_eq!(reply(&mut c, &m), "OK");
    let m = [
        "MIGRATE",
        "127.0.0.1",
        &tport,
        "",
        "0",
        "5000",
        "REPLACE",
        "KEYS",
        "a",
        "b",
    ];
    assert_eq!(reply(&mut c, &m), "OK");
    eventually("the replica to drop the moved keys", || {
        reply(&mut r, &["DBSIZE"]) == "1"
    });
    assert_eq!(reply(&mut r, &["GET", "c"]), "3");
    drop(replica);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slowlog_and_monitor_show_migrate_passwords_redacted() {
    let server = start();
    let mut c = conn(&server);
    let mut monitor = Wire::connect(&server);
    assert_eq!(monitor.cmd("MONITOR"), "+OK\r\n");
    cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    cmd(&mut c, &["SLOWLOG", "RESET"]);
    let port = server.addr.port().to_string();
    let base = ["MIGRATE", "127.0.0.1", &port, "key", "9", "5000"];
    let runs: [&[&str]; 4] = [
        &[],
        &["AUTH", "pw"],
        &["AUTH2", "user", "pw"],
        &["KEYS", "AUTH", "x"],
    ];
    for extra in runs {
        let words: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        if extra.first() == Some(&"KEYS") {
            let mut w = words.clone();
            w[3] = "";
            assert_eq!(reply(&mut c, &w), "NOKEY");
        } else {
            assert_eq!(reply(&mut c, &words), "NOKEY");
        }
    }
    cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    let log: Vec<(i64, i64, i64, Vec<String>, String, String)> =
        redis::cmd("SLOWLOG").arg("GET").query(&mut c).unwrap();
    // Newest first; the oldest entry is the SLOWLOG RESET itself.
    let tails: Vec<String> = log[..4].iter().map(|e| e.3[3..].join(" ")).collect();
    assert_eq!(
        tails,
        [
            " 9 5000 KEYS AUTH x",
            "key 9 5000 AUTH2 (redacted) (redacted)",
            "key 9 5000 AUTH (redacted)",
            "key 9 5000",
        ]
    );
    let lines: Vec<String> = (0..4).map(|_| monitor.reply()).collect();
    assert!(
        lines[0].ends_with("\"key\" \"9\" \"5000\"\r\n"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with("\"5000\" \"AUTH\" \"(redacted)\"\r\n"),
        "{lines:?}"
    );
    assert!(
        lines[2].ends_with("\"AUTH2\" \"(redacted)\" \"(redacted)\"\r\n"),
        "{lines:?}"
    );
    assert!(
        lines[3].ends_with("\"KEYS\" \"AUTH\" \"x\"\r\n"),
        "{lines:?}"
    );
}

#[test]
fn migrate_is_reported_with_movable_keys() {
    let server = start();
    let mut c = conn(&server);
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg(&["MIGRATE", "h", "1", "", "0", "1", "COPY", "KEYS", "a", "b"])
        .query(&mut c)
        .unwrap();
    assert_eq!(keys, ["a", "b"]);
    let info = format!("{:?}", cmd(&mut c, &["COMMAND", "INFO", "MIGRATE"]));
    assert!(info.contains("movablekeys"), "{info}");
}
