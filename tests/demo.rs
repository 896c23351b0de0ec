//! `redis-anatomy demo`, run as a student runs it: the real binary as a
//! child process. The standalone demo must serve on the port its banner
//! names, with the settings the walkthroughs need (a walkthrough that uses
//! DEBUG plays through against it), and Ctrl-C (SIGINT) must stop it and
//! free the port.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_redis-anatomy");

/// A demo process, killed if a test fails before it stops it.
struct Demo {
    child: Child,
    addr: SocketAddr,
    banner: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `demo standalone --port 0` and read the banner up to the line
/// that names the address it chose.
fn start_demo() -> Demo {
    let mut child = Command::new(BIN)
        .args(["demo", "standalone", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let mut addr = None;
    while !banner.contains("Ctrl-C stops") {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("demo exited before its banner ended:\n{banner}");
        }
        if let Some(rest) = line
            .trim()
            .strip_prefix("Redis Anatomy demo: a standalone server on ")
        {
            addr = Some(rest.parse::<SocketAddr>().expect("banner names host:port"));
        }
        banner.push_str(&line);
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    Demo {
        child,
        addr: addr.unwrap_or_else(|| panic!("no address in the banner:\n{banner}")),
        banner,
    }
}

/// Send one inline command and read one line of reply, retrying the
/// connection until the server accepts (it binds right after the banner).
fn command(addr: SocketAddr, cmd: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot connect to the demo at {addr}: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    use std::io::Write;
    stream.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).unwrap();
    reply
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn standalone_serves_the_walkthrough_settings_and_stops_on_ctrl_c() {
    let mut demo = start_demo();
    let addr = demo.addr;
    assert_eq!(
        addr.ip().to_string(),
        "127.0.0.1",
        "the demo binds loopback"
    );
    assert!(demo
        .banner
        .contains(&format!("redis-cli -p {}", addr.port())));
    assert!(demo.banner.contains(&format!("walk dict --connect {addr}")));
    assert!(demo
        .banner
        .contains(&format!("anatomy-viz -- --connect {addr}")));

    // The book's "Start here" prints the banner for port 7000: it must
    // still be what the demo prints.
    let start_here = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/book/src/start-here.md"
    ))
    .unwrap();
    let as_in_book = demo.banner.replace(&addr.port().to_string(), "7000");
    assert!(
        start_here.contains(&as_in_book),
        "book/src/start-here.md no longer shows the demo's banner:\n{as_in_book}"
    );

    assert_eq!(command(addr, "PING"), "+PONG\r\n");
    // DEBUG is enabled for local connections, as the walkthroughs need.
    // (Refused, it would be "-ERR DEBUG command not allowed...".)
    let htstats = command(addr, "DEBUG HTSTATS 0");
    assert!(htstats.starts_with('$'), "DEBUG HTSTATS 0: {htstats}");

    // The dict walkthrough (DEBUG HTSTATS, CONFIG SET activerehashing)
    // plays through against it.
    let walk = Command::new(BIN)
        .args(["walk", "dict", "--no-pause", "--connect", &addr.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("walk runs");
    assert!(
        walk.status.success(),
        "walk dict failed against the demo:\n{}\n{}",
        String::from_utf8_lossy(&walk.stdout),
        String::from_utf8_lossy(&walk.stderr)
    );

    // Ctrl-C: SIGINT stops the server, the process exits cleanly and the
    // port is free again.
    let pid = demo.child.id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = wait_exit(&mut demo.child, Duration::from_secs(10));
    assert!(status.success(), "demo exit status after SIGINT: {status}");
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    TcpListener::bind(addr).expect("the port is free after the demo exits");
}

#[test]
fn standalone_refuses_a_port_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(BIN)
        .args(["demo", "standalone", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("Cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no banner for a server that cannot start"
    );
}

#[test]
fn the_demos_not_built_yet_say_so() {
    for name in ["replication", "sentinel", "cluster"] {
        let out = Command::new(BIN).args(["demo", name]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let mut err = String::new();
        out.stderr.as_slice().read_to_string(&mut err).unwrap();
        assert!(
            err.contains(&format!("The {name} chapter is not built yet")),
            "{name}: {err}"
        );
    }
}
