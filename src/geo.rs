//! # geo: points on the Earth as sorted-set scores
//!
//! `GEOADD places 13.361389 38.115556 Palermo` stores Palermo in an
//! ordinary sorted set. There is no geo type: the member is the name, and
//! the score is the point, packed into one 52-bit integer by a *geohash*.
//! Everything the GEO commands do is sorted-set work on those scores plus
//! some spherical trigonometry. `TYPE places` says `zset`, and `ZRANGE
//! places 0 -1 WITHSCORES` shows the hashes.
//!
//! ## The idea: interleave the bits
//!
//! Cut the map in two along the prime meridian: a point in the east half
//! gets longitude bit 1, in the west half 0. Cut the half it is in by
//! latitude: north 1, south 0. Cut again by longitude, then by latitude,
//! 26 times each. The 52 answers, longitude and latitude bits
//! *interleaved* (longitude first, in the most significant place), name a
//! cell about 0.6 m across, and:
//!
//! * two points whose hashes share a prefix of 2k bits lie in the same
//!   cell of the k-th cut, so
//! * every point inside one cell has a score in one contiguous range:
//!   the cell's prefix followed by all zeros, up to (not including) the
//!   prefix plus one followed by all zeros.
//!
//! That turns "which points are near here" into a few `ZRANGEBYSCORE`
//! range scans, which the skiplist (or listpack) already does well.
//!
//! ### A worked example, 2 steps (4 bits)
//!
//! Longitude -180..180, latitude -85.05..85.05 (the Web Mercator limits:
//! Redis cannot store a point nearer a pole). Take lon 100, lat -30:
//!
//! ```text
//! lon offset (100+180)/360 = 0.777 * 2^2 = 3.11 -> 3 = 0b11
//! lat offset (-30+85.05)/170.1 = 0.323 * 2^2 = 1.29 -> 1 = 0b01
//! interleaved, lon bit above lat bit:  1 0  1 1   = 0b1011 = 11
//! ```
//!
//! Every point with lon in [90,180) and lat in [-42.5,0) has hash 11 at
//! step 2; at step 26 its score is in [11 << 48, 12 << 48).
//!
//! ## Searching a radius: the 9 cells
//!
//! A search (`GEOSEARCH ... BYRADIUS 200 km`) picks the step whose cells
//! are about as large as the radius ([`estimate_steps_by_radius`]): a cell
//! is then at least as big as the circle, so the circle fits inside the
//! cell of its centre *and its eight neighbours*. It finds those nine
//! cells ([`neighbors`]: move one cell along the longitude bits, the
//! latitude bits, or both, with carry across the interleaving), drops the
//! neighbours the search box cannot reach, turns each remaining cell into
//! a score range ([`cell_score_range`]), scans it, and keeps the points
//! whose real distance (haversine, [`distance`]) is inside the shape. The
//! cells overshoot; the distance test is exact. A box search
//! (`BYBOX w h`) is the same with a rectangle test.
//!
//! The step estimate can fall short near a cell's edge: the box around
//! the search reaches beyond a neighbour. [`search_area`] checks the four
//! side neighbours against the box and, if one is too small, uses one
//! step less (cells twice as big in each direction).
//!
//! ## The invariants
//!
//! 1. A geo score is an integer in [0, 2^52): 26 longitude bits and 26
//!    latitude bits interleaved. Doubles hold every such integer exactly,
//!    so the score loses nothing.
//! 2. Decoding a score gives the *centre* of its step-26 cell, not the
//!    point that was added: `GEOPOS` answers 13.36138933897018433 for
//!    13.361389. The error is below 0.6 m.
//! 3. A cell at step k covers exactly the scores
//!    [bits << (52-2k), (bits+1) << (52-2k)).
//!
//! ## The Redis C counterpart
//!
//! `src/geohash.c` (`interleave64`, `deinterleave64`, `geohashEncode`,
//! `geohashDecode`, `geohashDecodeAreaToLongLat`, `geohash_move_x/y`,
//! `geohashNeighbors`), `src/geohash_helper.c`
//! (`geohashEstimateStepsByRadius`, `geohashBoundingBox`,
//! `geohashCalculateAreasByShapeWGS84`, `geohashAlign52Bits`,
//! `geohashGetDistance`, `geohashGetDistanceIfInRectangle`), and the
//! helpers of `src/geo.c` (`decodeGeohash`, `geoWithinShape`,
//! `scoresOfGeoHashBox`, `addReplyDoubleDistance`). The commands are in
//! `src/commands/geo.rs`.
//!
//! ## What we simplified, and why
//!
//! * Redis's geohash functions take the coordinate ranges as arguments
//!   because `GEOHASH` re-encodes with the standard -90..90 latitude range;
//!   we keep that one parameter ([`Ranges`]) and drop the rest of the
//!   generality (steps above 26, which Redis never uses).
//! * Redis marks an unused neighbour by zeroing its hash; we use `None`.

