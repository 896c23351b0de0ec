//! ACL: users, rules, enforcement, the log, the ACL file. Replies are
//! the ones redis-server 7.0.15 sends (checked side by side).

mod common;
use common::*;

use std::time::Duration;

/// Log in on a fresh raw connection as `user`/`pass`.
fn login(server: &redis_anatomy::server::ServerHandle, user: &str, pass: &str) -> Wire {
    let mut w = Wire::connect(server);
    assert_eq!(w.cmd(&format!("AUTH {user} {pass}")), "+OK\r\n");
    w
}

#[test]
fn default_user_is_described_as_redis_describes_it() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(
        w.cmd("ACL LIST"),
        "*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
    );
    assert_eq!(w.cmd("ACL WHOAMI"), "$7\r\ndefault\r\n");
    assert_eq!(w.cmd("ACL USERS"), "*1\r\n$7\r\ndefault\r\n");
    assert_eq!(
        w.cmd("ACL GETUSER default"),
        "*12\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$6\r\nnopass\r\n$9\r\npasswords\r\n*0\r\n\
         $8\r\ncommands\r\n$5\r\n+@all\r\n$4\r\nkeys\r\n$2\r\n~*\r\n$8\r\nchannels\r\n$2\r\n&*\r\n\
         $9\r\nselectors\r\n*0\r\n"
    );
    assert_eq!(w.cmd("ACL GETUSER nobody"), "$-1\r\n");
}

#[test]
fn setuser_rules_round_trip_through_acl_list() {
    let server = start();
    let mut c = conn(&server);
    let ok: String = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "alice", "on", ">p1", "~foo*", "%R~bar", "&chan*", "+@hash", "-hset", "(~x",
            "+set)",
        ])
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let list: Vec<String> = redis::cmd("ACL").arg("LIST").query(&mut c).unwrap();
    assert_eq!(
        list[0],
        "user alice on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a \
         ~foo* %R~bar resetchannels &chan* -@all +@hash -hset (~x resetchannels -@all +set)"
    );
    // A new user with nothing: off, no channels (acl-pubsub-default).
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "bob"])
        .query(&mut c)
        .unwrap();
    let list: Vec<String> = redis::cmd("ACL").arg("LIST").query(&mut c).unwrap();
    assert_eq!(list[1], "user bob off resetchannels -@all");
}

