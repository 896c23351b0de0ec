//! Server and introspection commands through real clients: INFO, DBSIZE,
//! FLUSHDB/FLUSHALL, TIME, CONFIG, COMMAND, DEBUG, SLOWLOG, LATENCY,
//! MONITOR, SHUTDOWN. Expected replies are Redis 7.0.15's.

mod common;
use common::*;
use redis_anatomy::server::config::ProtectedAction;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use redis::Value;

fn cmd(name: &str) -> redis::Cmd {
    redis::cmd(name)
}

/// The text of an error reply (`ERR syntax error`), panicking on success.
fn err_text<T: redis::FromRedisValue + std::fmt::Debug>(r: redis::RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// `field:value` lines of an INFO reply.
fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(str::to_string)
}

/// A reply rendered like `redis-cli`, for snapshots.
fn render(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Nil => out.push_str("(nil)\n"),
        Value::Int(n) => out.push_str(&format!("(integer) {n}\n")),
        Value::BulkString(b) => out.push_str(&format!("\"{}\"\n", String::from_utf8_lossy(b))),
        Value::SimpleString(s) => out.push_str(&format!("{s}\n")),
        Value::Okay => out.push_str("OK\n"),
        Value::Array(items) | Value::Set(items) => {
            if items.is_empty() {
                out.push_str("(empty array)\n");
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                let label = format!("{}) ", i + 1);
                out.push_str(&label);
                render(item, indent + label.len(), out);
            }
        }
        other => out.push_str(&format!("{other:?}\n")),
    }
}

fn rendered(v: &Value) -> String {
    let mut s = String::new();
    render(v, 0, &mut s);
    s
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

#[test]
fn info_default_has_our_sections_in_redis_order_and_no_commandstats() {
    let server = start();
    let mut c = conn(&server);
    let info: String = cmd("INFO").query(&mut c).unwrap();
    let headers: Vec<&str> = info.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Errorstats",
            "# Keyspace"
        ]
    );
    assert!(info.ends_with("\r\n"), "every line ends in CRLF");
    assert_eq!(
        info_field(&info, "redis_version").as_deref(),
        Some("7.0.15")
    );
    assert_eq!(
        info_field(&info, "tcp_port"),
        Some(server.addr.port().to_string())
    );
}

#[test]
fn info_all_adds_commandstats_between_cpu_and_errorstats() {
    let server = start();
    let mut c = conn(&server);
    let info: String = cmd("INFO").arg("all").query(&mut c).unwrap();
    let headers: Vec<&str> = info.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Commandstats",
            "# Errorstats",
            "# Keyspace"
        ]
    );
}

#[test]
fn info_selected_sections_are_case_insensitive_and_unknown_ones_are_empty() {
    let server = start();
    let mut c = conn(&server);
    let info: String = cmd("INFO")
        .arg("CPU")
        .arg("keyspace")
        .query(&mut c)
        .unwrap();
    assert!(info.starts_with("# CPU\r\nused_cpu_sys:"), "{info:?}");
    assert!(info.ends_with("\r\n# Keyspace\r\n"), "{info:?}");
    // Sections Redis has but this server does not have yet, and nonsense.
    for section in ["cluster", "nosuchsection"] {
        let empty: String = cmd("INFO").arg(section).query(&mut c).unwrap();
        assert_eq!(empty, "", "INFO {section}");
    }
}

#[test]
fn info_keyspace_counts_keys_per_database() {
    let server = start();
    let mut c = conn(&server);
    for k in ["a", "b", "c"] {
        let _: () = cmd("SET").arg(k).arg("v").query(&mut c).unwrap();
    }
    let info: String = cmd("INFO").arg("keyspace").query(&mut c).unwrap();
    assert_eq!(info, "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n");
}

