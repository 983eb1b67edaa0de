#!/bin/sh
# Validates the loopback test API server with real kubectl: `get deployment -o json`, `-o jsonpath`, the table
# printer, and `kubectl scale` (which sends a merge patch to the scale subresource, cluster-adapter.md §1.3),
# then reads the replicas back. Exit 77 (CTest SKIP_RETURN_CODE) when kubectl is not installed.
#
# usage: kubectl_test.sh FAKE_APISERVER_BINARY TLS_DIR
# kubectl sends a bearer token only over HTTPS, so the server runs with the test certificates of TLS_DIR
# (tools/dev/make-test-certs.sh).
set -u

server_bin=${1:?usage: kubectl_test.sh FAKE_APISERVER_BINARY TLS_DIR}
tls_dir=${2:?usage: kubectl_test.sh FAKE_APISERVER_BINARY TLS_DIR}
kubectl=${KUBECTL:-$(command -v kubectl || true)}
if [ -z "$kubectl" ] || [ ! -x "$kubectl" ]; then
  echo "kubectl not found: skipped"
  exit 77
fi
tls_dir=$(cd "$tls_dir" && pwd)

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$server_bin" --tls --cert "$tls_dir/server.pem" --key "$tls_dir/server-key.pem" \
  --token kubectl-test-token=admin --deployment default/web=1:app=web >"$work/url" 2>"$work/server.err" &
server_pid=$!
# The server prints its URL once it listens.
i=0
while [ ! -s "$work/url" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL: fake-apiserver did not start"; cat "$work/server.err"; exit 1
  fi
  sleep 0.1
done
url=$(head -n 1 "$work/url")

cat >"$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: $url
    certificate-authority: $tls_dir/ca.pem
users:
- name: tester
  user:
    token: kubectl-test-token
contexts:
- name: fake
  context: {cluster: fake, user: tester, namespace: default}
current-context: fake
EOF

failures=0
k() { KUBECONFIG="$work/kubeconfig" "$kubectl" --cache-dir "$work/cache" --request-timeout=5s "$@"; }
expect() {  # expect NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    echo "ok: $1"
  else
    echo "FAIL: $1: expected [$2], got [$3]"; failures=$((failures + 1))
  fi
}

out=$(k get deployment web -n default -o json 2>"$work/err") || { cat "$work/err"; }
expect "get -o json names the deployment" '"name": "web",' "$(printf '%s\n' "$out" | grep -m1 -o '"name": "web",')"
expect "get -o jsonpath replicas before" "1" "$(k get deployment web -o jsonpath='{.spec.replicas}' 2>&1)"
expect "table lists NAME" "web" "$(k get deployments --no-headers 2>&1 | awk '{print $1}')"
expect "kubectl scale" "deployment.apps/web scaled" "$(k scale deployment web --replicas=3 2>&1)"
expect "get -o jsonpath replicas after" "3" "$(k get deployment web -o jsonpath='{.spec.replicas}' 2>&1)"
expect "scale subresource after" "3" "$(k get --raw /apis/apps/v1/namespaces/default/deployments/web/scale 2>&1 |
  grep -o '"replicas":3' | head -n 1 | cut -d: -f2)"
expect "kubectl scale to 0" "deployment.apps/web scaled" "$(k scale deployment web --replicas=0 2>&1)"
# At 0 the Scale has "spec":{} (§1.2).
expect "scale subresource at 0 has an empty spec" '"spec":{}' "$(k get --raw /apis/apps/v1/namespaces/default/deployments/web/scale 2>&1 |
  grep -o '"spec":{}')"
expect "missing deployment is NotFound" 'Error from server (NotFound): deployments.apps "nosuch" not found' \
  "$(k get deployment nosuch 2>&1)"

if [ "$failures" -ne 0 ]; then
  echo "kubectl_test: $failures failure(s)"; exit 1
fi
echo "kubectl_test: all passed"
