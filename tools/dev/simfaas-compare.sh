#!/usr/bin/env bash
# Issue #7, "side by side with a peer": SimFaaS's README scenario (Poisson 0.9/s, exponential service 1.991 s warm
# / 2.244 s cold, 600 s keep-alive, 10^6 s) run by SimFaaS and by us with the fixed keep-alive policy, back to back
# in one run, then one table: wall and CPU time (user + sys), P(cold), average instances and our speed ratio.
# docs/performance.md, "Side by side with SimFaaS", explains the model differences and records the figures.
#
# Usage: tools/dev/simfaas-compare.sh SIMFAAS_DIR [BUILD_DIR]   (default BUILD_DIR: build)
#   SIMFAAS_DIR  a checkout of https://github.com/pacslab/simfaas (the directory holding simfaas/); it is not in
#                this repository and this script downloads nothing. E.g.
#                  git clone https://github.com/pacslab/simfaas /tmp/simfaas
#                It needs Debian's python3-numpy, python3-pandas, python3-scipy, python3-tqdm, python3-matplotlib
#                (run with /usr/bin/python3, whose dist-packages hold them).
#   BUILD_DIR    a Release build with the targets scalesim and simfaas_benchmark (SCALESIM=PATH overrides the
#                scalesim binary, PYTHON=PATH the interpreter).
# Rows:
#   simfaas         ServerlessSimulator.generate_trace() alone, timed inside Python (process_time for CPU)
#   bench-exp       BM_SimFaaS_Scenario/exact_cold:0/count:0: in-process, cold start exp(253 ms), the plain
#                   keep-alive policy (the timed figure); Google Benchmark's real and CPU time per run
#   bench-exp-n     .../exact_cold:0/count:1: the same, the policy wrapped to count its own cold starts
#   bench-exact-n   .../exact_cold:1/count:1: cold start 0 w.p. 1.991/2.244 else exp(2.244 s), which makes a cold
#                   request's service exactly SimFaaS's exp(2.244 s)
#   cli-exp         `scalesim run` on a generated 10^6 s CSV (generation not timed), --cold-start exp:253ms, whole
#                   process (reading the 30 MB CSV included)
#   cli-mixture     the same with the exact decomposition as an empirical table (tail truncated at 60 s)
# Columns: cold_wait = requests that waited for a pod to start (the simulator's cold_starts); cold_new = requests
# that found no idle instance (SimFaaS's cold start; ours from the counting wrapper, "-" where not counted);
# p_cold = cold_new / requests where known, else cold_wait / requests; avg_inst = pod-seconds / 10^6 s.
# Ratios are SimFaaS's time over ours, for wall and for CPU; on a shared machine the CPU ratio is the fairer one.
set -euo pipefail

usage="usage: tools/dev/simfaas-compare.sh SIMFAAS_DIR [BUILD_DIR]"
simfaas=${1:?$usage}
build=${2:-build}
python=${PYTHON:-/usr/bin/python3}
scalesim=${SCALESIM:-$build/tools/scalesim/scalesim}
bench=$build/benchmarks/simfaas_benchmark
[[ -f $simfaas/simfaas/ServerlessSimulator.py ]] ||
  { echo "simfaas-compare.sh: $simfaas/simfaas/ServerlessSimulator.py not found; clone pacslab/simfaas there" >&2; exit 1; }
for f in "$scalesim" "$bench"; do
  [[ -x $f ]] || { echo "simfaas-compare.sh: $f not found; cmake --build $build --target scalesim simfaas_benchmark" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "simfaas-compare.sh: /usr/bin/time is required (Debian package time)" >&2; exit 1; }
"$python" -c 'import numpy, pandas, scipy, tqdm' 2>/dev/null ||
  { echo "simfaas-compare.sh: $python lacks numpy/pandas/scipy/tqdm (apt-get install python3-numpy python3-pandas python3-scipy python3-tqdm)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/simfaas-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
     "load $(cut -d' ' -f1-3 /proc/loadavg); SimFaaS $(git -C "$simfaas" rev-parse --short HEAD 2>/dev/null || echo '(no git)')"

# --- inputs (not timed) ---
"$scalesim" trace gen --kind poisson --rate 0.9 --length 1000000 --duration exp:1.991s --seed 1 > "$work/trace.csv"
# Cold start = 0 with probability p0 = 1.991/2.244, else exp(2.244 s): the inverse CDF is 0 up to p0, then
# p0 + (1 - p0)(1 - exp(-x / 2.244)). Points every 0.05 s up to 60 s (tail beyond: 2.5e-12), linear in between.
awk 'BEGIN {
  w = 1.991; c = 2.244; p0 = w / c
  print "quantile,seconds"; printf "0,0\n%.15f,0\n", p0
  for (x = 0.05; x < 59.99; x += 0.05) printf "%.15f,%.2f\n", p0 + (1 - p0) * (1 - exp(-x / c)), x
  print "1,60"
}' > "$work/cold_mixture.csv"

