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
