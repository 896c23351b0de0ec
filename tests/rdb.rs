//! RDB persistence through real clients: SAVE and restart, DEBUG RELOAD,
//! BGSAVE under writes, DUMP/RESTORE, and refusing a damaged file.

mod common;
mod rdb_support;

use common::*;
use rdb_support::*;
use redis_anatomy::server::config::ProtectedAction;
use redis_anatomy::server::Config;

fn start_in(dir: &std::path::Path) -> redis_anatomy::server::ServerHandle {
    let dir = dir.to_path_buf();
    start_with(move |c: &mut Config| c.dir = dir)
}

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

#[test]
fn save_and_restart_keeps_every_type_encoding_and_ttl() {
    let dir = scratch_dir();
    let (before, enc_before) = {
        let server = start_in(&dir);
        let mut c = conn(&server);
        populate(&mut c);
        let d = describe(&mut c);
        let e = encodings(&mut c);
        assert_ne!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut c, "rdb_saves"), "1");
        (d, e)
    };
    assert!(dir.join("dump.rdb").exists());
    let server = start_in(&dir);
    let mut c = conn(&server);
    assert_eq!(describe(&mut c), before);
    assert_eq!(encodings(&mut c), enc_before);
    assert_eq!(
        info_field(&mut c, "rdb_last_load_keys_loaded"),
        before.len().to_string()
    );
    // The encodings the dataset was built to cover really are there.
    for (k, e) in [
        ("int8", "int"),
        ("embstr", "embstr"),
        ("raw", "raw"),
        ("list-big", "quicklist"),
        ("hash-small", "listpack"),
        ("hash-big", "hashtable"),
        ("set-int", "intset"),
        ("set-str", "hashtable"),
        ("zset-small", "listpack"),
        ("zset-big", "skiplist"),
    ] {
        assert_eq!(enc_before[k], e, "{k}");
    }
}

#[test]
fn compressed_list_nodes_round_trip() {
    let dir = scratch_dir();
    let before = {
        let d = dir.clone();
        let server = start_with(move |c: &mut Config| {
            c.dir = d;
            c.list_compress_depth = 1;
        });
        let mut c = conn(&server);
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        describe(&mut c)
    };
    let server = start_in(&dir);
    let mut c = conn(&server);
    assert_eq!(describe(&mut c), before);
}

#[test]
fn debug_reload_and_lastsave() {
    let server = start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes);
    let mut c = conn(&server);
    populate(&mut c);
    let before = describe(&mut c);
    let t0: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut c).unwrap();
    assert_eq!(describe(&mut c), before);
    let t1: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
    assert!(t1 >= t0);
    let err = redis::cmd("DEBUG")
        .arg("RELOAD")
        .arg("bad")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("only supports the MERGE, NOFLUSH and NOSAVE options"));
}