#[test]
fn setuser_errors_are_redis_texts_and_change_nothing() {
    let server = start();
    let mut w = Wire::connect(&server);
    let cases = [
        ("ACL SETUSER z foo", "-ERR Error in ACL SETUSER modifier 'foo': Syntax error\r\n"),
        (
            "ACL SETUSER z +nope",
            "-ERR Error in ACL SETUSER modifier '+nope': Unknown command or category name in ACL\r\n",
        ),
        (
            "ACL SETUSER z #abc",
            "-ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 \
             characters and contain only lowercase hexadecimal characters\r\n",
        ),
        (
            "ACL SETUSER z <nope",
            "-ERR Error in ACL SETUSER modifier '<nope': The password you are trying to remove \
             from the user does not exist\r\n",
        ),
        (
            "ACL SETUSER z (+get",
            "-ERR Unmatched parenthesis in acl selector starting at '(+get'.\r\n",
        ),
        (
            "ACL SETUSER z +config|get|x",
            "-ERR Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a \
             subcommand is not supported\r\n",
        ),
        (
            "ACL DELUSER default",
            "-ERR The 'default' user cannot be removed\r\n",
        ),
        ("ACL CAT nope", "-ERR Unknown category 'nope'\r\n"),
        ("ACL DRYRUN nope get", "-ERR User 'nope' not found\r\n"),
        ("ACL DRYRUN default nope", "-ERR Command 'nope' not found\r\n"),
        (
            "ACL DRYRUN default get",
            "-ERR wrong number of arguments for 'get' command\r\n",
        ),
        (
            "ACL GENPASS 0",
            "-ERR ACL GENPASS argument must be the number of bits for the output password, a \
             positive number up to 4096\r\n",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(w.cmd(cmd), want, "{cmd}");
    }
    // None of the failed SETUSERs created `z`.
    assert_eq!(w.cmd("ACL USERS"), "*1\r\n$7\r\ndefault\r\n");
    assert_eq!(
        w.cmd("ACL SETUSER y ~* ~x"),
        "-ERR Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or the \
         'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start \
         with an empty list of patterns\r\n"
    );
}

#[test]
fn commands_keys_and_channels_are_enforced_with_noperm() {
    let server = start();
    let mut admin = Wire::connect(&server);
    assert_eq!(
        admin.cmd("ACL SETUSER dave on >pw ~k* &ch* +get +set +publish +psubscribe +multi +exec"),
        "+OK\r\n"
    );
    let mut d = login(&server, "dave", "pw");
    assert_eq!(d.cmd("SET k1 v"), "+OK\r\n");
    assert_eq!(d.cmd("GET k1"), "$1\r\nv\r\n");
    assert_eq!(
        d.cmd("SET x 1"),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    assert_eq!(
        d.cmd("DEL k1"),
        "-NOPERM this user has no permissions to run the 'del' command\r\n"
    );
    assert_eq!(d.cmd("PUBLISH chat hi"), ":0\r\n");
    assert_eq!(
        d.cmd("PUBLISH x hi"),
        "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    );
    // A PSUBSCRIBE pattern must equal an allowed pattern, not match it.
    assert_eq!(
        d.cmd("PSUBSCRIBE c*"),
        "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    );
    // Refused while queueing: the transaction is doomed.
    assert_eq!(d.cmd("MULTI"), "+OK\r\n");
    assert_eq!(
        d.cmd("DEL k1"),
        "-NOPERM this user has no permissions to run the 'del' command\r\n"
    );
    assert_eq!(
        d.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // The keys of a write need a pattern that grants writing.
    assert_eq!(admin.cmd("ACL SETUSER dave resetkeys %R~k*"), "+OK\r\n");
    assert_eq!(d.cmd("GET k1"), "$1\r\nv\r\n");
    assert_eq!(
        d.cmd("SET k1 v"),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
}

#[test]
fn dryrun_answers_without_running() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("ACL SETUSER alice on ~foo* &chan* +get +set +select|0 (~x +set)");
    assert_eq!(w.cmd("ACL DRYRUN alice get foo"), "+OK\r\n");
    assert_eq!(w.cmd("ACL DRYRUN alice set x 1"), "+OK\r\n");
    assert_eq!(w.cmd("EXISTS x"), ":0\r\n");
    assert_eq!(
        w.cmd("ACL DRYRUN alice get zz"),
        "$51\r\nThis user has no permissions to access the 'zz' key\r\n"
    );
    assert_eq!(
        w.cmd("ACL DRYRUN alice publish chanx 1"),
        "$57\r\nThis user has no permissions to run the 'publish' command\r\n"
    );
    assert_eq!(w.cmd("ACL DRYRUN alice select 0"), "+OK\r\n");
    assert_eq!(
        w.cmd("ACL DRYRUN alice select 1"),
        "$56\r\nThis user has no permissions to run the 'select' command\r\n"
    );
}

#[test]
fn auth_and_hello_auth_switch_users_and_reset_returns_to_default() {
    let server = start();
    let mut admin = conn(&server);
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "eve", "on", ">pw", "~*", "&*", "+@all"])
        .query(&mut admin)
        .unwrap();
    let mut w = Wire::connect(&server);
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(w.cmd("AUTH eve nope"), wrongpass);
    assert_eq!(w.cmd("AUTH nobody pw"), wrongpass);
    // One argument is the default user's password; it has none.
    assert_eq!(
        w.cmd("AUTH x"),
        "-ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?\r\n"
    );
    assert!(w.cmd("HELLO 2 AUTH eve pw").starts_with("*14\r\n"));
    assert_eq!(w.cmd("ACL WHOAMI"), "$3\r\neve\r\n");
    let info = w.cmd("CLIENT INFO");
    assert!(info.contains(" user=eve "), "{info}");
    assert_eq!(w.cmd("RESET"), "+RESET\r\n");
    assert_eq!(w.cmd("ACL WHOAMI"), "$7\r\ndefault\r\n");
    // A disabled user cannot log in; its logged-in clients stay (7.0).
    let mut e = login(&server, "eve", "pw");
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "eve", "off"])
        .query(&mut admin)
        .unwrap();
    assert_eq!(e.cmd("PING"), "+PONG\r\n");
    assert_eq!(w.cmd("AUTH eve pw"), wrongpass);
}

#[test]
fn requirepass_is_the_default_users_password() {
    let server = start_with(|c| c.requirepass = Some(b"s3cret".to_vec()));
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(w.cmd("AUTH default s3cret"), "+OK\r\n");
    assert_eq!(
        w.cmd("ACL LIST"),
        "*1\r\n$93\r\nuser default on #1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 ~* &* +@all\r\n"
    );
    // CONFIG SET requirepass "" gives `default` back its nopass.
    assert_eq!(w.cmd("CONFIG SET requirepass "), "+OK\r\n");
    assert_eq!(
        w.cmd("ACL LIST"),
        "*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
    );
    let mut fresh = Wire::connect(&server);
    assert_eq!(fresh.cmd("PING"), "+PONG\r\n");
}

#[test]
fn deleting_a_user_disconnects_its_clients() {
    let server = start();
    let mut admin = Wire::connect(&server);
    admin.cmd("ACL SETUSER eve on >pw ~* &* +@all");
    let mut other = login(&server, "eve", "pw");
    let mut me = login(&server, "eve", "pw");
    // The client that deletes its own user gets the reply, then is closed.
    assert_eq!(me.cmd("ACL DELUSER eve nobody"), ":1\r\n");
    other.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    use std::io::BufRead;
    assert_eq!(other.reader.read_line(&mut line).unwrap_or(0), 0, "{line}");
    me.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    assert_eq!(me.reader.read_line(&mut line).unwrap_or(0), 0, "{line}");
    assert_eq!(admin.cmd("PING"), "+PONG\r\n");
}

#[test]
fn client_kill_user_kills_that_users_clients() {
    let server = start();
    let mut admin = Wire::connect(&server);
    admin.cmd("ACL SETUSER eve on >pw ~* &* +@all");
    let _e = login(&server, "eve", "pw");
    assert_eq!(admin.cmd("CLIENT KILL USER eve"), ":1\r\n");
    assert_eq!(admin.cmd("CLIENT KILL USER default"), ":0\r\n");
    assert_eq!(
        admin.cmd("CLIENT KILL USER nobody"),
        "-ERR No such user 'nobody'\r\n"
    );
}

#[test]
fn acl_log_records_refusals_newest_first_and_groups_repeats() {
    let server = start();
    let mut admin = Wire::connect(&server);
    admin.cmd("ACL SETUSER dave on >pw ~k* +get");
    let mut d = login(&server, "dave", "pw");
    d.cmd("DEL a");
    d.cmd("DEL a");
    d.cmd("GET x");
    d.cmd("AUTH dave wrong");
    let mut c = conn(&server);
    let log: Vec<redis::Value> = redis::cmd("ACL").arg("LOG").query(&mut c).unwrap();
    assert_eq!(log.len(), 3);
    let fields = |v: &redis::Value| -> Vec<(String, String)> {
        let redis::Value::Array(items) = v else {
            panic!("{v:?}")
        };
        items
            .chunks(2)
            .map(|p| {
                let k: String = redis::from_redis_value(&p[0]).unwrap();
                let v: String = redis::from_redis_value(&p[1]).unwrap();
                (k, v)
            })
            .collect()
    };
    let auth = fields(&log[0]);
    let names: Vec<&str> = auth.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "count",
            "reason",
            "context",
            "object",
            "username",
            "age-seconds",
            "client-info"
        ]
    );
    assert_eq!(auth[1].1, "auth");
    assert_eq!(auth[3].1, "AUTH");
    let key = fields(&log[1]);
    assert_eq!((key[1].1.as_str(), key[3].1.as_str()), ("key", "x"));
    let del = fields(&log[2]);
    assert_eq!(del[0].1, "2", "two DELs are one entry");
    assert_eq!((del[1].1.as_str(), del[3].1.as_str()), ("command", "del"));
    assert_eq!(del[4].1, "dave");
    assert!(del[6].1.contains(" cmd=del user=dave "), "{}", del[6].1);
    assert_eq!(admin.cmd("ACL LOG 1").lines().next(), Some("*1"));
    assert_eq!(admin.cmd("ACL LOG RESET"), "+OK\r\n");
    assert_eq!(admin.cmd("ACL LOG"), "*0\r\n");
}

