#!/usr/bin/env bash
# bench/build.sh compares `berth build` with Debian's buildah (`buildah bud`)
# and docker.io's builders (the classic builder, DOCKER_BUILDKIT=0, and
# BuildKit, DOCKER_BUILDKIT=1) side by side, in one run (issue 7), on one
# multi-step Dockerfile (busybox base, RUN and COPY steps, a few MB of
# files):
#
#   cold   build with --no-cache (the base image is present)
#   warm   rebuild with nothing changed (every step from the cache)
#   touch  rebuild after one copied file changed (its COPY and the steps
#          after it run again)
#
# Every engine builds with its RUN steps on no network, and with its own
# private state: berth --root, buildah --root/--runroot, and a dockerd
# started here with private --data-root, --exec-root, --pidfile and socket
# (no bridge, no iptables), stopped by PID at the end. See bench/README.md.
#
# Environment (all optional):
#   RUNS=5            cold builds per engine
#   WARM_RUNS=10      warm and touch rebuilds per engine (after 1 warmup)
#   RESULTS=dir       where results go (default bench/results/<date>-build)
#   BERTH_BIN=dir     where berth, berth-full, berth-runtime, berth-runtime-init, berth-monitor, berth-init are
#   BUILDAH DOCKER DOCKERD   the peers' binaries
#   ENGINES="berth buildah docker-classic docker-buildkit"   a subset to run

# Command lines are split into words on purpose.
# shellcheck disable=SC2086
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (builders create namespaces, cgroups and mounts)"

# runc/crun refuse the hybrid cgroup layout (v1 controllers with cgroup2 at
# /sys/fs/cgroup/unified): run in a private mount namespace without the
# unified mount, as bench/engine.sh does. The host's mounts are not touched.
if [ "${_BERTH_BUILD_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env _BERTH_BUILD_NS=1 "$BASH" "$0" "$@"
fi
if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
	umount /sys/fs/cgroup/unified
fi

RUNS=${RUNS:-5}
WARM_RUNS=${WARM_RUNS:-10}
RESULTS=${RESULTS:-$repo/bench/results/$(date +%Y%m%d-%H%M%S)-build}
BERTH_BIN=${BERTH_BIN:-$repo/bin}
BUILDAH=${BUILDAH:-$(command -v buildah || true)}
# /usr/bin/docker is docker.io's client; another docker may come first on PATH.
DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-$(command -v dockerd || true)}
ENGINES=${ENGINES:-berth buildah docker-classic docker-buildkit}

for b in berth berth-full berth-runtime berth-runtime-init berth-monitor berth-init; do
	[ -x "$BERTH_BIN/$b" ] || die "$BERTH_BIN/$b not found: run make build"
done
[[ " $ENGINES " != *" buildah "* ]] || [ -x "${BUILDAH:-/nonexistent}" ] || die "buildah not found: apt-get install buildah"
if [[ " $ENGINES " == *" docker-"* ]]; then
	[ -x "$DOCKER" ] && [ -x "${DOCKERD:-/nonexistent}" ] || die "docker.io not found: apt-get install docker.io"
fi
command -v hyperfine >/dev/null || die "hyperfine not found: apt-get install hyperfine"
[ "$RUNS" -ge 3 ] || die "RUNS=$RUNS: at least 3 runs are needed"
[ "$WARM_RUNS" -ge 5 ] || die "WARM_RUNS=$WARM_RUNS: at least 5 runs are needed"

work=$(mktemp -d /tmp/berth-build-bench.XXXXXX)
mkdir -p "$RESULTS" "$work/tmp"
export TMPDIR=$work/tmp

# --- what the peers would leave on the host ---------------------------------

host_paths=(/etc/docker/key.json /run/docker /run/docker.sock /run/containerd
	/var/lib/docker /var/lib/containerd /run/containers /run/buildah
	/var/lib/containers/storage)
declare -A existed=()
for p in "${host_paths[@]}"; do
	[ -e "$p" ] && existed[$p]=1
