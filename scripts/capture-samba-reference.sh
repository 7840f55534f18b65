#!/usr/bin/env bash
# Re-captures the Samba reference fixtures (test/fixtures/samba-<version>/) from a real smbd on this
# machine: smbd runs in a network namespace of its own with the interfaces the fixture's smb.conf names
# (lo, mc0 and mc1), tshark records loopback while smbtorture asks for
# FSCTL_QUERY_NETWORK_INTERFACE_INFO and smbclient lists the share, and the bytes are cut from the
# capture. Root, smbd, smbclient, smbtorture and tshark are needed (scripts/provision-test.sh).
#
#   bash scripts/capture-samba-reference.sh [OUT_DIR]     # default: a new temporary directory
#
# The interface list smbd answers is fully determined by smb.conf, so a re-capture reproduces
# network_interface_info.standalone.bin byte for byte; the NEGOTIATE and IOCTL requests carry a random
# ClientGuid, session and tree ids, so tests pin those values and need updating after a refresh.
set -euo pipefail
cd "$(dirname "$0")/.."
template=test/fixtures/samba-4.17/smb.conf.standalone
out=${1:-$(mktemp -d /tmp/mcc-reference.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in smbd smbclient smbtorture tshark smbpasswd ip; do
  command -v "$tool" >/dev/null || { echo "capture: $tool is missing (bash scripts/provision-test.sh)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "capture: needs root (network namespace, packet capture)" >&2; exit 1; }

ns=mcc-capture-$$
work=$(mktemp -d /tmp/mcc-capture.XXXXXX)
smbd_pid=""
tshark_pid=""
cleanup() {
  for pid in $tshark_pid $smbd_pid; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }
wait_until() { # wait_until WHAT COMMAND...: up to 20 s
  local what=$1
  shift
  for _ in $(seq 1 200); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "capture: gave up waiting for $what" >&2
  exit 1
}

ip netns add "$ns"
in_ns ip link set lo up
# veth pairs, since this kernel has no dummy links. mc0 gets index 3 (smb.conf leaves mc0's index to the
# kernel) and mc1 any (smb.conf gives it if_index=77); the peers are never named in smb.conf.
in_ns ip link add mc0 index 3 type veth peer name mc0peer
in_ns ip link add mc1 type veth peer name mc1peer
for link in mc0 mc0peer mc1 mc1peer; do in_ns ip link set "$link" up; done
in_ns ip addr add 127.0.10.1/32 dev mc0
in_ns ip addr add 127.0.11.1/32 dev mc1
in_ns ip addr add fd00:5e::11/128 dev mc1 nodad

mkdir -p "$work"/state/{private,lock,cache,pid,ncalrpc} "$work"/log "$work"/share
sed "s|@WORKDIR@|$work|g" "$template" >"$work/smb.conf"
password=mcc-capture-pw
printf '%s\n%s\n' "$password" "$password" | smbpasswd -c "$work/smb.conf" -a -s root >/dev/null

setsid ip netns exec "$ns" tshark -n -q -i lo -f 'tcp port 445' -w "$work/capture.pcapng" 2>"$work/tshark.err" &
tshark_pid=$!
wait_until "tshark to capture" grep -q 'Capturing on' "$work/tshark.err"
# A session of its own: smbd signals its whole process group when it stops.
setsid ip netns exec "$ns" smbd -F --no-process-group -s "$work/smb.conf" >"$work/smbd.out" 2>&1 &
smbd_pid=$!
wait_until "smbd on 127.0.0.1:445" sh -c "ip netns exec $ns ss -Hltn | grep -q '127.0.0.1:445 '"

in_ns smbclient //127.0.0.1/share -s "$work/smb.conf" -U "root%$password" -c ls >/dev/null
in_ns smbtorture //127.0.0.1/share -s "$work/smb.conf" -U "root%$password" smb2.ioctl.network_interface_info >"$work/smbtorture.out" 2>&1
sleep 0.5
kill "$tshark_pid"
wait "$tshark_pid" 2>/dev/null || true
tshark_pid=""

pcap="$work/capture.pcapng"
first_payload() { # first_payload FILTER: the first matching segment's TCP payload, hex
  tshark -n -r "$pcap" -Y "$1" -T fields -e tcp.payload | head -n 1 | tr -d ':\n'
}
fsctl='smb2.ioctl.function == 0x001401fc'
negotiate=$(first_payload 'smb2.cmd == 0 && smb2.flags.response == 0')
request=$(first_payload "$fsctl && smb2.flags.response == 0")
response=$(first_payload "$fsctl && smb2.flags.response == 1 && smb2.nt_status == 0")
[ -n "$negotiate" ] && [ -n "$request" ] && [ -n "$response" ] || {
  echo "capture: the capture lacks a NEGOTIATE request or the FSCTL exchange" >&2
  exit 1
}
echo "$negotiate" >"$out/negotiate_request.hex"
echo "$request" >"$out/ioctl_query_network_interface_info_request.hex"
# The answer's Output buffer: OutputOffset (from the SMB2 header) and OutputCount sit at 0x20 and 0x24
# of the IOCTL response body, which follows the 4-byte direct-TCP header and the 64-byte SMB2 header.
python3 - "$response" "$out/network_interface_info.standalone.bin" <<'PY'
import struct, sys
pdu = bytes.fromhex(sys.argv[1])[4:]
offset, count = struct.unpack_from('<II', pdu, 64 + 0x20)
open(sys.argv[2], 'wb').write(pdu[offset:offset + count])
PY
tshark -n -r "$pcap" -Y "$fsctl && smb2.flags.response == 1" -O smb2 -V |
  sed -n '/^SMB2 (Server Message Block Protocol version 2)/,$p' >"$out/network_interface_info.standalone.tshark.txt"
cp "$template" "$out/smb.conf.standalone"
echo "capture: smbd $(smbd --version | awk '{print $2}'), files in $out"
