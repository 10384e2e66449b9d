# shellcheck shell=bash
# bench/env.bash: the environment every process a benchmark starts runs in,
# shared by bench/run and bench/profile. Sourced; needs ROOT (the checkout).
#
#   bench_env VAR=value...   sets the array svc_env: run "${svc_env[@]}" cmd
#
# The environment is clean (env -i) and every variable .env.example names
# is set, blank unless given: nothing of the caller's configuration leaks
# in. Run the processes in a working directory without a .env, since the
# service reads one from its working directory. The settings shared by
# every benchmark come first; the arguments add to them or override them.
bench_env() {
  svc_env=(env -i "PATH=$PATH" "HOME=${HOME:-/root}")
  local var
  while read -r var; do svc_env+=("$var="); done < <(grep -oE '^#? ?[A-Z][A-Z0-9_]*=' "$ROOT/.env.example" | tr -d '# =' | sort -u)
  svc_env+=(
    # Not scraped; any free port.
    "METRICS_LISTEN_ADDR=127.0.0.1:0"
    "BFF_DATA_KEY=$(head -c 32 /dev/urandom | base64)"
    "RATE_LIMIT_PER_MINUTE=100000000"
    # Production's logging: a JSON line per request.
    "LOG_FORMAT=json"
    "RUST_LOG=info"
    "SIM_PROCESSING_MS=50"
    "$@"
  )
}
