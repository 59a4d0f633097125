#!/bin/bash
# run.sh RUNTIME_BIN [OUTDIR] — run the OCI runtime-tools validation suite
# (github.com/opencontainers/runtime-tools v0.9.0, pinned in go.mod) against
# an OCI runtime with runc's command line. Needs root.
#
# The validation programs are built once into build/ (rebuilt when go.mod or
# go.sum change). Each program runs with a timeout (TIMEOUT, default 60s),
# with RUNTIME pointing at a wrapper that adds a private --root, TMPDIR
# pointing at a private directory for the bundles, and a private working
# directory holding runtimetest and the suite's rootfs tarball. After each
# program, every container left in the private state root is killed and
# force-deleted, the bundles are removed and the cgroups the suite creates
# (cgrouptest, testdir, ones named after the test's container ids) are
# removed if empty.
#
# Output in OUTDIR (default out/<runtime basename>): NAME.tap (stdout),
# NAME.err (stderr), and summary.tsv with one line per test program:
#   name  PASS|FAIL  ok  not_ok  skip  exit_code  note
# PASS means exit status 0 and no "not ok" TAP line. Some programs (hooks,
# *_fail) print no test point ("1..0") and report a failure only as an
# "error" YAML diagnostic or a WARNING on stderr: such a program counts as
# one not ok when it does (note no-test-points,error-diagnostic).
#
# TESTS="hostname kill" restricts the run to those programs.
set -u

