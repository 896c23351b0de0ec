//! # GEO commands: sorted sets whose scores are places
//!
//! `GEOADD`, `GEOPOS`, `GEODIST`, `GEOHASH`, `GEOSEARCH`,
//! `GEOSEARCHSTORE`, and the older `GEORADIUS`, `GEORADIUSBYMEMBER` (and
//! their `_RO` read-only twins). The geohash, the nine-cell search and the
//! distances are in `src/geo.rs`; this file parses arguments, reads the
//! sorted set, and replies, byte for byte as Redis 7.0 does.
//!
//! `GEOADD` turns each (longitude, latitude, member) into (score, member)
//! and runs `ZADD` on the result: the command statistics count a
//! `geoadd`, but what reaches the AOF and replicas is the `ZADD`, exactly
//! as Redis's `replaceClientCommandVector` arranges.
//!
//! ## The Redis C counterpart
//!
//! `src/geo.c`: `geoaddCommand`, `georadiusGeneric` (every search command
//! is a flag combination of it), `geohashCommand`, `geoposCommand`,
//! `geodistCommand`, `membersOfAllNeighbors`, `geoGetPointsInRange`,
//! `extractLongLatOrReply`, `extractDistanceOrReply`, `extractBoxOrReply`,
//! `extractUnitOrReply`.
//!
//! ## What we simplified, and why
//!
//! * With `COUNT` smaller than the matches, Redis sorts only the first
//!   COUNT by distance (`pqsort`, a partial quicksort); we sort all of
//!   them with a stable sort. The first COUNT are the same points; only
//!   points at exactly equal distances could come out in another order.

use crate::commands::eq_ic;
use crate::commands::zset::{self, parse_score, ZsetLimits};
use crate::geo::{self, Shape, ShapeKind};
use crate::listpack::LpValue;
use crate::object::{RObj, Value, ZSetValue};
use crate::resp::{parse_i64, Args, OwnedArgs, Reply};
use crate::server::command::{CommandDef, Group};
use crate::server::{notify_class, Ctx, NOT_FLOAT, NOT_INTEGER, SYNTAX_ERR, WRONGTYPE};
use crate::skiplist::ScoreRange;

/// The keys of `GEORADIUS`/`GEORADIUSBYMEMBER`: the source, and the
/// destination after `STORE` or `STOREDIST` if present
/// (`georadiusGetKeys`).
fn georadius_keys(args: Args) -> Vec<usize> {
    let mut keys = vec![1];
    let mut i = 5;
    while i + 1 < args.len() {
        let arg = args.get(i);
        if eq_ic(arg, "store") || eq_ic(arg, "storedist") {
            keys.push(i + 1);
            break;
        }
        i += 1;
    }
    keys
}

/// The flags are Redis 7.0's, as `COMMAND INFO` prints them.
pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "geoadd",
        arity: -5,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Adds points (longitude, latitude, member) to a geospatial index, a sorted set.",
        run: geoadd,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "geodist",
        arity: -4,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Returns the distance between two members of a geospatial index.",
        run: geodist,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "geohash",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Returns members' positions as standard geohash strings.",
        run: geohash,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "geopos",
        arity: -2,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Returns the longitude and latitude of members.",
        run: geopos,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "georadius",
        arity: -6,
        flags: "write denyoom movablekeys",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Finds members within a radius of a point, optionally storing them.",
        run: georadius,
        get_keys: Some(georadius_keys),
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "georadius_ro",
        arity: -6,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.10",
        summary: "Finds members within a radius of a point.",
        run: georadius_ro,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "georadiusbymember",
        arity: -5,
        flags: "write denyoom movablekeys",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.0",
        summary: "Finds members within a radius of a member, optionally storing them.",
        run: georadiusbymember,
        get_keys: Some(georadius_keys),
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "georadiusbymember_ro",
        arity: -5,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "3.2.10",
        summary: "Finds members within a radius of a member.",
        run: georadiusbymember_ro,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "geosearch",
        arity: -7,
        flags: "readonly",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        since: "6.2.0",
        summary: "Finds members inside a circle or a box around a point or a member.",
        run: geosearch,
        ..CommandDef::base(Group::Geo)
    },
    CommandDef {
        name: "geosearchstore",
        arity: -8,
        flags: "write denyoom",
        first_key: 1,
        last_key: 2,
        key_step: 1,
        since: "6.2.0",
        summary: "Stores the members inside a circle or a box around a point or a member.",
        run: geosearchstore,
        ..CommandDef::base(Group::Geo)
    },
];

