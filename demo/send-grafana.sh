#!/bin/sh
# Sends Grafana's documented webhook payload (or its resolution) to a running klaxon.
#   demo/send-grafana.sh KEY [resolved]
# KLAXON_URL defaults to http://127.0.0.1:9800. With GRAFANA_SECRET set, the request is
# signed the way Grafana signs it (X-Grafana-Alerting-Signature, HMAC-SHA256 of the body).
set -eu
here=$(dirname "$0")
key=${1:?usage: $0 INTEGRATION_KEY [resolved]}
payload=$here/payloads/grafana.json
[ "${2:-}" = resolved ] && payload=$here/payloads/grafana-resolved.json
set -- -H 'Content-Type: application/json'
if [ -n "${GRAFANA_SECRET:-}" ]; then
  signature=$(openssl dgst -sha256 -hmac "$GRAFANA_SECRET" -r < "$payload" | cut -d' ' -f1)
  set -- "$@" -H "X-Grafana-Alerting-Signature: $signature"
fi
curl -sS "$@" --data-binary "@$payload" "${KLAXON_URL:-http://127.0.0.1:9800}/v1/integrations/$key"
echo
