//! Shared by tests/rdb.rs and tests/rdb_interop.rs: a dataset with every
//! type and encoding, and an encoding-blind description of a keyspace.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// Fill dbs 0, 1 and 3 with every type in every encoding, some with TTLs.
pub fn populate(c: &mut redis::Connection) {
    let q = |c: &mut redis::Connection, args: &[&str]| {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(c).unwrap();
    };
    q(c, &["SELECT", "0"]);
    q(c, &["SET", "int8", "12"]);
    q(c, &["SET", "int16", "-3000"]);
    q(c, &["SET", "int32", "70000000"]);
    q(c, &["SET", "int64", "9000000000000"]);
    q(c, &["SET", "embstr", "hello world"]);
    q(c, &["SET", "raw", &"0123456789abcdefghij".repeat(5)]);
    q(c, &["SET", "lzfable", &"a".repeat(300)]);
    q(c, &["SET", "binary", "\u{0}\u{1}\u{ff}zz"]);
    q(c, &["SET", "12345", "numeric key"]);
    q(c, &["SET", "ttl-key", "soon", "PX", "500000"]);
    q(
        c,
        &["RPUSH", "list-small", "a", "b", "3", "-4", "5000000000"],
    );
    let big: Vec<String> = (0..2000)
        .map(|i| format!("element-number-{i}-padding-padding"))
        .collect();
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg("list-big");
    for e in &big {
        cmd.arg(e);
    }
    cmd.query::<i64>(c).unwrap();
    q(
        c,
        &[
            "HSET",
            "hash-small",
            "f1",
            "v1",
            "f2",
            "2",
            "f3",
            "long-ish value",
        ],
    );
    let mut cmd = redis::cmd("HSET");
    cmd.arg("hash-big");
    for i in 0..600 {
        cmd.arg(format!("field{i}")).arg(format!("value{i}"));
    }
    cmd.query::<i64>(c).unwrap();
    q(c, &["HSET", "hash-longval", "f", &"x".repeat(100)]);
    q(
        c,
        &[
            "SADD",
            "set-int",
            "1",
            "2",
            "3",
            "-100",
            "70000",
            "9000000000",
        ],
    );
    q(c, &["SADD", "set-str", "a", "b", "c", "1"]);
    q(
        c,
        &[
            "ZADD",
            "zset-small",
            "1",
            "a",
            "2.5",
            "b",
            "-3",
            "c",
            "inf",
            "d",
        ],
    );
    let mut cmd = redis::cmd("ZADD");
    cmd.arg("zset-big");
    for i in 0..300 {
        cmd.arg(i as f64 * 1.5).arg(format!("member{i}"));
    }
    cmd.query::<i64>(c).unwrap();
    q(c, &["PEXPIRE", "zset-big", "900000"]);
    q(c, &["SELECT", "1"]);
    q(c, &["SET", "db1-key", "in db one"]);
    q(c, &["RPUSH", "db1-list", "x"]);
    q(c, &["SELECT", "3"]);
    q(c, &["HSET", "db3-hash", "k", "v"]);
    q(c, &["EXPIRE", "db3-hash", "1000"]);
    q(c, &["SELECT", "0"]);
}

/// Every key of dbs 0..4 as "type value ttl-bucket", encoding-blind
/// (collections sorted where order is not part of the value).
pub fn describe(c: &mut redis::Connection) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for db in 0..4 {
        redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
        let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
        keys.sort();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let v = match t.as_str() {
                "string" => format!(
                    "{:?}",
                    redis::cmd("GET").arg(&k).query::<Vec<u8>>(c).unwrap()
                ),
                "list" => format!(
                    "{:?}",
                    redis::cmd("LRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .query::<Vec<Vec<u8>>>(c)
                        .unwrap()
                ),
                "hash" => {
                    let mut m: Vec<(Vec<u8>, Vec<u8>)> =
                        redis::cmd("HGETALL").arg(&k).query(c).unwrap();
                    m.sort();
                    format!("{m:?}")
                }
                "set" => {
                    let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
                    m.sort();
                    format!("{m:?}")
                }
                "zset" => format!(
                    "{:?}",
                    redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query::<Vec<Vec<u8>>>(c)
                        .unwrap()
                ),
                other => panic!("unexpected type {other}"),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).unwrap();
            // TTLs in whole 100-second buckets: equal across a save and a
            // load taking well under that.
            let ttl = if pttl < 0 {
                pttl
            } else {
                (pttl + 50_000) / 100_000
            };
            out.insert(
                format!("{db}:{}", String::from_utf8_lossy(&k)),
                format!("{t} {v} ttl={ttl}"),
            );
        }
    }
    redis::cmd("SELECT").arg(0).query::<()>(c).unwrap();
    out
}

/// OBJECT ENCODING of every key in db 0.
pub fn encodings(c: &mut redis::Connection) -> BTreeMap<String, String> {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(c).unwrap();
    keys.into_iter()
        .map(|k| {
            let e: String = redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(&k)
                .query(c)
                .unwrap();
            (k, e)
        })
        .collect()
}
