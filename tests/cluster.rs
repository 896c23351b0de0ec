//! The cluster commands in a server without cluster mode answer as Redis
//! 7.0 does with `cluster-enabled no`, and the table describes them.

mod common;
use common::*;

#[test]
fn cluster_commands_say_cluster_support_is_disabled_after_the_arity_check() {
    let server = start();
    let mut w = Wire::connect(&server);
    let disabled = "-ERR This instance has cluster support disabled\r\n";
    for line in [
        "CLUSTER HELP",
        "CLUSTER INFO",
        "CLUSTER KEYSLOT foo",
        "CLUSTER SHARDS",
        "cluster addslots 1 2",
        "READONLY",
        "READWRITE",
        "ASKING",
    ] {
        assert_eq!(w.cmd(line), disabled, "{line}");
    }
    assert_eq!(
        w.cmd("CLUSTER"),
        "-ERR wrong number of arguments for 'cluster' command\r\n"
    );
    assert_eq!(
        w.cmd("CLUSTER INFO x"),
        "-ERR wrong number of arguments for 'cluster|info' command\r\n"
    );
    assert_eq!(
        w.cmd("CLUSTER FOO"),
        "-ERR unknown subcommand 'FOO'. Try CLUSTER HELP.\r\n"
    );
    assert_eq!(
        w.cmd("READONLY x"),
        "-ERR wrong number of arguments for 'readonly' command\r\n"
    );
}

#[test]
fn command_list_and_info_describe_the_cluster_rows() {
    let server = start();
    let mut c = conn(&server);
    let names: Vec<String> = redis::cmd("COMMAND")
        .arg(&["LIST", "FILTERBY", "PATTERN", "cluster*"])
        .query(&mut c)
        .unwrap();
    assert_eq!(names.len(), 28, "{names:?}");
    assert!(names.iter().any(|n| n == "cluster|help"));
    assert!(names.iter().any(|n| n == "cluster|addslotsrange"));
    let info = format!(
        "{:?}",
        redis::cmd("COMMAND")
            .arg(&["INFO", "readonly", "cluster|setslot"])
            .query::<redis::Value>(&mut c)
            .unwrap()
    );
    for part in [
        "(\"loading\")",
        "(\"fast\")",
        "(\"@connection\")",
        "int(-4)",
        "(\"no_async_loading\")",
    ] {
        assert!(info.contains(part), "{part} in {info}");
    }
}

#[test]
fn restore_asking_restores_like_restore_without_cluster_mode() {
    let server = start();
    let mut c = conn(&server);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let payload: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut c).unwrap();
    let ok: String = redis::cmd("RESTORE-ASKING")
        .arg("copy")
        .arg(0)
        .arg(payload)
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let v: String = redis::cmd("GET").arg("copy").query(&mut c).unwrap();
    assert_eq!(v, "v");
}
