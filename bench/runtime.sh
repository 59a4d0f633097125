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

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup "$@"

SPLIT_RUNS=${SPLIT_RUNS:-30}
bundle=$work/bundle

write_env

# --- the bundle -------------------------------------------------------------

make_rootfs "$bundle/rootfs"
default_config "$bundle/rootfs" '["true"]' >"$bundle/config.json"
cp "$bundle/config.json" "$RESULTS/config.json"

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

csv=$RESULTS/run.csv
{
	echo
	echo "run (busybox true), mean / median over $RUNS runs:"
	for n in "${names[@]}"; do
		printf '  %-14s %7.2f ms / %7.2f ms\n' "$n" \
			"$(ms "$(stat_of "$csv" "$n" mean)")" "$(ms "$(stat_of "$csv" "$n" median)")"
	done
	for other in runc crun; do
		printf '  berth-runtime vs %-5s mean %s, median %s\n' "$other" \
			"$(ratio "$(stat_of "$csv" berth-runtime mean)" "$(stat_of "$csv" "$other" mean)")" \
			"$(ratio "$(stat_of "$csv" berth-runtime median)" "$(stat_of "$csv" "$other" median)")"
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
