#!/usr/bin/env bash
# Live table of the demo rack, once a second, from the controller's own JSON
# API (/api/v1/rack, inside the rack's namespace). Arguments: the rack's
# namespace, then the impairment applied to each server, by id.
set -u
ns=$1
shift
impairs=("$@")
while sleep 1; do
	doc=$(nsenter --net="/run/netns/$ns" curl -s --max-time 1 http://127.0.0.1:8000/api/v1/rack) || continue
	[ -n "$doc" ] || continue
	printf '\033[H\033[2J'
	echo "NetWatch demo: spectral health and exact in-kernel counts (Ctrl-C to stop)"
	jq -r '"rack \(.rack_id)  hook \(.hook)  iface \(.iface)  rack score \(.health_score * 1000 | round / 1000)"' <<<"$doc" 2>/dev/null
	echo
	printf '%-6s %-20s %-9s %7s %7s %9s %6s %6s %6s %9s\n' server impairment class error snr_dB received lost dups reord jitter_ms
	jq -r '.servers[] | [.server_id, .class, (if .analysed then (.analysis.spectral_error * 1000 | round / 1000) else "warm" end), (if .analysed then (.analysis.snr_db * 10 | round / 10) else "-" end), .received, .lost, .duplicates, .reordered, (.jitter_s * 1000 * 1000 | round / 1000)] | @tsv' <<<"$doc" |
	while IFS=$'\t' read -r sid cls err snr rx lost dup reord jit; do
		printf '%-6s %-20s %-9s %7s %7s %9s %6s %6s %6s %9s\n' "$sid" "${impairs[$sid]:-none}" "$cls" "$err" "$snr" "$rx" "$lost" "$dup" "$reord" "$jit"
	done
	echo
	echo "a new server warms up for one window (12.8 s) before its spectral figures show"
done
