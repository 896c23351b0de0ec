//! Replication, the replica's side: this server following a real
//! `redis-server` (full sync in both the `$<len>` and the diskless `$EOF:`
//! form, the live stream with MULTI/EXEC and expiry, a partial resync
//! after `CLIENT KILL TYPE master`), following itself in a chain, the
//! promotion with `REPLICAOF NO ONE` that lets the sub-replica and the old
//! primary continue, WAIT counting our replica, and the replica's refusals
//! (`-READONLY`, `-MASTERDOWN`). The real-Redis tests are skipped with a
//! message when redis-server is missing, unless
//! REDIS_ANATOMY_REQUIRE_INTEROP is set.

mod common;

use common::datasets::{wait_for_equal, workload};
use common::*;
use redis::Commands;
use redis_anatomy::server::ServerHandle;

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .to_string()
}

/// Our server as a replica of `port` on 127.0.0.1 (the `replicaof`
/// directive, as `--replicaof` on the command line).
fn replica_of(port: u16) -> ServerHandle {
    start_with(|cfg| cfg.replicaof = Some(("127.0.0.1".into(), port)))
}

/// One command through the raw wire; the reply without its final CRLF.
fn call(w: &mut Wire, words: &[&str]) -> String {
    let words: Vec<&[u8]> = words.iter().map(|s| s.as_bytes()).collect();
    w.call(&words).trim_end().to_string()
}

fn link_up(c: &mut redis::Connection) -> bool {
    info_field(c, "replication", "master_link_status") == "up"
}

/// The replica's applied offset reaches the primary's, with the same id.
fn wait_for_same_offset(primary: &mut redis::Connection, replica: &mut redis::Connection) {
    eventually("the replica's offset", || {
        info_field(primary, "replication", "master_repl_offset")
            == info_field(replica, "replication", "master_repl_offset")
    });
    assert_eq!(
        info_field(primary, "replication", "master_replid"),
        info_field(replica, "replication", "master_replid")
    );
}

