#!/bin/sh
# Sends a CloudWatch alarm to a running klaxon, as Amazon SNS delivers it (text/plain), or the
# EventBridge "CloudWatch Alarm State Change" event.
#   demo/send-cloudwatch.sh KEY [resolved|eventbridge]
# The SNS examples are signed with klaxon's TEST key, not by AWS: the integration needs
# verify_signature = false to accept them. KLAXON_URL defaults to http://127.0.0.1:9800.
set -eu
here=$(dirname "$0")
key=${1:?usage: $0 INTEGRATION_KEY [resolved|eventbridge]}
payload=$here/payloads/cloudwatch-sns.json
type='text/plain; charset=UTF-8'
case "${2:-}" in
  resolved) payload=$here/payloads/cloudwatch-sns-ok.json ;;
  eventbridge) payload=$here/payloads/cloudwatch-eventbridge.json; type=application/json ;;
esac
curl -sS -H "Content-Type: $type" -H 'x-amz-sns-message-type: Notification' \
  --data-binary "@$payload" "${KLAXON_URL:-http://127.0.0.1:9800}/v1/integrations/$key"
echo
