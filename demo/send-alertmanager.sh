#!/bin/sh
# Sends a Prometheus Alertmanager webhook (version 4) to a running klaxon.
#   demo/send-alertmanager.sh KEY [resolved]
# KLAXON_URL defaults to http://127.0.0.1:9800.
set -eu
here=$(dirname "$0")
key=${1:?usage: $0 INTEGRATION_KEY [resolved]}
payload=$here/payloads/alertmanager.json
[ "${2:-}" = resolved ] && payload=$here/payloads/alertmanager-resolved.json

curl -sS -H 'Content-Type: application/json' --data-binary "@$payload" \
  "${KLAXON_URL:-http://127.0.0.1:9800}/v1/integrations/$key"
echo
