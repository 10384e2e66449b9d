-- Shared by every wrk script: at the end of a run, one line of JSON that
-- bench/run picks up (latencies in milliseconds). wrk's own --latency
-- output is printed above it for people.
function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.3f, "rps": %.1f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, ' ..
    '"non2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    e.status, e.connect, e.read, e.write, e.timeout))
end
