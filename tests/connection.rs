//! Connection commands through real sockets: HELLO and RESP3, AUTH and the
//! NOAUTH gate, SELECT and SWAPDB, QUIT and RESET, and CLIENT's
//! subcommands (names, LIST/INFO lines, KILL, PAUSE, REPLY). Every
//! expected string was checked against redis-server 7.0.15.

mod common;
use common::*;

use std::io::Read;
use std::time::{Duration, Instant};

use redis_anatomy::server::command_table;

/// Length of the complete RESP value at the start of `buf`, if complete.
fn resp_value_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let header = std::str::from_utf8(&buf[1..line_end]).ok()?;
    let after = line_end + 2;
    match buf[0] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = header.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = header.parse().ok()?;
            let items = if matches!(buf[0], b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut at = after;
            for _ in 0..items.max(0) {
                at += resp_value_len(&buf[at..])?;
            }
            Some(at)
        }
        other => panic!("not RESP: {:?}", other as char),
    }
}

/// Send one command and read exactly one reply, as raw bytes.
fn request(raw: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    raw.send(&resp(args));
    read_reply(raw)
}

fn read_reply(raw: &mut Raw) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if !got.is_empty() {
            if let Some(n) = resp_value_len(&got) {
                assert_eq!(n, got.len(), "more than one reply: {:?}", text(&got));
                return got;
            }
        }
        let n = raw.stream.read(&mut buf).expect("reply");
        assert!(n > 0, "closed after {:?}", text(&got));
        got.extend_from_slice(&buf[..n]);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The integer of a `:n` reply.
