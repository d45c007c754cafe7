#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install Debian's docker.io if it is
# missing and start dockerd if nothing is listening. Does nothing when one already answers.
. "$(dirname "$0")/lib.sh"

if docker_ok; then
  log "docker engine answers: $(docker version --format '{{.Server.Version}}')"
  exit 0
fi

require_root "starting a Docker engine" toolchain

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed." "check /etc/apt/sources.list and that the Debian mirror is reachable."
  apt-get install -y -q --no-install-recommends docker.io iptables >/dev/null ||
    die "apt-get install docker.io failed." "run 'apt-get install docker.io' by hand to see the error."
fi

if command -v systemctl >/dev/null 2>&1 && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  systemctl start docker || true
fi
if ! docker_ok; then
  log "starting dockerd in the background (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  docker_ok && break
  sleep 1
done
docker_ok || die "dockerd did not answer within 60 s." "read /var/log/dockerd.log."
log "docker engine answers: $(docker version --format '{{.Server.Version}}')"
