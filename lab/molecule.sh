#!/usr/bin/env bash
# Run molecule with the lab's resolved image references and binary paths in the environment
# (molecule.yml and the scenario inventories read them from there).
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"
export ANSIBLE_COLLECTIONS_PATH=$REPO_DIR/build/collections
export PATH=$REPO_DIR/.venv/bin:$PATH
exec molecule "$@"
