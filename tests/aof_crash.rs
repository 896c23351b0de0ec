//! `appendfsync always` under `kill -9`: the server runs as its own
//! process, a client writes as fast as it can and remembers every write
//! the server acknowledged, the server is killed without warning, and a
//! new server on the same directory must hold every acknowledged write.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// The child is handed to the caller, which kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path, port: u16) -> (Child, redis::Connection) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redis-anatomy"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut c) = client.get_connection() {
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                return (child, c);
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes a test's directory when the test ends, passed or failed.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "anatomy-aof-crash-{}-{}",
        std::process::id(),
        redis_anatomy::server::unix_us()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn kill_9_loses_no_acknowledged_write_with_appendfsync_always() {
    let dir = temp_dir();
    let _cleanup = Cleanup(dir.clone());
    let mut acked_total = 0;
    for round in 0..3 {
        let port = free_port();
        let (mut server, mut c) = start(&dir, port);
        // Everything acknowledged in earlier rounds is still there.
        let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert_eq!(n, acked_total, "round {round}: keys after restart");
        // A writer thread pipelines SETs and counts the acknowledged ones;
        // the server is killed while it writes.
        let acked = Arc::new(AtomicUsize::new(0));
        let writer = {
            let acked = acked.clone();
            std::thread::spawn(move || {
                for i in 0..100_000 {
                    let key = format!("r{round}:{i}");
                    match redis::cmd("SET").arg(&key).arg(i).query::<()>(&mut c) {
                        Ok(()) => acked.store(i + 1, Ordering::SeqCst),
                        Err(_) => break,
                    }
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked.load(Ordering::SeqCst) < 200 + 50 * round {
            assert!(Instant::now() < deadline, "writes too slow");
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill().unwrap(); // SIGKILL: no shutdown, no final flush
        server.wait().unwrap();
        writer.join().unwrap();
        let this_round = acked.load(Ordering::SeqCst);
        // Restart and check every acknowledged key (a write that was
        // logged but whose reply was lost in the kill may be there too).
        let (mut server, mut c) = start(&dir, free_port());
        for i in 0..this_round {
            let v: Option<usize> = redis::cmd("GET")
                .arg(format!("r{round}:{i}"))
                .query(&mut c)
                .unwrap();
            assert_eq!(
                v,
                Some(i),
                "round {round}: acknowledged write r{round}:{i} lost"
            );
        }
        // Drop any unacknowledged extra so the next round's count is exact.
        let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert!(n == acked_total + this_round || n == acked_total + this_round + 1);
        if n > acked_total + this_round {
            redis::cmd("DEL")
                .arg(format!("r{round}:{this_round}"))
                .query::<()>(&mut c)
                .unwrap();
        }
        acked_total += this_round;
        let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
        let _ = server.wait();
    }
}
