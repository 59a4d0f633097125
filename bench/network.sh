#!/usr/bin/env bash
# bench/network.sh compares container networking side by side in one run
# (issue 6): TCP throughput (iperf3) and latency (sockperf ping-pong) from
# the host to a container through a published port, and from container to
# container on the engine's default network, for berth, Debian's Podman
# (netavark) and Docker (docker.io), against a plain veth pair between two
# namespaces; and the start time of `run --rm busybox true` with
# --network none, the default bridge and a user network. See
# bench/README.md.
#
# Everything runs in a network namespace and a mount namespace of the
# script's own: the engines' bridges, veths, nftables and iptables rules
# (dockerd and netavark add iptables rules) exist only there and go with
# it. The host's network is not touched.
#
# Environment (all optional):
#   SECS=3 REPS=3         seconds of each iperf3 and sockperf measurement, and
#                         how many of each (the median is reported)
#   RUNS=30 WARMUP=3      hyperfine runs per start-time case (RUNS >= 30)
#   ENGINES="berth podman docker"
#   RESULTS=dir           where results go (default bench/results/<date>-network)
#   BERTH_BIN=dir         where berth, berth-runtime, berth-runtime-init, berth-monitor, berth-init are
#   PODMAN DOCKER DOCKERD the peers' binaries

# Run options are split into words on purpose.
# shellcheck disable=SC2086
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (engines create namespaces, bridges and rules)"

# A private network and mount namespace for the whole run; the hybrid
# cgroup layout's unified mount goes (crun 1.8 refuses it), as in
# bench/engine.sh.
if [ "${_BERTH_NETBENCH_NS:-}" != 1 ]; then
	exec unshare --net --mount --propagation private env _BERTH_NETBENCH_NS=1 "$BASH" "$0" "$@"
fi
if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
	umount /sys/fs/cgroup/unified
fi

SECS=${SECS:-3}
REPS=${REPS:-3}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
ENGINES=${ENGINES:-berth podman docker}
RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)-network}
BERTH_BIN=${BERTH_BIN:-$repo/bin}
PODMAN=${PODMAN:-$(command -v podman || true)}
DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-$(command -v dockerd || true)}

for b in berth berth-runtime berth-runtime-init berth-monitor berth-init; do
	[ -x "$BERTH_BIN/$b" ] || die "$BERTH_BIN/$b not found: run make build"
done
for c in iperf3 sockperf hyperfine jq; do
	command -v "$c" >/dev/null || die "$c not found: apt-get install $c"
done
[ "$RUNS" -ge 30 ] || die "RUNS=$RUNS: at least 30 runs are needed"
read -r -a engines <<<"$ENGINES"
for n in "${engines[@]}"; do
	case $n in
	berth) ;;
	podman) [ -n "$PODMAN" ] && [ -x "$PODMAN" ] || die "podman not found: apt-get install podman" ;;
	docker) [ -x "$DOCKER" ] && [ -n "$DOCKERD" ] || die "docker.io not found: apt-get install docker.io" ;;
	*) die "unknown engine $n" ;;
	esac
done

work=$(mktemp -d /tmp/berth-netbench.XXXXXX)
mkdir -p "$RESULTS"

# The "host": this namespace, with its loopback and an address of its own
# (the address published ports are reached on; on lo, as this kernel may
# have no dummy links).
host_ip=10.99.0.1
ip link set lo up
ip addr add "$host_ip/32" dev lo

# Paths a daemon may create outside its roots: removed at the end if new.
host_paths=(/etc/docker/key.json /run/docker /run/docker.sock /run/containerd
	/var/lib/docker /var/lib/containerd /run/libpod /run/containers
	/var/lib/containers/storage /var/lib/cni/networks)
declare -A existed=()
for p in "${host_paths[@]}"; do
	[ -e "$p" ] && existed[$p]=1