#[test]
fn info_commandstats_counts_calls_and_failures() {
    let server = start();
    let mut c = conn(&server);
    // A client library may send setup commands the server refuses (the
    // `redis` crate tries CLIENT SETINFO): count errors from here on.
    let before: String = cmd("INFO").arg("errorstats").query(&mut c).unwrap();
    let errors_before: u64 =
        info_field(&before, "errorstat_ERR").map_or(0, |v| v["count=".len()..].parse().unwrap());
    for _ in 0..3 {
        let _: () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    }
    let _ = err_text(cmd("GET").query::<Value>(&mut c)); // wrong arity: rejected
    let info: String = cmd("INFO").arg("commandstats").query(&mut c).unwrap();
    let set = info_field(&info, "cmdstat_set").expect("cmdstat_set line");
    assert!(set.starts_with("calls=3,usec="), "{set}");
    assert!(set.ends_with(",rejected_calls=0,failed_calls=0"), "{set}");
    let get = info_field(&info, "cmdstat_get").expect("cmdstat_get line");
    assert_eq!(
        get,
        "calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    );
    let errors: String = cmd("INFO").arg("errorstats").query(&mut c).unwrap();
    assert_eq!(
        info_field(&errors, "errorstat_ERR"),
        Some(format!("count={}", errors_before + 1))
    );
}

// ---------------------------------------------------------------------------
// DBSIZE, FLUSHDB, FLUSHALL, TIME
// ---------------------------------------------------------------------------

#[test]
fn dbsize_flushdb_and_flushall() {
    let server = start();
    let mut c = conn(&server);
    let n: i64 = cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 0);
    for k in ["a", "b"] {
        let _: () = cmd("SET").arg(k).arg("1").query(&mut c).unwrap();
    }
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 2);
    let ok: String = cmd("FLUSHDB").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);

    let _: () = cmd("SET").arg("a").arg("1").query(&mut c).unwrap();
    let ok: String = cmd("FLUSHALL").arg("async").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
    let ok: String = cmd("FLUSHDB").arg("SYNC").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
}

#[test]
fn flush_rejects_unknown_options_and_extra_arguments() {
    let server = start();
    let mut c = conn(&server);
    let _: () = cmd("SET").arg("a").arg("1").query(&mut c).unwrap();
    for name in ["FLUSHDB", "FLUSHALL"] {
        assert_eq!(
            err_text(cmd(name).arg("foo").query::<Value>(&mut c)),
            "ERR syntax error"
        );
        assert_eq!(
            err_text(cmd(name).arg("async").arg("sync").query::<Value>(&mut c)),
            "ERR syntax error"
        );
    }
    // Nothing was flushed by the refused calls.
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 1);
}

#[test]
fn time_is_seconds_and_microseconds_as_bulk_strings() {
    let server = start();
    let mut c = conn(&server);
    let reply: Value = cmd("TIME").query(&mut c).unwrap();
    let Value::Array(parts) = reply else {
        panic!("TIME replied {reply:?}")
    };
    let text: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("not a bulk string: {other:?}"),
        })
        .collect();
    let secs: i64 = text[0].parse().unwrap();
    let micros: i64 = text[1].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((secs - now).abs() <= 2, "{secs} vs {now}");
    assert!((0..1_000_000).contains(&micros));
}

// ---------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------

#[test]

fn config_set_then_get_round_trips_several_pairs() {
    let server = start();
    let mut c = conn(&server);
    let ok: String = cmd("CONFIG")
        .arg("SET")
        .arg("hz")
        .arg("20")
        .arg("slowlog-max-len")
        .arg("64")
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let got: Vec<String> = cmd("CONFIG").arg("GET").arg("hz").query(&mut c).unwrap();
    assert_eq!(got, ["hz", "20"]);
    let info: String = cmd("INFO").arg("server").query(&mut c).unwrap();
    assert_eq!(info_field(&info, "hz").as_deref(), Some("20"));
    assert_eq!(info_field(&info, "configured_hz").as_deref(), Some("20"));
}

#[test]

fn config_get_matches_globs_and_several_patterns() {
    let server = start();
    let mut c = conn(&server);
    let mut got: Vec<(String, String)> = cmd("CONFIG")
        .arg("GET")
        .arg("slowlog-*")
        .arg("maxmemory")
        .query(&mut c)
        .unwrap();
    got.sort();
    assert_eq!(
        got,
        [
            ("maxmemory".to_string(), "0".to_string()),
            ("slowlog-log-slower-than".to_string(), "10000".to_string()),
            ("slowlog-max-len".to_string(), "128".to_string()),
        ]
    );
}

#[test]

