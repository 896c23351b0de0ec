#!/usr/bin/env python3
"""Redis vs Memcached, side by side, for the book's memcached chapter.

Starts Debian's memcached, Debian's redis-server 7.0.15 and redis-anatomy on
loopback ports, drives each with the same load (SET then GET of fixed-size
values, several connections, a fixed pipeline depth), and loads 1,000,000
small keys into each to measure memory per key. Prints a Markdown report.

The client is Python's standard library only, so it is cheap per request on
purpose: each connection sends a precomputed batch of `depth` requests and
reads back exactly the number of bytes the replies must take (every key and
value has a fixed width, so every reply has a known size), checking the
first batch byte for byte. Server CPU per request is read from /proc, so it
stays meaningful when the Python client, not the server, is the limit.

    python3 bench/memcached.py [--anatomy target/release/redis-anatomy]

Servers are pinned to core 0 and clients to core 1 (taskset), as in run.py.
"""

import argparse
import datetime
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import time

VALUE = b"v" * 32
KEYFMT = "key:{:09d}"  # 13 bytes, fixed width


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def cpu_seconds(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- protocols

def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def requests(proto, op, keys):
    """(request bytes, expected reply bytes) for a batch of keys: one request
    per key, or for "mget" one request that reads them all."""
    if proto == "redis":
        if op == "set":
            return b"".join(resp(b"SET", k, VALUE) for k in keys), b"+OK\r\n" * len(keys)
        if op == "mget":
            return (resp(b"MGET", *keys),
                    b"*%d\r\n" % len(keys) + (b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)) * len(keys))
        return (b"".join(resp(b"GET", k) for k in keys),
                (b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)) * len(keys))
    if op == "mget":
        return (b"get " + b" ".join(keys) + b"\r\n",
                b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (k, len(VALUE), VALUE) for k in keys)
                + b"END\r\n")
    if op == "set":
        return (b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(VALUE), VALUE) for k in keys),
                b"STORED\r\n" * len(keys))
    return (b"".join(b"get %s\r\n" % k for k in keys),
            b"".join(b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(VALUE), VALUE) for k in keys))


def read_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        c = sock.recv(min(1 << 20, n - got))
        if not c:
            raise SystemExit("server closed the connection")
        chunks.append(c)
        got += len(c)
    return b"".join(chunks)


def worker(args):
    """One connection: `batches` round trips of `depth` requests each."""
    proto, port, op, worker_id, depth, batches, keyspace = args
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A few distinct batches, reused: building requests must not be the load.
    prepared = []
    for b in range(8):
        base = (worker_id * 7919 + b * depth) % max(1, keyspace - depth)
        keys = [KEYFMT.format(base + i).encode() for i in range(depth)]
        prepared.append(requests(proto, op, keys))
    req, expect = prepared[0]
    sock.sendall(req)
    got = read_exact(sock, len(expect))
    if got != expect:
        raise SystemExit(f"{proto} {op}: unexpected reply {got[:80]!r}")
    start = time.perf_counter()
    for i in range(batches):
        req, expect = prepared[i % len(prepared)]
        sock.sendall(req)
        read_exact(sock, len(expect))
    elapsed = time.perf_counter() - start
    sock.close()
    return batches * depth, elapsed


def load_keys(proto, port, count, chunk=1000):
    sock = socket.create_connection(("127.0.0.1", port))
    for start in range(0, count, chunk):
        keys = [KEYFMT.format(i).encode() for i in range(start, min(count, start + chunk))]
        if proto == "memcached":
            req = b"".join(b"set %s 0 0 %d noreply\r\n%s\r\n" % (k, len(VALUE), VALUE) for k in keys)
            sock.sendall(req)
        else:
            req, expect = requests(proto, "set", keys)
            sock.sendall(req)
            read_exact(sock, len(expect))
    # A round trip so every noreply set has been processed.
    if proto == "memcached":
        sock.sendall(b"version\r\n")
        sock.recv(100)
    sock.close()


def info_field(port, section, field):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", section],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    return None


def mc_stat(port, name):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"stats\r\n")
    data = b""
    while not data.endswith(b"END\r\n"):
        data += sock.recv(65536)
    sock.close()
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == name:
            return int(parts[2])
    return None


# ------------------------------------------------------------------ servers

