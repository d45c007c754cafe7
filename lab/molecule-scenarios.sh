#!/usr/bin/env bash
# Run `molecule test` for several scenarios, MOLECULE_JOBS at a time (default: all at once).
# The scenarios own disjoint containers and networks, so they can share the Docker engine; most of
# their time is spent waiting on systemd, dockerd and Consul, not on the CPU.
# Each scenario logs to build/logs/molecule-<scenario>.log; a failed one has its tail printed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || die "no scenario given" "lab/molecule-scenarios.sh default single secure"
jobs_max=${MOLECULE_JOBS:-$#}
logs="$REPO_DIR/build/logs"
mkdir -p "$logs"

declare -A pid_of=() started_at=()
status=0
run_one() {
  local scenario=$1
  "$REPO_DIR/lab/run.sh" molecule test -s "$scenario" >"$logs/molecule-$scenario.log" 2>&1
}

report() {
  local scenario=$1 rc=$2
  local seconds=$(($(date +%s) - started_at[$scenario]))
  if [ "$rc" -eq 0 ]; then
    log "molecule $scenario: passed in ${seconds}s"
  else
    status=1
    tail -n 80 "$logs/molecule-$scenario.log" >&2
    log "molecule $scenario: FAILED (exit $rc) after ${seconds}s; full log: $logs/molecule-$scenario.log"
  fi
}

wait_for_one() {
  local scenario rc
  while :; do
    for scenario in "${!pid_of[@]}"; do
      if ! kill -0 "${pid_of[$scenario]}" 2>/dev/null; then
        rc=0
        wait "${pid_of[$scenario]}" || rc=$?
        unset "pid_of[$scenario]"
        report "$scenario" "$rc"
        return
      fi
    done
    sleep 2
  done
}

for scenario in "$@"; do
  while [ "${#pid_of[@]}" -ge "$jobs_max" ]; do wait_for_one; done
  log "molecule $scenario: started (log: $logs/molecule-$scenario.log)"
  started_at[$scenario]=$(date +%s)
  run_one "$scenario" &
  pid_of[$scenario]=$!
done
while [ "${#pid_of[@]}" -gt 0 ]; do wait_for_one; done
exit "$status"
