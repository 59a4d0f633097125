#!/bin/sh
# Runs every fuzz target of the module (each `func FuzzX` in a _test.go
# file) for FUZZTIME (default 30s), one after another; stops at the first
# failure. Usage: scripts/fuzz.sh [PATTERN] — PATTERN limits the targets
# to those whose package path or name matches it (grep -E).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
pattern=${1:-.}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg=./$(dirname "${f#./}")
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r name; do
		echo "$pkg $name" | grep -Eq -- "$pattern" || continue
		echo "== $pkg $name"
		$GO test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s
	done
done
