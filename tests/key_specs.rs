//! COMMAND INFO's key specs and COMMAND GETKEYSANDFLAGS, compared with a
//! live Redis 7.0 for every command both servers have.

mod common;
use common::*;

use redis::Value;
use std::collections::BTreeMap;

/// Every command and subcommand of `COMMAND`, by name.
fn command_infos(c: &mut redis::Connection) -> BTreeMap<String, Vec<Value>> {
    fn walk(v: &Value, out: &mut BTreeMap<String, Vec<Value>>) {
        let Value::Array(info) = v else { return };
        let Value::BulkString(name) = &info[0] else {
            return;
        };
        if let Value::Array(subs) = &info[9] {
            for s in subs {
                walk(s, out);
            }
        }
        out.insert(String::from_utf8_lossy(name).into_owned(), info.clone());
    }
    let Value::Array(all) = redis::cmd("COMMAND").query::<Value>(c).unwrap() else {
        panic!("COMMAND is not an array");
    };
    let mut out = BTreeMap::new();
    for v in &all {
        walk(v, &mut out);
    }
    out
}

/// A key spec without Redis's free-text `notes` (we carry none).
fn without_notes(specs: &Value) -> String {
    let Value::Array(specs) = specs else {
        return format!("{specs:?}");
    };
    let kept: Vec<String> = specs
        .iter()
        .map(|s| match s {
            Value::Array(kv) => {
                let pairs: Vec<&[Value]> = kv.chunks(2).collect();
                let kept: Vec<&[Value]> = pairs
                    .into_iter()
                    .filter(|p| !matches!(&p[0], Value::BulkString(k) if k == b"notes"))
                    .collect();
                format!("{kept:?}")
            }
            other => format!("{other:?}"),
        })
        .collect();
    kept.join(" ")
}

#[test]
fn every_commands_key_specs_and_key_triple_match_redis() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    let real = RealRedis::start(&dir, &[]);
    let server = start();
    let theirs = command_infos(&mut real.conn());
    let ours = command_infos(&mut conn(&server));
    let mut differences = Vec::new();
    let mut compared = 0;
    for (name, info) in &ours {
        let Some(reference) = theirs.get(name) else {
            continue; // ours alone (ANATOMY)
        };
        compared += 1;
        if info[3..6] != reference[3..6] {
            differences.push(format!(
                "{name}: key triple {:?} vs {:?}",
                &info[3..6],
                &reference[3..6]
            ));
        }
        let (a, b) = (without_notes(&info[8]), without_notes(&reference[8]));
        if a != b {
            differences.push(format!("{name}:\n  ours {a}\n  7.0  {b}"));
        }
    }
    assert!(compared > 250, "only {compared} commands compared");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Argument lists that exercise every way of finding keys: index, range
/// to the end, keyword searched backwards, keynum, unknown specs with
/// the command's own key function, variable flags.
const GETKEYS_CASES: &[&str] = &[
    "set k v",
    "set k v ex 10 get",
    "mset k1 v1 k2 v2",
    "lmove k1 k2 left right",
    "sort k by x get y store d",
    "sort_ro k",
    "bitfield k get u8 0",
    "bitfield k incrby u8 0 1",
    "zunionstore d 2 a b weights 1 2",
    "zdiff 2 a b",
    "georadius k 0 0 1 km storedist d",
    "geosearchstore d s frommember m byradius 1 km",
    "blmpop 0 2 a b left",
    "bzmpop 0 2 a b min",
    "migrate h 1 k 0 1",
    "migrate h 1 _ 0 1 keys a b",
    "object encoding k",
    "memory usage k",
    "del a b c",
    "rename a b",
    "copy a b",
    "getex k persist",
    "pfcount a b",
    "pfmerge d a b",
    "bitop and d a b",
    "smove a b m",
    "sintercard 2 a b",
    "brpoplpush a b 0",
    "zrangestore d s 0 1",
    "append k v",
];

fn getkeysandflags(c: &mut redis::Connection, line: &str) -> String {
    let mut q = redis::cmd("COMMAND");
    q.arg("GETKEYSANDFLAGS");
    for w in line.split(' ') {
        // `_` stands for the empty key argument of MIGRATE ... KEYS.
        q.arg(if w == "_" { "" } else { w });
    }
    match q.query::<Value>(c) {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error {e}"),
    }
}

#[test]
fn getkeysandflags_matches_redis_for_every_way_of_finding_keys() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    let real = RealRedis::start(&dir, &[]);
    let server = start();
    let (mut r, mut c) = (real.conn(), conn(&server));
    for line in GETKEYS_CASES {
        assert_eq!(
            getkeysandflags(&mut c, line),
            getkeysandflags(&mut r, line),
            "{line}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn getkeysandflags_reports_what_the_command_does_to_each_key() {
    let server = start();
    let mut w = Wire::connect(&server);
    let flags = |w: &mut Wire, line: &str| {
        let reply = w.cmd(&format!("COMMAND GETKEYSANDFLAGS {line}"));
        reply
            .lines()
            .filter(|l| !l.starts_with(['*', '$', '~']))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The cases of Redis's own suite (introspection-2), plus the variable
    // flags of SET and BITFIELD.
    assert_eq!(flags(&mut w, "set k1 v1"), "k1 +OW +update");
    assert_eq!(flags(&mut w, "set k1 v1 GET"), "k1 +RW +access +update");
    assert_eq!(
        flags(&mut w, "mset k1 v1 k2 v2"),
        "k1 +OW +update k2 +OW +update"
    );
    assert_eq!(
        flags(&mut w, "LMOVE k1 k2 left right"),
        "k1 +RW +access +delete k2 +RW +insert"
    );
    assert_eq!(
        flags(&mut w, "sort k1 store k2"),
        "k1 +RO +access k2 +OW +update"
    );
    assert_eq!(flags(&mut w, "bitfield k get u8 0"), "k +RO +access");
    assert_eq!(
        flags(&mut w, "bitfield k set u8 0 1"),
        "k +RW +access +update"
    );
    assert_eq!(
        flags(&mut w, "zunionstore d 2 a b"),
        "d +OW +update a +RO +access b +RO +access"
    );
}