use std::f64::consts::PI;

/// Web Mercator's limits (EPSG:900913): the coordinates `GEOADD` accepts.
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;

/// Bits per coordinate in a stored score: 26 + 26 = 52, the most a double
/// represents exactly (its mantissa has 53).
pub const STEP_MAX: u8 = 26;

/// The Earth's quadratic mean radius for WGS-84, in metres: the one
/// sphere every distance is measured on.
const EARTH_RADIUS_M: f64 = 6372797.560856;

/// Half the Earth's circumference in Web Mercator metres: the width of
/// the coarsest cell.
const MERCATOR_MAX: f64 = 20037726.37;

/// Degrees to radians, spelt as Redis computes it (π/180 rounded once).
const DEG_TO_RAD: f64 = PI / 180.0;

fn deg_rad(deg: f64) -> f64 {
    deg * DEG_TO_RAD
}

fn rad_deg(rad: f64) -> f64 {
    rad / DEG_TO_RAD
}

/// A closed interval of one coordinate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The longitude and latitude ranges a hash divides. Stored scores use
/// [`Ranges::MERCATOR`]; `GEOHASH` prints hashes of [`Ranges::STANDARD`]
/// (latitude -90..90), the usual geohash other tools understand.
#[derive(Clone, Copy, Debug)]
pub struct Ranges {
    pub lon: Range,
    pub lat: Range,
}

impl Ranges {
    pub const MERCATOR: Ranges = Ranges {
        lon: Range {
            min: LON_MIN,
            max: LON_MAX,
        },
        lat: Range {
            min: LAT_MIN,
            max: LAT_MAX,
        },
    };
    pub const STANDARD: Ranges = Ranges {
        lon: Range {
            min: -180.0,
            max: 180.0,
        },
        lat: Range {
            min: -90.0,
            max: 90.0,
        },
    };
}

/// A cell: `step` bits of each coordinate, interleaved in the low
/// `2 * step` bits of `bits` (longitude bits at odd positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

/// The rectangle a cell covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

// ANCHOR: geo_interleave
/// Spreads the 32 bits of `even` over the even bit positions and those of
/// `odd` over the odd ones (`interleave64`). Each line doubles the gaps:
/// a bit at position i moves to 2i in five shift-and-mask rounds (16, 8,
/// 4, 2, 1), no loop over 32 bits.
///
/// ```text
/// even = 0b01, odd = 0b11  ->  odd1 even1 odd0 even0 = 1 0 1 1 = 0b1011
/// ```
fn interleave(even: u32, odd: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut x = v as u64;
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        x = (x | (x << 1)) & 0x5555_5555_5555_5555;
        x
    }
    spread(even) | (spread(odd) << 1)
}

/// The inverse: (even-position bits, odd-position bits) (`deinterleave64`).
fn deinterleave(bits: u64) -> (u32, u32) {
    fn gather(v: u64) -> u32 {
        let mut x = v & 0x5555_5555_5555_5555;
        x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
        x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
        x as u32
    }
    (gather(bits), gather(bits >> 1))
}
// ANCHOR_END: geo_interleave

