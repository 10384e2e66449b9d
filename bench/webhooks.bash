# shellcheck shell=bash
# bench/webhooks.bash: webhook delivery, the last section of bench/run and
# the whole of a BENCH_ONLY=webhooks run. Sourced by bench/run: it uses its
# helpers, its configuration and its clean-up.
#
# The service of the sections before is stopped (its callback inbox would
# still be verifying in the background) and a fresh one starts on its own
# database, with WEBHOOK_URLS pointing at bench/receiver.py on 127.0.0.1
# and a generated WEBHOOK_SECRET. The simulator restarts without callbacks
# and the reconciler is held off, so the only changes are the confirms
# driven here: one kyc.submission.processing event each, one delivery each.
#
#   burst   BENCH_WEBHOOK_EVENTS submissions created and uploaded first
#           (no event), then confirmed as fast as 32 connections go:
#           deliveries per second, from the receiver's first arrival to its
#           last
#   steady  BENCH_WEBHOOK_RATE confirms a second for BENCH_WEBHOOK_SECS s
#           (open loop): each event's commit to its arrival
#   drain   every delivery so far marked failed, then set back to pending
#           in one transaction, by SQL standing in for an operator's resend:
#           how fast the sender works off a backlog; then again with an
#           ANALYZE in that transaction (what the planner's statistics cost)
#
# Each phase ends when no delivery is pending; the receiver's record of it
# is then cut (SIGUSR1) and checked against webhook_events: unique
# webhook-ids, duplicates, missing, and the signatures of its first 100.

WH_EVENTS=${BENCH_WEBHOOK_EVENTS:-10000}
WH_RATE=${BENCH_WEBHOOK_RATE:-100}
WH_SECS=${BENCH_WEBHOOK_SECS:-30}
WH_CONNS=32
WH_STEADY_CONNS=16
WH_USERS=32
wh_steady=$((WH_RATE * WH_SECS))
{
  echo "webhook_events=$WH_EVENTS"
  echo "webhook_rate=$WH_RATE"
  echo "webhook_secs=$WH_SECS"
  echo "webhook_conns=$WH_CONNS"
  echo "webhook_steady_conns=$WH_STEADY_CONNS"
} >>"$work/meta.env"

psql_wh() { "$PGBIN/psql" "$webhook_url" -X -v ON_ERROR_STOP=1 -qAt "$@"; }

# The receiver first: the service's first attempt must find it.
rcv_port=$(free_port "${BENCH_RECEIVER_PORT:-18090}")
"$PYTHON" "$BENCH_DIR/receiver.py" --addr "127.0.0.1:$rcv_port" --out "$work/received" >"$work/receiver.log" 2>&1 &
rcv_pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/receiver.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/receiver.log" || { cat "$work/receiver.log" >&2; die "the receiver did not start"; }
rcv_cuts=0
receiver_cut() { # name: what the receiver got since the last cut, into name.received
  rcv_cuts=$((rcv_cuts + 1))
  kill -USR1 "$rcv_pid"
  for _ in $(seq 1 100); do [[ -e $work/received.$rcv_cuts ]] && break; sleep 0.1; done
  mv "$work/received.$rcv_cuts" "$work/$1.received" 2>/dev/null || die "the receiver wrote nothing for $1"
}

log "webhooks: a fresh service on $WEBHOOK_DB, sending to bench/receiver.py on 127.0.0.1:$rcv_port"
stop_pid "$svc_pid" 10
svc_pid=""
stop_pid "$sim_pid" 5
start_sim SIM_CALLBACK_URL=
webhook_secret=whsec_$(head -c 32 /dev/urandom | base64)
start_service "DATABASE_URL=$webhook_url" "WEBHOOK_URLS=http://127.0.0.1:$rcv_port/" \
  "WEBHOOK_SECRET=$webhook_secret" RECONCILE_AFTER_SECS=86400

# The outbox every 0.1 s while a phase runs, from one connection: deliveries
# pending, those leased (in the sender's slots), and the service's backends
# that are not idle, with what each active one waits for (CPU: nothing).
sample_begin() { # name: into name.samples
  "$PGBIN/psql" "$webhook_url" -X -qAt -F ' ' >"$work/$1.samples" 2>&1 <<'EOF' &
SELECT extract(epoch FROM clock_timestamp()),
  (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),
  (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND lease_until > now()),
  (SELECT count(*) FROM pg_stat_activity
   WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()),
  (SELECT coalesce(string_agg(coalesce(wait_event_type || ':' || wait_event, 'CPU'), ','), '-')
   FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid())
\watch 0.1
EOF
  sampler_pid=$!
}
# name: until a sample taken after the call sees no delivery pending (5
# minutes at most); then the sampler stops. The second sample after the
# call is the first whose query surely started after it.
wait_delivered() {
  local seen pending deadline=$((SECONDS + 300))
  seen=$(wc -l <"$work/$1.samples")
  while ((SECONDS < deadline)); do
    kill -0 "$sampler_pid" 2>/dev/null || { cat "$work/$1.samples" >&2; die "$1: the outbox sampler stopped"; }
    if (($(wc -l <"$work/$1.samples") > seen + 1)); then
      read -r _ pending _ < <(tail -n 1 "$work/$1.samples")
      if [[ $pending == 0 ]]; then
        stop_pid "$sampler_pid" 5
        sampler_pid=""
        return 0
      fi
    fi
    sleep 0.1
  done
  die "$1: deliveries still pending after 5 minutes"
}
# name: the sender's metrics, and when autovacuum last analyzed the
# deliveries (the claim's plan follows those statistics).
scrape() {
  curl -fsS "$bff/metrics" >"$work/$1.metrics" || die "GET /metrics failed"
  psql_wh -F ' ' -c "SELECT autoanalyze_count, coalesce(extract(epoch FROM last_autoanalyze), 0)
                     FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries'" >"$work/$1.analyzed"
}

