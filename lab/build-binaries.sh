#!/usr/bin/env bash
# Build Consul and consul-template from the Go module proxy at the pinned versions, static
# (CGO_ENABLED=0), into $DOCKYARD_CACHE/bin/<name>-<version>/. A cached binary is reused.
. "$(dirname "$0")/lib.sh"

export CGO_ENABLED=0 GOFLAGS=-mod=mod
BIN_CACHE=$DOCKYARD_CACHE/bin

go_fetch() { # go_fetch MODULE@VERSION -> prints the module's directory in the module cache
  local out
  out=$(go mod download -json "$1" 2>&1) || die "the Go proxy did not serve $1: $(printf '%s' "$out" | grep -m1 -i -E 'error|forbidden|refused|not' || printf '%s' "$out" | tail -n1)" \
    "check that the Go proxy is reachable (curl -sI $(go env GOPROXY | cut -d, -f1)) and that $1 exists there."
  printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

build_consul() {
  local dest=$BIN_CACHE/consul-$CONSUL_VERSION/consul src work
  [ -x "$dest" ] && { log "consul $CONSUL_VERSION: cached"; return; }
  require_space "$DOCKYARD_CACHE" 6000
  log "consul $CONSUL_VERSION: building from the Go proxy (about 10 minutes on 2 cores)"
  src=$(go_fetch "github.com/hashicorp/consul@v$CONSUL_VERSION")
  work=$DOCKYARD_CACHE/tmp/consul-$CONSUL_VERSION
  rm -rf "$work" && mkdir -p "$work" && cp -r "$src/." "$work" && chmod -R u+w "$work"
  # The module zip leaves out the nested modules (api, sdk, ...) that go.mod replaces with
  # local paths, so take them from the proxy instead.
  local drops=() nested
  for nested in $(cd "$work" && go mod edit -json | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("./"):
        print(r["Old"]["Path"])'); do
    drops+=("-dropreplace=$nested")
  done
  (cd "$work" && go mod edit "${drops[@]}" -require="github.com/hashicorp/consul/api@v$CONSUL_API_VERSION") ||
    die "could not edit Consul's go.mod." "see the error above; CONSUL_API_VERSION may not match CONSUL_VERSION."
  mkdir -p "$(dirname "$dest")"
  (cd "$work" && go build -trimpath -ldflags '-s -w' -o "$dest.tmp" .) ||
    die "building consul $CONSUL_VERSION failed." "if the error names a missing api field, raise CONSUL_API_VERSION in lab/versions.env."
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  "$dest" version | head -n1 >&2
}

build_consul_template() {
  local dest=$BIN_CACHE/consul-template-$CONSUL_TEMPLATE_VERSION/consul-template
  [ -x "$dest" ] && { log "consul-template $CONSUL_TEMPLATE_VERSION: cached"; return; }
  require_space "$DOCKYARD_CACHE" 2000
  log "consul-template $CONSUL_TEMPLATE_VERSION: building from the Go proxy"
  go_fetch "github.com/hashicorp/consul-template@v$CONSUL_TEMPLATE_VERSION" >/dev/null
  mkdir -p "$(dirname "$dest")"
  GOBIN=$(dirname "$dest") go install -trimpath -ldflags '-s -w' \
    "github.com/hashicorp/consul-template@v$CONSUL_TEMPLATE_VERSION" ||
    die "building consul-template failed." "see the go error above."
  "$dest" -version >&2
}

# Only on demand (REGISTRATOR_SOURCE=upstream): the proxy reachable here answers 403 for every
# pseudo-version of gliderlabs/registrator, so the default lab uses lab/images/registrator.
build_registrator_upstream() {
  local dest=$BIN_CACHE/registrator-$REGISTRATOR_COMMIT/registrator
  [ -x "$dest" ] && { log "registrator ${REGISTRATOR_COMMIT:0:12}: cached"; return; }
  go_fetch "github.com/gliderlabs/registrator@$REGISTRATOR_PSEUDO_VERSION" >/dev/null
  mkdir -p "$(dirname "$dest")"
  GOBIN=$(dirname "$dest") go install -trimpath -ldflags '-s -w' \
    "github.com/gliderlabs/registrator@$REGISTRATOR_PSEUDO_VERSION"
}

require_go
build_consul
build_consul_template
if [ "${REGISTRATOR_SOURCE:-compat}" = upstream ]; then
  build_registrator_upstream
fi
