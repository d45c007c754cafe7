#!/usr/bin/env bash
# Build the lab's images locally (nothing can be pulled): a Debian base from debootstrap, the
# node image, the demo HTTP service, a curl/dig client and gliderlabs/registrator. Each image is also saved to
# $DOCKYARD_CACHE/images so that a fresh Docker engine with a warm cache only has to load it.
. "$(dirname "$0")/lib.sh"
export DOCKER_BUILDKIT=0

docker_ok || die "no Docker engine answers." "run 'make toolchain' (lab/ensure-docker.sh) first."
mkdir -p "$DOCKYARD_IMAGE_DIR"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# from_cache REF: true when the image is present, loading the cached tarball if needed.
from_cache() {
  local tarball
  tarball=$(image_tarball "$1")
  have_image "$1" && { [ -f "$tarball" ] || save "$1"; prune_older "$1"; log "$1: present"; return 0; }
  [ -f "$tarball" ] || return 1
  log "$1: loading $tarball"
  docker load -i "$tarball" >/dev/null && have_image "$1"
}

save() {
  local tarball
  tarball=$(image_tarball "$1")
  docker save "$1" -o "$tarball.tmp" && mv "$tarball.tmp" "$tarball"
  prune_older "$1"
}

# prune_older REF: drop the cached tarballs and local tags of earlier recipes of this image. An
# image's family is its repository and the part of its tag before the recipe hash (the last
# "-<hash>"), so dockyard/node:trixie-* never prunes dockyard/node:bookworm-*.
prune_older() {
  local repo=${1%:*} tag=${1##*:} family keep stale
  family=$repo:
  [ "${tag%-*}" = "$tag" ] || family=$repo:${tag%-*}-
  keep=$(image_tarball "$1")
  for stale in "$DOCKYARD_IMAGE_DIR/$(printf '%s' "$family" | tr '/:' '__')"*.tar; do
    [ -e "$stale" ] && [ "$stale" != "$keep" ] && rm -f "$stale"
  done
  # Outside dockyard/, only the lab's own builds (labelled io.dockyard.lab) are ours to remove:
  # a gliderlabs/registrator pulled from a registry stays.
  local only_ours=()
  [ "${repo%%/*}" = dockyard ] || only_ours=(--filter label=io.dockyard.lab)
  docker image ls "${only_ours[@]}" --format '{{.Repository}}:{{.Tag}}' "$repo" | grep -F "$family" | grep -vx "$1" |
    xargs -r docker image rm >/dev/null 2>&1 || true
}

build_base() { # SUITE
  local suite=$1 ref
  ref=$(base_image_of "$suite")
  from_cache "$ref" && return
  require_root "debootstrap" images
  require_space "$DOCKYARD_CACHE" 1500
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
      die "could not install debootstrap." "run 'apt-get install debootstrap' by hand."
  }
  [ -e "/usr/share/debootstrap/scripts/$suite" ] ||
    die "this debootstrap ($(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null)) does not know $suite." \
      "install a newer debootstrap (Debian's backports), or drop $suite from DEBIAN_SUITES in lab/versions.env."
  local rootfs=$DOCKYARD_CACHE/tmp/rootfs-$suite started
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  started=$(date +%s)
  log "$ref: debootstrap $suite from $DEBIAN_MIRROR"
  debootstrap --variant=minbase "$suite" "$rootfs" "$DEBIAN_MIRROR" >"$DOCKYARD_CACHE/tmp/debootstrap-$suite.log" 2>&1 ||
    die "debootstrap $suite failed (log: $DOCKYARD_CACHE/tmp/debootstrap-$suite.log)." "check that $DEBIAN_MIRROR is reachable."
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$ref" >/dev/null
  rm -rf "$rootfs"
  save "$ref"
  log "$ref: built in $(($(date +%s) - started)) s"
}

build_with_dockerfile() { # REF CONTEXT [DOCKER BUILD OPTION...]; BASE is the helper suite's unless given
  from_cache "$1" && return
  log "$1: building"
  local ref=$1 context=$2 build_log=$DOCKYARD_CACHE/tmp/build-${1//[\/:]/_}.log started
  shift 2
  mkdir -p "$(dirname "$build_log")"
  started=$(date +%s)
  docker build --build-arg "BASE=$DOCKYARD_BASE_IMAGE" "$@" -t "$ref" "$context" >"$build_log" 2>&1 || {
    tail -n 20 "$build_log" >&2
    die "docker build of $ref failed (log: $build_log)." "fix the recipe in $context, or check that the Debian mirror is reachable from containers."
  }
  save "$ref"
  log "$ref: built in $(($(date +%s) - started)) s"
}

build_demo() {
  from_cache "$DOCKYARD_DEMO_IMAGE" && return
  require_go
  local ctx=$DOCKYARD_CACHE/tmp/demo-http
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$LAB_DIR/images/demo-http/Dockerfile" "$ctx/"
  (cd "$LAB_DIR/images/demo-http" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$ctx/demo-http" .) ||
    die "building the demo HTTP service failed." "see the go error above."
  build_with_dockerfile "$DOCKYARD_DEMO_IMAGE" "$ctx"
  rm -rf "$ctx"
}

build_registrator() {
  from_cache "$DOCKYARD_REGISTRATOR_IMAGE" && return
  [ -x "$REGISTRATOR_BIN" ] || die "no registrator binary at $REGISTRATOR_BIN." "run 'make toolchain' (lab/build-binaries.sh) first."
  local ctx=$DOCKYARD_CACHE/tmp/registrator-image
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$LAB_DIR/images/gliderlabs-registrator/Dockerfile" "$REGISTRATOR_BIN" "$(dirname "$REGISTRATOR_BIN")/LICENSE" "$ctx/"
  build_with_dockerfile "$DOCKYARD_REGISTRATOR_IMAGE" "$ctx" \
    --build-arg "CERTS_FROM=$DOCKYARD_NODE_IMAGE" --build-arg "VERSION=$REGISTRATOR_VERSION" --build-arg "COMMIT=$REGISTRATOR_COMMIT"
  rm -rf "$ctx"
}

require_space "$DOCKYARD_CACHE" 500
for suite in $DEBIAN_SUITES; do
  build_base "$suite"
  # The later build-arg wins: each node image on its own release's base.
  build_with_dockerfile "$(node_image_of "$suite")" "$LAB_DIR/images/node" --build-arg "BASE=$(base_image_of "$suite")"
done
build_demo
build_with_dockerfile "$DOCKYARD_CLIENT_IMAGE" "$LAB_DIR/images/curl"
build_registrator