fn int_reply(raw: &mut Raw, args: &[&[u8]]) -> i64 {
    let r = text(&request(raw, args));
    r.strip_prefix(':')
        .and_then(|s| s.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not an integer: {r:?}"))
        .parse()
        .unwrap()
}

/// The payload of a bulk (RESP2) or verbatim (RESP3) CLIENT LIST/INFO reply.
fn text_reply(raw: &mut Raw, args: &[&[u8]]) -> String {
    let r = text(&request(raw, args));
    let body_at = r.find("\r\n").unwrap() + 2;
    let body = &r[body_at..r.len() - 2];
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn hello_map(proto: u8, id: i64) -> String {
    let header = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{header}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
}

// ---------------------------------------------------------------------------
// HELLO and RESP3
// ---------------------------------------------------------------------------

#[test]
fn hello_3_answers_a_resp3_map_and_hello_2_switches_back() {
    let server = start();
    let mut raw = Raw::connect(&server);
    let id = int_reply(&mut raw, &[b"CLIENT", b"ID"]);

    // HELLO with no version describes the server in the current protocol.
    assert_eq!(text(&request(&mut raw, &[b"HELLO"])), hello_map(2, id));
    assert_eq!(
        text(&request(&mut raw, &[b"HELLO", b"3"])),
        hello_map(3, id)
    );

    // RESP3 encodings from now on: null, map, verbatim text.
    assert_eq!(request(&mut raw, &[b"GET", b"missing"]), b"_\r\n");
    assert_eq!(request(&mut raw, &[b"CLIENT", b"GETNAME"]), b"_\r\n");
    let info = text(&request(&mut raw, &[b"CLIENT", b"INFO"]));
    assert!(
        info.starts_with('=') && info.contains("\r\ntxt:id="),
        "{info}"
    );
    assert!(info.ends_with(" resp=3\n\r\n"), "{info}");

    assert_eq!(
        text(&request(&mut raw, &[b"HELLO", b"2"])),
        hello_map(2, id)
    );
    assert_eq!(request(&mut raw, &[b"GET", b"missing"]), b"$-1\r\n");
    let info = text(&request(&mut raw, &[b"CLIENT", b"INFO"]));
    assert!(
        info.starts_with('$') && info.ends_with(" resp=2\n\r\n"),
        "{info}"
    );
}

#[test]
fn hello_rejects_bad_versions_and_options_with_redis_errors() {
    let server = start();
    let mut raw = Raw::connect(&server);
    for (args, error) in [
        (
            &[&b"HELLO"[..], b"1"][..],
            "-NOPROTO unsupported protocol version\r\n",
        ),
        (
            &[b"HELLO", b"4"],
            "-NOPROTO unsupported protocol version\r\n",
        ),
        (
            &[b"HELLO", b"abc"],
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        (
            &[b"HELLO", b"3", b"FOO"],
            "-ERR Syntax error in HELLO option 'FOO'\r\n",
        ),
        (
            &[b"HELLO", b"3", b"SETNAME"],
            "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
        ),
        (
            &[b"HELLO", b"2", b"AUTH", b"default"],
            "-ERR Syntax error in HELLO option 'AUTH'\r\n",
        ),
        (
            &[b"HELLO", b"3", b"SETNAME", b"a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        (
            &[b"HELLO", b"3", b"AUTH", b"bob", b"pw"],
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        ),
    ] {
        assert_eq!(text(&request(&mut raw, args)), error, "{args:?}");
    }
    // None of the failed HELLOs switched the protocol.
    assert_eq!(request(&mut raw, &[b"GET", b"missing"]), b"$-1\r\n");
}

#[test]
fn hello_setname_names_the_connection_and_the_last_setname_wins() {
    let server = start();
    let mut c = conn(&server);
    let reply: redis::Value = redis::cmd("HELLO")
        .arg(2)
        .arg("SETNAME")
        .arg("first")
        .arg("SETNAME")
        .arg("second")
        .query(&mut c)
        .unwrap();
    assert!(matches!(reply, redis::Value::Array(ref items) if items.len() == 14));
    let name: Option<String> = redis::cmd("CLIENT").arg("GETNAME").query(&mut c).unwrap();
    assert_eq!(name.as_deref(), Some("second"));
}

// ---------------------------------------------------------------------------
// AUTH
// ---------------------------------------------------------------------------

#[test]
fn with_requirepass_only_no_auth_commands_run_before_auth() {
    let server = start_with(|c| c.requirepass = Some(b"secret".to_vec()));
    let mut raw = Raw::connect(&server);
    let noauth = b"-NOAUTH Authentication required.\r\n";
    raw.roundtrip(&resp(&[b"GET", b"k"]), noauth);
    raw.roundtrip(&resp(&[b"PING"]), noauth);
    raw.roundtrip(&resp(&[b"CLIENT", b"ID"]), noauth);
    raw.roundtrip(
        &resp(&[b"HELLO", b"3"]),
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
          HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
          the RESP protocol version at the same time\r\n",
    );
    let wrongpass = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    raw.roundtrip(&resp(&[b"AUTH", b"nope"]), wrongpass);
    raw.roundtrip(&resp(&[b"AUTH", b"bob", b"secret"]), wrongpass);
    raw.roundtrip(
        &resp(&[b"AUTH", b"a", b"b", b"c"]),
        b"-ERR syntax error\r\n",
    );
    raw.roundtrip(&resp(&[b"GET", b"k"]), noauth);
    raw.roundtrip(&resp(&[b"AUTH", b"secret"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    // A failed AUTH later does not log an authenticated client out.
    raw.roundtrip(&resp(&[b"AUTH", b"default", b"wrong"]), wrongpass);
    raw.roundtrip(&resp(&[b"GET", b"k"]), b"$1\r\nv\r\n");

    // HELLO AUTH authenticates and switches protocol in one step.
    let mut other = Raw::connect(&server);
    other.send(&resp(&[b"HELLO", b"3", b"AUTH", b"default", b"secret"]));
    let map = text(&read_reply(&mut other));
    assert!(
        map.starts_with("%7\r\n") && map.contains("proto\r\n:3\r\n"),
        "{map}"
    );
    other.roundtrip(&resp(&[b"GET", b"k"]), b"$1\r\nv\r\n");

    // QUIT works before AUTH and closes the connection.
    let mut quitter = Raw::connect(&server);
    quitter.roundtrip(&resp(&[b"QUIT"]), b"+OK\r\n");
    assert!(quitter.is_closed());

    // The redis crate authenticates through the URL.
    let client = redis::Client::open(format!("redis://:secret@{}/", server.addr)).unwrap();
    let mut c = client.get_connection().unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
}

#[test]
fn auth_without_a_password_configured() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        &resp(&[b"AUTH", b"x"]),
        b"-ERR AUTH <password> called without any password configured for the default user. \
          Are you sure your configuration is correct?\r\n",
    );
    // `default` has nopass: any password is right, any other user wrong.
    raw.roundtrip(&resp(&[b"AUTH", b"default", b"anything"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"AUTH", b"bob", b"anything"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
}

// ---------------------------------------------------------------------------
// SELECT and SWAPDB
// ---------------------------------------------------------------------------

#[test]
fn select_isolates_databases_and_checks_the_index() {
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("zero")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(15).query(&mut c).unwrap();
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, None);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("fifteen")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "zero");

    let mut raw = Raw::connect(&server);
    for (arg, error) in [
        (&b"16"[..], "-ERR DB index is out of range\r\n"),
        (b"-1", "-ERR DB index is out of range\r\n"),
        (b"abc", "-ERR value is not an integer or out of range\r\n"),
        (b"1.5", "-ERR value is not an integer or out of range\r\n"),
        (
            b"2147483648",
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
        ),
    ] {
        raw.roundtrip(&resp(&[b"SELECT", arg]), error.as_bytes());
    }
    // A failed SELECT leaves the selection alone.
    raw.roundtrip(&resp(&[b"SELECT", b"15"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"SELECT", b"16"]),
        b"-ERR DB index is out of range\r\n",
    );
    raw.roundtrip(&resp(&[b"GET", b"k"]), b"$7\r\nfifteen\r\n");
}

#[test]
fn swapdb_serves_a_client_blocked_on_a_key_the_swap_brings_in() {
    // Redis's suite: "SWAPDB awakes blocked client".
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("hello")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(9).query(&mut c).unwrap();
    let mut blocked = conn(&server);
    let _: () = redis::cmd("SELECT").arg(9).query(&mut blocked).unwrap();
    let waiter = std::thread::spawn(move || -> Vec<String> {
        redis::cmd("BRPOP")
            .arg("k")
            .arg(5)
            .query(&mut blocked)
            .unwrap()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut c).unwrap();
        if info.contains("blocked_clients:1\r\n") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "BRPOP never blocked");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _: () = redis::cmd("SWAPDB").arg(1).arg(9).query(&mut c).unwrap();
    assert_eq!(waiter.join().unwrap(), ["k", "hello"]);
    let left: i64 = redis::cmd("EXISTS").arg("k").query(&mut c).unwrap();
    assert_eq!(left, 0, "the element was popped in db 9");
}

#[test]
fn swapdb_is_visible_to_a_client_that_selected_either_database() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    let _: () = redis::cmd("SET").arg("k").arg("in0").query(&mut a).unwrap();
    let _: () = redis::cmd("SELECT").arg(1).query(&mut b).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("in1").query(&mut b).unwrap();

    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut a).unwrap();
    let seen_by_a: String = redis::cmd("GET").arg("k").query(&mut a).unwrap();
    let seen_by_b: String = redis::cmd("GET").arg("k").query(&mut b).unwrap();
    assert_eq!((seen_by_a.as_str(), seen_by_b.as_str()), ("in1", "in0"));
    // b still says db=1: the numbers stay, the contents moved.
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut b).unwrap();
    assert!(info.contains(" db=1 "), "{info}");

    let mut raw = Raw::connect(&server);
    for (x, y, error) in [
        (&b"a"[..], &b"1"[..], "-ERR invalid first DB index\r\n"),
        (b"1", b"b", "-ERR invalid second DB index\r\n"),
        (b"2147483648", b"1", "-ERR invalid first DB index\r\n"),
        (b"1", b"16", "-ERR DB index is out of range\r\n"),
        (b"-1", b"0", "-ERR DB index is out of range\r\n"),
    ] {
        raw.roundtrip(&resp(&[b"SWAPDB", x, y]), error.as_bytes());
    }
    raw.roundtrip(&resp(&[b"SWAPDB", b"3", b"3"]), b"+OK\r\n");
}

// ---------------------------------------------------------------------------
// CLIENT: names, ids, LIST and INFO
// ---------------------------------------------------------------------------

#[test]
fn client_setname_getname_and_id() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");
    raw.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b"worker-1"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"CLIENT", b"GETNAME"]), b"$8\r\nworker-1\r\n");
    for bad in [&b"a b"[..], b"new\nline", b"caf\xc3\xa9"] {
        raw.roundtrip(
            &resp(&[b"CLIENT", b"SETNAME", bad]),
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        );
    }
    raw.roundtrip(&resp(&[b"CLIENT", b"GETNAME"]), b"$8\r\nworker-1\r\n");
    raw.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b""]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");

    let first = int_reply(&mut raw, &[b"CLIENT", b"ID"]);
    let mut second = Raw::connect(&server);
    assert!(int_reply(&mut second, &[b"CLIENT", b"ID"]) > first);
    raw.roundtrip(
        &resp(&[b"CLIENT", b"ID", b"x"]),
        b"-ERR wrong number of arguments for 'client|id' command\r\n",
    );
    raw.roundtrip(
        &resp(&[b"CLIENT", b"FOO"]),
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
    );
}

