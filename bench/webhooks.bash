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
# driven here: one kyc.submission.processing event each, and a delivery of
# it to each endpoint (one, but for the outage).
#
#   burst   BENCH_WEBHOOK_EVENTS submissions created and uploaded first
#           (no event), then confirmed as fast as 32 connections go:
#           deliveries per second, from the receiver's first arrival to its
#           last
#   steady  BENCH_WEBHOOK_RATE confirms a second for BENCH_WEBHOOK_SECS s
#           (open loop): each event's commit to its arrival
#   outage  the receiver answers 503 while BENCH_WEBHOOK_RESEND deliveries
#           are made (confirms to BENCH_WEBHOOK_ENDPOINTS endpoints); then
#           SQL marks them failed, as if out of attempts (setup, not
#           measured)
#   resend  the operator's POST /ops/v1/webhooks/resend-failed: how fast
#           the sender works off that backlog, from the first arrival to
#           the last and from the resend's answer to the last
#
# Each phase ends when no delivery is pending; the receiver's record of it
# is then cut (SIGUSR1) and checked against the database: unique
# webhook-ids (per endpoint in the resend), duplicates, missing, and the
# signatures of its first 100.

WH_EVENTS=${BENCH_WEBHOOK_EVENTS:-10000}
WH_RATE=${BENCH_WEBHOOK_RATE:-100}
WH_SECS=${BENCH_WEBHOOK_SECS:-30}
WH_RESEND=${BENCH_WEBHOOK_RESEND:-100000}
WH_ENDPOINTS=${BENCH_WEBHOOK_ENDPOINTS:-8}
WH_CONNS=32
WH_STEADY_CONNS=16
WH_USERS=32
wh_steady=$((WH_RATE * WH_SECS))
wh_outage=$(((WH_RESEND + WH_ENDPOINTS - 1) / WH_ENDPOINTS))
wh_total=$((WH_EVENTS + wh_steady + wh_outage))
{
  echo "webhook_events=$WH_EVENTS"
  echo "webhook_rate=$WH_RATE"
  echo "webhook_secs=$WH_SECS"
  echo "webhook_conns=$WH_CONNS"
  echo "webhook_steady_conns=$WH_STEADY_CONNS"
  echo "webhook_endpoints=$WH_ENDPOINTS"
  echo "webhook_outage_confirms=$wh_outage"
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
metrics_port=$(free_port "${BENCH_WEBHOOK_METRICS_PORT:-18091}")
start_webhook_service() { # WEBHOOK_URLS: with this part's database, secret and metrics port
  start_service "DATABASE_URL=$webhook_url" "WEBHOOK_URLS=$1" "WEBHOOK_SECRET=$webhook_secret" \
    "METRICS_LISTEN_ADDR=127.0.0.1:$metrics_port" RECONCILE_AFTER_SECS=86400
}
start_webhook_service "http://127.0.0.1:$rcv_port/"

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
  curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$work/$1.metrics" || die "GET /metrics failed"
  psql_wh -F ' ' -c "SELECT autoanalyze_count, coalesce(extract(epoch FROM last_autoanalyze), 0)
                     FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries'" >"$work/$1.analyzed"
}

log "webhooks: $wh_total submissions created and uploaded ($WH_CONNS connections)"
py jwts --secret "$jwt_secret" --prefix bench-wh- --count "$WH_USERS" --out "$work/webhook_users.jwt" >/dev/null
py submissions --url "$bff" --jwts "$work/webhook_users.jwt" --count "$wh_total" \
  --concurrency "$WH_CONNS" --out "$work/webhook_submissions" >"$work/webhook_prepare.json"
[[ $(wc -l <"$work/webhook_submissions") == "$wh_total" ]] ||
  die "webhooks: not every submission was created and uploaded: $(cat "$work/webhook_prepare.json")"
head -n "$WH_EVENTS" "$work/webhook_submissions" >"$work/webhook_burst.submissions"
sed -n "$((WH_EVENTS + 1)),$((WH_EVENTS + wh_steady))p" "$work/webhook_submissions" >"$work/webhook_steady.submissions"
tail -n "$wh_outage" "$work/webhook_submissions" >"$work/webhook_outage.submissions"

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

