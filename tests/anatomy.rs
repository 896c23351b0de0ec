//! The visualizer's window: `ANATOMY DICT`, `ANATOMY EVENTS` and
//! `DEBUG REHASH-STEP`, through a real client, decoded with the same
//! `anatomy-viz-proto` types the viz uses.

mod common;
use common::*;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anatomy_viz_proto::{
    BucketSampling, DictSnapshot, DictSource, EventBatch, EventKind, BUCKET_CAP,
};
use redis_anatomy::dict::Dict;
use redis_anatomy::introspect::{dict_snapshot, to_json, Anatomy};
use redis_anatomy::object::{HashValue, RObj, StrValue, Value};
use redis_anatomy::resp::OwnedArgs;
use redis_anatomy::sds::Sds;
use redis_anatomy::server::config::ProtectedAction;
use redis_anatomy::server::{self, Client, Config, Server};

fn snapshot(c: &mut redis::Connection) -> DictSnapshot {
    let json: Vec<u8> = redis::cmd("ANATOMY").arg("DICT").query(c).unwrap();
    serde_json::from_slice(&json).expect("ANATOMY DICT is a DictSnapshot")
}

fn events_since(c: &mut redis::Connection, since: u64) -> EventBatch {
    let json: Vec<u8> = redis::cmd("ANATOMY")
        .arg("EVENTS")
        .arg(since)
        .query(c)
        .unwrap();
    serde_json::from_slice(&json).expect("ANATOMY EVENTS is an EventBatch")
}

fn rehash_step(c: &mut redis::Connection, n: u64) -> i64 {
    redis::cmd("DEBUG")
        .arg("REHASH-STEP")
        .arg(n)
        .query(c)
        .unwrap()
}

/// Everything a snapshot promises about itself.
fn assert_consistent(snap: &DictSnapshot, dbsize: u64) {
    let [t0, t1] = &snap.tables;
    assert_eq!(t0.used + t1.used, dbsize, "every key is in one table");
    for t in [t0, t1] {
        assert_eq!(t.buckets.sampling, BucketSampling::All);
        assert_eq!(t.buckets.lengths.len() as u64, t.size);
        let chained: u64 = t.buckets.lengths.iter().map(|&l| l as u64).sum();
        assert_eq!(chained, t.used, "chain lengths add up to used");
    }
    match snap.rehash_index {
        Some(idx) => {
            assert!(t1.size > 0, "rehashing means table 1 exists");
            assert!(
                t0.buckets.lengths[..idx as usize].iter().all(|&l| l == 0),
                "buckets below rehashidx have moved"
            );
        }
        None => assert_eq!(t1.size, 0, "not rehashing means no table 1"),
    }
}

#[test]
fn rehash_index_advances_with_debug_rehash_step_and_only_with_it() {
    // Cron at 100 Hz, so that "it did not move on its own" below is
    // checked across several cron ticks in a short wait.
    let server = start_with(|cfg| {
        cfg.hz = 100;
        cfg.enable_debug_command = ProtectedAction::Yes;
    });
    let mut c = conn(&server);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("activerehashing")
        .arg("no")
        .query(&mut c)
        .unwrap();
    let first = snapshot(&mut c); // switches event recording on
    assert!(!first.active_rehashing);
    assert_eq!(first.source, DictSource::Keyspace { db: 0 });
    assert_eq!(first.tables[0].size, 0, "an empty keyspace has no table");

    // Fill to 1024 keys in one MSET (its own inserts finish the smaller
    // rehashes as they go), then add keys one by one until one of them
    // starts a resize.
    let mut mset = redis::cmd("MSET");
    for i in 0..1024 {
        mset.arg(format!("key:{i}")).arg(i);
    }
    let _: () = mset.query(&mut c).unwrap();
    let mut keys = 1024u64;
    let mut snap = snapshot(&mut c);
    while snap.rehash_index.is_none() {
        assert!(keys < 4096, "a resize should have started by now");
        let _: () = redis::cmd("SET")
            .arg(format!("key:{keys}"))
            .arg(keys)
            .query(&mut c)
            .unwrap();
        keys += 1;
        snap = snapshot(&mut c);
    }
    assert_consistent(&snap, keys);
    let from = snap.tables[0].size;
    assert_eq!(snap.tables[1].size, from * 2, "growth doubles the table");
    assert!(snap.seq > first.seq);

    // Frozen: nothing moves it but a step. (Cron ticks every 10 ms here.)
    std::thread::sleep(Duration::from_millis(50));
    let still = snapshot(&mut c);
    assert_eq!(still.rehash_index, snap.rehash_index);

    let started = events_since(&mut c, first.event_seq);
    assert!(
        started.events.iter().any(|e| e.kind
            == EventKind::RehashStarted {
                db: 0,
                from,
                to: from * 2
            }),
        "the event log saw the resize start: {:?}",
        started.events
    );

    // Step one bucket at a time: rehashidx only grows, the reply says
    // where it is, and each step is logged with its buckets.
    let mut last_index = still.rehash_index.unwrap();
    let mut last_event = started.last_seq;
    for _ in 0..8 {
        let replied = rehash_step(&mut c, 1);
        let snap = snapshot(&mut c);
        assert_consistent(&snap, keys);
        let idx = snap
            .rehash_index
            .expect("8 steps cannot finish 2048 buckets");
        assert_eq!(replied, idx as i64);
        assert!(
            idx > last_index,
            "rehashidx advances: {last_index} -> {idx}"
        );
        let batch = events_since(&mut c, last_event);
        assert!(!batch.missed);
        let steps: Vec<_> = batch
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::RehashStep { first, last, .. } => Some((first, last)),
                _ => None,
            })
            .collect();
        assert_eq!(
            steps,
            [(last_index, idx - 1)],
            "one step, the buckets it crossed"
        );
        last_index = idx;
        last_event = batch.last_seq;
    }

    // A big step finishes it: table 1 becomes table 0.
    assert_eq!(rehash_step(&mut c, 1_000_000), -1);
    let done = snapshot(&mut c);
    assert_consistent(&done, keys);
    assert_eq!(done.rehash_index, None);
    assert_eq!(done.tables[0].size, from * 2);
    let end = events_since(&mut c, last_event);
    let kinds: Vec<_> = end.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        [
            EventKind::RehashFinished {
                db: 0,
                size: from * 2
            },
            EventKind::TableResized {
                db: 0,
                from,
                to: from * 2
            }
        ]
    );
    assert_eq!(rehash_step(&mut c, 1), -1, "nothing to rehash");
}

