//! # Hostile input: fuzzing that runs in `cargo test`
//!
//! A server faces bytes it did not choose. Two generators throw them at an
//! in-process server, each with a fixed budget of cases so the whole file
//! stays within a few seconds of a debug build:
//!
//! 1. **The wire.** Byte strings built from valid frames, truncated frames,
//!    hostile headers (`*2147483647`, `$-5`, `$99999999999`), nested
//!    aggregates, inline lines with unbalanced quotes, NULs and plain noise.
//!    Each one is sent on a fresh connection whose write side is then shut,
//!    and everything the server says until it closes is read back. The
//!    replies must be well-formed RESP; a protocol error must be one of
//!    Redis's texts and the last thing said; the next client is served.
//!    When Debian's `redis-server` is installed the same bytes also go to a
//!    real Redis 7.0 and the two transcripts must be equal byte for byte.
//! 2. **Whole commands.** A generator over the live command table (names,
//!    subcommands and arities from `COMMAND`) with arguments drawn from
//!    sets that break careless code: extreme and malformed numbers, `inf`
//!    and `nan`, empty and binary strings, glob patterns, option keywords,
//!    and the names of keys of every type. Batches run plain or inside
//!    MULTI, in several databases. Every reply is bounded by a read timeout
//!    (a hang fails), and after every batch the server must still answer
//!    PING, DBSIZE and INFO.
//!
//! ## How a panic fails a test
//!
//! The server runs on its own thread, named `redis-anatomy`, and each
//! connection is a tokio task: a panic inside a command unwinds that task
//! only, tokio swallows it, and the server goes on serving everyone else.
//! That is robust but silent, so this file installs a panic hook that
//! records any panic on a server thread, and every check asserts that none
//! happened. (The hook chains to the default one, so the message and
//! backtrace are still printed.)
//!
//! ## The Redis C counterpart
//!
//! Redis fuzzes itself from its Tcl suite: `tests/unit/protocol.tcl`
//! ("Protocol desync regression test", "Out of range multibulk length")
//! and the `corrupt-dump-fuzzer` unit, plus `redis-cli --fuzz`-style
//! ad-hoc tools. Neither runs on every build; this does, within a budget.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

// ---------------------------------------------------------------------
// Panics on the server thread
// ---------------------------------------------------------------------

static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);
static FIRST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Install (once) a hook that counts panics raised on a server thread.
fn watch_server_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("redis-anatomy") {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
                let mut first = FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert_with(|| info.to_string());
            }
            default(info);
        }));
    });
}

fn assert_no_server_panic(context: &str) {
    let n = SERVER_PANICS.load(Ordering::SeqCst);
    if n > 0 {
        let first = FIRST_PANIC
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        panic!("the server panicked {n} time(s), first: {first:?}; after {context}");
    }
}

