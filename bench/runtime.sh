#!/usr/bin/env bash
# bench/runtime.sh compares berth-runtime with runc and crun side by side on
# the same busybox bundle: one hyperfine run of `run` (busybox true) for all
# three, then the create / start / delete split of each. See bench/README.md.
#
# Environment (all optional):
#   RUNS=50 WARMUP=5      hyperfine runs and warmup runs per runtime
#   SPLIT_RUNS=30         iterations of the create/start/delete loop
#   RESULTS=dir           where results go (default bench/results/<date>)
#   BERTH RUNC CRUN       the runtime binaries
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

die() {
	echo "bench/runtime.sh: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (runtimes create namespaces and cgroups)"

# crun 1.8 refuses a hybrid cgroup layout (v1 controllers with cgroup2 at
# /sys/fs/cgroup/unified). Re-run this script in a private mount namespace
# without the unified mount, so that all three runtimes, and hyperfine, run
# under the same conditions. The host's mounts are not touched.
if [ "${_BERTH_BENCH_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env _BERTH_BENCH_NS=1 "$BASH" "${BASH_SOURCE[0]}" "$@"
fi
if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
	umount /sys/fs/cgroup/unified
fi

BERTH=${BERTH:-$repo/bin/berth-runtime}
RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
SPLIT_RUNS=${SPLIT_RUNS:-30}
RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)}

[ -x "$BERTH" ] || die "$BERTH not found: run make build"
[ -n "$RUNC" ] && [ -x "$RUNC" ] || die "runc not found: run make deps"
[ -n "$CRUN" ] && [ -x "$CRUN" ] || die "crun not found: run make deps"
command -v hyperfine >/dev/null || die "hyperfine not found: run make deps"
[ -x /bin/busybox ] || die "/bin/busybox not found: apt-get install busybox-static"
[ "$RUNS" -ge 30 ] || die "RUNS=$RUNS: at least 30 runs are needed"

names=(berth-runtime runc crun)
declare -A bin=([berth-runtime]=$BERTH [runc]=$RUNC [crun]=$CRUN)

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
bundle=$work/bundle
declare -A root
for n in "${names[@]}"; do
	root[$n]=$work/root-$n
done

# cleanup deletes every container this script may have made, in each
# runtime's private state root, then the work directory. It runs on any exit.
cleanup() {
	local rc=$? n id left
	trap - EXIT INT TERM
	set +e
	for n in "${names[@]}"; do
		[ -d "${root[$n]}" ] || continue
		for id in $("${bin[$n]}" --root "${root[$n]}" list -q 2>/dev/null) "run-$n" "split-$n"; do
			"${bin[$n]}" --root "${root[$n]}" delete --force "$id" >/dev/null 2>&1
		done
		left=$("${bin[$n]}" --root "${root[$n]}" list -q 2>/dev/null)
		[ -z "$left" ] || echo "bench/runtime.sh: warning: $n left containers: $left" >&2
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the bundle -------------------------------------------------------------

mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" \
	"$bundle/rootfs/sys" "$bundle/rootfs/tmp" "$RESULTS"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $("$bundle/rootfs/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$a"
done
"$BERTH" spec --bundle "$bundle"
# No terminal, `true` as the process, and an ociVersion crun 1.8 accepts.
sed -i \
	-e 's/"terminal": true/"terminal": false/' \
	-e 's/^\([[:space:]]*\)"sh"$/\1"true"/' \
	-e 's/"ociVersion": "[^"]*"/"ociVersion": "1.0.2-dev"/' \
	"$bundle/config.json"
grep -q '"terminal": false' "$bundle/config.json" || die "config.json: could not clear process.terminal"
grep -q '^[[:space:]]*"true"$' "$bundle/config.json" || die "config.json: could not set process.args"
grep -q '"ociVersion": "1.0.2-dev"' "$bundle/config.json" || die "config.json: could not set ociVersion"
cp "$bundle/config.json" "$RESULTS/config.json"

{
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel:  $(uname -r)"
	echo "cpus:    $(nproc)"
	echo "berth:   $("$BERTH" --version | head -1) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	echo "runc:    $("$RUNC" --version | head -1)"
	echo "crun:    $("$CRUN" --version | head -1)"
	echo "hyperfine: $(hyperfine --version)"
	echo "cgroups: /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup); a cgroup2 at /sys/fs/cgroup/unified is unmounted in the bench namespace"
} >"$RESULTS/env.txt"
cat "$RESULTS/env.txt"
echo

# rt runs runtime $1 with its own state root and the remaining arguments.
rt() {
	local n=$1
	shift
	"${bin[$n]}" --root "${root[$n]}" "$@"
}

# --- run: one hyperfine run, all three side by side --------------------------

cmds=()
for n in "${names[@]}"; do
	# -N (no shell): hyperfine splits the command line itself.
	cmds+=(-n "$n" "'${bin[$n]}' --root '${root[$n]}' run --bundle '$bundle' run-$n")
done
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
	--export-json "$RESULTS/run.json" \
	--export-markdown "$RESULTS/run.md" \
	--export-csv "$RESULTS/run.csv" \
	"${cmds[@]}"

# stat_of prints field $2 (mean, median, ...) of command $1 from run.csv.
stat_of() {
	awk -F, -v cmd="$1" -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == cmd { print $idx[col] }' "$RESULTS/run.csv"
}
# ratio prints "a/b" and how many times faster or slower a is.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		r = a / b
		printf "%.2f (", r
		if (r < 1) printf "%.2fx faster)", 1 / r; else printf "%.2fx slower)", r
	}'
}

