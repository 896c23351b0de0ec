//! The append-only file: what is logged, how it is laid out on disk, what
//! survives a restart and a rewrite, and whether Redis 7.0's own tools
//! (`redis-check-aof`, `redis-server`) accept our files.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use redis_anatomy::server::{Config, ServerHandle};

/// A fresh, empty directory for one test.
/// Removes a test's directory when the test ends, passed or failed.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "anatomy-aof-{name}-{}-{}",
        std::process::id(),
        redis_anatomy::server::unix_us()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start_aof(dir: &Path, f: impl FnOnce(&mut Config)) -> ServerHandle {
    let dir = dir.to_path_buf();
    start_with(move |c| {
        c.dir = dir;
        c.appendonly = true;
        c.appendfsync = redis_anatomy::server::config::AppendFsync::Always;
        f(c);
    })
}

/// Everything in dbs 0..4: key -> (type, content, absolute expire time).
type Snapshot = BTreeMap<(i64, Vec<u8>), (String, Vec<Vec<u8>>, i64)>;

fn snapshot(c: &mut redis::Connection) -> Snapshot {
    let mut out = Snapshot::new();
    for db in 0..4 {
        redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let mut content: Vec<Vec<u8>> = match t.as_str() {
                "string" => vec![redis::cmd("GET").arg(&k).query(c).unwrap()],
                "list" => redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .unwrap(),
                "set" => redis::cmd("SMEMBERS").arg(&k).query(c).unwrap(),
                "hash" => redis::cmd("HGETALL").arg(&k).query(c).unwrap(),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(c)
                    .unwrap(),
                other => panic!("unexpected type {other}"),
            };
            if t == "set" {
                content.sort();
            }
            if t == "hash" {
                let mut pairs: Vec<Vec<Vec<u8>>> = content.chunks(2).map(|p| p.to_vec()).collect();
                pairs.sort();
                content = pairs.concat();
            }
            let when: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(c).unwrap();
            out.insert((db, k), (t, content, when));
        }
    }
    redis::cmd("SELECT").arg(0).query::<()>(c).unwrap();
    out
}

/// Every type, both encodings of each collection, TTLs, several dbs.
fn workload(c: &mut redis::Connection) {
    let q = |c: &mut redis::Connection, args: &[&str]| {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(c).unwrap();
    };
    q(c, &["SET", "str", "hello"]);
    q(c, &["SET", "int", "12345"]);
    q(c, &["SET", "ttl", "v", "EX", "1000"]);
    q(c, &["SETEX", "setex", "500", "v"]);
    q(c, &["INCRBYFLOAT", "float", "1.1"]);
    q(c, &["INCRBYFLOAT", "float", "2.2"]);
    q(c, &["APPEND", "str", " world"]);
    q(c, &["RPUSH", "list", "a", "b", "c", "1", "2"]);
    q(c, &["LPOP", "list"]);
    q(c, &["SADD", "intset", "1", "2", "3", "4"]);
    q(c, &["SADD", "set", "x", "y", "z", "w"]);
    q(c, &["SPOP", "set"]);
    q(c, &["SPOP", "intset", "2"]);
    q(c, &["HSET", "hash", "f1", "v1", "f2", "2"]);
    q(c, &["HINCRBYFLOAT", "hash", "f3", "0.5"]);
    q(c, &["ZADD", "zset", "1", "a", "2.5", "b", "-3", "c"]);
    q(c, &["ZINCRBY", "zset", "10", "a"]);
    q(c, &["EXPIRE", "hash", "3000"]);
    q(c, &["PEXPIRE", "zset", "4000000"]);
    // Big encodings: hashtable sets/hashes, skiplist zsets, a long list.
    for i in 0..200 {
        let (i, m) = (i.to_string(), format!("member-{i}"));
        q(c, &["RPUSH", "biglist", &m]);
        q(c, &["SADD", "bigset", &m]);
        q(c, &["HSET", "bighash", &m, &i]);
        q(c, &["ZADD", "bigzset", &i, &m]);
    }
    q(c, &["HSET", "bighash", "long", &"x".repeat(100)]);
    q(c, &["SELECT", "2"]);
    q(c, &["SET", "in-db2", "two"]);
    q(c, &["RPUSH", "list2", "p", "q"]);
    q(c, &["MULTI"]);
    q(c, &["INCR", "counter"]);
    q(c, &["INCR", "counter"]);
    q(c, &["EXEC"]);
    q(c, &["SELECT", "3"]);
    q(c, &["SET", "gone", "x"]);
    q(c, &["DEL", "gone"]);
    q(c, &["SET", "in-db3", "three"]);
    q(c, &["SELECT", "0"]);
}

