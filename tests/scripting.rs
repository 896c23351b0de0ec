//! Lua scripting: EVAL and friends, SCRIPT, FUNCTION/FCALL, through the
//! `redis` crate (including its `Script` helper) and raw RESP where the
//! exact bytes matter. Every error text here was checked against
//! redis-server 7.0.15.

mod common;

use common::*;
use redis::Commands;
use redis_anatomy::server::config::ProtectedAction;
use redis_anatomy::server::Config;

fn eval(w: &mut Wire, body: &str, rest: &[&str]) -> String {
    let mut words: Vec<&[u8]> = vec![b"EVAL", body.as_bytes()];
    words.extend(rest.iter().map(|s| s.as_bytes()));
    w.call(&words)
}

#[test]
fn eval_converts_between_lua_and_resp() {
    let server = start();
    let mut c = conn(&server);
    let keys_and_args: Vec<String> = redis::cmd("EVAL")
        .arg("return {KEYS[1], KEYS[2], ARGV[1]}")
        .arg(2)
        .arg("k1")
        .arg("k2")
        .arg("a1")
        .query(&mut c)
        .unwrap();
    assert_eq!(keys_and_args, ["k1", "k2", "a1"]);

    let mut w = Wire::connect(&server);
    // Numbers are truncated to integers; an array stops at its first nil;
    // false is a nil bulk, true is 1; {ok=}/{err=} are status and error.
    assert_eq!(eval(&mut w, "return 3.99", &["0"]), ":3\r\n");
    assert_eq!(eval(&mut w, "return -3.5", &["0"]), ":-3\r\n");
    assert_eq!(
        eval(&mut w, "return 1.5e20", &["0"]),
        ":-9223372036854775808\r\n"
    );
    assert_eq!(
        eval(&mut w, "return {1,2,nil,4}", &["0"]),
        "*2\r\n:1\r\n:2\r\n"
    );
    assert_eq!(
        eval(&mut w, "return {1,{2,{3,'x'}},'y'}", &["0"]),
        "*3\r\n:1\r\n*2\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n$1\r\ny\r\n"
    );
    assert_eq!(
        eval(&mut w, "return {false, true}", &["0"]),
        "*2\r\n$-1\r\n:1\r\n"
    );
    assert_eq!(
        eval(&mut w, "return redis.status_reply('FINE')", &["0"]),
        "+FINE\r\n"
    );
    assert_eq!(
        eval(&mut w, "return redis.error_reply('My Error')", &["0"]),
        "-My Error\r\n"
    );
    // Numeric arguments are sent with 17 significant digits.
    assert_eq!(
        eval(
            &mut w,
            "redis.call('set','n',9007199254740991) redis.call('append','n',':') redis.call('append','n',0.1) return redis.call('get','n')",
            &["0"]
        ),
        "$36\r\n9007199254740991:0.10000000000000001\r\n"
    );
    // RESP to Lua: a nil bulk is false, a status is {ok=...}.
    assert_eq!(
        eval(
            &mut w,
            "return tostring(redis.call('get', 'nokey'))",
            &["0"]
        ),
        "$5\r\nfalse\r\n"
    );
    assert_eq!(
        eval(
            &mut w,
            "local t = redis.call('ping'); return type(t)..t.ok",
            &["0"]
        ),
        "$9\r\ntablePONG\r\n"
    );
    // RESP3 inside the script: HGETALL is a map.
    w.cmd("HSET h a 1");
    assert_eq!(
        eval(
            &mut w,
            "redis.setresp(3); return redis.call('hgetall','h')['map']['a']",
            &["0"]
        ),
        "$1\r\n1\r\n"
    );
    // And a RESP3 caller gets RESP3 types back.
    let mut w3 = Wire::resp3(&server);
    assert_eq!(eval(&mut w3, "return false", &["0"]), "#f\r\n");
    assert_eq!(eval(&mut w3, "return nil", &["0"]), "_\r\n");
    assert_eq!(eval(&mut w3, "return {double=1.5}", &["0"]), ",1.5\r\n");
}