#[test]
fn client_list_has_one_line_per_client_in_id_order() {
    let server = start();
    let mut a = Raw::connect(&server);
    let mut b = Raw::connect(&server);
    let a_id = int_reply(&mut a, &[b"CLIENT", b"ID"]);
    let b_id = int_reply(&mut b, &[b"CLIENT", b"ID"]);
    a.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b"alpha"]), b"+OK\r\n");
    b.roundtrip(&resp(&[b"SELECT", b"4"]), b"+OK\r\n");

    let list = text_reply(&mut a, &[b"CLIENT", b"LIST"]);
    assert!(list.ends_with('\n'), "{list:?}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with(&format!("id={a_id} ")), "{list}");
    assert!(lines[1].starts_with(&format!("id={b_id} ")), "{list}");
    assert!(lines[0].contains(" name=alpha ") && lines[0].contains(" cmd=client|list "));
    assert!(lines[1].contains(" name= ") && lines[1].contains(" db=4 "));
    assert!(lines[1].contains(" cmd=select ") && lines[1].contains(" argv-mem=0 "));
    // The asking client's own arguments: "CLIENT" + "LIST".
    assert!(lines[0].contains(" argv-mem=10 "), "{}", lines[0]);

    // Filters: by type, by ids (given order, unknown ones skipped).
    let normal = text_reply(&mut a, &[b"CLIENT", b"LIST", b"TYPE", b"normal"]);
    assert_eq!(normal.lines().count(), 2);
    let replicas = text_reply(&mut a, &[b"CLIENT", b"LIST", b"TYPE", b"replica"]);
    assert_eq!(replicas, "");
    let b_text = b_id.to_string();
    let a_text = a_id.to_string();
    let by_id = text_reply(
        &mut a,
        &[
            b"CLIENT",
            b"LIST",
            b"ID",
            b_text.as_bytes(),
            b"99999",
            a_text.as_bytes(),
        ],
    );
    let ids: Vec<&str> = by_id
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(ids, [format!("id={b_id}"), format!("id={a_id}")]);

    for (args, error) in [
        (
            &[&b"CLIENT"[..], b"LIST", b"TYPE", b"foo"][..],
            "-ERR Unknown client type 'foo'\r\n",
        ),
        (
            &[b"CLIENT", b"LIST", b"ID", b"x"],
            "-ERR Invalid client ID\r\n",
        ),
        (&[b"CLIENT", b"LIST", b"ID"], "-ERR syntax error\r\n"),
        (&[b"CLIENT", b"LIST", b"foo"], "-ERR syntax error\r\n"),
    ] {
        a.roundtrip(&resp(args), error.as_bytes());
    }
}

