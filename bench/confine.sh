#!/usr/bin/env bash
# bench/confine.sh measures the cost of the confinement: `run` of busybox
# `true` with a bare isolation spec (namespaces only) and with the default
# spec (Docker's seccomp profile, Docker's capabilities, masked and
# read-only paths, cgroup limits), for berth-runtime, runc and crun: first a
# check that each runtime applies each config, then all six (and berth
# without its seccomp cache) in one hyperfine run, then the same commands
# interleaved. See bench/README.md.
#
# Environment (all optional):
#   RUNS=50 WARMUP=5      hyperfine runs and warmup runs per command, and
#                         rounds of the interleaved loop
#   RESULTS=dir           where results go (default bench/results/<date>)
#   BERTH RUNC CRUN       the runtime binaries
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup "$@"

configs=(bare default)

# The limits the default config sets, the same for all three runtimes.
mem_limit=$((256 << 20))
pids_limit=1024
cpu_shares=512
cpu_quota=50000
cpu_period=100000

# Every capability up to CAP_CHECKPOINT_RESTORE (40, Linux 5.9) that this
# process holds: "full" is what a runtime started from here can grant (a
# sandboxed host may lack some, CAP_SYS_RESOURCE for one).
cap_names=(CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER
	CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP
	CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST
	CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE
	CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT
	CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE CAP_SYS_RESOURCE
	CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE
	CAP_AUDIT_CONTROL CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN
	CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ
	CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE)