// ============================================================================
// Arguments
// ============================================================================

/// A longitude and a latitude at `args[at]`, `args[at + 1]`
/// (`extractLongLatOrReply`): floats, inside the Mercator limits.
fn arg_lon_lat(reply: &mut Reply, args: Args, at: usize) -> Option<(f64, f64)> {
    let mut xy = [0.0; 2];
    for (i, v) in xy.iter_mut().enumerate() {
        match parse_score(args.get(at + i)) {
            Some(f) => *v = f,
            None => {
                reply.error(NOT_FLOAT);
                return None;
            }
        }
    }
    let [lon, lat] = xy;
    if !(geo::LON_MIN..=geo::LON_MAX).contains(&lon)
        || !(geo::LAT_MIN..=geo::LAT_MAX).contains(&lat)
    {
        reply.error(&format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        ));
        return None;
    }
    Some((lon, lat))
}

/// Metres per unit (`extractUnitOrReply`).
fn arg_unit(reply: &mut Reply, arg: &[u8]) -> Option<f64> {
    let factor = match () {
        _ if eq_ic(arg, "m") => 1.0,
        _ if eq_ic(arg, "km") => 1000.0,
        _ if eq_ic(arg, "ft") => 0.3048,
        _ if eq_ic(arg, "mi") => 1609.34,
        _ => {
            reply.err("unsupported unit provided. please use M, KM, FT, MI");
            return None;
        }
    };
    Some(factor)
}

/// A non-negative float, or `ERR <what>` if it does not parse.
fn arg_size(reply: &mut Reply, arg: &[u8], what: &str) -> Option<f64> {
    let v = parse_score(arg);
    if v.is_none() {
        reply.err(what);
    }
    v
}

/// `<radius> <unit>` (`extractDistanceOrReply`): (radius, metres per unit).
fn arg_radius(reply: &mut Reply, args: Args, at: usize) -> Option<(f64, f64)> {
    let radius = arg_size(reply, args.get(at), "need numeric radius")?;
    if radius < 0.0 {
        reply.err("radius cannot be negative");
        return None;
    }
    Some((radius, arg_unit(reply, args.get(at + 1))?))
}

/// `<width> <height> <unit>` (`extractBoxOrReply`).
fn arg_box(reply: &mut Reply, args: Args, at: usize) -> Option<(f64, f64, f64)> {
    let width = arg_size(reply, args.get(at), "need numeric width")?;
    let height = arg_size(reply, args.get(at + 1), "need numeric height")?;
    if height < 0.0 || width < 0.0 {
        reply.err("height or width cannot be negative");
        return None;
    }
    Some((width, height, arg_unit(reply, args.get(at + 2))?))
}

