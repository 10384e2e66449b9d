# shellcheck shell=bash
# bench/streams.bash: live event streams, a section of bench/run and the
# whole of a BENCH_ONLY=streams run. Sourced by bench/run: it uses its
# helpers, its configuration and its clean-up.
#
# The service of the sections before is stopped and a fresh one starts on
# its own database, with room for BENCH_STREAMS streams and their
# connections (SSE_MAX_STREAMS, HTTP_MAX_CONNECTIONS, and the open files of
# this shell, which the service and the driver inherit). The simulator
# restarts without callbacks and the reconciler is held off, so that no
# submission settles (which would end its streams) and the only changes are
# the confirms driven here. bench/streams.py holds the streams:
#
#   before   the service idle: its RSS; a GET slice (wrk, bench/lua/get.lua,
#            GET_CONNS connections) with no stream open
#   open     BENCH_STREAMS streams, BENCH_STREAMS_PER_SUBMISSION on each
#            submission, each submission its own user's (within
#            SSE_MAX_STREAMS_PER_USER); each must answer 200 and send the
#            submission at once
#   held     all of them open and quiet: the RSS; a GET slice
#   changes  BENCH_STREAM_CHANGE_RATE confirms a second for
#            BENCH_STREAM_CHANGE_SECS s (open loop): each change's commit
#            to its event on each of its submission's streams
#   after    every stream closed by the driver, which counts those that had
#            ended before (none should); the RSS; a second GET slice
#            without streams

ST_STREAMS=${BENCH_STREAMS:-10000}
ST_PER_SUB=${BENCH_STREAMS_PER_SUBMISSION:-5}
ST_RATE=${BENCH_STREAM_CHANGE_RATE:-50}
ST_SECS=${BENCH_STREAM_CHANGE_SECS:-20}
ST_CONNS=16
st_subs=$(((ST_STREAMS + ST_PER_SUB - 1) / ST_PER_SUB))
((st_subs >= ST_RATE * ST_SECS)) || die "streams: $st_subs submissions are fewer than the $((ST_RATE * ST_SECS)) changes"
{
  echo "streams=$ST_STREAMS"
  echo "streams_per_submission=$ST_PER_SUB"
  echo "streams_submissions=$st_subs"
  echo "stream_change_rate=$ST_RATE"
  echo "stream_change_secs=$ST_SECS"
  echo "stream_change_conns=$ST_CONNS"
} >>"$work/meta.env"

# Every stream is a connection of the service and one of the driver.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > ST_STREAMS + 1000)) || die "streams: $(ulimit -n) open files are too few for $ST_STREAMS streams"

log "streams: a fresh service on $STREAMS_DB for $ST_STREAMS streams"
stop_pid "$svc_pid" 10
svc_pid=""
stop_pid "$sim_pid" 5
start_sim SIM_CALLBACK_URL=
start_service "DATABASE_URL=$streams_url" RECONCILE_AFTER_SECS=86400 \
  "SSE_MAX_STREAMS=$((ST_STREAMS + 100))" "HTTP_MAX_CONNECTIONS=$((ST_STREAMS + 1000))"

# One more user and submission: the one the GET slices read, never streamed.
log "streams: $((st_subs + 1)) submissions created and uploaded, one user each"
py jwts --secret "$jwt_secret" --prefix bench-st- --count $((st_subs + 1)) --out "$work/streams_users.jwt" >/dev/null
py submissions --url "$bff" --jwts "$work/streams_users.jwt" --count $((st_subs + 1)) --concurrency 32 \
  --out "$work/streams_all.submissions" >"$work/streams_prepare.json"
[[ $(wc -l <"$work/streams_all.submissions") == $((st_subs + 1)) ]] ||
  die "streams: not every submission was created and uploaded: $(cat "$work/streams_prepare.json")"
head -n "$st_subs" "$work/streams_all.submissions" >"$work/streams.submissions"
read -r st_get_id BENCH_JWT < <(tail -n 1 "$work/streams_all.submissions")
export BENCH_PATH=/v1/kyc/submissions/$st_get_id BENCH_JWT

sleep 2
phase_begin streams_before
sleep 3
phase_end streams_before
log "streams: GET at $GET_CONNS connections, no stream open (${SLICE} s)"
wrk_warmup streams_get "$GET_CONNS" get.lua "$bff"
wrk_slice streams_get_off.1 "$GET_CONNS" get.lua "$bff"

st_state=$work/streams.state
st_wait() { # word seconds: until the driver has written word to its state
  local deadline=$((SECONDS + $2))
  until grep -qx "$1" "$st_state" 2>/dev/null; do
    kill -0 "$st_pid" 2>/dev/null || { cat "$work/streams.log" >&2; die "streams: the driver exited"; }
    ((SECONDS < deadline)) || die "streams: the driver did not reach '$1' in $2 s"
    sleep 0.2
  done
}
log "streams: opening $ST_STREAMS streams on $st_subs submissions"
phase_begin streams_open
"$PYTHON" "$BENCH_DIR/streams.py" --url "$bff" --submissions "$work/streams.submissions" --streams "$ST_STREAMS" \
  --state "$st_state" --rate "$ST_RATE" --secs "$ST_SECS" --concurrency "$ST_CONNS" --work "$work" \
  >"$work/streams.json" 2>"$work/streams.log" &
st_pid=$!
st_wait opened 300
phase_end streams_open
sleep 2
phase_begin streams_held
sleep 3
phase_end streams_held
log "streams: GET at $GET_CONNS connections, $ST_STREAMS streams open (${SLICE} s)"
wrk_slice streams_get_on.1 "$GET_CONNS" get.lua "$bff"

log "streams: $ST_RATE changes a second for $ST_SECS s"
phase_begin streams_changes
kill -USR1 "$st_pid"
st_wait changed $((ST_SECS + 60))
phase_end streams_changes

kill -USR2 "$st_pid"
wait "$st_pid" || { cat "$work/streams.log" >&2; die "streams: the driver failed"; }
st_pid=""
sleep 2
phase_begin streams_after
sleep 3
phase_end streams_after
log "streams: GET at $GET_CONNS connections, every stream closed (${SLICE} s)"
wrk_slice streams_get_off.2 "$GET_CONNS" get.lua "$bff"