# An outage and the operator's resend. The receiver answers 503 and a
# service with BENCH_WEBHOOK_ENDPOINTS endpoints (paths on the receiver:
# each event is a delivery to each) takes BENCH_WEBHOOK_RESEND / that many
# confirms; its sender attempts what it can and schedules the retries. Once
# every delivery has had an attempt (a minute at most), the service stops
# and SQL marks every pending delivery failed, as if each had run out of
# attempts (the schedule's last retry is ~32 h away). The receiver recovers,
# the service starts again, and an operator resends them all through
# POST /ops/v1/webhooks/resend-failed, which also NOTIFYs the senders.
outage_urls=$(for i in $(seq 1 "$WH_ENDPOINTS"); do printf 'http://127.0.0.1:%s/e%s,' "$rcv_port" "$i"; done)
log "webhooks: outage: the receiver answers 503; $wh_outage confirms to $WH_ENDPOINTS endpoints"
stop_pid "$svc_pid" 10
svc_pid=""
kill -USR2 "$rcv_pid"
start_webhook_service "${outage_urls%,}"
outage_since=$(psql_wh -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
phase_begin webhook_outage
py confirm --url "$bff" --submissions "$work/webhook_outage.submissions" --concurrency "$WH_CONNS" \
  --out "$work/webhook_outage.confirms" >"$work/webhook_outage.confirm.json"
deadline=$((SECONDS + 60))
until [[ $(psql_wh -c "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts = 0") == 0 ]] ||
  ((SECONDS >= deadline)); do sleep 0.5; done
phase_end webhook_outage
stop_pid "$svc_pid" 20
svc_pid=""
psql_wh -F ' ' -c "WITH f AS (UPDATE webhook_deliveries SET status = 'failed', finished_at = now(), lease_until = NULL
                               WHERE status = 'pending' RETURNING attempts, last_response_status)
                   SELECT count(*), count(*) FILTER (WHERE attempts = 0), count(*) FILTER (WHERE attempts = 1),
                          count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE last_response_status = 503)
                   FROM f" |
  { read -r n none one more unavailable
    echo "webhook_failed=$n"; echo "webhook_failed_unattempted=$none"; echo "webhook_failed_once=$one"
    echo "webhook_failed_more=$more"; echo "webhook_failed_503=$unavailable"; } >>"$work/meta.env"
psql_wh -F ' ' -c "SELECT substring(d.endpoint FROM '^https?://[^/]+(/.*)$') || '#' || e.id,
                          extract(epoch FROM e.created_at), e.submission_id
                   FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
                   WHERE d.status = 'failed'" >"$work/webhook_resend.expected"
kill -USR2 "$rcv_pid"
receiver_cut webhook_outage

log "webhooks: resend: POST /ops/v1/webhooks/resend-failed, $(wc -l <"$work/webhook_resend.expected") failed since $outage_since"
start_webhook_service "${outage_urls%,}"
ops_jwt=$(gtf_bff token --sub bench-ops --scope kyc:admin)
scrape webhook_resend.before
phase_begin webhook_resend
sample_begin webhook_resend
date +%s.%N >"$work/webhook_resend.sent_at"
curl -fsS -X POST -H "Authorization: Bearer $ops_jwt" -H "Content-Type: application/json" \
  -d "{\"since\": \"$outage_since\"}" "$bff/ops/v1/webhooks/resend-failed" >"$work/webhook_resend.answer" ||
  die "webhooks: the resend failed"
date +%s.%N >"$work/webhook_resend.resent_at"
wait_delivered webhook_resend
phase_end webhook_resend
scrape webhook_resend.after
receiver_cut webhook_resend
echo "webhook_unsucceeded=$(psql_wh -c "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")" >>"$work/meta.env"
stop_pid "$rcv_pid" 5
rcv_pid=""

for phase in burst steady resend; do
  if [[ $phase == resend ]]; then
    args=(--by-endpoint --events "$work/webhook_resend.expected" --start "$(cat "$work/webhook_resend.resent_at")")
  else
    args=(--events "$work/webhook_events" --confirms "$work/webhook_$phase.confirms")
  fi
  py deliveries --received "$work/webhook_$phase.received" "${args[@]}" >"$work/webhook_$phase.json"
  py verify --secret "$webhook_secret" --received "$work/webhook_$phase.received" >"$work/webhook_$phase.verify.json"
  py outbox "$work/webhook_$phase.samples" >"$work/webhook_$phase.outbox.json"
done
# The outage's attempts, each answered 503: deliveries attempted, and retries.
py deliveries --received "$work/webhook_outage.received" --by-endpoint --events "$work/webhook_resend.expected" \
  >"$work/webhook_outage.json"