#[test]
fn client_info_line_matches_redis_7_format() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b"snap"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"CLIENT", b"NO-EVICT", b"on"]), b"+OK\r\n");
    let info = text_reply(&mut raw, &[b"CLIENT", b"INFO"]);
    assert!(info.ends_with('\n'));
    // Mask what changes from run to run; keep every field name and the
    // values this state determines.
    let masked: Vec<String> = info
        .trim_end()
        .split(' ')
        .map(|field| {
            let (k, v) = field.split_once('=').unwrap();
            match k {
                "id" | "addr" | "laddr" | "fd" | "qbuf-free" | "rbs" | "rbp" | "tot-mem"
                | "age" | "idle" => format!("{k}=<{}>", if v.is_empty() { "empty" } else { "n" }),
                _ => field.to_string(),
            }
        })
        .collect();
    insta::assert_snapshot!(masked.join("\n"));
}

#[test]
fn client_help_lists_the_subcommands() {
    let server = start();
    let mut c = conn(&server);
    let lines: Vec<String> = redis::cmd("CLIENT").arg("HELP").query(&mut c).unwrap();
    insta::assert_snapshot!(lines.join("\n"));
}

// ---------------------------------------------------------------------------
// CLIENT KILL
// ---------------------------------------------------------------------------

/// The `addr=` of the connection `raw` as the server sees it.
fn own_addr(raw: &mut Raw) -> String {
    let info = text_reply(raw, &[b"CLIENT", b"INFO"]);
    let field = info.split(' ').find(|f| f.starts_with("addr=")).unwrap();
    field["addr=".len()..].to_string()
}

