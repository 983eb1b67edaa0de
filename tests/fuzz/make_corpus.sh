#!/usr/bin/env bash
# Writes the fuzzers' seed corpora into DIR/<target>/ from the bundled samples (traces/) and the test fixtures
# (tests/data/), in each target's input layout (see the comment at the top of each <target>_fuzz.cpp). Large
# files are cut to their first 64 lines: the fuzzer mutates small inputs faster and the header is what matters.
# Usage: tests/fuzz/make_corpus.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: make_corpus.sh DIR}"
rm -rf "$out"
mkdir -p "$out"/{csv_trace,azure2019_trace,azure2021_trace,distribution,go_duration,configmap,decide,decider}
mkdir -p "$out"/{kubeconfig,kube_json,queue_proxy_stat,prometheus_text,adapter_config,shard_file}

head_of() { head -n 64 "$1"; }
seed() {  # seed TARGET: stdin becomes one seed file, named by its SHA-1 as libFuzzer names corpus files
  local tmp
  tmp="$(mktemp "$out/$1/.seed.XXXXXX")"
  cat > "$tmp"
  mv "$tmp" "$out/$1/$(sha1sum < "$tmp" | cut -c1-40)"
}

# Our CSV: the test fixtures, and every header-bearing trace for the format detection.
for f in "$root"/tests/data/traces/csv/*.csv "$root"/tests/data/traces/*.csv "$root"/tests/data/run/*.csv; do
  head_of "$f" | seed csv_trace
done

# Azure 2019: one byte for the expansion, the invocations file, a line %%, the durations file.
pair() {  # pair INVOCATIONS DURATIONS
  for mode in u p e; do
    { printf '%s' "$mode"; head_of "$1"; printf '\n%%%%\n'; head_of "$2"; } | seed azure2019_trace
  done
}
d19="$root/tests/data/traces/azure2019"
pair "$d19/invocations.csv" "$d19/durations.csv"
pair "$d19/excerpt-invocations.csv" "$d19/excerpt-durations.csv"
pair "$d19/shared-invocations.csv" "$d19/shared-durations.csv"
pair "$d19/2_inv.csv" "$d19/2_run.csv"
for f in "$d19"/bad-*.csv "$d19"/orphan.csv "$d19"/header-only.csv; do pair "$f" "$d19/durations.csv"; done
for f in "$d19"/bad-durations-*.csv; do pair "$d19/invocations.csv" "$f"; done
pair "$root/traces/azure2019-raw10/invocations.csv" "$root/traces/azure2019-raw10/durations.csv"
pair "$root/traces/azure2019-mapper3/invocations.csv" "$root/traces/azure2019-mapper3/durations.csv"
pair "$root/traces/azure2019-sample100/100_inv.csv" "$root/traces/azure2019-sample100/100_run.csv"

# Azure 2021.
for f in "$root"/tests/data/traces/azure2021/*.csv "$root/traces/azure2021/Azure2021_200.csv"; do
  head_of "$f" | seed azure2021_trace
done

# Distributions: the documented spellings, and the quantile files behind a %% line.
for text in 2s const:2s 2.5 exp:250ms "lognormal:1s,0.5" "uniform:100ms,2s" 1m30s 0 const:0 -1s "exp:0"; do
  printf '%s' "$text" | seed distribution
done
for f in "$root"/tests/data/traces/quantiles*.csv; do
  { printf '%%%%\n'; cat "$f"; } | seed distribution
done

# Go durations: the ConfigMap fixtures' values and Go's own examples.
for text in 60s 1m30s 1.5h -2s 0 300ms 1h0m0s 2562047h47m16.854775807s 1us 1µs 1μs .5s 1.s "" 5 2.5; do
  printf '%s' "$text" | seed go_duration
done
sed -n 's/^ *[a-z-]*: *"\{0,1\}\([0-9][0-9.]*[a-zµμ]*\)"\{0,1\} *$/\1/p' "$root"/tests/data/config-autoscaler-*.yaml |
  sort -u | while read -r text; do printf '%s' "$text" | seed go_duration; done

# ConfigMaps: one byte of containerConcurrency, then the YAML.
for f in "$root"/tests/data/config-autoscaler-*.yaml; do
  for cc in '\000' '\012'; do { printf "$cc"; cat "$f"; } | seed configmap; done
done
printf '\000autoscaling.knative.dev/target: "5"\nautoscaling.knative.dev/min-scale: "2"\nautoscaling.knative.dev/window: 2m\n' |
  seed configmap

# scalesim decide: a byte for the kind (odd: averages) and tick, then the CSV.
{ printf '\001'; cat "$root/tests/data/decide-averages.csv"; } | seed decide
{ printf '\001'; cat "$root/tests/data/decide-malformed.csv"; } | seed decide
{ printf '\001'; cat "$root/docs/examples/panic-averages.csv"; } | seed decide
{ printf '\000'; head_of "$root/traces/azure2021/concurrency.csv"; } | seed decide
printf '\000time_s,concurrency,ready_pods,reachable\n0,10,1,true\n2,200,1,true\n70,0,3,false\n' | seed decide

# Decider and window: FuzzedDataProvider bytes; a few fixed patterns to start from.
for pattern in '\001\000\377\020\100\200\377\001\002\003' '\000\001\002\003\004\005\006\007\010\011\012' \
               '\001\377\377\377\377\377\377\377\377\000\000\000\000\000\000\000\000\001'; do
  printf "$pattern" | seed decider
done

# scale-adapter: queue-proxy Stat messages (hand-encoded protobuf: pod_name "web-1", average concurrency 2.5,
# request count 10, timestamp 1700000000; and an empty message) and Prometheus text pages.
printf '\x0a\x05web-1\x11\x00\x00\x00\x00\x00\x00\x04\x40\x21\x00\x00\x00\x00\x00\x00\x24\x40\x38\x80\xe2\xcf\xaa\x06' |
  seed queue_proxy_stat
printf '' | seed queue_proxy_stat
for f in "$root"/tests/data/adapter/metrics/*.txt; do head_of "$f" | seed prometheus_text; done
for f in "$root"/tests/data/adapter/kubeconfig/*.yaml "$root"/tests/data/adapter/kubeconfig/*.json; do
  [[ -f "$f" ]] && head_of "$f" | seed kubeconfig
done

# Kubernetes JSON: the first byte picks the reader (0 Status, 1 Scale, 2 pod list, 3 watch stream, 4 pod, 5 Lease);
# bodies as cluster-adapter.md shows them.
printf '0{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments/scale.apps \"nosuch\" not found","reason":"NotFound","details":{"name":"nosuch","group":"apps","kind":"deployments/scale"},"code":404}' | seed kube_json
printf '1{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","namespace":"default","resourceVersion":"197"},"spec":{"replicas":3},"status":{"replicas":0,"selector":"app=web"}}' | seed kube_json
printf '1{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","resourceVersion":"198"},"spec":{},"status":{"replicas":0,"selector":"app=web"}}' | seed kube_json
pod='{"metadata":{"name":"web-1","annotations":{"fake-k8s/port":"8080"}},"spec":{"containers":[{"ports":[{"containerPort":8080}]}]},"status":{"phase":"Running","podIP":"10.0.0.7","conditions":[{"type":"Ready","status":"True"}]}}'
printf '2{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"200"},"items":[%s]}' "$pod" | seed kube_json
printf '3{"type":"ADDED","object":%s}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"201"}}}\n{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Gone"}}\n' "$pod" | seed kube_json
printf '4%s' "$pod" | seed kube_json
printf '5{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"scale-adapter","resourceVersion":"5"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":"2026-11-26T17:20:00.000000Z","renewTime":"2026-11-26T17:20:00.000000Z","leaseTransitions":1}}' | seed kube_json

# scale-adapter's config file: the fixtures and the example in deploy/ (the ConfigMap's embedded file is not
# extracted; the fixtures cover the same keys).
for f in "$root"/tests/data/adapter/app/*.yaml; do head_of "$f" | seed adapter_config; done

# Shard files: a selector byte (0 run/compare shard, 1 tune shard, 2 tune exchange file), then the file.
for pair in 0:run-shard-1.json 1:tune-shard-0.json 2:tune-exchange-batch-1.shard-1.json; do
  { printf "\\$(printf '%03o' "${pair%%:*}")"; cat "$root/tests/data/shards/${pair#*:}"; } | seed shard_file
done