// ANCHOR: geo_encode
/// The cell of `step` bits per coordinate holding (lon, lat)
/// (`geohashEncode`). `None` outside the Mercator limits or the ranges.
///
/// Each coordinate becomes its offset in its range, a fraction in [0, 1],
/// times 2^step, truncated: the index of the slice it falls in. The
/// latitude index goes to the even bits, the longitude index to the odd
/// ones, so the most significant bit of a 52-bit hash is longitude's.
pub fn encode(ranges: Ranges, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < ranges.lat.min || lat > ranges.lat.max || lon < ranges.lon.min || lon > ranges.lon.max
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (lat - ranges.lat.min) / (ranges.lat.max - ranges.lat.min) * scale;
    let lon_offset = (lon - ranges.lon.min) / (ranges.lon.max - ranges.lon.min) * scale;
    Some(Cell {
        bits: interleave(lat_offset as u32, lon_offset as u32),
        step,
    })
}

/// The 52-bit score `GEOADD` stores for a point already checked to be
/// inside the Mercator limits.
pub fn score_of(lon: f64, lat: f64) -> u64 {
    let cell = encode(Ranges::MERCATOR, lon, lat, STEP_MAX).expect("coordinates checked");
    align_52(cell)
}
// ANCHOR_END: geo_encode

/// The rectangle a cell covers (`geohashDecode`): slice index i of 2^step
/// spans [min + i/2^step * width, min + (i+1)/2^step * width].
pub fn decode(ranges: Ranges, cell: Cell) -> Area {
    let (lat_index, lon_index) = deinterleave(cell.bits);
    let slices = (1u64 << cell.step) as f64;
    let lat_width = ranges.lat.max - ranges.lat.min;
    let lon_width = ranges.lon.max - ranges.lon.min;
    Area {
        lat: Range {
            min: ranges.lat.min + (lat_index as f64 / slices) * lat_width,
            max: ranges.lat.min + ((lat_index as f64 + 1.0) / slices) * lat_width,
        },
        lon: Range {
            min: ranges.lon.min + (lon_index as f64 / slices) * lon_width,
            max: ranges.lon.min + ((lon_index as f64 + 1.0) / slices) * lon_width,
        },
    }
}

