#!/usr/bin/env bash
# The NetWatch demo: the seed's datacenter on this machine (deploy/local/
# netwatch-lab: 1 DC controller, 4 rack controllers with the collector on each
# rack's uplink, 32 agents, Prometheus), its endpoints, then a live view of DC,
# rack and server health once a second. Ctrl-C (or DEMO_SECONDS) takes the lab
# down again: processes, namespaces, links, pinned maps, run dir.
#
#   sudo make demo                    # until Ctrl-C
#   DEMO_SECONDS=30 sudo make demo    # stop by itself after 30 s (CI-like runs)
#   DEMO_RACKS=2 DEMO_SERVERS=4 sudo make demo
#
# While it runs, from another terminal: inject faults with netwatch-chaos, or
# talk to an agent's control socket, and watch the view react.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export NETWATCH_BUILD=${NETWATCH_BUILD:-$top/build}
lab=$here/netwatch-lab

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (namespaces, BPF); run: sudo make demo" >&2
	exit 2
fi

# A lab that is already running is not ours to take down: up refuses (exit 2)
# and the trap that removes the lab is only set once our own up succeeded.
"$lab" up --racks "${DEMO_RACKS:-4}" --servers "${DEMO_SERVERS:-8}"

view=
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$view" ]; then
		kill "$view" 2>/dev/null || true
		wait "$view" 2>/dev/null || true
	fi
	echo
	"$lab" down
}
trap cleanup EXIT
trap 'exit 0' INT TERM

dc_json=$("$lab" status --json | jq -r '.endpoints.dc.json')
echo
echo "demo: open ${dc_json%/api/v1/dc}/ in a browser: the DC, each rack and server's spectrum (docs/web-ui.md)"
echo "demo: live view from $dc_json in 3 s; Ctrl-C stops the demo and removes the lab"
[ -x "$NETWATCH_BUILD/netwatch-chaos" ] &&
	echo "demo: try from another terminal: sudo $NETWATCH_BUILD/netwatch-chaos --rack 0 --loss 20 (then --clear)"
sleep 3
"$here/demo-view.sh" "$dc_json" &
view=$!
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	wait "$view"
fi
