# bench/lib.sh: helpers the bench scripts share. Source it, do not run it:
#
#	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#	bench_setup "$@"   # root check, private mount namespace, binaries, trap
#
# After bench_setup: $repo, $work (a temp dir removed on exit), the arrays
# names (berth-runtime runc crun), bin[name] and root[name] (a private state
# root per runtime), and the settings RUNS, WARMUP, RESULTS. Every container
# in those roots is force-deleted on any exit.

export LC_ALL=C

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench_here")
bench_script=$(basename "$0")

die() {
	echo "bench/$bench_script: $*" >&2
	exit 1
}

warn() {
	echo "bench/$bench_script: warning: $*" >&2
}

# bench_setup checks the environment, re-executes the calling script in a
# private mount namespace and prepares $work, the runtimes and the trap.
bench_setup() {
	[ "$(id -u)" = 0 ] || die "must run as root (runtimes create namespaces and cgroups)"

	# crun 1.8 refuses a hybrid cgroup layout (v1 controllers with cgroup2
	# at /sys/fs/cgroup/unified). Re-run the script in a private mount
	# namespace without the unified mount, so that all three runtimes, and
	# hyperfine, run under the same conditions. The host's mounts are not
	# touched.
	if [ "${_BERTH_BENCH_NS:-}" != 1 ]; then
		exec unshare --mount --propagation private env _BERTH_BENCH_NS=1 "$BASH" "$0" "$@"
	fi
	if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
		umount /sys/fs/cgroup/unified
	fi

	BERTH=${BERTH:-$repo/bin/berth-runtime}
	RUNC=${RUNC:-$(command -v runc || true)}
	CRUN=${CRUN:-$(command -v crun || true)}
	RUNS=${RUNS:-50}
	WARMUP=${WARMUP:-5}
	RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)}

	[ -x "$BERTH" ] || die "$BERTH not found: run make build"
	[ -n "$RUNC" ] && [ -x "$RUNC" ] || die "runc not found: run make deps"
	[ -n "$CRUN" ] && [ -x "$CRUN" ] || die "crun not found: run make deps"
	command -v hyperfine >/dev/null || die "hyperfine not found: run make deps"
	command -v jq >/dev/null || die "jq not found: apt-get install jq"
	[ -x /bin/busybox ] || die "/bin/busybox not found: apt-get install busybox-static"
	[ "$RUNS" -ge 30 ] || die "RUNS=$RUNS: at least 30 runs are needed"

	names=(berth-runtime runc crun)
	declare -gA bin=([berth-runtime]=$BERTH [runc]=$RUNC [crun]=$CRUN)
	declare -gA root=()

	work=$(mktemp -d /tmp/berth-bench.XXXXXX)
	local n
	for n in "${names[@]}"; do
		root[$n]=$work/root-$n
	done
	mkdir -p "$RESULTS"
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# bench_cleanup deletes every container in each runtime's private state
# root, then the work directory. It runs on any exit.
bench_cleanup() {
	local rc=$? n id left keep=0
	trap - EXIT INT TERM
	set +e
	# Bounded: a runtime killed mid-create by the same signal may hold the
	# container's lock, and cleanup must not hang on it.
	for n in "${!root[@]}"; do
		[ -d "${root[$n]}" ] || continue
		for id in $(timeout -k 1 10 "${bin[$n]}" --root "${root[$n]}" list -q 2>/dev/null); do
			timeout -k 1 10 "${bin[$n]}" --root "${root[$n]}" delete --force "$id" >/dev/null 2>&1 ||
				warn "$n: delete --force $id failed or timed out"
		done
		left=$(timeout -k 1 10 "${bin[$n]}" --root "${root[$n]}" list -q 2>/dev/null)
		[ -z "$left" ] || warn "$n left containers: $left (state root ${root[$n]} kept)"
		[ -z "$left" ] || keep=1
	done
	# A state root that still lists containers is kept: removing it would
	# orphan their cgroups and processes without a way to delete them.
	if [ "$keep" = 0 ]; then
		rm -rf "$work"
	else
		warn "$work kept for a manual delete --force"
	fi
	exit "$rc"
}

# rt runs runtime $1 with its own state root and the remaining arguments.
rt() {
	local n=$1
	shift
	"${bin[$n]}" --root "${root[$n]}" "$@"
}

# make_rootfs lays out Debian's static busybox with its applet links in $1.
make_rootfs() {
	local dir=$1 a
	mkdir -p "$dir/bin" "$dir/proc" "$dir/dev" "$dir/sys" "$dir/tmp" "$dir/etc"
	cp /bin/busybox "$dir/bin/busybox"
	for a in $("$dir/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$dir/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
}

# default_config prints berth-runtime's default config.json (`spec`) with
# the rootfs at $1, no terminal, process.args from $2 (a JSON array) and
# an ociVersion crun 1.8 accepts (it rejects 1.2.x).
default_config() {
	local d
	d=$(mktemp -d "$work/spec.XXXXXX")
	"$BERTH" spec --bundle "$d" || die "berth-runtime spec failed"
	jq --arg rootfs "$1" --argjson args "$2" '
		.ociVersion = "1.0.2-dev"
		| .root.path = $rootfs
		| .process.terminal = false
		| .process.args = $args' "$d/config.json" || die "jq: cannot edit the default config.json"
	rm -rf "$d"
}

# write_env records the machine and the versions in $RESULTS/env.txt and
# prints them.
write_env() {
	{
		echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "kernel:  $(uname -r)"
		echo "cpus:    $(nproc)"
		echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
		echo "berth:   $("$BERTH" --version | head -1) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
		echo "runc:    $("$RUNC" --version | head -1)"
		echo "crun:    $("$CRUN" --version | head -1)"
		echo "hyperfine: $(hyperfine --version)"
		echo "cgroups: /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup); a cgroup2 at /sys/fs/cgroup/unified is unmounted in the bench namespace"
	} >"$RESULTS/env.txt"
	cat "$RESULTS/env.txt"
	echo
}

# stat_of prints field $3 (mean, median, stddev, ...) of command $2 from
# hyperfine's CSV export $1, in seconds.
stat_of() {
	awk -F, -v cmd="$2" -v col="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == cmd { print $idx[col]; found = 1 }
		END { if (!found) exit 1 }' "$1" || die "$1: no $3 for $2"
}

# ms prints seconds $1 as milliseconds with two decimals.
ms() {
	awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'
}

# ratio prints "a/b" and how many times faster or slower a is.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		r = a / b
		printf "%.2f (", r
		if (r < 1) printf "%.2fx faster)", 1 / r; else printf "%.2fx slower)", r
	}'
}
