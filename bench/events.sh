#!/usr/bin/env bash
# bench/events.sh times `events --stats ID` on a running container (busybox
# sleep, berth-runtime's default config with cgroup limits) for
# berth-runtime, runc and crun where it has the command, in one hyperfine
# run. See bench/README.md.
#
# Environment (all optional):
#   RUNS=50 WARMUP=5      hyperfine runs and warmup runs per runtime
#   RESULTS=dir           where results go (default bench/results/<date>)
#   BERTH RUNC CRUN       the runtime binaries
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup "$@"

write_env

make_rootfs "$work/rootfs"
mkdir -p "$work/bundle"
# Limits, so that every controller the stats read has something set.
default_config "$work/rootfs" '["sleep", "3600"]' | jq '
	.linux.resources.memory = {limit: 268435456}
	| .linux.resources.pids = {limit: 1024}
	| .linux.resources.cpu = {shares: 512, quota: 50000, period: 100000}' \
	>"$work/bundle/config.json"
cp "$work/bundle/config.json" "$RESULTS/events-config.json"

# has_events reports whether runtime $1 has an `events` command (crun 1.8
# does not: "unknown command events").
has_events() {
	"${bin[$1]}" events --help >/dev/null 2>&1
}

timed=()
: >"$RESULTS/events-stderr.log"
for n in "${names[@]}"; do
	if ! has_events "$n"; then
		echo "$n: no events command ($("${bin[$n]}" --version | head -1)); not timed" |
			tee -a "$RESULTS/events-notes.txt"
		continue
	fi
	id=events-$n
	rt "$n" create --bundle "$work/bundle" "$id" </dev/null >/dev/null 2>>"$RESULTS/events-stderr.log" ||
		die "$n create failed (see $RESULTS/events-stderr.log)"
	rt "$n" start "$id" </dev/null >/dev/null 2>>"$RESULTS/events-stderr.log" ||
		die "$n start failed (see $RESULTS/events-stderr.log)"
	# One untimed call: it must work and print a stats event.
	out=$(rt "$n" events --stats "$id" 2>>"$RESULTS/events-stderr.log") ||
		die "$n events --stats failed (see $RESULTS/events-stderr.log)"
	jq -e '.type == "stats" and (.data.pids.current // 0) >= 1' <<<"$out" >/dev/null ||
		die "$n events --stats: not a stats event with pids.current >= 1: $out"
	jq . <<<"$out" >"$RESULTS/events-$n.json"
	timed+=("$n")
done
[ "${#timed[@]}" -gt 0 ] || die "no runtime has an events command"

cmds=()
for n in "${timed[@]}"; do
	# -N (no shell); --output=null: the JSON goes nowhere, like a pipe read
	# by a monitor, but is still written.
	cmds+=(-n "$n" "'${bin[$n]}' --root '${root[$n]}' events --stats events-$n")
done
hyperfine -N --output=null --warmup "$WARMUP" --runs "$RUNS" \
	--export-json "$RESULTS/events.json" \
	--export-markdown "$RESULTS/events-hyperfine.md" \
	--export-csv "$RESULTS/events.csv" \
	"${cmds[@]}"

csv=$RESULTS/events.csv
# timed_has reports whether runtime $1 was timed.
timed_has() {
	local n
	for n in "${timed[@]}"; do
		[ "$n" = "$1" ] && return 0
	done
	return 1
}
{
	echo
	echo "events --stats on a running container, $RUNS runs each; ms:"
	echo
	echo "| runtime | mean | median | stddev | min |"
	echo "|---|---|---|---|---|"
	for n in "${timed[@]}"; do
		printf '| %s | %s | %s | %s | %s |\n' "$n" \
			"$(ms "$(stat_of "$csv" "$n" mean)")" "$(ms "$(stat_of "$csv" "$n" median)")" \
			"$(ms "$(stat_of "$csv" "$n" stddev)")" "$(ms "$(stat_of "$csv" "$n" min)")"
	done
	for other in runc crun; do
		if ! timed_has berth-runtime || ! timed_has "$other"; then
			echo
			echo "berth-runtime / $other: not measured ($other or berth-runtime has no events command)"
			continue
		fi
		echo
		printf 'berth-runtime / %s: mean %s, median %s\n' "$other" \
			"$(ratio "$(stat_of "$csv" berth-runtime mean)" "$(stat_of "$csv" "$other" mean)")" \
			"$(ratio "$(stat_of "$csv" berth-runtime median)" "$(stat_of "$csv" "$other" median)")"
	done
} | tee "$RESULTS/events.md"

echo
echo "results in $RESULTS"
