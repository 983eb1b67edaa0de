#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) in a separate clang build, build-fuzz/, and runs each for SECONDS
# with its seed corpus (tests/fuzz/make_corpus.sh) and dictionary. Exits non-zero on any finding: a crash,
# a sanitizer report, a failed invariant, a timeout or running out of memory. Findings are left in
# build-fuzz/findings/<target>/ (crash-*, timeout-*, oom-*); see docs/robustness.md for what to do with them.
# Usage: tools/dev/fuzz.sh SECONDS [TARGET...]   (TARGET: csv_trace, decide, ...; default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"

seconds="${1:?usage: tools/dev/fuzz.sh SECONDS [TARGET...]}"
shift
all_targets=(csv_trace azure2019_trace azure2021_trace distribution go_duration configmap decide decider shard_file
             kubeconfig kube_json queue_proxy_stat prometheus_text adapter_config)
targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${all_targets[@]}"); fi

build="$root/build-fuzz"
cxx="${CXX_FUZZ:-clang++-14}"
# Coverage instrumentation and ASan+UBSan on the libraries under test too, not only on the fuzz targets.
# -Wno-unknown-warning-option: the top-level LIBSCALE_SANITIZE adds GCC's -Wno-maybe-uninitialized.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option" -DLIBSCALE_SANITIZE=address,undefined \
  -DLIBSCALE_BUILD_FUZZERS=ON -DLIBSCALE_BUILD_TOOLS=ON -DLIBSCALE_BUILD_TESTS=OFF \
  -DLIBSCALE_BUILD_BENCHMARKS=OFF -DLIBSCALE_CONSUMER_TESTS=OFF -DLIBSCALE_INSTALL=OFF >/dev/null
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" --target "${targets[@]/%/_fuzz}"

"$root/tests/fuzz/make_corpus.sh" "$build/seeds"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for target in "${targets[@]}"; do
  binary="$build/tests/fuzz/${target}_fuzz"
  if [[ ! -x "$binary" ]]; then
    echo "fuzz: $binary was not built (is LIBSCALE_BUILD_FUZZERS wired into CMakeLists.txt?)" >&2
    exit 2
  fi
  corpus="$build/corpus/$target"    # grows across runs; the seeds are regenerated every time
  findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings"
  dict=()
  if [[ -f "$root/tests/fuzz/$target.dict" ]]; then dict=(-dict="$root/tests/fuzz/$target.dict"); fi
  echo "fuzz: $target for ${seconds}s" >&2
  # A fixed seed (FUZZ_SEED, default 1) makes a CI smoke repeatable; set FUZZ_SEED=0 for a fresh random one.
  if ! "$binary" "${dict[@]}" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
       -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$build/seeds/$target" \
       >"$build/findings/$target.log" 2>&1; then
    echo "fuzz: $target FOUND A PROBLEM; log: build-fuzz/findings/$target.log" >&2
    grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz invariant failed|.*runtime error)" "$build/findings/$target.log" | head -5 >&2 || true
    ls "$findings" >&2
    failed+=("$target")
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$build/findings/$target.log" | tail -1 >&2 || true
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings in ${targets[*]}" >&2
