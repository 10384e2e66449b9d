#!/usr/bin/env python3
"""Renders the markdown table of one bench/run from its work directory.

Exit status 0, or 3 when a measurement is invalid (a load saw errors, a
stampede minted more than once, a webhook event that never arrived or
arrived unsigned); the table is printed either way.
"""

import glob
import json
import os
import re
import sys

GOAL_GET_RATIO = 0.50
GOAL_CALLBACK_RATIO = 1.00
GOAL_GET_CPU_US = 40
GOAL_HEALTHZ_CPU_US = 10
GOAL_PRESIGN_P50_MS = 1.0
GOAL_PRESIGN_P99_MS = 5.0
GOAL_RSS_IDLE_MB = 20
GOAL_RSS_LOAD_MB = 150
GOAL_STREAMS_RSS_MB = 150
GOAL_STREAM_CHANGE_P99_MS = 1000
GOAL_STREAMS_GET_P99_RATIO = 2.0

work = sys.argv[1]
problems = []


def path(name):
    return os.path.join(work, name)


def load_json(name):
    try:
        with open(path(name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


meta = {}
with open(path("meta.env")) as f:
    for line in f:
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            meta[k] = v
clk = int(meta.get("clk_tck", 100))
nproc = int(meta.get("nproc", 1))


SLICES = int(meta.get("slices", 1))


def parts(name):
    """A load's slices (name.1, name.2, ...), or the load itself."""
    sliced = [f"{name}.{i}" for i in range(1, max(SLICES, 2) + 1)]
    sliced = [p for p in sliced if os.path.exists(path(f"{p}.json")) or os.path.exists(path(f"{p}.out"))]
    if sliced:
        return sliced
    return [name]


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def combine(name, rows):
    """Throughput over all slices; latency percentiles as the median of the
    slices' (with the slices' range of throughput)."""
    rows = [r for r in rows if r]
    if not rows:
        problems.append(f"{name}: no result")
        return None
    rps = [r["rps"] for r in rows if r.get("rps") is not None]
    return {
        "rps": sum(rps) / len(rps) if rps else None,
        "rps_min": min(rps) if rps else None,
        "rps_max": max(rps) if rps else None,
        "p50_ms": median(r.get("p50_ms") for r in rows),
        "p99_ms": median(r.get("p99_ms") for r in rows),
        "per_slice_p99": [r.get("p99_ms") for r in rows],
        "p99_corrected_ms": median(r.get("p99_corrected_ms") for r in rows),
        "max_ms": max((r["max_ms"] for r in rows if r.get("max_ms") is not None), default=None),
        "over_10ms": sum(r.get("over_10ms", 0) for r in rows),
        "samples": sum(r.get("samples", 0) for r in rows),
        "errors": sum(r.get("errors", 0) for r in rows),
        "slices": len(rows),
        "per_slice_rps": [r.get("rps") for r in rows],
    }


def pgbench(name):
    rows = []
    for p in parts(name):
        try:
            text = open(path(f"{p}.out")).read()
        except OSError:
            continue
        out = {}
        m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
        out["rps"] = float(m.group(1)) if m else None
        m = re.search(r"number of failed transactions: (\d+)", text)
        out["errors"] = int(m.group(1)) if m else 0
        if out["errors"]:
            problems.append(f"{p}: {out['errors']} failed transactions")
        out.update(load_json(f"{p}.json") or {})
        rows.append(out)
    return combine(name, rows)


def wrk(name):
    rows = []
    for p in parts(name):
        r = load_json(f"{p}.json")
        if r is None:
            continue
        r["errors"] = r["non2xx"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
        if r["errors"]:
            problems.append(
                f"{p}: {r['non2xx']} non-2xx responses, {r['connect_errors']}/{r['read_errors']}/"
                f"{r['write_errors']}/{r['timeouts']} connect/read/write/timeout errors"
            )
        rows.append(r)
    return combine(name, rows)


def cpu(name):
    """Cores used over the load's measuring windows: the machine, the
    service, the simulator, the webhook receiver and the bench databases'
    PostgreSQL backends."""
    secs = total = idle = svc = sim = rcv = pg = 0.0
    tck = clk
    for p in parts(name):
        c = load_json(f"{p}.cpu")
        if not c or not c.get("total"):
            continue
        tck = c.get("ticks_per_second", clk)
        secs += c["seconds"]
        total += c["total"]
        idle += c["idle"]
        svc += c.get("svc") or 0
        sim += c.get("sim") or 0
        rcv += c.get("rcv") or 0
        pg += c.get("pg") or 0
    if not secs or not total:
        return None
    busy = (total - idle) / total * nproc
    svc, sim, rcv, pg = svc / tck / secs, sim / tck / secs, rcv / tck / secs, pg / tck / secs
    return {"busy": busy, "svc": svc, "sim": sim, "rcv": rcv, "pg": pg, "rest": max(0.0, busy - svc - sim - rcv - pg)}


def rss(name):
    """(max VmRSS, last VmHWM) in MB over the load's samples."""
    rows = []
    for p in parts(name):
        try:
            rows += [tuple(int(x) for x in line.split()) for line in open(path(f"{p}.rss")) if line.strip()]
        except (OSError, ValueError):
            pass
    rows = [r for r in rows if len(r) == 2]
    if not rows:
        return None
    return max(r[0] for r in rows) / 1024, max(r[1] for r in rows) / 1024


def f(x, digits=1):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def statuses(counts):
    return ", ".join(f"{n:,} × {s}" for s, n in sorted(counts.items()))


def verdict(ok):
    return "**met**" if ok else "**missed**"


def autoanalyzed(phase, r):
    """Whether autovacuum analyzed webhook_deliveries during the phase, and
    when, from its first arrival."""
    try:
        before, after = (open(path(f"webhook_{phase}.{e}.analyzed")).read().split() for e in ("before", "after"))
    except OSError:
        return "–"
    if len(before) != 2 or len(after) != 2:
        return "–"
    if after[0] == before[0]:
        return "no"
    runs = int(after[0]) - int(before[0])
    at = float(after[1]) - r["first_at"] if r.get("first_at") else None
    return f"{runs}×, the last at {f(at, 1)} s" if at is not None else f"{runs}×"


# workers::webhook_sender's IN_FLIGHT.
SENDER_SLOTS = 64


def prometheus(name):
    """{metric line's name and labels: value} of a /metrics scrape."""
    values = {}
    try:
        for line in open(path(f"{name}.metrics")):
            if line.strip() and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
    except (OSError, ValueError):
        pass
    return values


def scraped(phase, wanted):
    """The growth over a webhook phase of the metric lines wanted(line) picks."""
    before, after = prometheus(f"webhook_{phase}.before"), prometheus(f"webhook_{phase}.after")
    return sum(v - before.get(k, 0.0) for k, v in after.items() if wanted(k))


def webhooks():
    phases = [
        ("burst", f"{int(meta.get('webhook_events', 0)):,} confirms, {meta.get('webhook_conns')} connections, as fast as they go"),
        ("steady", f"{meta.get('webhook_rate')} confirms a second for {meta.get('webhook_secs')} s (open loop)"),
        ("resend", f"`POST /ops/v1/webhooks/resend-failed` after an outage, to {meta.get('webhook_endpoints')} endpoints"),
    ]
    res = {p: load_json(f"webhook_{p}.json") for p, _ in phases}
    if not any(res.values()):
        if "webhook_events" in meta:
            problems.append("webhooks: no result")
        return
    checks = {p: load_json(f"webhook_{p}.verify.json") for p, _ in phases}
    confirms = {p: load_json(f"webhook_{p}.confirm.json") for p in ("burst", "steady", "outage")}
    prepared = load_json("webhook_prepare.json")
    if not prepared or set(prepared["statuses"]) != {"create 201", "upload 200"}:
        problems.append(f"webhooks: preparing the submissions: {prepared and prepared['statuses']}")
    for p, c in confirms.items():
        if not c or set(c["statuses"]) != {"200"}:
            problems.append(f"webhook {p}: confirms answered {c and c['statuses']}")
    for p, r in res.items():
        if not r:
            problems.append(f"webhook {p}: no result")
            continue
        if r["missing"] or r["unexpected"] or r["without_id"]:
            problems.append(
                f"webhook {p}: {r['missing']} of {r['expected']} events never arrived, "
                f"{r['unexpected']} unexpected ids, {r['without_id']} requests without a webhook-id"
            )
        v = checks[p]
        if not v or not v["checked"] or v["verified"] != v["checked"]:
            problems.append(f"webhook {p}: signatures {v}")
    if meta.get("webhook_unsucceeded", "0") != "0":
        problems.append(f"webhooks: {meta['webhook_unsucceeded']} deliveries not succeeded at the end")

    w("## Webhooks")
    w("")
    w(
        "A fresh service on its own database, `WEBHOOK_URLS` pointing at `bench/receiver.py` (127.0.0.1; answers "
        "`204` after reading each request, parsing nothing) and a generated `WEBHOOK_SECRET`; the simulator "
        "without callbacks and the reconciler held off, so every event is a confirm's `kyc.submission.processing`, "
        "one delivery each (one to each endpoint in the outage). Deliveries are counted at the receiver by "
        "`webhook-id` (with the endpoint's path in the resend); the signatures of the first "
        "100 of each phase are checked as a partner would (the README's scheme). Arrival: when the receiver read "
        "a request's first byte. Commit: the event's `created_at`, which is `now()` in the confirm's transaction, "
        "so the transaction's start, shortly before its commit (the submission's `updated_at` is the same value); "
        "the confirm's answer reaching the client comes after the commit, and bounds it from the other side. "
        "One clock: the same machine's."
    )
    w("")
    w(
        "| phase | events | unique ids received | duplicates | missing | signatures checked | first → last arrival s "
        "| deliveries/s | by quarter of the arrivals /s | events committed/s |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|")
    for p, label in phases:
        r, v = res[p], checks[p]
        if not r:
            continue
        sig = f"{v['verified']} of {v['checked']} valid" if v else "–"
        committed = "– (resent at once)" if p == "resend" else f(r.get("committed_per_s"), 0)
        quarters = ", ".join(f(q, 0) for q in r.get("quarters_per_s", []))
        w(
            f"| {label} | {r['expected']:,} | {r['unique']:,} | {r['duplicates']:,} | {r['missing']:,} | {sig} | "
            f"{f(r['span_s'], 2)} | **{f(r['per_s'], 0)}** | {quarters} | {committed} |"
        )
    w("")
    b, c = res["burst"], confirms["burst"]
    if b and c:
        w(
            f"Burst: the {c['requests']:,} confirms took {f(c['wall_s'], 2)} s ({f(c['rps'], 0)}/s; each "
            f"{f(c['p50_ms'], 1)} ms at p50, {f(c['p99_ms'], 1)} ms at p99); their events reached the receiver "
            f"{f(b['from_created']['p50_ms'], 1)} ms after their transaction's start at p50, "
            f"{f(b['from_created']['p99_ms'], 1)} ms at p99, {f(b['from_created']['max_ms'], 1)} ms at most."
        )
    d, o, oc = res["resend"], load_json("webhook_outage.json"), confirms["outage"]
    answer = load_json("webhook_resend.answer") or {}
    try:
        sent, resent = (float(open(path(f"webhook_resend.{e}")).read()) for e in ("sent_at", "resent_at"))
    except (OSError, ValueError):
        sent = resent = None
    failed = int(meta.get("webhook_failed", 0))
    if answer.get("resent") != failed:
        problems.append(f"webhook resend: {failed:,} deliveries marked failed, the resend answered {answer}")
    if d and o and oc and d.get("last_after_s") is not None:
        w(
            f"Outage and resend: the receiver answered `503` to everything while {oc['requests']:,} confirms went "
            f"to a service with {meta.get('webhook_endpoints')} endpoints (paths on the receiver), "
            f"{failed:,} deliveries; its sender made {o['requests']:,} attempts of {o['unique']:,} of them "
            f"({meta.get('webhook_failed_once')} attempted once, {meta.get('webhook_failed_more')} more than once, "
            f"{meta.get('webhook_failed_unattempted')} never) before the service was stopped. Then SQL marked every "
            "pending delivery `failed`, as if out of attempts (setup: the schedule's last retry is ~32 h away), the "
            "receiver recovered, the service started again, and an operator's "
            f"`POST /ops/v1/webhooks/resend-failed` answered `{json.dumps(answer)}` in "
            f"{f((resent - sent) * 1000 if sent else None, 0)} ms. Counted per endpoint and `webhook-id`: the first "
            f"arrived {f(d['first_after_s'], 3)} s after the answer, the last {f(d['last_after_s'], 2)} s after it "
            f"(**{f(d['unique'] / d['last_after_s'], 0)}/s** from the answer)."
        )
    w("")
    w("Commit to the receiver's first byte, per event:")
    w("")
    w("| phase | from | events | p50 ms | p95 ms | p99 ms | max ms |")
    w("|---|---|---|---|---|---|---|")
    for p, label in phases[:2]:
        r = res[p]
        if not r:
            continue
        for key, frm in (("from_created", "`created_at` (transaction start)"), ("from_answer", "the confirm's answer at the client")):
            L = r.get(key)
            if L:
                w(
                    f"| {label} | {frm} | {L['count']:,} | {f(L['p50_ms'], 2)} | {f(L['p95_ms'], 2)} | "
                    f"{f(L['p99_ms'], 2)} | {f(L['max_ms'], 2)} |"
                )
    w("")
    s, sc = res["steady"], confirms["steady"]
    if s and sc:
        w(
            f"Steady: {sc['requests']:,} confirms sent at {f(sc.get('sent_per_s'), 1)}/s (the latest "
            f"{f(sc.get('max_late_ms'), 1)} ms behind its schedule), each answered in {f(sc['p50_ms'], 1)} ms at p50, "
            f"{f(sc['p99_ms'], 1)} ms at p99; {s.get('before_answer', 0):,} of {s['unique']:,} events reached the "
            "receiver before their confirm's answer reached the client."
        )
        w("")
    w(
        "CPU over each phase (from its first confirm, or the resend, until no delivery is pending), in cores: "
        "`rcv` the receiver, `sim` the simulator (the confirms' GTF calls), `drv` the load driver sending the "
        "confirms (`bench/load.py`, its own CPU time over the phase), `rest` anything else on the machine; per "
        "delivery, each one's CPU time."
    )
    w("")
    w("| phase | busy | svc | pg | rcv | sim | drv | rest | svc µs/delivery | pg µs/delivery | rcv µs/delivery | service peak RSS MB |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p, _ in phases:
        r, c = res[p], cpu(f"webhook_{p}")
        if not r or not c:
            continue
        secs = (load_json(f"webhook_{p}.cpu") or {}).get("seconds")
        drv = (confirms.get(p) or {}).get("cpu_s", 0) / secs if secs else 0
        per = lambda cores: f(cores * secs * 1e6 / r["unique"], 0) if secs and r["unique"] else "–"
        m = rss(f"webhook_{p}")
        w(
            f"| {p} | {f(c['busy'], 2)} | {f(c['svc'], 2)} | {f(c['pg'], 2)} | {f(c['rcv'], 2)} | {f(c['sim'], 2)} | "
            f"{f(drv, 2)} | {f(max(0.0, c['rest'] - drv), 2)} | {per(c['svc'])} | {per(c['pg'])} | {per(c['rcv'])} | "
            f"{f(m[0]) if m else '–'} |"
        )
    w("")
    w(
        "What the sender waited on: the outbox sampled every 0.1 s from one connection while deliveries were "
        f"pending: deliveries leased (in the sender's {SENDER_SLOTS} slots: claimed, not yet recorded), the service's "
        f"backends not idle (a pool of {meta.get('db_max_connections')}, and the connection that LISTENs), and what "
        "the active ones waited for (`CPU`: nothing, running or ready to). From the sender's `/metrics`: the mean "
        "attempt, from sending to the receiver's answer, and attempts that did not succeed."
    )
    w("")
    w(
        "| phase | samples | slots in use, mean (max) | backends not idle, mean (max) | active backends' waits "
        "| attempt mean ms | attempts failed | autovacuum's ANALYZE of the deliveries |"
    )
    w("|---|---|---|---|---|---|---|---|")
    for p, _ in phases:
        o = load_json(f"webhook_{p}.outbox.json")
        if not res[p] or not o:
            continue
        n = scraped(p, lambda k: k.startswith("webhook_attempt_duration_seconds_count"))
        mean = scraped(p, lambda k: k.startswith("webhook_attempt_duration_seconds_sum")) / n * 1000 if n else None
        not_ok = scraped(p, lambda k: k.startswith("webhook_deliveries_total{") and 'outcome="succeeded"' not in k)
        waits = ", ".join(f"{e} {share:.0%}" for e, share in list(o["waits"].items())[:4]) or "–"
        w(
            f"| {p} | {o['samples']} | {f(o['leased_mean'])} ({o['leased_max']}) | {f(o['busy_mean'])} ({o['busy_max']}) | "
            f"{waits} | {f(mean, 2)} | {int(not_ok)} | {autoanalyzed(p, res[p])} |"
        )
    w("")
    commits = [(label, pgbench(name)) for name, label in (
        ("pg_commit", "`commit.sql`: INSERT one row, COMMIT"),
        ("pg_commit_notify", "`commit-notify.sql`: the same with `pg_notify` in the transaction, as each submission change did until it announced after its commit"),
    )]
    if all(r for _, r in commits):
        w(
            f"What a change's commit can reach here: one durable INSERT per transaction, with and without a NOTIFY, "
            f"by pgbench at the burst's {meta.get('webhook_conns')} clients (`-M prepared`, `bench/sql/`, pgbench's "
            f"database), a {meta.get('slice')} s slice of each just before the burst and one just after."
        )
        w("")
        w("| transaction | tx/s | slices' tx/s | p50 ms | p99 ms | errors |")
        w("|---|---|---|---|---|---|")
        for label, r in commits:
            w(
                f"| {label} | {f(r['rps'], 0)} | {f(r['rps_min'], 0)}–{f(r['rps_max'], 0)} | {f(r['p50_ms'], 2)} | "
                f"{f(r['p99_ms'], 2)} | {r['errors']} |"
            )
        w("")

    # Issue 16's webhook targets. The commit lies between the transaction's
    # start and the confirm's answer: the latency is judged from the start.
    per_s, p99_ms, resend_per_s, resend_count = 1000, 250, 1000, 100_000
    if b:
        goal("webhook deliveries per second, burst of confirms", f"≥ {per_s:,}/s", f"{f(b['per_s'], 0)}/s",
             f"{b['per_s'] / per_s:.2f}×", b["per_s"] >= per_s)
    if s and s["from_created"]["p99_ms"] is not None:
        p99 = s["from_created"]["p99_ms"]
        goal(f"webhook commit → receiver's first byte, p99 at {meta.get('webhook_rate')} changes/s",
             f"≤ {p99_ms} ms", f"{f(p99, 1)} ms (from the transaction's start)", f"{p99 / p99_ms:.3f}×", p99 <= p99_ms)
    if d and d.get("last_after_s"):
        rate = d["unique"] / d["last_after_s"]
        goal(f"resend of {d['expected']:,} failed deliveries drains (from the resend's answer to the last arrival)",
             f"≥ {per_s:,}/s, {resend_count:,} deliveries", f"{f(rate, 0)}/s",
             f"{rate / resend_per_s:.2f}×", rate >= resend_per_s and d["expected"] >= resend_count)
    lost = [(p, r) for p, r in res.items() if r]
    if lost:
        missing = sum(r["missing"] for _, r in lost)
        dups = ", ".join(f"{p} {r['duplicates']:,}" for p, r in lost)
        goal("webhook deliveries lost (missing at the receiver by `webhook-id`)", "0",
             f"{missing:,} (duplicates: {dups})", "–", missing == 0)
    peaks = [m[1] for m in (rss(f"webhook_{p}") for p in ("burst", "steady", "outage", "resend")) if m]
    if peaks:
        goal("service peak RSS during the webhook phases", f"≤ {GOAL_RSS_LOAD_MB} MB", f"{f(max(peaks))} MB",
             f"{max(peaks) / GOAL_RSS_LOAD_MB:.2f}×", max(peaks) <= GOAL_RSS_LOAD_MB)


def streams():
    """The live-streams part (bench/streams.bash): its goals, then its tables."""
    r = load_json("streams.json")
    if not r:
        if "streams" in meta:
            problems.append("streams: no result")
        return
    n = int(meta["streams"])
    prepared = load_json("streams_prepare.json")
    if not prepared or set(prepared["statuses"]) != {"create 201", "upload 200"}:
        problems.append(f"streams: preparing the submissions: {prepared and prepared['statuses']}")
    if r["opened"] != n:
        problems.append(f"streams: {r['opened']:,} of {n:,} streams opened ({statuses(r['open_failures'])})")
    if r["dropped"]:
        problems.append(f"streams: {r['dropped']:,} streams ended while held ({statuses(r['dropped_why'])})")
    ch, cf = r.get("changes") or {}, r.get("confirms") or {}
    if set(cf.get("statuses", {})) != {"200"}:
        problems.append(f"streams: confirms answered {cf.get('statuses')}")
    if not ch or ch["arrived"] != ch["expected"]:
        problems.append(f"streams: {ch.get('arrived')} of {ch.get('expected')} changes reached their streams")
    if ch.get("unexpected_events"):
        problems.append(f"streams: {ch['unexpected_events']} events on streams whose submission did not change")
    off, on = wrk("streams_get_off"), wrk("streams_get_on")
    mem = {p: rss(f"streams_{p}") for p in ("before", "open", "held", "get_on", "changes", "after")}
    open_phases = [p for p in ("open", "held", "get_on", "changes") if mem[p]]
    peak = max((mem[p][0] for p in open_phases), default=None)
    per_stream_kb = (mem["held"][0] - mem["before"][0]) * 1024 / n if mem["held"] and mem["before"] else None

    if peak is not None:
        goal(
            f"{n:,} live streams: service RSS, peak",
            f"≤ {GOAL_STREAMS_RSS_MB} MB",
            f"{f(peak)} MB",
            f"{peak / GOAL_STREAMS_RSS_MB:.2f}× the limit",
            peak <= GOAL_STREAMS_RSS_MB,
        )
    p99 = (ch.get("from_commit") or {}).get("p99_ms")
    if p99 is not None:
        goal(
            f"{n:,} live streams: a change's commit to its event on each stream, p99",
            f"≤ {GOAL_STREAM_CHANGE_P99_MS:,} ms",
            f"{f(p99, 1)} ms",
            f"{p99 / GOAL_STREAM_CHANGE_P99_MS:.2f}× the limit",
            p99 <= GOAL_STREAM_CHANGE_P99_MS,
        )
    if off and on and off.get("p99_ms"):
        ratio = on["p99_ms"] / off["p99_ms"]
        goal(
            f"`GET /v1/kyc/submissions/{{id}}` p99 with {n:,} streams open vs none",
            f"≤ {GOAL_STREAMS_GET_P99_RATIO:g}×",
            f"{f(on['p99_ms'], 2)} vs {f(off['p99_ms'], 2)} ms",
            f"{ratio:.2f}×",
            ratio <= GOAL_STREAMS_GET_P99_RATIO,
        )
    if per_stream_kb is not None:
        budget = (GOAL_STREAMS_RSS_MB - mem["before"][0]) * 1024 / n
        goal(
            "memory per open stream",
            f"– (the RSS goal leaves {f(budget)} KB)",
            f"{f(per_stream_kb)} KB",
            f"{per_stream_kb / budget:.2f}× that" if budget > 0 else "–",
            None,
        )

    w("## Live streams")
    w("")
    w(
        f"A fresh service on its own database; {n:,} `GET /v1/kyc/submissions/{{id}}/events` streams held by "
        f"`bench/streams.py` (one asyncio process, one connection each), {meta.get('streams_per_submission')} on "
        f"each of {int(meta.get('streams_submissions', 0)):,} submissions, each submission its own user's (the "
        "per-user cap is 5); `SSE_MAX_STREAMS` and `HTTP_MAX_CONNECTIONS` raised above that. The simulator sends "
        "no callbacks and the reconciler is held off, so no submission settles and the only changes are the "
        "confirms sent here (`AWAITING_UPLOAD` → `PROCESSING`, committed through the service's normal path). "
        "A change's commit: the event's `updatedAt`, `now()` in the confirm's transaction (its start, shortly "
        "before the commit); its arrival: when the driver read the chunk that completed the event. One clock."
    )
    w("")
    w("| step | streams | wall s | p50 ms | p99 ms | max ms | statuses / failures |")
    w("|---|---|---|---|---|---|---|")
    o = r["open"]
    w(
        f"| open, {200} at a time, each to its first event | {r['opened']:,} of {n:,} | {f(r['open_wall_s'], 2)} | "
        f"{f(o['p50_ms'], 1)} | {f(o['p99_ms'], 1)} | {f(o['max_ms'], 1)} | "
        f"{statuses(r['open_failures']) or 'none failed'} |"
    )
    if cf:
        w(
            f"| confirms, {f(cf.get('sent_per_s'), 1)}/s ({meta.get('stream_change_conns')} connections, open loop) "
            f"| {cf['requests']:,} | {f(cf['wall_s'], 2)} | {f(cf['p50_ms'], 1)} | {f(cf['p99_ms'], 1)} | "
            f"{f(cf['max_ms'], 1)} | {statuses(cf['statuses'])} |"
        )
    w("")
    if ch:
        w(
            f"Changes: {ch['submissions']:,} submissions confirmed, {meta.get('stream_change_rate')} a second for "
            f"{meta.get('stream_change_secs')} s; {ch['arrived']:,} of {ch['expected']:,} expected events arrived "
            f"(events seen after the first: {statuses(ch['statuses']) or 'none'}); "
            f"{ch['unexpected_events']} on the streams of submissions that did not change; "
            f"{r['dropped']} streams ended while held; {ch.get('before_answer', 0):,} events arrived before their "
            "confirm's answer reached the driver."
        )
        w("")
        w("| change → its event on each stream | events | p50 ms | p95 ms | p99 ms | max ms |")
        w("|---|---|---|---|---|---|")
        for key, frm in (("from_commit", "from `updatedAt` (the transaction's start)"), ("from_answer", "from the confirm's answer at the driver")):
            L = ch.get(key)
            if L and L["count"]:
                w(
                    f"| {frm} | {L['count']:,} | {f(L['p50_ms'], 2)} | {f(L['p95_ms'], 2)} | {f(L['p99_ms'], 2)} | "
                    f"{f(L['max_ms'], 2)} |"
                )
        w("")
    w(
        f"`GET /v1/kyc/submissions/{{id}}` (`bench/lua/get.lua`, {meta.get('get_conns')} connections, "
        f"{meta.get('slice')} s each) of a submission no stream follows: before the streams open, with all of "
        "them open and quiet, and after they closed (the `none` row: the median of those two slices)."
    )
    w("")
    w("| GET | req/s | p50 ms | p99 ms | errors | busy | svc | pg | svc µs/req |")
    w("|---|---|---|---|---|---|---|---|---|")
    for label, name, res in ((f"{n:,} streams open", "streams_get_on", on), ("no stream open", "streams_get_off", off)):
        if not res:
            continue
        c = cpu(name)
        per = f(c["svc"] * 1e6 / res["rps"], 0) if c and res.get("rps") else "–"
        w(
            f"| {label} | {f(res['rps'], 0)} | {f(res['p50_ms'], 2)} | {f(res['p99_ms'], 2)} | {res['errors']} | "
            f"{f(c['busy'], 2) if c else '–'} | {f(c['svc'], 2) if c else '–'} | {f(c['pg'], 2) if c else '–'} | {per} |"
        )
    w("")
    w(
        "Service memory (VmRSS sampled every 0.5 s, the phase's peak) and CPU (cores) over each step; memory per "
        "stream is (held − before) / streams."
    )
    w("")
    w("| step | peak VmRSS MB | VmHWM MB | busy | svc | pg | sim |")
    w("|---|---|---|---|---|---|---|")
    for p, label in (
        ("before", "before, idle"),
        ("open", f"opening {n:,} streams"),
        ("held", f"{n:,} open, quiet"),
        ("get_on", f"{n:,} open, GET load"),
        ("changes", f"{n:,} open, changes"),
        ("after", "after closing them, idle"),
    ):
        m, c = mem[p], cpu(f"streams_{p}")
        if m:
            cores = [f(c[k], 2) if c else "–" for k in ("busy", "svc", "pg", "sim")]
            w(f"| {label} | {f(m[0])} | {f(m[1])} | " + " | ".join(cores) + " |")
    w("")
    if per_stream_kb is not None:
        w(f"Memory per open stream: {f(per_stream_kb)} KB; the streams driver used {f(r.get('cpu_s'), 1)} s of CPU in all.")
        w("")


ONLY = meta.get("only") or None
D = meta.get("duration", "?")
out = []
w = out.append
w(f"# gtf-bff benchmarks, {meta.get('started_at')}" + (f" ({ONLY} only)" if ONLY else ""))
w("")
w(
    f"Machine: {meta.get('nproc')} × {meta.get('cpu_model')}, {meta.get('mem_total')}, Linux {meta.get('kernel')}; "
    f"load average at the start {meta.get('loadavg_start')}, at the end {meta.get('loadavg_end')}."
)
bg = cpu("background")
if bg:
    w(f"CPU busy before the run started anything: {bg['busy']:.2f} of {nproc} cores (other work on the machine).")
w(
    f"PostgreSQL {meta.get('pg_version')}, {meta.get('pg_where')} ({meta.get('pg_settings')}). "
    f"gtf-bff {meta.get('commit')}, release build; DB_MAX_CONNECTIONS={meta.get('db_max_connections')}, "
    "LOG_FORMAT=json, RUST_LOG=info (production's: a log line per request)."
    + (
        ""
        if ONLY
        else f" wrk {meta.get('wrk_version')}, 2 threads (1 for one connection), closed loop. "
        f"Each comparison alternates its loads in {meta.get('slices')} slices of {meta.get('slice')} s "
        f"({D} s per load, after a {meta.get('warmup')} s warm-up); req/s is over all slices, p50/p99 the "
        "median of the slices'."
    )
    + f" Everything shares the same {nproc} cores."
)
w("")


GOALS_AT = len(out)
goals = []


def goal(name, target, measured, ratio, ok):
    """One target: its limit, the measured value, and met or missed (None: no verdict)."""
    goals.append((name, target, measured, ratio, ok))


def goals_table():
    if not goals:
        return []
    rows = ["## Goals", "", "| goal | target | measured | ratio | |", "|---|---|---|---|---|"]
    for name, target, measured, ratio, ok in goals:
        rows.append(f"| {name} | {target} | {measured} | {ratio} | {verdict(ok) if ok is not None else '–'} |")
    return rows + [""]


def finish():
    out[GOALS_AT:GOALS_AT] = goals_table()
    if problems:
        w("## Invalid measurements")
        w("")
        for p in problems:
            w(f"- {p}")
        w("")
    if ONLY:
        w(f"Reproduce with `BENCH_ONLY={ONLY} bench/run` (finished {meta.get('finished_at')}).")
    else:
        met = sum(1 for g in goals if g[4])
        w(f"Goals met: {met} of {len(goals)}. Reproduce with `bench/run` (finished {meta.get('finished_at')}).")
    print("\n".join(out))
    sys.exit(3 if problems else 0)


if ONLY == "webhooks":
    webhooks()
    finish()
if ONLY == "streams":
    streams()
    finish()

get, healthz = wrk("get"), wrk("healthz")
create, direct, callback = wrk("create"), wrk("presign_direct"), wrk("callback")
create_1, direct_1 = wrk("create_1"), wrk("presign_direct_1")
pg_select, pg_update, pg_update_1 = pgbench("pg_select"), pgbench("pg_update"), pgbench("pg_update_1")
stampede, users = load_json("stampede.json"), load_json("users.json")
for name, r in (("stampede", stampede), ("users", users)):
    if not r:
        problems.append(f"{name}: no result")
    elif set(r["statuses"]) != {"201"}:
        problems.append(f"{name}: statuses {r['statuses']}")
stampede_mints = int(meta.get("stampede_mints", -1))
if stampede_mints != 1:
    problems.append(f"stampede: the simulator minted {stampede_mints} tokens for the user, not 1")


# --- Goals -----------------------------------------------------------------
# Every part of the run adds its targets with goal(); finish() prints them
# all in one table where GOALS_AT marks, above the parts' own tables.


def ratio_range(a, b):
    """The per-slice ratios' range: slice i of one load against slice i of the other."""
    pairs = [x / y for x, y in zip(a["per_slice_rps"], b["per_slice_rps"]) if x and y]
    return f" (slices {min(pairs):.0%}–{max(pairs):.0%})" if len(pairs) > 1 else ""


for name, ours, reference, target in [
    ("`GET /v1/kyc/submissions/{id}` throughput vs `pgbench -S`", get, pg_select, GOAL_GET_RATIO),
    ("`POST /coe/submissions-callback` throughput vs `pgbench -N`", callback, pg_update, GOAL_CALLBACK_RATIO),
]:
    if ours and reference and reference.get("rps"):
        r = ours["rps"] / reference["rps"]
        goal(
            name,
            f"≥ {target:.0%}",
            f"{f(ours['rps'], 0)} vs {f(reference['rps'], 0)} req/s",
            f"{r:.1%}{ratio_range(ours, reference)}",
            r >= target,
        )
for name, label, r, limit in [
    ("get", "`GET /v1/kyc/submissions/{id}`", get, GOAL_GET_CPU_US),
    ("healthz", "`GET /healthz` (the middleware floor)", healthz, GOAL_HEALTHZ_CPU_US),
]:
    c = cpu(name)
    if r and c and r.get("rps"):
        us = c["svc"] * 1e6 / r["rps"]
        goal(
            f"{label}: service CPU per request, {meta.get('get_conns')} connections",
            f"≤ {limit} µs",
            f"{us:.1f} µs ({f(r['rps'], 0)} req/s on {c['svc']:.2f} cores)",
            f"{us / limit:.2f}× the limit",
            us <= limit,
        )
if create_1 and direct_1:
    # One connection: on two cores a second one already queues (BENCHMARKS.md).
    d50 = create_1["p50_ms"] - direct_1["p50_ms"]
    d99 = create_1["p99_ms"] - direct_1["p99_ms"]
    goal(
        "`POST /v1/kyc/submissions`: latency added over presign, one connection, p50",
        f"≤ {GOAL_PRESIGN_P50_MS:g} ms",
        f"{f(d50, 2)} ms ({f(create_1['p50_ms'], 2)} − {f(direct_1['p50_ms'], 2)})",
        f"{d50 / GOAL_PRESIGN_P50_MS:.2f}× the limit",
        d50 <= GOAL_PRESIGN_P50_MS,
    )
    goal(
        "`POST /v1/kyc/submissions`: latency added over presign, one connection, p99",
        f"≤ {GOAL_PRESIGN_P99_MS:g} ms",
        f"{f(d99, 2)} ms ({f(create_1['p99_ms'], 2)} − {f(direct_1['p99_ms'], 2)})",
        f"{d99 / GOAL_PRESIGN_P99_MS:.2f}× the limit",
        d99 <= GOAL_PRESIGN_P99_MS,
    )
idle = rss("idle")
if idle:
    goal(
        "service RSS, idle",
        f"≤ {GOAL_RSS_IDLE_MB} MB",
        f"{f(idle[0])} MB",
        f"{idle[0] / GOAL_RSS_IDLE_MB:.2f}× the limit",
        idle[0] <= GOAL_RSS_IDLE_MB,
    )
load_phases = ["get", "create", "stampede", "users", "users_after", "callback"]
loaded = [(p, rss(p)) for p in load_phases if rss(p)]
if loaded:
    worst = max(loaded, key=lambda x: x[1][0])
    goal(
        "service RSS, peak under load",
        f"≤ {GOAL_RSS_LOAD_MB} MB",
        f"{f(worst[1][0])} MB ({worst[0]})",
        f"{worst[1][0] / GOAL_RSS_LOAD_MB:.2f}× the limit",
        worst[1][0] <= GOAL_RSS_LOAD_MB,
    )
goal(
    f"token manager: {meta.get('stampede')} concurrent first requests of one user",
    "1 mint",
    f"{stampede_mints} mint{'s' if stampede_mints != 1 else ''}",
    "–",
    stampede_mints == 1,
)

# --- Throughput ------------------------------------------------------------
w("## Throughput and latency")
w("")
w(
    "CPU columns are cores used over the load (from 1 s after its start to 1 s before its end): "
    "`svc` the service, `pg` the bench databases' PostgreSQL backends, `sim` the simulator, "
    "`rest` everything else (wrk or pgbench, and other work on the machine). "
    "µs/req is CPU time per request."
)
w("")
w("| load | conns | req/s | slices' req/s | p50 ms | p99 ms | errors | busy | svc | pg | sim | rest | svc µs/req | pg µs/req |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def row(label, name, conns, r):
    if not r:
        w(f"| {label} | {conns} | – | – | – | – | no result | | | | | | | |")
        return
    c = cpu(name)
    errors = r.get("errors", r.get("failed", 0))
    spread = f"{f(r['rps_min'], 0)}–{f(r['rps_max'], 0)}" if r.get("slices", 1) > 1 else ""
    cells = [label, str(conns), f(r.get("rps"), 0), spread, f(r.get("p50_ms"), 2), f(r.get("p99_ms"), 2), str(errors)]
    if c:
        rps = r.get("rps") or 0
        per = lambda cores: f(cores * 1e6 / rps, 0) if rps else "–"
        cells += [f(c["busy"], 2), f(c["svc"], 2), f(c["pg"], 2), f(c["sim"], 2), f(c["rest"], 2)]
        cells += [per(c["svc"]) if not (name.startswith("pg_") or name.startswith("presign_direct")) else "–", per(c["pg"])]
    else:
        cells += ["–"] * 7
    w("| " + " | ".join(cells) + " |")


gc, cc, pc = meta.get("get_conns"), meta.get("callback_conns"), meta.get("presign_conns")
row("`GET /v1/kyc/submissions/{id}`", "get", gc, get)
row("`GET /healthz`", "healthz", gc, healthz)
row(f"`pgbench -S -c {gc} -j 2` (select only)", "pg_select", gc, pg_select)
row("`POST /coe/submissions-callback`", "callback", cc, callback)
row(f"`pgbench -N -c {cc} -j 2` (simple update)", "pg_update", cc, pg_update)
row(f"`POST /v1/kyc/submissions` ({meta.get('presign_users')} users, tokens cached)", "create", pc, create)
row("simulator presign, direct (`GET /coe/v1/submissions/urls`)", "presign_direct", pc, direct)
row("`POST /v1/kyc/submissions`, one connection", "create_1", 1, create_1)
row("simulator presign, direct, one connection", "presign_direct_1", 1, direct_1)
row("`pgbench -N -c 1` (one client's durable writes)", "pg_update_1", 1, pg_update_1)
w("")
w(
    f"pgbench: scale {meta.get('pgbench_scale')}, its own database on the same server, default (simple) "
    "protocol; p50/p99 from a 5 % sample of its per-transaction log. wrk latencies are from `wrk --latency`, which "
    "corrects for coordinated omission (a stall also counts the requests a steady client would have sent meanwhile); "
    "pgbench's are not corrected."
)
if create and direct and pc and create.get("rps"):
    w(
        f"At {pc} connections the service adds {f(create['p50_ms'] - direct['p50_ms'], 2)} ms at p50 and "
        f"{f(create['p99_ms'] - direct['p99_ms'], 2)} ms at p99 over the direct call, with both cores busy: "
        f"by Little's law a request spends {pc} / {f(create['rps'], 0)} req/s = "
        f"{f(int(pc) / create['rps'] * 1000, 2)} ms in the service on average, mostly waiting for a core, so "
        "these figures measure what a create costs rather than its latency (the goal is judged at one connection)."
    )
if create_1:
    w(
        f"At one connection the create's p99 per slice: {', '.join(f(x, 2) for x in create_1['per_slice_p99'])} ms "
        f"(the longest request: {f(create_1['max_ms'], 1)} ms)."
    )
if pg_update_1 and pg_update_1.get("p50_ms") is not None:
    w(
        f"One client's durable write transaction (`pgbench -N -c 1`, every transaction logged) takes "
        f"{f(pg_update_1['p50_ms'], 2)} ms at p50 and {f(pg_update_1['p99_ms'], 2)} ms at p99; "
        f"{pg_update_1['over_10ms']:,} of {pg_update_1['samples']:,} took over 10 ms, the longest "
        f"{f(pg_update_1['max_ms'], 1)} ms"
        + (
            f"; corrected for coordinated omission as wrk corrects the create's, its p99 is "
            f"{f(pg_update_1['p99_corrected_ms'], 2)} ms (the median of the slices'): the disk's flush stalls, "
            "which every durable create waits for."
            if pg_update_1.get("p99_corrected_ms") is not None
            else "."
        )
    )
w("")

# --- What-if ------------------------------------------------------------------
whatif = [
    ("pg_whatif_before_pool", "before: ping, BEGIN, 2 INSERTs, COMMIT, ping", meta.get("db_max_connections")),
    ("pg_whatif_one_pool", "now: one statement (CTE), ping on release only", meta.get("db_max_connections")),
    ("pg_whatif_before_1", "before", 1),
    ("pg_whatif_one_1", "now", 1),
    ("pg_whatif_one_async_1", "now, with `synchronous_commit=off` (not adopted)", 1),
]
rows_whatif = [(label, name, conns, pgbench(name)) for name, label, conns in whatif]
if any(r for *_, r in rows_whatif):
    w("## What-if: the create path's database work")
    w("")
    w(
        "The rows `POST /v1/kyc/submissions` writes, replayed by pgbench (`bench/sql/`, prepared statements) "
        "against the service's schema in the bench database, with as many clients as the service's pool, and one. "
        "Not the service: what its database work costs written each way."
    )
    w("")
    w("| database work | clients | tx/s | p50 ms | p99 ms | errors | pg µs/tx |")
    w("|---|---|---|---|---|---|---|")
    for label, name, conns, r in rows_whatif:
        if not r:
            continue
        c = cpu(name)
        per = f(c["pg"] * 1e6 / r["rps"], 0) if c and r.get("rps") else "–"
        w(f"| {label} | {conns} | {f(r['rps'], 0)} | {f(r['p50_ms'], 2)} | {f(r['p99_ms'], 2)} | {r['errors']} | {per} |")
    w("")

# --- Token manager -----------------------------------------------------------
w("## Token manager")
w("")
w("| load | requests | statuses | wall s | req/s | p50 ms | p99 ms | GTF mints | service RSS after |")
w("|---|---|---|---|---|---|---|---|---|")
if stampede:
    st = rss("stampede")
    w(
        f"| {meta.get('stampede')} concurrent first requests of one new user | {stampede['requests']} | "
        f"{statuses(stampede['statuses'])} | {f(stampede['wall_s'], 2)} | {f(stampede['rps'], 0)} | {f(stampede['p50_ms'], 1)} | "
        f"{f(stampede['p99_ms'], 1)} | {stampede_mints} | {f(st[0]) + ' MB' if st else '–'} |"
    )
if users:
    ua = rss("users_after")
    w(
        f"| {meta.get('users')} distinct users, one submission each ({meta.get('users_concurrency')} connections) | "
        f"{users['requests']} | {statuses(users['statuses'])} | {f(users['wall_s'], 2)} | {f(users['rps'], 0)} | "
        f"{f(users['p50_ms'], 1)} | {f(users['p99_ms'], 1)} | {meta.get('users_minted')} users, at most "
        f"{meta.get('users_max_mints')} each | {f(ua[0]) + ' MB' if ua else '–'} |"
    )
w("")

# --- Memory ----------------------------------------------------------------
w("## Service memory")
w("")
w("VmRSS sampled every 0.5 s during each phase (peak shown), and VmHWM (the process's peak so far) by its end.")
w("")
w("| phase | peak VmRSS MB | VmHWM MB |")
w("|---|---|---|")
for p, label in [
    ("idle", "idle, after start"),
    ("get", "GET load"),
    ("create", "POST /v1/kyc/submissions load"),
    ("stampede", "stampede"),
    ("users", f"{meta.get('users')} users"),
    ("users_after", f"after {meta.get('users')} users (idle)"),
    ("callback", "callback load"),
]:
    m = rss(p)
    if m:
        w(f"| {label} | {f(m[0])} | {f(m[1])} |")
w("")
if meta.get("sim_rss_mb"):
    w(f"The service's simulator after the presign comparisons: {meta['sim_rss_mb']} MB resident.")
    w("")
if meta.get("inbox_rows"):
    w(f"Callback inbox rows at the end: {int(meta['inbox_rows']):,}.")
    w("")

webhooks()
streams()
finish()
