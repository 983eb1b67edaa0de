#!/usr/bin/env bash
# Whole-run figures for issue #7 in one go: for each scenario, on 1 and 2 threads, the requests replayed, wall
# time, requests per second and peak RSS of `scalesim run`, then whether the two JSON outputs are byte-identical.
# Trace generation is not timed. Usage: tools/dev/bench.sh [BUILD_DIR]   (default: build; needs /usr/bin/time)
# Scenarios (docs/performance.md, "Whole runs"):
#   poisson-10M  one function, Poisson 10 000/s for 1000 s (10 M requests), exp:100ms service, Knative defaults
#   azure-day    the bundled 10-function Azure 2019 day (13.0 M requests), Knative defaults
#   azure-shape  50 000 Azure-shaped functions over 24 h, rates capped at 0.1/s (mostly idle), Knative defaults
# then compare and tune (see below). Run it from the repository's root (it reads traces/).
set -euo pipefail

build=${1:-build}
scalesim=$build/tools/scalesim/scalesim
[[ -x $scalesim ]] || { echo "bench.sh: $scalesim not found; build first (cmake --build $build)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench.sh: /usr/bin/time is required (Debian package time)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/scale-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
     "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# generating inputs in $work (not timed)"
"$scalesim" trace gen --kind poisson --rate 10000 --length 1000 --duration exp:100ms --seed 1 > "$work/poisson.csv"
"$scalesim" trace gen --kind azure-shape --functions 50000 --length 24h --max-rate 0.1 --format azure2019 \
  --durations-out "$work/shape_durations.csv" --seed 1 > "$work/shape_invocations.csv"

declare -A args=(
  [poisson-10M]="$work/poisson.csv"
  [azure-day]=""
  [azure-shape]="$work/shape_invocations.csv --durations $work/shape_durations.csv"
)
scenarios=(poisson-10M azure-day azure-shape)

printf '%-12s %7s %12s %9s %9s %12s %9s\n' scenario threads requests wall_s cpu_s requests/s rss_MiB
for s in "${scenarios[@]}"; do
  for threads in 1 2; do
    # shellcheck disable=SC2086  # the arguments are split on purpose
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$scalesim" run ${args[$s]} --quiet --threads "$threads" \
      --json "$work/$s.$threads.json"
    read -r wall rss_kib user sys < "$work/time"
    requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["requests"])' \
               "$work/$s.$threads.json")
    awk -v s="$s" -v t="$threads" -v n="$requests" -v w="$wall" -v r="$rss_kib" -v c="$user" -v k="$sys" \
      'BEGIN { printf "%-12s %7d %12d %9.2f %9.2f %12.0f %9.1f\n", s, t, n, w, c + k, (w > 0 ? n / w : 0), r / 1024 }'
  done
done

# compare (five policies, each function billed to the policies' common end) and tune (the docs/tuning.md worked
# example), whose runs repeat the same arrivals: CPU with and without expanding them once.
sample=traces/azure2019-sample100/100_inv.csv
day=traces/azure2019-raw10/invocations.csv
printf '%-34s %9s %9s %9s\n' "compare/tune" wall_s cpu_s rss_MiB
timed() {  # LABEL COMMAND...: one line of the table
  local label=$1
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" > /dev/null
  read -r wall rss_kib user sys < "$work/time"
  awk -v l="$label" -v w="$wall" -v r="$rss_kib" -v c="$user" -v k="$sys" \
    'BEGIN { printf "%-34s %9.2f %9.2f %9.1f\n", l, w, c + k, r / 1024 }'
}
timed "compare sample100, 1 thread" "$scalesim" compare "$sample" --quiet --threads 1 --json "$work/cmp.1.json"
timed "compare sample100, 2 threads" "$scalesim" compare "$sample" --quiet --threads 2 --json "$work/cmp.2.json"
timed "compare the day, 2 threads" "$scalesim" compare --quiet --threads 2 --json "$work/cmp-day.json"
tune_args=("$day" --slo 'p99<=750ms' --slo 'cold<=0.005%' --budget 24 --holdout 0.25 --threads 2)
timed "tune worked example, cache 0" "$scalesim" tune "${tune_args[@]}" --arrival-cache-mb 0 --out "$work/tune-0"
timed "tune worked example, cache 1024" "$scalesim" tune "${tune_args[@]}" --out "$work/tune-c"

status=0
if cmp -s "$work/cmp.1.json" "$work/cmp.2.json"; then
  echo "compare: 1- and 2-thread JSON byte-identical"
else
  echo "compare: 1- and 2-thread JSON DIFFER"
  status=1
fi
if cmp -s "$work/tune-0/tune.json" "$work/tune-c/tune.json"; then
  echo "tune: tune.json byte-identical with and without the arrival cache"
else
  echo "tune: tune.json DIFFERS with the arrival cache"
  status=1
fi
for s in "${scenarios[@]}"; do
  if cmp -s "$work/$s.1.json" "$work/$s.2.json"; then
    echo "$s: 1- and 2-thread JSON byte-identical"
  else
    echo "$s: 1- and 2-thread JSON DIFFER"
    status=1
  fi
done
exit $status