own_caps=$((16#$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)))
all_caps=()
full_caps=0
for ((i = 0; i < ${#cap_names[@]}; i++)); do
	if (((own_caps >> i) & 1)); then
		all_caps+=("${cap_names[i]}")
		full_caps=$((full_caps | (1 << i)))
	fi
done
full_capeff=$(printf '%016x' "$full_caps")
[ "${#all_caps[@]}" -lt "${#cap_names[@]}" ] &&
	warn "this process lacks some capabilities: the bare config grants ${#all_caps[@]} of ${#cap_names[@]}"

write_env

# --- the configs --------------------------------------------------------------

make_rootfs "$work/rootfs"

# config prints config $1 (bare or default) running process.args $2.
config() {
	local base
	base=$(default_config "$work/rootfs" "$2")
	case $1 in
	default)
		# berth-runtime's default, plus limits in linux.resources.
		jq --argjson mem "$mem_limit" --argjson pids "$pids_limit" \
			--argjson shares "$cpu_shares" --argjson quota "$cpu_quota" \
			--argjson period "$cpu_period" '
			.linux.resources.memory = {limit: $mem}
			| .linux.resources.pids = {limit: $pids}
			| .linux.resources.cpu = {shares: $shares, quota: $quota, period: $period}' <<<"$base"
		;;
	bare)
		# Namespaces only: no seccomp, every capability, no masked or
		# read-only paths, no resources (no device rules, no limits).
		jq --args '
			del(.linux.seccomp, .linux.maskedPaths, .linux.readonlyPaths, .linux.resources)
			| .process.capabilities = {bounding: $ARGS.positional,
				effective: $ARGS.positional, permitted: $ARGS.positional}' \
			"${all_caps[@]}" <<<"$base"
		;;
	esac
}

# bundle dirs: $work/<config>/run runs `true`, $work/<config>/check `sleep`.
for c in "${configs[@]}"; do
	mkdir -p "$work/$c/run" "$work/$c/check"
	config "$c" '["true"]' >"$work/$c/run/config.json"
	config "$c" '["sleep", "30"]' >"$work/$c/check/config.json"
	cp "$work/$c/run/config.json" "$RESULTS/confine-config-$c.json"
done

# --- check that each runtime applies each config ------------------------------

# The default config's masked paths that exist here: each must become a
# mount point in the container.
masked_want=0
: >"$work/masked"
for p in $(jq -r '.linux.maskedPaths[]' "$work/default/run/config.json"); do
	[ -e "$p" ] || continue
	echo "$p" >>"$work/masked"
	masked_want=$((masked_want + 1))
done
[ "$masked_want" -gt 0 ] || die "none of the default config's masked paths exists on this host"

# cg_file prints the path of cgroup file $3 of controller $2 for pid $1, on
# cgroup v1 (one hierarchy per controller) or v2.
cg_file() {
	local pid=$1 ctrl=$2 file=$3 path
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		echo "/sys/fs/cgroup$path/$file"
		return
	fi
	path=$(awk -F: -v c="$ctrl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
	echo "/sys/fs/cgroup/$ctrl$path/$file"
}

# read_cg prints a cgroup file's first line, or "-" if it cannot be read.
read_cg() {
	head -1 "$1" 2>/dev/null || echo -
}

# status_field prints field $2 of /proc/$1/status.
status_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# check starts config $2 with runtime $1 (busybox sleep), reads from the
# host what the kernel enforces on its process, prints one table row and
# fails if the runtime did not apply the config.
check() {
	local n=$1 c=$2 id=check-$1-$2 pid i comm seccomp filters capeff nnp masked
	local mem pids shares quota cgpath
	rt "$n" create --bundle "$work/$c/check" "$id" </dev/null >/dev/null 2>>"$RESULTS/confine-stderr.log" ||
		die "$n create ($c) failed (see $RESULTS/confine-stderr.log)"
	rt "$n" start "$id" </dev/null >/dev/null 2>>"$RESULTS/confine-stderr.log" ||
		die "$n start ($c) failed (see $RESULTS/confine-stderr.log)"
	pid=$(rt "$n" state "$id" | jq -r .pid)
	# runc loads a filter with noNewPrivileges after `start` returns,
	# right before execve: wait for the program to run.
	for ((i = 0; i < 400; i++)); do
		comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
		[ "$comm" = sleep ] && break
		sleep 0.005
	done
	[ "$comm" = sleep ] || die "$n ($c): process $pid is '$comm', not sleep"
	seccomp=$(status_field "$pid" Seccomp)
	filters=$(status_field "$pid" Seccomp_filters)
	capeff=$(status_field "$pid" CapEff)
	nnp=$(status_field "$pid" NoNewPrivs)
	# Mount points (field 5) that are masked paths.
	masked=$(awk 'NR == FNR { m[$0] = 1; next } $5 in m' "$work/masked" "/proc/$pid/mountinfo" | wc -l)
	mem=$(read_cg "$(cg_file "$pid" memory memory.limit_in_bytes)")
	[ "$mem" != - ] || mem=$(read_cg "$(cg_file "$pid" memory memory.max)")
	pids=$(read_cg "$(cg_file "$pid" pids pids.max)")
	shares=$(read_cg "$(cg_file "$pid" cpu cpu.shares)")
	[ "$shares" != - ] || shares=$(read_cg "$(cg_file "$pid" cpu cpu.weight)")
	quota=$(read_cg "$(cg_file "$pid" cpu cpu.cfs_quota_us)")
	[ "$quota" != - ] || quota=$(read_cg "$(cg_file "$pid" cpu cpu.max)")
	cgpath=$(cg_file "$pid" memory "")
	rt "$n" delete --force "$id" >/dev/null 2>>"$RESULTS/confine-stderr.log" ||
		die "$n delete ($c) failed"
	printf '| %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$n" "$c" "$seccomp" "${filters:--}" "$capeff" "$nnp" "$masked" \
		"$mem" "$pids" "$shares" "$quota" "${cgpath#/sys/fs/cgroup/}"
	case $c in
	default)
		[ "$seccomp" = 2 ] || die "$n ($c): Seccomp: $seccomp, want 2 (filter)"
		[ "$capeff" = 00000000a80425fb ] || die "$n ($c): CapEff $capeff, want Docker's 00000000a80425fb"
		[ "$masked" = "$masked_want" ] || die "$n ($c): $masked of $masked_want masked paths are masked"
		[ "$mem" = "$mem_limit" ] || die "$n ($c): memory limit $mem, want $mem_limit"
		[ "$pids" = "$pids_limit" ] || die "$n ($c): pids.max $pids, want $pids_limit"
		[ "$quota" = "$cpu_quota" ] || [ "$quota" = "$cpu_quota $cpu_period" ] ||
			die "$n ($c): cpu quota $quota, want $cpu_quota"
		;;
	bare)
		[ "$seccomp" = 0 ] || die "$n ($c): Seccomp: $seccomp, want 0 (none)"
		[ "$capeff" = "$full_capeff" ] || die "$n ($c): CapEff $capeff, want $full_capeff (all)"
		[ "$masked" = 0 ] || die "$n ($c): masked paths present"
		;;
	esac
}

{
	echo "What the kernel enforces on each container's process (busybox sleep), read from the host:"
	echo
	echo "| runtime | config | Seccomp (filters) | CapEff | NoNewPrivs | masked mounts | memory limit | pids.max | cpu shares | cpu quota | memory cgroup |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for n in "${names[@]}"; do
		for c in "${configs[@]}"; do
			check "$n" "$c"
		done
	done
} | tee "$RESULTS/confine-verify.md" # pipefail: a failed check ends the script
echo

# --- run: one hyperfine run, six commands -------------------------------------

# berth-runtime keeps the BPF program it compiles from linux.seccomp in
# <root>/@cache/seccomp (runc and crun compile it on every start). A
# seventh command, default-nocache, has its own root whose cache is removed
# before every run: the cost without the cache.
bin[berth-nocache]=$BERTH
root[berth-nocache]=$work/root-berth-nocache

# The configs of one runtime run back to back, so the difference between
# them (the cost) sees the same conditions. One --prepare per command.
cmds=()
for n in "${names[@]}"; do
	for c in "${configs[@]}"; do
		# -N (no shell): hyperfine splits the command line itself.
		cmds+=(--prepare true -n "$n/$c" "'${bin[$n]}' --root '${root[$n]}' run --bundle '$work/$c/run' run-$n-$c")
		if [ "$n" = berth-runtime ] && [ "$c" = default ]; then
			cmds+=(--prepare "rm -rf '${root[berth-nocache]}/@cache'"
				-n "$n/default-nocache"
				"'$BERTH' --root '${root[berth-nocache]}' run --bundle '$work/$c/run' run-nocache")
		fi
	done
done
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
	--export-json "$RESULTS/confine.json" \
	--export-markdown "$RESULTS/confine-hyperfine.md" \
	--export-csv "$RESULTS/confine.csv" \
	"${cmds[@]}"

csv=$RESULTS/confine.csv
# s prints statistic $3 of runtime $1 with config $2, in seconds.
s() {
	stat_of "$csv" "$1/$2" "$3"
}

{
	echo
	echo "run (busybox true), $RUNS runs each; ms, mean / median (stddev):"
	echo
	echo "| runtime | bare | default | cost = default - bare |"
	echo "|---|---|---|---|"
	for n in "${names[@]}"; do
		printf '| %s | %s / %s (%s) | %s / %s (%s) | %s / %s |\n' "$n" \
			"$(ms "$(s "$n" bare mean)")" "$(ms "$(s "$n" bare median)")" "$(ms "$(s "$n" bare stddev)")" \
			"$(ms "$(s "$n" default mean)")" "$(ms "$(s "$n" default median)")" "$(ms "$(s "$n" default stddev)")" \
			"$(ms "$(awk -v a="$(s "$n" default mean)" -v b="$(s "$n" bare mean)" 'BEGIN { print a - b }')")" \
			"$(ms "$(awk -v a="$(s "$n" default median)" -v b="$(s "$n" bare median)" 'BEGIN { print a - b }')")"
	done
	n=berth-runtime
	printf '| %s, no seccomp cache | | %s / %s (%s) | %s / %s |\n' "$n" \
		"$(ms "$(s "$n" default-nocache mean)")" "$(ms "$(s "$n" default-nocache median)")" "$(ms "$(s "$n" default-nocache stddev)")" \
		"$(ms "$(awk -v a="$(s "$n" default-nocache mean)" -v b="$(s "$n" bare mean)" 'BEGIN { print a - b }')")" \
		"$(ms "$(awk -v a="$(s "$n" default-nocache median)" -v b="$(s "$n" bare median)" 'BEGIN { print a - b }')")"
	echo
	echo "| ratio | config | mean | median |"
	echo "|---|---|---|---|"
	for other in runc crun; do
		for c in "${configs[@]}"; do
			printf '| berth-runtime / %s | %s | %s | %s |\n' "$other" "$c" \
				"$(ratio "$(s berth-runtime "$c" mean)" "$(s "$other" "$c" mean)")" \
				"$(ratio "$(s berth-runtime "$c" median)" "$(s "$other" "$c" median)")"
		done
		printf '| berth-runtime / %s | default, berth without seccomp cache | %s | %s |\n' "$other" \
			"$(ratio "$(s berth-runtime default-nocache mean)" "$(s "$other" default mean)")" \
			"$(ratio "$(s berth-runtime default-nocache median)" "$(s "$other" default median)")"
	done
} | tee "$RESULTS/confine.md"

# --- the same, interleaved -----------------------------------------------------

# hyperfine runs one command's runs after another's, so load that comes and
# goes on a shared machine falls on some commands and not others. This loop
# runs the seven commands in turn, order rotated each round, and times each
# with bash's $EPOCHREALTIME (no fork); the cache removal is not timed.
keys=()
for n in "${names[@]}"; do
	for c in "${configs[@]}"; do
		keys+=("$n/$c")
	done
done
keys+=(berth-runtime/default-nocache)

# run_key runs command $1 of the hyperfine run once.
run_key() {
	case $1 in
	berth-runtime/default-nocache)
		"$BERTH" --root "${root[berth-nocache]}" run --bundle "$work/default/run" run-nocache ;;
	*) rt "${1%/*}" run --bundle "$work/${1#*/}/run" "run-${1%/*}-${1#*/}" ;;
	esac
}