/// The sorted set under `key` for reading: `Ok(None)` if absent,
/// `Err(())` after replying WRONGTYPE.
fn zset_of<'a>(obj: Option<&'a mut RObj>, reply: &mut Reply) -> Result<Option<&'a ZSetValue>, ()> {
    match obj {
        None => Ok(None),
        Some(obj) => match &obj.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => {
                reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

fn member_bytes(member: LpValue<'_>) -> Vec<u8> {
    match member {
        LpValue::Str(s) => s.to_vec(),
        LpValue::Int(n) => n.to_string().into_bytes(),
    }
}

// ============================================================================
// GEOADD
// ============================================================================

// ANCHOR: geo_geoadd
/// `GEOADD key [NX|XX] [CH] longitude latitude member [...]`: every
/// triple becomes a (score, member) pair of a `ZADD` with the same
/// options, and that `ZADD` runs and is what gets propagated.
fn geoadd(ctx: &mut Ctx, args: Args) {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < args.len() {
        let opt = args.get(first);
        match () {
            _ if eq_ic(opt, "nx") => nx = true,
            _ if eq_ic(opt, "xx") => xx = true,
            _ if eq_ic(opt, "ch") => {}
            _ => break,
        }
        first += 1;
    }
    let rest = args.len() - first;
    if !rest.is_multiple_of(3) || (xx && nx) {
        ctx.client.reply.error(SYNTAX_ERR);
        return;
    }
    let mut zadd_args = OwnedArgs::default();
    zadd_args.push(b"zadd");
    for i in 1..first {
        zadd_args.push(args.get(i));
    }
    for triple in 0..rest / 3 {
        let at = first + 3 * triple;
        let Some((lon, lat)) = arg_lon_lat(&mut ctx.client.reply, args, at) else {
            return;
        };
        let mut digits = [0u8; 20];
        let score = geo::score_of(lon, lat) as i64;
        zadd_args.push(crate::resp::fmt_i64(&mut digits, score));
        zadd_args.push(args.get(at + 2));
    }
    let zadd_args = zadd_args.args();
    zset::zadd(ctx, zadd_args);
    let parts: Vec<&[u8]> = zadd_args.iter().collect();
    ctx.propagate_as(&parts);
}
// ANCHOR_END: geo_geoadd

// ============================================================================
// GEOPOS GEODIST GEOHASH
// ============================================================================

/// A coordinate: a bulk string in RESP2, a double in RESP3
/// (`addReplyHumanLongDouble`).
fn reply_coordinate(reply: &mut Reply, v: f64) {
    let text = geo::coordinate_text(v);
    if reply.is_resp3() {
        reply.raw(b",");
        reply.raw(text.as_bytes());
        reply.raw(b"\r\n");
    } else {
        reply.bulk(text.as_bytes());
    }
}

/// `GEOPOS key member [...]`: [lon, lat] per member, a null array for a
/// missing one.
fn geopos(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(args.get(1));
    let Ok(zset) = zset_of(obj, reply) else {
        return;
    };
    reply.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match zset.and_then(|z| z.score(member)) {
            None => reply.null_array(),
            Some(score) => {
                let (lon, lat) = geo::decode_score(score);
                reply.array(2);
                reply_coordinate(reply, lon);
                reply_coordinate(reply, lat);
            }
        }
    }
}

/// `GEODIST key member1 member2 [M|KM|FT|MI]`: nil unless both exist.
fn geodist(ctx: &mut Ctx, args: Args) {
    let mut to_meters = 1.0;
    if args.len() == 5 {
        match arg_unit(&mut ctx.client.reply, args.get(4)) {
            Some(f) => to_meters = f,
            None => return,
        }
    } else if args.len() > 5 {
        ctx.client.reply.error(SYNTAX_ERR);
        return;
    }
    let (obj, reply) = ctx.read_key(args.get(1));
    let zset = match zset_of(obj, reply) {
        Err(()) => return,
        Ok(None) => return reply.null(),
        Ok(Some(z)) => z,
    };
    let (Some(a), Some(b)) = (zset.score(args.get(2)), zset.score(args.get(3))) else {
        return reply.null();
    };
    let (lon1, lat1) = geo::decode_score(a);
    let (lon2, lat2) = geo::decode_score(b);
    let d = geo::distance(lon1, lat1, lon2, lat2) / to_meters;
    reply.bulk(geo::distance_text(d).as_bytes());
}

/// `GEOHASH key member [...]`: an 11-character geohash per member, nil
/// for a missing one.
fn geohash(ctx: &mut Ctx, args: Args) {
    let (obj, reply) = ctx.read_key(args.get(1));
    let Ok(zset) = zset_of(obj, reply) else {
        return;
    };
    reply.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match zset.and_then(|z| z.score(member)) {
            None => reply.null(),
            Some(score) => reply.bulk(&geo::geohash_text(score)),
        }
    }
}

