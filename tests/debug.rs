//! DEBUG DIGEST, DIGEST-VALUE and LOADAOF through a real client. The
//! digests expected here were recorded from Redis 7.0.15 for the same
//! commands, so they check both the folding scheme and that it matches
//! Redis bit for bit.

mod common;
use common::*;
use redis_anatomy::server::config::ProtectedAction;

fn cmd(name: &str) -> redis::Cmd {
    redis::cmd(name)
}

fn run(c: &mut redis::Connection, line: &str) -> redis::Value {
    let mut words = line.split_whitespace();
    let mut command = cmd(words.next().unwrap());
    for w in words {
        command.arg(w);
    }
    command.query(c).unwrap()
}

fn digest(c: &mut redis::Connection) -> String {
    cmd("DEBUG").arg("DIGEST").query(c).unwrap()
}

fn digest_values(c: &mut redis::Connection, keys: &[&str]) -> Vec<String> {
    cmd("DEBUG").arg("DIGEST-VALUE").arg(keys).query(c).unwrap()
}

const ZERO: &str = "0000000000000000000000000000000000000000";

fn debug_server() -> redis_anatomy::server::ServerHandle {
    start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes)
}

#[test]
fn digests_equal_redis_7_0_for_every_type() {
    let server = debug_server();
    let mut c = conn(&server);
    assert_eq!(digest(&mut c), ZERO, "an empty keyspace");
    for line in [
        "SET s hello",
        "SET n 12345",
        "RPUSH l a b c 1 2",
        "SADD si 1 2 3",
        "SADD ss a b c",
        "ZADD zl 1 a 2.5 b 3 c",
        "HSET h f v f2 2",
        "SET e x EX 100",
    ] {
        run(&mut c, line);
    }
    assert_eq!(
        digest_values(
            &mut c,
            &["s", "n", "l", "si", "ss", "zl", "h", "e", "missing"]
        ),
        [
            "36b23a1456b2dce2c3ed252c456761301dba8060",
            "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83",
            "f48a1249517530ff1906fc79ddbf9b687f71f06f",
            "2a462a3f51a1db89738ebbeef0c47ce1bbc85246",
            "593c2414786d75446e97f4ea5d4b731f3313da72",
            "1edf4f538ced494d25ab010f1f17dc39e42adc24",
            "1975bda9765d0d36df5c62b918e428b50a6532fa",
            "0745672cb1bf060476eedeb8a28f5ffe1ff5a2be",
            ZERO,
        ]
    );
    // The database index is part of the dataset digest.
    run(&mut c, "SELECT 3");
    run(&mut c, "ZADD big 1 x");
    assert_eq!(digest(&mut c), "b5b23e9a0e6314a3995fb2caceb648cd417d2855");
    run(&mut c, "SELECT 0");
    // Big encodings: a skiplist zset with scores %.17g prints, and a
    // table hash and set with the same contents as h and si above.
    run(&mut c, "CONFIG SET zset-max-listpack-entries 0");
    run(&mut c, "CONFIG SET hash-max-listpack-entries 0");
    run(&mut c, "CONFIG SET set-max-intset-entries 0");
    run(&mut c, "ZADD zs 1.1 a 2 b -3e10 c");
    run(&mut c, "HSET ht f v f2 2");
    run(&mut c, "SADD sbig 1 2 3");
    assert_eq!(
        digest_values(&mut c, &["zs", "ht", "sbig"]),
        [
            "94e95d41f5e59385f343062ae3e825dc491a5eaf",
            "1975bda9765d0d36df5c62b918e428b50a6532fa",
            "2a462a3f51a1db89738ebbeef0c47ce1bbc85246",
        ]
    );
    assert_eq!(digest(&mut c), "4d32145cda24fdc9b9c84fe4d3b538e353231b3c");
}

#[test]
fn digest_value_ignores_encoding_but_not_order_or_ttl() {
    let server = debug_server();
    let mut c = conn(&server);
    run(&mut c, "ZADD zsmall 1.1 a 2 b -3e10 c");
    run(&mut c, "CONFIG SET zset-max-listpack-entries 0");
    run(&mut c, "ZADD zbig 1.1 a 2 b -3e10 c");
    let enc: String = cmd("OBJECT")
        .arg("ENCODING")
        .arg("zbig")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "skiplist");
    let d = digest_values(&mut c, &["zsmall", "zbig"]);
    assert_eq!(d[0], d[1]);

    run(&mut c, "RPUSH ab a b");
    run(&mut c, "RPUSH ba b a");
    let d = digest_values(&mut c, &["ab", "ba"]);
    assert_ne!(d[0], d[1], "a list's order counts");

    run(&mut c, "SADD s1 a b");
    run(&mut c, "SADD s2 b a");
    let d = digest_values(&mut c, &["s1", "s2"]);
    assert_eq!(d[0], d[1], "a set's does not");

    let before = digest_values(&mut c, &["s1"]);
    run(&mut c, "EXPIRE s1 100");
    assert_ne!(digest_values(&mut c, &["s1"]), before);
    run(&mut c, "EXPIRE s1 200");
    let d = digest_values(&mut c, &["s1"]);
    run(&mut c, "EXPIRE s1 300");
    assert_eq!(digest_values(&mut c, &["s1"]), d, "only whether, not when");

    // COPY makes an equal value.
    run(&mut c, "COPY zbig zcopy");
    let d = digest_values(&mut c, &["zbig", "zcopy"]);
    assert_eq!(d[0], d[1]);
    let none: Vec<String> = cmd("DEBUG").arg("DIGEST-VALUE").query(&mut c).unwrap();
    assert!(none.is_empty());
}

