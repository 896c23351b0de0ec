//! # quicklist: a list of listpacks
//!
//! Every Redis list bigger than a handful of elements is a **quicklist**: a
//! doubly linked list whose nodes are [listpacks](crate::listpack). This
//! module is Redis 7.0's `src/quicklist.c` (Matt Stancliff's design from
//! Redis 3.2, moved from ziplists to listpacks in 7.0), rewritten in Rust to
//! be read.
//!
//! ## The idea
//!
//! The two obvious ways to store a list both fail a database:
//!
//! * **A linked list of elements** makes `LPUSH`/`RPOP` O(1), but each
//!   element pays two pointers and an allocation: 1 million 10-byte
//!   elements cost about 50 MB for 10 MB of data.
//! * **One big listpack** is compact, but every push at the front moves every
//!   byte, and a 100 MB listpack makes each `LPUSH` copy 100 MB.
//!
//! A quicklist is both at once: a linked list of *nodes*, each a listpack of
//! bounded size. Pushes touch only the end node (small, so moving its bytes is
//! cheap), and the per-element overhead is the listpack's 2-3 bytes, plus one
//! node header shared by a few hundred elements.
//!
//! ```text
//!    head                                                   tail
//!   +-----------+    +-----------+    +-----------+    +-----------+
//!   | listpack  |<-->| LZF bytes |<-->| LZF bytes |<-->| listpack  |
//!   | a b c d   |    | (e f g h) |    | (i j k l) |    | m n       |
//!   +-----------+    +-----------+    +-----------+    +-----------+
//!    raw: depth 1     compressed: inner nodes            raw: depth 1
//! ```
//!
//! ## How full a node may get: `list-max-listpack-size` (our `fill`)
//!
//! * **Negative** -1..-5: a byte budget per node of 4, 8, 16, 32 or 64 KiB
//!   (`optimization_level` in quicklist.c). The default, -2, is 8 KiB.
//! * **Positive** N: at most N elements per node, *and* at most
//!   [`SIZE_SAFETY_LIMIT`] (8 KiB) per node, so `fill = 1000` with 1 KB
//!   elements cannot make 1 MB nodes.
//!
//! A node's size is estimated before the insert as `node bytes + element
//! length + 8` ([`SIZE_ESTIMATE_OVERHEAD`]): the 8 over-estimates the entry's
//! header and backlen (at most 5 + 5, but 2 for any element under 64 bytes),
//! so a node may end up a few bytes under its budget, never over.
//! See `Quicklist::node_allow_insert`.
//!
//! An element of [`DEFAULT_PACKED_THRESHOLD`] (1 GiB) or more is never put in
//! a listpack: it gets a **PLAIN** node of its own, holding the raw bytes
//! (Redis 7.0's `QUICKLIST_NODE_CONTAINER_PLAIN`). A listpack cannot grow past
//! 1 GiB ([`crate::listpack::MAX_SAFETY_SIZE`]), and copying a huge element
//! into and out of listpack encoding would gain nothing.
//!
//! ## Compression: `list-compress-depth` (our `compress_depth`)
//!
//! Lists are mostly used as queues: pushed at one end, popped at the other,
//! with the middle rarely read. So Redis can keep the inner nodes
//! LZF-compressed ([`crate::lzf`]). Depth `N` keeps `N` nodes at *each* end
//! raw; 0 (the default) turns compression off.
//!
//! ```text
//!   depth 1, 6 nodes:   [raw] [lzf] [lzf] [lzf] [lzf] [raw]
//!   depth 2, 6 nodes:   [raw] [raw] [lzf] [lzf] [raw] [raw]
//!   depth 2, 4 nodes:   [raw] [raw] [raw] [raw]     (no inner nodes)
//! ```
//!
//! A node is only kept compressed if that is worth it (see [`compress_node`]
//! and quicklist.c's `__quicklistCompressNode`): its listpack is at least
//! [`MIN_COMPRESS_BYTES`] (48) bytes, and the compressed form is at least
//! [`MIN_COMPRESS_IMPROVE`] (8) bytes smaller. Otherwise it stays raw even in
//! the middle.
//!
//! **Our invariant is exact**: after every public call, node `i` of `n` is
//! compressed if and only if `depth > 0`, `depth <= i < n - depth`, and
//! compressing it is worth it. Redis's `__quicklistCompress` only re-checks
//! the nodes near the one it touched, which keeps the same property in
//! practice; we state it and the tests check it after every step. To keep it
//! cheap, `Quicklist::settle` only re-examines the nodes whose position
//! relative to the ends could have changed: O(depth + nodes added or removed)
//! per call, not O(all nodes).
//!
//! ## Why a `VecDeque` of nodes and not a linked list
//!
//! Redis links nodes with `prev`/`next` pointers. We keep them in a
//! `VecDeque<Node>` instead, with an index where Redis has a node pointer.
//! Pushing or popping a node at either end is still O(1), and the element
//! operations that work in the middle (`LINDEX`, `LINSERT`, `LSET`, `LREM`)
//! are O(n) in Redis too, because it must first walk to the node. What we
//! pay extra: inserting or removing a node in the middle shifts the node
//! *headers* after it (56 bytes each, never the element bytes), a memmove of
//! up to 56 KB for a list of 1000 nodes, which holds about 8 MB of data at
//! the default fill. What we gain: no `unsafe`, no
//! `Rc<RefCell<_>>` pointer soup, and a structure whose nodes a student can
//! print by index. The one place Redis's pointer really wins is bookmarks
//! (node pointers that survive rehashing of the list, used by incremental
//! defrag), which we do not port.
//!
//! ## Reads never change the list
//!
//! Redis decompresses a node to read it and marks it `recompress` so the next
//! write puts it back (`quicklistDecompressNodeForUse`). Our reads
//! ([`Quicklist::index`], iterators) take `&self` and decompress into a
//! temporary instead, so a read never changes the structure; writes
//! decompress in place and `Quicklist::settle` recompresses.
//!
//! ## What we simplified
//!
//! * No bookmarks (`quicklistBookmark*`) and no iterator that survives
//!   writes (`quicklistDelEntry` on an iterator): the command layer uses
//!   indexes.
//! * `quicklistReplaceEntry` with a value that changes container (small into
//!   a PLAIN node, huge into a packed node) is an insert-after plus a delete,
//!   as in Redis, but written as those two public calls.
//! * Values come back as owned `Vec<u8>` (integers printed in decimal),
//!   not as Redis's `(char *, len)` or `long long` pair.

use std::collections::VecDeque;

use crate::listpack::{Listpack, LpValue};
use crate::lzf;

/// Byte budgets for fill -1..=-5. quicklist.c: `optimization_level`.
pub const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// A node limited by element count (positive fill) still may not exceed
/// 8 KiB. quicklist.c: `SIZE_SAFETY_LIMIT`.
pub const SIZE_SAFETY_LIMIT: usize = 8192;

/// Over-estimate of one entry's encoding overhead, added to the element
/// length when deciding whether it fits. quicklist.c: `SIZE_ESTIMATE_OVERHEAD`.
pub const SIZE_ESTIMATE_OVERHEAD: usize = 8;

/// Nodes smaller than this are never compressed. quicklist.c:
/// `MIN_COMPRESS_BYTES`.
pub const MIN_COMPRESS_BYTES: usize = 48;

