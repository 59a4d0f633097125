#!/bin/bash
# run.sh BERTH_BIN [OUTDIR] — run the OCI distribution-spec conformance
# suite (github.com/opencontainers/distribution-spec/conformance, pinned in
# this directory's go.mod) against `berth registry serve` on loopback, with
# the four workflows enabled: pull, push, content discovery (tag listing,
# referrers) and content management (tag, manifest and blob deletes).
#
# The suite is built into OUTDIR (default out/) from the Go module proxy
# and run twice: against an open registry (OUTDIR/open) and against one
# with an htpasswd file, the suite logging in (OUTDIR/auth). Each server
# gets a fresh storage root in a temporary directory, removed at the end;
# servers are stopped by their PID. The suite's reports (results.yaml,
# junit.xml, report.html), its output (conformance.log) and the server's
# (registry.log) land there. Exit status 0 when both runs passed.
set -u

die() { echo "run.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: run.sh BERTH_BIN [OUTDIR]"
HERE=$(cd "$(dirname "$0")" && pwd)
BERTH=$(readlink -f "$(command -v "$1")") || die "berth binary $1 not found"
OUT=${2:-$HERE/out}
GO=${GO:-$(command -v go 2>/dev/null || ls /usr/local/go/bin/go 2>/dev/null | head -1)}
[ -x "$GO" ] || die "no go toolchain found"
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

(cd "$HERE" && "$GO" build -o "$OUT/conformance" github.com/opencontainers/distribution-spec/conformance) ||
	die "building the conformance suite failed"

TMP=$(mktemp -d /tmp/berth-registry-conformance.XXXXXX) || die "mktemp failed"
PID=
stop() {
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		PID=
	fi
}
trap 'stop; rm -rf "$TMP"' EXIT

# serve NAME FLAGS...: start `berth registry serve` on a free port (random
# ones tried until the server stays up) with a fresh root; sets PORT, PID.
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
serve() {
	local name=$1
	shift
	for try in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + RANDOM % 20000))
		up "$PORT" && continue
		"$BERTH" --root "$TMP/berth" registry serve --addr "127.0.0.1:$PORT" --root "$TMP/$name" "$@" \
			2>"$OUT/$name/registry.log" &
		PID=$!
		for _ in $(seq 50); do
			up "$PORT" && return 0
			kill -0 "$PID" 2>/dev/null || break
			sleep 0.1
		done
		stop
	done
	die "berth registry serve did not start (see $OUT/$name/registry.log)"
}

# suite NAME: run the suite against the server on PORT, reports in
# OUT/NAME. Every data set the suite enables by default is on, sha512
# content included.
suite() {
	local name=$1
	env OCI_REGISTRY="127.0.0.1:$PORT" OCI_TLS=disabled \
		OCI_REPO1=conformance/repo1 OCI_REPO2=conformance/repo2 \
		OCI_RESULTS_DIR="$OUT/$name" OCI_LOG=warn \
		OCI_API_PULL=true OCI_API_PUSH=true \
		OCI_API_TAGS_LIST=true OCI_API_REFERRER=true \
		OCI_API_TAGS_DELETE=true OCI_API_MANIFESTS_DELETE=true OCI_API_BLOBS_DELETE=true \
		OCI_API_BLOBS_MOUNT_ANONYMOUS=true OCI_API_BLOBS_UPLOAD_CANCEL=true \
		"$OUT/conformance" >"$OUT/$name/conformance.log" 2>&1
	local status=$?
	echo "== $name: exit status $status"
	sed -n '/^OCI Conformance Result/,/^$/p' "$OUT/$name/conformance.log" | grep -v '^time='
	return $status
}

status=0
# Open registry.
mkdir -p "$OUT/open"
serve open
suite open || status=1
stop

# With an htpasswd file: every request authenticated (Basic).
mkdir -p "$OUT/auth"
# bcrypt's lowest cost: the registry checks the hash on every request.
echo "conformance-pw" | "$BERTH" registry htpasswd --cost 4 conformance >"$TMP/htpasswd" || die "htpasswd failed"
serve auth --htpasswd "$TMP/htpasswd"
OCI_USERNAME=conformance OCI_PASSWORD=conformance-pw suite auth || status=1
stop

echo "registry conformance: $([ $status = 0 ] && echo PASS || echo FAIL) (reports in $OUT/open and $OUT/auth)"
exit $status
