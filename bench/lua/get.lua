-- GET /v1/kyc/submissions/{id}: the same submission, read again and again
-- by its owner (JWT check + one indexed read). One static request.
-- BENCH_PATH: /v1/kyc/submissions/<id>; BENCH_JWT: its owner's JWT.
dofile(os.getenv("BENCH_DIR") .. "/lua/report.lua")

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_JWT")
