//! Real Redis tools against this server: `redis-cli` and `redis-benchmark`
//! from Debian's redis-tools. `.ci/run` installs them and sets
//! `REDIS_ANATOMY_REQUIRE_INTEROP=1`, so in CI a missing tool is a failure;
//! on a machine without them these tests say so and pass.

mod common;
use common::*;
use std::process::Command;

fn tool(name: &str) -> Option<String> {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        return Some(name.to_string());
    }
    if std::env::var_os("REDIS_ANATOMY_REQUIRE_INTEROP").is_some() {
        panic!("{name} is required (apt-get install redis-tools)");
    }
    eprintln!("skipping: {name} is not installed (apt-get install redis-tools)");
    None
}

fn cli(server: &redis_anatomy::server::ServerHandle, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-h")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(server.addr.port().to_string())
        .args(args)
        .output()
        .expect("redis-cli runs");
    assert!(out.status.success(), "redis-cli {args:?} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_sets_gets_and_shows_errors_like_redis() {
    if tool("redis-cli").is_none() {
        return;
    }
    let server = start();
    assert_eq!(cli(&server, &["PING"]), "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(
        cli(&server, &["--no-raw", "GET", "greeting"]),
        "\"hello world\"\n"
    );
    assert_eq!(cli(&server, &["--no-raw", "GET", "missing"]), "(nil)\n");
    assert_eq!(
        cli(&server, &["NOSUCHCOMMAND", "x"]),
        "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \n\n"
    );
}

#[test]
fn redis_cli_pipe_mode_loads_a_stream_of_commands() {
    if tool("redis-cli").is_none() {
        return;
    }
    let server = start();
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend_from_slice(&resp(&[b"SET", format!("key:{i}").as_bytes(), b"v"]));
    }
    let mut child = Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.addr.port().to_string(),
            "--pipe",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 1000"), "{text}");
    let mut c = conn(&server);
    let v: String = redis::cmd("GET").arg("key:999").query(&mut c).unwrap();
    assert_eq!(v, "v");
}

#[test]
fn redis_benchmark_runs_pipelined_against_the_server() {
    if tool("redis-benchmark").is_none() {
        return;
    }
    let server = start();
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.addr.port().to_string(),
            "-t",
            "set,get",
            "-n",
            "20000",
            "-P",
            "16",
            "-c",
            "10",
            "-q",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // Every request of both tests completed (a stall would hang instead).
    assert!(text.contains("SET: ") && text.contains("GET: "), "{text}");
    let mut c = conn(&server);
    let v: Option<String> = redis::cmd("GET")
        .arg("key:__rand_int__")
        .query(&mut c)
        .unwrap();
    assert_eq!(v.as_deref(), Some("VXK"));
}
