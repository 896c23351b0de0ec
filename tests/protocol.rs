//! The RESP layer through real sockets: pipelining, inline commands, split
//! frames and hostile lengths.

mod common;
use common::*;

#[test]
fn get_and_set_through_the_redis_crate() {
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    let missing: Option<String> = redis::cmd("GET").arg("nope").query(&mut c).unwrap();
    assert_eq!(missing, None);
}

#[test]
fn a_pipeline_of_thousands_gets_every_reply_in_order() {
    let server = start();
    let mut c = conn(&server);
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    for i in 0..5000 {
        pipe.cmd("GET").arg(format!("k{i}"));
    }
    let values: Vec<i64> = pipe.query(&mut c).unwrap();
    assert_eq!(values, (0..5000).collect::<Vec<_>>());
}

/// Replies past 1 MB that pile up while the client is not reading: more
/// blocks than one `writev` takes, written partly by the client's task as
/// the socket drains and partly at the end of a turn of the loop. The
/// client sends the whole pipeline and reads nothing until every command
/// has run, so the socket is full and megabytes wait in reply blocks.
#[test]
fn replies_that_piled_up_past_a_megabyte_arrive_whole() {
    let server = start();
    let mut c = conn(&server);
    let value = vec![b'v'; 1000];
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&value[..])
        .query(&mut c)
        .unwrap();
    let processed = |c: &mut redis::Connection| info_number(c, "stats", "total_commands_processed");
    let mut raw = Raw::connect(&server);
    let gets = 5000;
    let before = processed(&mut c);
    raw.send(&b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(gets));
    // Every GET has run (the INFO calls themselves count too).
    eventually("the pipeline to run", || {
        processed(&mut c) >= before + gets as u64
    });
    let one = [&b"$1000\r\n"[..], &value, b"\r\n"].concat();
    let got = raw.read_exact_len(one.len() * gets);
    assert!(got.chunks(one.len()).all(|r| r == one));
}

#[test]
fn a_frame_split_byte_by_byte_is_one_command() {
    let server = start();
    let mut raw = Raw::connect(&server);
    let frame = resp(&[b"SET", b"split", b"hello world"]);
    for b in &frame {
        raw.send(&[*b]);
    }
    assert_eq!(raw.read_exact_len(5), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"GET", b"split"]), b"$11\r\nhello world\r\n");
}

#[test]
fn inline_commands_understand_quotes() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n");
    raw.roundtrip(b"set k \"a b\\x41\"\r\n", b"+OK\r\n");
    raw.roundtrip(b"get k\n", b"$4\r\na bA\r\n");
    raw.roundtrip(b"\r\n\r\nPING\r\n", b"+PONG\r\n");
}