/// Runs one command on an in-process server and returns the raw reply.
fn run_in_process(server: &mut Server, client: &mut Client, args: &[&str]) -> Vec<u8> {
    let owned = OwnedArgs::from_slices(args);
    client.reply.buf.clear();
    server::process_command(server, client, owned.args());
    client.reply.buf.to_vec()
}

#[test]
fn anatomy_dict_of_a_key_shows_the_dict_inside_the_value() {
    // Planted in-process: a hash big enough to be a table, without
    // depending on HSET.
    let mut server = Server::new(Config::default());
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut client = Client::new(1, addr, addr, -1);
    let mut fields: Dict<Sds, Sds> = Dict::new();
    for i in 0..600 {
        fields.insert(Sds::new(format!("f{i}").as_bytes()), Sds::new(b"v"));
    }
    let hash = RObj::new(Value::Hash(Box::new(HashValue::Table(Box::new(fields)))), 0);
    server.dbs[0].set(b"big", hash, false);
    server.dbs[0].set(b"s", RObj::string(StrValue::from_bytes(b"x"), 0), false);

    let reply = run_in_process(&mut server, &mut client, &["ANATOMY", "DICT", "big"]);
    let json_start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(reply[0], b'$', "a bulk string");
    let snap: DictSnapshot = serde_json::from_slice(&reply[json_start..reply.len() - 2]).unwrap();
    assert_eq!(
        snap.source,
        DictSource::Key {
            db: 0,
            key: "big".into(),
            kind: "hash".into()
        }
    );
    assert_eq!(snap.tables[0].used + snap.tables[1].used, 600);

    for (key, err) in [
        ("nokey", "-ERR no such key\r\n"),
        (
            "s",
            "-ERR The value stored at the specified key is not represented using an hash table\r\n",
        ),
    ] {
        let reply = run_in_process(&mut server, &mut client, &["ANATOMY", "DICT", key]);
        assert_eq!(String::from_utf8_lossy(&reply), err);
    }
}

#[test]
fn bad_arguments_get_redis_style_errors() {
    let server = start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes);
    let mut c = conn(&server);
    for (args, err) in [
        (
            &["EVENTS", "abc"][..],
            "value is not an integer or out of range",
        ),
        (
            &["EVENTS", "-1"][..],
            "value is not an integer or out of range",
        ),
        (&["NOPE"][..], "unknown subcommand 'NOPE'"),
        (
            &["DICT", "a", "b"][..],
            "wrong number of arguments for 'anatomy|dict'",
        ),
    ] {
        let e = redis::cmd("ANATOMY")
            .arg(args)
            .query::<Vec<u8>>(&mut c)
            .unwrap_err();
        assert!(e.to_string().contains(err), "{args:?}: {e}");
    }
    for (arg, err) in [("0", "must be positive"), ("x", "not an integer")] {
        let e = redis::cmd("DEBUG")
            .arg("REHASH-STEP")
            .arg(arg)
            .query::<i64>(&mut c)
            .unwrap_err();
        assert!(e.to_string().contains(err), "{arg}: {e}");
    }
    let help: Vec<String> = redis::cmd("ANATOMY").arg("HELP").query(&mut c).unwrap();
    assert!(help.iter().any(|l| l.starts_with("EVENTS <since-seq>")));
}

/// The cost promise: a million keys, a snapshot in a few milliseconds
/// (measured in an optimised build; the bound here allows for a debug
/// build) and well under 64 KB of JSON.
#[test]
fn a_million_key_snapshot_is_sampled_small_and_fast() {
    let mut dict: Dict<Vec<u8>, ()> = Dict::new();
    dict.expand(1 << 20).unwrap();
    for i in 0..1_000_000u32 {
        dict.insert(i.to_le_bytes().to_vec(), ());
    }
    let mut anatomy = Anatomy::default();
    let started = Instant::now();
    let snap = dict_snapshot(&mut anatomy, &dict, DictSource::Keyspace { db: 0 }, true, 0);
    let json = to_json(&snap);
    let took = started.elapsed();
    assert_eq!(
        snap.tables[0].buckets.sampling,
        BucketSampling::Sampled {
            stride: (1 << 20) / BUCKET_CAP as u64
        }
    );
    assert_eq!(snap.tables[0].used, 1_000_000);
    assert!(json.len() < 64 * 1024, "{} bytes", json.len());
    assert!(took < Duration::from_millis(50), "took {took:?}");
}