/// The point a stored score stands for: the centre of its step-26 cell,
/// clamped to the Mercator limits (`decodeGeohash`). A score that is not
/// a geo score (a plain ZADD of 1.5) decodes to *some* point, as in Redis.
pub fn decode_score(score: f64) -> (f64, f64) {
    let cell = Cell {
        bits: score as u64,
        step: STEP_MAX,
    };
    let area = decode(Ranges::MERCATOR, cell);
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// A cell's bits moved to the top of 52 (`geohashAlign52Bits`): the
/// lowest score inside the cell.
pub fn align_52(cell: Cell) -> u64 {
    cell.bits << (52 - 2 * cell.step as u32)
}

/// The scores of every point inside a cell: [min, max)
/// (`scoresOfGeoHashBox`). Example, step 3, bits 0b101010: from
/// 101010 followed by 46 zeros, up to 101011 followed by 46 zeros.
pub fn cell_score_range(cell: Cell) -> (f64, f64) {
    let min = align_52(cell);
    let max = align_52(Cell {
        bits: cell.bits + 1,
        step: cell.step,
    });
    (min as f64, max as f64)
}

/// The 11-character standard geohash `GEOHASH` prints for a score: decode
/// with the Mercator ranges, re-encode with latitude -90..90, and read the
/// 52 bits five at a time in base 32 (the 11th character would need bits
/// 53-55, which do not exist: Redis prints '0').
pub fn geohash_text(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let bits = encode(Ranges::STANDARD, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut text = [b'0'; 11];
    for (i, c) in text.iter_mut().enumerate().take(10) {
        let index = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[index as usize];
    }
    text
}

// ANCHOR: geo_neighbors
/// Moves a cell one step along the bits in `mask_side` (odd bits:
/// longitude, east/west; even bits: latitude, north/south) with carry
/// (`geohash_move_x`, `geohash_move_y`). Adding 1 to interleaved bits must
/// carry past the other coordinate's bits: filling those with ones
/// (`| gaps`) makes the carry run through them, and the mask clears them
/// again. Moving down subtracts the same way. Moving off the edge wraps
/// around (east of 180 is -180), as the arithmetic is modulo 2^(2*step).
fn move_cell(cell: Cell, side_mask: u64, up: bool) -> Cell {
    let width = 64 - 2 * cell.step as u32;
    let gaps_mask = !side_mask;
    let mine = cell.bits & side_mask;
    let others = cell.bits & gaps_mask;
    let gaps = gaps_mask >> width;
    let moved = if up {
        mine.wrapping_add(gaps + 1)
    } else {
        (mine | gaps).wrapping_sub(gaps + 1)
    };
    Cell {
        bits: (moved & (side_mask >> width)) | others,
        step: cell.step,
    }
}

const LON_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;
const LAT_BITS: u64 = 0x5555_5555_5555_5555;

/// The eight cells around a cell, in the order Redis scans them after
/// the centre: north, south, east, west, north-east, north-west,
/// south-east, south-west (`geohashNeighbors`, `membersOfAllNeighbors`).
pub fn neighbors(cell: Cell) -> [Cell; 8] {
    let east = move_cell(cell, LON_BITS, true);
    let west = move_cell(cell, LON_BITS, false);
    let north = move_cell(cell, LAT_BITS, true);
    let south = move_cell(cell, LAT_BITS, false);
    [
        north,
        south,
        east,
        west,
        move_cell(east, LAT_BITS, true),
        move_cell(west, LAT_BITS, true),
        move_cell(east, LAT_BITS, false),
        move_cell(west, LAT_BITS, false),
    ]
}
// ANCHOR_END: geo_neighbors

/// Indexes into [`neighbors`]' array.
const NORTH: usize = 0;
const SOUTH: usize = 1;
const EAST: usize = 2;
const WEST: usize = 3;
const NORTH_EAST: usize = 4;
const NORTH_WEST: usize = 5;
const SOUTH_EAST: usize = 6;
const SOUTH_WEST: usize = 7;

// ANCHOR: geo_distance
/// Distance in metres along the sphere between two points, by the
/// haversine formula (`geohashGetDistance`). Points on one meridian
/// (same longitude) take the short cut: the arc of latitudes.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Distance along a meridian (`geohashGetLatDistance`).
fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}
// ANCHOR_END: geo_distance

/// The step whose cells are about `radius_m` wide at latitude `lat`
/// (`geohashEstimateStepsByRadius`): double the radius until it reaches
/// half the Earth; each doubling is one step less. Two steps are taken
/// off to be safe, one or two more near the poles, where a longitude
/// degree shrinks. Always in 1..=26; a zero radius gets 26.
///
/// Example: 200 km doubles 7 times to 25600 km > 20037 km, so
/// step = 1 + 7 - 2 = 6: cells of 360/2^6 = 5.6 degrees of longitude.
pub fn estimate_steps_by_radius(radius_m: f64, lat: f64) -> u8 {
    if radius_m == 0.0 {
        return STEP_MAX;
    }
    let mut range = radius_m;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, STEP_MAX as i32) as u8
}

/// What a search covers, around a centre (lon, lat).
#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    /// `BYRADIUS r`, `GEORADIUS ... r`.
    Radius(f64),
    /// `BYBOX width height`.
    Box { width: f64, height: f64 },
}

/// A search shape, its sizes in the unit the client gave and
/// `to_meters` the factor to metres (`GeoShape`).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub to_meters: f64,
    pub kind: ShapeKind,
}