/// Compression must save at least this many bytes to be kept. quicklist.c:
/// `MIN_COMPRESS_IMPROVE`.
pub const MIN_COMPRESS_IMPROVE: usize = 8;

/// Elements this big or bigger get a PLAIN node. quicklist.c:
/// `packed_threshold` (settable with `DEBUG QUICKLIST-PACKED-THRESHOLD`).
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;

/// Largest positive fill (16-bit signed bitfield in Redis). quicklist.c:
/// `FILL_MAX`.
pub const FILL_MAX: i32 = (1 << 15) - 1;

/// Largest compress depth (16-bit bitfield). quicklist.c: `COMPRESS_MAX`.
pub const COMPRESS_MAX: u32 = (1 << 16) - 1;

/// What a node holds. Redis: `quicklistNode.container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// One huge element's raw bytes (`QUICKLIST_NODE_CONTAINER_PLAIN`).
    Plain,
    /// A listpack of elements (`QUICKLIST_NODE_CONTAINER_PACKED`).
    Packed,
}

/// A node's payload in its current form.
#[derive(Debug, Clone)]
enum Body {
    Packed(Listpack),
    Plain(Vec<u8>),
    /// LZF bytes of the listpack or the plain element; `Node::container`
    /// says which, and `Node::sz` is the decompressed length.
    Lzf(Vec<u8>),
}

// ANCHOR: quicklist_node
/// One node. Redis: `quicklistNode`, minus the `prev`/`next` pointers (our
/// position in the `VecDeque` replaces them) and the bit flags used only by
/// Redis's decompress-for-use dance (`recompress`, `dont_compress`).
#[derive(Debug, Clone)]
struct Node {
    /// The data: raw listpack, raw plain bytes, or LZF-compressed either.
    body: Body,
    /// Listpack or plain, remembered across compression.
    container: Container,
    /// Uncompressed size in bytes (Redis: `sz`). The fill and merge rules
    /// look at this, so compressing a node never changes how full it counts.
    sz: usize,
    /// Elements in this node (Redis: `count`, a 16-bit field; fill caps
    /// nodes far below 65535 elements). Never 0: empty nodes are removed.
    count: usize,
}
// ANCHOR_END: quicklist_node

impl Node {
    fn packed(lp: Listpack) -> Node {
        Node {
            sz: lp.bytes_len(),
            count: lp.len(),
            body: Body::Packed(lp),
            container: Container::Packed,
        }
    }

    fn plain(data: Vec<u8>) -> Node {
        Node {
            sz: data.len(),
            count: 1,
            body: Body::Plain(data),
            container: Container::Plain,
        }
    }

    fn with_value(value: &[u8]) -> Node {
        let mut lp = Listpack::new();
        lp.push_back(value);
        Node::packed(lp)
    }

    fn is_plain(&self) -> bool {
        self.container == Container::Plain
    }

    fn is_compressed(&self) -> bool {
        matches!(self.body, Body::Lzf(_))
    }

    /// The uncompressed bytes, if the node is not compressed.
    fn raw_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Packed(lp) => Some(lp.as_bytes()),
            Body::Plain(data) => Some(data),
            Body::Lzf(_) => None,
        }
    }

    /// Decompresses in place (no-op if raw). Redis:
    /// `__quicklistDecompressNode`.
    fn decompress(&mut self) {
        if let Body::Lzf(c) = &self.body {
            self.body = Self::inflate(c, self.sz, self.container);
        }
    }

    /// Rebuilds a body from LZF bytes we compressed ourselves (or loaded
    /// already validated), so failure is a bug, not bad input.
    fn inflate(c: &[u8], sz: usize, container: Container) -> Body {
        let raw = lzf::decompress(c, sz).expect("quicklist node LZF is corrupt");
        match container {
            Container::Plain => Body::Plain(raw),
            Container::Packed => {
                Body::Packed(Listpack::from_bytes(raw).expect("quicklist node is not a listpack"))
            }
        }
    }

    /// Compresses in place if that is worth it; returns whether the node is
    /// now compressed.
    fn compress(&mut self) -> bool {
        if let Some(c) = self.raw_bytes().and_then(compress_node) {
            self.body = Body::Lzf(c);
        }
        self.is_compressed()
    }

    /// The listpack, for writing: decompresses first. Panics on a PLAIN
    /// node, which callers rule out.
    fn lp_mut(&mut self) -> &mut Listpack {
        self.decompress();
        match &mut self.body {
            Body::Packed(lp) => lp,
            _ => panic!("lp_mut on a plain node"),
        }
    }

    /// Re-reads `count` and `sz` from the listpack after a write. Redis:
    /// `quicklistNodeUpdateSz` plus the count bookkeeping done by hand.
    fn refresh(&mut self) {
        if let Body::Packed(lp) = &self.body {
            self.sz = lp.bytes_len();
            self.count = lp.len();
        }
    }

    /// All elements, front to back, decompressing into a temporary if needed.
    fn values(&self) -> Vec<Vec<u8>> {
        let inflated;
        let body = match &self.body {
            Body::Lzf(c) => {
                inflated = Self::inflate(c, self.sz, self.container);
                &inflated
            }
            b => b,
        };
        match body {
            Body::Packed(lp) => lp.iter().map(|v| v.to_vec()).collect(),
            Body::Plain(data) => vec![data.clone()],
            Body::Lzf(_) => unreachable!(),
        }
    }

    /// Element `offset` of this node (0-based, must be in range).
    fn value_at(&self, offset: usize) -> Vec<u8> {
        let get = |lp: &Listpack| {
            lp.get(lp.seek(offset as i64).expect("offset in range"))
                .to_vec()
        };
        match &self.body {
            Body::Packed(lp) => get(lp),
            Body::Plain(data) => data.clone(),
            Body::Lzf(c) => match Self::inflate(c, self.sz, self.container) {
                Body::Packed(lp) => get(&lp),
                Body::Plain(data) => data,
                Body::Lzf(_) => unreachable!(),
            },
        }
    }
}

// ANCHOR: compress_node
/// The compressed form of a node's `raw` bytes, if keeping it compressed is
/// worth it. Redis: `__quicklistCompressNode`:
///
/// * below [`MIN_COMPRESS_BYTES`] (48): never. A small node saves a few bytes
///   at best, and every read would pay a decompression.
/// * otherwise LZF with an output limit of the raw size, and the result is
///   kept only if it is at least [`MIN_COMPRESS_IMPROVE`] (8) bytes smaller.
///   That margin covers the bookkeeping Redis stores next to LZF data
///   (`quicklistLZF.sz`, 8 bytes) so compression never costs memory.
///
/// Example: a 175-byte node of 4 strings `"element-number-N-padding-..."`
/// compresses to 70 bytes with Redis's LZF (and to a similar size with ours):
/// kept. A 60-byte node of random bytes does not fit in 60 bytes: stays raw.
pub fn compress_node(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < MIN_COMPRESS_BYTES {
        return None;
    }
    let c = lzf::compress(raw, raw.len())?;
    (c.len() + MIN_COMPRESS_IMPROVE < raw.len()).then_some(c)
}
// ANCHOR_END: compress_node

/// A read-only look at one node, for `OBJECT`/`DEBUG`, the visualizer, and
/// RDB saving (which writes exactly these bytes: a raw listpack or plain
/// element as a string, an LZF node as an LZF blob with `sz` as its
/// uncompressed length).
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    /// Listpack or plain element.
    pub container: Container,
    /// Elements in the node (1 for a plain node).
    pub count: usize,
    /// Uncompressed size in bytes.
    pub sz: usize,
    /// The stored bytes.
    pub data: NodeData<'a>,
}

