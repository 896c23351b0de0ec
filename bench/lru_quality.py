#!/usr/bin/env python3
"""How close is approximated LRU (and LFU) to the real thing?

The experiment Redis's authors ran when they tuned sampling, against our
server and real Redis side by side:

LRU: write N keys in B batches, one second apart (the LRU clock counts
seconds), so that the write order is a known recency order. Then set
maxmemory to the memory in use and write M new keys: the server must evict
about M old keys. A true LRU would keep exactly the newest old keys; we
report the share of those that survived, for maxmemory-samples 5 and 10.

LFU: write N keys, read them with a skewed pattern (key i gets about
C/(i+1) reads: a power law), then the same squeeze. A true LFU keeps the
most-read keys; we report the share of those that survived.

Usage: bench/lru_quality.py OUR_PORT REDIS_PORT [out.png]
Only the standard library: a tiny RESP client, and a PNG written by hand.
"""

import socket
import struct
import sys
import time
import zlib

N = 4000  # old keys
BATCHES = 8
M = 2000  # new keys
VALUE = b"v" * 200


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def pipeline(self, cmds):
        out = bytearray()
        for args in cmds:
            out += b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return [self.read() for _ in cmds]

    def call(self, *args):
        return self.pipeline([args])[0]

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        raise ValueError(line)


def used_memory(c):
    info = c.call("INFO", "memory").decode()
    for line in info.split("\r\n"):
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise ValueError("no used_memory")


def chunks(seq, n=500):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def squeeze(c, policy, samples):
    """Cap memory at what is used now and write M new keys."""
    c.call("CONFIG", "SET", "maxmemory-samples", samples)
    c.call("CONFIG", "SET", "maxmemory-policy", policy)
    c.call("CONFIG", "SET", "maxmemory", used_memory(c))
    for part in chunks(list(range(M))):
        c.pipeline([("SET", "new:%d" % i, VALUE) for i in part])
    present = c.pipeline([("EXISTS", "old:%d" % i) for i in range(N)])
    c.call("CONFIG", "SET", "maxmemory", 0)
    return [bool(x) for x in present]


def lru_run(port, samples):
    c = Conn(port)
    c.call("CONFIG", "SET", "maxmemory", 0)
    c.call("FLUSHALL")
    per = N // BATCHES
    for b in range(BATCHES):
        for part in chunks(list(range(b * per, (b + 1) * per))):
            c.pipeline([("SET", "old:%d" % i, VALUE) for i in part])
        time.sleep(1.05)
    present = squeeze(c, "allkeys-lru", samples)
    kept = sum(present)
    # A true LRU keeps the `kept` newest old keys.
    ideal = set(range(N - kept, N))
    hit = sum(1 for i in ideal if present[i])
    return hit / kept if kept else 0.0, kept


def lfu_run(port):
    c = Conn(port)
    c.call("CONFIG", "SET", "maxmemory", 0)
    c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    c.call("FLUSHALL")
    for part in chunks(list(range(N))):
        c.pipeline([("SET", "old:%d" % i, VALUE) for i in part])
    reads = [max(0, int(2000 / (i + 1)) - 1) for i in range(N)]
    cmds = [("GET", "old:%d" % i) for i in range(N) for _ in range(reads[i])]
    for part in chunks(cmds, 2000):
        c.pipeline(part)
    present = squeeze(c, "allkeys-lfu", 5)
    kept = sum(present)
    ideal = set(range(kept))  # the most-read keys are the lowest numbers
    hit = sum(1 for i in ideal if present[i])
    return hit / kept if kept else 0.0, kept


# --- a bar chart as a PNG, with a 3x5 pixel font for the numbers ---------

FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001001001001", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "%": "101001010100101",
}


def png(path, bars, width=640, height=360):
    """bars: list of (group, [(value 0..1, rgb)])."""
    img = [[(255, 255, 255)] * width for _ in range(height)]

    def rect(x0, y0, x1, y1, rgb):
        for y in range(max(0, y0), min(height, y1)):
            row = img[y]
            for x in range(max(0, x0), min(width, x1)):
                row[x] = rgb

    def text(x, y, s, scale=3):
        for ch in s:
            glyph = FONT.get(ch)
            if glyph:
                for k, bit in enumerate(glyph):
                    if bit == "1":
                        gx, gy = k % 3, k // 3
                        rect(x + gx * scale, y + gy * scale,
                             x + (gx + 1) * scale, y + (gy + 1) * scale, (0, 0, 0))
            x += 4 * scale

    base, top = height - 30, 40
    rect(30, base, width - 10, base + 2, (0, 0, 0))
    for pct in (50, 100):  # gridlines at 50% and 100%
        y = base - (base - top) * pct // 100
        rect(30, y, width - 10, y + 1, (200, 200, 200))
    group_w = (width - 60) // len(bars)
    for g, (_, values) in enumerate(bars):
        x = 40 + g * group_w
        bw = (group_w - 40) // len(values)
        for k, (v, rgb) in enumerate(values):
            h = int((base - top) * v)
            bx = x + k * bw
            rect(bx, base - h, bx + bw - 8, base, rgb)
            text(bx, base - h - 20, "%.1f%%" % (v * 100))
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in img)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    ours, redis = int(sys.argv[1]), int(sys.argv[2])
    out = sys.argv[3] if len(sys.argv) > 3 else "lru_quality.png"
    rows = []
    for name, run in (
        ("LRU, samples 5", lambda p: lru_run(p, 5)),
        ("LRU, samples 10", lambda p: lru_run(p, 10)),
        ("LFU, power-law reads", lfu_run),
    ):
        a, ka = run(ours)
        b, kb = run(redis)
        rows.append((name, a, ka, b, kb))
        print("%-22s ours %5.1f%% (%d kept)   redis %5.1f%% (%d kept)" % (name, a * 100, ka, b * 100, kb))
    blue, red = (70, 110, 200), (200, 70, 60)
    png(out, [(r[0], [(r[1], blue), (r[3], red)]) for r in rows])
    print("plot:", out)


if __name__ == "__main__":
    main()
