#!/usr/bin/env bash
# bench/engine.sh compares the berth engine with Debian's Podman and Docker
# side by side, in one run (issue 5): `run --rm busybox true` latency, the
# time to start 100 containers one after another, the host memory per idle
# container at N=50 (berth-monitor against conmon and containerd-shim), and
# a profile of where `berth run --rm` spends its time. See bench/README.md.
#
# Environment (all optional):
#   RUNS=30 WARMUP=3      hyperfine runs and warmup runs per engine (RUNS >= 20)
#   N_START=100           containers started one after another, per engine
#   N_IDLE=50             idle containers for the memory figures, per engine
#   PROFILE_RUNS=10       runs of the traced `berth run --rm` profile
#   SPLIT_RUNS=20         iterations of berth create / start -a / rm
#   RESULTS=dir           where results go (default bench/results/<date>-engine)
#   BERTH_BIN=dir         where berth, berth-runtime, berth-runtime-init, berth-monitor, berth-init are
#   PODMAN DOCKER DOCKERD the peers' binaries (Debian's podman and docker.io)
#   SETTLE=auto           seconds to wait before each engine's N_START run (settle)

# Run options (run_opts) and container ids are split into words on purpose.
# shellcheck disable=SC2086
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (engines create namespaces, cgroups and mounts)"

# Podman 4.3's crun 1.8 refuses the hybrid cgroup layout (v1 controllers
# with cgroup2 at /sys/fs/cgroup/unified). Re-run the script in a private
# mount namespace without the unified mount, so all three engines run
# under the same conditions; their mounts stay in that namespace and go
# with it. The host's mounts are not touched.
if [ "${_BERTH_ENGINE_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env _BERTH_ENGINE_NS=1 "$BASH" "$0" "$@"
fi
if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
	umount /sys/fs/cgroup/unified
fi

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
N_START=${N_START:-100}
N_IDLE=${N_IDLE:-50}
PROFILE_RUNS=${PROFILE_RUNS:-10}
SPLIT_RUNS=${SPLIT_RUNS:-20}
RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)-engine}
BERTH_BIN=${BERTH_BIN:-$repo/bin}
PODMAN=${PODMAN:-$(command -v podman || true)}
# /usr/bin/docker is docker.io's client; another docker may come first on PATH.
DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-$(command -v dockerd || true)}

for b in berth berth-runtime berth-runtime-init berth-monitor berth-init; do
	[ -x "$BERTH_BIN/$b" ] || die "$BERTH_BIN/$b not found: run make build"
done
if [ -z "$PODMAN" ] || [ ! -x "$PODMAN" ]; then
	die "podman not found: apt-get install podman"
fi
if [ ! -x "$DOCKER" ] || [ -z "$DOCKERD" ] || [ ! -x "$DOCKERD" ]; then
	die "docker.io not found: apt-get install docker.io"
fi
for c in hyperfine jq strace; do
	command -v "$c" >/dev/null || die "$c not found: apt-get install $c"
done
[ "$RUNS" -ge 20 ] || die "RUNS=$RUNS: at least 20 runs are needed"

work=$(mktemp -d /tmp/berth-engine.XXXXXX)
mkdir -p "$RESULTS"
# Each engine's volatile state (berth's --runroot, Podman's --runroot and
# --tmpdir, dockerd's --exec-root) on a tmpfs, as their defaults under
# /run are; private to this mount namespace, it goes with it.
mkdir -p "$work/run"
mount -t tmpfs -o mode=0700 berth-bench-run "$work/run"

# --- what the peers would leave on the host ---------------------------------

# Paths a daemon may create outside its --data-root / --root: removed at the
# end if they were not there before.
host_paths=(/etc/docker/key.json /run/docker /run/docker.sock /run/containerd
	/var/lib/docker /var/lib/containerd /run/libpod /run/containers
	/var/lib/containers/storage)
declare -A existed=()
for p in "${host_paths[@]}"; do
	[ -e "$p" ] && existed[$p]=1