/// How many cases a generator runs: `default`, or `FUZZ_CASES` for a long
/// hunt (`FUZZ_CASES=20000 cargo test --release --test fuzz`).
fn budget(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------
// A RESP2/RESP3 reader that accepts every reply type
// ---------------------------------------------------------------------

/// One reply, as much as the checks need.
#[derive(Debug)]
enum Frame {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Aggregate(Vec<Frame>),
    /// RESP3 scalars we only need to skip: null, double, boolean, bignum.
    Scalar,
}

fn read_line(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    if !line.ends_with(b"\r\n") {
        return Err(std::io::Error::other(format!(
            "malformed line {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn read_frame(r: &mut impl BufRead) -> std::io::Result<Frame> {
    let line = read_line(r)?;
    let bad = || std::io::Error::other(format!("malformed reply {:?}", text(&line)));
    let (&kind, rest) = line.split_first().ok_or_else(bad)?;
    let rest_text = String::from_utf8_lossy(rest).into_owned();
    let len = || rest_text.parse::<i64>().map_err(|_| bad());
    Ok(match kind {
        b'+' => Frame::Simple(rest_text),
        b'-' => Frame::Error(rest_text),
        b':' => Frame::Integer(len()?),
        b'$' | b'=' | b'!' => {
            let n = len()?;
            if n < 0 {
                Frame::Bulk(None)
            } else {
                let mut body = vec![0u8; n as usize + 2];
                r.read_exact(&mut body)?;
                if !body.ends_with(b"\r\n") {
                    return Err(bad());
                }
                body.truncate(n as usize);
                if kind == b'!' {
                    Frame::Error(String::from_utf8_lossy(&body).into_owned())
                } else {
                    Frame::Bulk(Some(body))
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = len()?;
            let items = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut out = Vec::new();
            for _ in 0..items.max(0) {
                out.push(read_frame(r)?);
            }
            if kind == b'|' {
                // An attribute precedes the reply it annotates.
                return read_frame(r);
            }
            Frame::Aggregate(out)
        }
        b'_' | b',' | b'#' | b'(' => Frame::Scalar,
        _ => return Err(bad()),
    })
}

// ---------------------------------------------------------------------
// 1. The wire
// ---------------------------------------------------------------------

/// Every protocol error Redis 7.0 sends (networking.c), without `-ERR `.
const PROTOCOL_ERRORS: &[&str] = &[
    "Protocol error: invalid multibulk length",
    "Protocol error: invalid bulk length",
    "Protocol error: unbalanced quotes in request",
    "Protocol error: too big inline request",
    "Protocol error: too big mbulk count string",
    "Protocol error: too big bulk count string",
    "Protocol error: unauthenticated multibulk length",
    "Protocol error: unauthenticated bulk length",
];

fn is_protocol_error(e: &str) -> bool {
    let Some(msg) = e.strip_prefix("ERR ") else {
        return false;
    };
    PROTOCOL_ERRORS.contains(&msg)
        || (msg.starts_with("Protocol error: expected '$', got '") && msg.ends_with('\''))
}

/// One piece of a hostile byte string.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let small_bytes = prop::collection::vec(any::<u8>(), 0..12);
    let word = prop::sample::select(vec![
        &b"PING"[..],
        b"ping",
        b"ECHO",
        b"GET",
        b"SET",
        b"fz",
        b"",
        b"x y",
        b"\"",
        b"'",
        b"\\x41",
        b"\r\n",
        b"\0",
    ]);
    prop_oneof![
        // Valid frames.
        3 => prop::collection::vec(word.clone(), 1..4).prop_map(|w| {
            let mut v: Vec<&[u8]> = vec![b"ECHO"];
            v.extend(w.iter().take(1));
            resp(&v)
        }),
        2 => Just(resp(&[b"PING"])),
        1 => small_bytes.clone().prop_map(|b| resp(&[b"SET", b"fz", &b])),
        2 => Just(b"PING\r\n".to_vec()),
        1 => Just(b"ECHO hi\n".to_vec()),
        // Truncated frames: a prefix of a valid one.
        2 => (small_bytes.clone(), any::<prop::sample::Index>()).prop_map(|(b, cut)| {
            let f = resp(&[b"ECHO", &b]);
            f[..cut.index(f.len())].to_vec()
        }),
        // Hostile headers and lengths.
        3 => prop::sample::select(vec![
            &b"*2147483647\r\n"[..],
            b"*2147483648\r\n",
            b"*-5\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"*\r\n",
            b"*01\r\n",
            b"* 1\r\n",
            b"*1\n",
            b"*1\r\n$-5\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$99999999999\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$100000\r\n",
            b"*1\r\n$04\r\n",
            b"*1\r\n$+4\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\nx\r\n",
            b"*1\r\n*1\r\n$1\r\na\r\n",
            b"*2\r\n$4\r\nECHO\r\n$1\r\nabc\r\n",
            b"$3\r\nfoo\r\n",
            b":1\r\n",
            b"+PING\r\n",
            b"-x\r\n",
        ]).prop_map(|b| b.to_vec()),
        // Inline lines with quoting trouble.
        2 => prop::sample::select(vec![
            &b"set k \"abc\r\n"[..],
            b"set k 'abc\r\n",
            b"set k \"a\"b\r\n",
            b"echo \"\\x4\"\r\n",
            b"echo \"\\xzz\"\r\n",
            b"echo 'a\\'b'\r\n",
            b"echo \"a\\\"b\"\r\n",
            b"   \r\n",
            b"\r\n",
            b"\n",
            b"PING\rPING\r\n",
            b"PING\0\r\n",
            b"\0\r\n",
        ]).prop_map(|b| b.to_vec()),
        // Noise.
        2 => small_bytes,
    ]
}

fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 1..6).prop_map(|ps| ps.concat())
}

/// Send `input` on a fresh connection, shut the write side, and read all
/// the server says until it closes.
fn transcript(addr: std::net::SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(input).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        // A close with unread input in the server's socket is a reset.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!(
            "no close within 10 s (a hang?) for {:?}: {e}; got {:?}",
            text(input),
            text(&out)
        ),
    }
    out
}

/// The checks that need no reference server.
fn check_transcript(input: &[u8], out: &[u8]) -> Result<(), TestCaseError> {
    let mut r = BufReader::new(out);
    let mut frames = Vec::new();
    while !r.fill_buf().unwrap().is_empty() {
        match read_frame(&mut r) {
            Ok(f) => frames.push(f),
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "{e} in the reply to {:?}: {:?}",
                    text(input),
                    text(out)
                )))
            }
        }
    }
    for (i, f) in frames.iter().enumerate() {
        if let Frame::Error(e) = f {
            if e.starts_with("ERR Protocol error") {
                prop_assert!(is_protocol_error(e), "unknown protocol error {e:?}");
                prop_assert_eq!(i, frames.len() - 1, "a reply after {:?}", e);
            }
        }
    }
    Ok(())
}