echo
echo "interleaved: $RUNS rounds of the ${#keys[@]} commands, order rotated..."
inter=$RESULTS/confine-interleaved.csv
echo "command,round,us" >"$inter"
for ((i = 1; i <= RUNS; i++)); do
	for ((k = 0; k < ${#keys[@]}; k++)); do
		key=${keys[$(((i + k) % ${#keys[@]}))]}
		[ "$key" != berth-runtime/default-nocache ] || rm -rf "${root[berth-nocache]}/@cache"
		t0=${EPOCHREALTIME/[.,]/}
		run_key "$key" </dev/null >/dev/null 2>>"$RESULTS/confine-stderr.log" ||
			die "$key failed (see $RESULTS/confine-stderr.log)"
		t1=${EPOCHREALTIME/[.,]/}
		echo "$key,$i,$((10#$t1 - 10#$t0))" >>"$inter"
	done
done

# istat prints "mean median min" in ms of command $1 in the interleaved run.
istat() {
	awk -F, -v k="$1" 'NR > 1 && $1 == k { print $3 }' "$inter" | sort -n |
		awk '{ v[NR] = $1; s += $1 }
			END {
				m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%.2f %.2f %.2f\n", s / NR / 1000, m / 1000, v[1] / 1000
			}'
}

{
	echo
	echo "interleaved, $RUNS rounds; ms, mean / median / min:"
	echo
	echo "| runtime | bare | default | cost = default - bare (mean / median / min) |"
	echo "|---|---|---|---|"
	declare -A st
	for key in "${keys[@]}"; do
		st[$key]=$(istat "$key")
	done
	for n in "${names[@]}" berth-runtime-nocache; do
		b=$n/bare d=$n/default label=$n
		if [ "$n" = berth-runtime-nocache ]; then
			b=berth-runtime/bare d=berth-runtime/default-nocache label="berth-runtime, no seccomp cache"
		fi
		read -r bm bmed bmin <<<"${st[$b]}"
		read -r dm dmed dmin <<<"${st[$d]}"
		printf '| %s | %s / %s / %s | %s / %s / %s | %s |\n' "$label" \
			"$bm" "$bmed" "$bmin" "$dm" "$dmed" "$dmin" \
			"$(awk -v a="$dm $dmed $dmin" -v b="$bm $bmed $bmin" 'BEGIN {
				split(a, x, " "); split(b, y, " ")
				printf "%.2f / %.2f / %.2f", x[1] - y[1], x[2] - y[2], x[3] - y[3] }')"
	done
	echo
	echo "| ratio (median) | bare | default | default, berth without seccomp cache |"
	echo "|---|---|---|---|"
	for other in runc crun; do
		printf '| berth-runtime / %s | %s | %s | %s |\n' "$other" \
			"$(ratio "$(cut -d' ' -f2 <<<"${st[berth-runtime/bare]}")" "$(cut -d' ' -f2 <<<"${st[$other/bare]}")")" \
			"$(ratio "$(cut -d' ' -f2 <<<"${st[berth-runtime/default]}")" "$(cut -d' ' -f2 <<<"${st[$other/default]}")")" \
			"$(ratio "$(cut -d' ' -f2 <<<"${st[berth-runtime/default-nocache]}")" "$(cut -d' ' -f2 <<<"${st[$other/default]}")")"
	done
} | tee "$RESULTS/confine-interleaved.md"

echo
echo "results in $RESULTS"
