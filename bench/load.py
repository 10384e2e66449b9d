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

  load.py submissions --url URL --jwts FILE --count N --concurrency C --out FILE
      N submissions created and their documents uploaded (ready to
      confirm), for the users of FILE in turn; "id jwt" lines to --out.

  load.py confirm --url URL --submissions FILE --concurrency C [--rate R] --out FILE
      a confirm for each of them: as fast as C connections go, or the i-th
      sent at start + i / R (open loop); "id sent answered status" lines.

  load.py verify --secret WHSEC --received FILE
      the signatures of the deliveries bench/receiver.py kept whole,
      checked as a partner would (the README's scheme).

  load.py deliveries --received FILE --events FILE [--confirms FILE] [--start T]
      the receiver's arrivals against the events in the database: counts
      by webhook-id, deliveries per second, commit-to-arrival latencies.

  load.py outbox FILE
      bench/webhooks.bash's samples of the outbox while deliveries were
      pending: the sender's slots in use, busy backends, their waits.

  load.py percentiles FILE...
      p50/p99 of pgbench's per-transaction logs (-l), in milliseconds.

  load.py cpu --after A [--until U] [--svc PID] [--sim PID] [--rcv PID] [--db NAME]...
      CPU ticks used between A and U seconds from now (or until SIGTERM):
      the whole machine, the service, the simulator, the webhook receiver,
      and the PostgreSQL backends connected to the named databases.

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

    async def send(self, method, path, headers, body=b""):
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
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
                status, _ = await exchange(c, "POST", path, {"Authorization": f"Bearer {jwt}"})
                latencies.append(time.perf_counter() - t0)
                statuses.append(status)
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return summary(latencies, statuses, time.perf_counter() - t0)


async def exchange(conn, method, path, headers, body=b""):
    """One request on a keep-alive connection: (status, body); on a broken
    connection, the error's name, and the connection reopened."""
    try:
        await conn.send(method, path, headers, body)
        return await conn.response()
    except (OSError, asyncio.IncompleteReadError) as e:
        conn.close()
        await conn.open()
        return type(e).__name__, b""


# A JPEG as far as the simulator's storage looks: its signature bytes.
JPEG = b"\xff\xd8\xff\xe0" + bytes(1020)


async def submissions(args):
    """args.count submissions created and their documents uploaded, ready to
    confirm, for the users of args.jwts in turn; "id jwt" lines to args.out."""
    host, port, _ = split_url(args.url)
    with open(args.jwts) as f:
        jwts = [line.strip() for line in f if line.strip()]
    todo = list(range(args.count))
    ready, statuses = [], []

    async def worker():
        bff, storage = Conn(host, port), {}
        await bff.open()
        try:
            while todo:
                jwt = jwts[todo.pop() % len(jwts)]
                status, body = await exchange(bff, "POST", "/v1/kyc/submissions", {"Authorization": f"Bearer {jwt}"})
                statuses.append(f"create {status}")
                if status != 201:
                    continue
                created = json.loads(body)
                uploaded = True
                for upload in created["uploads"]:
                    u_host, u_port, u_path = split_url(upload["url"])
                    if (u_host, u_port) not in storage:
                        storage[u_host, u_port] = Conn(u_host, u_port)
                        await storage[u_host, u_port].open()
                    headers = {k: v for k, v in upload.get("headers", {}).items() if k.lower() != "content-type"}
                    headers["Content-Type"] = "image/jpeg"
                    status, _ = await exchange(storage[u_host, u_port], upload.get("method", "PUT"), u_path, headers, JPEG)
                    statuses.append(f"upload {status}")
                    uploaded = uploaded and status == 200
                if uploaded:
                    ready.append((created["id"], jwt))
        finally:
            bff.close()
            for c in storage.values():
                c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    wall = time.perf_counter() - t0
    with open(args.out, "w") as f:
        f.writelines(f"{i} {jwt}\n" for i, jwt in ready)
    counts = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return {"ready": len(ready), "wall_s": round(wall, 3), "statuses": counts}


async def confirm(args):
    """POST .../confirm for each "id jwt" line of args.submissions, with
    args.concurrency connections: as fast as they go, or, with args.rate,
    the i-th sent at start + i / rate (open loop: a late answer does not
    delay the next). "id sent answered status" lines (epoch seconds) to
    args.out."""
    host, port, _ = split_url(args.url)
    with open(args.submissions) as f:
        jobs = [line.split() for line in f if line.strip()]
    queue = list(reversed(list(enumerate(jobs))))
    done, late = [], []
    start = time.monotonic() + 0.1

    async def worker():
        c = Conn(host, port)
        await c.open()
        try:
            while queue:
                i, (sid, jwt) = queue.pop()
                if args.rate:
                    due = start + i / args.rate
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    late.append(time.monotonic() - due)
                sent = time.time()
                status, _ = await exchange(c, "POST", f"/v1/kyc/submissions/{sid}/confirm", {"Authorization": f"Bearer {jwt}"})
                done.append((sid, sent, time.time(), status))
        finally:
            c.close()

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    with open(args.out, "w") as f:
        f.writelines(f"{sid} {sent:.6f} {answered:.6f} {status}\n" for sid, sent, answered, status in done)
    first = min(d[1] for d in done)
    wall = max(d[2] for d in done) - first
    out = summary([d[2] - d[1] for d in done], [d[3] for d in done], wall)
    out["cpu_s"] = round(sum(os.times()[:2]), 3)  # this driver's own
    if args.rate:
        out["rate"] = args.rate
        out["sent_per_s"] = round((len(done) - 1) / (max(d[1] for d in done) - first), 1) if len(done) > 1 else None
        out["max_late_ms"] = round(max(late) * 1000, 3)
    return out


def verify(args):
    """The signatures of the requests the receiver kept whole, checked as a
    partner would (the README's scheme), with the tolerance of 5 minutes."""
    key = base64.b64decode(args.secret.removeprefix("whsec_"))
    with open(args.received) as f:
        sample = json.load(f)["sample"]
    bad = []
    for r in sample:
        h, body = r["headers"], base64.b64decode(r["body"])
        try:
            msg_id, ts = h["webhook-id"], h["webhook-timestamp"]
            mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
            expected = "v1," + base64.b64encode(mac).decode()
            signed = any(hmac.compare_digest(expected, s) for s in h["webhook-signature"].split())
            fresh = abs(r["arrived"] - int(ts)) <= 300
            event = json.loads(body)
            ok = signed and fresh and event["type"].startswith("kyc.") and "data" in event
        except (KeyError, ValueError, AttributeError):
            ok = False
        if not ok:
            bad.append(h.get("webhook-id"))
    return {"checked": len(sample), "verified": len(sample) - len(bad), "failed_ids": bad[:10]}


def latency_summary(values_s):
    lat = sorted(x * 1000 for x in values_s)
    return {
        "count": len(lat),
        "p50_ms": round(percentile(lat, 50), 3) if lat else None,
        "p95_ms": round(percentile(lat, 95), 3) if lat else None,
        "p99_ms": round(percentile(lat, 99), 3) if lat else None,
        "max_ms": round(lat[-1], 3) if lat else None,
    }


def deliveries(args):
    """What the receiver got, against the events in the database
    ("id created_at submission_id" lines): counted by webhook-id (with
    args.by_endpoint by "path#webhook-id", the ids being so in the events'
    lines too: an event goes to each endpoint), timed from the first arrival
    to the last, and each event's first arrival against its created_at and,
    with args.confirms, against its confirm's answer."""
    with open(args.received) as f:
        arrivals = [(t, f"{path}#{eid}" if args.by_endpoint and eid else eid)
                    for t, eid, path in json.load(f)["arrivals"]]
    events = {}
    with open(args.events) as f:
        for line in f:
            eid, created, sid = line.split()
            events[eid] = (float(created), sid)
    answered = {}
    if args.confirms:
        with open(args.confirms) as f:
            for line in f:
                sid, _, at, _ = line.split()
                answered[sid] = float(at)
        expected = {e for e, (_, sid) in events.items() if sid in answered}
    else:
        expected = set(events)
    first = {}
    for t, eid in arrivals:
        if eid is not None and (eid not in first or t < first[eid]):
            first[eid] = t
    times = sorted(first.values())
    span = times[-1] - times[0] if len(times) > 1 else None
    created = [events[e][0] for e in expected]
    out = {
        "requests": len(arrivals),
        "unique": len(first),
        "duplicates": len(arrivals) - len(first),
        "without_id": sum(1 for _, e in arrivals if e is None),
        "expected": len(expected),
        "missing": len(expected - set(first)),
        "unexpected": len(set(first) - expected),
        "first_at": times[0] if times else None,
        "span_s": round(span, 3) if span else None,
        "per_s": round(len(first) / span, 1) if span else None,
        "committed_span_s": round(max(created) - min(created), 3) if len(created) > 1 else None,
        "from_created": latency_summary([first[e] - events[e][0] for e in expected if e in first]),
    }
    if out["committed_span_s"]:
        out["committed_per_s"] = round(len(created) / out["committed_span_s"], 1)
    if answered:
        out["from_answer"] = latency_summary([first[e] - answered[events[e][1]] for e in expected if e in first])
        out["before_answer"] = sum(1 for e in expected if e in first and first[e] < answered[events[e][1]])
    if len(times) >= 8:
        # Each quarter of the arrivals, in arrivals a second: does the rate hold?
        q = [times[round(i * (len(times) - 1) / 4)] for i in range(5)]
        out["quarters_per_s"] = [round(len(times) / 4 / (b - a), 1) if b > a else None for a, b in zip(q, q[1:])]
    if args.start is not None and times:
        out["first_after_s"] = round(times[0] - args.start, 3)
        out["last_after_s"] = round(times[-1] - args.start, 3)
    return out


def outbox(args):
    """bench/webhooks.bash's samples of the outbox ("time pending leased
    busy waits" lines), from the first that saw a delivery pending to the
    last: deliveries leased (in the sender's slots), the service's backends
    not idle, and what the active ones waited for, as shares."""
    rows = []
    with open(args.samples) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 5 and parts[1].isdigit():
                rows.append((int(parts[1]), int(parts[2]), int(parts[3]), parts[4]))
    working = [i for i, r in enumerate(rows) if r[0] > 0]
    rows = rows[working[0]:working[-1] + 1] if working else []
    waits = {}
    for *_, events in rows:
        for e in events.split(","):
            if e != "-":
                waits[e] = waits.get(e, 0) + 1
    seen = sum(waits.values())
    return {
        "samples": len(rows),
        "leased_mean": round(sum(r[1] for r in rows) / len(rows), 1) if rows else None,
        "leased_max": max((r[1] for r in rows), default=None),
        "busy_mean": round(sum(r[2] for r in rows) / len(rows), 1) if rows else None,
        "busy_max": max((r[2] for r in rows), default=None),
        "waits": {e: round(n / seen, 3) for e, n in sorted(waits.items(), key=lambda x: -x[1])},
    }


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
        "rcv": proc_ticks(args.rcv) if args.rcv else None,
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
        "rcv": delta("rcv"),
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
    sm = sub.add_parser("submissions")
    sm.add_argument("--url", required=True)
    sm.add_argument("--jwts", required=True)
    sm.add_argument("--count", type=int, required=True)
    sm.add_argument("--concurrency", type=int, default=32)
    sm.add_argument("--out", required=True)
    cf = sub.add_parser("confirm")
    cf.add_argument("--url", required=True)
    cf.add_argument("--submissions", required=True)
    cf.add_argument("--concurrency", type=int, default=32)
    cf.add_argument("--rate", type=float)
    cf.add_argument("--out", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--secret", required=True)
    v.add_argument("--received", required=True)
    d = sub.add_parser("deliveries")
    d.add_argument("--received", required=True)
    d.add_argument("--events", required=True)
    d.add_argument("--confirms")
    d.add_argument("--start", type=float)
    d.add_argument("--by-endpoint", action="store_true")
    o = sub.add_parser("outbox")
    o.add_argument("samples")
    c = sub.add_parser("cpu")
    c.add_argument("--after", type=float, default=0.0)
    c.add_argument("--until", type=float)
    c.add_argument("--svc")
    c.add_argument("--sim")
    c.add_argument("--rcv")
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
    elif args.cmd == "submissions":
        out = asyncio.run(submissions(args))
    elif args.cmd == "confirm":
        out = asyncio.run(confirm(args))
    elif args.cmd == "verify":
        out = verify(args)
    elif args.cmd == "deliveries":
        out = deliveries(args)
    elif args.cmd == "outbox":
        out = outbox(args)
    elif args.cmd == "cpu":
        out = cpu_window(args)
    else:
        out = pgbench_percentiles(args.files)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
