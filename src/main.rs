//! `redis-anatomy [config-file] [--directive value ...]`: run the server
//! like `redis-server`. `redis-anatomy walk <chapter>` plays a walkthrough
//! against a running server (see `src/walk.rs`). `redis-anatomy demo
//! standalone` starts a server set up for the walkthroughs and the
//! visualizer and says how to attach them (see `src/demo.rs`).

mod demo;

use redis_anatomy::server::{self, Config};

const USAGE: &str = "Usage: redis-anatomy [/path/to/redis.conf] [options] [-]
       redis-anatomy - (read config from stdin)
       redis-anatomy -v or --version
       redis-anatomy -h or --help
       redis-anatomy walk <chapter> [--connect host:port] [--no-pause] [--stable]
       redis-anatomy demo standalone [--port 6379] [options]

Examples:
       redis-anatomy (run the server with default conf)
       redis-anatomy /etc/redis/6379.conf
       redis-anatomy --port 7777
       redis-anatomy /etc/myredis.conf --loglevel verbose -
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v") | Some("--version") => {
            println!(
                "Redis Anatomy server v={} malloc={} bits=64",
                server::config::REDIS_VERSION,
                redis_anatomy::memory::ALLOCATOR_NAME
            );
            return;
        }
        Some("walk") => std::process::exit(redis_anatomy::walk::main(&args[1..])),
        Some("demo") => std::process::exit(demo::main(&args[1..])),
        Some("-h") | Some("--help") => {
            eprint!("{USAGE}");
            return;
        }
        _ => {}
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            // Redis's fatal config message, already formatted.
            eprint!("{msg}");
            std::process::exit(1);
        }
    };
    // rename-command lines are checked against the command table, as
    // Redis does while loading its config.
    let table = redis_anatomy::server::command_table();
    if let Err((i, reason)) =
        redis_anatomy::server::command::Renames::resolve(table, &config.rename_commands)
    {
        let at = &config.rename_commands[i].at;
        eprint!(
            "{}",
            redis_anatomy::server::config::fatal_config_error(Some(at), reason)
        );
        std::process::exit(1);
    }
    if let Err(e) = std::env::set_current_dir(&config.dir) {
        eprintln!("Can't chdir to '{}': {e}", config.dir.display());
        std::process::exit(1);
    }
    let config_file = config.config_file.as_ref().map(|p| p.display().to_string());
    if let Err(e) = server::run(config, config_file) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
