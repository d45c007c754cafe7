#!/usr/bin/env bash
# Remove whatever a lab or test run may have left behind, even if molecule lost its state.
. "$(dirname "$0")/lib.sh"
docker_ok || exit 0
for node in node1 node2 node3 single1 secure1 secure2 secure3; do
  docker rm -f -v "$node" >/dev/null 2>&1 || true
done
docker ps -aq --filter label=owner=molecule | xargs -r docker rm -f -v >/dev/null
for net in dockyard-lab dockyard-single dockyard-secure; do
  docker network rm "$net" >/dev/null 2>&1 || true
done
log "lab removed"