// ============================================================================
// The searches: GEORADIUS[BYMEMBER][_RO], GEOSEARCH, GEOSEARCHSTORE
// ============================================================================

/// Which command `search_generic` serves (Redis's `RADIUS_*`, `GEOSEARCH*`
/// flags).
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// `GEORADIUS key lon lat radius unit ...`
    RadiusCoords { store_allowed: bool },
    /// `GEORADIUSBYMEMBER key member radius unit ...`
    RadiusMember { store_allowed: bool },
    /// `GEOSEARCH key FROM... BY... ...`
    Search,
    /// `GEOSEARCHSTORE dst key FROM... BY... ...`
    SearchStore,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A match: the point, its distance from the centre in metres, its score.
struct Point {
    member: Vec<u8>,
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
}

fn georadius(ctx: &mut Ctx, args: Args) {
    search_generic(
        ctx,
        args,
        Variant::RadiusCoords {
            store_allowed: true,
        },
    );
}
fn georadius_ro(ctx: &mut Ctx, args: Args) {
    search_generic(
        ctx,
        args,
        Variant::RadiusCoords {
            store_allowed: false,
        },
    );
}
fn georadiusbymember(ctx: &mut Ctx, args: Args) {
    search_generic(
        ctx,
        args,
        Variant::RadiusMember {
            store_allowed: true,
        },
    );
}
fn georadiusbymember_ro(ctx: &mut Ctx, args: Args) {
    search_generic(
        ctx,
        args,
        Variant::RadiusMember {
            store_allowed: false,
        },
    );
}
fn geosearch(ctx: &mut Ctx, args: Args) {
    search_generic(ctx, args, Variant::Search);
}
fn geosearchstore(ctx: &mut Ctx, args: Args) {
    search_generic(ctx, args, Variant::SearchStore);
}

// ANCHOR: geo_collect
/// Appends the points of one cell that are inside the shape
/// (`membersOfGeoHashBox`, `geoGetPointsInRange`): the cell is the score
/// range [min, max), a range scan of the sorted set; each point in it is
/// tested against the exact shape. With `limit` (`ANY`), stops as soon
/// as `limit` points are held.
fn collect_cell(z: &ZSetValue, cell: geo::Cell, shape: &Shape, out: &mut Vec<Point>, limit: usize) {
    let (min, max) = geo::cell_score_range(cell);
    let range = ScoreRange {
        min,
        max,
        minex: false,
        maxex: true,
    };
    let mut at = z.first_in_range(&range);
    while let Some(c) = at {
        let (member, score) = z.entry(c);
        if !range.value_lte_max(score) {
            break;
        }
        if let Some((lon, lat, dist)) = shape.contains(score) {
            out.push(Point {
                member: member_bytes(member),
                lon,
                lat,
                dist,
                score,
            });
        }
        if limit > 0 && out.len() >= limit {
            break;
        }
        at = z.step(c, false);
    }
}
// ANCHOR_END: geo_collect

