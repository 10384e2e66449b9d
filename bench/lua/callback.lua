-- POST /coe/submissions-callback: every request a new submissionId (run id,
-- thread number, counter), so that each one is an insert into the inbox and
-- never a duplicate. BENCH_RUN_ID: unique per wrk invocation;
-- BENCH_CALLBACK_TOKEN: the bearer secret of CALLBACK_AUTH.
dofile(os.getenv("BENCH_DIR") .. "/lua/report.lua")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

local run_id = os.getenv("BENCH_RUN_ID")
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("BENCH_CALLBACK_TOKEN"),
  ["Content-Type"] = "application/json",
}
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"submissionId":"bench-%s-%d-%d","status":"COMPLETED","result":"VALID","reasonCode":null}',
    run_id, thread_no, counter)
  return wrk.format("POST", "/coe/submissions-callback", headers, body)
end