/// The area to scan for a shape: the centre cell and the neighbours worth
/// scanning (`GeoHashRadius`).
#[derive(Clone, Copy, Debug)]
pub struct SearchArea {
    pub center: Cell,
    /// In [`neighbors`]' order; `None` where the shape cannot reach.
    pub neighbors: [Option<Cell>; 8],
}

impl SearchArea {
    /// The cells to scan, centre first (`membersOfAllNeighbors`'s order).
    /// A neighbour equal to the neighbour scanned just before it is
    /// skipped: for a huge radius at a coarse step, neighbours wrap around
    /// and coincide, and scanning one twice would report its points twice.
    /// (Like Redis, the centre itself is never compared.)
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        let mut last: Option<Cell> = None;
        let around = self
            .neighbors
            .iter()
            .flatten()
            .copied()
            .filter(move |&cell| {
                if last == Some(cell) {
                    return false;
                }
                last = Some(cell);
                true
            });
        std::iter::once(self.center).chain(around)
    }
}

impl Shape {
    /// The shape's bounding box in degrees, [min lon, min lat, max lon,
    /// max lat] (`geohashBoundingBox`). The longitude half-width is wider
    /// on the side nearer the pole, where meridians converge: the top edge
    /// in the north, the bottom edge in the south.
    fn bounding_box(&self) -> [f64; 4] {
        let (half_w, half_h) = match self.kind {
            ShapeKind::Radius(r) => (r, r),
            ShapeKind::Box { width, height } => (width / 2.0, height / 2.0),
        };
        let height = self.to_meters * half_h;
        let width = self.to_meters * half_w;
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let lon_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        let lon_delta = if self.lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        ]
    }

    // ANCHOR: geo_search_area
    /// The cells to scan for this shape (`geohashCalculateAreasByShapeWGS84`).
    ///
    /// 1. Estimate the step from the radius (for a box, its half-diagonal).
    /// 2. Take the centre's cell and its eight neighbours. If a side
    ///    neighbour stops short of the bounding box, one step less.
    /// 3. Drop the neighbours on a side the bounding box does not reach
    ///    (only from step 2 on: at step 1 every cell is a quarter of the
    ///    world and all are kept).
    pub fn search_area(&self) -> SearchArea {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let radius_m = match self.kind {
            ShapeKind::Radius(r) => r,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.to_meters;
        let mut step = estimate_steps_by_radius(radius_m, self.lat);
        let ranges = Ranges::MERCATOR;
        let cell_at = |step| encode(ranges, self.lon, self.lat, step).expect("a valid centre");
        let mut center = cell_at(step);
        let mut around = neighbors(center);

        let side = |i: usize| decode(ranges, around[i]);
        let too_coarse = side(NORTH).lat.max < max_lat
            || side(SOUTH).lat.min > min_lat
            || side(EAST).lon.max < max_lon
            || side(WEST).lon.min > min_lon;
        if step > 1 && too_coarse {
            step -= 1;
            center = cell_at(step);
            around = neighbors(center);
        }

        let mut keep = [Some(()); 8];
        if step >= 2 {
            let area = decode(ranges, center);
            let mut drop = |sides: [usize; 3]| sides.iter().for_each(|&i| keep[i] = None);
            if area.lat.min < min_lat {
                drop([SOUTH, SOUTH_WEST, SOUTH_EAST]);
            }
            if area.lat.max > max_lat {
                drop([NORTH, NORTH_EAST, NORTH_WEST]);
            }
            if area.lon.min < min_lon {
                drop([WEST, SOUTH_WEST, NORTH_WEST]);
            }
            if area.lon.max > max_lon {
                drop([EAST, SOUTH_EAST, NORTH_EAST]);
            }
        }
        let mut neighbors = [None; 8];
        for i in 0..8 {
            neighbors[i] = keep[i].map(|_| around[i]);
        }
        SearchArea { center, neighbors }
    }
    // ANCHOR_END: geo_search_area

    /// Whether the point of a score is inside the shape, and if so the
    /// point and its distance in metres from the centre (`geoWithinShape`).
    /// A box tests the cheap latitude distance first, then the distance
    /// along the point's parallel, then computes the true distance for
    /// the reply.
    pub fn contains(&self, score: f64) -> Option<(f64, f64, f64)> {
        let (lon, lat) = decode_score(score);
        let dist = match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                if d > r * self.to_meters {
                    return None;
                }
                d
            }
            ShapeKind::Box { width, height } => {
                let (width_m, height_m) = (width * self.to_meters, height * self.to_meters);
                if lat_distance(lat, self.lat) > height_m / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > width_m / 2.0 {
                    return None;
                }
                distance(self.lon, self.lat, lon, lat)
            }
        };
        Some((lon, lat, dist))
    }
}

