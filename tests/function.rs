//! FUNCTION's argument checks and its answers with no libraries loaded
//! (replies checked against redis-server 7.0.15). Libraries and FCALL are
//! tested in tests/scripting.rs.

mod common;
use common::*;

#[test]
fn function_subcommands_answer_as_redis_with_no_libraries() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(b"FUNCTION FLUSH\r\n", b"+OK\r\n");
    raw.roundtrip(b"FUNCTION FLUSH async\r\n", b"+OK\r\n");
    raw.roundtrip(b"FUNCTION FLUSH SYNC\r\n", b"+OK\r\n");
    raw.roundtrip(
        b"FUNCTION FLUSH foo\r\n",
        b"-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n",
    );
    raw.roundtrip(
        b"FUNCTION FLUSH a b\r\n",
        b"-ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.\r\n",
    );
    raw.roundtrip(b"FUNCTION LIST\r\n", b"*0\r\n");
    raw.roundtrip(b"FUNCTION LIST withcode LIBRARYNAME x\r\n", b"*0\r\n");
    raw.roundtrip(
        b"FUNCTION LIST LIBRARYNAME\r\n",
        b"-ERR library name argument was not given\r\n",
    );
    raw.roundtrip(
        b"FUNCTION LIST WITHCODE WITHCODE\r\n",
        b"-ERR Unknown argument WITHCODE\r\n",
    );
    raw.roundtrip(
        b"FUNCTION STATS\r\n",
        b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n",
    );
    raw.roundtrip(b"FUNCTION DELETE x\r\n", b"-ERR Library not found\r\n");
    raw.roundtrip(
        b"FUNCTION KILL\r\n",
        b"-NOTBUSY No scripts in execution right now.\r\n",
    );
    raw.roundtrip(b"FUNCTION LOAD x\r\n", b"-ERR Missing library metadata\r\n");
    raw.roundtrip(
        b"FUNCTION LOAD #!lua\r\n",
        b"-ERR Invalid library metadata\r\n",
    );
    raw.roundtrip(
        b"FUNCTION LOAD nope x\r\n",
        b"-ERR Unknown option given: nope\r\n",
    );
    raw.roundtrip(
        b"FUNCTION LOAD \"#!lua name=lib\\nreturn 1\"\r\n",
        b"-ERR No functions registered\r\n",
    );
    raw.roundtrip(
        b"FUNCTION DUMP\r\n",
        b"$10\r\n\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda\r\n",
    );
    raw.roundtrip(
        b"FUNCTION RESTORE \"\\n\\x00]\\x9b\\\\@\\x0f\\x7f\\xa2\\xda\" FLUSH\r\n",
        b"+OK\r\n",
    );
    raw.roundtrip(
        b"FUNCTION RESTORE x\r\n",
        b"-ERR DUMP payload version or checksum are wrong\r\n",
    );
    raw.roundtrip(
        b"FUNCTION FOO\r\n",
        b"-ERR unknown subcommand 'FOO'. Try FUNCTION HELP.\r\n",
    );
    raw.roundtrip(
        b"FUNCTION STATS x\r\n",
        b"-ERR wrong number of arguments for 'function|stats' command\r\n",
    );
}

#[test]
fn function_help_is_redis_text() {
    let server = start();
    let mut c = conn(&server);
    let lines: Vec<String> = redis::cmd("FUNCTION").arg("HELP").query(&mut c).unwrap();
    assert_eq!(lines.len(), 40);
    assert_eq!(
        lines[0],
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(lines[22], "FLUSH [ASYNC|SYNC]");
    assert_eq!(lines[39], "    Prints this help.");
}
