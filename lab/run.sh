#!/usr/bin/env bash
# Run a command with the lab's environment: resolved image references, binary paths, the
# repo's venv first on PATH (DOCKYARD_VENV: .venv, or .venv-newest for the newest ansible-core)
# and the collection found through build/collections.
# Example: lab/run.sh molecule converge -s default
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
export ANSIBLE_COLLECTIONS_PATH=$REPO_DIR/build/collections
export PATH=${DOCKYARD_VENV:-$REPO_DIR/.venv}/bin:$PATH
set +eu
exec "$@"