die() { echo "run.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: run.sh RUNTIME_BIN [OUTDIR]"
[ "$(id -u)" = 0 ] || die "must run as root"

HERE=$(cd "$(dirname "$0")" && pwd)
RT=$(command -v "$1") || die "runtime $1 not found"
RT=$(readlink -f "$RT")
NAME=$(basename "$RT")
OUT=${2:-$HERE/out/$NAME}
TIMEOUT=${TIMEOUT:-60}
BUILD=$HERE/build

GO=${GO:-$(command -v go 2>/dev/null || ls /usr/local/go/bin/go 2>/dev/null | head -1)}
[ -n "$GO" ] || die "go not found"

# --- build (cached) ---------------------------------------------------------
if [ ! -f "$BUILD/.stamp" ] || [ "$HERE/go.mod" -nt "$BUILD/.stamp" ] || [ "$HERE/go.sum" -nt "$BUILD/.stamp" ]; then
	echo "building the validation programs into $BUILD" >&2
	rm -rf "$BUILD" && mkdir -p "$BUILD/bin"
	# runtimetest runs inside the suite's busybox rootfs: static.
	(cd "$HERE" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" build -trimpath -o "$BUILD/bin/" tool) || die "build failed"
	src=$(cd "$HERE" && GOFLAGS=-mod=mod "$GO" list -m -f '{{.Dir}}' github.com/opencontainers/runtime-tools) || die "go list failed"
	arch=$(cd "$HERE" && "$GO" env GOARCH)
	cp "$src/rootfs-$arch.tar.gz" "$BUILD/" || die "no rootfs-$arch.tar.gz"
	chmod u+w "$BUILD/rootfs-$arch.tar.gz"
	touch "$BUILD/.stamp"
fi
ARCH=$(cd "$HERE" && "$GO" env GOARCH)

if [ -n "${TESTS:-}" ]; then
	LIST=$TESTS
else
	LIST=$(cd "$BUILD/bin" && ls | grep -v '^runtimetest$' | sort)
fi

# --- private state, bundles and working directory ---------------------------
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/berth-conformance.XXXXXX) || die "mktemp failed"
STATE=/run/berth-conformance.${WORK##*.}
mkdir -p "$STATE" "$WORK/tmp" "$WORK/cwd"
# Like /tmp: containers whose root is not the host's root (user namespaces)
# must reach their bundle (mktemp -d makes 0700).
chmod 755 "$WORK" "$WORK/cwd" && chmod 1777 "$WORK/tmp"
cp "$BUILD/bin/runtimetest" "$BUILD/rootfs-$ARCH.tar.gz" "$WORK/cwd/"
WRAP=$WORK/runtime
printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$RT" "$STATE" > "$WRAP"
chmod 755 "$WRAP"

UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

# cleanup_cgroups removes the empty cgroups the suite creates: its fixed
# names (cgrouptest, testdir) and the ones named after a container id (the
# suite's ids are UUIDs), deepest first. On cgroup file systems only rmdir;
# a match on tmpfs (not a cgroup at all) is removed with its files.
cleanup_cgroups() {
	local d
	find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -regextype posix-extended -type d \
		\( -name cgrouptest -o -name testdir -o -regex ".*/$UUID_RE(\.scope)?" \) 2>/dev/null |
		awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- |
		while read -r d; do
			# In crun's private namespace (cgroup2 unmounted from
			# /sys/fs/cgroup/unified) the runtime writes into the plain
			# tmpfs directory left there: remove those files too.
			if [ "$(stat -f -c %T "$d")" = tmpfs ]; then
				rm -rf --one-file-system "$d"
			else
				find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
			fi
			[ -d "$d" ] && echo "leftover cgroup: $d" >&2
		done
	return 0
}

cleanup_containers() {
	local id n=0
	for id in $("$WRAP" list -q 2>/dev/null); do
		"$WRAP" kill "$id" KILL >/dev/null 2>&1
		"$WRAP" delete --force "$id" >/dev/null 2>&1 || {
			sleep 1
			"$WRAP" delete --force "$id" >/dev/null 2>&1 || echo "cannot delete container $id" >&2
		}
		n=$((n + 1))
	done
	[ $n -gt 0 ] && echo "  cleaned up $n container(s)" >&2
	# Some runtimes' list skips broken state: remove what is left.
	return 0
}

cleanup_mounts() {
	# Nothing should be mounted under WORK in this namespace; unmount
	# whatever a propagation test may have leaked, deepest first.
	local m
	awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; echo "unmounted leaked $m" >&2; done
	return 0
}

cleanup_all() {
	cleanup_containers
	cleanup_mounts
	rm -rf --one-file-system "$WORK/tmp" && mkdir -m 1777 "$WORK/tmp"
	cleanup_cgroups
}

final_cleanup() {
	cleanup_all
	cleanup_mounts
	rm -rf --one-file-system "$WORK"
	if [ -d "$STATE" ]; then
		# berth-runtime's compiled seccomp filters are not container state.
		rm -rf --one-file-system "$STATE/@cache"
		rmdir "$STATE" 2>/dev/null || { echo "state left in $STATE:" >&2; ls -la "$STATE" >&2; }
	fi
}
trap final_cleanup EXIT
trap 'exit 130' INT TERM

{
	echo "# runtime: $RT"
	echo "# version: $("$RT" --version 2>&1 | head -3 | tr '\n' ' ')"
	echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$OUT/summary.tsv"

pass=0 fail=0
for t in $LIST; do
	[ -x "$BUILD/bin/$t" ] || { echo "no test program $t" >&2; continue; }
	(cd "$WORK/cwd" && RUNTIME=$WRAP TMPDIR=$WORK/tmp timeout -k 5 "$TIMEOUT" "$BUILD/bin/$t" \
		> "$OUT/$t.tap" 2> "$OUT/$t.err" < /dev/null)
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$OUT/$t.tap")
	skip=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$OUT/$t.tap")
	notok=$(grep -cE '^not ok [0-9]+' "$OUT/$t.tap")
	ok=$((ok - skip))
	note=
	if [ $((ok + notok + skip)) -eq 0 ]; then
		# No test point ("1..0"): the hook and *_fail programs report a
		# failure only as an "error" diagnostic or a WARNING on stderr.
		note=no-test-points
		if grep -q '"error":' "$OUT/$t.tap" || grep -q '^WARNING' "$OUT/$t.err"; then
			notok=1 note=no-test-points,error-diagnostic
		fi
	fi
	if [ $rc -ne 0 ] || [ "$notok" -ne 0 ]; then
		res=FAIL; fail=$((fail + 1))
	else
		res=PASS; pass=$((pass + 1))
	fi
	[ $rc -eq 124 ] && echo "# $t timed out after ${TIMEOUT}s" >> "$OUT/$t.err"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$res" "$ok" "$notok" "$skip" "$rc" "$note" | tee -a "$OUT/summary.tsv"
	cleanup_all
done
echo "$NAME: $pass passed, $fail failed (results in $OUT)" >&2
[ $fail -eq 0 ]