fn follow_a_real_redis(extra: &[&str]) {
    let dir = scratch_dir();
    let mut args = vec![
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ];
    args.extend_from_slice(extra);
    let real = RealRedis::start(&dir, &args);
    let mut p = real.conn();
    workload(&mut p, 0);
    // A FUNCTION library travels in the snapshot, as the keys do.
    let lib = "#!lua name=synclib\nredis.register_function{function_name='synced', callback=function() return 'synced' end, flags={'no-writes'}}";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut p)
        .unwrap();
    let server = replica_of(real.port);
    let mut r = conn(&server);
    eventually("the link to come up", || link_up(&mut r));
    wait_for_equal(&mut p, &mut r);
    let synced: String = redis::cmd("FCALL_RO")
        .arg("synced")
        .arg(0)
        .query(&mut r)
        .unwrap();
    assert_eq!(synced, "synced");
    for round in 1..4 {
        workload(&mut p, round);
    }
    wait_for_equal(&mut p, &mut r);
    wait_for_same_offset(&mut p, &mut r);
    assert_eq!(info_field(&mut p, "stats", "sync_full"), "1");
    // The primary sees us online, at its offset (we ACK once a second).
    let offset: i64 = info_field(&mut p, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    eventually("our ACK", || {
        let line = info_field(&mut p, "replication", "slave0");
        let acked = line
            .split(',')
            .find_map(|f| f.strip_prefix("offset="))
            .and_then(|o| o.parse::<i64>().ok());
        line.contains("state=online") && acked >= Some(offset)
    });

    // Drop the link from our side: we come back with PSYNC and continue.
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("master")
        .query(&mut r)
        .unwrap();
    assert_eq!(killed, 1);
    workload(&mut p, 10);
    eventually("a partial resync", || {
        info_field(&mut p, "stats", "sync_partial_ok") == "1"
    });
    workload(&mut p, 11);
    wait_for_equal(&mut p, &mut r);
    wait_for_same_offset(&mut p, &mut r);
    assert_eq!(info_field(&mut p, "stats", "sync_full"), "1");
    drop(server);
    drop(real);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn we_follow_a_real_redis_and_resume_with_a_partial_resync() {
    if interop_tool("redis-server").is_none() {
        return;
    }
    follow_a_real_redis(&["--repl-diskless-sync", "yes"]);
}

#[test]
fn we_take_a_disk_snapshot_in_the_len_form() {
    if interop_tool("redis-server").is_none() {
        return;
    }
    // Redis 7.0 streams the snapshot (`$EOF:`) by default; this is the
    // other form.
    follow_a_real_redis(&["--repl-diskless-sync", "no"]);
}

#[test]
fn a_replica_hides_expired_keys_but_only_the_primary_deletes_them() {
    if interop_tool("redis-server").is_none() {
        return;
    }
    let dir = scratch_dir();
    let real = RealRedis::start(
        &dir,
        &[
            "--enable-debug-command",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
        ],
    );
    let mut p = real.conn();
    // The primary deletes only when touched: we control when the DEL comes.
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(0)
        .query(&mut p)
        .unwrap();
    let server = replica_of(real.port);
    let mut r = conn(&server);
    eventually("the link to come up", || link_up(&mut r));
    // After a diskless sync the primary holds the stream back until our
    // first ACK finds it done with the transfer: wait for `online`.
    eventually("the primary to see us online", || {
        info_field(&mut p, "replication", "slave0").contains("state=online")
    });
    let _: () = p.pset_ex("fleeting", "v", 1500).unwrap();
    let _: () = p.set("stays", "v").unwrap();
    eventually("the key to arrive", || {
        r.exists::<_, bool>("fleeting").unwrap()
    });
    // Past its TTL it reads as missing on the replica, yet is kept.
    eventually("the key to expire", || {
        r.get::<_, Option<String>>("fleeting").unwrap().is_none()
    });
    let size: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(size, 2);
    // The primary's lazy expiry sends the DEL, which removes it here.
    let _: Option<String> = p.get("fleeting").unwrap();
    eventually("the primary's DEL", || {
        redis::cmd("DBSIZE").query::<i64>(&mut r).unwrap() == 1
    });
    drop(server);
    drop(real);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_chain_of_our_servers_survives_a_promotion_with_partial_resyncs() {
    let a = start();
    let mut ca = conn(&a);
    workload(&mut ca, 0);
    let b = replica_of(a.addr.port());
    let mut cb = conn(&b);
    eventually("b's link", || link_up(&mut cb));
    let c = replica_of(b.addr.port());
    let mut cc = conn(&c);
    eventually("c's link", || link_up(&mut cc));
    for round in 1..3 {
        workload(&mut ca, round);
    }
    wait_for_equal(&mut ca, &mut cb);
    wait_for_equal(&mut ca, &mut cc);
    // c got a's history through b: same id, same offsets.
    wait_for_same_offset(&mut ca, &mut cc);
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut cb).unwrap();
    assert_eq!(role.len(), 5);
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(role[3], redis::Value::BulkString(b"connected".to_vec()));

    // c's first sync from b was a full one.
    let full_before = info_field(&mut cb, "stats", "sync_full");
    assert_eq!(full_before, "1");
    // Promote b: its old id becomes replid2, valid up to here.
    let old_id = info_field(&mut cb, "replication", "master_replid");
    let offset: i64 = info_field(&mut cb, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    let ok: String = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut cb)
        .unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(info_field(&mut cb, "replication", "role"), "master");
    assert_eq!(info_field(&mut cb, "replication", "master_replid2"), old_id);
    assert_eq!(
        info_field(&mut cb, "replication", "second_repl_offset"),
        (offset + 1).to_string()
    );
    // c reconnects and continues under the new id; so does a, demoted.
    let a_port = b.addr.port().to_string();
    let _: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(&a_port)
        .query(&mut ca)
        .unwrap();
    eventually("two partial resyncs on b", || {
        info_field(&mut cb, "stats", "sync_partial_ok") == "2"
    });
    assert_eq!(info_field(&mut cb, "stats", "sync_full"), full_before);
    workload(&mut cb, 7);
    wait_for_equal(&mut cb, &mut cc);
    wait_for_equal(&mut cb, &mut ca);
    wait_for_same_offset(&mut cb, &mut ca);
    wait_for_same_offset(&mut cb, &mut cc);
}

#[test]
fn wait_on_our_primary_counts_our_replica() {
    let a = start();
    let mut ca = conn(&a);
    let b = replica_of(a.addr.port());
    let mut cb = conn(&b);
    eventually("b's link", || link_up(&mut cb));
    let _: () = ca.set("k", "v").unwrap();
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut ca).unwrap();
    assert_eq!(acked, 1);
    assert_eq!(cb.get::<_, String>("k").unwrap(), "v");
}