#[test]
fn hostile_bytes_get_well_formed_replies_and_never_hurt_the_server() {
    watch_server_panics();
    let server = start();
    // Compared byte for byte with Debian's real Redis when it is installed.
    let real_dir = scratch_dir();
    let real = interop_tool("redis-server").map(|_| RealRedis::start(&real_dir, &[]));
    let mut runner = TestRunner::new(ProptestConfig {
        cases: budget(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&hostile_input(), |input| {
            let ours = transcript(server.addr, &input);
            assert_no_server_panic(&format!("{:?}", text(&input)));
            check_transcript(&input, &ours)?;
            if let Some(real) = &real {
                let theirs = transcript(real.addr(), &input);
                prop_assert_eq!(
                    text(&ours),
                    text(&theirs),
                    "transcripts differ for {:?}",
                    text(&input)
                );
            }
            Ok(())
        })
        .unwrap();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n");
    assert_no_server_panic("the last case");
}

#[test]
fn protocol_errors_match_redis_byte_for_byte_and_close_the_connection() {
    watch_server_panics();
    let server = start();
    // Each input, and exactly what Redis 7.0.15 answers before closing.
    for (input, reply) in [
        (
            &b"*2147483648\r\n"[..],
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*01\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1 \r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\n$4\r\nPING\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$99999999999\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$04\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$4\nPING\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\nx\r\n",
            "-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"*1\r\n*1\r\n",
            "-ERR Protocol error: expected '$', got '*'\r\n",
        ),
        (
            b"set k \"abc\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"set k 'abc\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"set k \"a\"b\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\n*1\r\n$-5\r\n",
            "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        ),
    ] {
        let mut raw = Raw::connect(&server);
        raw.send(input);
        // Nothing after the error: the server closes once it is written.
        let got = raw.read_exact_len(usize::MAX);
        assert_eq!(text(&got), reply, "for {:?}", text(input));
    }
    // Too long a line without its newline, in each of the three places.
    for (prefix, error) in [
        (&b""[..], "too big inline request"),
        (b"*", "too big mbulk count string"),
        (b"*1\r\n$", "too big bulk count string"),
    ] {
        let mut raw = Raw::connect(&server);
        let mut input = prefix.to_vec();
        input.resize(70_000, b'1');
        raw.send(&input);
        let got = raw.read_exact_len(usize::MAX);
        assert_eq!(text(&got), format!("-ERR Protocol error: {error}\r\n"));
    }
    assert_no_server_panic("the protocol errors");
}

// ---------------------------------------------------------------------
// 2. Whole commands against the command table
// ---------------------------------------------------------------------

/// Commands the generator never sends, and why. Everything else in the
/// table is fair game, including FLUSHALL, SWAPDB, MULTI and RESET.
const EXCLUDED: &[(&str, &str)] = &[
    ("shutdown", "stops the server"),
    (
        "debug",
        "SLEEP, SEGFAULT, RELOAD...: stops or stalls the server by design",
    ),
    (
        "monitor",
        "turns the connection into a stream: no more one reply per command",
    ),
    (
        "subscribe",
        "RESP2 subscribed mode changes what the connection may do",
    ),
    ("psubscribe", "as SUBSCRIBE"),
    ("ssubscribe", "as SUBSCRIBE"),
    ("sync", "turns the connection into a replication stream"),
    ("psync", "as SYNC"),
    (
        "replicaof",
        "would make the server a replica of a random address",
    ),
    ("slaveof", "as REPLICAOF"),
    ("failover", "replication"),
    ("migrate", "connects to other servers"),
    ("quit", "closes the connection by design"),
    ("client|kill", "may close the fuzzing connection itself"),
    ("client|pause", "stops the server from answering by design"),
    (
        "client|reply",
        "OFF/SKIP suppress replies the checker waits for",
    ),
    ("client|tracking", "sends out-of-band invalidation pushes"),
    (
        "config|set",
        "could set maxclients, requirepass, port, dir...",
    ),
    ("acl", "could lock the fuzzing connection out"),
    ("auth", "harmless, but with no password it only ever errors"),
    ("bgsave", "forks the test process, which has many threads"),
    ("bgrewriteaof", "as BGSAVE"),
    (
        "save",
        "writes the whole dataset each time: slow, proves nothing here",
    ),
    (
        "pfselftest",
        "a self-test that runs for a second in Redis, half a minute in a debug build",
    ),
    (
        "unsubscribe",
        "one reply per channel named: the checker reads one per command",
    ),
    ("punsubscribe", "as UNSUBSCRIBE"),
    ("sunsubscribe", "as UNSUBSCRIBE"),
    ("blpop", "blocks with timeout 0 forever by design"),
    ("brpop", "as BLPOP"),
    ("blmove", "as BLPOP"),
    ("brpoplpush", "as BLPOP"),
    ("blmpop", "as BLPOP"),
    ("bzpopmin", "as BLPOP"),
    ("bzpopmax", "as BLPOP"),
    ("bzmpop", "as BLPOP"),
    ("wait", "waits for replicas that do not exist"),
    ("xread", "BLOCK 0 blocks forever"),
    ("xreadgroup", "as XREAD"),
];

/// Option keywords of the commands in the table (one set for all: a
/// keyword in the wrong command must be refused just as well).
const KEYWORDS: &[&str] = &[
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "KEEPTTL",
    "GET",
    "PERSIST",
    "WITHSCORES",
    "WITHSCORE",
    "LIMIT",
    "BYSCORE",
    "BYLEX",
    "REV",
    "MATCH",
    "COUNT",
    "TYPE",
    "STORE",
    "ASC",
    "DESC",
    "ALPHA",
    "BY",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "REPLACE",
    "ABSTTL",
    "IDLETIME",
    "FREQ",
    "RANK",
    "MAXLEN",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "WITHVALUES",
    "DB",
    "SAMPLES",
    "ASYNC",
    "SYNC",
    "BIT",
    "BYTE",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "OVERFLOW",
    "WRAP",
    "SAT",
    "FAIL",
    "u8",
    "i64",
    "u63",
    "i65",
    "#1",
    "ID",
    "ADDR",
    "LADDR",
    "USER",
    "SKIPME",
    "ON",
    "OFF",
    "NOW",
    "ALL",
    "WRITE",
    "NOSAVE",
    "FORCE",
    "ABORT",
    "SCHEDULE",
    "WITHCODE",
    "LIBRARYNAME",
    "HELP",
    "NUMSUB",
    "CHANNELS",
    "RESET",
    "DICT",
    "EVENTS",
    "ENCODING",
];

/// Key names the generator uses; each batch starts by giving the first
/// ones a value of each type.
const KEYS: &[&str] = &[
    "str", "int", "list", "biglist", "hash", "bighash", "set", "intset", "zset", "bigzset", "hll",
    "nokey", "{str}x",
];

fn seed_keys(w: &mut Wire) {
    let mut big = vec!["biglist".to_string()];
    big.extend((0..200).map(|i| format!("element-{i}-{}", "x".repeat(i % 70))));
    let mut big_hash = vec!["bighash".to_string()];
    let mut big_zset = vec!["bigzset".to_string()];
    for i in 0..150 {
        big_hash.push(format!("f{i}"));
        big_hash.push("y".repeat(i));
        big_zset.push(format!("{}.5", i as i64 - 75));
        big_zset.push(format!("m{i}"));
    }
    let seeds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "str".into(), "hello world".into()],
        vec!["SET".into(), "int".into(), "12345".into()],
        vec![
            "RPUSH".into(),
            "list".into(),
            "a".into(),
            "b".into(),
            "1".into(),
            "".into(),
        ],
        [vec!["RPUSH".to_string()], big[..].to_vec()].concat(),
        vec![
            "HSET".into(),
            "hash".into(),
            "f".into(),
            "v".into(),
            "n".into(),
            "7".into(),
        ],
        [vec!["HSET".to_string()], big_hash].concat(),
        vec![
            "SADD".into(),
            "set".into(),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        vec![
            "SADD".into(),
            "intset".into(),
            "1".into(),
            "-2".into(),
            "300000".into(),
        ],
        vec![
            "ZADD".into(),
            "zset".into(),
            "1".into(),
            "a".into(),
            "2".into(),
            "b".into(),
        ],
        [vec!["ZADD".to_string()], big_zset].concat(),
        vec!["PFADD".into(), "hll".into(), "a".into(), "b".into()],
    ];
    for s in seeds {
        let words: Vec<&[u8]> = s.iter().map(|w| w.as_bytes()).collect();
        w.send(&words);
    }
    for _ in 0..11 {
        read_frame(&mut w.reader).expect("seed reply");
    }
}

/// A command from the table: its name (or `parent|sub`) and arity.
#[derive(Clone, Debug)]
struct Command {
    words: Vec<String>,
    arity: i64,
}

fn command_table(w: &mut Wire) -> Vec<Command> {
    fn entries(frames: &[Frame], out: &mut Vec<Command>) {
        for f in frames {
            let Frame::Aggregate(fields) = f else {
                continue;
            };
            let (Some(Frame::Bulk(Some(name))), Some(Frame::Integer(arity))) =
                (fields.first(), fields.get(1))
            else {
                continue;
            };
            let name = String::from_utf8_lossy(name).to_lowercase();
            // The tenth field lists the subcommands, in the same shape.
            let subs = match fields.get(9) {
                Some(Frame::Aggregate(subs)) if !subs.is_empty() => subs,
                _ => {
                    out.push(Command {
                        words: name.split('|').map(str::to_string).collect(),
                        arity: *arity,
                    });
                    continue;
                }
            };
            // A container (CLIENT, CONFIG...) is also sent bare, to hit
            // its arity and unknown-subcommand errors.
            out.push(Command {
                words: vec![name.clone()],
                arity: *arity,
            });
            entries(subs, out);
        }
    }
    let Frame::Aggregate(all) = ({
        w.send(&[b"COMMAND"]);
        read_frame(&mut w.reader).unwrap()
    }) else {
        panic!("COMMAND is not an array");
    };
    let mut out = Vec::new();
    entries(&all, &mut out);
    let excluded = |c: &Command| {
        EXCLUDED
            .iter()
            .any(|(name, _)| *name == c.words[0] || *name == c.words.join("|"))
    };
    out.retain(|c| !excluded(c));
    assert!(out.len() > 100, "only {} commands in the table", out.len());
    out
}

/// An argument from the interesting sets.
fn argument() -> impl Strategy<Value = Vec<u8>> {
    let numbers = prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "2",
        "-2",
        "3",
        "5",
        "10",
        "-10",
        "100",
        "-100",
        "1000",
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "4294967296",
        "-4294967296",
        "99999999999999999999999",
        "4611686018427387904",
        "-4611686018427387904",
    ]);
    let malformed = prop::sample::select(vec![
        "inf",
        "-inf",
        "+inf",
        "nan",
        "-nan",
        "NaN",
        "1e308",
        "1e400",
        "-1e400",
        "1.5",
        "-0",
        "0.0",
        "3.14",
        "1e3",
        "0x10",
        " 1",
        "1 ",
        "+1",
        "01",
        "1,5",
        "(1",
        "(-inf",
        "[a",
        "(a",
        "-",
        "+",
        "[",
        "(",
        "1.7976931348623157e308",
        "4.9e-324",
        "",
    ]);
    let patterns = prop::sample::select(vec![
        "*",
        "?",
        "[a-",
        "[^a]*",
        "\\",
        "h*llo",
        "*a*a*a*a*a*a*a*a*a*b",
        "[z-a]",
        "\\*",
        "element-1*",
        "f1?",
        "m[0-9]",
    ]);
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(|k| k.as_bytes().to_vec()),
        4 => numbers.prop_map(|n| n.as_bytes().to_vec()),
        3 => (-5i64..300).prop_map(|n| n.to_string().into_bytes()),
        3 => malformed.prop_map(|n| n.as_bytes().to_vec()),
        3 => prop::sample::select(KEYWORDS).prop_map(|k| k.as_bytes().to_vec()),
        2 => patterns.prop_map(|p| p.as_bytes().to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..24),
        1 => prop::sample::select(vec!["a", "b", "f", "m1", "element-3-xxx", "v"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => (0usize..3000).prop_map(|n| vec![b'z'; n]),
    ]
}

/// One command line: a table entry with an arity that is usually right
/// and sometimes wrong, and arguments from [`argument`].
fn command_line(table: Vec<Command>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        prop::sample::select(table),
        0usize..4,
        prop::bool::weighted(0.1),
        prop::collection::vec(argument(), 12),
    )
        .prop_map(|(cmd, extra, wrong_arity, pool)| {
            let min = cmd.arity.unsigned_abs() as usize;
            let total = if wrong_arity {
                extra + cmd.words.len() // too few, or a random count
            } else if cmd.arity > 0 {
                min
            } else {
                min + extra
            };
            let mut line: Vec<Vec<u8>> = cmd.words.iter().map(|w| w.clone().into_bytes()).collect();
            let mut pool = pool.into_iter().cycle();
            while line.len() < total.max(1) {
                line.push(pool.next().unwrap());
            }
            line
        })
}

