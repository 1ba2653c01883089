#!/bin/sh
# Sends an Azure Monitor alert in the common alert schema (from Microsoft's sample) to a running klaxon.
#   demo/send-azure.sh KEY [resolved]
# KLAXON_URL defaults to http://127.0.0.1:9800.
set -eu
here=$(dirname "$0")
key=${1:?usage: $0 INTEGRATION_KEY [resolved]}
payload=$here/payloads/azure.json
[ "${2:-}" = resolved ] && payload=$here/payloads/azure-resolved.json
curl -sS -H 'Content-Type: application/json' --data-binary "@$payload" \
  "${KLAXON_URL:-http://127.0.0.1:9800}/v1/integrations/$key"
echo