#[test]
fn client_kill_by_address_closes_the_victim() {
    let server = start();
    let mut killer = Raw::connect(&server);
    let mut victim = Raw::connect(&server);
    let addr = own_addr(&mut victim);
    killer.roundtrip(&resp(&[b"CLIENT", b"KILL", addr.as_bytes()]), b"+OK\r\n");
    assert!(victim.is_closed());
    killer.roundtrip(
        &resp(&[b"CLIENT", b"KILL", addr.as_bytes()]),
        b"-ERR No such client\r\n",
    );
    killer.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn client_kill_filters_count_and_skip_the_caller() {
    let server = start();
    let mut me = Raw::connect(&server);
    let mut v1 = Raw::connect(&server);
    let mut v2 = Raw::connect(&server);
    let my_id = int_reply(&mut me, &[b"CLIENT", b"ID"]).to_string();
    let v1_id = int_reply(&mut v1, &[b"CLIENT", b"ID"]).to_string();
    let v2_addr = own_addr(&mut v2);

    assert_eq!(
        int_reply(&mut me, &[b"CLIENT", b"KILL", b"ID", v1_id.as_bytes()]),
        1
    );
    assert!(v1.is_closed());
    // SKIPME defaults to yes: killing "my own id" kills nobody.
    assert_eq!(
        int_reply(&mut me, &[b"CLIENT", b"KILL", b"ID", my_id.as_bytes()]),
        0
    );
    // Filters combine: right address, wrong id → nobody.
    assert_eq!(
        int_reply(
            &mut me,
            &[
                b"CLIENT",
                b"KILL",
                b"ADDR",
                v2_addr.as_bytes(),
                b"ID",
                my_id.as_bytes()
            ]
        ),
        0
    );
    assert_eq!(
        int_reply(
            &mut me,
            &[
                b"CLIENT",
                b"KILL",
                b"ADDR",
                v2_addr.as_bytes(),
                b"USER",
                b"default"
            ]
        ),
        1
    );
    assert!(v2.is_closed());

    for (args, error) in [
        (
            &[&b"CLIENT"[..], b"KILL", b"ID", b"0"][..],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"ID", b"x"],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"TYPE", b"foo"],
            "-ERR Unknown client type 'foo'\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"USER", b"bob"],
            "-ERR No such user 'bob'\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"SKIPME", b"maybe"],
            "-ERR syntax error\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"ID", b"5", b"TYPE"],
            "-ERR syntax error\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"a", b"b", b"c"],
            "-ERR syntax error\r\n",
        ),
    ] {
        me.roundtrip(&resp(args), error.as_bytes());
    }

    // SKIPME no: the caller gets its count, then its connection closes.
    me.roundtrip(
        &resp(&[
            b"CLIENT",
            b"KILL",
            b"ID",
            my_id.as_bytes(),
            b"SKIPME",
            b"no",
        ]),
        b":1\r\n",
    );
    assert!(me.is_closed());
}

// ---------------------------------------------------------------------------
// CLIENT PAUSE / UNPAUSE
// ---------------------------------------------------------------------------

#[test]
fn client_pause_write_holds_writes_but_not_reads_until_unpause() {
    let server = start();
    let mut admin = Raw::connect(&server);
    let mut writer = Raw::connect(&server);
    let mut reader = Raw::connect(&server);
    admin.roundtrip(
        &resp(&[b"CLIENT", b"PAUSE", b"60000", b"WRITE"]),
        b"+OK\r\n",
    );

    // The PING's answer proves the server read the SET behind it; the SET
    // itself is held.
    let mut batch = resp(&[b"PING"]);
    batch.extend_from_slice(&resp(&[b"SET", b"k", b"v"]));
    writer.send(&batch);
    assert_eq!(writer.read_exact_len(7), b"+PONG\r\n");
    reader.roundtrip(&resp(&[b"GET", b"k"]), b"$-1\r\n");

    admin.roundtrip(&resp(&[b"CLIENT", b"UNPAUSE"]), b"+OK\r\n");
    assert_eq!(writer.read_exact_len(5), b"+OK\r\n");
    reader.roundtrip(&resp(&[b"GET", b"k"]), b"$1\r\nv\r\n");
}

