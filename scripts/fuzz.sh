#!/usr/bin/env bash
# make fuzz: every Fuzz target in turn for FUZZTIME. A run that fails only
# with "context deadline exceeded" and writes no crasher is Go's fuzzing
# coordinator timing out on a worker of a loaded machine at the very end
# (no input failed): it is run again (up to three times); any other failure stops here.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do
	for f in $(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
		for try in 1 2 3; do
			echo "== $dir $f"
			if "$GO" test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$dir" 2>&1 | tee "$log"; then
				break
			fi
			if [ "$try" != 3 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
				echo "== $dir $f: coordinator deadline, no failing input; once more"
				continue
			fi
			exit 1
		done
	done
done
