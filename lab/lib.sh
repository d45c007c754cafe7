# shellcheck shell=bash
# Shared helpers for the lab scripts. Source it; do not run it.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$LAB_DIR")
DOCKYARD_CACHE=${DOCKYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dockyard}
export LAB_DIR REPO_DIR DOCKYARD_CACHE

# shellcheck source=lab/versions.env
. "$LAB_DIR/versions.env"

log() { printf '[lab] %s\n' "$*" >&2; }

# die MESSAGE NEXT-STEP: every failure says what to do about it.
die() {
  printf '[lab] ERROR: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf '[lab] next: %s\n' "$2" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (running as $(id -un))." \
    "re-run as root, e.g. 'sudo make $2', or start dockerd yourself and add your user to the docker group."
}

# require_space DIR MIB: refuse to start a step that would fill the disk half-way through.
require_space() {
  local dir=$1 need_mib=$2 have_mib
  mkdir -p "$dir"
  have_mib=$(df -Pm "$dir" | awk 'NR==2 {print $4}')
  [ "$have_mib" -ge "$need_mib" ] || die \
    "only ${have_mib} MiB free under $dir, this step needs about ${need_mib} MiB." \
    "free space (docker system prune, go clean -modcache, rm -rf $DOCKYARD_CACHE/tmp) or point DOCKYARD_CACHE elsewhere."
}

require_go() {
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH." \
    "install Go 1.25 or newer (https://go.dev/dl or Debian's golang-1.2x package) and re-run."
}

docker_ok() { docker info >/dev/null 2>&1; }

# tree_sha256 DIR: one checksum for a source tree without .git (which a copy may or may not
# have): sha256 of the `sha256sum` lines of every file, sorted by path.
tree_sha256() {
  (cd "$1" && find . -type f ! -path './.git/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# Image references are keyed by the content of their recipe, so an edited recipe gets a new
# tag and a stale image is never reused.
_hash() { sha256sum | cut -c1-10; }
_recipe_hash() { # DIR [EXTRA FILE...]
  local dir=$1; shift
  (cd "$dir" && find . -type f | LC_ALL=C sort | xargs cat; cat "$@" /dev/null) | _hash
}
# One base and one node image per Debian release: DOCKYARD_BASE_IMAGE_TRIXIE,
# DOCKYARD_NODE_IMAGE_TRIXIE, ..._BOOKWORM. The suite is part of every hash.
base_image_of() { echo "dockyard/debian:$1-$(echo "$1 $DEBIAN_MIRROR $IMAGE_REVISION" | _hash)"; }
node_image_of() { echo "dockyard/node:$1-$(echo "$(base_image_of "$1") $(_recipe_hash "$LAB_DIR/images/node")" | _hash)"; }
for _suite in $DEBIAN_SUITES; do
  declare -x "DOCKYARD_BASE_IMAGE_${_suite^^}=$(base_image_of "$_suite")"
  declare -x "DOCKYARD_NODE_IMAGE_${_suite^^}=$(node_image_of "$_suite")"
done
HELPER_SUITE=${DEBIAN_SUITES%% *}
DOCKYARD_BASE_IMAGE=$(base_image_of "$HELPER_SUITE")
DOCKYARD_NODE_IMAGE=$(node_image_of "$HELPER_SUITE")
DOCKYARD_DEMO_IMAGE=dockyard/demo-http:$(_recipe_hash "$LAB_DIR/images/demo-http")
# The seed's tutum/curl: curl and dig in a container, for tests that call services from inside one.
DOCKYARD_CLIENT_IMAGE=dockyard/curl:$(echo "$DOCKYARD_BASE_IMAGE $(_recipe_hash "$LAB_DIR/images/curl")" | _hash)
# Upstream registrator built from source: the tag names its version and commit, then the recipe.
DOCKYARD_REGISTRATOR_IMAGE=gliderlabs/registrator:$REGISTRATOR_VERSION-${REGISTRATOR_COMMIT:0:7}-$(echo "$DOCKYARD_NODE_IMAGE $REGISTRATOR_COMMIT $(_recipe_hash "$LAB_DIR/images/gliderlabs-registrator")" | _hash)
DOCKYARD_IMAGE_DIR=$DOCKYARD_CACHE/images
CONSUL_BIN=$DOCKYARD_CACHE/bin/consul-$CONSUL_VERSION/consul
CONSUL_TEMPLATE_BIN=$DOCKYARD_CACHE/bin/consul-template-$CONSUL_TEMPLATE_VERSION/consul-template
CONSUL_PREVIOUS_BIN=$DOCKYARD_CACHE/bin/consul-$CONSUL_PREVIOUS_VERSION/consul
CONSUL_TEMPLATE_PREVIOUS_BIN=$DOCKYARD_CACHE/bin/consul-template-$CONSUL_TEMPLATE_PREVIOUS_VERSION/consul-template
REGISTRATOR_BIN=$DOCKYARD_CACHE/bin/registrator-$REGISTRATOR_COMMIT/registrator
PROMETHEUS_BIN=$DOCKYARD_CACHE/bin/prometheus-$PROMETHEUS_VERSION/prometheus
export DEBIAN_SUITES DOCKYARD_BASE_IMAGE DOCKYARD_NODE_IMAGE DOCKYARD_DEMO_IMAGE DOCKYARD_CLIENT_IMAGE DOCKYARD_REGISTRATOR_IMAGE \
  DOCKYARD_IMAGE_DIR CONSUL_BIN CONSUL_TEMPLATE_BIN REGISTRATOR_BIN CONSUL_VERSION CONSUL_TEMPLATE_VERSION \
  CONSUL_PREVIOUS_BIN CONSUL_TEMPLATE_PREVIOUS_BIN CONSUL_PREVIOUS_VERSION CONSUL_TEMPLATE_PREVIOUS_VERSION \
  REGISTRATOR_VERSION REGISTRATOR_COMMIT PROMETHEUS_BIN PROMETHEUS_VERSION

# image_tarball REF -> where the saved copy of an image lives in the cache
image_tarball() { printf '%s/%s.tar' "$DOCKYARD_IMAGE_DIR" "$(printf '%s' "$1" | tr '/:' '__')"; }
DOCKYARD_REGISTRATOR_TARBALL=$(image_tarball "$DOCKYARD_REGISTRATOR_IMAGE")
export DOCKYARD_REGISTRATOR_TARBALL