#[test]
fn unbalanced_quotes_are_a_protocol_error_that_closes_the_connection() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        b"set k \"abc\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    assert!(raw.is_closed());
    // Other clients are unaffected.
    let mut other = Raw::connect(&server);
    other.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn hostile_lengths_get_redis_errors_and_allocate_nothing_big() {
    let server = start();
    for (input, error) in [
        (
            &b"*1\r\n$-1\r\n"[..],
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$536870913\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*2147483648\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*x\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            "-ERR Protocol error: expected '$', got '+'\r\n",
        ),
    ] {
        let mut raw = Raw::connect(&server);
        raw.roundtrip(input, error.as_bytes());
        assert!(raw.is_closed(), "{input:?} should close the connection");
    }
    // A huge declared count with no arguments behind it is just waited for:
    // the server reserved a bounded amount and still answers others.
    let mut waiting = Raw::connect(&server);
    waiting.send(b"*2147483647\r\n$1\r\na\r\n");
    let mut other = Raw::connect(&server);
    other.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn unknown_commands_and_wrong_arity_use_redis_wording() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        &resp(&[b"FOO", b"bar", b"baz"]),
        b"-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
    );
    raw.roundtrip(
        &resp(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
}

#[test]
fn a_client_past_the_query_buffer_limit_is_disconnected_and_others_are_not() {
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-query-buffer-limit")
        .arg("1mb")
        .query(&mut c)
        .unwrap();
    // A 4 MB argument is within proto-max-bulk-len but not within the
    // query buffer limit: the server drops the client before it is whole.
    let mut raw = Raw::connect(&server);
    raw.send(b"*2\r\n$3\r\nGET\r\n$4194304\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut dropped = false;
    for _ in 0..64 {
        use std::io::Write;
        if raw.stream.write_all(&chunk).is_err() {
            dropped = true;
            break;
        }
    }
    assert!(
        dropped || raw.is_closed(),
        "the client should be disconnected"
    );
    // Nothing was replied to it, and the server goes on.
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn before_auth_only_small_requests_are_parsed() {
    let server = start_with(|c| c.requirepass = Some(b"secret".to_vec()));
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    assert!(raw.is_closed());
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        b"*1\r\n$16385\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    assert!(raw.is_closed());
}

/// Send `input`, shut the write side, and return all the server says
/// until it closes.
fn transcript(server: &redis_anatomy::server::ServerHandle, input: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut raw = Raw::connect(server);
    raw.stream.write_all(input).unwrap();
    raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    raw.stream.read_to_end(&mut out).unwrap();
    out
}

/// Redis finds the end of a header or inline line with `strchr`, which
/// stops at a NUL byte: a line with a NUL before its newline is never
/// complete, and the client waits (until the 64 KB inline limit).
#[test]
fn a_nul_before_the_newline_leaves_the_line_incomplete_as_in_redis() {
    let server = start();
    for input in [&b"PING\0\r\n"[..], b"\0\r\n", b"*1\0\r\n$4\r\nPING\r\n"] {
        assert_eq!(text(&transcript(&server, input)), "", "for {input:?}");
    }
    // The 64 KB limit still ends it.
    let mut input = b"PING\0\r\n".to_vec();
    input.resize(70_000, b'x');
    assert_eq!(
        text(&transcript(&server, &input)),
        "-ERR Protocol error: too big inline request\r\n"
    );
}

/// Errors that quote the client's bytes quote them verbatim, as Redis's
/// `%s` and `%c` do: byte 0x80 is sent back as one byte 0x80, not as the
/// two bytes of U+0080 or the three of U+FFFD.
#[test]
fn errors_quote_the_clients_bytes_verbatim() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        &resp(&[b"\x80\xff", b"a\xfe"]),
        b"-ERR unknown command '\x80\xff', with args beginning with: 'a\xfe' \r\n",
    );
    raw.roundtrip(
        &resp(&[b"CONFIG", b"\xc3"]),
        b"-ERR unknown subcommand '\xc3'. Try CONFIG HELP.\r\n",
    );
    raw.roundtrip(
        b"\x80x\r\n",
        b"-ERR unknown command '\x80x', with args beginning with: \r\n",
    );
    assert_eq!(
        transcript(&server, b"*1\r\n\x80\r\n"),
        b"-ERR Protocol error: expected '$', got '\x80'\r\n"
    );
}

fn used_memory(c: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

/// A client that declares a 512 MB bulk and sends nothing more costs what
/// it sent, not what it declared. (Redis 7.0 reserves the declared length
/// at once: used_memory jumps by 640 MB per such client.)
#[test]
fn a_declared_but_unsent_bulk_allocates_nothing_big() {
    let server = start();
    let mut admin = conn(&server);
    let before = used_memory(&mut admin);
    let mut waiting = Vec::new();
    for _ in 0..4 {
        let mut raw = Raw::connect(&server);
        raw.send(b"*1\r\n$536870912\r\n");
        waiting.push(raw);
    }
    // Wait until the server has read all four headers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
        if list.matches(" qbuf=16 ").count() == 4 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let grown = used_memory(&mut admin) - before;
    // 2 GB were declared; allow generous noise from tests running alongside.
    assert!(grown < 256 << 20, "used_memory grew by {grown} bytes");
    // The declared bulk can still arrive and run.
    let mut raw = Raw::connect(&server);
    let value = vec![b'v'; 3 << 20];
    raw.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len()).as_bytes());
    raw.send(&value);
    raw.roundtrip(b"\r\n", b"+OK\r\n");
    raw.roundtrip(&resp(&[b"STRLEN", b"big"]), b":3145728\r\n");
}

/// A client that sends its last commands and closes its side at once gets
/// the replies written just before the server closes (Redis writes them
/// before it reads the end of file), and those bytes count in INFO like any
/// others. The input is exactly 16 KiB, what the first read offers: a read
/// that fills its buffer does not tell the runtime the socket is drained,
/// so the connection reads again at once and finds the end of file before
/// the end-of-turn writer has run. That is the path this pins.
#[test]
fn replies_written_just_before_closing_count_in_info() {
    let server = start();
    let mut c = conn(&server);
    // 2,726 inline PINGs of 6 bytes and 4 of 7 ("PING \r\n"): 16,384 bytes.
    let mut input = b"PING\r\n".repeat(2726);
    input.extend_from_slice(&b"PING \r\n".repeat(4));
    assert_eq!(input.len(), 16 * 1024);
    let before = info_number(&mut c, "stats", "total_net_output_bytes");
    let reply = transcript(&server, &input);
    assert_eq!(reply, b"+PONG\r\n".repeat(2730));
    let after = info_number(&mut c, "stats", "total_net_output_bytes");
    assert!(
        after - before >= reply.len() as u64,
        "{} bytes counted for {} bytes of replies",
        after - before,
        reply.len()
    );
}