/// A node's stored bytes.
#[derive(Debug, Clone, Copy)]
pub enum NodeData<'a> {
    /// Uncompressed: a listpack, or a plain element's bytes.
    Raw(&'a [u8]),
    /// LZF-compressed; decompresses to `NodeView::sz` bytes.
    Lzf(&'a [u8]),
}

impl NodeView<'_> {
    /// True if the node is stored LZF-compressed.
    pub fn is_compressed(&self) -> bool {
        matches!(self.data, NodeData::Lzf(_))
    }
}

/// A list of listpacks. Redis: `quicklist`.
///
/// Invariants, between any two public calls:
/// 1. `count` is the sum of the nodes' counts; no node is empty.
/// 2. A packed node's listpack has exactly `count` entries and `sz` bytes; a
///    plain node holds one element of `sz` bytes.
/// 3. Compression is exact (see "Compression" above): node `i` of `n` is
///    compressed iff `depth <= i < n - depth` and [`compress_node`] accepts
///    its bytes. So the head and tail nodes are always raw.
#[derive(Debug, Clone)]
pub struct Quicklist {
    /// The nodes, head first. Redis: the `head`/`tail` linked list.
    nodes: VecDeque<Node>,
    /// Total elements (Redis: `count`), so `LLEN` is O(1).
    count: usize,
    /// `list-max-listpack-size`, clamped to -5..=[`FILL_MAX`].
    fill: i32,
    /// `list-compress-depth`: raw nodes kept at each end; 0 = no compression.
    compress_depth: u32,
    /// Elements of this many bytes or more get PLAIN nodes.
    packed_threshold: usize,
}

impl Quicklist {
    /// An empty list. `fill` and `compress_depth` are the config values
    /// `list-max-listpack-size` and `list-compress-depth`; out-of-range values
    /// are clamped as Redis's `quicklistSetFill`/`quicklistSetCompressDepth`
    /// do. Redis: `quicklistNew`.
    pub fn new(fill: i32, compress_depth: u32) -> Self {
        Quicklist {
            nodes: VecDeque::new(),
            count: 0,
            fill: fill.clamp(-5, FILL_MAX),
            compress_depth: compress_depth.min(COMPRESS_MAX),
            packed_threshold: DEFAULT_PACKED_THRESHOLD,
        }
    }

    /// Builds a list from listpacks as stored in an RDB file, one node each,
    /// in order; empty listpacks are skipped (as `rdbLoadObject` does). No
    /// merging or splitting: the nodes are kept as saved. Redis:
    /// `quicklistAppendListpack` in a loop.
    pub fn from_listpacks(fill: i32, compress_depth: u32, listpacks: Vec<Listpack>) -> Self {
        let mut ql = Quicklist::new(fill, compress_depth);
        for lp in listpacks {
            ql.append_listpack(lp);
        }
        ql
    }

    /// Appends `lp` as a new tail node (skipped if empty). For RDB loading.
    pub fn append_listpack(&mut self, lp: Listpack) {
        if lp.is_empty() {
            return;
        }
        self.append_node(Node::packed(lp));
    }

    /// Appends one element as a new PLAIN tail node, whatever its size. For
    /// RDB loading. Redis: `quicklistAppendPlainNode`.
    pub fn append_plain_node(&mut self, data: Vec<u8>) {
        self.append_node(Node::plain(data));
    }

    fn append_node(&mut self, node: Node) {
        let old = self.nodes.len();
        self.count += node.count;
        self.nodes.push_back(node);
        self.settle(old, old..old + 1);
    }

    /// Sets the PLAIN-node threshold; 0 restores the default. Refused (false)
    /// above 4 GiB - 1 MiB, as Redis's `quicklistisSetPackedThreshold`.
    /// Affects later inserts only.
    pub fn set_packed_threshold(&mut self, sz: usize) -> bool {
        if sz as u64 > (1u64 << 32) - (1 << 20) {
            return false;
        }
        self.packed_threshold = if sz == 0 {
            DEFAULT_PACKED_THRESHOLD
        } else {
            sz
        };
        true
    }

