#!/bin/sh
# gate.sh SUMMARY.TSV [LIST] — fail unless every program named in LIST
# (default conformance/must-pass.txt) passed in run.sh's summary.tsv.
set -eu
summary=$1
list=${2:-$(dirname "$0")/must-pass.txt}
[ -r "$summary" ] || { echo "gate.sh: no summary at $summary" >&2; exit 2; }
failed=0
for t in $(grep -v '^#' "$list"); do
	res=$(awk -F'\t' -v t="$t" '$1 == t { print $2 }' "$summary")
	if [ "$res" != PASS ]; then
		echo "conformance gate: $t: ${res:-not run} (see $(dirname "$summary")/$t.tap and .err)" >&2
		failed=$((failed + 1))
	fi
done
if [ "$failed" -gt 0 ]; then
	echo "conformance gate: $failed program(s) of $list failed" >&2
	exit 1
fi
echo "conformance gate: all $(grep -vc '^#' "$list") programs of $(basename "$list") pass"
