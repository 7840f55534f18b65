#!/usr/bin/env bash
# The container engine of the test cluster (test/harness/container-cluster.ts): Debian's podman driven
# through its Docker-compatible API by testcontainers. Idempotent; safe to re-run.
#   containers.sh provision   apt-get install podman runc debootstrap (root), build the node image if missing,
#                             then clean
#   containers.sh tag         print the node image's name (localhost/mcc-node:<hash of its recipe>)
#   containers.sh clean       remove every container and network the tests left (label mcc.test), restore
#                             net.ipv4.ip_forward
# The API service itself is started per run by the driver, on a socket of its own, and stopped with it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="$PWD/test/containers/containers.conf"
recipe=test/containers/node-image.sh

tag() {
  echo "localhost/mcc-node:$(sha256sum "$recipe" | cut -c1-12)"
}

# The Debian mirror apt already uses (deb822 .sources or a one-line sources.list), so no host name is
# written into the repository and a machine with a local mirror keeps using it.
mirror() {
  local m=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    m=$(awk 'BEGIN{RS=""; FS="\n"} {
        uris=""; suites=""; types="";
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) uris = substr($i, 6);
          if ($i ~ /^Suites:/) suites = " " substr($i, 8) " ";
          if ($i ~ /^Types:/) types = $i;
        }
        if (types ~ /deb( |$)/ && suites ~ / bookworm /) { split(uris, u, " "); print u[1]; exit }
      }' "$f")
    [ -n "$m" ] && break
  done
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $(i+1) == "bookworm") { print $i; exit } }' /etc/apt/sources.list)
  fi
  # Cloud images point apt at a mirror list (mirror+file:/etc/apt/mirrors/debian.list): take its first.
  case "$m" in
  mirror+file:*)
    local list=${m#mirror+file:}
    list=${list#//}
    m=$(grep -Eom1 '^(https?|ftp)://[^[:space:]]+' "$list" || true)
    ;;
  esac
  [ -n "$m" ] || { echo "containers: no Debian bookworm mirror in apt's sources" >&2; return 1; }
  echo "$m"
}

install_packages() {
  local missing=()
  for p in podman runc debootstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "containers: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
}

build_image() {
  local name
  name=$(tag)
  if podman image exists "$name"; then
    echo "containers: image $name present"
    return 0
  fi
  local dir
  dir=$(mktemp -d /var/tmp/mcc-node-image.XXXXXX)
  trap 'rm -rf "$dir"' RETURN
  echo "containers: building $name (debootstrap + apt, ~2 min)"
  # debootstrap and dpkg are chatty (runlevel and debconf notes): their output is shown only on failure.
  if ! bash "$recipe" "$dir/rootfs" "$(mirror)" >"$dir/build.log" 2>&1; then
    tail -n 40 "$dir/build.log" >&2
    echo "containers: building $name failed" >&2
    return 1
  fi
  tar -C "$dir/rootfs" -c . | podman import --quiet - "$name" >/dev/null
  # Older recipes' images are dead weight.
  podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/mcc-node:' | grep -vx "$name" |
    xargs -r podman rmi >/dev/null 2>&1 || true
  echo "containers: built $name"
}

# Containers and networks a killed run left behind, and net.ipv4.ip_forward as it was before the first
# test network (netavark turns it on; the driver saves the old value here and restores it itself when it
# can). The test networks are internal: netavark adds no NAT or filter rules for them.
clean() {
  command -v podman >/dev/null || return 0
  podman ps -aq --filter label=mcc.test | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
  podman network ls -q --filter label=mcc.test | xargs -r podman network rm -f >/dev/null 2>&1 || true
  local saved=/run/mcc-containers/ip_forward.before
  if [ -f "$saved" ] && [ -z "$(podman network ls -q --filter label=mcc.test)" ]; then
    cat "$saved" >/proc/sys/net/ipv4/ip_forward
    rm -f "$saved"
  fi
}

case "${1:-}" in
  provision)
    if [ "$(id -u)" -ne 0 ]; then
      echo "containers: SKIPPED (not root): the container cluster needs root for podman and debootstrap" >&2
      exit 0
    fi
    install_packages
    build_image
    # What a killed run left (containers, networks, ip_forward) goes before the tests start.
    clean
    ;;
  tag) tag ;;
  mirror) mirror ;;
  clean) clean ;;
  *)
    echo "usage: containers.sh provision|tag|mirror|clean" >&2
    exit 2
    ;;
esac