#[test]
fn loadaof_replays_the_append_only_file_and_keeps_ttls() {
    let dir = scratch_dir();
    let server = start_with(|cfg| {
        cfg.enable_debug_command = ProtectedAction::Yes;
        cfg.appendonly = true;
        cfg.dir = dir.clone();
    });
    let mut c = conn(&server);
    run(&mut c, "SET foo bar EX 100");
    run(&mut c, "SET foo bar2 KEEPTTL");
    run(&mut c, "RPUSH l a b c");
    run(&mut c, "SELECT 2");
    run(&mut c, "HSET h f v");
    let before = digest(&mut c);
    let ok: String = cmd("DEBUG").arg("LOADAOF").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(digest(&mut c), before);
    // A command written into the file behind the server's back appears
    // after the next LOADAOF: the dataset really comes from the file.
    // (The file's last SELECT was 2.)
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap();
    std::io::Write::write_all(&mut file, b"*3\r\n$3\r\nSET\r\n$5\r\nadded\r\n$1\r\n1\r\n").unwrap();
    let ok: String = cmd("DEBUG").arg("LOADAOF").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    let added: String = cmd("GET").arg("added").query(&mut c).unwrap();
    assert_eq!(added, "1");
    run(&mut c, "SELECT 0");
    let ttl: i64 = cmd("TTL").arg("foo").query(&mut c).unwrap();
    assert!((90..=100).contains(&ttl), "{ttl}");
    let v: String = cmd("GET").arg("foo").query(&mut c).unwrap();
    assert_eq!(v, "bar2");
}

#[test]
fn unknown_debug_subcommands_are_still_refused() {
    let server = debug_server();
    let mut c = conn(&server);
    let e = cmd("DEBUG")
        .arg("DIGEST")
        .arg("extra")
        .query::<String>(&mut c)
        .unwrap_err();
    assert_eq!(
        e.detail(),
        Some("unknown subcommand or wrong number of arguments for 'DIGEST'. Try DEBUG HELP.")
    );
    let r: String = cmd("DEBUG").arg("STRINGMATCH-TEST").query(&mut c).unwrap();
    assert_eq!(r, "Apparently Redis did not crash: test passed");
    let help: Vec<String> = cmd("DEBUG").arg("HELP").query(&mut c).unwrap();
    for line in ["DIGEST", "DIGEST-VALUE <key> [<key> ...]", "LOADAOF"] {
        assert!(help.iter().any(|l| l == line), "{line} in {help:?}");
    }
}

#[test]
fn bgrewriteaof_with_the_aof_off_writes_a_base_that_loadaof_replays() {
    // Redis's suite: "Same dataset digest if saving/reloading as AOF?".
    let dir = scratch_dir();
    let server = start_with(|cfg| {
        cfg.enable_debug_command = ProtectedAction::Yes;
        cfg.dir = dir.clone();
    });
    let mut c = conn(&server);
    run(&mut c, "SET x 10");
    run(&mut c, "EXPIRE x 1000");
    run(&mut c, "RPUSH l a b");
    let before = digest(&mut c);
    run(&mut c, "BGREWRITEAOF");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info: String = cmd("INFO").arg("persistence").query(&mut c).unwrap();
        if info.contains("aof_rewrite_in_progress:0\r\n")
            && info.contains("aof_last_bgrewrite_status:ok\r\n")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    // With `aof-use-rdb-preamble yes` (the default) the base is an RDB, as
    // in Redis 7.0.
    assert_eq!(manifest, "file appendonly.aof.1.base.rdb seq 1 type b\n");
    // Written after the rewrite with the AOF off: in no file, so gone
    // after the reload.
    run(&mut c, "SET y 1");
    let ok: String = cmd("DEBUG").arg("LOADAOF").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(digest(&mut c), before);
    let ttl: i64 = cmd("TTL").arg("x").query(&mut c).unwrap();
    assert!((990..=1000).contains(&ttl), "{ttl}");
}