log "webhooks: $((WH_EVENTS + wh_steady)) submissions created and uploaded ($WH_CONNS connections)"
py jwts --secret "$jwt_secret" --prefix bench-wh- --count "$WH_USERS" --out "$work/webhook_users.jwt" >/dev/null
py submissions --url "$bff" --jwts "$work/webhook_users.jwt" --count $((WH_EVENTS + wh_steady)) \
  --concurrency "$WH_CONNS" --out "$work/webhook_submissions" >"$work/webhook_prepare.json"
[[ $(wc -l <"$work/webhook_submissions") == $((WH_EVENTS + wh_steady)) ]] ||
  die "webhooks: not every submission was created and uploaded: $(cat "$work/webhook_prepare.json")"
head -n "$WH_EVENTS" "$work/webhook_submissions" >"$work/webhook_burst.submissions"
tail -n +$((WH_EVENTS + 1)) "$work/webhook_submissions" >"$work/webhook_steady.submissions"

# What a change's commit can reach on this disk: one durable INSERT per
# transaction at the burst's concurrency, with and without a NOTIFY
# (bench/sql/commit*.sql), in pgbench's database; one slice of each just
# before the burst and one just after, as the disk's speed varies.
"$PGBIN/psql" "$pgbench_url" -X -qc "CREATE TABLE bench_commits (id bigserial PRIMARY KEY, at timestamptz NOT NULL)"
commit_slices() { # i
  pgbench_slice "pg_commit.$1" -n -M prepared -c "$WH_CONNS" -j 2 -f "$BENCH_DIR/sql/commit.sql"
  pgbench_slice "pg_commit_notify.$1" -n -M prepared -c "$WH_CONNS" -j 2 -f "$BENCH_DIR/sql/commit-notify.sql"
}
log "webhooks: commits with and without NOTIFY, pgbench -c $WH_CONNS, ${SLICE} s each, before and after the burst"
commit_slices 1
sleep 1

log "webhooks: burst: $WH_EVENTS confirms at $WH_CONNS connections"
scrape webhook_burst.before
phase_begin webhook_burst
sample_begin webhook_burst
py confirm --url "$bff" --submissions "$work/webhook_burst.submissions" --concurrency "$WH_CONNS" \
  --out "$work/webhook_burst.confirms" >"$work/webhook_burst.confirm.json"
wait_delivered webhook_burst
phase_end webhook_burst
scrape webhook_burst.after
receiver_cut webhook_burst
commit_slices 2
sleep 2

log "webhooks: steady: $WH_RATE confirms a second for $WH_SECS s"
scrape webhook_steady.before
phase_begin webhook_steady
sample_begin webhook_steady
py confirm --url "$bff" --submissions "$work/webhook_steady.submissions" --concurrency "$WH_STEADY_CONNS" \
  --rate "$WH_RATE" --out "$work/webhook_steady.confirms" >"$work/webhook_steady.confirm.json"
wait_delivered webhook_steady
phase_end webhook_steady
scrape webhook_steady.after
receiver_cut webhook_steady
psql_wh -F ' ' -c "SELECT id, extract(epoch FROM created_at), submission_id FROM webhook_events" >"$work/webhook_events"

# A resend drain: every delivery failed, as if each had run out of
# attempts; then the resend, with the NOTIFY the outbox sends on commit, so
# that the sender starts at once rather than on its next poll. With
# "analyze", the resend's transaction also runs ANALYZE on the deliveries
# (a what-if, not what the service does: fresh statistics for the claim).
drain() { # name [analyze]
  local failed analyze=()
  [[ ${2:-} == analyze ]] && analyze=(-c "ANALYZE webhook_deliveries")
  failed=$(psql_wh -c "WITH f AS (UPDATE webhook_deliveries SET status = 'failed', finished_at = now()
                                  WHERE status = 'succeeded' RETURNING 1) SELECT count(*) FROM f")
  sleep 2
  log "webhooks: resend drain: $failed failed deliveries set back to pending at once${2:+ (and ANALYZE)}"
  scrape "$1.before"
  phase_begin "$1"
  sample_begin "$1"
  psql_wh -c "BEGIN" \
    -c "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),
          lease_until = NULL, finished_at = NULL WHERE status = 'failed'" \
    "${analyze[@]}" -c "SELECT pg_notify('webhooks_due', '')" \
    -c "SELECT extract(epoch FROM clock_timestamp())" -c "COMMIT" | tail -n 1 >"$work/$1.resent_at"
  wait_delivered "$1"
  phase_end "$1"
  scrape "$1.after"
  receiver_cut "$1"
  echo "${1}_resent=$failed" >>"$work/meta.env"
}
drain webhook_drain
drain webhook_drain_analyzed analyze
echo "webhook_unsucceeded=$(psql_wh -c "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")" >>"$work/meta.env"
stop_pid "$rcv_pid" 5
rcv_pid=""

for phase in burst steady drain drain_analyzed; do
  if [[ $phase == drain* ]]; then
    args=(--start "$(cat "$work/webhook_$phase.resent_at")")
  else
    args=(--confirms "$work/webhook_$phase.confirms")
  fi
  py deliveries --received "$work/webhook_$phase.received" --events "$work/webhook_events" "${args[@]}" \
    >"$work/webhook_$phase.json"
  py verify --secret "$webhook_secret" --received "$work/webhook_$phase.received" >"$work/webhook_$phase.verify.json"
  py outbox "$work/webhook_$phase.samples" >"$work/webhook_$phase.outbox.json"
done
