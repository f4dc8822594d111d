#!/usr/bin/env bash
# Each stage of two checkouts of the project, run one after the other, pair by pair: the
# before/after figures of a change on a machine whose speed drifts (the README quotes them).
#
#   git worktree add /tmp/before REV && ln -s "$PWD/.venv" /tmp/before/.venv
#   bash benchmarks/stages_paired.sh /tmp/before . [PAIRS]
#
# Both checkouts need the demo data in place (data/raw/demo is in git); stages run in DAG
# order, so each one reads what the stage before it wrote in the same checkout. Prints one
# line per run (pair, stage, checkout, wall s, CPU s of the stage and its kernel) and the
# mean of each stage and of their sum.
set -euo pipefail
before=$(cd "$1" && pwd) after=$(cd "$2" && pwd) pairs=${3:-2}
python=$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python
out=$(mktemp)
for pair in $(seq "$pairs"); do
  for stage in ingest growth retention initiatives supply report; do
    for checkout in "$before" "$after"; do
      (cd "$checkout" && /usr/bin/time -f "$pair $stage $checkout %e %U %S" -a -o "$out" \
        "$python" -m pipeline run "$stage" >/dev/null 2>&1)
    done
  done
done
cat "$out"
awk -v b="$before" '{ k = ($3 == b ? "before" : "after"); wall[$2" "k] += $4; cpu[$2" "k] += $5 + $6;
       n[$2" "k]++; total_wall[k] += $4; total_cpu[k] += $5 + $6; runs[k]++ }
     END { for (s in wall) printf "%-20s wall %6.1f s  CPU %6.1f s\n", s, wall[s] / n[s], cpu[s] / n[s];
           for (k in total_wall) printf "all stages %-9s wall %6.1f s  CPU %6.1f s\n", k,
             total_wall[k] * 6 / runs[k], total_cpu[k] * 6 / runs[k] }' "$out" | sort
rm -f "$out"
