//! Interop with Debian's redis-server 7.0.15: our RDB files load into real
//! Redis and real Redis's into ours, redis-check-rdb accepts ours, and DUMP
//! payloads cross both ways (byte-identical for the compact encodings).
//! Skipped with a message when the tools are missing, unless
//! REDIS_ANATOMY_REQUIRE_INTEROP is set.

mod common;
mod rdb_support;

use std::path::Path;
use std::process::Command;

use common::*;
use rdb_support::*;
use redis_anatomy::server::Config;

fn ours_in(dir: &Path) -> redis_anatomy::server::ServerHandle {
    let dir = dir.to_path_buf();
    start_with(move |c: &mut Config| c.dir = dir)
}

#[test]
fn our_rdb_loads_into_real_redis_and_passes_redis_check_rdb() {
    let (Some(_), Some(check)) = (
        interop_tool("redis-server"),
        interop_tool("redis-check-rdb"),
    ) else {
        return;
    };
    let dir = scratch_dir();
    let (ours, our_enc) = {
        let server = ours_in(&dir);
        let mut c = conn(&server);
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        (describe(&mut c), encodings(&mut c))
    };
    let out = Command::new(check)
        .arg(dir.join("dump.rdb"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{text}"
    );
    let real = RealRedis::start(&dir, &["--dbfilename", "dump.rdb"]);
    let mut c = real.conn();
    assert_eq!(describe(&mut c), ours);
    assert_eq!(encodings(&mut c), our_enc);
}

#[test]
fn real_redis_rdb_loads_into_ours() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    let (theirs, their_enc) = {
        let real = RealRedis::start(&dir, &["--dbfilename", "dump.rdb"]);
        let mut c = real.conn();
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        (describe(&mut c), encodings(&mut c))
    };
    let server = ours_in(&dir);
    let mut c = conn(&server);
    assert_eq!(describe(&mut c), theirs);
    assert_eq!(encodings(&mut c), their_enc);
}

#[test]
fn dump_payloads_cross_both_ways() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let real = RealRedis::start(&scratch_dir(), &[]);
    let mut theirs = real.conn();
    let server = start();
    let mut ours = conn(&server);
    populate(&mut theirs);
    populate(&mut ours);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut ours).unwrap();
    let before = describe(&mut ours);
    let enc = encodings(&mut ours);
    for k in &keys {
        let from_ours: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut ours).unwrap();
        let from_theirs: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut theirs).unwrap();
        // Without LZF (our compressor finds different, equally valid
        // matches than liblzf), every flat encoding serialises to the same
        // bytes; hash tables may list their entries in another order.
        if !matches!(enc[k].as_str(), "hashtable" | "skiplist") {
            let plain = |c: &mut redis::Connection| -> Vec<u8> {
                let _: () = redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("rdbcompression")
                    .arg("no")
                    .query(c)
                    .unwrap();
                let p = redis::cmd("DUMP").arg(k).query(c).unwrap();
                let _: () = redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("rdbcompression")
                    .arg("yes")
                    .query(c)
                    .unwrap();
                p
            };
            assert!(
                plain(&mut ours) == plain(&mut theirs),
                "DUMP {k} differs from real Redis's"
            );
        }
        let pttl: i64 = redis::cmd("PTTL").arg(k).query(&mut ours).unwrap();
        let ttl = pttl.max(0);
        let _: () = redis::cmd("RESTORE")
            .arg(k)
            .arg(ttl)
            .arg(&from_ours)
            .arg("REPLACE")
            .query(&mut theirs)
            .unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(k)
            .arg(ttl)
            .arg(&from_theirs)
            .arg("REPLACE")
            .query(&mut ours)
            .unwrap();
    }
    let db0 = |m: std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
        m.into_iter().filter(|(k, _)| k.starts_with("0:")).collect()
    };
    assert_eq!(db0(describe(&mut ours)), db0(before.clone()));
    assert_eq!(db0(describe(&mut theirs)), db0(before));
    assert_eq!(encodings(&mut theirs), enc);
}
