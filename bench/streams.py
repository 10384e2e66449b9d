#!/usr/bin/env python3
"""The live-streams driver of bench/streams.bash, standard library only.

  streams.py --url URL --submissions FILE --streams N --state FILE
             --rate R --secs S --concurrency C --work DIR

  1. opens N `GET /v1/kyc/submissions/{id}/events` streams, stream i on
     submission i mod M of FILE ("id jwt" lines: created and uploaded, each
     its own user's), at most 200 opening at a time; each must answer 200
     text/event-stream and send its first `event: submission`;
     then writes "opened" to --state and holds them;
  2. on SIGUSR1: confirms R × S of those submissions, R a second for S s
     (open loop, C connections: load.py's confirm), each a change committed
     through the service's normal path (AWAITING_UPLOAD → PROCESSING), and
     waits (10 s at most) for its event on each of its streams; writes
     "changed" to --state;
  3. on SIGUSR2: counts the streams that ended before (none should: the
     submissions never settle here), closes them all and prints one line
     of JSON (latencies in milliseconds).

An event's commit is its `updatedAt` (`now()` in the confirm's transaction:
its start, shortly before the commit); its arrival is when the driver read
the chunk that completed it. One clock: the same machine's.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime

from load import confirm, latency_summary, split_url

OPENING_AT_ONCE = 200


class Stream:
    """One event stream on its own connection: its events as
    (arrival, status, updatedAt) and how it ended."""

    def __init__(self, sid, jwt):
        self.sid, self.jwt = sid, jwt
        self.events = []
        self.opened = asyncio.get_running_loop().create_future()
        self.ended = None  # why, when it ended
        self.writer = None

    async def run(self, host, port):
        try:
            reader, self.writer = await asyncio.open_connection(host, port)
            t0 = time.perf_counter()
            self.writer.write(
                (
                    f"GET /v1/kyc/submissions/{self.sid}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Bearer {self.jwt}\r\nAccept: text/event-stream\r\n\r\n"
                ).encode()
            )
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            status = head.split(" ", 2)[1]
            if status != "200" or "content-type: text/event-stream" not in head or "transfer-encoding: chunked" not in head:
                raise ValueError(f"answered {status}")
            buf = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    raise EOFError("the response ended")
                buf += chunk[:-2]
                *frames, buf = buf.split(b"\n\n")
                now = time.time()
                for frame in frames:
                    lines = frame.decode().split("\n")
                    if "event: submission" not in lines:
                        continue  # a keep-alive comment
                    data = json.loads(next(x for x in lines if x.startswith("data: "))[6:])
                    self.events.append((now, data["status"], data["updatedAt"]))
                    if not self.opened.done():
                        self.opened.set_result(time.perf_counter() - t0)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - every way a stream can fail is counted
            self.ended = (f"{type(e).__name__}: {e}"[:120], time.time())
            if not self.opened.done():
                self.opened.set_exception(e)

    def close(self):
        if self.writer:
            self.writer.close()


def epoch(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def counts(items):
    out = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


async def main(args):
    host, port, _ = split_url(args.url)
    with open(args.submissions) as f:
        subs = [line.split() for line in f if line.strip()]
    loop = asyncio.get_running_loop()
    go_change, go_close = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, go_change.set)
    loop.add_signal_handler(signal.SIGUSR2, go_close.set)

    def state(word):
        with open(args.state, "a") as f:
            f.write(word + "\n")

    # 1. Open, OPENING_AT_ONCE at a time, each until its first event.
    streams = [Stream(*subs[i % len(subs)]) for i in range(args.streams)]
    tasks, opening = [], asyncio.Semaphore(OPENING_AT_ONCE)
    t0 = time.perf_counter()

    async def open_one(s):
        async with opening:
            tasks.append(asyncio.create_task(s.run(host, port)))
            try:
                return await asyncio.wait_for(asyncio.shield(s.opened), 30)
            except Exception:  # noqa: BLE001 - counted below
                return None

    open_times = await asyncio.gather(*(open_one(s) for s in streams))
    opened = [s for s, t in zip(streams, open_times) if t is not None]
    out = {
        "streams": args.streams,
        "submissions": len(subs),
        "opened": len(opened),
        "open_wall_s": round(time.perf_counter() - t0, 3),
        "open": latency_summary([t for t in open_times if t is not None]),
        "open_failures": counts(s.ended[0] if s.ended else "timeout" for s, t in zip(streams, open_times) if t is None),
    }
    state("opened")

    # 2. Changes: the first R × S submissions whose every stream opened.
    await go_change.wait()
    by_sub = {}
    for s in streams:
        by_sub.setdefault(s.sid, []).append(s)
    ready = [(sid, ss[0].jwt) for sid, ss in by_sub.items() if all(s.opened.done() and not s.opened.exception() for s in ss)]
    changed = ready[: int(args.rate * args.secs)]
    todo = os.path.join(args.work, "streams_changes.submissions")
    with open(todo, "w") as f:
        f.writelines(f"{sid} {jwt}\n" for sid, jwt in changed)
    started = time.time()
    out["confirms"] = await confirm(
        argparse.Namespace(
            url=args.url, submissions=todo, concurrency=args.concurrency, rate=args.rate,
            out=os.path.join(args.work, "streams_changes.confirms"),
        )
    )
    answered = {}
    with open(os.path.join(args.work, "streams_changes.confirms")) as f:
        for line in f:
            sid, _, at, _ = line.split()
            answered[sid] = float(at)
    watched = [s for sid, _ in changed for s in by_sub[sid]]

    def arrival(s):
        return next(((t, upd) for t, status, upd in s.events if status != "AWAITING_UPLOAD"), None)

    deadline = time.time() + 10
    while time.time() < deadline and not all(arrival(s) or s.ended for s in watched):
        await asyncio.sleep(0.1)
    got = [(s, arrival(s)) for s in watched]
    got = [(s, a) for s, a in got if a]
    out["changes"] = {
        "submissions": len(changed),
        "expected": len(watched),
        "arrived": len(got),
        "wall_s": round(time.time() - started, 3),
        "statuses": counts(status for s in watched for _, status, _ in s.events[1:]),
        "from_commit": latency_summary([t - epoch(upd) for _, (t, upd) in got]),
        "from_answer": latency_summary([t - answered[s.sid] for s, (t, _) in got if s.sid in answered]),
        "before_answer": sum(1 for s, (t, _) in got if s.sid in answered and t < answered[s.sid]),
    }
    # Events on streams whose submission did not change: there should be none.
    untouched = {sid for sid in by_sub} - {sid for sid, _ in changed}
    out["changes"]["unexpected_events"] = sum(len(s.events) - 1 for sid in untouched for s in by_sub[sid] if s.events)
    state("changed")

    # 3. Close: every stream that opened should still be open.
    await go_close.wait()
    dropped = [s for s in opened if s.ended]
    out["dropped"] = len(dropped)
    out["dropped_why"] = counts(s.ended[0] for s in dropped)
    for s in streams:
        s.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out["cpu_s"] = round(sum(os.times()[:2]), 3)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--submissions", required=True)
    p.add_argument("--streams", type=int, required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--secs", type=float, required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--work", required=True)
    print(json.dumps(asyncio.run(main(p.parse_args()))))
    sys.exit(0)
