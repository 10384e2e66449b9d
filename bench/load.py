#!/usr/bin/env python3
"""Small load tools for bench/run that wrk does not fit, standard library only.

  load.py jwts --secret S --prefix P --count N --out FILE
      N HS256 JWTs for users P1..PN (claims sub, iat, exp: what
      `gtf-bff token` signs), one per line.

  load.py stampede --url URL --jwt JWT --count N
      N connections opened first, then one POST each released at the same
      instant: N concurrent first requests of one user.

  load.py users --url URL --jwts FILE --concurrency C
      one POST per JWT in FILE (each a different user), C keep-alive
      connections at a time.

  load.py percentiles FILE...
      p50/p99 of pgbench's per-transaction logs (-l), in milliseconds.

  load.py cpu --after A [--until U] [--svc PID] [--sim PID] [--db NAME]...
      CPU ticks used between A and U seconds from now (or until SIGTERM):
      the whole machine, the service, the simulator, and the PostgreSQL
      backends connected to the named databases.

Each command prints one line of JSON (latencies in milliseconds).
"""

import argparse
import asyncio
import base64
import glob
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import urllib.parse


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(secret: str, sub: str, ttl: int = 3600) -> str:
    now = int(time.time())
    header = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    claims = b64url(json.dumps({"sub": sub, "iat": now, "exp": now + ttl}, separators=(",", ":")).encode())
    signing_input = f"{header}.{claims}".encode()
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(sig)}"


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summary(latencies_s, statuses, wall_s):
    lat = sorted(x * 1000 for x in latencies_s)
    counts = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    return {
        "requests": len(statuses),
        "wall_s": round(wall_s, 3),
        "rps": round(len(statuses) / wall_s, 1) if wall_s > 0 else None,
        "p50_ms": round(percentile(lat, 50), 3) if lat else None,
        "p99_ms": round(percentile(lat, 99), 3) if lat else None,
        "max_ms": round(lat[-1], 3) if lat else None,
        "statuses": counts,
    }


class Conn:
    """One HTTP/1.1 keep-alive connection: enough for JSON APIs."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, method, path, headers):
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Length: 0"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()

    async def response(self):
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        fields = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = b""
        return status, body

    def close(self):
        if self.writer:
            self.writer.close()


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80, (u.path or "/") + (f"?{u.query}" if u.query else "")


async def stampede(args):
    host, port, path = split_url(args.url)
    headers = {"Authorization": f"Bearer {args.jwt}"}
    conns = [Conn(host, port) for _ in range(args.count)]
    # Connect in slices, so the listen backlog never overflows.
    for i in range(0, len(conns), 200):
        await asyncio.gather(*(c.open() for c in conns[i:i + 200]))
    go = asyncio.Event()

    async def one(c):
        await go.wait()
        t0 = time.perf_counter()
        try:
            await c.send("POST", path, headers)
            status, _ = await c.response()
        except (OSError, asyncio.IncompleteReadError) as e:
            status = type(e).__name__
        finally:
            c.close()
        return time.perf_counter() - t0, status

    tasks = [asyncio.create_task(one(c)) for c in conns]
    await asyncio.sleep(0.2)  # every task is waiting on the event
    t0 = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    return summary([r[0] for r in results], [r[1] for r in results], wall)


async def users(args):
    host, port, path = split_url(args.url)
    with open(args.jwts) as f:
        jwts = [line.strip() for line in f if line.strip()]
    queue = list(reversed(jwts))
    latencies, statuses = [], []

    async def worker():
        c = Conn(host, port)
        await c.open()
        try:
            while queue:
                jwt = queue.pop()
                t0 = time.perf_counter()
                try:
                    await c.send("POST", path, {"Authorization": f"Bearer {jwt}"})
                    status, _ = await c.response()
                except (OSError, asyncio.IncompleteReadError) as e:
                    status = type(e).__name__
                    c.close()
                    c = Conn(host, port)
                    await c.open()
                latencies.append(time.perf_counter() - t0)
                statuses.append(status)
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return summary(latencies, statuses, time.perf_counter() - t0)


def co_corrected(lat_ms, interval_ms):
    """The samples plus those wrk adds to correct for coordinated omission
    (wrk's stats_correct): a request that took L ≥ 2 × interval also counts
    L − interval, L − 2 × interval, ... while above interval, for the
    requests a steady client would have sent during the stall."""
    extra = []
    for value in lat_ms:
        m = value - interval_ms
        while m > interval_ms:
            extra.append(m)
            m -= interval_ms
    return sorted(lat_ms + extra)


def pgbench_percentiles(files):
    # pgbench -l: client_id transaction_no time script_no time_epoch time_us
    # (time: the transaction's latency in microseconds; the epoch and
    # microseconds: when it ended).
    lat, ends, clients, numbers = [], [], set(), []
    for pattern in files:
        for name in glob.glob(pattern):
            with open(name) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 6 and parts[2].isdigit():
                        lat.append(int(parts[2]) / 1000)
                        ends.append(int(parts[4]) + int(parts[5]) / 1e6)
                        clients.add(parts[0])
                        numbers.append(int(parts[1]))
    lat.sort()
    out = {
        "samples": len(lat),
        "p50_ms": round(percentile(lat, 50), 3) if lat else None,
        "p99_ms": round(percentile(lat, 99), 3) if lat else None,
        "max_ms": round(lat[-1], 3) if lat else None,
        "over_10ms": sum(1 for x in lat if x > 10),
    }
    # With every transaction of one client logged (no gap in its numbers:
    # not a sample), the p99 that wrk would report for the same stalls.
    if len(clients) == 1 and len(lat) > 1 and max(numbers) - min(numbers) + 1 == len(lat):
        interval_ms = (max(ends) - min(ends)) * 1000 / (len(lat) - 1)
        out["p99_corrected_ms"] = round(percentile(co_corrected(lat, interval_ms), 99), 3)
    return out


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def backends(dbs):
    """PostgreSQL backends whose title names one of dbs:
    "postgres: [<cluster>: ]<user> <database> <host> <state>"."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres: ") and any(w in dbs for w in cmd.split()[1:4]):
            found.append(pid)
    return found


