-- GET /healthz: no JWT, no database; what every request pays for the
-- server, the middleware, its log line and its metrics.
dofile(os.getenv("BENCH_DIR") .. "/lua/report.lua")

wrk.method = "GET"
wrk.path = "/healthz"
