//! GEO commands through real clients. Every expected reply below was read
//! off a real Redis 7.0.15 with the same commands (the Sicily example of
//! the Redis docs): scores, distances to four decimals, coordinates to 17,
//! geohash strings, errors, and the RESP3 shapes.

mod common;
use common::*;

use redis::Value;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, line: &str) -> T {
    let mut cmd = redis::cmd(line.split(' ').next().unwrap());
    for a in line.split(' ').skip(1) {
        cmd.arg(a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{line} failed: {e}"))
}

fn err(c: &mut redis::Connection, line: &str) -> String {
    let mut cmd = redis::cmd(line.split(' ').next().unwrap());
    for a in line.split(' ').skip(1) {
        cmd.arg(a);
    }
    match cmd.query::<Value>(c) {
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
        Ok(v) => panic!("{line} answered {v:?}, not an error"),
    }
}

fn sicily(c: &mut redis::Connection) {
    let added: i64 = q(
        c,
        "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    );
    assert_eq!(added, 2);
}

#[test]
fn geoadd_stores_the_52_bit_geohash_as_the_score() {
    let server = start();
    let mut c = conn(&server);
    sicily(&mut c);
    let scores: Vec<String> = q(&mut c, "ZRANGE Sicily 0 -1 WITHSCORES");
    assert_eq!(
        scores,
        ["Palermo", "3479099956230698", "Catania", "3479447370796909"]
    );
    let t: String = q(&mut c, "TYPE Sicily");
    assert_eq!(t, "zset");
    // NX, XX and CH are ZADD's, passed through.
    let n: i64 = q(&mut c, "GEOADD Sicily CH 13.4 38.1 Palermo");
    assert_eq!(n, 1);
    let n: i64 = q(&mut c, "GEOADD Sicily XX 1 1 Nowhere");
    assert_eq!(n, 0);
    let n: i64 = q(&mut c, "GEOADD Sicily NX 1 1 Palermo");
    assert_eq!(n, 0);
}

#[test]
fn geoadd_refuses_bad_input_with_redis_errors() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(err(&mut c, "GEOADD k NX XX 1 1 a"), "ERR syntax error");
    assert_eq!(err(&mut c, "GEOADD k 1 1 a 2"), "ERR syntax error");
    assert_eq!(
        err(&mut c, "GEOADD k 13 86 x"),
        "ERR invalid longitude,latitude pair 13.000000,86.000000"
    );
    assert_eq!(
        err(&mut c, "GEOADD k abc 1 x"),
        "ERR value is not a valid float"
    );
    let _: () = q(&mut c, "SET str x");
    assert!(err(&mut c, "GEOADD str 1 1 a").starts_with("WRONGTYPE"));
    // Nothing was created by the refused commands.
    let n: i64 = q(&mut c, "EXISTS k");
    assert_eq!(n, 0);
}

#[test]
fn geopos_geodist_and_geohash_answer_as_redis() {
    let server = start();
    let mut c = conn(&server);
    sicily(&mut c);
    let pos: Vec<Option<Vec<String>>> = q(&mut c, "GEOPOS Sicily Palermo Nope");
    assert_eq!(
        pos,
        [
            Some(vec![
                "13.36138933897018433".to_string(),
                "38.11555639549629859".to_string()
            ]),
            None
        ]
    );
    let d: String = q(&mut c, "GEODIST Sicily Palermo Catania");
    assert_eq!(d, "166274.1516");
    let d: String = q(&mut c, "GEODIST Sicily Palermo Catania km");
    assert_eq!(d, "166.2742");
    let d: Option<String> = q(&mut c, "GEODIST Sicily Palermo Nope");
    assert_eq!(d, None);
    assert_eq!(
        err(&mut c, "GEODIST Sicily Palermo Catania parsec"),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
    let h: Vec<Option<String>> = q(&mut c, "GEOHASH Sicily Palermo Catania Nope");
    assert_eq!(
        h,
        [Some("sqc8b49rny0".into()), Some("sqdtr74hyu0".into()), None]
    );
}

#[test]
fn georadius_replies_with_distance_hash_and_coordinates_nearest_first() {
    let server = start();
    let mut w = Wire::connect(&server);
    w.cmd("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania");
    assert_eq!(
        w.cmd("GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC"),
        "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n\
         *2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n\
         *4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n\
         *2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
    );
    assert_eq!(
        w.cmd("GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC WITHDIST"),
        "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"
    );
    // COUNT alone sorts ascending and cuts.
    assert_eq!(
        w.cmd("GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km COUNT 1"),
        "*1\r\n$7\r\nPalermo\r\n"
    );
    assert_eq!(w.cmd("GEORADIUS Sicily 15 37 1 km"), "*0\r\n");
    assert_eq!(
        w.cmd("GEOSEARCH NoKey FROMLONLAT 1 1 BYRADIUS 1 km"),
        "*0\r\n"
    );
}

#[test]
fn resp3_coordinates_are_doubles_and_missing_positions_null() {
    let server = start();
    let mut w = Wire::resp3(&server);
    w.cmd("GEOADD Sicily 13.361389 38.115556 Palermo");
    assert_eq!(
        w.cmd("GEOPOS Sicily Palermo nope"),
        "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    );
}

#[test]
fn search_errors_are_redis_errors() {
    let server = start();
    let mut c = conn(&server);
    sicily(&mut c);
    let cases = [
        ("GEORADIUS Sicily 15 37 -1 km", "ERR radius cannot be negative"),
        ("GEORADIUS Sicily 15 37 x km", "ERR need numeric radius"),
        ("GEORADIUS Sicily 15 37 200 km COUNT 0", "ERR COUNT must be > 0"),
        ("GEORADIUS Sicily 15 37 200 km ANY", "ERR the ANY argument requires COUNT argument"),
        (
            "GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST",
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        ("GEORADIUS_RO Sicily 15 37 200 km STORE dst", "ERR syntax error"),
        ("GEORADIUSBYMEMBER Sicily Nope 200 km", "ERR could not decode requested zset member"),
        (
            "GEOSEARCH Sicily BYRADIUS 200 km ASC WITHDIST",
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
        ),
        (
            "geosearch Sicily FROMLONLAT 1 1 ASC WITHDIST",
            "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch",
        ),
        (
            "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km BYBOX 1 1 km",
            "ERR syntax error",
        ),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km", "ERR height or width cannot be negative"),
        ("GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km", "ERR need numeric height"),
        (
            "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(err(&mut c, line), expected, "{line}");
    }
}

#[test]
fn store_variants_write_a_sorted_set_of_hashes_or_distances() {
    let server = start();
    let mut c = conn(&server);
    sicily(&mut c);
    let n: i64 = q(
        &mut c,
        "GEOSEARCHSTORE dst Sicily FROMMEMBER Palermo BYRADIUS 200 km STOREDIST",
    );
    assert_eq!(n, 2);
    let stored: Vec<String> = q(&mut c, "ZRANGE dst 0 -1 WITHSCORES");
    assert_eq!(stored, ["Palermo", "0", "Catania", "166.27415156960032"]);
    let enc: String = q(&mut c, "OBJECT ENCODING dst");
    assert_eq!(enc, "listpack");
    let n: i64 = q(&mut c, "GEORADIUS Sicily 15 37 200 km STORE hashes");
    assert_eq!(n, 2);
    let stored: Vec<String> = q(&mut c, "ZRANGE hashes 0 -1 WITHSCORES");
    assert_eq!(
        stored,
        ["Palermo", "3479099956230698", "Catania", "3479447370796909"]
    );
    // No match, or no source: the destination goes.
    let n: i64 = q(&mut c, "GEORADIUS Sicily 15 37 1 km STORE hashes");
    assert_eq!(n, 0);
    let n: i64 = q(
        &mut c,
        "GEOSEARCHSTORE dst NoKey FROMLONLAT 15 37 BYRADIUS 200 km",
    );
    assert_eq!(n, 0);
    let n: i64 = q(&mut c, "EXISTS dst hashes");
    assert_eq!(n, 0);
}

#[test]
fn a_search_across_the_antimeridian_finds_both_sides() {
    // The centre's cell is at the east edge: its east neighbours wrap to
    // longitude -180 (the neighbour arithmetic is modulo the cell count),
    // and the point there, 2 km away across the date line, is found.
    let server = start();
    let mut c = conn(&server);
    let _: i64 = q(&mut c, "GEOADD k 179.99 0 east -179.99 0 west 170 0 far");
    let found: Vec<String> = q(
        &mut c,
        "GEOSEARCH k FROMLONLAT 179.995 0 BYRADIUS 10 km ASC",
    );
    assert_eq!(found, ["east", "west"]);
}