#[test]
fn script_errors_name_the_script_and_line_as_redis() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("SET s abc");
    let cases: &[(&str, &str)] = &[
        (
            "return redis.call('incr','s')",
            "-ERR value is not an integer or out of range script: c243b9f46db13ba8f69da41b45a77708832babed, on @user_script:1.\r\n",
        ),
        (
            "return a",
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: bbfcd1ececc90deec823f7fb730e4bfb2a4ba625, on @user_script:1.\r\n",
        ),
        (
            "a=1",
            "-ERR user_script:1: Attempt to modify a readonly table script: 86eda770a6060824b090dd4df091e3bd4121279c, on @user_script:1.\r\n",
        ),
        (
            "return redis.call('nosuch')",
            "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n",
        ),
        (
            "error({err='X boom'})",
            "-X boom script: f0acf9d1ce814691e2b2cc3296a806e16e047e31, on @user_script:1.\r\n",
        ),
        (
            "redis.call('eval','return 1',0)",
            "-ERR This Redis command is not allowed from script script: 4e742736dbbfce02673a8a745135968687d21e52, on @user_script:1.\r\n",
        ),
        (
            "return redis.call('incr')",
            "-ERR Wrong number of args calling Redis command from script script: 5ec1df981d6970587b00ab8f88abcfbd2ca726e7, on @user_script:1.\r\n",
        ),
        (
            "return redis.call('get',{})",
            "-ERR Lua redis lib command arguments must be strings or integers script: 4deb073a545207f215b56dcef5ca825f9f406808, on @user_script:1.\r\n",
        ),
        (
            "return setmetatable(_G, {})",
            "-ERR Attempt to modify a readonly table script: 6272db8503d65d1a388d09238bbfa63398419ac5, on @user_script:1.\r\n",
        ),
        (
            "\n\nerror('on three')",
            "-ERR user_script:3: on three script: 80fca03b5b34e59914f6474259e95fb30ca288bd, on @user_script:3.\r\n",
        ),
        (
            "x = ",
            "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n",
        ),
        (
            "#!lua flags=bogus\nreturn 1",
            "-ERR Unexpected flag in script shebang: bogus\r\n",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(&eval(&mut w, body, &["0"]), expected, "{body}");
    }
    // redis.pcall returns the error as a table; pcall sees its text.
    assert_eq!(
        eval(&mut w, "return redis.pcall('incr','s')", &["0"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        eval(
            &mut w,
            "local ok, e = pcall(redis.call,'incr','s'); return type(e)",
            &["0"]
        ),
        "$6\r\nstring\r\n"
    );
    // Nothing a script did to the interpreter survives it.
    assert_eq!(
        eval(&mut w, "return type(os)", &["0"]).lines().next().unwrap(),
        "-ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: 88bfcb2247db0b6fa4925f3cddc3fd0651459f99, on @user_script:1."
    );
    assert_eq!(
        eval(&mut w, "return 1", &["-1"]),
        "-ERR Number of keys can't be negative\r\n"
    );
    assert_eq!(
        eval(&mut w, "return 1", &["2", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
}

#[test]
fn script_cache_load_exists_flush_and_the_script_helper() {
    let server = start();
    let mut c = conn(&server);
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return 1")
        .query(&mut c)
        .unwrap();
    assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    let exists: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(&sha)
        .arg(sha.to_uppercase())
        .arg("x")
        .query(&mut c)
        .unwrap();
    assert_eq!(exists, [1, 1, 0]);
    let one: i64 = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(0)
        .query(&mut c)
        .unwrap();
    assert_eq!(one, 1);
    let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut c).unwrap();
    let err = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(0)
        .query::<i64>(&mut c)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOSCRIPT"));

    // The redis crate's Script: EVALSHA first, EVAL on NOSCRIPT.
    let script = redis::Script::new("return redis.call('incrby', KEYS[1], ARGV[1])");
    let n: i64 = script.key("counter").arg(5).invoke(&mut c).unwrap();
    assert_eq!(n, 5);
    let n: i64 = script.key("counter").arg(2).invoke(&mut c).unwrap();
    assert_eq!(n, 7);
    let known: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(script.get_hash())
        .query(&mut c)
        .unwrap();
    assert_eq!(known, [1]);
}

#[test]
fn read_only_scripts_refuse_writes_and_run_during_a_write_pause() {
    let server = start();
    let mut w = Wire::connect(&server);
    let mut c = conn(&server);
    let ro = w.call(&[b"EVAL_RO", b"return redis.call('set','a','b')", b"0"]);
    assert_eq!(ro, "-ERR Write commands are not allowed from read-only scripts. script: ff967d0ae0e68b4f9e360fa91c54598bc25ad9b6, on @user_script:1.\r\n");
    let publish = w.call(&[b"EVAL_RO", b"return redis.call('publish','ch','msg')", b"0"]);
    assert!(publish.starts_with("-ERR Write commands are not allowed from read-only scripts."));
    let no_writes = eval(
        &mut w,
        "#!lua flags=no-writes\nreturn redis.call('set','a','b')",
        &["0"],
    );
    assert_eq!(no_writes, "-ERR Write commands are not allowed from read-only scripts. script: 6acb400a50fe96e33eca4e0af6e9dcfb21193726, on @user_script:2.\r\n");
    assert_eq!(
        w.call(&[b"EVAL_RO", b"#!lua\nreturn 1", b"0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(
        eval(&mut w, "#!lua\nreturn redis.call('set','a','b')", &["0"]),
        "+OK\r\n"
    );

    // Under CLIENT PAUSE WRITE, read-only scripts still answer.
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(100_000)
        .arg("WRITE")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        w.call(&[b"EVAL_RO", b"return redis.call('get','a')", b"0"]),
        "$1\r\nb\r\n"
    );
    assert_eq!(
        eval(
            &mut w,
            "#!lua flags=no-writes\nreturn redis.call('get','a')",
            &["0"]
        ),
        "$1\r\nb\r\n"
    );
    let () = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut c).unwrap();
}

#[test]
fn script_commands_are_counted_monitored_and_getkeys_knows_eval() {
    let server = start();
    let mut c = conn(&server);
    let mut monitor = Wire::connect(&server);
    assert_eq!(monitor.cmd("MONITOR"), "+OK\r\n");
    let () = redis::cmd("EVAL")
        .arg("redis.call('set',KEYS[1],ARGV[1])")
        .arg(1)
        .arg("foo")
        .arg("bar")
        .query(&mut c)
        .unwrap();
    let first = monitor.reply();
    assert!(first.contains("\"EVAL\""), "{first}");
    let second = monitor.reply();
    assert!(
        second.contains("[0 lua] \"set\" \"foo\" \"bar\""),
        "{second}"
    );

    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    assert!(info.contains("cmdstat_set:calls=1,"), "{info}");
    assert!(info.contains("cmdstat_eval:calls=1,"), "{info}");

    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("EVAL")
        .arg("return 1")
        .arg(2)
        .arg("a")
        .arg("b")
        .arg("c")
        .query(&mut c)
        .unwrap();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn script_effects_are_propagated_wrapped_in_multi() {
    let dir = scratch_dir();
    let dir2 = dir.clone();
    let server = start_with(move |cfg| {
        cfg.dir = dir2;
        cfg.appendonly = true;
        cfg.appendfsync = redis_anatomy::server::config::AppendFsync::Always;
    });
    let mut c = conn(&server);
    let () = redis::cmd("EVAL")
        .arg("redis.call('set','a','1'); redis.call('incr','a')")
        .arg(0)
        .query(&mut c)
        .unwrap();
    let () = redis::cmd("EVAL")
        .arg("redis.call('set','b','2'); redis.call('get','b')")
        .arg(0)
        .query(&mut c)
        .unwrap();
    // SCRIPT FLUSH is not propagated; FUNCTION LOAD is (libraries are
    // data), and FCALL, like EVAL, sends only its effects.
    let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut c).unwrap();
    let lib = "#!lua name=l\nredis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut c)
        .unwrap();
    let _: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("f")
        .query(&mut c)
        .unwrap();
    let aof = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let aof = text(&aof);
    assert!(!aof.to_lowercase().contains("flush"), "{aof}");
    assert!(!aof.to_lowercase().contains("fcall"), "{aof}");
    assert!(aof.contains("$4\r\nLOAD\r\n"), "{aof}");
    assert!(aof.ends_with("*2\r\n$4\r\nincr\r\n$1\r\nf\r\n"), "{aof}");
    let aof = aof[..aof.find("FUNCTION").unwrap()].to_string();
    // Two writes: one transaction; one write: alone; the EVALs: never.
    assert!(
        aof.contains("*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nincr\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n"),
        "{aof}"
    );
    assert!(
        aof.contains("*1\r\n$4\r\nEXEC\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        "{aof}"
    );
    assert!(!aof.to_lowercase().contains("eval"), "{aof}");
}

#[test]
fn functions_load_call_list_and_delete() {
    let server = start();
    let mut c = conn(&server);
    let lib = "#!lua name=mylib\n\
        redis.register_function('incr_by', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\n\
        redis.register_function{function_name='echo', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='says it back'}";
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut c)
        .unwrap();
    assert_eq!(name, "mylib");
    let n: i64 = redis::cmd("FCALL")
        .arg("incr_by")
        .arg(1)
        .arg("k")
        .arg(3)
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 3);
    let echoed: String = redis::cmd("FCALL_RO")
        .arg("ECHO")
        .arg(0)
        .arg("hi")
        .query(&mut c)
        .unwrap();
    assert_eq!(echoed, "hi");

    let mut w = Wire::connect(&server);
    assert_eq!(
        w.cmd("FCALL_RO incr_by 1 k 1"),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(w.cmd("FCALL nosuch 0"), "-ERR Function not found\r\n");
    assert_eq!(
        w.cmd("FCALL echo x"),
        "-ERR Bad number of keys provided\r\n"
    );
    assert_eq!(
        w.call(&[b"FUNCTION", b"LOAD", lib.as_bytes()]),
        "-ERR Library 'mylib' already exists\r\n"
    );
    assert_eq!(
        w.call(&[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=other\nredis.register_function('echo', function() end)"
        ]),
        "-ERR Function echo already exists\r\n"
    );
    assert_eq!(
        w.call(&[b"FUNCTION", b"LOAD", b"#!lua name=x\nredis.call('ping')"]),
        "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"
    );
    assert_eq!(
        w.call(&[b"FUNCTION", b"LOAD", b"#!lua name=x\nreturn 1"]),
        "-ERR No functions registered\r\n"
    );
    assert_eq!(
        w.call(&[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=y\nredis.register_function('g', function() return a end)"
        ]),
        "$1\r\ny\r\n"
    );
    assert_eq!(
        w.cmd("FCALL g 0"),
        "-ERR user_function:2: Script attempted to access nonexistent global variable 'a' script: g, on @user_function:2.\r\n"
    );
    assert_eq!(
        w.cmd("FUNCTION LIST LIBRARYNAME mylib"),
        "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n\
         *6\r\n$4\r\nname\r\n$7\r\nincr_by\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n\
         *6\r\n$4\r\nname\r\n$4\r\necho\r\n$11\r\ndescription\r\n$12\r\nsays it back\r\n$5\r\nflags\r\n*1\r\n$9\r\nno-writes\r\n"
    );
    assert_eq!(
        w.cmd("FUNCTION STATS"),
        "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:2\r\n$15\r\nfunctions_count\r\n:3\r\n"
    );
    assert_eq!(w.cmd("FUNCTION DELETE mylib"), "+OK\r\n");
    assert_eq!(w.cmd("FCALL echo 0 x"), "-ERR Function not found\r\n");
    assert_eq!(w.cmd("FUNCTION DELETE mylib"), "-ERR Library not found\r\n");
    assert_eq!(
        w.cmd("SCRIPT KILL"),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(
        w.cmd("FUNCTION KILL"),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
}

#[test]
fn function_dump_restores_into_real_redis_and_back() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    let real = RealRedis::start(&dir, &[]);
    let mut r = real.conn();
    let server = start();
    let mut c = conn(&server);
    let lib = "#!lua name=reallib\nredis.register_function('from_real', function(keys, args) return 'real:' .. args[1] end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut r)
        .unwrap();
    let dump: Vec<u8> = redis::cmd("FUNCTION").arg("DUMP").query(&mut r).unwrap();
    let () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query(&mut c)
        .unwrap();
    let got: String = redis::cmd("FCALL")
        .arg("from_real")
        .arg(0)
        .arg("x")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, "real:x");

    let ours = "#!lua name=ourlib\nredis.register_function('from_us', function(keys, args) return 'us:' .. keys[1] end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(ours)
        .query(&mut c)
        .unwrap();
    let dump: Vec<u8> = redis::cmd("FUNCTION").arg("DUMP").query(&mut c).unwrap();
    let () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .arg("FLUSH")
        .query(&mut r)
        .unwrap();
    let got: String = redis::cmd("FCALL")
        .arg("from_us")
        .arg(1)
        .arg("k")
        .query(&mut r)
        .unwrap();
    assert_eq!(got, "us:k");
    let _: () = c.set("unused", 1).unwrap();
}

const SNAP_LIB: &str = "#!lua name=snaplib\nredis.register_function('snap', function(keys, args) return 'snap:' .. args[1] end)";

fn fcall_snap(c: &mut redis::Connection) -> redis::RedisResult<String> {
    redis::cmd("FCALL").arg("snap").arg(0).arg("x").query(c)
}

fn function_load(c: &mut redis::Connection, code: &str) {
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(code)
        .query(c)
        .unwrap();
    assert_eq!(name, "snaplib");
}

/// FUNCTION libraries live in snapshots as the keys do (the RDB's
/// FUNCTION2 records; `rewriteFunctions` in an AOF without an RDB base):
/// DEBUG RELOAD, a restart from the RDB, and DEBUG LOADAOF after a rewrite
/// in either AOF form all bring the library back.
#[test]
fn function_libraries_survive_rdb_and_aof_reloads() {
    let dir = scratch_dir();
    {
        let d = dir.clone();
        let server = start_with(move |c: &mut Config| {
            c.dir = d;
            c.enable_debug_command = ProtectedAction::Yes;
        });
        let mut c = conn(&server);
        function_load(&mut c, SNAP_LIB);
        let () = redis::cmd("DEBUG").arg("RELOAD").query(&mut c).unwrap();
        assert_eq!(fcall_snap(&mut c).unwrap(), "snap:x");
        for preamble in ["yes", "no"] {
            let () = redis::cmd("CONFIG")
                .arg(&["SET", "aof-use-rdb-preamble", preamble])
                .query(&mut c)
                .unwrap();
            let () = redis::cmd("CONFIG")
                .arg(&["SET", "appendonly", "yes"])
                .query(&mut c)
                .unwrap();
            wait_until(&mut c, "persistence", "aof_rewrite_in_progress:0");
            let _: String = redis::cmd("BGREWRITEAOF").query(&mut c).unwrap();
            wait_until(&mut c, "persistence", "aof_rewrite_in_progress:0");
            let () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut c).unwrap();
            assert_eq!(fcall_snap(&mut c).unwrap(), "snap:x", "preamble {preamble}");
            let () = redis::cmd("CONFIG")
                .arg(&["SET", "appendonly", "no"])
                .query(&mut c)
                .unwrap();
        }
        let () = redis::cmd("SAVE").query(&mut c).unwrap();
    }
    let d = dir.clone();
    let server = start_with(move |c: &mut Config| c.dir = d);
    let mut c = conn(&server);
    assert_eq!(fcall_snap(&mut c).unwrap(), "snap:x");
}

/// Poll INFO `section` until it contains `field`.
fn wait_until(c: &mut redis::Connection, section: &str, field: &str) {
    eventually(field, || {
        let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
        info.contains(field)
    });
}

/// Our RDB with a library loads into real redis-server (which can call
/// it), and real Redis's RDB with a library loads into ours.
#[test]
fn function_libraries_in_rdb_files_cross_to_real_redis_and_back() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    {
        let d = dir.clone();
        let server = start_with(move |c: &mut Config| c.dir = d);
        let mut c = conn(&server);
        function_load(&mut c, SNAP_LIB);
        let () = redis::cmd("SAVE").query(&mut c).unwrap();
    }
    {
        let real = RealRedis::start(&dir, &["--dbfilename", "dump.rdb"]);
        let mut r = real.conn();
        assert_eq!(fcall_snap(&mut r).unwrap(), "snap:x");
    }
    let dir2 = scratch_dir();
    {
        let real = RealRedis::start(&dir2, &["--dbfilename", "dump.rdb"]);
        let mut r = real.conn();
        let _: String = redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(SNAP_LIB.replace("snap:", "real:"))
            .query(&mut r)
            .unwrap();
        let () = redis::cmd("SAVE").query(&mut r).unwrap();
    }
    let server = start_with(move |c: &mut Config| c.dir = dir2);
    let mut c = conn(&server);
    let got: String = redis::cmd("FCALL")
        .arg("snap")
        .arg(0)
        .arg("y")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, "real:y");
}

/// `unpack` over a range of 2^31 elements overflows a C int in stock Lua
/// 5.1 and crashed the server; Redis patches it. Every case answers
/// what redis-server 7.0.15 answers, and the server lives on.
#[test]
fn unpack_with_huge_ranges_is_an_error_not_a_crash() {
    let server = start();
    let mut c = conn(&server);
    let eval = |c: &mut redis::Connection, body: &str| -> Result<redis::Value, String> {
        redis::cmd("EVAL")
            .arg(body)
            .arg(0)
            .query::<redis::Value>(c)
            .map_err(|e| e.detail().unwrap_or("").to_string())
    };
    for range in [
        "-2, 2147483647",
        "0, 2147483647",
        "-2147483648, -2",
        "1, 7998",
    ] {
        let err = eval(&mut c, &format!("return {{unpack({{1,2,3}}, {range})}}")).unwrap_err();
        assert!(
            err.starts_with("user_script:1: too many results to unpack script: "),
            "{range}: {err}"
        );
    }
    let err = eval(&mut c, "return {unpack({1,2,3}, 'a')}").unwrap_err();
    assert!(
        err.starts_with("user_script:1: bad argument #2 to 'unpack' (number expected, got string)"),
        "{err}"
    );
    let err = eval(&mut c, "return {unpack()}").unwrap_err();
    assert!(
        err.starts_with(
            "user_script:1: bad argument #1 to 'unpack' (table expected, got no value)"
        ),
        "{err}"
    );
    assert_eq!(
        eval(&mut c, "return select('#', unpack({}, 1, 7997))").unwrap(),
        redis::Value::Int(7997)
    );
    assert_eq!(
        eval(&mut c, "return {unpack({1,2,3}, 2.7, 3.9)}").unwrap(),
        redis::Value::Array(vec![redis::Value::Int(2), redis::Value::Int(3)])
    );
    assert_eq!(
        eval(&mut c, "return {unpack({1,2,3}, -1, -2)}").unwrap(),
        redis::Value::Array(vec![])
    );
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}
