#!/usr/bin/env bash
# Run a command with the lab's environment: resolved image references, binary paths, the
# repo's venv first on PATH (DOCKYARD_VENV: .venv, or .venv-newest for the newest ansible-core)
# and the collection found through build/collections.
# Example: lab/run.sh molecule converge -s default
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
export ANSIBLE_COLLECTIONS_PATH=$REPO_DIR/build/collections
# Pipelining: a module runs in one `docker exec` with its code on stdin, rather than a temporary
# directory, a copy, a chmod, a run and a removal, which cost a Docker CLI call each for every task and
# host. The lab's hosts are reached as root, so sudo's requiretty, pipelining's one caveat, cannot apply.
export ANSIBLE_PIPELINING=${ANSIBLE_PIPELINING:-True}
export PATH=${DOCKYARD_VENV:-$REPO_DIR/.venv}/bin:$PATH
set +eu
exec "$@"
