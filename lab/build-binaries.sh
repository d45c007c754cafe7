#!/usr/bin/env bash
# Build Consul, consul-template and gliderlabs/registrator at the versions pinned in
# lab/versions.env, static (CGO_ENABLED=0), into $DOCKYARD_CACHE/bin/<name>-<version or commit>/.
# A cached binary is reused.
. "$(dirname "$0")/lib.sh"

export CGO_ENABLED=0 GOFLAGS=-mod=mod
BIN_CACHE=$DOCKYARD_CACHE/bin

go_fetch() { # go_fetch MODULE@VERSION -> prints the module's directory in the module cache
  local out
  out=$(go mod download -json "$1" 2>&1) || die "the Go proxy did not serve $1: $(printf '%s' "$out" | grep -m1 -i -E 'error|forbidden|refused|not' || printf '%s' "$out" | tail -n1)" \
    "check that the Go proxy is reachable (curl -sI $(go env GOPROXY | cut -d, -f1)) and that $1 exists there."
  printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

build_consul() { # VERSION API_VERSION
  local version=$1 api_version=$2
  local dest=$BIN_CACHE/consul-$version/consul src work
  [ -x "$dest" ] && { log "consul $version: cached"; return; }
  require_space "$DOCKYARD_CACHE" 6000
  log "consul $version: building from the Go proxy (about 10 minutes on 2 cores)"
  src=$(go_fetch "github.com/hashicorp/consul@v$version")
  work=$DOCKYARD_CACHE/tmp/consul-$version
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
  (cd "$work" && go mod edit "${drops[@]}" -require="github.com/hashicorp/consul/api@v$api_version") ||
    die "could not edit Consul's go.mod." "see the error above; CONSUL_API_VERSION may not match CONSUL_VERSION."
  mkdir -p "$(dirname "$dest")"
  (cd "$work" && go build -trimpath -ldflags '-s -w' -o "$dest.tmp" .) ||
    die "building consul $version failed." "if the error names a missing api field, raise the api version pinned next to $version in lab/versions.env."
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  # Not `| head -n1`: under pipefail, consul's later lines hitting the closed pipe fail the build (SIGPIPE).
  local banner
  banner=$("$dest" version)
  printf '%s\n' "${banner%%$'\n'*}" >&2
}

build_consul_template() { # VERSION
  local version=$1
  local dest=$BIN_CACHE/consul-template-$version/consul-template
  [ -x "$dest" ] && { log "consul-template $version: cached"; return; }
  require_space "$DOCKYARD_CACHE" 2000
  log "consul-template $version: building from the Go proxy"
  go_fetch "github.com/hashicorp/consul-template@v$version" >/dev/null
  mkdir -p "$(dirname "$dest")"
  GOBIN=$(dirname "$dest") go install -trimpath -ldflags '-s -w' \
    "github.com/hashicorp/consul-template@v$version" ||
    die "building consul-template failed." "see the go error above."
  "$dest" -version >&2
}

# Prometheus with Consul service discovery only: its upstream build tags drop every other discovery
# plugin (plugins/plugin_*.go), which leaves out the cloud SDKs. No web UI assets (builtinassets):
# the tests use its HTTP API. Version stamped as upstream's .promu.yml does.
build_prometheus() { # VERSION MODULE_VERSION
  local version=$1 module_version=$2
  local dest=$BIN_CACHE/prometheus-$version/prometheus started src
  [ -x "$dest" ] && { log "prometheus $version: cached"; return; }
  require_space "$DOCKYARD_CACHE" 3000
  started=$(date +%s)
  log "prometheus $version: building from the Go proxy, Consul discovery only (about 2 minutes on 2 cores)"
  src=$(go_fetch "github.com/prometheus/prometheus@$module_version")
  [ "$(tr -d '[:space:]' <"$src/VERSION")" = "$version" ] ||
    die "github.com/prometheus/prometheus@$module_version says $(cat "$src/VERSION"), lab/versions.env expects $version." \
      "pin PROMETHEUS_MODULE_VERSION to the module version of Prometheus $version (v0.<major*100+minor>.<patch>)."
  mkdir -p "$(dirname "$dest")"
  GOBIN=$(dirname "$dest") go install -trimpath -tags remove_all_sd,enable_consul_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
    "github.com/prometheus/prometheus/cmd/prometheus@$module_version" ||
    die "building prometheus failed." "see the go error above."
  cp "$src/LICENSE" "$(dirname "$dest")/LICENSE"
  chmod u+w "$(dirname "$dest")/LICENSE"
  log "prometheus $version: built in $(($(date +%s) - started)) s"
}

# registrator_source: print the directory of registrator's source at REGISTRATOR_COMMIT.
# First the Go proxy, by module path and pseudo-version (go checks what it serves against
# go.sum's checksum database); then a source tree, REGISTRATOR_SRC or the shared third-party
# copy next to this checkout, which must hash to REGISTRATOR_TREE_SHA256 since it has no .git.
registrator_source() {
  local module=github.com/gliderlabs/registrator@$REGISTRATOR_PSEUDO_VERSION out tree got
  local tried=()
  if out=$(go mod download -json "$module" 2>&1); then
    log "registrator: $module from the Go proxy"
    printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
    return
  fi
  tried+=("the Go proxy: $(printf '%s' "$out" | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("Error","").splitlines()[0])
except Exception: print("no answer")' 2>/dev/null)")
  if [ -n "${REGISTRATOR_SRC:-}" ]; then
    tree=$REGISTRATOR_SRC
  else
    tree=$(cd "$REPO_DIR/.." && pwd)/shared/third_party/gliderlabs-registrator
  fi
  if [ -d "$tree" ]; then
    got=$(tree_sha256 "$tree")
    [ "$got" = "$REGISTRATOR_TREE_SHA256" ] || die \
      "the registrator source tree $tree does not match commit ${REGISTRATOR_COMMIT:0:12}: its checksum is $got, lab/versions.env pins $REGISTRATOR_TREE_SHA256." \
      "point REGISTRATOR_SRC at an unmodified tree of gliderlabs/registrator at $REGISTRATOR_COMMIT (git archive of that commit, or a clean checkout)."
    log "registrator: source tree $tree (checksum matches)"
    printf '%s\n' "$tree"
    return
  fi
  tried+=("${REGISTRATOR_SRC:+REGISTRATOR_SRC=}$tree: no such directory")
  die "cannot get the source of $module. Tried: $(IFS=';'; printf '%s' "${tried[*]}" | sed 's/;/; /g')." \
    "set REGISTRATOR_SRC to a tree of gliderlabs/registrator at commit $REGISTRATOR_COMMIT (git clone https://github.com/gliderlabs/registrator && git -C registrator checkout $REGISTRATOR_COMMIT), or use a Go proxy that serves $module."
}

# registrator at REGISTRATOR_COMMIT, built as upstream's Dockerfile does (static, -X main.Version),
# cached by commit with its licence beside it for the image.
build_registrator() {
  local dest=$REGISTRATOR_BIN src work started
  [ -x "$dest" ] && { log "registrator $REGISTRATOR_VERSION (${REGISTRATOR_COMMIT:0:12}): cached"; return; }
  require_space "$DOCKYARD_CACHE" 1000
  src=$(registrator_source)
  [ "$(tr -d '[:space:]' <"$src/VERSION")" = "$REGISTRATOR_VERSION" ] ||
    die "the registrator source at $src says $(cat "$src/VERSION"), lab/versions.env expects $REGISTRATOR_VERSION." \
      "pin REGISTRATOR_VERSION to the VERSION file of commit $REGISTRATOR_COMMIT."
  work=$DOCKYARD_CACHE/tmp/registrator-$REGISTRATOR_COMMIT
  rm -rf "$work" && mkdir -p "$work" && cp -r "$src/." "$work" && chmod -R u+w "$work"
  mkdir -p "$(dirname "$dest")"
  started=$(date +%s)
  log "registrator $REGISTRATOR_VERSION: building (its dependencies come from the Go proxy)"
  (cd "$work" && go build -trimpath -ldflags "-s -w -X main.Version=$REGISTRATOR_VERSION" -o "$dest.tmp" .) ||
    die "building registrator failed." "see the go error above; its dependencies must be served by $(go env GOPROXY | cut -d, -f1)."
  cp "$work/LICENSE" "$(dirname "$dest")/LICENSE"
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  log "registrator $REGISTRATOR_VERSION: built in $(($(date +%s) - started)) s, $(du -h "$dest" | cut -f1)"
}

require_go
build_consul "$CONSUL_VERSION" "$CONSUL_API_VERSION"
build_consul_template "$CONSUL_TEMPLATE_VERSION"
# The previous releases, where the upgrade test (molecule/secure) starts from; `make lab` does not
# need them (DOCKYARD_PREVIOUS_RELEASES=0).
if [ "${DOCKYARD_PREVIOUS_RELEASES:-1}" != 0 ]; then
  build_consul "$CONSUL_PREVIOUS_VERSION" "$CONSUL_PREVIOUS_API_VERSION"
  build_consul_template "$CONSUL_TEMPLATE_PREVIOUS_VERSION"
fi
build_registrator
# Only the tests need Prometheus: `make lab` leaves it out (DOCKYARD_TEST_TOOLS=0).
if [ "${DOCKYARD_TEST_TOOLS:-1}" != 0 ]; then
  build_prometheus "$PROMETHEUS_VERSION" "$PROMETHEUS_MODULE_VERSION"
fi