done
# Cgroup parents dockerd and buildah's runc may create in each hierarchy:
# only those that did not exist before are removed, and only when empty.
cg_parents=()
for h in /sys/fs/cgroup/*/; do
	for d in docker buildah libpod_parent; do
		[ -e "$h$d" ] || cg_parents+=("$h$d")
	done
done
# Bind empty directories over the places the peers write outside their
# roots (dockerd's key.json, containers' blob-info cache), in this
# namespace only.
for d in /etc/docker /var/lib/containers; do
	if [ -d "$d" ]; then
		mkdir -p "$work/host$d"
		mount --bind "$work/host$d" "$d"
	fi
done

# --- the builders ----------------------------------------------------------------

mkdir -p "$work/bin"
cp "$BERTH_BIN"/berth "$BERTH_BIN"/berth-full "$BERTH_BIN"/berth-runtime "$BERTH_BIN"/berth-runtime-init "$BERTH_BIN"/berth-monitor "$BERTH_BIN"/berth-init "$work/bin/"
berth_cmd="$work/bin/berth --root $work/berth"
buildah_cmd="$BUILDAH --root $work/buildah/root --runroot $work/buildah/run --storage-driver overlay --cgroup-manager cgroupfs"
docker_sock=$work/docker/docker.sock
docker_cmd="$DOCKER -H unix://$docker_sock"
export DOCKER_CONFIG=$work/docker-cli
mkdir -p "$DOCKER_CONFIG"
echo '{}' >"$DOCKER_CONFIG/config.json" # buildah reads it as an auth file too

# build_line prints engine $1's build command (for hyperfine -N: no shell)
# with extra options $2, tagging bench:latest from $work/ctx.
build_line() {
	case $1 in
	berth) echo "$berth_cmd build --progress plain --network none $2 -t bench:latest $work/ctx" ;;
	buildah) echo "$buildah_cmd bud --layers --pull=never --network none --isolation oci $2 -t bench:latest $work/ctx" ;;
	docker-classic) echo "env DOCKER_BUILDKIT=0 $docker_cmd build --network none $2 -t bench:latest $work/ctx" ;;
	docker-buildkit) echo "env DOCKER_BUILDKIT=1 $docker_cmd build --progress plain --network none $2 -t bench:latest $work/ctx" ;;
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
	local rc=$? p left=0 m d i
	trap - EXIT INT TERM
	set +e
	echo "cleaning up..." >&2
	if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		ids=$(timeout 30 $docker_cmd ps -aq 2>/dev/null)
		[ -z "$ids" ] || timeout 120 $docker_cmd rm -f $ids >/dev/null 2>&1
		kill -TERM "$dockerd_pid"
		for ((i = 0; i < 300; i++)); do
			kill -0 "$dockerd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$dockerd_pid" 2>/dev/null && kill -KILL "$dockerd_pid"
	fi
	[ -d "$work/buildah" ] && timeout 60 $buildah_cmd rm --all >/dev/null 2>&1
	[ -d "$work/berth" ] && { ids=$(timeout 30 $berth_cmd ps -aq 2>/dev/null); [ -z "$ids" ] || timeout 60 $berth_cmd rm -f $ids >/dev/null 2>&1; }
	sleep 0.5
	# Anything of ours still alive is ended by pid: every one of them
	# names $work on its command line.
	for m in berth berth-monitor containerd-shim containerd dockerd buildah runc; do
		for p in $(our_pids "$m"); do
			warn "$m $p still running: killing it"
			kill -KILL "$p"
			left=1
		done
	done
	# Mounts under $work live in this namespace only.
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

# --- Docker's daemon -----------------------------------------------------------

if [[ " $ENGINES " == *" docker-"* ]]; then
	mkdir -p "$work/docker"
	echo '{}' >"$work/docker/daemon.json"
	"$DOCKERD" -H "unix://$docker_sock" --data-root "$work/docker/data" \
		--exec-root "$work/docker/exec" --pidfile "$work/docker/dockerd.pid" \
		--config-file "$work/docker/daemon.json" --storage-driver overlay2 \
		--iptables=false --ip-masq=false --ip-forward=false --bridge=none \
		>"$work/docker/dockerd.log" 2>&1 </dev/null &
	dockerd_pid=$!
	for ((i = 0; i < 600; i++)); do
		$docker_cmd version >/dev/null 2>&1 && break
		kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/docker/dockerd.log" >&2; die "dockerd exited"; }
		sleep 0.1
	done
	$docker_cmd version >/dev/null 2>&1 || die "dockerd did not answer in 60 s (log: $work/docker/dockerd.log)"
fi

# --- the build context: a multi-step Dockerfile and ~5 MB of files ---------------

ctx=$work/ctx
mkdir -p "$ctx/lib" "$ctx/src" "$ctx/assets"
for i in $(seq 1 300); do head -c 4096 /dev/urandom >"$ctx/lib/mod$i.so"; done
for i in $(seq 1 50); do seq "$i" 2000 >"$ctx/src/part$i.txt"; done
head -c 3145728 /dev/urandom >"$ctx/assets/big.bin"
echo 0 >"$ctx/touched.txt"
printf '*.swp\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'EOF'
FROM busybox
RUN mkdir -p /app/data && echo base > /app/base.txt
COPY lib/ /app/lib/
RUN find /app/lib -type f | wc -l > /app/lib.count
COPY assets/big.bin /app/assets/big.bin
ENV APP_HOME=/app MODE=bench
WORKDIR /app
COPY src/ /app/src/
RUN cat src/*.txt | wc -c > /app/src.size
COPY touched.txt /app/touched.txt
RUN md5sum /app/touched.txt > /app/touched.md5 && ls -lR /app > /app/listing
LABEL bench=build
CMD ["sh", "-c", "cat /app/listing"]
EOF
# The touch step's prepare command: new content each run.
cat >"$work/touch.sh" <<EOF
#!/bin/sh
date +%s%N >"$ctx/touched.txt"
EOF
chmod +x "$work/touch.sh"
size=$(du -sk "$ctx" | cut -f1)

# --- environment -----------------------------------------------------------------

{
	echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel:     $(uname -r)"
	echo "cpus:       $(nproc)"
	echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
	echo "berth:      $("$work/bin/berth" --version) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	[[ " $ENGINES " != *" buildah "* ]] || echo "buildah:    $($BUILDAH --version), $(runc --version | head -1), storage overlay, isolation oci"
	[[ " $ENGINES " != *" docker-"* ]] || echo "docker:     $($docker_cmd version --format 'server {{.Server.Version}}, client {{.Client.Version}}'), storage overlay2"
	echo "hyperfine:  $(hyperfine --version)"
	echo "context:    ${size} KiB: 300 x 4 KiB + 50 text files + 3 MiB; Dockerfile of 13 steps (FROM, 4 RUN, 4 COPY, ENV, WORKDIR, LABEL, CMD)"
	echo "runs:       cold $RUNS (--no-cache), warm and touch $WARM_RUNS each after 1 warmup"
} | tee "$RESULTS/env.txt"
cp "$ctx/Dockerfile" "$RESULTS/Dockerfile"
echo

# --- one busybox image for every builder -----------------------------------------

echo "image: berth image bootstrap busybox, then berth save | docker load, | buildah pull docker-archive:"
$berth_cmd image bootstrap busybox -q
$berth_cmd save busybox >"$work/busybox.tar"
if [[ " $ENGINES " == *" docker-"* ]]; then
	$docker_cmd load -i "$work/busybox.tar" >"$RESULTS/docker-load.txt" 2>&1 ||
		{ cat "$RESULTS/docker-load.txt" >&2; die "docker load of berth's archive failed"; }
fi
if [[ " $ENGINES " == *" buildah "* ]]; then
	$buildah_cmd pull -q "docker-archive:$work/busybox.tar" >"$RESULTS/buildah-pull.txt" 2>&1 ||
		{ cat "$RESULTS/buildah-pull.txt" >&2; die "buildah pull of berth's archive failed"; }
	$buildah_cmd tag "$(cat "$RESULTS/buildah-pull.txt" | tail -1)" busybox:latest
fi

# A first build of each proves the command works (and warms the page cache).
for e in $ENGINES; do
	echo "first build: $e"
	$(build_line "$e" "") >"$RESULTS/first-$e.log" 2>&1 ||
		{ tail -30 "$RESULTS/first-$e.log" >&2; die "$e: first build failed"; }
done
echo

# --- the three measurements ----------------------------------------------------------

hf() { # name, then hyperfine arguments
	local n=$1
	shift
	hyperfine -N --export-json "$RESULTS/$n.json" --export-markdown "$RESULTS/$n.md" \
		--export-csv "$RESULTS/$n.csv" "$@"
}

cmds=()
for e in $ENGINES; do cmds+=(-n "$e" "$(build_line "$e" --no-cache)"); done
hf cold --runs "$RUNS" "${cmds[@]}"

cmds=()
for e in $ENGINES; do cmds+=(-n "$e" "$(build_line "$e" "")"); done
hf warm --warmup 1 --runs "$WARM_RUNS" "${cmds[@]}"

# One more warm build of each, logged, shows what each builder took from
# its cache.
for e in $ENGINES; do
	$(build_line "$e" "") >"$RESULTS/warm-$e.log" 2>&1 || warn "$e: logged warm build failed"
done

hf touch --warmup 1 --runs "$WARM_RUNS" --prepare "$work/touch.sh" "${cmds[@]}"
for e in $ENGINES; do
	"$work/touch.sh"
	$(build_line "$e" "") >"$RESULTS/touch-$e.log" 2>&1 || warn "$e: logged touch build failed"
done

# --- the table ---------------------------------------------------------------------

{
	echo
	echo "wall time, mean / median (ms); ratio = berth / peer (below 1: berth faster)"
	printf '  %-16s %-22s %-22s %-22s\n' engine cold warm touch
	for e in $ENGINES; do
		printf '  %-16s' "$e"
		for m in cold warm touch; do
			printf ' %-22s' "$(ms "$(stat_of "$RESULTS/$m.csv" "$e" mean)") / $(ms "$(stat_of "$RESULTS/$m.csv" "$e" median)")"
		done
		echo
	done
	[[ " $ENGINES " == *" berth "* ]] || exit 0
	for e in $ENGINES; do
		[ "$e" = berth ] && continue
		printf '  berth vs %-16s' "$e"
		for m in cold warm touch; do
			printf ' %s: %s' "$m" "$(ratio "$(stat_of "$RESULTS/$m.csv" berth median)" "$(stat_of "$RESULTS/$m.csv" "$e" median)")"
		done
		echo
	done
} | tee "$RESULTS/summary.txt"
