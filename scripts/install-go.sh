#!/bin/sh
# Makes sure a Go toolchain that can build berth is installed on Debian 12.
# Any Go from 1.21 on will do: it fetches the toolchain go.mod names (1.26)
# from the Go module proxy on first use. Without one, Debian's Go 1.23 is
# installed from bookworm-backports.
set -eu
for go in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go-1.23/bin/go; do
	if [ -n "$go" ] && [ -x "$go" ] && "$go" version | grep -qE 'go1\.(2[1-9]|[3-9][0-9])'; then
		exit 0
	fi
done
src=/etc/apt/sources.list.d/berth-bookworm-backports.sources
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat >"$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports golang-1.23-go
