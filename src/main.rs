//! `redis-anatomy [config-file] [--directive value ...]`: run the server
//! like `redis-server`. `redis-anatomy walk <chapter>` plays a walkthrough
//! against a running server (see `src/walk.rs`).

use redis_anatomy::server::{self, Config};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("walk") {
        std::process::exit(redis_anatomy::walk::main(&args[1..]));
    }
    let config_file = args.first().filter(|a| !a.starts_with("--")).cloned();
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(1);
        }
    };
    if let Err(e) = server::run(config, config_file) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