/// Every search command (`georadiusGeneric`). Outcomes, in the order they
/// are decided:
/// - the key holds another type: WRONGTYPE;
/// - a bad centre, radius, box, unit, COUNT or option: its error;
/// - STORE with a WITH* option, no FROM*, no BY*, ANY without COUNT:
///   their errors;
/// - no key: an empty array, or with a store key, 0 (and the store key
///   deleted);
/// - else the matches: sorted if asked (COUNT alone sorts ascending), cut
///   to COUNT, replied or stored.
fn search_generic(ctx: &mut Ctx, args: Args, variant: Variant) {
    let src_index = if variant == Variant::SearchStore {
        2
    } else {
        1
    };
    let mut store_key: Option<&[u8]> = None;
    let mut store_dist = false;
    let db = ctx.client.db;
    let now = ctx.now_ms;
    // The source sorted set, copied out of the search's way: the points are
    // collected while it is borrowed, and the reply or the store comes after.
    let zobj_present;
    let mut center: Option<(f64, f64)> = None;
    let mut kind: Option<ShapeKind> = None;
    let mut to_meters = 1.0;
    let base;
    {
        let obj = ctx.server.lookup_read(db, args.get(src_index), now);
        let reply = &mut ctx.client.reply;
        let Ok(zset) = zset_of(obj, reply) else {
            return;
        };
        zobj_present = zset.is_some();
        match variant {
            Variant::RadiusCoords { .. } => {
                base = 6;
                let Some(c) = arg_lon_lat(reply, args, 2) else {
                    return;
                };
                center = Some(c);
                let Some((r, unit)) = arg_radius(reply, args, 4) else {
                    return;
                };
                (kind, to_meters) = (Some(ShapeKind::Radius(r)), unit);
            }
            Variant::RadiusMember { .. } => {
                base = 5;
                if let Some(z) = zset {
                    let Some(score) = z.score(args.get(2)) else {
                        reply.err("could not decode requested zset member");
                        return;
                    };
                    center = Some(geo::decode_score(score));
                    let Some((r, unit)) = arg_radius(reply, args, 3) else {
                        return;
                    };
                    (kind, to_meters) = (Some(ShapeKind::Radius(r)), unit);
                }
            }
            Variant::Search => base = 2,
            Variant::SearchStore => {
                base = 3;
                store_key = Some(args.get(1));
            }
        }
    }

    let is_search = matches!(variant, Variant::Search | Variant::SearchStore);
    let store_allowed = matches!(
        variant,
        Variant::RadiusCoords {
            store_allowed: true
        } | Variant::RadiusMember {
            store_allowed: true
        }
    );
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromlonlat, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let remaining = args.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let arg = args.get(base + i);
        let reply = &mut ctx.client.reply;
        if eq_ic(arg, "withdist") {
            withdist = true;
        } else if eq_ic(arg, "withhash") {
            withhash = true;
        } else if eq_ic(arg, "withcoord") {
            withcoord = true;
        } else if eq_ic(arg, "any") {
            any = true;
        } else if eq_ic(arg, "asc") {
            sort = Sort::Asc;
        } else if eq_ic(arg, "desc") {
            sort = Sort::Desc;
        } else if eq_ic(arg, "count") && i + 1 < remaining {
            let Some(n) = parse_i64(args.get(base + i + 1)) else {
                reply.error(NOT_INTEGER);
                return;
            };
            if n <= 0 {
                reply.err("COUNT must be > 0");
                return;
            }
            count = n;
            i += 1;
        } else if (eq_ic(arg, "store") || eq_ic(arg, "storedist"))
            && i + 1 < remaining
            && store_allowed
        {
            store_key = Some(args.get(base + i + 1));
            store_dist = eq_ic(arg, "storedist");
            i += 1;
        } else if eq_ic(arg, "storedist") && variant == Variant::SearchStore {
            store_dist = true;
        } else if eq_ic(arg, "frommember") && i + 1 < remaining && is_search && !fromlonlat {
            if zobj_present {
                let obj = ctx.server.dbs[db].dict.get(args.get(src_index));
                let score = match obj.map(|o| &o.value) {
                    Some(Value::ZSet(z)) => z.score(args.get(base + i + 1)),
                    _ => None,
                };
                let Some(score) = score else {
                    ctx.client
                        .reply
                        .err("could not decode requested zset member");
                    return;
                };
                center = Some(geo::decode_score(score));
            }
            frommember = true;
            i += 1;
        } else if eq_ic(arg, "fromlonlat") && i + 2 < remaining && is_search && !frommember {
            let Some(c) = arg_lon_lat(reply, args, base + i + 1) else {
                return;
            };
            center = Some(c);
            fromlonlat = true;
            i += 2;
        } else if eq_ic(arg, "byradius") && i + 2 < remaining && is_search && !bybox {
            let Some((r, unit)) = arg_radius(reply, args, base + i + 1) else {
                return;
            };
            (kind, to_meters) = (Some(ShapeKind::Radius(r)), unit);
            byradius = true;
            i += 2;
        } else if eq_ic(arg, "bybox") && i + 3 < remaining && is_search && !byradius {
            let Some((width, height, unit)) = arg_box(reply, args, base + i + 1) else {
                return;
            };
            (kind, to_meters) = (Some(ShapeKind::Box { width, height }), unit);
            bybox = true;
            i += 3;
        } else {
            reply.error(SYNTAX_ERR);
            return;
        }
        i += 1;
    }

    let reply = &mut ctx.client.reply;
    if store_key.is_some() && (withdist || withhash || withcoord) {
        let who = if variant == Variant::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        reply.err(&format!(
            "{who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ));
        return;
    }
    let name = String::from_utf8_lossy(args.get(0)).into_owned();
    if is_search && !(frommember || fromlonlat) {
        reply.err(&format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ));
        return;
    }
    if is_search && !(byradius || bybox) {
        reply.err(&format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        ));
        return;
    }
    if any && count == 0 {
        reply.err("the ANY argument requires COUNT argument");
        return;
    }

    if !zobj_present {
        match store_key {
            Some(dst) => {
                if ctx.delete_key(dst) {
                    ctx.notify(notify_class::GENERIC, "del", dst);
                    ctx.dirty(1);
                }
                ctx.client.reply.int(0);
            }
            None => ctx.client.reply.array(0),
        }
        return;
    }
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }

    let (lon, lat) = center.expect("a centre when the key exists");
    let shape = Shape {
        lon,
        lat,
        to_meters,
        kind: kind.expect("a shape when the key exists"),
    };
    let area = shape.search_area();
    let limit = if any { count as usize } else { 0 };
    let mut points = Vec::new();
    {
        let obj = ctx.server.dbs[db].dict.get(args.get(src_index));
        let Some(Value::ZSet(z)) = obj.map(|o| &o.value) else {
            unreachable!("checked above");
        };
        for cell in area.cells() {
            if limit > 0 && points.len() >= limit {
                break;
            }
            collect_cell(z, cell, &shape, &mut points, limit);
        }
    }

    if points.is_empty() && store_key.is_none() {
        ctx.client.reply.array(0);
        return;
    }
    match sort {
        Sort::None => {}
        Sort::Asc => points.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Sort::Desc => points.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
    }
    let returned = if count == 0 {
        points.len()
    } else {
        points.len().min(count as usize)
    };
    points.truncate(returned);
    for p in &mut points {
        p.dist /= shape.to_meters;
    }

    let Some(dst) = store_key else {
        let reply = &mut ctx.client.reply;
        let options = withdist as usize + withhash as usize + withcoord as usize;
        reply.array(returned);
        for p in &points {
            if options > 0 {
                reply.array(options + 1);
            }
            reply.bulk(&p.member);
            if withdist {
                reply.bulk(geo::distance_text(p.dist).as_bytes());
            }
            if withhash {
                reply.int(p.score as i64);
            }
            if withcoord {
                reply.array(2);
                reply_coordinate(reply, p.lon);
                reply_coordinate(reply, p.lat);
            }
        }
        return;
    };

    if returned > 0 {
        let limits = ZsetLimits::from_config(&ctx.server.config);
        let mut result = ZSetValue::new_skiplist();
        let (mut maxelelen, mut totelelen) = (0, 0);
        for p in &points {
            let score = if store_dist { p.dist } else { p.score };
            maxelelen = maxelelen.max(p.member.len());
            totelelen += p.member.len();
            result.add(score, &p.member, 0, limits);
        }
        result.convert_to_listpack_if_fits(maxelelen, totelelen, limits);
        let obj = ctx.new_object(Value::ZSet(Box::new(result)));
        ctx.set_key(dst, obj, false);
        let event = if is_search {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.notify(notify_class::ZSET, event, dst);
        ctx.dirty(returned as u64);
        ctx.signal_key_as_ready(dst);
    } else if ctx.delete_key(dst) {
        ctx.notify(notify_class::GENERIC, "del", dst);
        ctx.dirty(1);
    }
    ctx.client.reply.int(returned as i64);
}
