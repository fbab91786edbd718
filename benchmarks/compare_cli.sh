#!/bin/bash
# Compare two installations of mcqueue through the command line, runs alternated (A, B, A, B,
# ...): the first (compiling) run of `mcqueue simulate` with numba's cache deleted before each
# run, then warm runs of the default command, a feature-free 3,000,000-replication night and a
# score of the frozen four-night sample. Prints "<case> <A|B> <round> <wall> <user> <system>"
# (seconds, GNU time) per run.
#
# Usage: benchmarks/compare_cli.sh TREE_A TREE_B [ROUNDS]
#   TREE_x: a source tree of mcqueue with its own virtualenv in TREE_x/.venv (pip install -e),
#   e.g. main exported with `git archive main | tar -x -C /tmp/main` and this worktree.
set -u
A=$1; B=$2; ROUNDS=${3:-5}
FROZEN=$(cd "$(dirname "$0")/.." && pwd)/tests/golden/sample_four_nights.csv
OUT=$(mktemp)
t() { /usr/bin/time -f "%e %U %S" -o "$OUT" "$@" > /dev/null 2>&1 || echo -n "FAIL "; cat "$OUT"; }
for i in $(seq "$ROUNDS"); do
  for v in A B; do
    tree=${!v}
    find "$tree/mcqueue" \( -name '*.nbi' -o -name '*.nbc' \) -delete
    echo "cold $v $i $(t "$tree/.venv/bin/mcqueue" simulate)"
  done
done
for v in A B; do tree=${!v}; "$tree/.venv/bin/mcqueue" simulate > /dev/null 2>&1; done
for i in $(seq "$ROUNDS"); do
  for v in A B; do
    m=${!v}/.venv/bin/mcqueue
    echo "default $v $i $(t "$m" simulate --format json)"
    echo "big13 $v $i $(t "$m" simulate --batch-date 2026-05-13 --replications 3000000 --format json)"
    echo "score $v $i $(t "$m" score --file "$FROZEN" --workers 2,3,4 --replications 300000 --format json)"
  done
done
rm -f "$OUT"
