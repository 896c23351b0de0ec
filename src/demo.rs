//! # Demos: one command that sets up what a chapter needs
//!
//! `redis-anatomy demo standalone` starts a server the way the walkthroughs
//! and the visualizer expect it, and prints how to attach each tool to it:
//! `redis-cli`, `redis-anatomy walk <chapter>` and `anatomy-viz`. It saves a
//! student from learning the server's options before the first chapter.
//!
//! ## The invariant
//!
//! Everything the demo starts, Ctrl-C stops. The standalone demo starts one
//! thing, the server, and runs it on this process's main thread through
//! [`server::run`], the very function the plain `redis-anatomy` command
//! uses: SIGINT and SIGTERM end it, as does `SHUTDOWN` from a client, and
//! when it returns the listening socket is closed and the process exits.
//! There are no child processes to leak. The demos still to come
//! (replication, Sentinel, Cluster) start several servers; they will keep
//! the same promise.
//!
//! ## The settings
//!
//! The walkthroughs send `DEBUG HTSTATS`, `DEBUG SDSLEN` and
//! `DEBUG SET-ACTIVE-EXPIRE`, and the visualizer's "step" button sends
//! `DEBUG REHASH-STEP`; Redis 7.0 refuses DEBUG unless the server was
//! started with `enable-debug-command`. The demo uses `local`, which
//! accepts DEBUG from loopback connections only, and binds to 127.0.0.1
//! so the demo server is not reachable from the network at all. Persistence
//! is off (`save ""`), as the chapters assume a server that starts empty.
//! Each walkthrough sets the rest itself (`CONFIG SET activerehashing no`
//! in the dict chapter, the encoding thresholds in the encodings chapter).
//!
//! ## The Redis C counterpart
//!
//! None: Redis ships `utils/create-cluster` and the `redis-server` options
//! instead. This is the part of a textbook that sets up the lab.
//!
//! ## What we simplified
//!
//! The port is checked before the banner is printed (by binding it once and
//! letting it go), so a port already taken by a real Redis gives a clear
//! message instead of a banner followed by an error. Between that check and
//! the server's own bind another program could take the port; the server
//! then fails with its usual message, which is good enough for a lab.

use redis_anatomy::server::{self, Config};

/// `redis-anatomy demo <name> [--directive value ...]`; returns the exit
/// status.
pub fn main(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("standalone") => standalone(&args[1..]),
        Some(name @ ("replication" | "sentinel" | "cluster")) => {
            eprintln!(
                "The {name} chapter is not built yet, so there is no {name} demo. \
                 Built so far: `redis-anatomy demo standalone`."
            );
            2
        }
        Some("-h") | Some("--help") => {
            print!("{USAGE}");
            0
        }
        Some(other) => {
            eprintln!("Unknown demo '{other}'.\n{USAGE}");
            2
        }
        None => {
            eprint!("{USAGE}");
            2
        }
    }
}

const USAGE: &str = "Usage: redis-anatomy demo standalone [--port 6379] [--directive value ...]

Starts a server with the settings the walkthroughs and anatomy-viz assume
and prints how to attach redis-cli, a walkthrough and the visualizer.
Ctrl-C stops it. (The replication, Sentinel and Cluster demos come with
their chapters; they are not built yet.)
";

// ANCHOR: demo_settings
/// The settings every walkthrough and the visualizer assume. Any directive
/// given on the command line comes after these and so overrides them.
const STANDALONE_SETTINGS: &[&str] = &[
    "--bind",
    "127.0.0.1",
    "--enable-debug-command",
    "local",
    "--save",
    "",
];
// ANCHOR_END: demo_settings

fn standalone(extra: &[String]) -> i32 {
    let mut args: Vec<String> = STANDALONE_SETTINGS.iter().map(|s| s.to_string()).collect();
    args.extend(extra.iter().cloned());
    let mut config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprint!("{msg}");
            return 1;
        }
    };
    let host = config
        .bind
        .first()
        .map(|b| b.trim_start_matches('-').to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string());
    // Port 0 means "any free port": pick it now so the banner can name it.
    match std::net::TcpListener::bind((host.as_str(), config.port)) {
        Ok(probe) => {
            if config.port == 0 {
                config.port = probe.local_addr().map(|a| a.port()).unwrap_or(0);
            }
        }
        Err(e) => {
            eprintln!(
                "Cannot listen on {host}:{}: {e}.\n\
                 Is another server (a real Redis?) using it? Pick another port: \
                 redis-anatomy demo standalone --port 7000",
                config.port
            );
            return 1;
        }
    }
    print!("{}", banner(&host, config.port));
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    match server::run(config, None) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// What to type next, with this server's address filled in.
fn banner(host: &str, port: u16) -> String {
    let addr = format!("{host}:{port}");
    format!(
        "\
Redis Anatomy demo: a standalone server on {addr}
  settings: bind {host}, enable-debug-command local, save \"\" (no persistence)

Talk to it:
  redis-cli -p {port}
Play a walkthrough (chapters/*.md; dict shows incremental rehashing):
  cargo run --release -- walk dict --connect {addr}
Watch the keyspace dict rehash, live (builds egui on first run):
  cargo run -p anatomy-viz -- --connect {addr}
Read the book:
  mdbook serve book --open

Ctrl-C stops the server.
"
    )
}