#[test]
fn clients_held_by_client_pause_count_in_blocked_clients() {
    // Redis 7.0 parks a held client as blocked (BLOCKED_POSTPONE): INFO
    // `blocked_clients` counts it until the pause ends.
    let server = start();
    let mut admin = conn(&server);
    let blocked = |c: &mut redis::Connection| blocked_clients(c) as i64;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(60000)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    let mut reader = Raw::connect(&server);
    reader.roundtrip(&resp(&[b"GET", b"k"]), b"$-1\r\n");
    assert_eq!(blocked(&mut admin), 0, "a read is not held");
    let mut writer = Raw::connect(&server);
    writer.send(&resp(&[b"SET", b"k", b"v"]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked(&mut admin) != 1 {
        assert!(Instant::now() < deadline, "the held SET never counted");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut admin)
        .unwrap();
    assert_eq!(writer.read_exact_len(5), b"+OK\r\n");
    assert_eq!(blocked(&mut admin), 0);
}

#[test]
fn client_list_qbuf_is_the_query_buffer_holding_the_running_command() {
    // `*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n` is 26 bytes, still in the
    // buffer while it runs, as in Redis (which trims after the batch).
    let server = start();
    let mut raw = Raw::connect(&server);
    let line = text_reply(&mut raw, &[b"CLIENT", b"LIST"]);
    assert!(line.contains(" qbuf=26 "), "{line}");
    let line = text_reply(&mut raw, &[b"CLIENT", b"INFO"]);
    assert!(line.contains(" qbuf=26 "), "{line}");
}

#[test]
fn client_pause_ends_by_itself_and_checks_its_arguments() {
    let server = start();
    let mut admin = Raw::connect(&server);
    for (args, error) in [
        (&[&b"CLIENT"[..], b"PAUSE", b"x"][..], "-ERR timeout is not an integer or out of range\r\n"),
        (&[b"CLIENT", b"PAUSE", b"-1"], "-ERR timeout is negative\r\n"),
        (&[b"CLIENT", b"PAUSE", b"10", b"foo"], "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"),
        (&[b"CLIENT", b"PAUSE", b"x", b"foo"], "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"),
        (
            &[b"CLIENT", b"PAUSE", b"10", b"WRITE", b"x"],
            "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n",
        ),
    ] {
        admin.roundtrip(&resp(args), error.as_bytes());
    }
    // A short ALL pause: the held PING is answered once it expires.
    admin.roundtrip(&resp(&[b"CLIENT", b"PAUSE", b"50"]), b"+OK\r\n");
    let mut other = Raw::connect(&server);
    other.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
}

// ---------------------------------------------------------------------------
// CLIENT REPLY, NO-EVICT, RESET
// ---------------------------------------------------------------------------

#[test]
fn client_reply_off_skip_on_as_seen_on_the_wire() {
    let server = start();
    let mut raw = Raw::connect(&server);
    // OFF: nothing at all until ON, whose +OK is sent.
    let mut batch = resp(&[b"CLIENT", b"REPLY", b"OFF"]);
    batch.extend_from_slice(&resp(&[b"SET", b"a", b"1"]));
    batch.extend_from_slice(&resp(&[b"GET", b"a"]));
    batch.extend_from_slice(&resp(&[b"CLIENT", b"REPLY", b"FOO"]));
    batch.extend_from_slice(&resp(&[b"CLIENT", b"REPLY", b"SKIP"]));
    batch.extend_from_slice(&resp(&[b"CLIENT", b"REPLY", b"ON"]));
    batch.extend_from_slice(&resp(&[b"PING"]));
    raw.roundtrip(&batch, b"+OK\r\n+PONG\r\n");

    // SKIP: only the next command's reply is dropped.
    let mut batch = resp(&[b"CLIENT", b"REPLY", b"SKIP"]);
    batch.extend_from_slice(&resp(&[b"SET", b"b", b"2"]));
    batch.extend_from_slice(&resp(&[b"GET", b"b"]));
    raw.roundtrip(&batch, b"$1\r\n2\r\n");

    // The commands ran even though their replies were dropped.
    raw.roundtrip(&resp(&[b"GET", b"a"]), b"$1\r\n1\r\n");
    raw.roundtrip(
        &resp(&[b"CLIENT", b"REPLY", b"FOO"]),
        b"-ERR syntax error\r\n",
    );
}

#[test]
fn client_reply_also_silences_and_counts_rejected_commands() {
    let server = start();
    let mut raw = Raw::connect(&server);
    // Unknown commands and arity errors are replies like any other: OFF
    // drops them, and a SKIP is used up by them.
    let mut batch = resp(&[b"CLIENT", b"REPLY", b"OFF"]);
    batch.extend_from_slice(&resp(&[b"FOO"]));
    batch.extend_from_slice(&resp(&[b"GET"]));
    batch.extend_from_slice(&resp(&[b"CLIENT", b"REPLY", b"ON"]));
    batch.extend_from_slice(&resp(&[b"CLIENT", b"REPLY", b"SKIP"]));
    batch.extend_from_slice(&resp(&[b"FOO"]));
    batch.extend_from_slice(&resp(&[b"PING"]));
    raw.roundtrip(&batch, b"+OK\r\n+PONG\r\n");
}

#[test]
fn client_no_evict_shows_in_the_flags() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"CLIENT", b"NO-EVICT", b"on"]), b"+OK\r\n");
    assert!(text_reply(&mut raw, &[b"CLIENT", b"INFO"]).contains(" flags=e "));
    raw.roundtrip(&resp(&[b"CLIENT", b"NO-EVICT", b"OFF"]), b"+OK\r\n");
    assert!(text_reply(&mut raw, &[b"CLIENT", b"INFO"]).contains(" flags=N "));
    raw.roundtrip(
        &resp(&[b"CLIENT", b"NO-EVICT", b"maybe"]),
        b"-ERR syntax error\r\n",
    );
}