done
cg_parents=()
for h in /sys/fs/cgroup/*/; do
	for d in docker libpod_parent; do
		[ -e "$h$d" ] || cg_parents+=("$h$d")
	done
done
for d in /etc/docker /var/lib/containers; do
	if [ -d "$d" ]; then
		mkdir -p "$work/host$d"
		mount --bind "$work/host$d" "$d"
	fi
done

mkdir -p "$work/bin"
cp "$BERTH_BIN"/berth "$BERTH_BIN"/berth-runtime "$BERTH_BIN"/berth-runtime-init "$BERTH_BIN"/berth-monitor "$BERTH_BIN"/berth-init "$work/bin/"
berth_cmd=("$work/bin/berth" --root "$work/berth")
podman_cmd=("$PODMAN" --root "$work/podman/root" --runroot "$work/podman/run"
	--tmpdir "$work/podman/tmp" --volumepath "$work/podman/vol"
	--network-config-dir "$work/podman/net" --cgroup-manager cgroupfs
	--events-backend none --storage-driver overlay)
docker_sock=$work/docker/docker.sock
docker_cmd=("$DOCKER" -H "unix://$docker_sock")
export DOCKER_CONFIG=$work/docker-cli

# Podman as root asks for rlimits above this VM's hard limits (see
# bench/engine.sh).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
declare -A run_opts=(
	[berth]=""
	[podman]="--ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"
	[docker]=""
)
# The tools come from the host's /usr (iperf3 and sockperf are dynamic):
# the same binaries in every engine's container.
tools="-v /usr:/usr:ro -v /usr/lib64:/lib64:ro -v /usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro"

eng() {
	local n=$1
	shift
	case $n in
	berth) "${berth_cmd[@]}" "$@" ;;
	podman) "${podman_cmd[@]}" "$@" ;;
	docker) "${docker_cmd[@]}" "$@" ;;
	esac
}

eng_line() {
	local -n a=$1_cmd
	echo "${a[*]}"
}

teng() {
	local -n a=$1_cmd
	local t=$2
	shift 2
	timeout -k 1 "$t" "${a[@]}" "$@"
}

rm_all() {
	local n=$1 ids
	ids=$(teng "$n" 30 ps -aq 2>/dev/null) || true
	[ -n "$ids" ] || return 0
	case $n in
	podman) teng podman 300 rm -f -t 0 $ids >/dev/null ;;
	*) teng "$n" 300 rm -f $ids >/dev/null ;;
	esac
}

# our_pids prints the pids of processes named $1 whose command line names
# this run's work directory.
our_pids() {
	local p c
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] || continue
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		case $c in *"$work"*) echo "${p#/proc/}" ;; esac
	done
}

dockerd_pid=
bg_pids=()
cleanup() {
	local rc=$? n p left=0 m
	trap - EXIT INT TERM
	set +e
	echo "cleaning up..." >&2
	for p in "${bg_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for n in berth podman; do
		[ -d "$work/$n" ] && rm_all "$n"
	done
	[ -d "$work/berth" ] && teng berth 30 network rm benchnet >/dev/null 2>&1
	[ -d "$work/podman" ] && teng podman 30 network rm benchnet >/dev/null 2>&1
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
	for m in berth-monitor conmon containerd-shim containerd dockerd berth aardvark-dns; do
		for p in $(our_pids "$m"); do
			warn "$m $p still running: killing it"
			kill -KILL "$p"
			left=1
		done
	done
	for ns in "$work/nsA" "$work/nsB"; do
		[ -e "$ns" ] && umount "$ns" 2>/dev/null
	done
	awk -v w="$work" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m"; done
	for d in /etc/docker /var/lib/containers; do
		mountpoint -q "$d" && umount -l "$d"
	done
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

# --- measurements ----------------------------------------------------------------

# median prints the median of its arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# iperf_gbps runs iperf3 -c $1 -p $2 REPS times (the rest: the command
# prefix, e.g. nsenter or an engine's run) and prints the median of the
# received Gbit/s.
iperf_gbps() {
	local ip=$1 port=$2 out r vals=()
	shift 2
	for ((r = 0; r < REPS; r++)); do
		out=$("$@" iperf3 -c "$ip" -p "$port" -t "$SECS" -J) || { echo "$out" >&2; die "iperf3 to $ip:$port failed"; }
		vals+=("$(echo "$out" | jq -r '.end.sum_received.bits_per_second / 1e9')")
	done
	printf '%.2f\n' "$(median "${vals[@]}")"
}

# sockperf_us runs a TCP ping-pong to $1:$2 REPS times and prints the
# medians of the round trip's median and 99th percentile in µs (sockperf
# reports half round trips).
sockperf_us() {
	local ip=$1 port=$2 out r p50s=() p99s=()
	shift 2
	for ((r = 0; r < REPS; r++)); do
		out=$("$@" sockperf ping-pong --tcp -i "$ip" -p "$port" -t "$SECS" 2>&1) || { echo "$out" >&2; die "sockperf to $ip:$port failed"; }
		p50s+=("$(echo "$out" | awk '/percentile 50.000/ { print 2 * $NF }')")
		p99s+=("$(echo "$out" | awk '/percentile 99.000/ { print 2 * $NF }')")
		[ -n "${p50s[-1]}" ] || { echo "$out" >&2; die "sockperf to $ip:$port: no percentiles"; }
	done
	printf '%.1f %.1f\n' "$(median "${p50s[@]}")" "$(median "${p99s[@]}")"
}

declare -A tput=() lat=()

# --- the baseline: a veth pair between two namespaces -----------------------------

echo "baseline: veth pair between two network namespaces"
touch "$work/nsA" "$work/nsB"
unshare --net="$work/nsA" true
unshare --net="$work/nsB" true
inA=(nsenter --net="$work/nsA")
inB=(nsenter --net="$work/nsB")
"${inA[@]}" ip link add vbench0 type veth peer name vbench1 netns "$work/nsB"
"${inA[@]}" ip addr add 10.77.0.1/24 dev vbench0
"${inB[@]}" ip addr add 10.77.0.2/24 dev vbench1
"${inA[@]}" ip link set vbench0 up
"${inB[@]}" ip link set vbench1 up
"${inB[@]}" ip link set lo up
"${inB[@]}" iperf3 -s -p 5201 >/dev/null 2>&1 &
bg_pids+=($!)
"${inB[@]}" sockperf server --tcp -i 10.77.0.2 -p 11111 >/dev/null 2>&1 &
bg_pids+=($!)
sleep 1
tput[veth]=$(iperf_gbps 10.77.0.2 5201 "${inA[@]}")
lat[veth]=$(sockperf_us 10.77.0.2 11111 "${inA[@]}")
for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
wait "${bg_pids[@]}" 2>/dev/null || true
bg_pids=()
echo "  veth: ${tput[veth]} Gbit/s, RTT p50/p99 ${lat[veth]} µs"

# --- the engines ---------------------------------------------------------------------

if [[ " ${engines[*]} " == *" docker "* ]]; then
	mkdir -p "$work/docker" "$DOCKER_CONFIG"
	echo '{}' >"$DOCKER_CONFIG/config.json"
	echo '{}' >"$work/docker/daemon.json"
	# Private socket, data and exec roots; its bridge (docker0) and
	# iptables rules are made in this script's network namespace.
	"$DOCKERD" -H "unix://$docker_sock" --data-root "$work/docker/data" \
		--exec-root "$work/docker/exec" --pidfile "$work/docker/dockerd.pid" \
		--config-file "$work/docker/daemon.json" --storage-driver overlay2 \
		--bip 172.18.0.1/16 >"$work/docker/dockerd.log" 2>&1 </dev/null &
	dockerd_pid=$!
	for ((i = 0; i < 600; i++)); do
		eng docker version >/dev/null 2>&1 && break
		kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/docker/dockerd.log" >&2; die "dockerd exited"; }
		sleep 0.1
	done
	eng docker version >/dev/null 2>&1 || die "dockerd did not answer in 60 s"
fi
[[ " ${engines[*]} " == *" podman "* ]] && mkdir -p "$work/podman/net"

{
	echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel:     $(uname -r)"
	echo "cpus:       $(nproc)"
	echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
	echo "berth:      $("$work/bin/berth" --version) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	[[ " ${engines[*]} " != *" podman "* ]] || echo "podman:     $("$PODMAN" --version), network backend $(eng podman info --format '{{.Host.NetworkBackend}}')"
	[[ " ${engines[*]} " != *" docker "* ]] || echo "docker:     $(eng docker version --format 'server {{.Server.Version}}'), iptables $(iptables --version)"
	echo "tools:      $(iperf3 --version | head -1); $(sockperf --version 2>&1 | head -1); median of $REPS runs of $SECS s"
} | tee "$RESULTS/env.txt"

eng berth image bootstrap busybox -q >/dev/null
eng berth save busybox >"$work/busybox.tar"
for n in "${engines[@]}"; do
	[ "$n" = berth ] && continue
	eng "$n" load -i "$work/busybox.tar" >"$RESULTS/$n-load.txt" 2>&1 ||
		{ cat "$RESULTS/$n-load.txt" >&2; die "$n load of berth's archive failed"; }
done

for n in "${engines[@]}"; do
	echo "$n: server container (iperf3 and sockperf), published ports 15201 and 11111"
	eng "$n" run -d --name srv ${run_opts[$n]} $tools -p 15201:5201 -p 11111:11111 busybox \
		/bin/sh -c 'iperf3 -s -p 5201 & exec sockperf server --tcp -p 11111' >/dev/null
	if [ "$n" = docker ]; then
		srv_ip=$(eng docker inspect -f '{{.NetworkSettings.IPAddress}}' srv)
	else
		srv_ip=$(eng "$n" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' srv)
	fi
	[ -n "$srv_ip" ] || die "$n: no address for the server container"
	sleep 1
	tput[$n/host]=$(iperf_gbps "$host_ip" 15201 env)
	lat[$n/host]=$(sockperf_us "$host_ip" 11111 env)
	tput[$n/c2c]=$(iperf_gbps "$srv_ip" 5201 eng "$n" run --rm ${run_opts[$n]} $tools busybox)
	lat[$n/c2c]=$(sockperf_us "$srv_ip" 11111 eng "$n" run --rm ${run_opts[$n]} $tools busybox)
	echo "  host -> $host_ip:15201 -> container: ${tput[$n/host]} Gbit/s, RTT p50/p99 ${lat[$n/host]} µs"
	echo "  container -> container ($srv_ip):    ${tput[$n/c2c]} Gbit/s, RTT p50/p99 ${lat[$n/c2c]} µs"
	if [ "$n" = podman ]; then
		eng podman rm -f -t 0 srv >/dev/null # -t 0: no stop timeout
	else
		eng "$n" rm -f srv >/dev/null
	fi
done

# --- start time ------------------------------------------------------------------------

echo "start time: run --rm busybox true, $RUNS runs each"
declare -A start_ms=()
for n in "${engines[@]}"; do
	eng "$n" network create benchnet >/dev/null
	eng "$n" run --rm ${run_opts[$n]} busybox true
	cmds=()
	for mode in none default benchnet; do
		net="--network $mode"
		[ "$mode" = default ] && net=""
		cmds+=(-n "$n/$mode" "$(eng_line "$n") run --rm ${run_opts[$n]} $net busybox true")
	done
	hyperfine -N --style basic --runs "$RUNS" --warmup "$WARMUP" \
		--export-json "$RESULTS/start-$n.json" "${cmds[@]}" >"$RESULTS/start-$n.txt"
	for mode in none default benchnet; do
		start_ms[$n/$mode]=$(jq -r --arg c "$n/$mode" \
			'.results[] | select(.command == $c) | .median * 1000 | . * 10 | round / 10' "$RESULTS/start-$n.json")
	done
	eng "$n" network rm benchnet >/dev/null
	echo "  $n: none ${start_ms[$n/none]} ms, default bridge ${start_ms[$n/default]} ms, user network ${start_ms[$n/benchnet]} ms (medians)"
done

# --- summary ---------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
	echo
	echo "| path | engine | Gbit/s | RTT p50 µs | RTT p99 µs | throughput / veth |"
	echo "|---|---|---|---|---|---|"
	read -r p50 p99 <<<"${lat[veth]}"
	echo "| veth pair (baseline) | - | ${tput[veth]} | $p50 | $p99 | 1.00 |"
	for path in host c2c; do
		for n in "${engines[@]}"; do
			read -r p50 p99 <<<"${lat[$n/$path]}"
			label="host -> published port"
			[ "$path" = c2c ] && label="container -> container"
			echo "| $label | $n | ${tput[$n/$path]} | $p50 | $p99 | $(ratio "${tput[$n/$path]}" "${tput[veth]}") |"
		done
	done
	echo
	echo "| engine | --network none ms | default bridge ms | user network ms | bridge - none ms |"
	echo "|---|---|---|---|---|"
	for n in "${engines[@]}"; do
		echo "| $n | ${start_ms[$n/none]} | ${start_ms[$n/default]} | ${start_ms[$n/benchnet]} | $(awk -v a="${start_ms[$n/default]}" -v b="${start_ms[$n/none]}" 'BEGIN { printf "%.1f", a - b }') |"
	done
} | tee "$RESULTS/summary.md"
