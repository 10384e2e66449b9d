-- The simulator's presign endpoint called directly, as the service calls it:
-- GET /coe/v1/submissions/urls?submissionType=KTP_SCAN with a user token
-- (BENCH_GTF_TOKENS, space-separated, minted beforehand), a fresh partner
-- session id per request (the service uses a new submission id for each)
-- and an SDK session id.
dofile(os.getenv("BENCH_DIR") .. "/lua/report.lua")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

local tokens, n, i, counter = {}, 0, 0, 0
local run_id = os.getenv("BENCH_RUN_ID")

function init(args)
  for token in string.gmatch(os.getenv("BENCH_GTF_TOKENS"), "%S+") do
    n = n + 1
    tokens[n] = token
  end
end

function request()
  i = i % n + 1
  counter = counter + 1
  local session = string.format("bench-%s-%d-%d", run_id, thread_no, counter)
  return wrk.format("GET", "/coe/v1/submissions/urls?submissionType=KTP_SCAN", {
    ["x-onekyc-token"] = tokens[i],
    ["x-partner-session-id"] = session,
    ["x-sdk-session-id"] = session,
  })
end