cat > "$work/simfaas_run.py" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[1])
from simfaas.ServerlessSimulator import ServerlessSimulator as Sim
# The README's scenario, exactly (no seed: SimFaaS draws from numpy's global generator).
sim = Sim(arrival_rate=0.9, warm_service_rate=1/1.991, cold_service_rate=1/2.244,
          expiration_threshold=600, max_time=1e6)
w0, c0 = time.perf_counter(), time.process_time()
sim.generate_trace(debug_print=False, progress=False)
w1, c1 = time.perf_counter(), time.process_time()
sim.print_trace_results()
r = sim.get_result_dict()
print(f"RESULT {w1 - w0:.4f} {c1 - c0:.4f} {r['reqs_cold']} {r['reqs_total']} {r['inst_count_avg']:.6f}")
EOF

rows=()

# --- SimFaaS ---
"$python" "$work/simfaas_run.py" "$simfaas" > "$work/simfaas.out"
sed 's/^/#   simfaas: /' "$work/simfaas.out" | grep -v RESULT
read -r _ wall cpu cold requests avg < <(grep '^RESULT' "$work/simfaas.out")
rows+=("simfaas $wall $cpu $cold $cold $requests $avg")
simfaas_wall=$wall
simfaas_cpu=$cpu

# --- ours, in-process (Google Benchmark; real_time and cpu_time per iteration, in ms) ---
"$bench" --benchmark_filter='BM_SimFaaS_Scenario' --benchmark_min_time=1 --benchmark_format=json \
  > "$work/bench.json" 2> "$work/bench.err"
while read -r row; do
  rows+=("$row")
done < <("$python" - "$work/bench.json" <<'EOF'
import json, sys
names = {"exact_cold:0/count:0": "bench-exp", "exact_cold:0/count:1": "bench-exp-n",
         "exact_cold:1/count:1": "bench-exact-n"}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    assert b["time_unit"] == "ms"
    name = names[b["name"].split("/", 1)[1]]
    new = int(b["policy_cold"]) if "policy_cold" in b else "-"
    print(name, b["real_time"] / 1e3, b["cpu_time"] / 1e3, int(b["cold_starts"]), new, int(b["requests"]),
          b["avg_instances"])
EOF
)

# --- ours, through the CLI (whole process, CSV reading included) ---
cli_run() {  # NAME COLD_START
  /usr/bin/time -f '%e %U %S' -o "$work/$1.time" "$scalesim" run "$work/trace.csv" --policy keepalive \
    --set keepalive.idle=600s --container-concurrency 1 --drain 0 --cold-start "$2" --until 1000000s \
    --seed 1 --threads 1 --quiet --json "$work/$1.json"
  read -r wall user sys < "$work/$1.time"
  "$python" - "$work/$1.json" "$1" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(sys.argv[2], sys.argv[3], sys.argv[4], t["cold_starts"], "-", t["requests"], t["pod_seconds"] / 1e6)
EOF
}
rows+=("$(cli_run cli-exp exp:253ms)")
rows+=("$(cli_run cli-mixture "empirical:$work/cold_mixture.csv")")

# --- table ---
printf '\n%-13s %9s %9s %9s %8s %9s %8s %8s %8s %8s\n' \
  tool wall_s cpu_s cold_wait cold_new requests p_cold avg_inst x_wall x_cpu
for row in "${rows[@]}"; do
  # shellcheck disable=SC2086  # the fields are split on purpose
  set -- $row
  awk -v n="$1" -v w="$2" -v c="$3" -v k="$4" -v m="$5" -v r="$6" -v a="$7" -v sw="$simfaas_wall" \
    -v sc="$simfaas_cpu" 'BEGIN { p = (m == "-" ? k : m) / r
      printf "%-13s %9.4f %9.4f %9d %8s %9d %8.5f %8.4f %8.1f %8.1f\n", n, w, c, k, m, r, p, a, sw / w, sc / c }'
done