#[test]
fn reset_returns_the_connection_to_its_first_state() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"SELECT", b"3"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"CLIENT", b"SETNAME", b"busy"]), b"+OK\r\n");
    let _ = request(&mut raw, &[b"HELLO", b"3"]);
    // RESET also turns replies back on, and answers itself.
    let mut batch = resp(&[b"CLIENT", b"REPLY", b"OFF"]);
    batch.extend_from_slice(&resp(&[b"RESET"]));
    raw.roundtrip(&batch, b"+RESET\r\n");
    // RESP2 null: the protocol is back to 2 and the name is gone.
    raw.roundtrip(&resp(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");
    let info = text_reply(&mut raw, &[b"CLIENT", b"INFO"]);
    assert!(
        info.contains(" db=0 ") && info.contains(" resp=2"),
        "{info}"
    );
}

#[test]
fn reset_logs_out_when_a_password_is_set() {
    let server = start_with(|c| c.requirepass = Some(b"secret".to_vec()));
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"RESET"]), b"+RESET\r\n");
    raw.roundtrip(&resp(&[b"AUTH", b"secret"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    raw.roundtrip(&resp(&[b"RESET"]), b"+RESET\r\n");
    raw.roundtrip(&resp(&[b"PING"]), b"-NOAUTH Authentication required.\r\n");
}

#[test]
fn ping_and_echo() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    raw.roundtrip(&resp(&[b"PING", b"hi there"]), b"$8\r\nhi there\r\n");
    raw.roundtrip(
        &resp(&[b"PING", b"a", b"b"]),
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    );
    raw.roundtrip(&resp(&[b"ECHO", b""]), b"$0\r\n\r\n");
    raw.roundtrip(
        &resp(&[b"ECHO"]),
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
}

// ---------------------------------------------------------------------------
// The table rows
// ---------------------------------------------------------------------------

/// Arity and flags as `COMMAND INFO` shows them on redis-server 7.0.15
/// (minus `sentinel`, a flag our table does not have).
#[test]
fn table_rows_match_redis_command_info() {
    use redis_anatomy::server::command::flags::NAMES;
    let table = command_table();
    let describe = |name: &str| {
        let (parent, sub) = match name.split_once('|') {
            Some((p, s)) => (p, Some(s)),
            None => (name, None),
        };
        let mut cmd = table.get(parent.as_bytes()).unwrap();
        if let Some(s) = sub {
            cmd = &cmd.subcommands[s.as_bytes()];
        }
        let flags: Vec<&str> = NAMES
            .iter()
            .filter(|(bit, _)| cmd.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        format!("{} {}", cmd.arity(), flags.join(" "))
    };
    let pre_auth = "noscript loading stale fast no_auth allow_busy";
    for (name, expected) in [
        ("ping", "-1 fast".to_string()),
        ("echo", "2 loading stale fast".into()),
        ("hello", format!("-1 {pre_auth}")),
        ("auth", format!("-2 {pre_auth}")),
        ("quit", format!("-1 {pre_auth}")),
        ("reset", format!("1 {pre_auth}")),
        ("select", "2 loading stale fast".into()),
        ("swapdb", "3 write fast".into()),
        ("client", "-2 ".into()),
        ("client|id", "2 noscript loading stale".into()),
        ("client|setname", "3 noscript loading stale".into()),
        ("client|getname", "2 noscript loading stale".into()),
        ("client|info", "2 noscript loading stale".into()),
        ("client|reply", "3 noscript loading stale".into()),
        ("client|getredir", "2 noscript loading stale".into()),
        ("client|list", "-2 admin noscript loading stale".into()),
        ("client|kill", "-3 admin noscript loading stale".into()),
        ("client|pause", "-3 admin noscript loading stale".into()),
        ("client|unpause", "2 admin noscript loading stale".into()),
        ("client|no-evict", "3 admin noscript loading stale".into()),
        ("client|help", "2 loading stale".into()),
    ] {
        assert_eq!(describe(name), expected, "{name}");
    }
}

#[test]
fn client_pause_write_holds_may_replicate_commands_and_exec_of_writes() {
    // PFCOUNT and PUBLISH may replicate (Redis's hidden `may_replicate`
    // flag); an EXEC whose transaction writes is held, one of reads is not.
    let server = start();
    let mut admin = conn(&server);
    let _: i64 = redis::cmd("PFADD")
        .arg("hll")
        .arg("a")
        .query(&mut admin)
        .unwrap();
    let mut tx_read = Raw::connect(&server);
    tx_read.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    tx_read.roundtrip(&resp(&[b"PING"]), b"+QUEUED\r\n");
    let mut tx_write = Raw::connect(&server);
    tx_write.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    tx_write.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+QUEUED\r\n");
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(60000)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();

    tx_read.send(&resp(&[b"EXEC"]));
    assert_eq!(tx_read.read_exact_len(11), b"*1\r\n+PONG\r\n");
    let mut held = Vec::new();
    for args in [
        &[&b"PFCOUNT"[..], b"hll"][..],
        &[b"PUBLISH", b"ch", b"m"],
        &[b"EXEC"],
    ] {
        let mut c = if args[0] == b"EXEC" {
            std::mem::replace(&mut tx_write, Raw::connect(&server))
        } else {
            Raw::connect(&server)
        };
        c.send(&resp(args));
        held.push(c);
    }
    let blocked = |c: &mut redis::Connection| blocked_clients(c) as i64;
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked(&mut admin) != 3 {
        assert!(Instant::now() < deadline, "not all three were held");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut admin)
        .unwrap();
    assert_eq!(held[0].read_exact_len(4), b":1\r\n");
    assert_eq!(held[1].read_exact_len(4), b":0\r\n");
    assert_eq!(held[2].read_exact_len(9), b"*1\r\n+OK\r\n");
}

#[test]
fn the_client_cron_shrinks_an_idle_reply_buffer_and_grows_a_busy_one() {
    // Redis 7.0's replybufsize unit: rbs starts at 16 KiB, an idle client
    // shrinks to 1 KiB, a client filling it doubles back up to 16 KiB.
    let server = start_with(|cfg| {
        cfg.enable_debug_command = redis_anatomy::server::config::ProtectedAction::Yes
    });
    let mut admin = conn(&server);
    let rbs = |admin: &mut redis::Connection| -> usize {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(admin).unwrap();
        let line = list.lines().find(|l| l.contains("name=watched")).unwrap();
        let f = line
            .split(' ')
            .find_map(|f| f.strip_prefix("rbs="))
            .unwrap();
        f.parse().unwrap()
    };
    assert_eq!(
        redis::cmd("DEBUG")
            .arg("REPLYBUFFER")
            .arg("bogus")
            .arg("1")
            .query::<()>(&mut admin)
            .unwrap_err()
            .detail(),
        Some("unknown subcommand or wrong number of arguments for 'replybuffer'. Try DEBUG HELP.")
    );
    let _: () = redis::cmd("DEBUG")
        .arg("REPLYBUFFER")
        .arg("peak-reset-time")
        .arg(100)
        .query(&mut admin)
        .unwrap();
    let mut watched = conn(&server);
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("watched")
        .query(&mut watched)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while rbs(&mut admin) != 1024 {
        assert!(
            Instant::now() < deadline,
            "never shrank: {}",
            rbs(&mut admin)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg("x".repeat(32768))
        .query(&mut admin)
        .unwrap();
    let _: () = redis::cmd("DEBUG")
        .arg("REPLYBUFFER")
        .arg("peak-reset-time")
        .arg("never")
        .query(&mut admin)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let _: String = redis::cmd("GET").arg("big").query(&mut watched).unwrap();
        if rbs(&mut admin) == 16384 {
            break;
        }
        assert!(Instant::now() < deadline, "never grew: {}", rbs(&mut admin));
        std::thread::sleep(Duration::from_millis(20));
    }
}