    /// Number of elements. O(1). Redis: `quicklistCount`.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of nodes. Redis: `quicklist->len`.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of nodes currently stored LZF-compressed.
    pub fn compressed_node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_compressed()).count()
    }

    /// The fill setting in effect.
    pub fn fill(&self) -> i32 {
        self.fill
    }

    /// The compress depth in effect.
    pub fn compress_depth(&self) -> u32 {
        self.compress_depth
    }

    /// Each node, head first.
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> + '_ {
        self.nodes.iter().map(|n| NodeView {
            container: n.container,
            count: n.count,
            sz: n.sz,
            data: match &n.body {
                Body::Packed(lp) => NodeData::Raw(lp.as_bytes()),
                Body::Plain(d) => NodeData::Raw(d),
                Body::Lzf(c) => NodeData::Lzf(c),
            },
        })
    }

    fn is_large(&self, sz: usize) -> bool {
        sz >= self.packed_threshold
    }

    // ---------------------------------------------------------------------
    // The fill rules
    // ---------------------------------------------------------------------

    /// Does `sz` fit the byte budget of a negative `fill`? Always false for
    /// a positive fill (which counts elements instead). Redis:
    /// `_quicklistNodeSizeMeetsOptimizationRequirement`.
    fn size_meets_optimization_requirement(sz: usize, fill: i32) -> bool {
        if fill >= 0 {
            return false;
        }
        let level = (-fill - 1) as usize;
        OPTIMIZATION_LEVEL
            .get(level)
            .is_some_and(|&limit| sz <= limit)
    }

    // ANCHOR: node_allow_insert
    /// May an element of `sz` bytes go into `node`? Redis:
    /// `_quicklistNodeAllowInsert`. In order:
    ///
    /// 1. No node, a PLAIN node, or a large element: no.
    /// 2. Estimate the node after the insert: `node.sz + sz + 8`.
    /// 3. Negative fill: yes iff the estimate is within the byte budget.
    /// 4. Positive fill: no if the estimate is over 8 KiB; otherwise yes iff
    ///    the node has fewer than `fill` elements.
    ///
    /// Worked example, default fill -2 (8192 bytes): a node of 8100 bytes may
    /// take an 84-byte element (8100 + 84 + 8 = 8192) but not an 85-byte one.
    /// With fill 128, a node of 100 elements totalling 8150 bytes refuses a
    /// 40-byte element (8198 > 8192) despite having room for 28 more.
    fn node_allow_insert(&self, node: Option<&Node>, sz: usize) -> bool {
        let Some(node) = node else { return false };
        if node.is_plain() || self.is_large(sz) {
            return false;
        }
        let new_sz = node.sz + sz + SIZE_ESTIMATE_OVERHEAD;
        if Self::size_meets_optimization_requirement(new_sz, self.fill) {
            true
        } else if new_sz > SIZE_SAFETY_LIMIT {
            false
        } else {
            (node.count as i64) < i64::from(self.fill)
        }
    }
    // ANCHOR_END: node_allow_insert

    /// May nodes `a` and `b` become one? Redis: `_quicklistNodeAllowMerge`.
    /// Same rules as inserting, with the merged size estimated as
    /// `a.sz + b.sz - 11` (Redis's constant: one listpack's 6-byte header and
    /// 1-byte EOF are saved, and a few bytes more are allowed for), and the
    /// merged count allowed to *equal* `fill`.
    fn node_allow_merge(&self, a: usize, b: usize) -> bool {
        let (Some(a), Some(b)) = (self.nodes.get(a), self.nodes.get(b)) else {
            return false;
        };
        if a.is_plain() || b.is_plain() {
            return false;
        }
        let merge_sz = (a.sz + b.sz).saturating_sub(11);
        if Self::size_meets_optimization_requirement(merge_sz, self.fill) {
            true
        } else if merge_sz > SIZE_SAFETY_LIMIT {
            false
        } else {
            (a.count + b.count) as i64 <= i64::from(self.fill)
        }
    }

    // ---------------------------------------------------------------------
    // Compression bookkeeping
    // ---------------------------------------------------------------------

    /// Is node `i` an inner node, which compression applies to?
    fn is_inner(&self, i: usize) -> bool {
        let d = self.compress_depth as usize;
        d > 0 && i >= d && i + d < self.nodes.len()
    }

    /// Puts node `i` in the state the invariant asks for.
    fn apply_compression_policy(&mut self, i: usize) {
        if self.is_inner(i) {
            self.nodes[i].compress();
        } else {
            self.nodes[i].decompress();
        }
    }

    /// Restores the compression invariant after a change. `old_len` is the
    /// node count before the change, `touched` the (new) indexes of nodes
    /// whose content changed or that were added.
    ///
    /// Why this suffices: a node outside `touched` kept its content, and
    /// either sits before the change (its distance to the head is unchanged)
    /// or after it (its distance to the tail is unchanged). Its other
    /// distance moved by at most `|len - old_len|`, so its inner/outer status
    /// can only have flipped if it lies within `depth + |len - old_len|` of an
    /// end. We re-check those windows and the touched nodes: O(depth + nodes
    /// added or removed + touched) per call.
    fn settle(&mut self, old_len: usize, touched: std::ops::Range<usize>) {
        if self.compress_depth == 0 {
            // The default: the depth is fixed when the list is made, and
            // with 0 no node is ever compressed, so there is nothing to
            // restore (and every LPUSH would otherwise check three nodes).
            return;
        }
        let n = self.nodes.len();
        let window = self.compress_depth as usize + n.abs_diff(old_len) + 1;
        let head = 0..window.min(n);
        let tail = n.saturating_sub(window)..n;
        let touched = touched.start.min(n)..touched.end.min(n);
        for i in head.chain(tail).chain(touched) {
            self.apply_compression_policy(i);
        }
    }

    // ---------------------------------------------------------------------
    // Pushing and popping at the ends
    // ---------------------------------------------------------------------

    /// Adds `value` at the head. Redis: `quicklistPushHead` (LPUSH). Returns
    /// true if a new head node was created.
    pub fn push_front(&mut self, value: &[u8]) -> bool {
        let old = self.nodes.len();
        let new_node = if self.is_large(value.len()) {
            self.nodes.push_front(Node::plain(value.to_vec()));
            true
        } else if self.node_allow_insert(self.nodes.front(), value.len()) {
            let head = &mut self.nodes[0];
            head.lp_mut().push_front(value);
            head.refresh();
            false
        } else {
            self.nodes.push_front(Node::with_value(value));
            true
        };
        self.count += 1;
        self.settle(old, 0..1);
        new_node
    }

    /// Adds `value` at the tail. Redis: `quicklistPushTail` (RPUSH). Returns
    /// true if a new tail node was created.
    pub fn push_back(&mut self, value: &[u8]) -> bool {
        let old = self.nodes.len();
        let new_node = if self.is_large(value.len()) {
            self.nodes.push_back(Node::plain(value.to_vec()));
            true
        } else if self.node_allow_insert(self.nodes.back(), value.len()) {
            let tail = self.nodes.back_mut().expect("allowed, so exists");
            tail.lp_mut().push_back(value);
            tail.refresh();
            false
        } else {
            self.nodes.push_back(Node::with_value(value));
            true
        };
        self.count += 1;
        let n = self.nodes.len();
        self.settle(old, n - 1..n);
        new_node
    }

    /// Removes and returns the head element. Redis: `quicklistPop` with
    /// `QUICKLIST_HEAD` (LPOP).
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let v = self.take_element(0, 0);
        Some(v)
    }

    /// Removes and returns the tail element. Redis: `quicklistPop` with
    /// `QUICKLIST_TAIL` (RPOP).
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let last = self.nodes.len() - 1;
        let off = self.nodes[last].count - 1;
        Some(self.take_element(last, off))
    }

    /// Removes element `off` of node `ni` and returns it, removing the node
    /// if it becomes empty. Redis: `quicklistDelIndex`.
    fn take_element(&mut self, ni: usize, off: usize) -> Vec<u8> {
        let old = self.nodes.len();
        let node = &mut self.nodes[ni];
        let value = if node.is_plain() {
            node.decompress();
            let Some(Node {
                body: Body::Plain(data),
                ..
            }) = self.nodes.remove(ni)
            else {
                unreachable!("plain node holds plain bytes")
            };
            data
        } else {
            let lp = node.lp_mut();
            let pos = lp.seek(off as i64).expect("offset in range");
            let v = lp.get(pos).to_vec();
            lp.delete(pos);
            node.refresh();
            if node.count == 0 {
                self.nodes.remove(ni);
            }
            v
        };
        self.count -= 1;
        self.settle(old, ni..ni + 1);
        value
    }

    // ---------------------------------------------------------------------
    // Working by index
    // ---------------------------------------------------------------------

    /// Finds element `index` (negative counts from the tail): its node and
    /// offset in that node. Walks from whichever end is nearer, as Redis's
    /// `quicklistGetIteratorAtIdx`: O(nodes), never O(elements).
    fn locate(&self, index: i64) -> Option<(usize, usize)> {
        let n = self.count as i64;
        let index = if index < 0 { index + n } else { index };
        if index < 0 || index >= n {
            return None;
        }
        let index = index as usize;
        if index < self.count / 2 {
            let mut seen = 0;
            for (ni, node) in self.nodes.iter().enumerate() {
                if index < seen + node.count {
                    return Some((ni, index - seen));
                }
                seen += node.count;
            }
        } else {
            // Count from the tail: element `from_tail` back from the end.
            let mut from_tail = self.count - 1 - index;
            for (ni, node) in self.nodes.iter().enumerate().rev() {
                if from_tail < node.count {
                    return Some((ni, node.count - 1 - from_tail));
                }
                from_tail -= node.count;
            }
        }
        unreachable!("count is the sum of node counts")
    }

    /// Element `index` (0 = head, -1 = tail), or `None` if out of range.
    /// Reading a compressed node decompresses it into a temporary. Redis:
    /// `quicklistGetIteratorEntryAtIdx` (LINDEX).
    pub fn index(&self, index: i64) -> Option<Vec<u8>> {
        let (ni, off) = self.locate(index)?;
        Some(self.nodes[ni].value_at(off))
    }

    /// Replaces element `index`; false if out of range. Redis:
    /// `quicklistReplaceAtIndex` (LSET). Three cases, as
    /// `quicklistReplaceEntry`:
    ///
    /// * packed node, normal value: replace inside the listpack. As in Redis
    ///   7.0 the node may end up over its fill budget (7.2 added a split for
    ///   this); the next inserts go elsewhere.
    /// * plain node, large value: swap the bytes.
    /// * a container change (large value into a packed node, small value
    ///   into a plain node): insert the value after the old element, then
    ///   delete the old element.
    pub fn replace_at(&mut self, index: i64, value: &[u8]) -> bool {
        let Some((ni, off)) = self.locate(index) else {
            return false;
        };
        let large = self.is_large(value.len());
        let node = &mut self.nodes[ni];
        match (node.is_plain(), large) {
            (false, false) => {
                let lp = node.lp_mut();
                let pos = lp.seek(off as i64).expect("offset in range");
                lp.replace(pos, value);
                node.refresh();
            }
            (true, true) => {
                *node = Node::plain(value.to_vec());
            }
            _ => {
                let at = if index < 0 {
                    index + self.count as i64
                } else {
                    index
                };
                self.insert_after(at, value);
                self.delete_range(at, 1);
                return true;
            }
        }
        let len = self.nodes.len();
        self.settle(len, ni..ni + 1);
        true
    }

    /// LSET: the same as [`replace_at`](Self::replace_at).
    pub fn set(&mut self, index: i64, value: &[u8]) -> bool {
        self.replace_at(index, value)
    }

    /// Inserts `value` before element `index`; false if out of range.
    /// Redis: `quicklistInsertBefore` (LINSERT BEFORE).
    pub fn insert_before(&mut self, index: i64, value: &[u8]) -> bool {
        self.insert(index, value, false)
    }

    /// Inserts `value` after element `index`; false if out of range.
    /// Redis: `quicklistInsertAfter` (LINSERT AFTER).
    pub fn insert_after(&mut self, index: i64, value: &[u8]) -> bool {
        self.insert(index, value, true)
    }

    /// Redis: `_quicklistInsert`. Where the value goes, in order of
    /// preference:
    ///
    /// 1. The element's own node, if it has room.
    /// 2. Inserting after a node's last element (or before its first), into
    ///    the neighbouring node if *it* has room.
    /// 3. At a node's edge with no room either side: a new node between.
    /// 4. In the middle of a full node: split it at the element, put the
    ///    value at the cut, and then try to merge the pieces with their
    ///    neighbours (a split often leaves two half-empty nodes).
    ///
    /// A large value always gets its own PLAIN node, splitting the packed
    /// node around it if it lands in the middle.
    fn insert(&mut self, index: i64, value: &[u8], after: bool) -> bool {
        let Some((ni, off)) = self.locate(index) else {
            return false;
        };
        let old = self.nodes.len();
        let sz = value.len();
        let node = &self.nodes[ni];
        let full = !self.node_allow_insert(Some(node), sz);
        let at_tail = after && off == node.count - 1;
        let at_head = !after && off == 0;
        let avail_next = at_tail && self.node_allow_insert(self.nodes.get(ni + 1), sz);
        let avail_prev = at_head && ni > 0 && self.node_allow_insert(self.nodes.get(ni - 1), sz);
        // Where a brand-new node goes to sit right after/before node `ni`.
        let beside = if after { ni + 1 } else { ni };

        if self.is_large(sz) {
            if node.is_plain() || at_tail || at_head {
                self.nodes.insert(beside, Node::plain(value.to_vec()));
            } else {
                let piece = self.split_node(ni, off, after);
                let plain = Node::plain(value.to_vec());
                if after {
                    // node[..=off], value, piece[off+1..]
                    self.nodes.insert(ni + 1, plain);
                    self.nodes.insert(ni + 2, piece);
                } else {
                    // piece[..off], value, node[off..]
                    self.nodes.insert(ni, piece);
                    self.nodes.insert(ni + 1, plain);
                }
            }
        } else if !full {
            let node = &mut self.nodes[ni];
            let lp = node.lp_mut();
            let pos = lp.seek(off as i64).expect("offset in range");
            if after {
                lp.insert_after(pos, value);
            } else {
                lp.insert_before(pos, value);
            }
            node.refresh();
        } else if avail_next {
            let next = &mut self.nodes[ni + 1];
            next.lp_mut().push_front(value);
            next.refresh();
        } else if avail_prev {
            let prev = &mut self.nodes[ni - 1];
            prev.lp_mut().push_back(value);
            prev.refresh();
        } else if at_tail || at_head {
            self.nodes.insert(beside, Node::with_value(value));
        } else {
            let mut piece = self.split_node(ni, off, after);
            let lp = piece.lp_mut();
            if after {
                lp.push_front(value);
            } else {
                lp.push_back(value);
            }
            piece.refresh();
            self.nodes.insert(beside, piece);
            // The original node is at `ni` if the piece went after it, at
            // `ni + 1` if before.
            let center = if after { ni } else { ni + 1 };
            self.merge_around(center);
        }
        self.count += 1;
        self.settle(old, ni.saturating_sub(2)..ni + 4);
        true
    }

    /// Splits node `ni` at element `off`, returning the new piece (not yet in
    /// the list). Redis: `_quicklistSplitNode`.
    ///
    /// * `after`: node `ni` keeps `[0, off]`, the piece gets `(off, end]`.
    /// * `!after`: the piece gets `[0, off)`, node `ni` keeps `[off, end]`.
    fn split_node(&mut self, ni: usize, off: usize, after: bool) -> Node {
        let node = &mut self.nodes[ni];
        let lp = node.lp_mut();
        let mut piece = lp.clone();
        if after {
            lp.delete_range(off as i64 + 1, usize::MAX);
            piece.delete_range(0, off + 1);
        } else {
            lp.delete_range(0, off);
            piece.delete_range(off as i64, usize::MAX);
        }
        node.refresh();
        Node::packed(piece)
    }

    /// Appends node `b = a + 1` into node `a` and removes `b`. Redis:
    /// `_quicklistListpackMerge` (via `lpMerge`).
    fn merge_pair(&mut self, a: usize) {
        let mut b = self.nodes.remove(a + 1).expect("merge partner exists");
        let other = std::mem::take(b.lp_mut());
        let node = &mut self.nodes[a];
        node.lp_mut().append_listpack(&other);
        node.refresh();
    }

    /// After a split at `center`, tries the merges Redis's
    /// `_quicklistMergeNodes` tries, in its order:
    /// (prev-prev, prev), (next, next-next), (prev, center), then
    /// (center or the merged node, next).
    fn merge_around(&mut self, mut center: usize) {
        if center >= 2 && self.node_allow_merge(center - 2, center - 1) {
            self.merge_pair(center - 2);
            center -= 1;
        }
        if self.node_allow_merge(center + 1, center + 2) {
            self.merge_pair(center + 1);
        }
        let target = if center >= 1 && self.node_allow_merge(center - 1, center) {
            self.merge_pair(center - 1);
            center - 1
        } else {
            center
        };
        if self.node_allow_merge(target, target + 1) {
            self.merge_pair(target);
        }
    }

    /// Deletes up to `count` elements starting at `start` (negative counts
    /// from the tail), stopping at the tail. Returns how many were deleted
    /// (0 if `start` is out of range). Redis: `quicklistDelRange` (LTRIM,
    /// LREM's bulk path). Whole nodes in the range are dropped without
    /// decoding; the first and last nodes are trimmed with one
    /// `delete_range` each. No merging afterwards, as in Redis.
    pub fn delete_range(&mut self, start: i64, count: usize) -> usize {
        let Some((mut ni, mut off)) = self.locate(start) else {
            return 0;
        };
        let old = self.nodes.len();
        let first = ni;
        let start = if start < 0 {
            start + self.count as i64
        } else {
            start
        } as usize;
        let mut left = count.min(self.count - start);
        let deleted = left;
        while left > 0 {
            let node = &mut self.nodes[ni];
            let del = (node.count - off).min(left);
            if del == node.count || node.is_plain() {
                self.nodes.remove(ni);
            } else {
                node.lp_mut().delete_range(off as i64, del);
                node.refresh();
                ni += 1;
            }
            left -= del;
            off = 0;
        }
        self.count -= deleted;
        self.settle(old, first..first + 2);
        deleted
    }

    /// Moves the tail element to the head (RPOPLPUSH on one list). Redis:
    /// `quicklistRotate`. A PLAIN tail node moves as a whole, as in
    /// `quicklistRotatePlain`.
    pub fn rotate(&mut self) {
        if self.count <= 1 {
            return;
        }
        let old = self.nodes.len();
        if self.nodes.back().is_some_and(Node::is_plain) {
            let node = self.nodes.pop_back().expect("non-empty");
            self.nodes.push_front(node);
            self.settle(old, 0..1);
            self.settle(old, old - 1..old);
        } else {
            let v = self.pop_back().expect("non-empty");
            self.push_front(&v);
        }
    }

    /// Calls `f` on each element from `start` (negative counts from the
    /// tail) towards the tail, or towards the head if `reverse`, until `f`
    /// returns false or the list ends. Each element is *borrowed* from its
    /// listpack (a plain node's bytes as `LpValue::Str`), so a reader that
    /// only copies elements into a reply (LRANGE, LPOP with a count) never
    /// allocates one per element. A compressed node is inflated into a
    /// temporary, one node at a time. Nothing happens if `start` is out of
    /// range. Redis: `quicklistGetIteratorAtIdx` + `quicklistNext`.
    pub fn visit_from(&self, start: i64, reverse: bool, mut f: impl FnMut(LpValue<'_>) -> bool) {
        let Some((mut ni, off)) = self.locate(start) else {
            return;
        };
        let mut first_offset = Some(off);
        loop {
            let node = &self.nodes[ni];
            let inflated;
            let body = match &node.body {
                Body::Lzf(c) => {
                    inflated = Node::inflate(c, node.sz, node.container);
                    &inflated
                }
                raw => raw,
            };
            let keep_going = match body {
                Body::Plain(data) => f(LpValue::Str(data)),
                Body::Packed(lp) => {
                    let mut pos = match first_offset {
                        Some(o) => lp.seek(o as i64),
                        None if reverse => lp.last(),
                        None => lp.first(),
                    };
                    let mut go = true;
                    while let Some(p) = pos {
                        if !f(lp.get(p)) {
                            go = false;
                            break;
                        }
                        pos = if reverse { lp.prev(p) } else { lp.next(p) };
                    }
                    go
                }
                Body::Lzf(_) => unreachable!("inflated above"),
            };
            first_offset = None;
            if !keep_going {
                return;
            }
            if reverse {
                if ni == 0 {
                    return;
                }
                ni -= 1;
            } else {
                ni += 1;
                if ni == self.nodes.len() {
                    return;
                }
            }
        }
    }

    /// Head to tail.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            ql: self,
            next_node: 0,
            end_node: self.nodes.len(),
            buffered: VecDeque::new(),
            reverse: false,
        }
    }

    /// Tail to head.
    pub fn iter_rev(&self) -> Iter<'_> {
        Iter {
            ql: self,
            next_node: 0,
            end_node: self.nodes.len(),
            buffered: VecDeque::new(),
            reverse: true,
        }
    }
}