#[test]
fn bgsave_forks_while_the_parent_keeps_serving() {
    let dir = scratch_dir();
    let before = {
        let server = start_in(&dir);
        let mut c = conn(&server);
        populate(&mut c);
        let reply: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
        assert_eq!(reply, "Background saving started");
        // The parent answers while the child works.
        let pong: String = redis::cmd("PING").query(&mut c).unwrap();
        assert_eq!(pong, "PONG");
        let snapshot = describe(&mut c);
        // Writes after the fork are not in the file.
        let _: () = redis::cmd("SET")
            .arg("after-fork")
            .arg("1")
            .query(&mut c)
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while info_field(&mut c, "rdb_bgsave_in_progress") == "1" {
            assert!(
                std::time::Instant::now() < deadline,
                "BGSAVE never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
        // Only the write after the fork is still unsaved.
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "1");
        snapshot
    };
    let server = start_in(&dir);
    let mut c = conn(&server);
    assert_eq!(describe(&mut c), before);
}

#[test]
fn dump_restore_round_trip_and_errors() {
    let server = start();
    let mut c = conn(&server);
    populate(&mut c);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    let before = describe(&mut c);
    for k in &keys {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut c).unwrap();
        let pttl: i64 = redis::cmd("PTTL").arg(k).query(&mut c).unwrap();
        let err = redis::cmd("RESTORE")
            .arg(k)
            .arg(0)
            .arg(&payload)
            .query::<()>(&mut c)
            .unwrap_err();
        assert_eq!(err.code(), Some("BUSYKEY"));
        let _: () = redis::cmd("RESTORE")
            .arg(k)
            .arg(pttl.max(0))
            .arg(&payload)
            .arg("REPLACE")
            .query(&mut c)
            .unwrap();
    }
    assert_eq!(describe(&mut c), before);
    let payload: Vec<u8> = redis::cmd("DUMP").arg("embstr").query(&mut c).unwrap();
    let nil: Option<Vec<u8>> = redis::cmd("DUMP").arg("nosuchkey").query(&mut c).unwrap();
    assert_eq!(nil, None);
    let e = |c: &mut redis::Connection, args: &[&[u8]]| {
        let mut cmd = redis::cmd("RESTORE");
        for a in args {
            cmd.arg(*a);
        }
        cmd.query::<()>(c).unwrap_err().to_string()
    };
    assert!(e(&mut c, &[b"new", b"-1", &payload]).contains("Invalid TTL value, must be >= 0"));
    assert!(e(&mut c, &[b"new", b"x", &payload]).contains("value is not an integer"));
    let mut bad = payload.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(e(&mut c, &[b"new", b"0", &bad]).contains("DUMP payload version or checksum are wrong"));
    assert!(
        e(&mut c, &[b"new", b"0", &payload, b"IDLETIME", b"-1"]).contains("Invalid IDLETIME value")
    );
    assert!(e(&mut c, &[b"new", b"0", &payload, b"FREQ", b"256"]).contains("Invalid FREQ value"));
    assert!(e(
        &mut c,
        &[b"new", b"0", &payload, b"FREQ", b"1", b"IDLETIME", b"1"]
    )
    .contains("syntax error"));
    // ABSTTL in the past: OK, and no key.
    let _: () = redis::cmd("RESTORE")
        .arg("gone")
        .arg(1)
        .arg(&payload)
        .arg("ABSTTL")
        .query(&mut c)
        .unwrap();
    let n: i64 = redis::cmd("EXISTS").arg("gone").query(&mut c).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn a_file_with_a_bad_checksum_is_refused_and_kept() {
    let dir = scratch_dir();
    {
        let server = start_in(&dir);
        let mut c = conn(&server);
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    }
    let path = dir.join("dump.rdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let d = dir.clone();
    let err = match redis_anatomy::server::spawn(Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        save: Vec::new(),
        dir: d,
        ..Config::default()
    }) {
        Ok(_) => panic!("a corrupt RDB must not load"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("Wrong RDB checksum"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file is left alone"
    );
}

/// `n` string keys written in one pipeline.
fn fill(c: &mut redis::Connection, n: usize, value: &str) {
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("SET").arg(format!("key:{i}")).arg(value).ignore();
    }
    p.query::<()>(c).unwrap();
}

/// Poll INFO until `field` reads `want` (no fixed sleeps).
fn wait_field(c: &mut redis::Connection, field: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while info_field(c, field) != want {
        assert!(
            std::time::Instant::now() < deadline,
            "{field} never became {want}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn command(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

fn status(v: redis::RedisResult<redis::Value>) -> String {
    match v {
        Ok(redis::Value::Okay) => "OK".into(),
        Ok(redis::Value::SimpleString(s)) => s,
        Ok(other) => format!("{other:?}"),
        Err(e) => format!(
            "{} {}",
            e.code().unwrap_or("?"),
            e.detail().unwrap_or_default()
        ),
    }
}

/// Children of this test process that have exited and not been reaped.
fn zombie_children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": fields after the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let mut f = rest.split(' ');
        let (state, ppid) = (f.next().unwrap(), f.next().unwrap());
        if state == "Z" && ppid.parse::<i32>() == Ok(me) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn only_one_child_runs_and_the_second_waits_its_turn() {
    let dir = scratch_dir();
    let server = start_in(&dir);
    let mut c = conn(&server);
    fill(&mut c, 400, "v");
    // 1 ms per key: each child lives about 0.4 s, long enough to meet.
    command(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "1000"]).unwrap();
    assert_eq!(
        status(command(&mut c, &["BGREWRITEAOF"])),
        "Background append only file rewriting started"
    );
    assert_eq!(
        status(command(&mut c, &["BGSAVE"])),
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
    );
    assert_eq!(
        status(command(&mut c, &["BGSAVE", "SCHEDULE"])),
        "Background saving scheduled"
    );
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "0");
    // The rewrite ends, then cron starts the scheduled BGSAVE.
    wait_field(&mut c, "rdb_bgsave_in_progress", "1");
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    // And the other way round: a rewrite waits for the BGSAVE.
    assert_eq!(
        status(command(&mut c, &["BGREWRITEAOF"])),
        "Background append only file rewriting scheduled"
    );
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "1");
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0");
    assert_eq!(
        status(command(&mut c, &["BGSAVE"])),
        "ERR Background save already in progress"
    );
    wait_field(&mut c, "aof_rewrite_in_progress", "1");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "0");
    assert_eq!(
        status(command(&mut c, &["BGREWRITEAOF"])),
        "ERR Background append only file rewriting already in progress"
    );
    wait_field(&mut c, "aof_rewrite_in_progress", "0");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "2");
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
    // Every child was reaped: no zombie is left behind (other tests'
    // children may be zombies for one cron tick, so wait for a quiet
    // moment rather than demand one at once).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !zombie_children().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "zombies: {:?}",
            zombie_children()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_failed_bgsave_stops_writes_with_misconf_until_a_save_succeeds() {
    const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
    let dir = scratch_dir();
    let server = start_with({
        let dir = dir.clone();
        move |c: &mut Config| {
            c.dir = dir;
            // A rule that will not fire during the test; MISCONF only
            // applies when save rules are configured.
            c.save = vec![redis_anatomy::server::config::SaveParam {
                seconds: 3600,
                changes: 1,
            }];
        }
    });
    let mut c = conn(&server);
    command(&mut c, &["SET", "a", "1"]).unwrap();
    // The child's final rename onto a directory fails, even as root.
    std::fs::create_dir_all(dir.join("dump.rdb/in-the-way")).unwrap();
    assert_eq!(
        status(command(&mut c, &["BGSAVE"])),
        "Background saving started"
    );
    wait_field(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let mut wire = Wire::connect(&server);
    let misconf = format!("-{MISCONF}\r\n");
    for cmd in ["SET a 2", "PING", "INCR n"] {
        assert_eq!(wire.cmd(cmd), misconf, "{cmd}");
    }
    assert_eq!(wire.cmd("GET a"), "$1\r\n1\r\n");
    // Inside MULTI the write is refused when queued; EXEC then aborts.
    assert_eq!(wire.cmd("MULTI"), "+OK\r\n");
    assert_eq!(wire.cmd("SET a 3"), misconf);
    assert_eq!(
        wire.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // `no` turns the check off; so does having no save rules.
    assert_eq!(
        wire.cmd("CONFIG SET stop-writes-on-bgsave-error no"),
        "+OK\r\n"
    );
    assert_eq!(wire.cmd("SET a 4"), "+OK\r\n");
    assert_eq!(
        wire.cmd("CONFIG SET stop-writes-on-bgsave-error yes"),
        "+OK\r\n"
    );
    assert_eq!(wire.cmd("SET a 5"), misconf);
    // A successful save clears it.
    std::fs::remove_dir_all(dir.join("dump.rdb")).unwrap();
    assert_eq!(wire.cmd("BGSAVE"), "+Background saving started\r\n");
    wait_field(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(wire.cmd("SET a 6"), "+OK\r\n");
}

#[test]
fn bgsave_reports_the_copy_on_write_the_parent_caused() {
    let dir = scratch_dir();
    let server = start_in(&dir);
    let mut c = conn(&server);
    assert_eq!(info_field(&mut c, "rdb_last_cow_size"), "0");
    let value = "x".repeat(100);
    fill(&mut c, 5000, &value);
    // 100 us per key: the child runs for about half a second while the
    // parent rewrites every value (each write copies a page).
    command(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "100"]).unwrap();
    command(&mut c, &["BGSAVE"]).unwrap();
    fill(&mut c, 5000, &"y".repeat(100));
    wait_field(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let cow: u64 = info_field(&mut c, "rdb_last_cow_size").parse().unwrap();
    assert!(cow > 0, "rdb_last_cow_size {cow}");
    // The current_* fields belong to a running child only.
    assert_eq!(info_field(&mut c, "current_cow_peak"), "0");
    assert_eq!(info_field(&mut c, "current_save_keys_total"), "0");
    // An AOF rewrite child reports its own.
    command(&mut c, &["BGREWRITEAOF"]).unwrap();
    wait_field(&mut c, "aof_rewrite_in_progress", "0");
    let aof_cow: u64 = info_field(&mut c, "aof_last_cow_size").parse().unwrap();
    assert!(aof_cow > 0, "aof_last_cow_size {aof_cow}");
}

#[test]
fn debug_reload_merge_lets_the_file_win_over_memory() {
    let server = start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes);
    let mut c = conn(&server);
    command(&mut c, &["SET", "a", "from-file"]).unwrap();
    command(&mut c, &["SAVE"]).unwrap();
    command(&mut c, &["SET", "a", "in-memory"]).unwrap();
    command(&mut c, &["SET", "b", "only-in-memory"]).unwrap();
    assert_eq!(
        status(command(
            &mut c,
            &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]
        )),
        "OK"
    );
    let got: Vec<String> = redis::cmd("MGET").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(got, ["from-file", "only-in-memory"]);
    // Without MERGE a key in both is a duplicate: the load fails (Redis
    // 7.0 panics here; we refuse, and the keyspace is left empty as after
    // any failed load).
    assert_eq!(
        status(command(&mut c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"])),
        "ERR Error trying to load the RDB dump, check server logs."
    );
    assert_eq!(
        status(command(&mut c, &["DEBUG", "RELOAD", "BOGUS"])),
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    );
}

#[test]
fn save_rules_wait_while_a_rewrite_child_runs() {
    let dir = scratch_dir();
    let server = start_with({
        let dir = dir.clone();
        move |c: &mut Config| {
            c.dir = dir;
            // Due as soon as a second has passed with one change.
            c.save = vec![redis_anatomy::server::config::SaveParam {
                seconds: 1,
                changes: 1,
            }];
        }
    });
    let mut c = conn(&server);
    fill(&mut c, 1500, "v");
    // About 1.5 s of rewrite: the save rule falls due meanwhile.
    command(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "1000"]).unwrap();
    command(&mut c, &["BGREWRITEAOF"]).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
        let aof_child = info.contains("aof_rewrite_in_progress:1");
        let rdb_child = info.contains("rdb_bgsave_in_progress:1");
        assert!(!(aof_child && rdb_child), "two children at once:\n{info}");
        if !aof_child {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rewrite never ended");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    command(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]).unwrap();
    // Once the rewrite child is gone, the rule starts its BGSAVE.
    wait_field(&mut c, "rdb_saves", "1");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
}