#[derive(Debug, Clone)]
struct Batch {
    db: u8,
    in_multi: bool,
    lines: Vec<Vec<Vec<u8>>>,
}

fn batch(table: Vec<Command>) -> impl Strategy<Value = Batch> {
    (
        0u8..3,
        prop::bool::weighted(0.3),
        prop::collection::vec(command_line(table), 1..12),
    )
        .prop_map(|(db, in_multi, lines)| Batch {
            db,
            in_multi,
            lines,
        })
}

fn show(line: &[Vec<u8>]) -> String {
    line.iter().map(|w| text(w)).collect::<Vec<_>>().join(" ")
}

/// Send one command and read its one reply, or fail on a timeout.
fn exchange(w: &mut Wire, line: &[Vec<u8>]) -> Result<Frame, TestCaseError> {
    let words: Vec<&[u8]> = line.iter().map(|a| &a[..]).collect();
    if std::env::var_os("FUZZ_TRACE").is_some() {
        eprintln!("> {}", show(line));
    }
    w.send(&words);
    read_frame(&mut w.reader).map_err(|e| {
        TestCaseError::fail(format!(
            "no reply to {:?} (hang or bad reply): {e}",
            show(line)
        ))
    })
}

fn health_check(w: &mut Wire, context: &str) -> Result<(), TestCaseError> {
    assert_no_server_panic(context);
    // RESET leaves MULTI, WATCH, RESP3 and the selected db behind.
    let reset = exchange(w, &[b"RESET".to_vec()])?;
    prop_assert!(
        matches!(reset, Frame::Simple(ref s) if s == "RESET"),
        "{reset:?}"
    );
    let pong = exchange(w, &[b"PING".to_vec()])?;
    prop_assert!(
        matches!(pong, Frame::Simple(ref s) if s == "PONG"),
        "{pong:?}"
    );
    let size = exchange(w, &[b"DBSIZE".to_vec()])?;
    prop_assert!(matches!(size, Frame::Integer(n) if n >= 0), "{size:?}");
    let info = exchange(w, &[b"INFO".to_vec()])?;
    prop_assert!(
        matches!(info, Frame::Bulk(Some(ref b)) if b.starts_with(b"# Server")),
        "{info:?}"
    );
    Ok(())
}

