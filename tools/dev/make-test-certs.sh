#!/bin/sh
# Regenerates the TLS fixtures of scale-adapter's tests in tests/data/adapter/tls/ (or in the directory given
# as $1): a test CA, a server certificate for 127.0.0.1/localhost/kubernetes.default.svc signed by it, a client
# certificate CN=scaler/O=autoscalers (an API server maps CN to the user and O to the group,
# cluster-adapter.md §7), and a second CA with its own server certificate that nobody trusts (for the
# "untrusted CA is refused" tests). Keys are unencrypted EC P-256; everything is valid for 100 years.
#
# The output is committed; re-run this only when the fixtures must change. Needs the openssl CLI (3.x).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../../tests/data/adapter/tls"}
days=36500

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# $1 = key out, $2 = cert out, $3 = subject
make_ca() {
  newkey "$1"
  openssl req -x509 -new -key "$1" -sha256 -days "$days" -subj "$3" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$2"
}

# $1 = key out, $2 = cert out, $3 = subject, $4 = CA cert, $5 = CA key, $6 = extensions file
make_leaf() {
  newkey "$1"
  openssl req -new -key "$1" -subj "$3" -out "$work/leaf.csr"
  openssl x509 -req -in "$work/leaf.csr" -CA "$4" -CAkey "$5" -CAcreateserial -CAserial "$work/serial" \
    -sha256 -days "$days" -extfile "$6" -out "$2"
}

cat > "$work/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc
authorityKeyIdentifier=keyid
EOF

cat > "$work/client.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid
EOF

make_ca "$out/ca-key.pem" "$out/ca.pem" "/CN=libscale test CA"
make_leaf "$out/server-key.pem" "$out/server.pem" "/CN=fake-apiserver" \
  "$out/ca.pem" "$out/ca-key.pem" "$work/server.ext"
make_leaf "$out/client-key.pem" "$out/client.pem" "/O=autoscalers/CN=scaler" \
  "$out/ca.pem" "$out/ca-key.pem" "$work/client.ext"

make_ca "$work/other-ca-key.pem" "$out/other-ca.pem" "/CN=untrusted test CA"
make_leaf "$out/other-server-key.pem" "$out/other-server.pem" "/CN=fake-apiserver" \
  "$out/other-ca.pem" "$work/other-ca-key.pem" "$work/server.ext"

# Check what we made, so a broken openssl run fails here and not in a test.
openssl verify -CAfile "$out/ca.pem" "$out/server.pem" "$out/client.pem" >/dev/null
openssl verify -CAfile "$out/other-ca.pem" "$out/other-server.pem" >/dev/null
if openssl verify -CAfile "$out/ca.pem" "$out/other-server.pem" >/dev/null 2>&1; then
  echo "make-test-certs: other-server.pem must not verify against ca.pem" >&2
  exit 1
fi
chmod 644 "$out"/*.pem
echo "make-test-certs: wrote $(cd "$out" && ls | tr '\n' ' ')to $out"