// ============================================================================
// Reply text
// ============================================================================

/// A distance as `GEODIST` and `WITHDIST` print it: four decimals, rounded
/// half to even as C's `llrint` does (`fixedpoint_d2string(.., 4)`).
/// 5.21449928 prints `5.2145`.
pub fn distance_text(d: f64) -> String {
    let scaled = (d * 10000.0).round_ties_even() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let abs = scaled.unsigned_abs();
    format!("{sign}{}.{:04}", abs / 10000, abs % 10000)
}

/// A coordinate as `GEOPOS` and `WITHCOORD` print it: 17 decimals, the
/// trailing zeros cut (`addReplyHumanLongDouble`, C's `%.17Lf` then
/// trimming). 13.361389 is stored as the centre of its cell and prints
/// `13.36138933897018433`.
pub fn coordinate_text(v: f64) -> String {
    let mut text = format!("{v:.17}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_and_deinterleave_are_inverse() {
        for (a, b) in [
            (0u32, 0u32),
            (3, 1),
            (0xFFFF_FFFF, 0),
            (0x1234_5678, 0x9ABC_DEF0),
        ] {
            assert_eq!(deinterleave(interleave(a, b)), (a, b));
        }
        // lat index 0b01 at even bits, lon index 0b11 at odd bits.
        assert_eq!(interleave(0b01, 0b11), 0b1011);
    }

    #[test]
    fn the_worked_example_of_the_essay_is_cell_11() {
        let cell = encode(Ranges::MERCATOR, 100.0, -30.0, 2).unwrap();
        assert_eq!(cell, Cell { bits: 11, step: 2 });
    }

    #[test]
    fn palermo_scores_as_redis_stores_it() {
        // Redis 7.0: GEOADD k 13.361389 38.115556 Palermo; ZSCORE k Palermo
        assert_eq!(score_of(13.361389, 38.115556), 3479099956230698);
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(coordinate_text(lon), "13.36138933897018433");
        assert_eq!(coordinate_text(lat), "38.11555639549629859");
        assert_eq!(&geohash_text(3479099956230698.0), b"sqc8b49rny0");
    }

    #[test]
    fn neighbours_carry_across_the_interleaved_bits() {
        // Step 1: four cells; lon bit is bit 1, lat bit is bit 0.
        let sw = Cell {
            bits: 0b00,
            step: 1,
        };
        let n = neighbors(sw);
        assert_eq!(n[NORTH].bits, 0b01);
        assert_eq!(n[EAST].bits, 0b10);
        assert_eq!(n[NORTH_EAST].bits, 0b11);
        assert_eq!(
            n[WEST].bits, 0b10,
            "west of the west half wraps to the east"
        );
        // Step 2: moving east from lon index 01 to 10 carries over a lat bit.
        let c = Cell {
            bits: 0b0111,
            step: 2,
        }; // lon 01, lat 11
        assert_eq!(neighbors(c)[EAST].bits, 0b1101); // lon 10, lat 11
    }

    #[test]
    fn distances_are_printed_with_four_decimals() {
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(distance_text(0.0), "0.0000");
        assert_eq!(distance_text(0.00006), "0.0001");
    }
}