#[test]
fn random_command_lines_never_panic_or_hang_the_server() {
    watch_server_panics();
    let server = start();
    let mut w = Wire::connect(&server);
    w.set_read_timeout(Some(Duration::from_secs(10)));
    let table = command_table(&mut w);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: budget(150),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&batch(table), |b| {
            // A fresh connection per case, so a shrinking run starts clean.
            let mut w = Wire::connect(&server);
            w.set_read_timeout(Some(Duration::from_secs(10)));
            exchange(&mut w, &[b"SELECT".to_vec(), b.db.to_string().into_bytes()])?;
            seed_keys(&mut w);
            if b.in_multi {
                exchange(&mut w, &[b"MULTI".to_vec()])?;
            }
            for line in &b.lines {
                exchange(&mut w, line)?;
                assert_no_server_panic(&show(line));
            }
            if b.in_multi {
                exchange(&mut w, &[b"EXEC".to_vec()])?;
            }
            let all: Vec<String> = b.lines.iter().map(|l| show(l)).collect();
            health_check(&mut w, &all.join(" ; "))?;
            // A second client is served too.
            let mut fresh = Wire::connect(&server);
            fresh.set_read_timeout(Some(Duration::from_secs(10)));
            prop_assert_eq!(fresh.cmd("PING"), "+PONG\r\n");
            Ok(())
        })
        .unwrap();
}
