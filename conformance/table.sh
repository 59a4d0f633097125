#!/bin/bash
# table.sh LABEL=OUTDIR... — a markdown table of run.sh results side by side:
#   | test file | LABEL1 | LABEL2 | ... |
# Each cell is PASS/FAIL with ok/not ok counts (skips when any, and the exit
# status when not 0); programs without test points show "(silent)" when
# they reported nothing (a pass) or "(error diagnostic)" when they reported
# a failure. Test files are the union of all summaries.
set -eu
[ $# -ge 1 ] || { echo "usage: table.sh LABEL=OUTDIR..." >&2; exit 2; }
labels=() dirs=()
for a in "$@"; do labels+=("${a%%=*}"); dirs+=("${a#*=}"); done

names=$(for d in "${dirs[@]}"; do grep -v '^#' "$d/summary.tsv" | cut -f1; done | sort -u)

printf '| test file |'; for l in "${labels[@]}"; do printf ' %s |' "$l"; done; echo
printf '|---|'; for _ in "${labels[@]}"; do printf -- '---|'; done; echo
declare -A npass
for n in $names; do
	printf '| %s |' "$n"
	for i in "${!dirs[@]}"; do
		line=$(awk -F'\t' -v n="$n" '$1 == n' "${dirs[$i]}/summary.tsv")
		if [ -z "$line" ]; then printf ' – |'; continue; fi
		IFS=$'\t' read -r _ res ok notok skip rc note <<<"$line"
		cell="$res $ok/$notok"
		case "${note:-}" in
		*error-diagnostic*) cell="$res (error diagnostic)" ;;
		no-test-points) cell="$res (silent)" ;;
		esac
		[ "$skip" != 0 ] && cell="$cell, $skip skip"
		[ "$rc" != 0 ] && cell="$cell, exit $rc"
		[ "$rc" = 124 ] && cell="$cell (timeout)"
		[ "$res" = PASS ] && npass[$i]=$((${npass[$i]:-0} + 1))
		[ "$res" = FAIL ] && cell="**$cell**"
		printf ' %s |' "$cell"
	done
	echo
done
printf '| **PASS total** |'; for i in "${!dirs[@]}"; do printf ' %s |' "${npass[$i]:-0}"; done; echo