fn info_field(c: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} not in INFO:\n{info}"))
        .to_string()
}

fn wait_for_rewrites(c: &mut redis::Connection, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if info_field(c, "aof_rewrite_in_progress") == "0"
            && info_field(c, "aof_rewrites").parse::<u64>().unwrap() >= n
        {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_incr(dir: &Path) -> String {
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let mut s = String::new();
    for line in manifest.lines() {
        let name = line.split_whitespace().nth(1).unwrap();
        if name.ends_with(".rdb") {
            continue; // an RDB preamble base holds no commands
        }
        s.push_str(&String::from_utf8_lossy(
            &std::fs::read(dir.join("appendonlydir").join(name)).unwrap(),
        ));
    }
    s
}

/// `*N $len arg...` as one readable line per command.
fn commands_of(aof: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = aof.split("\r\n");
    while let Some(head) = lines.next() {
        let Some(n) = head.strip_prefix('*') else {
            continue;
        };
        let n: usize = n.parse().unwrap();
        let mut parts = Vec::new();
        for _ in 0..n {
            lines.next();
            parts.push(lines.next().unwrap().to_string());
        }
        out.push(parts.join(" "));
    }
    out
}

#[test]
fn a_mixed_workload_survives_a_restart() {
    let dir = temp_dir("restart");
    let _cleanup = Cleanup(dir.clone());
    let before = {
        let server = start_aof(&dir, |_| {});
        let mut c = conn(&server);
        workload(&mut c);
        assert_eq!(info_field(&mut c, "aof_enabled"), "1");
        snapshot(&mut c)
    };
    assert!(before.len() > 15);
    let server = start_aof(&dir, |_| {});
    let mut c = conn(&server);
    assert_eq!(snapshot(&mut c), before);
    // Still appending after the restart, to the same incremental file.
    redis::cmd("SET")
        .arg("after")
        .arg("restart")
        .query::<()>(&mut c)
        .unwrap();
    drop(server);
    let server = start_aof(&dir, |_| {});
    let mut c = conn(&server);
    let v: String = redis::cmd("GET").arg("after").query(&mut c).unwrap();
    assert_eq!(v, "restart");
}

#[test]
fn the_files_follow_redis_7_layout() {
    for preamble in [true, false] {
        files_follow_redis_7_layout(preamble);
    }
}

fn files_follow_redis_7_layout(preamble: bool) {
    let dir = temp_dir("layout");
    let _cleanup = Cleanup(dir.clone());
    let server = start_aof(&dir, |c| c.aof_use_rdb_preamble = preamble);
    let base = if preamble {
        "appendonly.aof.1.base.rdb"
    } else {
        "appendonly.aof.1.base.aof"
    };
    let mut c = conn(&server);
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut c)
        .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [base, "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    );
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(
        manifest,
        format!("file {base} seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
    );
    // An RDB base is an RDB file that says it is an AOF base.
    let base_bytes = std::fs::read(dir.join("appendonlydir").join(base)).unwrap();
    let aof_base_aux = b"\xfa\x08aof-base\xc0\x01";
    let has_aux = base_bytes
        .windows(aof_base_aux.len())
        .any(|w| w == aof_base_aux);
    assert_eq!(base_bytes.starts_with(b"REDIS0010"), preamble);
    assert_eq!(has_aux, preamble);
    assert_eq!(
        commands_of(&read_incr(&dir)),
        ["SELECT 0", "SET k v"],
        "the incremental file starts with SELECT, then the write as sent"
    );
}

#[test]
fn non_deterministic_commands_are_logged_in_their_deterministic_form() {
    let dir = temp_dir("rewrites");
    let _cleanup = Cleanup(dir.clone());
    let server = start_aof(&dir, |_| {});
    let mut c = conn(&server);
    let q = |c: &mut redis::Connection, args: &[&str]| -> redis::Value {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(c).unwrap()
    };
    q(&mut c, &["SET", "k", "v"]);
    q(&mut c, &["EXPIRE", "k", "100"]);
    let when: i64 = redis::cmd("PEXPIRETIME").arg("k").query(&mut c).unwrap();
    q(&mut c, &["SADD", "s", "only"]);
    q(&mut c, &["SPOP", "s"]);
    q(&mut c, &["SADD", "s2", "a", "b", "c"]);
    q(&mut c, &["SPOP", "s2", "10"]);
    q(&mut c, &["INCRBYFLOAT", "f", "2.5"]);
    q(&mut c, &["HINCRBYFLOAT", "h", "x", "1.5"]);
    q(&mut c, &["SET", "px", "v", "PX", "100000"]);
    let px_when: i64 = redis::cmd("PEXPIRETIME").arg("px").query(&mut c).unwrap();
    q(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    q(&mut c, &["BLPOP", "l", "0"]);
    q(&mut c, &["BLMOVE", "l", "l2", "RIGHT", "LEFT", "0"]);
    q(&mut c, &["ZADD", "z", "1", "a", "2", "b"]);
    q(&mut c, &["BZPOPMIN", "z", "0"]);
    q(&mut c, &["ZMPOP", "1", "z", "MAX", "COUNT", "5"]);
    q(&mut c, &["SET", "e", "v", "PX", "1"]);
    // The key expires; reading it is what finds it expired (lazy expiry).
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(q(&mut c, &["GET", "e"]), redis::Value::Nil);
    q(&mut c, &["GET", "k"]);
    let got = commands_of(&read_incr(&dir));
    let e_when = got
        .iter()
        .find_map(|l| l.strip_prefix("SET e v PXAT "))
        .expect("SET e ... PXAT")
        .to_string();
    let expected = vec![
        "SELECT 0".to_string(),
        "SET k v".into(),
        format!("PEXPIREAT k {when}"),
        "SADD s only".into(),
        "SREM s only".into(),
        "SADD s2 a b c".into(),
        "DEL s2".into(),
        "SET f 2.5 KEEPTTL".into(),
        "HSET h x 1.5".into(),
        format!("SET px v PXAT {px_when}"),
        "RPUSH l a b c".into(),
        "LPOP l".into(),
        "LMOVE l l2 RIGHT LEFT".into(),
        "ZADD z 1 a 2 b".into(),
        "ZPOPMIN z".into(),
        "ZPOPMAX z 1".into(),
        format!("SET e v PXAT {e_when}"),
        "DEL e".into(),
    ];
    assert_eq!(got, expected);
}

#[test]
fn bgrewriteaof_during_writes_loses_nothing() {
    let dir = temp_dir("rewrite");
    let _cleanup = Cleanup(dir.clone());
    let server = start_aof(&dir, |c| {
        c.appendfsync = redis_anatomy::server::config::AppendFsync::Everysec
    });
    let mut c = conn(&server);
    workload(&mut c);
    for i in 0..500 {
        redis::cmd("SET")
            .arg(format!("before:{i}"))
            .arg(i)
            .query::<()>(&mut c)
            .unwrap();
    }
    let reply: String = redis::cmd("BGREWRITEAOF").query(&mut c).unwrap();
    assert_eq!(reply, "Background append only file rewriting started");
    // Writes while the child runs go to the new incremental file.
    for i in 0..500 {
        redis::cmd("SET")
            .arg(format!("during:{i}"))
            .arg(i)
            .query::<()>(&mut c)
            .unwrap();
        redis::cmd("DEL")
            .arg(format!("before:{i}"))
            .query::<()>(&mut c)
            .unwrap_or(());
        if i == 250 {
            redis::cmd("SET")
                .arg(format!("before:{i}"))
                .arg("back")
                .query::<()>(&mut c)
                .unwrap();
        }
    }
    wait_for_rewrites(&mut c, 1);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap();
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(!dir.join("appendonlydir/appendonly.aof.1.incr.aof").exists());
    let before = snapshot(&mut c);
    drop(server);
    let server = start_aof(&dir, |_| {});
    let mut c = conn(&server);
    assert_eq!(snapshot(&mut c), before);
}

#[test]
fn config_set_appendonly_yes_rewrites_first() {
    let dir = temp_dir("runtime");
    let _cleanup = Cleanup(dir.clone());
    let server = start_with({
        let dir = dir.clone();
        move |c| c.dir = dir
    });
    let mut c = conn(&server);
    workload(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg("yes")
        .query::<()>(&mut c)
        .unwrap();
    redis::cmd("SET")
        .arg("while")
        .arg("rewriting")
        .query::<()>(&mut c)
        .unwrap();
    wait_for_rewrites(&mut c, 1);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    let before = snapshot(&mut c);
    drop(server);
    let server = start_aof(&dir, |_| {});
    let mut c = conn(&server);
    assert_eq!(snapshot(&mut c), before);
}

#[test]
fn a_truncated_tail_is_cut_or_refused_per_aof_load_truncated() {
    let dir = temp_dir("truncated");
    let _cleanup = Cleanup(dir.clone());
    {
        let server = start_aof(&dir, |_| {});
        let mut c = conn(&server);
        redis::cmd("SET")
            .arg("a")
            .arg("1")
            .query::<()>(&mut c)
            .unwrap();
        redis::cmd("SET")
            .arg("b")
            .arg("2")
            .query::<()>(&mut c)
            .unwrap();
    }
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let good_len = std::fs::metadata(&incr).unwrap().len();
    // A crash in the middle of writing a third command.
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap()
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1")
        .unwrap();
    let refused = redis_anatomy::server::spawn(Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        dir: dir.clone(),
        appendonly: true,
        aof_load_truncated: false,
        ..Config::default()
    });
    assert!(
        refused.is_err(),
        "aof-load-truncated no must refuse to start"
    );
    let server = start_aof(&dir, |c| c.aof_load_truncated = true);
    let mut c = conn(&server);
    let got: (String, String, Option<String>) = redis::pipe()
        .cmd("GET")
        .arg("a")
        .cmd("GET")
        .arg("b")
        .cmd("GET")
        .arg("c")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, ("1".into(), "2".into(), None));
    drop(server);
    assert_eq!(
        std::fs::metadata(&incr).unwrap().len(),
        good_len,
        "the partial command is cut off"
    );
}

fn tool(name: &str) -> bool {
    interop_tool(name).is_some()
}

#[test]
fn redis_check_aof_accepts_our_folder() {
    if !tool("redis-check-aof") {
        return;
    }
    for preamble in [true, false] {
        let dir = temp_dir("check");
        let _cleanup = Cleanup(dir.clone());
        {
            let server = start_aof(&dir, |c| c.aof_use_rdb_preamble = preamble);
            let mut c = conn(&server);
            workload(&mut c);
            redis::cmd("BGREWRITEAOF").query::<()>(&mut c).unwrap();
            redis::cmd("SET")
                .arg("x")
                .arg("y")
                .query::<()>(&mut c)
                .unwrap();
            wait_for_rewrites(&mut c, 1);
            redis::cmd("SET")
                .arg("z")
                .arg("w")
                .query::<()>(&mut c)
                .unwrap();
        }
        let out = Command::new("redis-check-aof")
            .arg(dir.join("appendonlydir/appendonly.aof.manifest"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("All AOF files and manifest are valid"),
            "{text}"
        );
        let kind = if preamble { "RDB" } else { "RESP" };
        assert!(
            text.contains(&format!("Start to check BASE AOF ({kind} format)")),
            "{text}"
        );
    }
}

/// Real redis-server 7.0 on a free port, on `dir`, with the AOF on.
fn start_real_redis(dir: &Path, preamble: bool) -> (RealRedis, redis::Connection) {
    let preamble = if preamble { "yes" } else { "no" };
    let real = RealRedis::start(
        dir,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            preamble,
        ],
    );
    let c = real.conn();
    (real, c)
}

#[test]
fn real_redis_loads_our_appendonlydir() {
    if !tool("redis-server") {
        return;
    }
    for preamble in [true, false] {
        let dir = temp_dir("interop");
        let _cleanup = Cleanup(dir.clone());
        let before = {
            let server = start_aof(&dir, |c| c.aof_use_rdb_preamble = preamble);
            let mut c = conn(&server);
            workload(&mut c);
            // Half the dataset goes into a rewritten base, half stays in
            // the incremental file after it.
            redis::cmd("BGREWRITEAOF").query::<()>(&mut c).unwrap();
            wait_for_rewrites(&mut c, 1);
            redis::cmd("SET")
                .arg("after-rewrite")
                .arg("1")
                .query::<()>(&mut c)
                .unwrap();
            snapshot(&mut c)
        };
        let manifest =
            std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
        let ext = if preamble { "rdb" } else { "aof" };
        assert!(manifest.contains(&format!("appendonly.aof.2.base.{ext} seq 2 type b")));
        let (mut real, mut c) = start_real_redis(&dir, preamble);
        let after = snapshot(&mut c);
        let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
        let _ = real.child.wait();
        assert_eq!(after, before, "preamble {preamble}");
    }
}

#[test]
fn we_load_real_redis_appendonlydir() {
    if !tool("redis-server") {
        return;
    }
    for preamble in [true, false] {
        let dir = temp_dir("reverse");
        let _cleanup = Cleanup(dir.clone());
        let (mut real, mut c) = start_real_redis(&dir, preamble);
        workload(&mut c);
        redis::cmd("BGREWRITEAOF").query::<()>(&mut c).unwrap();
        wait_for_rewrites(&mut c, 1);
        redis::cmd("SET")
            .arg("after-rewrite")
            .arg("1")
            .query::<()>(&mut c)
            .unwrap();
        let before = snapshot(&mut c);
        let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
        let _ = real.child.wait();
        let ext = if preamble { "rdb" } else { "aof" };
        assert!(dir
            .join(format!("appendonlydir/appendonly.aof.2.base.{ext}"))
            .exists());
        let server = start_aof(&dir, |c| c.aof_use_rdb_preamble = preamble);
        let mut c = conn(&server);
        assert_eq!(snapshot(&mut c), before, "preamble {preamble}");
    }
}

#[test]
fn the_cron_rewrites_when_the_aof_has_doubled() {
    let dir = temp_dir("auto");
    let _cleanup = Cleanup(dir.clone());
    let server = start_aof(&dir, |c| {
        c.auto_aof_rewrite_min_size = 4096;
        c.auto_aof_rewrite_percentage = 100;
        c.aof_use_rdb_preamble = false;
    });
    let mut c = conn(&server);
    assert_eq!(info_field(&mut c, "aof_rewrites"), "0");
    // The same key written over and over: the log grows, the data does not.
    for i in 0..300 {
        redis::cmd("SET")
            .arg("k")
            .arg(i)
            .query::<()>(&mut c)
            .unwrap();
    }
    wait_for_rewrites(&mut c, 1);
    // The new base holds one SET, not the history of 300.
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let base = manifest
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap();
    assert_ne!(base, "appendonly.aof.1.base.aof", "{manifest}");
    let base = std::fs::read(dir.join("appendonlydir").join(base)).unwrap();
    assert!(base.len() < 100, "{}", String::from_utf8_lossy(&base));
    drop(server);
    let server = start_aof(&dir, |_| {});
    let mut c = conn(&server);
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "299");
}