def cpu_snapshot(args, known):
    t = time.time()
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    pg = {pid: proc_ticks(pid) for pid in set(known) | set(backends(args.db))}
    return {
        "t": t,
        "total": sum(cpu[:8]),
        "idle": cpu[3] + cpu[4],
        "svc": proc_ticks(args.svc) if args.svc else None,
        "sim": proc_ticks(args.sim) if args.sim else None,
        "pg": {k: v for k, v in pg.items() if v is not None},
    }


def cpu_window(args):
    stop = []

    def on_signal(*_):
        if args.until is not None:
            sys.exit(0)  # interrupted: no window
        stop.append(1)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t0 = time.monotonic()
    time.sleep(args.after)
    a = cpu_snapshot(args, [])
    if args.until is not None:
        time.sleep(max(0.0, args.until - (time.monotonic() - t0)))
    else:
        while not stop:
            time.sleep(0.05)
    # Backends seen at the start are read first: they may be about to exit.
    b = cpu_snapshot(args, a["pg"])

    def delta(k):
        return b[k] - a[k] if a.get(k) is not None and b.get(k) is not None else None

    return {
        "seconds": round(b["t"] - a["t"], 3),
        "ticks_per_second": os.sysconf("SC_CLK_TCK"),
        "total": b["total"] - a["total"],
        "idle": b["idle"] - a["idle"],
        "svc": delta("svc"),
        "sim": delta("sim"),
        # A backend that exits before the end is lost; one that starts is counted whole.
        "pg": sum(v - a["pg"].get(pid, 0) for pid, v in b["pg"].items()),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("jwts")
    j.add_argument("--secret", required=True)
    j.add_argument("--prefix", required=True)
    j.add_argument("--count", type=int, required=True)
    j.add_argument("--out", required=True)
    s = sub.add_parser("stampede")
    s.add_argument("--url", required=True)
    s.add_argument("--jwt", required=True)
    s.add_argument("--count", type=int, default=1000)
    u = sub.add_parser("users")
    u.add_argument("--url", required=True)
    u.add_argument("--jwts", required=True)
    u.add_argument("--concurrency", type=int, default=32)
    pc = sub.add_parser("percentiles")
    pc.add_argument("files", nargs="+")
    c = sub.add_parser("cpu")
    c.add_argument("--after", type=float, default=0.0)
    c.add_argument("--until", type=float)
    c.add_argument("--svc")
    c.add_argument("--sim")
    c.add_argument("--db", action="append", default=[])
    args = p.parse_args()

    if args.cmd == "jwts":
        with open(args.out, "w") as f:
            for i in range(1, args.count + 1):
                f.write(jwt_hs256(args.secret, f"{args.prefix}{i}") + "\n")
        out = {"written": args.count}
    elif args.cmd == "stampede":
        out = asyncio.run(stampede(args))
    elif args.cmd == "users":
        out = asyncio.run(users(args))
    elif args.cmd == "cpu":
        out = cpu_window(args)
    else:
        out = pgbench_percentiles(args.files)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