#[test]
fn slowlog_and_monitor_show_passwords_redacted() {
    let server = start_with(|c| c.slowlog_log_slower_than = 0);
    let mut mon = Wire::connect(&server);
    assert_eq!(mon.cmd("MONITOR"), "+OK\r\n");
    let mut w = Wire::connect(&server);
    w.cmd("AUTH someone secret1");
    w.cmd("HELLO 2 AUTH default secret2");
    w.cmd("ACL SETUSER carol on >secret3");
    mon.set_read_timeout(Some(Duration::from_secs(5)));
    let first = mon.reply();
    assert!(
        first.ends_with(" \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"),
        "{first}"
    );
    let second = mon.reply();
    assert!(
        second.ends_with(" \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"),
        "{second}"
    );
    let slowlog = w.cmd("SLOWLOG GET 3");
    for secret in ["secret1", "secret2", "secret3", "someone"] {
        assert!(!slowlog.contains(secret), "{slowlog}");
    }
    assert_eq!(
        slowlog.matches("(redacted)").count(),
        2 + 2 + 3,
        "{slowlog}"
    );
}

#[test]
fn acl_save_and_load_use_the_acl_file() {
    let dir = scratch_dir();
    let path = dir.join("users.acl");
    std::fs::write(
        &path,
        "user bob on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~b* +get\n",
    )
    .unwrap();
    let p = path.to_str().unwrap().to_string();
    let server = start_with(|c| c.aclfile = p.clone());
    let mut w = Wire::connect(&server);
    // Loaded at startup; `x` is bob's password.
    let mut bob = login(&server, "bob", "x");
    assert_eq!(bob.cmd("GET b1"), "$-1\r\n");
    w.cmd("ACL SETUSER carol on nopass +@read");
    assert_eq!(w.cmd("ACL SAVE"), "+OK\r\n");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "user bob on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~b* \
         resetchannels -@all +get\n\
         user carol on nopass resetchannels -@all +@read\n\
         user default on nopass ~* &* +@all\n"
    );
    // A broken file changes nothing.
    std::fs::write(&path, "user dan on bogus\n").unwrap();
    let err = w.cmd("ACL LOAD");
    assert!(
        err.starts_with(&format!(
            "-ERR {p}:1: Syntax error. WARNING: ACL errors detected"
        )),
        "{err}"
    );
    assert_eq!(
        w.cmd("ACL USERS"),
        "*3\r\n$3\r\nbob\r\n$5\r\ncarol\r\n$7\r\ndefault\r\n"
    );
    // A good one replaces every user; bob's client is disconnected.
    std::fs::write(&path, "user dan on nopass +ping\n").unwrap();
    assert_eq!(w.cmd("ACL LOAD"), "+OK\r\n");
    assert_eq!(w.cmd("ACL USERS"), "*2\r\n$3\r\ndan\r\n$7\r\ndefault\r\n");
    bob.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    use std::io::BufRead;
    assert_eq!(bob.reader.read_line(&mut line).unwrap_or(0), 0, "{line}");
    // Still served: default kept its object.
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
}

