#!/usr/bin/env bash
# The recipe of the test cluster's node image (also its clients'): Debian 12 from Debian's own archive by
# debootstrap, no registry. scripts/containers.sh tags the image with a hash of THIS file, so any change
# here builds a new image and an unchanged recipe is never rebuilt.
#   usage: node-image.sh ROOTFS_DIR MIRROR
set -euo pipefail
dir=$1
mirror=$2
debootstrap --variant=minbase bookworm "$dir" "$mirror" >/dev/null
# Services must not start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod +x "$dir/usr/sbin/policy-rc.d"
# ethtool: ctdb's 10.interface needs it (only a Recommends) or nodes stay UNHEALTHY. tini: PID 1 that
# reaps orphans, so a killed daemon's pid really disappears. libstdc++6: the host's node binary is
# bind-mounted in and needs it. samba-testsuite: smbtorture for the client containers. curl: deploy/ctdb/09.mcc.script
# posts ctdb's IP events to mccd with it. systemd: systemd-socket-activate holds mccd's front door across
# restarts as deploy/systemd/mccd.socket does, and a node can boot systemd as PID 1 to run the units themselves.
chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  ctdb samba smbclient samba-testsuite ethtool iproute2 iptables iputils-ping procps psmisc tini \
  libstdc++6 curl systemd >/dev/null
chroot "$dir" apt-get clean
rm -rf "$dir"/var/lib/apt/lists/*
# The distribution's own samba/ctdb configuration would be found before the test's: the driver mounts
# per-node /etc/ctdb, /etc/samba, /var/lib/ctdb, /var/lib/samba and /run over these.
# The stock /etc/ctdb (functions, notify.sh, ...) is kept here for the driver to copy into each node's.
rm -f "$dir/etc/samba/smb.conf"
cp -a "$dir/etc/ctdb" "$dir/usr/share/mcc-ctdb-etc"