{
	echo
	echo "run (busybox true), mean / median over $RUNS runs:"
	for n in "${names[@]}"; do
		printf '  %-14s %7.2f ms / %7.2f ms\n' "$n" \
			"$(awk -v s="$(stat_of "$n" mean)" 'BEGIN { print s * 1000 }')" \
			"$(awk -v s="$(stat_of "$n" median)" 'BEGIN { print s * 1000 }')"
	done
	for other in runc crun; do
		printf '  berth-runtime vs %-5s mean %s, median %s\n' "$other" \
			"$(ratio "$(stat_of berth-runtime mean)" "$(stat_of "$other" mean)")" \
			"$(ratio "$(stat_of berth-runtime median)" "$(stat_of "$other" median)")"
	done
} | tee "$RESULTS/ratios.txt"

# --- create / start / delete split ------------------------------------------

# Timestamps are ${EPOCHREALTIME/[.,]/}: microseconds, read without a fork.

# wait_stopped polls (untimed) until container $2 of runtime $1 has exited.
wait_stopped() {
	local i
	for ((i = 0; i < 2000; i++)); do
		if rt "$1" state "$2" 2>/dev/null | grep -q '"status": *"stopped"'; then
			return 0
		fi
		sleep 0.005
	done
	die "$1: container $2 did not stop"
}

echo
echo "create / start / delete split, $SPLIT_RUNS iterations (runtimes interleaved)..."
split=$RESULTS/split.csv
echo "runtime,iteration,create_us,start_us,delete_us" >"$split"
errlog=$RESULTS/split-stderr.log
: >"$errlog"
for ((i = 1; i <= SPLIT_RUNS; i++)); do
	# Rotate the order each iteration so no runtime always goes first.
	for ((k = 0; k < ${#names[@]}; k++)); do
		n=${names[$(((i + k) % ${#names[@]}))]}
		id=split-$n
		t0=${EPOCHREALTIME/[.,]/}
		rt "$n" create --bundle "$bundle" "$id" </dev/null >/dev/null 2>>"$errlog" ||
			die "$n create failed (see $errlog)"
		t1=${EPOCHREALTIME/[.,]/}
		rt "$n" start "$id" </dev/null >/dev/null 2>>"$errlog" ||
			die "$n start failed (see $errlog)"
		t2=${EPOCHREALTIME/[.,]/}
		wait_stopped "$n" "$id"
		t3=${EPOCHREALTIME/[.,]/}
		rt "$n" delete "$id" </dev/null >/dev/null 2>>"$errlog" ||
			die "$n delete failed (see $errlog)"
		t4=${EPOCHREALTIME/[.,]/}
		echo "$n,$i,$((10#$t1 - 10#$t0)),$((10#$t2 - 10#$t1)),$((10#$t4 - 10#$t3))" >>"$split"
	done
done

# summarize prints "mean median" in ms of column $2 for runtime $1.
summarize() {
	awk -F, -v n="$1" -v c="$2" 'NR > 1 && $1 == n { print $c }' "$split" | sort -n |
		awk '{ v[NR] = $1; s += $1 }
			END {
				m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%.2f %.2f\n", s / NR / 1000, m / 1000
			}'
}

{
	echo
	echo "| runtime | create mean (median) ms | start mean (median) ms | delete mean (median) ms | sum of means ms |"
	echo "|---|---|---|---|---|"
	for n in "${names[@]}"; do
		read -r cm cmed < <(summarize "$n" 3)
		read -r sm smed < <(summarize "$n" 4)
		read -r dm dmed < <(summarize "$n" 5)
		printf '| %s | %s (%s) | %s (%s) | %s (%s) | %.2f |\n' "$n" \
			"$cm" "$cmed" "$sm" "$smed" "$dm" "$dmed" \
			"$(awk -v a="$cm" -v b="$sm" -v c="$dm" 'BEGIN { print a + b + c }')"
	done
} | tee "$RESULTS/split.md"

echo
echo "results in $RESULTS"
