#!/usr/bin/env bash
# Renders netwatch-rack --dump lines (one JSON document per line on stdin) as
# a live table. Arguments: the impairment applied to each server, by id.
set -u
impairs=("$@")
while IFS= read -r line; do
	case "$line" in "{"*) ;; *) continue ;; esac
	printf '\033[H\033[2J'
	echo "NetWatch demo: exact in-kernel counts per server (Ctrl-C to stop)"
	jq -r '"rack \(.rack)  hook \(.hook)  iface \(.iface)  packets \(.stats.packets)  malformed \([.stats.malformed[]] | add)  unknown \(.stats.unknown_server)  ring_full \(.stats.ring_full)"' <<<"$line"
	echo
	printf '%-6s %-20s %9s %7s %7s %6s %6s %10s %8s\n' server impairment received lost loss% dups reord jitter_ms state
	jq -r '.servers[] | [.server, .received, .lost, (if (.received + .lost) > 0 then (100 * .lost / (.received + .lost)) else 0 end), .duplicates, .reordered, (.jitter_ns / 1e6), (if .closed then "goodbye" else "up" end)] | @tsv' <<<"$line" |
	while IFS=$'\t' read -r sid rx lost pct dup reord jit state; do
		printf '%-6s %-20s %9s %7s %6.2f%% %6s %6s %10.3f %8s\n' "$sid" "${impairs[$sid]:-none}" "$rx" "$lost" "$pct" "$dup" "$reord" "$jit" "$state"
	done
done
