#!/usr/bin/env bash
# Run `molecule test` for several scenarios, MOLECULE_JOBS at a time (default 1). The scenarios own
# disjoint containers and networks, so they can share the Docker engine; on 2 cores one at a time is
# faster, since Ansible is CPU-bound.
# Each scenario logs to build/logs/molecule-<scenario><DOCKYARD_LOG_SUFFIX>.log (the suffix tells the
# newest ansible-core's runs apart); a failed one has its pytest failure report and its tail printed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || die "no scenario given" "lab/molecule-scenarios.sh default single secure"
jobs_max=${MOLECULE_JOBS:-1}
logs="$REPO_DIR/build/logs"
suffix=${DOCKYARD_LOG_SUFFIX:-}
mkdir -p "$logs"

declare -A scenario_of=() started_at=()
# Which ansible-core runs the scenarios (make test runs them on the oldest and the newest).
banner=$("${DOCKYARD_VENV:-$REPO_DIR/.venv}/bin/ansible" --version)
log "${banner%%$'\n'*} on $("${DOCKYARD_VENV:-$REPO_DIR/.venv}/bin/python" --version)"
status=0

# unframed LOG: the log without colours and without the frame molecule draws around output.
unframed() {
  sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^ *│ \{0,3\}//' "$1"
}

# wait_for_one: reap whichever scenario ends first and report it.
wait_for_one() {
  local pid rc=0 scenario seconds
  wait -n -p pid "${!scenario_of[@]}" || rc=$?
  scenario=${scenario_of[$pid]}
  unset "scenario_of[$pid]"
  seconds=$(($(date +%s) - started_at[$scenario]))
  if [ "$rc" -eq 0 ]; then
    log "molecule $scenario: passed in ${seconds}s"
  else
    status=1
    # CI keeps only the end of the output, so pytest's failure report and its one-line summaries
    # come last, after the log's tail.
    tail -n 30 "$logs/molecule-$scenario$suffix.log" >&2
    unframed "$logs/molecule-$scenario$suffix.log" | grep -E '^ *E  ' | tail -n 40 >&2 || true
    unframed "$logs/molecule-$scenario$suffix.log" | sed -n '/short test summary info/,/ in [0-9.]*s /p' >&2
    log "molecule $scenario: FAILED (exit $rc) after ${seconds}s; full log: $logs/molecule-$scenario$suffix.log"
  fi
}

for scenario in "$@"; do
  while [ "${#scenario_of[@]}" -ge "$jobs_max" ]; do wait_for_one; done
  log "molecule $scenario: started (log: $logs/molecule-$scenario$suffix.log)"
  started_at[$scenario]=$(date +%s)
  "$REPO_DIR/lab/run.sh" molecule test -s "$scenario" >"$logs/molecule-$scenario$suffix.log" 2>&1 &
  scenario_of[$!]=$scenario
done
while [ "${#scenario_of[@]}" -gt 0 ]; do wait_for_one; done
exit "$status"