#[test]
fn a_replica_refuses_writes_and_with_its_link_down_stale_reads() {
    // A port nobody listens on: the link never comes up.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let server = start();
    let mut c = conn(&server);
    let _: () = c.set("k", "v").unwrap();
    let mut w = Wire::connect(&server);
    let port = dead_port.to_string();
    // A client parked in BLPOP on the primary is released with an error.
    let mut parked = Wire::connect(&server);
    parked.send(&[b"BLPOP", b"queue", b"0"]);
    eventually("the BLPOP to park", || {
        info_field(&mut c, "clients", "blocked_clients") == "1"
    });
    assert_eq!(
        call(&mut w, &["REPLICAOF", "127.0.0.1", "abc"]),
        "-ERR Invalid master port"
    );
    assert_eq!(
        call(&mut w, &["REPLICAOF", "127.0.0.1", "70000"]),
        "-ERR Invalid master port"
    );
    assert_eq!(call(&mut w, &["REPLICAOF", "127.0.0.1", &port]), "+OK");
    assert_eq!(
        parked.reply().trim_end(),
        "-UNBLOCKED force unblock from blocking operation, instance state changed \
         (master -> replica?)"
    );
    assert_eq!(
        call(&mut w, &["REPLICAOF", "127.0.0.1", &port]),
        "+OK Already connected to specified master"
    );
    assert_eq!(
        call(&mut w, &["SET", "k", "w"]),
        "-READONLY You can't write against a read only replica."
    );
    assert_eq!(call(&mut w, &["GET", "k"]), "$1\r\nv");
    assert_eq!(info_field(&mut c, "replication", "role"), "slave");
    assert_eq!(
        info_field(&mut c, "replication", "master_link_status"),
        "down"
    );
    assert_eq!(
        info_field(&mut c, "replication", "master_last_io_seconds_ago"),
        "-1"
    );
    assert_eq!(
        info_field(&mut c, "replication", "master_link_down_since_seconds"),
        "-1"
    );
    // Was a master: its own history is offered (offset 0 here).
    assert_eq!(info_field(&mut c, "replication", "slave_repl_offset"), "0");
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut c).unwrap();
    assert_eq!(role[4], redis::Value::Int(-1));

    let stale = "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
    assert_eq!(
        call(&mut w, &["CONFIG", "SET", "replica-serve-stale-data", "no"]),
        "+OK"
    );
    assert_eq!(call(&mut w, &["GET", "k"]), stale);
    assert_eq!(call(&mut w, &["PING"]), stale);
    // Commands flagged `stale` still run.
    assert!(call(&mut w, &["INFO", "server"]).starts_with('$'));
    // A replica whose link is down has no history to give.
    assert_eq!(
        call(
            &mut w,
            &["CONFIG", "SET", "replica-serve-stale-data", "yes"]
        ),
        "+OK"
    );
    assert_eq!(
        call(&mut w, &["PSYNC", "?", "-1"]),
        "-NOMASTERLINK Can't SYNC while not connected with my master"
    );
    assert_eq!(call(&mut w, &["REPLICAOF", "NO", "ONE"]), "+OK");
    assert_eq!(call(&mut w, &["SET", "k", "w"]), "+OK");
    assert_eq!(info_field(&mut c, "replication", "role"), "master");
    assert_eq!(info_field(&mut c, "replication", "second_repl_offset"), "1");
}