done
# The cgroup parents Docker and Podman (cgroupfs manager) create in each
# hierarchy, and their leftovers in the unified directory (a plain tmpfs
# directory in this namespace, where crun writes).
cg_parents=()
for h in /sys/fs/cgroup/*/; do
	for d in docker libpod_parent; do
		[ -e "$h$d" ] || cg_parents+=("$h$d")
	done
done

# In this private namespace, bind empty directories over the places the
# peers write outside their roots: dockerd's key.json in /etc/docker,
# podman's blob-info cache in /var/lib/containers.
for d in /etc/docker /var/lib/containers; do
	if [ -d "$d" ]; then
		mkdir -p "$work/host$d"
		mount --bind "$work/host$d" "$d"
	fi
done

# --- the engines ---------------------------------------------------------------

# The binaries are copied so that a rebuild of bin/ during the run does
# not change them; berth finds the others beside itself.
mkdir -p "$work/bin"
cp "$BERTH_BIN"/berth "$BERTH_BIN"/berth-runtime "$BERTH_BIN"/berth-runtime-init "$BERTH_BIN"/berth-monitor "$BERTH_BIN"/berth-init "$work/bin/"

names=(berth podman docker)
berth_cmd=("$work/bin/berth" --root "$work/berth" --runroot "$work/run/berth")
# Private root, runroot, tmpdir, volume and network dirs; no events file.
podman_cmd=("$PODMAN" --root "$work/podman/root" --runroot "$work/run/podman"
	--tmpdir "$work/run/podman-tmp" --volumepath "$work/podman/vol"
	--network-config-dir "$work/podman/net" --cgroup-manager cgroupfs
	--events-backend none --storage-driver overlay)
docker_sock=$work/docker/docker.sock
docker_cmd=("$DOCKER" -H "unix://$docker_sock")
export DOCKER_CONFIG=$work/docker-cli

# run options per engine. Podman as root sets RLIMIT_NOFILE 1048576 and
# RLIMIT_NPROC 4194304, above this VM's hard limits, and the VM withholds
# CAP_SYS_RESOURCE: crun then fails ("setrlimit RLIMIT_NOFILE: Operation
# not permitted"). Give it limits within reach (crun sets them from
# conmon, whose RLIMIT_NPROC podman caps at 32768).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
declare -A run_opts=(
	[berth]="--network none"
	[podman]="--network none --ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"
	[docker]="--network none"
)
# The per-container process of each engine (its comm, 15 characters).
declare -A monitor_comm=([berth]=berth-monitor [podman]=conmon [docker]=containerd-shim)

# eng runs engine $1 with the remaining arguments.
eng() {
	local n=$1
	shift
	case $n in
	berth) "${berth_cmd[@]}" "$@" ;;
	podman) "${podman_cmd[@]}" "$@" ;;
	docker) "${docker_cmd[@]}" "$@" ;;
	esac
}

# eng_line prints engine $1's command line for hyperfine -N (no shell).
eng_line() {
	local -n a=$1_cmd
	echo "${a[*]}"
}

# teng runs engine $1 with the remaining arguments, killed after $2 seconds
# (cleanup must not hang on a lock a killed command holds).
teng() {
	local -n a=$1_cmd
	local t=$2
	shift 2
	timeout -k 1 "$t" "${a[@]}" "$@"
}

# rm_all force-removes every container of engine $1.
rm_all() {
	local n=$1 ids
	ids=$(teng "$n" 30 ps -aq 2>/dev/null) || true
	[ -n "$ids" ] || return 0
	case $n in
	podman) teng podman 300 rm -f -t 0 $ids >/dev/null ;; # -t 0: no stop timeout
	*) teng "$n" 300 rm -f $ids >/dev/null ;;
	esac
}

# our_pids prints the pids of processes named $1 (comm) whose command line
# names this run's work directory: the processes this script started.
our_pids() {
	local p c
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] || continue
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		case $c in *"$work"*) echo "${p#/proc/}" ;; esac
	done
}

dockerd_pid=
cleanup() {
	local rc=$? n p left=0 m
	trap - EXIT INT TERM
	set +e
	echo "cleaning up..." >&2
	for n in berth podman; do
		[ -d "$work/$n" ] && rm_all "$n"
	done
	if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		rm_all docker
		kill -TERM "$dockerd_pid"
		for ((i = 0; i < 300; i++)); do
			kill -0 "$dockerd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$dockerd_pid" 2>/dev/null && kill -KILL "$dockerd_pid"
	fi
	sleep 0.5
	# Anything of ours still alive (a monitor, a shim, dockerd's containerd)
	# is ended by pid: every one of them names $work on its command line.
	for m in berth-monitor conmon containerd-shim containerd dockerd; do
		for p in $(our_pids "$m"); do
			warn "$m $p still running: killing it"
			kill -KILL "$p"
			left=1
		done
	done
	for n in berth podman; do
		[ -d "$work/$n" ] || continue
		m=$(teng "$n" 30 ps -aq 2>/dev/null)
		[ -z "$m" ] || { warn "$n still lists containers: $m"; left=1; }
	done
	# Mounts under $work live in this namespace only; unmount them so that
	# rm -rf does not walk into them.
	awk -v w="$work" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m"; done
	for d in /etc/docker /var/lib/containers; do
		mountpoint -q "$d" && umount -l "$d"
	done
	# Cgroup parents the peers made: remove the empty tree (rmdir fails on a
	# busy cgroup, so nothing running is touched). The unified directory is
	# a plain tmpfs directory here (crun writes cgroup.procs files in it).
	for d in "${cg_parents[@]}"; do
		[ -d "$d" ] || continue
		if [ "$(dirname "$d")" = /sys/fs/cgroup/unified ] &&
			[ "$(stat -fc %T /sys/fs/cgroup/unified)" = tmpfs ]; then
			rm -rf "$d"
		else
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
			[ -d "$d" ] && { warn "cgroup $d not empty, kept"; left=1; }
		fi
	done
	for p in "${host_paths[@]}"; do
		if [ -e "$p" ] && [ -z "${existed[$p]:-}" ]; then
			if [ "$p" = /run/docker ] && [ -n "$(pgrep -x dockerd)" ]; then
				warn "/run/docker appeared but another dockerd runs: kept"
				continue
			fi
			rm -rf "$p"
		fi
	done
	if [ "$left" = 0 ]; then
		rm -rf "$work"
	else
		warn "$work kept for inspection"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Docker's daemon -----------------------------------------------------------

mkdir -p "$work/docker" "$DOCKER_CONFIG"
echo '{}' >"$DOCKER_CONFIG/config.json" # podman reads it too
echo '{}' >"$work/docker/daemon.json"
# Private socket, data and exec roots (its containerd runs under them), no
# bridge, no iptables.
"$DOCKERD" -H "unix://$docker_sock" --data-root "$work/docker/data" \
	--exec-root "$work/run/docker" --pidfile "$work/docker/dockerd.pid" \
	--config-file "$work/docker/daemon.json" --storage-driver overlay2 \
	--iptables=false --ip-masq=false --ip-forward=false --bridge=none \
	>"$work/docker/dockerd.log" 2>&1 </dev/null &
dockerd_pid=$!
for ((i = 0; i < 600; i++)); do
	eng docker version >/dev/null 2>&1 && break
	kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/docker/dockerd.log" >&2; die "dockerd exited"; }
	sleep 0.1
done
eng docker version >/dev/null 2>&1 || die "dockerd did not answer in 60 s (log: $work/docker/dockerd.log)"

# --- environment -----------------------------------------------------------------

{
	echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel:     $(uname -r)"
	echo "cpus:       $(nproc)"
	echo "memory:     $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
	echo "berth:      $("$work/bin/berth" --version) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown), binaries of $(date -u -r "$BERTH_BIN/berth" +%H:%M:%SZ))"
	echo "podman:     $("$PODMAN" --version), $(conmon --version | head -1), $(crun --version | head -1)"
	echo "docker:     $(eng docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}'), $(containerd --version | cut -d' ' -f3), $(runc --version | head -1)"
	echo "hyperfine:  $(hyperfine --version)"
	echo "cgroups:    /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup) (v1); the cgroup2 at /sys/fs/cgroup/unified is unmounted in the bench namespace"
	echo "options:    berth run ${run_opts[berth]}; podman run ${run_opts[podman]}; docker run ${run_opts[docker]}"
} | tee "$RESULTS/env.txt"
echo

# --- one busybox image for all three ---------------------------------------------

echo "image: berth image bootstrap busybox, then berth save | docker load, | podman load"
eng berth image bootstrap busybox -q
eng berth save busybox >"$work/busybox.tar"
eng docker load -i "$work/busybox.tar" >"$RESULTS/docker-load.txt" 2>&1 ||
	{ cat "$RESULTS/docker-load.txt" >&2; die "docker load of berth's archive failed"; }
eng podman load -i "$work/busybox.tar" >"$RESULTS/podman-load.txt" 2>&1 ||
	{ cat "$RESULTS/podman-load.txt" >&2; die "podman load of berth's archive failed"; }
for n in "${names[@]}"; do
	printf '  %-7s busybox %s\n' "$n" "$(eng "$n" image inspect --format '{{.Id}}' busybox)"
done | tee "$RESULTS/image-ids.txt"
# A first run of each warms its caches (and proves the options work).
for n in "${names[@]}"; do
	eng "$n" run --rm ${run_opts[$n]} busybox true || die "$n: run --rm busybox true failed"
done
echo

# --- 1. run --rm busybox true: one hyperfine run --------------------------------

cmds=()
for n in "${names[@]}"; do
	cmds+=(-n "$n" "$(eng_line "$n") run --rm ${run_opts[$n]} busybox true")
done
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
	--export-json "$RESULTS/run.json" --export-markdown "$RESULTS/run.md" \
	--export-csv "$RESULTS/run.csv" "${cmds[@]}"

csv=$RESULTS/run.csv
{
	echo
	echo "run --rm busybox true, mean / median / stddev over $RUNS runs:"
	for n in "${names[@]}"; do
		printf '  %-7s %8.1f ms / %8.1f ms / %6.1f ms\n' "$n" \
			"$(ms "$(stat_of "$csv" "$n" mean)")" "$(ms "$(stat_of "$csv" "$n" median)")" \
			"$(ms "$(stat_of "$csv" "$n" stddev)")"
	done
	for other in podman docker; do
		printf '  berth vs %-6s mean %s, median %s\n' "$other" \
			"$(ratio "$(stat_of "$csv" berth mean)" "$(stat_of "$csv" "$other" mean)")" \
			"$(ratio "$(stat_of "$csv" berth median)" "$(stat_of "$csv" "$other" median)")"
	done
} | tee "$RESULTS/run-ratios.txt"
echo

# --- 2. N_START sequential run -d -------------------------------------------------

# settle_s is how long an engine's timed start waits for the inodes freed
# before it (the run --rm runs, the previous engine's rm -f of its
# N_START) to stop costing. ext4 without a journal, as this VM's disk is,
# skips in every inode allocation each inode freed in the last 30 s plus
# five times vm.dirty_expire_centisecs (fs/ext4/ialloc.c, recently_deleted):
# 180 s by default. Each allocation then reads the inode table past them
# (a `run -d` allocates about ten inodes), and the engine that follows
# another's rm pays for it. berth's `run -d` took 15-47 ms while 25-50
# containers were removed every few seconds (perf: 40% of berth's time in
# that search), and 17-19 ms across 60 starts in a row 200 s after the
# last removal. With a journal, ext4 does not look.
settle_s() {
	if [ "$SETTLE" != auto ]; then
		echo "$SETTLE"
		return
	fi
	local dev
	# /dev/mapper/NAME is a link to /dev/dm-N, the name under /sys/fs/ext4.
	dev=$(basename "$(readlink -f "$(findmnt -no SOURCE -T "$work")")")
	if [ "$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null)" = "<none>" ]; then
		echo $((30 + 5 * $(cat /proc/sys/vm/dirty_expire_centisecs) / 100 + 10))
	else
		echo 0
	fi
}
SETTLE=${SETTLE:-auto}
settle=$(settle_s)

# now_us prints the wall clock in microseconds, without a fork.
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# The settle's idle makes the first start after it a cold one (berth's
# took 48-58 ms against 14-15 ms for the next, on this VM): each engine
# starts one container untimed first, as hyperfine's warmup runs do, and
# its time is shown apart.
declare -A start_s=()
out=$RESULTS/start.txt
echo "$N_START sequential run -d busybox sleep 1000 after one untimed, then one rm -f of them all" \
	"(each after ${settle} s without deletions, see settle_s):" | tee "$out"
for n in "${names[@]}"; do
	sleep "$settle"
	tw=$(now_us)
	eng "$n" run -d ${run_opts[$n]} busybox sleep 1000 >/dev/null || die "$n: the untimed run -d failed"
	t0=$(now_us)
	for ((i = 0; i < N_START; i++)); do
		eng "$n" run -d ${run_opts[$n]} busybox sleep 1000 >/dev/null ||
			die "$n: run -d failed at container $((i + 1))"
	done
	t1=$(now_us)
	got=$(eng "$n" ps -q | wc -l)
	[ "$got" = "$((N_START + 1))" ] || die "$n: $got containers running, $((N_START + 1)) expected"
	rm_all "$n" || die "$n: rm -f failed"
	t2=$(now_us)
	start_s[$n]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
	printf '  %-7s start %7.2f s (%6.1f ms each; the untimed first %6.1f ms), rm -f %6.2f s\n' "$n" "${start_s[$n]}" \
		"$(awk -v s="${start_s[$n]}" -v n="$N_START" 'BEGIN { print s * 1000 / n }')" \
		"$(awk -v a="$tw" -v b="$t0" 'BEGIN { printf "%.1f", (b - a) / 1e3 }')" \
		"$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')" | tee -a "$out"
done
for other in podman docker; do
	printf '  berth vs %-6s %s\n' "$other" "$(ratio "${start_s[berth]}" "${start_s[$other]}")"
done | tee -a "$out"
echo

# --- 3. memory per idle container at N_IDLE ----------------------------------------

# mem_available prints MemAvailable in KiB, the median of 5 samples.
mem_available() {
	local i
	for ((i = 0; i < 5; i++)); do
		awk '/^MemAvailable:/ { print $2 }' /proc/meminfo
		sleep 0.4
	done | sort -n | sed -n 3p
}

# rss_pss prints the summed Rss and Pss (KiB) of pids $@.
rss_pss() {
	local p r=0 s=0 a b
	for p in "$@"; do
		read -r a b < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { s = $2 } END { print r + 0, s + 0 }' \
			"/proc/$p/smaps_rollup" 2>/dev/null) || continue
		r=$((r + a))
		s=$((s + b))
	done
	echo "$r $s"
}

mem=$RESULTS/memory.csv
echo "engine,containers,monitors,monitor_rss_kib,monitor_pss_kib,daemon_rss_before_kib,daemon_pss_before_kib,daemon_rss_after_kib,daemon_pss_after_kib,memavailable_before_kib,memavailable_after_kib,memavailable_after_rm_kib" >"$mem"
echo "$N_IDLE idle busybox sleep 1000 per engine..."
for n in "${names[@]}"; do
	daemons=()
	[ "$n" = docker ] && mapfile -t daemons < <(our_pids dockerd; our_pids containerd)
	sleep 2
	read -r drb dpb < <(rss_pss "${daemons[@]}")
	before=$(mem_available)
	for ((i = 0; i < N_IDLE; i++)); do
		eng "$n" run -d ${run_opts[$n]} busybox sleep 1000 >/dev/null ||
			die "$n: run -d failed at container $((i + 1))"
	done
	sleep 5 # let the monitors settle (Go's first GC, lazy page-ins)
	after=$(mem_available)
	mapfile -t mons < <(our_pids "${monitor_comm[$n]}")
	read -r mr mp < <(rss_pss "${mons[@]}")
	read -r dra dpa < <(rss_pss "${daemons[@]}")
	got=$(eng "$n" ps -q | wc -l)
	rm_all "$n" || die "$n: rm -f failed"
	sleep 2
	# MemAvailable again once they are gone: how far the machine drifted
	# (other work on it) while the containers ran.
	gone=$(mem_available)
	echo "$n,$got,${#mons[@]},$mr,$mp,$drb,$dpb,$dra,$dpa,$before,$after,$gone" >>"$mem"
done

{
	echo
	echo "| engine | per-container process | count | RSS / container (MiB) | PSS / container (MiB) | daemons' PSS growth / container (MiB) | MemAvailable drop / container (MiB) | drift after rm / container (MiB) |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F, -v mc="berth-monitor conmon containerd-shim-runc-v2" 'NR > 1 {
		split(mc, m, " ")
		name = ($1 == "berth") ? m[1] : ($1 == "podman") ? m[2] : m[3]
		printf "| %s | %s | %d | %.2f | %.2f | %s | %.2f | %.2f |\n", $1, name, $3,
			$4 / $3 / 1024, $5 / $3 / 1024,
			($1 == "docker") ? sprintf("%.2f (dockerd + containerd)", ($9 - $7) / $2 / 1024) : "none",
			($10 - $11) / $2 / 1024, ($10 - $12) / $2 / 1024
	}' "$mem"
	echo
	awk -F, 'NR > 1 { pss[$1] = $5 / $3; rss[$1] = $4 / $3; avail[$1] = ($10 - $11) / $2 }
		END {
			for (o = 1; o <= 2; o++) {
				p = (o == 1) ? "podman" : "docker"
				printf "berth / %s: RSS %.2f, PSS %.2f, MemAvailable drop %.2f\n", p,
					rss["berth"] / rss[p], pss["berth"] / pss[p], avail["berth"] / avail[p]
			}
		}' "$mem"
} | tee "$RESULTS/memory.md"
echo

# --- 4. where berth run --rm spends its time ----------------------------------------

# a) the CLI steps apart: create, start -a, rm (SPLIT_RUNS iterations).
split=$RESULTS/profile-split.csv
echo "iteration,create_us,start_a_us,rm_us" >"$split"
for ((i = 1; i <= SPLIT_RUNS; i++)); do
	t0=$(now_us)
	id=$(eng berth create ${run_opts[berth]} busybox true)
	t1=$(now_us)
	eng berth start -a "$id" >/dev/null
	t2=$(now_us)
	eng berth rm "$id" >/dev/null
	t3=$(now_us)
	echo "$i,$((t1 - t0)),$((t2 - t1)),$((t3 - t2))" >>"$split"
done

# b) a timeline of the processes of one `berth run --rm`: berth-runtime
# and berth-monitor are replaced by bash wrappers that log when each call
# starts and ends (the monitor's wrapper execs, so only its start is
# known). Each wrapper adds a bash start, a few ms, to what it wraps.
prof=$work/prof
mkdir -p "$prof"
cp "$work/bin/berth" "$work/bin/berth-init" "$work/bin/berth-runtime-init" "$prof/"
cp "$work/bin/berth-runtime" "$prof/berth-runtime.real"
cp "$work/bin/berth-monitor" "$prof/berth-monitor.real"
cat >"$prof/berth-runtime" <<'EOF'
#!/bin/bash
s=$EPOCHREALTIME
"${0}.real" "$@"
rc=$?
verb=
for a in "$@"; do case $a in --root | --log | --log-format) skip=1 ;; -*) ;; *) [ -n "$skip" ] && { skip=; continue; }; verb=$a; break ;; esac; done
echo "$s $EPOCHREALTIME runtime-$verb" >>"$BENCH_PROFILE_LOG"
exit $rc
EOF
cat >"$prof/berth-monitor" <<'EOF'
#!/bin/bash
echo "$EPOCHREALTIME - monitor-start" >>"$BENCH_PROFILE_LOG"
exec -a berth-monitor "${0}.real" "$@"
EOF
chmod +x "$prof/berth-runtime" "$prof/berth-monitor"
export BENCH_PROFILE_LOG=$work/profile.log
plog=$RESULTS/profile-timeline.txt
: >"$plog"
for ((i = 1; i <= PROFILE_RUNS; i++)); do
	: >"$BENCH_PROFILE_LOG"
	s=$EPOCHREALTIME
	"$prof/berth" --root "$work/berth" run --rm ${run_opts[berth]} busybox true
	e=$EPOCHREALTIME
	# The monitor removes the container after berth returns: wait for it,
	# so that its last calls land in this run's log, not the next one's.
	for ((k = 0; k < 200; k++)); do
		[ -z "$(our_pids berth-monitor)" ] && break
		sleep 0.05
	done
	{
		echo "run $i"
		echo "$s $e berth-run"
		cat "$BENCH_PROFILE_LOG"
	} >>"$plog"
done
unset BENCH_PROFILE_LOG

# c) one strace of the same, for the whole process tree (execve, clone,
# exit): which processes run, in order. strace slows Go programs several
# times over: read the order, not the durations.
strace -f -ttt -qq -s 200 -e trace=execve,exit_group -e signal=none -o "$RESULTS/profile-strace.txt" \
	"${berth_cmd[@]}" run --rm ${run_opts[berth]} busybox true

{
	echo "berth create / start -a / rm apart, $SPLIT_RUNS iterations (ms):"
	echo
	echo "| step | mean | median |"
	echo "|---|---|---|"
	for c in 2:create 3:"start -a" 4:rm; do
		col=${c%%:*}
		awk -F, -v c="$col" 'NR > 1 { print $c }' "$split" | sort -n |
			awk -v name="${c#*:}" '{ v[NR] = $1; s += $1 }
				END {
					m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
					printf "| berth %s | %.1f | %.1f |\n", name, s / NR / 1000, m / 1000
				}'
	done
	echo
	echo "berth run --rm timeline, mean of $PROFILE_RUNS runs (ms from the start of berth run;"
	echo "the k-th call of each kind is matched across runs; wrappers add a bash start each):"
	echo
	echo "| step | starts at | ends at | takes |"
	echo "|---|---|---|---|"
	awk '
		/^run / { t0 = 0; split("", seen); next }
		$3 == "berth-run" { t0 = $1; total += ($2 - $1); runs++; next }
		{
			k = $3 "#" (++seen[$3])
			if (!(k in order)) { order[k] = ++nk; keys[nk] = k }
			st[k] += ($1 - t0); cnt[k]++
			if ($2 != "-") { en[k] += ($2 - t0); ecnt[k]++ }
		}
		END {
			for (i = 1; i <= nk; i++) {
				k = keys[i]
				if (ecnt[k])
					printf "| %s | %.1f | %.1f | %.1f |\n", k, st[k] / cnt[k] * 1000,
						en[k] / ecnt[k] * 1000, (en[k] / ecnt[k] - st[k] / cnt[k]) * 1000
				else
					printf "| %s | %.1f | | |\n", k, st[k] / cnt[k] * 1000
			}
			printf "| berth run --rm (whole, wrapped) | 0 | %.1f | %.1f |\n", total / runs * 1000, total / runs * 1000
		}' "$plog"
	echo
	echo "processes started by one berth run --rm (strace; ms from its start, slowed by strace):"
	echo
	awk '/execve\(/ {
		if (!t0) t0 = $2
		a = $0; sub(/^[^[]*\[/, "", a); sub(/\], 0x.*/, "", a)
		n = split(a, w, /", "/); line = ""
		for (i = 1; i <= n; i++) {
			gsub(/"|\.\.\./, "", w[i])
			if (w[i] == "--root") { i++; continue }
			if (w[i] ~ /^\//) sub(/.*\//, "", w[i])
			if (w[i] ~ /^[0-9a-f]+$/ && length(w[i]) > 12) w[i] = substr(w[i], 1, 12)
			line = line (line == "" ? "" : " ") w[i]
		}
		printf "  %7.1f  %s\n", ($2 - t0) * 1000, line }' "$RESULTS/profile-strace.txt"
} | tee "$RESULTS/profile.md"

echo
echo "results in $RESULTS"
