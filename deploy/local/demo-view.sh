#!/usr/bin/env bash
# Live view of the lab's health, once a second, from the DC controller's own
# JSON (/api/v1/dc holds every rack's newest report with its servers'
# summaries): the DC score, each rack's state and score, and a grid of
# servers (rows) by racks (columns) with each server's class and spectral
# error (and loss, when there is any). Argument: the DC's /api/v1/dc URL.
set -u
url=$1
# Colour only on a terminal; CI logs get plain text.
if [ -t 1 ]; then color=1; clear='\033[H\033[2J'; else color=0; clear=''; fi

render() {
	jq -r --argjson color "$color" '
		def pad(n): tostring | if length < n then . + (" " * (n - length)) else .[0:n] end;
		def num(d): if . == null then "-" else (. * d | round / d | tostring) end;
		def paint(c): if $color == 1 then "\u001b[" + c + "m" + . + "\u001b[0m" else . end;
		def cls: if . == "healthy" then "32" elif . == "warning" then "33"
			elif . == "critical" then "31" else "90" end;
		def cell(s): if s == null then ("" | pad(19))
			else ((s.class + " " + (if s.error == null then "warm" else (s.error | num(1000)) end)
				+ (if (s.loss_ratio // 0) >= 0.005 then " \(s.loss_ratio * 100 | round)%" else "" end))
				| pad(19) | paint(s.class | cls)) end;
		. as $dc |
		"NetWatch lab  dc \(.dc_id)  DC score \(.health_score | num(1000))  racks reporting \(.racks_reporting)/\(.racks_expected)",
		"",
		("" | pad(10)) + ([.racks[] | "rack \(.rack_id)" | pad(19)] | join("")),
		("state" | pad(10)) + ([.racks[] | ("\(.state) \(.age_s | num(10))s" | pad(19)
			| paint(if .state == "ok" then "32" else "31" end))] | join("")),
		("score" | pad(10)) + ([.racks[] | (.score | num(1000)) | pad(19)] | join("")),
		"",
		(([.racks[].servers | length] | max // 0) as $n | range(0; $n) as $i |
			("server \($i)" | pad(10)) + ([$dc.racks[] | cell(.servers[$i])] | join(""))),
		"",
		"per server: class, spectral error, loss when any (\"warm\": its first 12.8 s analysis window is filling)"
	' <<<"$1"
}

while :; do
	doc=$(curl -s --max-time 1 "$url") && [ -n "$doc" ] && out=$(render "$doc" 2>/dev/null) &&
		printf "${clear}%s\n" "$out"
	sleep 1
done