fn config_set_errors_are_redis_errors() {
    let server = start();
    let mut c = conn(&server);
    let set = |c: &mut redis::Connection, args: &[&str]| {
        err_text(cmd("CONFIG").arg("SET").arg(args).query::<Value>(c))
    };
    assert_eq!(
        set(&mut c, &["foo", "bar"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set(&mut c, &["hz", "abc"]),
        "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        set(&mut c, &["hz", "20", "hz", "30"]),
        "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
    );
    assert_eq!(
        set(&mut c, &["databases", "5"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
}

#[test]
fn config_set_needs_pairs_and_config_has_help_and_arity_errors() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(
        err_text(
            cmd("CONFIG")
                .arg("SET")
                .arg("hz")
                .arg("20")
                .arg("foo")
                .query::<Value>(&mut c)
        ),
        "ERR syntax error"
    );
    assert_eq!(
        err_text(cmd("CONFIG").arg("GET").query::<Value>(&mut c)),
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert_eq!(
        err_text(cmd("CONFIG").arg("foo").query::<Value>(&mut c)),
        "ERR unknown subcommand 'foo'. Try CONFIG HELP."
    );
    let help: Vec<String> = cmd("CONFIG").arg("HELP").query(&mut c).unwrap();
    assert_eq!(
        help[0],
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help.last().unwrap(), "    Prints this help.");
}

#[test]
fn config_resetstat_zeroes_info_counters_but_keeps_the_slowlog() {
    let server = start_with(|cfg| cfg.slowlog_log_slower_than = 0);
    let mut c = conn(&server);
    let _: () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _ = err_text(cmd("GET").query::<Value>(&mut c));
    let ok: String = cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    let info: String = cmd("INFO").arg("everything").query(&mut c).unwrap();
    // RESETSTAT itself is the one command counted before this INFO.
    assert_eq!(
        info_field(&info, "total_commands_processed").as_deref(),
        Some("1")
    );
    assert_eq!(
        info_field(&info, "total_error_replies").as_deref(),
        Some("0")
    );
    assert_eq!(info_field(&info, "cmdstat_set"), None);
    assert_eq!(info_field(&info, "errorstat_ERR"), None);
    assert!(info_field(&info, "cmdstat_config|resetstat").is_some());
    let len: i64 = cmd("SLOWLOG").arg("LEN").query(&mut c).unwrap();
    assert!(len >= 3, "the slow log survives RESETSTAT: {len}");
}

// ---------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------

#[test]
fn command_count_matches_the_full_listing() {
    let server = start();
    let mut c = conn(&server);
    let count: i64 = cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    let all: Vec<Value> = cmd("COMMAND").query(&mut c).unwrap();
    assert_eq!(count as usize, all.len());
    let info_all: Vec<Value> = cmd("COMMAND").arg("INFO").query(&mut c).unwrap();
    assert_eq!(info_all.len(), all.len());
    let names: Vec<String> = cmd("COMMAND").arg("LIST").query(&mut c).unwrap();
    assert!(names.contains(&"config|get".to_string()));
    assert_eq!(
        names.iter().filter(|n| !n.contains('|')).count(),
        count as usize
    );
}

#[test]
fn command_info_snapshot() {
    let server = start();
    let mut c = conn(&server);
    let reply: Value = cmd("COMMAND")
        .arg("INFO")
        .arg("get")
        .arg("SET")
        .arg("nosuchcommand")
        .arg("config|get")
        .arg("slowlog")
        .query(&mut c)
        .unwrap();
    insta::assert_snapshot!(rendered(&reply));
}

#[test]
fn command_docs_snapshot_and_unknown_names_are_skipped() {
    let server = start();
    let mut c = conn(&server);
    let reply: Value = cmd("COMMAND")
        .arg("DOCS")
        .arg("get")
        .arg("nosuchcommand")
        .arg("latency")
        .query(&mut c)
        .unwrap();
    insta::assert_snapshot!(rendered(&reply));
    let none: Value = cmd("COMMAND")
        .arg("DOCS")
        .arg("nosuchcommand")
        .query(&mut c)
        .unwrap();
    assert_eq!(none, Value::Array(vec![]));
}

#[test]
fn command_getkeys_finds_keys_and_reports_redis_errors() {
    let server = start();
    let mut c = conn(&server);
    let keys: Vec<String> = cmd("COMMAND")
        .arg("GETKEYS")
        .arg("SET")
        .arg("mykey")
        .arg("value")
        .query(&mut c)
        .unwrap();
    assert_eq!(keys, ["mykey"]);
    let getkeys = |c: &mut redis::Connection, args: &[&str]| {
        err_text(cmd("COMMAND").arg("GETKEYS").arg(args).query::<Value>(c))
    };
    assert_eq!(
        getkeys(&mut c, &["nosuch", "a"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        getkeys(&mut c, &["config", "nosuch", "a"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        getkeys(&mut c, &["ping", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        getkeys(&mut c, &["config", "get", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        getkeys(&mut c, &["get", "a", "b"]),
        "ERR Invalid number of arguments specified for command"
    );
    assert_eq!(
        err_text(
            cmd("COMMAND")
                .arg("GETKEYS")
                .arg("get")
                .query::<Value>(&mut c)
        ),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
    let with_flags: Value = cmd("COMMAND")
        .arg("GETKEYSANDFLAGS")
        .arg("get")
        .arg("k")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        rendered(&with_flags),
        "1) 1) \"k\"\n   2) 1) RO\n      2) access\n"
    );
}

#[test]
fn command_list_filters_by_acl_category_and_module() {
    let server = start();
    let mut c = conn(&server);
    let admin: Vec<String> = cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("admin")
        .query(&mut c)
        .unwrap();
    assert!(admin.contains(&"config|set".to_string()), "{admin:?}");
    assert!(!admin.contains(&"get".to_string()));
    assert!(!admin.contains(&"config|help".to_string()));
    for args in [
        &["FILTERBY", "ACLCAT", "@admin"][..],
        &["FILTERBY", "MODULE", "x"],
    ] {
        let none: Vec<String> = cmd("COMMAND").arg("LIST").arg(args).query(&mut c).unwrap();
        assert!(none.is_empty(), "{args:?}: {none:?}");
    }
    for args in [
        &["foo"][..],
        &["FILTERBY", "foo", "x"],
        &["FILTERBY", "ACLCAT"],
    ] {
        assert_eq!(
            err_text(cmd("COMMAND").arg("LIST").arg(args).query::<Value>(&mut c)),
            "ERR syntax error",
            "{args:?}"
        );
    }
}

#[test]

fn command_list_filters_by_pattern() {
    let server = start();
    let mut c = conn(&server);
    let mut names: Vec<String> = cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("CONFIG*")
        .query(&mut c)
        .unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "config",
            "config|get",
            "config|help",
            "config|resetstat",
            "config|rewrite",
            "config|set"
        ]
    );
}

// ---------------------------------------------------------------------------
// DEBUG
// ---------------------------------------------------------------------------

const DEBUG_REFUSED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

#[test]
fn debug_is_refused_by_default_and_counted_as_rejected() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(
        err_text(cmd("DEBUG").arg("SLEEP").arg("0").query::<Value>(&mut c)),
        DEBUG_REFUSED
    );
    let info: String = cmd("INFO").arg("commandstats").query(&mut c).unwrap();
    assert_eq!(
        info_field(&info, "cmdstat_debug").as_deref(),
        Some("calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0")
    );
}

#[test]
fn debug_runs_when_enabled_and_for_local_clients_with_local() {
    for setting in [ProtectedAction::Yes, ProtectedAction::Local] {
        let server = start_with(|cfg| cfg.enable_debug_command = setting);
        let mut c = conn(&server);
        let ok: String = cmd("DEBUG").arg("SLEEP").arg("0").query(&mut c).unwrap();
        assert_eq!(ok, "OK", "enable-debug-command {setting:?}");
    }
}

#[test]
fn debug_object_describes_the_encoding_and_does_not_touch_the_key() {
    let server = start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes);
    let mut c = conn(&server);
    let _: () = cmd("SET").arg("n").arg("12").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("s").arg("hello").query(&mut c).unwrap();
    let _: () = cmd("SET")
        .arg("r")
        .arg("x".repeat(45))
        .query(&mut c)
        .unwrap();
    let obj = |c: &mut redis::Connection, key: &str| -> String {
        cmd("DEBUG").arg("OBJECT").arg(key).query(c).unwrap()
    };
    let line = obj(&mut c, "n");
    assert!(line.starts_with("Value at:0x"), "{line}");
    assert!(
        line.contains(" refcount:2147483647 encoding:int serializedlength:2 lru:"),
        "{line}"
    );
    assert!(line.contains(" lru_seconds_idle:"), "{line}");
    assert!(obj(&mut c, "s").contains(" refcount:1 encoding:embstr serializedlength:6 "));
    assert!(obj(&mut c, "r").contains(" refcount:1 encoding:raw serializedlength:46 "));
    assert_eq!(
        err_text(
            cmd("DEBUG")
                .arg("OBJECT")
                .arg("missing")
                .query::<Value>(&mut c)
        ),
        "ERR no such key"
    );
    // DEBUG OBJECT is not a read: no keyspace hit or miss was counted.
    let info: String = cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert_eq!(info_field(&info, "keyspace_hits").as_deref(), Some("0"));
    assert_eq!(info_field(&info, "keyspace_misses").as_deref(), Some("0"));
}

#[test]
fn debug_subcommand_errors_and_htstats() {
    let server = start_with(|cfg| cfg.enable_debug_command = ProtectedAction::Yes);
    let mut c = conn(&server);
    assert_eq!(
        err_text(cmd("DEBUG").arg("foo").query::<Value>(&mut c)),
        "ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP."
    );
    assert_eq!(
        err_text(cmd("DEBUG").arg("sleep").query::<Value>(&mut c)),
        "ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP."
    );
    assert_eq!(
        err_text(cmd("DEBUG").arg("HTSTATS").arg("99").query::<Value>(&mut c)),
        "ERR Out of range database"
    );
    assert_eq!(
        err_text(cmd("DEBUG").arg("HTSTATS").arg("x").query::<Value>(&mut c)),
        "ERR value is not an integer or out of range"
    );
    let stats: String = cmd("DEBUG").arg("HTSTATS").arg("0").query(&mut c).unwrap();
    assert!(stats.starts_with("[Dictionary HT]\n"), "{stats:?}");
    assert!(stats.contains("[Expires HT]\n"), "{stats:?}");
    let _: () = cmd("SET").arg("s").arg("v").query(&mut c).unwrap();
    assert_eq!(
        err_text(
            cmd("DEBUG")
                .arg("HTSTATS-KEY")
                .arg("s")
                .query::<Value>(&mut c)
        ),
        "ERR The value stored at the specified key is not represented using an hash table"
    );
    assert_eq!(
        err_text(
            cmd("DEBUG")
                .arg("HTSTATS-KEY")
                .arg("nokey")
                .query::<Value>(&mut c)
        ),
        "ERR no such key"
    );
    let ok: String = cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg("0")
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let help: Vec<String> = cmd("DEBUG").arg("HELP").query(&mut c).unwrap();
    assert!(help.contains(&"SLEEP <seconds>".to_string()));
}

// ---------------------------------------------------------------------------
// SLOWLOG and LATENCY
// ---------------------------------------------------------------------------

#[test]
fn slowlog_records_every_command_at_threshold_zero() {
    let server = start_with(|cfg| cfg.slowlog_log_slower_than = 0);
    let mut c = conn(&server);
    let _: () = cmd("SLOWLOG").arg("RESET").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _: Option<String> = cmd("GET").arg("k").query(&mut c).unwrap();
    let entries: Value = cmd("SLOWLOG").arg("GET").arg("2").query(&mut c).unwrap();
    let Value::Array(entries) = entries else {
        panic!("{entries:?}")
    };
    assert_eq!(entries.len(), 2);
    let Value::Array(newest) = &entries[0] else {
        panic!()
    };
    assert_eq!(newest.len(), 6);
    assert_eq!(
        newest[3],
        Value::Array(vec![
            Value::BulkString(b"GET".to_vec()),
            Value::BulkString(b"k".to_vec())
        ])
    );
    let Value::BulkString(addr) = &newest[4] else {
        panic!()
    };
    assert!(addr.starts_with(b"127.0.0.1:"));
    assert_eq!(newest[5], Value::BulkString(vec![]));
    // Ids grow: the newest has the larger one.
    let id = |e: &Value| match e {
        Value::Array(f) => match f[0] {
            Value::Int(n) => n,
            _ => panic!(),
        },
        _ => panic!(),
    };
    assert_eq!(id(&entries[0]), id(&entries[1]) + 1);

    let len: i64 = cmd("SLOWLOG").arg("LEN").query(&mut c).unwrap();
    assert_eq!(len, 4, "RESET, SET, GET, SLOWLOG GET");
    let all: Vec<Value> = cmd("SLOWLOG").arg("GET").arg("-1").query(&mut c).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        err_text(cmd("SLOWLOG").arg("GET").arg("-2").query::<Value>(&mut c)),
        "ERR count should be greater than or equal to -1"
    );
}

#[test]
fn slowlog_is_empty_at_the_default_threshold() {
    let server = start();
    let mut c = conn(&server);
    let _: () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let len: i64 = cmd("SLOWLOG").arg("LEN").query(&mut c).unwrap();
    assert_eq!(len, 0);
}

#[test]
fn latency_monitor_records_a_slow_command_over_the_threshold() {
    let server = start_with(|cfg| {
        cfg.latency_monitor_threshold = 20;
        cfg.enable_debug_command = ProtectedAction::Yes;
    });
    let mut c = conn(&server);
    let latest: Vec<Value> = cmd("LATENCY").arg("LATEST").query(&mut c).unwrap();
    assert!(latest.is_empty());
    let _: () = cmd("DEBUG").arg("SLEEP").arg("0.05").query(&mut c).unwrap();
    let latest: Vec<(String, i64, i64, i64)> = cmd("LATENCY").arg("LATEST").query(&mut c).unwrap();
    assert_eq!(latest.len(), 1, "{latest:?}");
    let (event, _time, ms, max) = &latest[0];
    assert_eq!(event, "command");
    assert!(*ms >= 50 && *max >= 50, "{latest:?}");
    let history: Vec<(i64, i64)> = cmd("LATENCY")
        .arg("HISTORY")
        .arg("command")
        .query(&mut c)
        .unwrap();
    assert_eq!(history.len(), 1);
    let reset: i64 = cmd("LATENCY")
        .arg("RESET")
        .arg("COMMAND")
        .query(&mut c)
        .unwrap();
    assert_eq!(reset, 1, "RESET matches names case-insensitively");
    let latest: Vec<Value> = cmd("LATENCY").arg("LATEST").query(&mut c).unwrap();
    assert!(latest.is_empty());
}

// ---------------------------------------------------------------------------
// MONITOR and SHUTDOWN
// ---------------------------------------------------------------------------

/// Read one `+...\r\n` line from a raw socket.
fn read_line(raw: &mut Raw) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        let n = raw.stream.read(&mut byte).expect("read");
        assert!(n == 1, "connection closed after {line:?}");
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

#[test]
fn monitor_sees_other_clients_commands_but_not_admin_ones() {
    let server = start();
    let mut monitor = Raw::connect(&server);
    monitor.roundtrip(&resp(&[b"MONITOR"]), b"+OK\r\n");
    let mut c = conn(&server);
    let _: Value = cmd("CONFIG").arg("GET").arg("hz").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("k").arg("a b\"c").query(&mut c).unwrap();
    let line = read_line(&mut monitor);
    // +1339518083.107412 [0 127.0.0.1:60866] "SET" "k" "a b\"c"
    let (stamp, rest) = line[1..].split_once(' ').unwrap();
    let (secs, micros) = stamp.split_once('.').unwrap();
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line}");
    assert!(rest.starts_with("[0 127.0.0.1:"), "{line}");
    assert!(rest.ends_with("] \"SET\" \"k\" \"a b\\\"c\"\r\n"), "{line}");
}

#[test]
fn shutdown_stops_an_in_process_server() {
    let server = start();
    let addr = server.addr;
    let mut c = conn(&server);
    assert_eq!(
        err_text(cmd("SHUTDOWN").arg("ABORT").query::<Value>(&mut c)),
        "ERR No shutdown in progress."
    );
    assert_eq!(
        err_text(
            cmd("SHUTDOWN")
                .arg("SAVE")
                .arg("NOSAVE")
                .query::<Value>(&mut c)
        ),
        "ERR syntax error"
    );
    let mut other = Raw::connect(&server);
    // The asking client gets no reply: its connection closes.
    assert!(cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query::<Value>(&mut c)
        .is_err());
    assert!(other.is_closed(), "other clients are disconnected too");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------
// LATENCY HISTOGRAM, lazyfree fields
// ---------------------------------------------------------------------------

#[test]
fn latency_histogram_reports_calls_per_command_since_resetstat() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("CONFIG RESETSTAT");
    w.cmd("SET a b");
    w.cmd("SET c d");
    w.cmd("CLIENT ID");
    // Only commands that ran; a container stands for its subcommands;
    // unknown names are skipped. The buckets are timing-dependent: check
    // the shape and that the cumulative count ends at `calls`.
    let reply = w.cmd("LATENCY HISTOGRAM blabla set client");
    let lines: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(lines[0], "*4", "{reply}");
    assert_eq!(&lines[1..3], ["$3", "set"]);
    assert_eq!(
        &lines[3..9],
        ["*4", "$5", "calls", ":2", "$14", "histogram_usec"]
    );
    let pos = lines.iter().position(|l| *l == "client|id").expect(&reply);
    assert_eq!(
        &lines[pos + 1..pos + 7],
        ["*4", "$5", "calls", ":1", "$14", "histogram_usec"]
    );
    let set_buckets: Vec<i64> = {
        let n: usize = lines[9][1..].parse().unwrap();
        lines[10..10 + n]
            .iter()
            .map(|l| l[1..].parse().unwrap())
            .collect()
    };
    assert_eq!(*set_buckets.last().unwrap(), 2, "{reply}");
    assert!(
        set_buckets.chunks(2).all(|p| p[0] >= 1),
        "edges in whole µs"
    );
    assert_eq!(w.cmd("LATENCY HISTOGRAM get"), "*0\r\n");
    w.cmd("CONFIG RESETSTAT");
    // RESETSTAT empties them; only the RESETSTAT itself is left.
    let reply = w.cmd("LATENCY HISTOGRAM");
    assert!(
        reply.starts_with("*2\r\n$16\r\nconfig|resetstat\r\n"),
        "{reply}"
    );
    w.cmd("CONFIG SET latency-tracking no");
    w.cmd("SET a b");
    assert_eq!(w.cmd("LATENCY HISTOGRAM set"), "*0\r\n");
}

#[test]
fn info_memory_reports_no_pending_lazyfree_work() {
    let server = start();
    let mut c = conn(&server);
    let info: String = cmd("INFO").arg("memory").query(&mut c).unwrap();
    assert_eq!(
        info_field(&info, "lazyfree_pending_objects").as_deref(),
        Some("0")
    );
    assert_eq!(info_field(&info, "lazyfreed_objects").as_deref(), Some("0"));
    assert_eq!(
        info_field(&info, "active_defrag_running").as_deref(),
        Some("0")
    );
}

#[test]
fn a_huge_command_does_not_pin_a_big_query_buffer() {
    // 100,000 arguments in one SADD grow the query buffer past 1 MB. Once
    // consumed and the reads are small again, the buffer goes back to its
    // usual size (Redis's lazyfree unit checks used_memory falls back).
    let server = start();
    let mut c = conn(&server);
    let mut sadd = cmd("SADD");
    sadd.arg("myset");
    for i in 0..100_000 {
        sadd.arg(i);
    }
    let added: i64 = sadd.query(&mut c).unwrap();
    assert_eq!(added, 100_000);
    let free = |c: &mut redis::Connection| -> usize {
        let line: String = cmd("CLIENT").arg("INFO").query(c).unwrap();
        let field = line
            .split(' ')
            .find_map(|f| f.strip_prefix("qbuf-free="))
            .unwrap();
        field.parse().unwrap()
    };
    let settled = (0..10).map(|_| free(&mut c)).find(|&n| n < 64 * 1024);
    assert!(settled.is_some(), "the query buffer stayed big");
}

#[test]
fn lowering_maxmemory_evicts_at_once() {
    // `updateMaxmemory` evicts before CONFIG SET answers: the subscriber
    // sees `evicted` with no further command sent.
    let server = start();
    let mut c = conn(&server);
    let _: () = cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("Ee")
        .query(&mut c)
        .unwrap();
    let _: () = cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query(&mut c)
        .unwrap();
    let mut sub = Wire::connect(&server);
    sub.cmd("PSUBSCRIBE *");
    let _: () = cmd("SET").arg("foo").arg("bar").query(&mut c).unwrap();
    let _: () = cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query(&mut c)
        .unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(5)));
    assert_eq!(
        sub.reply(),
        "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$22\r\n__keyevent@0__:evicted\r\n$3\r\nfoo\r\n"
    );
    let _: () = cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query(&mut c)
        .unwrap();
}

/// CONFIG SET port moves the listening socket (Redis's `applyPort`): new
/// connections go to the new port, connected clients stay; a port that
/// cannot be bound is refused and everything stays as it was.
#[test]
fn config_set_port_rebinds_and_rolls_back_when_the_port_is_taken() {
    let server = start();
    let mut w = Wire::connect(&server);
    // A port that is free right now (the OS picks it, we let it go).
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(w.cmd(&format!("CONFIG SET port {free}")), "+OK\r\n");
    // The connection that asked is still served; the new port answers.
    assert_eq!(
        w.cmd("CONFIG GET port"),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{free}\r\n",
            free.to_string().len()
        )
    );
    let moved = TcpStream::connect(("127.0.0.1", free)).expect("the new port");
    drop(moved);
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{free}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    // The old port is closed once the accept task sees the change.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(server.addr).is_ok() {
        assert!(Instant::now() < deadline, "the old port still accepts");
        std::thread::sleep(Duration::from_millis(10));
    }

    // A port someone else holds: Redis's error, nothing changes.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    assert_eq!(
        w.cmd(&format!("CONFIG SET port {busy} hz 50")),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - \
         Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(w.cmd("CONFIG GET hz"), "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let mut again = redis::Client::open(format!("redis://127.0.0.1:{free}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let port: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query(&mut again)
        .unwrap();
    assert_eq!(port, ["port", &free.to_string()]);
}

/// CONFIG REWRITE keeps comments and unknown lines, rewrites known
/// directives in place (dropping their repeats) and appends what differs
/// from the defaults under Redis's marker line.
#[test]
fn config_rewrite_updates_the_file_in_place() {
    let plain = start();
    let mut w = Wire::connect(&plain);
    assert_eq!(
        w.cmd("CONFIG REWRITE"),
        "-ERR The server is running without a config file\r\n"
    );
    let dir = scratch_dir();
    let path = dir.join("redis.conf");
    std::fs::write(
        &path,
        "# my settings\n\nhz 20\nrename-command FOO BAR\nmaxmemory-policy allkeys-lru\nhz 25\nsave 100 1\n",
    )
    .unwrap();
    let server = start_with(|cfg| {
        cfg.config_file = Some(path.clone());
        cfg.hz = 20;
    });
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("CONFIG SET hz 30 maxmemory-samples 7"), "+OK\r\n");
    let mut c = conn(&server);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("save")
        .arg("60 5 300 10")
        .arg("client-output-buffer-limit")
        .arg("pubsub 1mb 2mb 3")
        .query(&mut c)
        .unwrap();
    assert_eq!(w.cmd("CONFIG REWRITE"), "+OK\r\n");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "# my settings",
            "",
            "hz 30",
            "rename-command FOO BAR",
            "maxmemory-policy noeviction",
            "",
            "save 60 5",
        ],
        "{text}"
    );
    assert_eq!(lines[8], "# Generated by CONFIG REWRITE", "{text}");
    assert_eq!(lines[7], "", "{text}");
    assert!(lines.contains(&"maxmemory-samples 7"), "{text}");
    assert!(lines.contains(&"save 300 10"), "{text}");
    assert!(
        lines.contains(&"client-output-buffer-limit normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2097152 3"),
        "{text}"
    );
    assert!(!text.contains("tcp-keepalive"), "defaults stay out: {text}");
    // Loading the result gives the running configuration back.
    let mut reloaded = redis_anatomy::server::Config::default();
    let body: String = lines
        .iter()
        .filter(|l| !l.starts_with("rename-command"))
        .map(|l| format!("{l}\n"))
        .collect();
    reloaded.load_from_str(&body).unwrap();
    assert_eq!(reloaded.hz, 30);
    assert_eq!(reloaded.maxmemory_samples, 7);
    // A second rewrite changes nothing.
    assert_eq!(w.cmd("CONFIG REWRITE"), "+OK\r\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}
