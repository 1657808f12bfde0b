#!/bin/sh
# The current engine for the compose test (tests/deploy/compose_engine.py):
# Debian 13's docker.io, docker-cli and docker-compose (Compose v2), fetched
# with apt from Debian's archive and unpacked into a private directory. The
# system's own docker.io (Debian 12's 20.10) is not replaced: nothing is
# installed, dpkg's database is not touched.
#
#   tests/deploy/fetch-engine.sh DIR SUITE PACKAGE=VERSION...   (make deps-compose-test)
#
# apt checks the suite's InRelease against Debian's archive keyring and each
# .deb against the hashes it signs (no --allow-unauthenticated); the
# versions are pinned, so a new upload never changes what the test runs.
# DIR/root holds the unpacked tree, DIR/stamp the package list it was made
# from: a second run with the same list does nothing and needs no network.
set -eu
dir=$1 suite=$2
shift 2
want="$suite $*"
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$want" ]; then
	echo "deps-compose-test: $* present in $dir/root"
	exit 0
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "$keyring missing: apt-get install debian-archive-keyring" >&2; exit 1; }
rm -rf "$dir/apt" "$dir/debs" "$dir/root.new" "$dir/stamp"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root.new"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" >"$dir/apt/sources.list"
# Only this suite's lists, in a directory of their own: the host's sources
# and lists are neither read nor changed. (DIR holds no spaces.)
opts="-o Dir::Etc::sourcelist=$dir/apt/sources.list -o Dir::Etc::sourceparts=/nonexistent
	-o Dir::State::lists=$dir/apt/lists -o Dir::Cache=$dir/apt/cache
	-o Acquire::Languages=none -o APT::Sandbox::User=root"
apt-get -q $opts update
(cd "$dir/debs" && apt-get -q $opts download "$@")
for deb in "$dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir/root.new"
done
rm -rf "$dir/root" "$dir/apt/lists" "$dir/apt/cache"
mv "$dir/root.new" "$dir/root"
echo "$want" >"$dir/stamp"
echo "deps-compose-test: $* unpacked in $dir/root"