def start(name, anatomy, port):
    pin = ["taskset", "-c", "0"]
    if name == "memcached":
        cmd = pin + ["memcached", "-p", str(port), "-l", "127.0.0.1", "-U", "0",
                     "-m", "2048", "-t", "4", "-u", "nobody"]
    elif name == "redis":
        cmd = pin + ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no"]
    else:
        cmd = pin + [anatomy, "--port", str(port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--anatomy", default="target/release/redis-anatomy")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--batches", type=int, default=2500)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--port", type=int, default=17500)
    opts = ap.parse_args()
    for tool in ("memcached", "redis-server", "redis-cli", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (apt-get install memcached redis-server util-linux)")
    os.sched_setaffinity(0, {1})

    servers = [("memcached", "memcached"), ("redis", "redis-server 7.0.15"),
               ("anatomy", "redis-anatomy")]
    rows, mem = [], []
    for i, (name, label) in enumerate(servers):
        port = opts.port + i
        proto = "memcached" if name == "memcached" else "redis"
        p = start(name, opts.anatomy, port)
        try:
            # Throughput: the keys the GETs read exist (SET runs first).
            for op in ("set", "get", "mget"):
                cpu0 = cpu_seconds(p.pid)
                t0 = time.perf_counter()
                with mp.Pool(opts.connections) as pool:
                    res = pool.map(worker, [(proto, port, op, w, opts.depth, opts.batches,
                                             opts.connections * opts.depth * 8 + 1)
                                            for w in range(opts.connections)])
                wall = time.perf_counter() - t0
                cpu = cpu_seconds(p.pid) - cpu0
                n = sum(r[0] for r in res)
                rate = sum(r[0] / r[1] for r in res)
                name_op = {"set": "SET", "get": "GET", "mget": "multi-get of 16 keys"}[op]
                rows.append((label, name_op, n, rate, cpu / n * 1e9, wall))
            # Memory: a fresh server, then 1M keys.
            p.terminate()
            p.wait()
            p = start(name, opts.anatomy, port)
            rss0 = rss_bytes(p.pid)
            um0 = info_field(port, "memory", "used_memory") if proto == "redis" else None
            load_keys(proto, port, opts.keys)
            time.sleep(0.5)
            rss1 = rss_bytes(p.pid)
            if proto == "redis":
                count = info_field(port, "keyspace", "keys") or opts.keys
                used = (info_field(port, "memory", "used_memory") - um0) / opts.keys
            else:
                count = mc_stat(port, "curr_items")
                used = mc_stat(port, "bytes") / opts.keys
            mem.append((label, count, (rss1 - rss0) / opts.keys, used))
        finally:
            p.terminate()
            p.wait()

    anatomy_version = subprocess.run([opts.anatomy, "--version"], capture_output=True,
                                     text=True).stdout.strip()
    mc_version = subprocess.run(["memcached", "-V"], capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"- date: {now}; machine: nproc {os.cpu_count()}, "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"- command: `python3 bench/memcached.py --anatomy {opts.anatomy}`")
    print(f"- servers: {mc_version} (`-t 4 -m 2048`), redis-server 7.0.15, {anatomy_version}; "
          "all pinned to core 0, the client to core 1")
    print(f"- load: {opts.connections} connections x {opts.batches} batches of "
          f"{opts.depth} pipelined requests; 13-byte keys, 32-byte values")
    print()
    print("Multi-get rows count keys, not requests: one `get k1 ... k16` (memcached) or "
          "`MGET k1 ... k16` (Redis) per 16 keys, in the same pipelines.")
    print()
    print("| server | op | keys | keys/s | server CPU ns/key |")
    print("|---|---|---|---|---|")
    for label, op, n, rate, cpu_ns, _wall in rows:
        print(f"| {label} | {op} | {n} | {rate:,.0f} | {cpu_ns:,.0f} |")
    print()
    print(f"| server | keys stored | RSS growth per key (bytes) | server's own count per key (bytes) |")
    print("|---|---|---|---|")
    for label, count, rss, used in mem:
        what = "`bytes` stat" if label == "memcached" else "`used_memory`"
        print(f"| {label} | {count:,} | {rss:.1f} | {used:.1f} ({what}) |")


if __name__ == "__main__":
    sys.exit(main())
