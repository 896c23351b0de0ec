//! A replicated dataset, shared by the two replication test files
//! (tests/replication.rs: a real replica of us; tests/replica.rs: we are
//! the replica): a workload that touches every type, expiry, MULTI and
//! SELECT, a rendering of a whole dataset to compare, and a poll until
//! two servers hold the same one.

use redis::Commands;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Every key of every db with its type, value and whether it has a TTL.
pub fn dataset(c: &mut redis::Connection) -> BTreeMap<(u32, String), String> {
    let mut out = BTreeMap::new();
    for db in 0..16u32 {
        let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
        let keys: Vec<String> = c.keys("*").unwrap();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let v = match t.as_str() {
                "string" => format!("{:?}", c.get::<_, Vec<u8>>(&k).unwrap()),
                "list" => format!("{:?}", c.lrange::<_, Vec<String>>(&k, 0, -1).unwrap()),
                "set" => {
                    let mut m: Vec<String> = c.smembers(&k).unwrap();
                    m.sort();
                    format!("{m:?}")
                }
                "hash" => format!(
                    "{:?}",
                    c.hgetall::<_, BTreeMap<String, String>>(&k).unwrap()
                ),
                "zset" => format!(
                    "{:?}",
                    c.zrange_withscores::<_, Vec<(String, String)>>(&k, 0, -1)
                        .unwrap()
                ),
                other => other.to_string(),
            };
            let ttl: i64 = c.pttl(&k).unwrap();
            out.insert((db, k), format!("{t} {v} ttl={}", ttl > 0));
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(c).unwrap();
    out
}

/// One round of writes of every kind (`round` makes the values new).
pub fn workload(c: &mut redis::Connection, round: u32) {
    let r = round.to_string();
    let _: () = c.set(format!("s{r}"), "hello").unwrap();
    let _: () = c.set_ex(format!("ttl{r}"), "v", 1000).unwrap();
    let _: f64 = redis::cmd("INCRBYFLOAT")
        .arg("float")
        .arg("0.1")
        .query(c)
        .unwrap();
    let _: () = c.rpush("list", &["a", "b", "c", &r]).unwrap();
    let _: () = c.lpop("list", None).unwrap();
    let _: () = c.hset_multiple("hash", &[("f1", "1"), ("f2", &r)]).unwrap();
    let _: () = c.sadd("set", &["m1", "m2", "m3", "m4", &r]).unwrap();
    let _: () = c.sadd("ints", &[1, 2, 3, round as i64]).unwrap();
    let _: Vec<String> = redis::cmd("SPOP").arg("set").arg(2).query(c).unwrap();
    let _: () = c
        .zadd_multiple("zset", &[(1.5, "a"), (2.5, "b"), (round as f64, "c")])
        .unwrap();
    let _: () = c.zincr("zset", "a", 1).unwrap();
    let _: () = c.pfadd("hll", &r).unwrap();
    let _: () = c.expire("list", 5000).unwrap();
    let _: () = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("counter")
        .cmd("SADD")
        .arg("set2")
        .arg(&r)
        .cmd("DEL")
        .arg(format!("s{r}"))
        .query(c)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(5).query(c).unwrap();
    let _: () = c.set("in5", &r).unwrap();
    let _: () = c.pset_ex("short", "gone", 1).unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(c).unwrap();
    let _: () = c.pset_ex("soon", "x", 1).unwrap();
}

/// Poll until `primary` and `replica` hold the same dataset (15 s).
pub fn wait_for_equal(primary: &mut redis::Connection, replica: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (a, b) = (dataset(primary), dataset(replica));
        if a == b {
            return;
        }
        if Instant::now() > deadline {
            assert_eq!(a, b, "the replica's dataset differs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
