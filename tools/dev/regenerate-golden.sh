#!/usr/bin/env bash
# Regenerates the golden outputs the CLI tests compare with. Review the diff before committing it.
set -euo pipefail
cd "$(dirname "$0")/../.."
scalesim=${1:-build/tools/scalesim/scalesim}
"$scalesim" decide --annotation autoscaling.knative.dev/target=5 traces/azure2021/concurrency.csv \
  > tests/data/golden/decide-azure2021-target5.csv
"$scalesim" decide --input averages --decider target=10 --decider total=10 --decider target-burst-capacity=20 \
  docs/examples/panic-averages.csv > tests/data/golden/decide-panic-example.csv
"$scalesim" run traces/azure2021/Azure2021_200.csv --threads 2 > tests/data/golden/run-azure2021.txt
git diff --stat -- tests/data/golden
