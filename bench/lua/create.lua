-- POST /v1/kyc/submissions with no body: a handful of users (BENCH_JWTS,
-- space-separated), whose GTF tokens the service has cached before the
-- measured run, in turn. Requests are built once, in init.
dofile(os.getenv("BENCH_DIR") .. "/lua/report.lua")

local requests, n, i = {}, 0, 0

function init(args)
  for jwt in string.gmatch(os.getenv("BENCH_JWTS"), "%S+") do
    n = n + 1
    requests[n] = wrk.format("POST", "/v1/kyc/submissions",
      { ["Authorization"] = "Bearer " .. jwt, ["Content-Length"] = "0" })
  end
end

function request()
  i = i % n + 1
  return requests[i]
end
