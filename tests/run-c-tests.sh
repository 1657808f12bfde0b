#!/usr/bin/env bash
# Runs each cmocka test binary given as an argument; fails if any fails.
set -u
failed=0 ran=0
for t in "$@"; do
	ran=$((ran + 1))
	echo "== $(basename "$t")"
	if ! "$t"; then
		echo "FAILED: $t"
		failed=$((failed + 1))
	fi
done
echo "c-tests: $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
