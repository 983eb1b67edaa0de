#!/bin/sh
# Fake exec credential plugin: exec-plugin.sh <reply apiVersion> <mode>.
# Counts its runs in $COUNT_FILE, saves KUBERNETES_EXEC_INFO to $INFO_FILE, and prints an ExecCredential
# whose token is "$TOKEN_PREFIX-<run number>", expiring at $EXPIRY when set. $MODE_FILE, when set, holds a
# mode that overrides the second argument, so a test can change the plugin's behaviour between runs.
version="$1"
mode="$2"
if [ -n "$MODE_FILE" ] && [ -f "$MODE_FILE" ]; then mode=$(cat "$MODE_FILE"); fi
n=0
if [ -n "$COUNT_FILE" ] && [ -f "$COUNT_FILE" ]; then n=$(cat "$COUNT_FILE"); fi
n=$((n + 1))
if [ -n "$COUNT_FILE" ]; then echo "$n" > "$COUNT_FILE"; fi
if [ -n "$INFO_FILE" ]; then printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"; fi
token="${TOKEN_PREFIX:-tok}-$n"
expiry=""
if [ -n "$EXPIRY" ]; then expiry=", \"expirationTimestamp\": \"$EXPIRY\""; fi
case "$mode" in
  token)
    printf '{"apiVersion": "%s", "kind": "ExecCredential", "status": {"token": "%s"%s}}\n' "$version" "$token" "$expiry" ;;
  cert)
    printf '{"apiVersion": "%s", "kind": "ExecCredential", "status": {"clientCertificateData": "-----BEGIN CERTIFICATE-----\\nEXEC\\n-----END CERTIFICATE-----\\n", "clientKeyData": "-----BEGIN PRIVATE KEY-----\\nEXEC\\n-----END PRIVATE KEY-----\\n"}}\n' "$version" ;;
  fail)
    # Echoes the previous run's token, which the adapter must redact from its error.
    echo "login failed for ${TOKEN_PREFIX:-tok}-$((n - 1)): credentials expired" >&2
    echo "second line is not shown" >&2
    exit 3 ;;
  garbage)
    echo "not json but holds $token" ;;
  stdin)
    # Proves stdin is /dev/null: read gets end of file at once.
    if read -r line; then echo "stdin had data" >&2; exit 4; fi
    printf '{"apiVersion": "%s", "kind": "ExecCredential", "status": {"token": "%s"}}\n' "$version" "$token" ;;
  hang)
    exec sleep 30 ;;
esac
