#!/usr/bin/env python3
"""The webhook receiver bench/run sends to: cheap enough not to be what it
measures (standard library only).

  receiver.py --addr 127.0.0.1:PORT --out PREFIX [--keep N]

Answers every request `204` after reading its head and its Content-Length
bytes of body, parsing nothing else: no JSON, no signature check; during
an outage (each SIGUSR2 starts or ends one) `503` instead. For each
request it records its arrival (time.time() when its first byte was read:
the clock PostgreSQL's now() reads), its `webhook-id` and its path (several
endpoints can point here); the first N
requests (default 100) of each segment are kept whole, head and body, for
`load.py verify` to check their signatures. Prints one line once it
listens. Each SIGUSR1 ends a segment: what arrived since the previous one
goes to PREFIX.1, PREFIX.2, ... (one JSON object, written whole); SIGTERM
ends the last one and exits. One process for every phase, so the sender's
connections stay open from one to the next.
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import time

NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"


class Stats:
    def __init__(self, keep):
        self.keep = keep
        self.arrivals = []  # (time, webhook-id or None, path)
        self.outage = False
        self.sample = []  # the first `keep` requests: headers and body


class Connection(asyncio.Protocol):
    def __init__(self, stats):
        self.stats = stats
        self.buf = b""
        self.started = None  # when the first byte of the request in buf came

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        now = time.time()
        if self.started is None:
            self.started = now
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length, webhook_id, headers = 0, None, {}
            lines = self.buf[:end].split(b"\r\n")
            target = lines[0].split(b" ")[1].decode("latin-1") if lines[0].count(b" ") >= 2 else None
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name, value = name.strip().lower(), value.strip()
                headers[name] = value
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    webhook_id = value.decode("latin-1")
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body, self.buf = self.buf[end + 4:total], self.buf[total:]
            self.stats.arrivals.append((self.started, webhook_id, target))
            if len(self.stats.sample) < self.stats.keep:
                self.stats.sample.append({
                    "arrived": self.started,
                    "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()},
                    "body": base64.b64encode(body).decode(),
                })
            self.transport.write(UNAVAILABLE if self.stats.outage else NO_CONTENT)
            # What is left already belongs to the next request.
            self.started = now if self.buf else None


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--addr", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--keep", type=int, default=100)
    args = p.parse_args()
    host, port = args.addr.rsplit(":", 1)
    stats = Stats(args.keep)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(stats), host, int(port), backlog=1024)
    segments = 0

    def end_segment():
        nonlocal segments
        segments += 1
        done = {"arrivals": stats.arrivals, "sample": stats.sample}
        stats.arrivals, stats.sample = [], []
        with open(f"{args.out}.{segments}.tmp", "w") as f:
            json.dump(done, f)
        os.replace(f"{args.out}.{segments}.tmp", f"{args.out}.{segments}")

    stop = asyncio.Event()
    def toggle_outage():
        stats.outage = not stats.outage

    loop.add_signal_handler(signal.SIGUSR1, end_segment)
    loop.add_signal_handler(signal.SIGUSR2, toggle_outage)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"receiver: listening on http://{args.addr}/", flush=True)
    await stop.wait()
    server.close()
    end_segment()


if __name__ == "__main__":
    asyncio.run(main())