#[test]
fn acl_save_without_an_acl_file_says_so() {
    let server = start();
    let mut w = Wire::connect(&server);
    let err = w.cmd("ACL SAVE");
    assert!(
        err.starts_with("-ERR This Redis instance is not configured to use an ACL file."),
        "{err}"
    );
}

#[test]
fn categories_match_command_info() {
    let server = start();
    let mut c = conn(&server);
    let cats: Vec<String> = redis::cmd("ACL").arg("CAT").query(&mut c).unwrap();
    assert_eq!(cats.len(), 21);
    assert_eq!(cats[0], "keyspace");
    let dangerous: Vec<String> = redis::cmd("ACL")
        .arg(&["CAT", "dangerous"])
        .query(&mut c)
        .unwrap();
    for name in ["flushall", "keys", "config|set", "debug"] {
        assert!(
            dangerous.iter().any(|d| d == name),
            "{name} in {dangerous:?}"
        );
    }
    assert!(!dangerous.iter().any(|d| d == "get"));
}

#[test]
fn genpass_returns_hex_of_the_requested_size() {
    let server = start();
    let mut c = conn(&server);
    let p: String = redis::cmd("ACL").arg("GENPASS").query(&mut c).unwrap();
    assert_eq!(p.len(), 64);
    assert!(p.bytes().all(|b| b.is_ascii_hexdigit()));
    let p: String = redis::cmd("ACL")
        .arg(&["GENPASS", "5"])
        .query(&mut c)
        .unwrap();
    assert_eq!(p.len(), 2);
    let q: String = redis::cmd("ACL").arg("GENPASS").query(&mut c).unwrap();
    assert_ne!(p, q);
}