/// Iterator over a quicklist's elements. It decodes one node at a time into
/// a small buffer (a node is at most a few KiB), decompressing into a
/// temporary when the node is compressed; the list itself is never changed.
/// Redis: `quicklistIter`.
pub struct Iter<'a> {
    ql: &'a Quicklist,
    /// Next node to decode from the front (forward iteration).
    next_node: usize,
    /// One past the next node to decode from the back (reverse iteration).
    end_node: usize,
    /// Decoded elements of the current node, in iteration order.
    buffered: VecDeque<Vec<u8>>,
    reverse: bool,
}

impl Iterator for Iter<'_> {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        while self.buffered.is_empty() {
            if self.next_node >= self.end_node {
                return None;
            }
            let node = if self.reverse {
                self.end_node -= 1;
                &self.ql.nodes[self.end_node]
            } else {
                self.next_node += 1;
                &self.ql.nodes[self.next_node - 1]
            };
            self.buffered = node.values().into();
            if self.reverse {
                self.buffered.make_contiguous().reverse();
            }
        }
        self.buffered.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Checks every invariant in the `Quicklist` doc comment.
    fn check(ql: &Quicklist) {
        let mut total = 0;
        for (i, node) in ql.nodes.iter().enumerate() {
            assert!(node.count > 0, "node {i} is empty");
            total += node.count;
            let raw: Vec<u8> = match &node.body {
                Body::Lzf(c) => lzf::decompress(c, node.sz).expect("valid lzf"),
                Body::Packed(lp) => lp.as_bytes().to_vec(),
                Body::Plain(d) => d.clone(),
            };
            assert_eq!(raw.len(), node.sz, "node {i} sz");
            match node.container {
                Container::Plain => assert_eq!(node.count, 1),
                Container::Packed => {
                    let lp = Listpack::from_bytes(raw.clone()).expect("valid listpack");
                    assert_eq!(lp.len(), node.count, "node {i} count");
                }
            }
            let worth = compress_node(&raw).is_some();
            assert_eq!(
                node.is_compressed(),
                ql.is_inner(i) && worth,
                "node {i} of {} compression (depth {}, sz {})",
                ql.nodes.len(),
                ql.compress_depth,
                node.sz
            );
        }
        assert_eq!(total, ql.count);
    }

    fn contents(ql: &Quicklist) -> Vec<Vec<u8>> {
        ql.iter().collect()
    }

    fn counts(ql: &Quicklist) -> Vec<usize> {
        ql.nodes().map(|n| n.count).collect()
    }

    #[test]
    fn positive_fill_counts_elements() {
        let mut ql = Quicklist::new(4, 0);
        for i in 0..10 {
            ql.push_back(format!("{i}").as_bytes());
        }
        assert_eq!(counts(&ql), [4, 4, 2]);
        assert_eq!(ql.len(), 10);
        check(&ql);
    }

    #[test]
    fn negative_fill_counts_bytes_with_the_8_byte_estimate() {
        // fill -1: 4096 bytes. A 100-byte string costs 2 + 100 + 1 = 103 bytes
        // in the listpack, but the check estimates 100 + 8.
        let mut ql = Quicklist::new(-1, 0);
        let v = [b'v'; 100];
        while ql.node_count() < 2 {
            ql.push_back(&v);
        }
        let first = ql.nodes().next().unwrap();
        assert!(first.sz + 100 + SIZE_ESTIMATE_OVERHEAD > 4096);
        assert!(first.sz <= 4096);
        // 7 header/EOF bytes + 103 per entry: 39 entries = 4024 bytes, and
        // 4024 + 108 = 4132 > 4096, so the 40th opened a new node.
        assert_eq!(first.count, 39);
        assert_eq!(first.sz, 7 + 39 * 103);
    }

    #[test]
    fn positive_fill_still_obeys_the_8k_safety_limit() {
        let mut ql = Quicklist::new(1000, 0);
        for _ in 0..20 {
            ql.push_back(&[b'x'; 1000]);
        }
        // 1000-byte strings cost 1000 + 2 + 2 = 1004 bytes: 8 fit under
        // 8192 with the estimate (7 + 7*1004 + 1008 = 8043), a 9th would not.
        assert_eq!(counts(&ql), [8, 8, 4]);
    }

    #[test]
    fn large_elements_get_plain_nodes() {
        let mut ql = Quicklist::new(-2, 0);
        ql.set_packed_threshold(64);
        ql.push_back(b"small");
        ql.push_back(&[b'L'; 64]);
        ql.push_back(b"small2");
        ql.push_front(&[b'F'; 100]);
        let kinds: Vec<_> = ql.nodes().map(|n| n.container).collect();
        use Container::*;
        assert_eq!(kinds, [Plain, Packed, Plain, Packed]);
        assert_eq!(ql.index(2).unwrap(), vec![b'L'; 64]);
        // Insert a large value in the middle of a packed node: it splits.
        ql.push_back(b"x");
        ql.push_back(b"y");
        assert!(ql.insert_after(4, &[b'M'; 70]));
        assert_eq!(ql.index(5).unwrap(), vec![b'M'; 70]);
        assert_eq!(ql.index(4).unwrap(), b"x");
        assert_eq!(ql.index(6).unwrap(), b"y");
        assert_eq!(ql.node_count(), 6); // [F] [small] [L] [small2 x] [M] [y]
        check(&ql);
        // LSET of a small value over a plain element, and of a large over small.
        assert!(ql.set(2, b"now small"));
        assert!(ql.set(0, &[b'B'; 80]));
        check(&ql);
        assert_eq!(ql.index(2).unwrap(), b"now small");
        assert_eq!(ql.index(0).unwrap(), vec![b'B'; 80]);
        assert!(!ql.set_packed_threshold(1 << 33));
    }

    /// Reproduces a real Redis 7.0.15 list: `list-max-listpack-size 4`,
    /// `list-compress-depth 1`, `RPUSH q element-number-N-padding-...` for
    /// N = 1..=10, then `DUMP q`. Redis had nodes of 4, 4 and 2 elements, the
    /// middle one LZF-compressed. The raw head and tail listpacks must match
    /// byte for byte; our LZF bytes for the middle node differ from Redis's
    /// (a different compressor), but both decompress to the same listpack.
    #[test]
    fn matches_a_real_redis_quicklist() {
        let mut ql = Quicklist::new(4, 1);
        for i in 1..=10 {
            ql.push_back(format!("element-number-{i}-padding-padding-padding").as_bytes());
        }
        check(&ql);
        let nodes: Vec<_> = ql.nodes().collect();
        assert_eq!(nodes.iter().map(|n| n.count).collect::<Vec<_>>(), [4, 4, 2]);
        assert_eq!(
            nodes.iter().map(|n| n.is_compressed()).collect::<Vec<_>>(),
            [false, true, false]
        );

        let redis_tail = hex(
            "5c0000000200a8656c656d656e742d6e756d6265722d392d70616464696e672d70616464696e672d7061\
             6464696e6729a9656c656d656e742d6e756d6265722d31302d70616464696e672d70616464696e672d70\
             616464696e672aff",
        );
        let NodeData::Raw(tail) = nodes[2].data else {
            panic!()
        };
        assert_eq!(tail, redis_tail);
        let NodeData::Raw(head) = nodes[0].data else {
            panic!()
        };
        assert_eq!(head.len(), 0xaf);
        assert_eq!(&head[..8], hex("af0000000400a865"));

        let redis_middle = hex(
            "1eaf0000000400a8656c656d656e742d6e756d6265722d352d70616464696e67e007070029e00729\
             0036e00721c00fe008290037c019e00707e008290038e00721c00f0129ff",
        );
        let NodeData::Lzf(ours) = nodes[1].data else {
            panic!()
        };
        assert_eq!(nodes[1].sz, 175);
        assert_eq!(
            lzf::decompress(ours, 175),
            lzf::decompress(&redis_middle, 175)
        );

        // And a list loaded from Redis's nodes reads back the same elements.
        let lps = [
            head.to_vec(),
            lzf::decompress(&redis_middle, 175).unwrap(),
            redis_tail,
        ]
        .into_iter()
        .map(|b| Listpack::from_bytes(b).unwrap())
        .collect();
        let loaded = Quicklist::from_listpacks(4, 1, lps);
        check(&loaded);
        assert_eq!(contents(&loaded), contents(&ql));
        assert_eq!(loaded.compressed_node_count(), 1);
    }

    #[test]
    fn compression_keeps_depth_nodes_raw_at_each_end() {
        let v = b"a fairly compressible value, compressible value, value";
        let mut ql = Quicklist::new(2, 2);
        for _ in 0..12 {
            ql.push_back(v);
        }
        check(&ql);
        let flags: Vec<_> = ql.nodes().map(|n| n.is_compressed()).collect();
        assert_eq!(flags, [false, false, true, true, false, false]);
        // Popping from the head pulls compressed nodes into the window.
        for _ in 0..4 {
            ql.pop_front();
            check(&ql);
        }
        assert_eq!(ql.compressed_node_count(), 0);
        assert_eq!(ql.node_count(), 4);
    }

    #[test]
    fn small_or_incompressible_inner_nodes_stay_raw() {
        assert_eq!(compress_node(&[b'a'; 47]), None);
        assert!(compress_node(&[b'a'; 48]).is_some());
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        assert_eq!(compress_node(&noise), None);
        let mut ql = Quicklist::new(1, 1);
        for i in 0..5 {
            ql.push_back(format!("{i}").as_bytes()); // 9-byte nodes
        }
        check(&ql);
        assert_eq!(ql.compressed_node_count(), 0);
    }

    #[test]
    fn insert_in_a_full_node_splits_and_merges() {
        let mut ql = Quicklist::new(4, 0);
        for i in 0..8 {
            ql.push_back(format!("{i}").as_bytes());
        }
        assert_eq!(counts(&ql), [4, 4]);
        ql.insert_after(1, b"x"); // middle of the full first node
        check(&ql);
        assert_eq!(counts(&ql), [2, 3, 4]);
        assert_eq!(
            contents(&ql)[..4],
            [b"0".to_vec(), b"1".to_vec(), b"x".to_vec(), b"2".to_vec()]
        );
        // [0 1] [x 2 3] [4 5 6 7]: trim the last node to one element.
        assert_eq!(ql.delete_range(5, 3), 3);
        assert_eq!(counts(&ql), [2, 3, 1]);
        // Room in node 1: a plain insert.
        ql.insert_before(3, b"y");
        assert_eq!(counts(&ql), [2, 4, 1]);
        // Node 1 = [x y 2 3] is full: split after "y" into [x y] and
        // [z 2 3]; then merging joins [z 2 3] + [7] (4 <= fill) and
        // [0 1] + [x y]: two full nodes.
        ql.insert_after(3, b"z");
        check(&ql);
        assert_eq!(
            contents(&ql),
            [&b"0"[..], b"1", b"x", b"y", b"z", b"2", b"3", b"7"].map(|s| s.to_vec())
        );
        assert_eq!(counts(&ql), [4, 4]);
    }

    #[test]
    fn insert_at_a_full_edge_uses_the_neighbour_or_a_new_node() {
        let mut ql = Quicklist::new(2, 0);
        for s in ["a", "b", "c"] {
            ql.push_back(s.as_bytes());
        }
        assert_eq!(counts(&ql), [2, 1]);
        ql.insert_after(1, b"ab"); // tail of full node 0: next has room
        assert_eq!(counts(&ql), [2, 2]);
        ql.insert_before(2, b"a2"); // head of full node 1: prev is full
        assert_eq!(counts(&ql), [2, 1, 2]);
        assert_eq!(
            contents(&ql),
            [&b"a"[..], b"b", b"a2", b"ab", b"c"].map(|s| s.to_vec())
        );
        assert!(!ql.insert_after(5, b"nope"));
        check(&ql);
    }

    #[test]
    fn rotate_moves_the_tail_to_the_head() {
        let mut ql = Quicklist::new(3, 1);
        for i in 0..7 {
            ql.push_back(format!("{i}").as_bytes());
        }
        ql.rotate();
        assert_eq!(ql.index(0).unwrap(), b"6");
        assert_eq!(ql.index(-1).unwrap(), b"5");
        ql.set_packed_threshold(10);
        ql.push_back(&[b'P'; 10]);
        ql.rotate();
        assert_eq!(ql.index(0).unwrap(), vec![b'P'; 10]);
        assert_eq!(ql.nodes().next().unwrap().container, Container::Plain);
        check(&ql);
        let mut one = Quicklist::new(3, 0);
        one.push_back(b"only");
        one.rotate();
        assert_eq!(contents(&one), [b"only"]);
    }

    #[test]
    fn fill_and_depth_are_clamped_like_redis() {
        assert_eq!(Quicklist::new(-9, 0).fill(), -5);
        assert_eq!(Quicklist::new(1 << 20, 0).fill(), FILL_MAX);
        assert_eq!(Quicklist::new(1, 1 << 20).compress_depth(), COMPRESS_MAX);
    }

    #[test]
    fn empty_list_answers_none() {
        let mut ql = Quicklist::new(-2, 1);
        assert_eq!(ql.pop_front(), None);
        assert_eq!(ql.pop_back(), None);
        assert_eq!(ql.index(0), None);
        assert!(!ql.set(0, b"x"));
        assert_eq!(ql.delete_range(0, 5), 0);
        assert!(ql.is_empty());
        let ql = Quicklist::from_listpacks(-2, 1, vec![Listpack::new()]);
        assert_eq!(ql.node_count(), 0);
    }

    // --- property test against a VecDeque model ----------------------------

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => (-300i64..300).prop_map(|v| v.to_string().into_bytes()),
            3 => (1usize..60, any::<u8>()).prop_map(|(n, b)| vec![b'a' + b % 3; n]),
            2 => prop::collection::vec(any::<u8>(), 0..40),
            1 => (100usize..1500, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushFront(Vec<u8>),
        PushBack(Vec<u8>),
        PopFront,
        PopBack,
        Index(i64),
        Set(i64, Vec<u8>),
        InsertBefore(i64, Vec<u8>),
        InsertAfter(i64, Vec<u8>),
        DeleteRange(i64, usize),
        Rotate,
    }

    fn op() -> impl Strategy<Value = Op> {
        let idx = -40i64..40;
        prop_oneof![
            4 => value().prop_map(Op::PushFront),
            4 => value().prop_map(Op::PushBack),
            1 => Just(Op::PopFront),
            1 => Just(Op::PopBack),
            1 => idx.clone().prop_map(Op::Index),
            2 => (idx.clone(), value()).prop_map(|(i, v)| Op::Set(i, v)),
            2 => (idx.clone(), value()).prop_map(|(i, v)| Op::InsertBefore(i, v)),
            2 => (idx.clone(), value()).prop_map(|(i, v)| Op::InsertAfter(i, v)),
            1 => (idx, 0usize..8).prop_map(|(i, c)| Op::DeleteRange(i, c)),
            1 => Just(Op::Rotate),
        ]
    }

    fn resolve(i: i64, n: usize) -> Option<usize> {
        let j = if i < 0 { i + n as i64 } else { i };
        (j >= 0 && j < n as i64).then_some(j as usize)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn behaves_like_a_vecdeque(
            fill in prop_oneof![1i32..6, -2i32..0],
            depth in 0u32..3,
            plain_at in prop_oneof![Just(0usize), Just(1000usize)],
            ops in prop::collection::vec(op(), 1..120),
        ) {
            let mut ql = Quicklist::new(fill, depth);
            ql.set_packed_threshold(plain_at);
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                let n = model.len();
                match op {
                    Op::PushFront(v) => { ql.push_front(&v); model.push_front(v); }
                    Op::PushBack(v) => { ql.push_back(&v); model.push_back(v); }
                    Op::PopFront => prop_assert_eq!(ql.pop_front(), model.pop_front()),
                    Op::PopBack => prop_assert_eq!(ql.pop_back(), model.pop_back()),
                    Op::Index(i) => {
                        prop_assert_eq!(ql.index(i), resolve(i, n).map(|j| model[j].clone()));
                    }
                    Op::Set(i, v) => {
                        let j = resolve(i, n);
                        prop_assert_eq!(ql.set(i, &v), j.is_some());
                        if let Some(j) = j { model[j] = v; }
                    }
                    Op::InsertBefore(i, v) => {
                        let j = resolve(i, n);
                        prop_assert_eq!(ql.insert_before(i, &v), j.is_some());
                        if let Some(j) = j { model.insert(j, v); }
                    }
                    Op::InsertAfter(i, v) => {
                        let j = resolve(i, n);
                        prop_assert_eq!(ql.insert_after(i, &v), j.is_some());
                        if let Some(j) = j { model.insert(j + 1, v); }
                    }
                    Op::DeleteRange(i, c) => {
                        let want = resolve(i, n).map_or(0, |j| c.min(n - j));
                        prop_assert_eq!(ql.delete_range(i, c), want);
                        if let Some(j) = resolve(i, n) { model.drain(j..j + want); }
                    }
                    Op::Rotate => {
                        ql.rotate();
                        if n > 1 { model.rotate_right(1); }
                    }
                }
                check(&ql);
                prop_assert_eq!(ql.len(), model.len());
                prop_assert_eq!(contents(&ql), Vec::from(model.clone()));
                let mut rev: Vec<Vec<u8>> = ql.iter_rev().collect();
                rev.reverse();
                prop_assert_eq!(rev, Vec::from(model.clone()));
                // Borrowing visits agree with the model, from any start,
                // both ways, and stop when asked to.
                let mut fwd = Vec::new();
                ql.visit_from(0, false, |v| { fwd.push(v.to_vec()); true });
                prop_assert_eq!(fwd, Vec::from(model.clone()));
                if !model.is_empty() {
                    let mid = model.len() / 2;
                    let mut back = Vec::new();
                    ql.visit_from(mid as i64, true, |v| { back.push(v.to_vec()); back.len() < 3 });
                    let want: Vec<Vec<u8>> = (mid.saturating_sub(2)..=mid).rev().map(|j| model[j].clone()).collect();
                    prop_assert_eq!(back, want);
                }
            }
        }
    }
}
