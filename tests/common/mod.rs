//! Shared test support: an in-process server on port 0, and clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use redis_anatomy::server::{spawn, Config, ServerHandle};

pub mod datasets;

/// A server on a free loopback port, stopped when dropped.
pub fn start() -> ServerHandle {
    start_with(|_| {})
}

/// A server with some configuration changed first.
pub fn start_with(f: impl FnOnce(&mut Config)) -> ServerHandle {
    // No save points and a private directory: a test's FLUSHALL or
    // SHUTDOWN must not write dump.rdb into the crate, and no server may
    // start by loading another test's file.
    let mut config = Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        save: Vec::new(),
        dir: scratch_dir(),
        ..Config::default()
    };
    f(&mut config);
    spawn(config).expect("server starts")
}

/// A new empty directory under the system temp dir, unique per call.
pub fn scratch_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(sweep_dead_scratch_dirs);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("anatomy-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Removes the scratch directories of earlier test processes that have
/// exited. A test cannot clean up after itself reliably (a failing test
/// panics past its cleanup, and a server may still be writing into its
/// directory as the test ends), so each test binary sweeps once, at its
/// first scratch dir, what dead processes left: `anatomy-test-<pid>-<n>`
/// whose `<pid>` has no `/proc` entry. Directories of test binaries running
/// in parallel are alive and left alone.
fn sweep_dead_scratch_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("anatomy-test-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A `redis` crate connection (RESP2).
pub fn conn(server: &ServerHandle) -> redis::Connection {
    let client = redis::Client::open(format!("redis://{}/", server.addr)).unwrap();
    let conn = client.get_connection().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn
}

/// A raw socket, for protocol edge cases.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub fn connect(server: &ServerHandle) -> Raw {
        let stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Raw { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Read until `expected` bytes have arrived (or the peer closes) and
    /// return what came.
    pub fn read_exact_len(&mut self, expected: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        while out.len() < expected {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => panic!("read failed after {:?}: {e}", String::from_utf8_lossy(&out)),
            }
        }
        out
    }

    /// Send `bytes` and read a reply of exactly `expected`'s length;
    /// assert it equals `expected`.
    pub fn roundtrip(&mut self, bytes: &[u8], expected: &[u8]) {
        self.send(bytes);
        let got = self.read_exact_len(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "reply to {:?}",
            String::from_utf8_lossy(bytes)
        );
    }

    /// True once the server has closed the connection (reads 0 bytes).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        matches!(self.stream.read(&mut buf), Ok(0))
    }
}

/// Encode a command as RESP.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A raw RESP connection that reads exactly one reply per command and
/// returns it as text, so tests compare reply types and errors exactly.
pub struct Wire {
    pub writer: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl Wire {
    pub fn connect(server: &ServerHandle) -> Wire {
        let writer = Raw::connect(server).stream;
        let reader = BufReader::new(writer.try_clone().unwrap());
        Wire { writer, reader }
    }

    pub fn resp3(server: &ServerHandle) -> Wire {
        let mut w = Wire::connect(server);
        w.writer.write_all(&resp(&[b"HELLO", b"3"])).unwrap();
        let mut skip = String::new();
        w.read_reply(&mut skip);
        w
    }

    pub fn call(&mut self, words: &[&[u8]]) -> String {
        self.send(words);
        self.reply()
    }

    pub fn send(&mut self, words: &[&[u8]]) {
        self.writer.write_all(&resp(words)).unwrap();
    }

    pub fn reply(&mut self) -> String {
        let mut out = String::new();
        self.read_reply(&mut out);
        out
    }

    /// `cmd("LPUSH k a")`: split on spaces.
    pub fn cmd(&mut self, line: &str) -> String {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.call(&words)
    }

    pub fn read_reply(&mut self, out: &mut String) {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        out.push_str(&line);
        let len: i64 = line[1..].trim_end().parse().unwrap_or(0);
        match line.as_bytes()[0] {
            b'$' if len >= 0 => {
                let mut body = vec![0u8; len as usize + 2];
                self.reader.read_exact(&mut body).unwrap();
                out.push_str(&text(&body));
            }
            b'*' | b'~' | b'>' => {
                for _ in 0..len.max(0) {
                    self.read_reply(out);
                }
            }
            b'%' => {
                for _ in 0..2 * len.max(0) {
                    self.read_reply(out);
                }
            }
            _ => {}
        }
    }

    pub fn set_read_timeout(&mut self, t: Option<Duration>) {
        self.writer.set_read_timeout(t).unwrap();
    }
}

/// Bytes as text, with non-ASCII bytes shown as `\xNN` (as redis-cli
/// shows them), so binary replies compare exactly.
pub fn text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------
// Debian's real Redis, for the interop tests
// ---------------------------------------------------------------------

/// The path of Debian's tool `name` (`redis-server`, `redis-check-rdb`,
/// `redis-check-aof`, ...), or `None`, after saying so, when it is not
/// installed: interop tests then skip. CI installs the tools and sets
/// `REDIS_ANATOMY_REQUIRE_INTEROP`, which turns a missing tool into a
/// failure instead, so a skip can never hide in CI.
pub fn interop_tool(name: &str) -> Option<String> {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let path = format!("{dir}/{name}");
        if std::path::Path::new(&path).exists() {
            return Some(path);
        }
    }
    if std::env::var_os("REDIS_ANATOMY_REQUIRE_INTEROP").is_some() {
        panic!("{name} is required (apt-get install redis-server redis-tools)");
    }
    eprintln!("skipping: {name} is not installed (apt-get install redis-server redis-tools)");
    None
}

/// A real `redis-server` on a free loopback port, working in `dir`, with
/// no save points and no AOF unless `args` (appended last, so they win)
/// say otherwise. `start` returns once it answers PING; drop kills it.
pub struct RealRedis {
    pub child: std::process::Child,
    pub port: u16,
}

impl RealRedis {
    pub fn start(dir: &std::path::Path, args: &[&str]) -> RealRedis {
        let bin = interop_tool("redis-server").expect("checked by the caller");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let real = RealRedis { child, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = real.try_conn() {
                // A replica answers -LOADING while it loads its primary's
                // snapshot: wait for a real PONG.
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return real;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()
    }

    pub fn conn(&self) -> redis::Connection {
        let c = self.try_conn().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `done` until it holds; panics naming `what` after 15 s. The one
/// deadline loop of the tests (no fixed sleeps: a loaded machine only
/// makes the wait longer).
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A numeric INFO field (`INFO <section>`, line `<field>:<n>`), read
/// through `c`.
pub fn info_number(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no numeric {field} in INFO {section}"))
}

/// INFO clients' `blocked_clients`, read through `c`.
pub fn blocked_clients(c: &mut redis::Connection) -> usize {
    info_number(c, "clients", "blocked_clients") as usize
}

/// Wait until the server counts `n` blocked clients.
pub fn wait_blocked_clients(c: &mut redis::Connection, n: usize) {
    eventually(&format!("{n} blocked clients"), || blocked_clients(c) == n);
}
