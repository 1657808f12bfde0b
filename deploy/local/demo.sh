#!/usr/bin/env bash
# A small live NetWatch demo on one machine (until the full lab lands):
# one rack controller with the collector on its uplink, five agents in their
# own network namespaces behind a bridge (the "top-of-rack switch"), each with
# a different real impairment, and a live table of the kernel's exact counts.
#
#   sudo make demo                 # Ctrl-C stops it and removes everything
#   DEMO_SECONDS=20 sudo make demo # stop by itself after 20 s
#
# All traffic stays inside the namespaces made here, on 198.18.0.0/24.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${NETWATCH_BUILD:-$top/build}
pins=/sys/fs/bpf/netwatch-demo
prefix=nwdemo
rack=0
hook=${DEMO_HOOK:-auto}
rate=${DEMO_RATE:-20}
impairs=("" "loss=5%" "dup=3%" "delay=30,jitter=20" "loss=20%")
pids=()

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (namespaces, BPF); run: sudo make demo" >&2
	exit 2
fi
if ip netns list | grep -q "^${prefix}-rack"; then
	echo "demo: a demo is already running (namespaces ${prefix}-*); stop it first" >&2
	exit 2
fi

cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$build/netwatch-rack" --rack "$rack" --pin-dir "$pins" --unpin >/dev/null 2>&1 || true
	rmdir "$pins" 2>/dev/null || true
	for ns in $(ip netns list | awk '{print $1}' | grep "^${prefix}-" || true); do
		ip netns del "$ns" 2>/dev/null || true
	done
	echo "demo: stopped; namespaces, links and pinned maps removed"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

ip netns add "${prefix}-tor"
ip -n "${prefix}-tor" link add br0 type bridge
ip -n "${prefix}-tor" link set br0 up
ip -n "${prefix}-tor" link set lo up

plug() { # namespace, its interface name, switch port name, address
	ip netns add "$1"
	ip link add "${prefix}tmp" type veth peer name "$3" netns "${prefix}-tor"
	ip link set "${prefix}tmp" netns "$1" name "$2"
	ip -n "${prefix}-tor" link set "$3" master br0 up
	ip -n "$1" addr add "$4/24" dev "$2"
	ip -n "$1" link set "$2" up
	ip -n "$1" link set lo up
}

plug "${prefix}-rack$rack" uplink p-rack$rack 198.18.0.1
for s in "${!impairs[@]}"; do
	plug "${prefix}-s$s" eth0 "p-s$s" "198.18.0.$((10 + s))"
done

# exec: the background job's pid is then the program's own, so cleanup's
# kill reaches it (a function's subshell would leave its child running).
in_ns() { local ns=$1; shift; exec nsenter --net="/run/netns/$ns" "$@"; }

(in_ns "${prefix}-rack$rack" "$build/netwatch-rack" --rack "$rack" --iface uplink --hook "$hook" \
	--servers "0-$((${#impairs[@]} - 1))" --pin-dir "$pins" --metrics 127.0.0.1:8000 \
	--interval 1 2>"/tmp/${prefix}-rack.log") &
pids+=($!)

# Agents start once the collector counts, so every sample from seq 0 is seen.
for _ in $(seq 100); do
	grep -q 'msg="collector attached"' "/tmp/${prefix}-rack.log" 2>/dev/null && break
	kill -0 "${pids[0]}" 2>/dev/null || { echo "demo: collector failed:" >&2; cat "/tmp/${prefix}-rack.log" >&2; exit 1; }
	sleep 0.1
done

for s in "${!impairs[@]}"; do
	args=(--controller 198.18.0.1 --rack "$rack" --server "$s" --rate "$rate" -q)
	[ -n "${impairs[$s]}" ] && args+=(--impair "${impairs[$s]}")
	(in_ns "${prefix}-s$s" "$build/netwatch-agent" "${args[@]}" >/dev/null 2>"/tmp/${prefix}-s$s.log") &
	pids+=($!)
done

"$here/demo-view.sh" "${prefix}-rack$rack" "${impairs[@]}" &
pids+=($!)

echo "demo: rack $rack collector on ${prefix}-rack$rack/uplink, ${#impairs[@]} agents at $rate Hz"
echo "demo: inspect live with: bpftool map dump pinned $pins/rack$rack/nw_state"
echo "demo: metrics: nsenter --net=/run/netns/${prefix}-rack$rack curl -s 127.0.0.1:8000/metrics"
echo "demo: logs in /tmp/${prefix}-*.log; Ctrl-C to stop"
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	wait "${pids[0]}"
fi