#[test]
fn redis_cli_logs_in_with_user() {
    let Some(cli) = interop_tool("redis-cli") else {
        return;
    };
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("ACL SETUSER ann on >pw ~* &* +@all -flushall");
    let out = std::process::Command::new(cli)
        .args([
            "-p",
            &server.addr.port().to_string(),
            "--user",
            "ann",
            "--pass",
            "pw",
            "--no-auth-warning",
            "ACL",
            "WHOAMI",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ann\n");
}

#[test]
fn exec_checks_queued_commands_again() {
    let server = start();
    let mut admin = Wire::connect(&server);
    admin.cmd("ACL SETUSER alice on >pw ~* +@all");
    let mut a = login(&server, "alice", "pw");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("SET a:1 A"), "+QUEUED\r\n");
    assert_eq!(a.cmd("SET b:1 B"), "+QUEUED\r\n");
    // Rules change between queueing and EXEC.
    admin.cmd("ACL SETUSER alice resetkeys ~a:*");
    assert_eq!(
        a.cmd("EXEC"),
        "*2\r\n+OK\r\n-NOPERM ACLs rules changed between the moment the transaction was \
         accumulated and the EXEC call. This command is no longer allowed for the following \
         reason: no permission to touch the specified keys\r\n"
    );
    assert_eq!(admin.cmd("EXISTS a:1 b:1"), ":1\r\n");
}

#[test]
fn config_set_of_a_password_is_redacted_in_the_slowlog() {
    let server = start_with(|c| c.slowlog_log_slower_than = 0);
    let mut w = Wire::connect(&server);
    w.cmd("SLOWLOG RESET");
    w.cmd("CONFIG SET masterauth hunter2");
    let log = w.cmd("SLOWLOG GET 1");
    assert!(
        log.contains("$6\r\nCONFIG\r\n$3\r\nSET\r\n$10\r\nmasterauth\r\n$10\r\n(redacted)\r\n"),
        "{log}"
    );
}

#[test]
fn user_lines_of_the_config_file_create_users() {
    let server = start_with(|c| {
        c.load_from_str("user alice on >secret ~* &* +@all -flushall\n")
            .unwrap()
    });
    let mut w = login(&server, "alice", "secret");
    assert_eq!(
        w.cmd("FLUSHALL"),
        "-NOPERM this user has no permissions to run the 'flushall' command\r\n"
    );
    let users = w.cmd("ACL USERS");
    assert_eq!(users, "*2\r\n$5\r\nalice\r\n$7\r\ndefault\r\n");
}

#[test]
fn subscribers_outside_the_new_channel_rules_are_disconnected() {
    let server = start();
    let mut admin = Wire::connect(&server);
    admin.cmd("ACL SETUSER ps on >pw ~* +@all resetchannels &foo:1 &bar:*");
    let mut kept = login(&server, "ps", "pw");
    assert!(kept.cmd("PSUBSCRIBE bar:*").starts_with("*3\r\n"));
    let mut doomed = login(&server, "ps", "pw");
    assert!(doomed.cmd("SUBSCRIBE foo:1").starts_with("*3\r\n"));
    // `&foo:1` goes, `&bar:*` stays: only the foo:1 subscriber is cut.
    assert_eq!(admin.cmd("ACL SETUSER ps resetchannels &bar:*"), "+OK\r\n");
    doomed.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    use std::io::BufRead;
    assert_eq!(doomed.reader.read_line(&mut line).unwrap_or(0), 0, "{line}");
    assert_eq!(admin.cmd("PUBLISH bar:x hi"), ":1\r\n");
    assert!(kept.reply().contains("bar:x"));
}

/// A script runs its commands with its caller's permissions: each refusal
/// is the script's own error (with the script suffix under redis.call, bare
/// under redis.pcall) and an ACL LOG entry with context `lua`; texts as
/// redis-server 7.0.15 sends them.
#[test]
fn scripts_run_with_their_callers_permissions() {
    let server = start();
    let mut admin = conn(&server);
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "u", "on", "nopass", "+eval", "+get", "+publish", "~k*", "&ch",
        ])
        .query(&mut admin)
        .unwrap();
    let mut c = conn(&server);
    let _: () = redis::cmd("AUTH").arg("u").arg("x").query(&mut c).unwrap();
    let eval_err = |c: &mut redis::Connection, script: &str| -> String {
        let e = redis::cmd("EVAL")
            .arg(script)
            .arg(0)
            .query::<redis::Value>(c)
            .unwrap_err();
        format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
    };
    let set = eval_err(&mut c, "return redis.call('set','k','v')");
    assert!(
        set.starts_with(
            "ERR The user executing the script can't run this command or subcommand script: "
        ),
        "{set}"
    );
    assert_eq!(
        eval_err(&mut c, "return redis.pcall('set','k','v')"),
        "ERR The user executing the script can't run this command or subcommand"
    );
    let key = eval_err(&mut c, "return redis.call('get','zz')");
    assert!(
        key.starts_with(
            "ERR The user executing the script can't access at least one of the keys \
             mentioned in the command arguments script: "
        ),
        "{key}"
    );
    let channel = eval_err(&mut c, "return redis.call('publish','zz','m')");
    assert!(
        channel.starts_with(
            "ERR The user executing the script can't publish to the channel mentioned in \
             the command script: "
        ),
        "{channel}"
    );
    // Allowed ones still run.
    let v: Option<String> = redis::cmd("EVAL")
        .arg("return redis.call('get','k1')")
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, None);
    let log: Vec<redis::Value> = redis::cmd("ACL")
        .arg("LOG")
        .arg(1)
        .query(&mut admin)
        .unwrap();
    let text = format!("{log:?}");
    assert!(
        text.contains("channel") && text.contains("lua") && text.contains("zz"),
        "{text}"
    );
}

