#!/usr/bin/env bash
# Installs the Debian packages the test tiers use: real peers (ctdbd, smbd, smbclient,
# smbtorture, redis-server), the tshark oracle, systemd (systemd-socket-activate, for socket activation
# of mccd) and the container cluster's engine and image. Idempotent; safe to re-run.
set -euo pipefail

packages=(ctdb iptables ethtool curl samba smbclient samba-testsuite tshark redis-server iproute2 procps psmisc systemd)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The container cluster (podman, runc, debootstrap and the node image; see scripts/containers.sh).
containers() {
  bash "$(dirname "$0")/containers.sh" provision
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "provision: all test packages present"
  containers
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "provision: SKIPPED apt install (not root); missing: ${missing[*]}" >&2
  exit 0
fi

echo "provision: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; the tests start their own instances in namespaces
# or on private ports, so stop the system-wide ones to keep ports and state clean.
for svc in smbd nmbd samba-ad-dc winbind ctdb redis-server; do
  systemctl stop "$svc" >/dev/null 2>&1 || true
  systemctl disable "$svc" >/dev/null 2>&1 || true
done
pkill -x smbd >/dev/null 2>&1 || true
pkill -x nmbd >/dev/null 2>&1 || true
pkill -x redis-server >/dev/null 2>&1 || true
containers
echo "provision: done"