/// Key permissions follow each key's key-spec flags, as Redis 7.0's
/// `ACLSelectorCheckKey`: `access` needs read, `insert`/`delete`/`update`
/// need write, a plain `RO` key (EXISTS) only a matching pattern. The
/// expected outcomes are redis-server 7.0.15's for the same user.
#[test]
fn key_permissions_follow_key_spec_flags() {
    let server = start();
    let mut admin = Wire::connect(&server);
    assert_eq!(
        admin.cmd("ACL SETUSER v on nopass +@all %R~r* %W~w* ~a*"),
        "+OK\r\n"
    );
    let mut w = login(&server, "v", "x");
    let denied =
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
    for (line, allowed) in [
        ("GETDEL r1", false),
        ("GETDEL w1", false),
        ("GETDEL a1", true),
        ("EXISTS r1", true),
        ("EXISTS w1", true),
        ("EXISTS z1", false),
        ("SET w1 x", true),
        ("SET r1 x", false),
        ("GET w1", false),
        ("LPUSH w2 x", true),
        ("APPEND w1 y", true),
        ("COPY r1 w3", true),
        ("COPY w1 r3", false),
        ("SET w1 v GET", false),
    ] {
        let reply = w.cmd(line);
        assert_eq!(reply == denied, !allowed, "{line}: {reply}");
    }
}
