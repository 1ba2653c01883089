-- wrk script: one Alertmanager v4 notification per request, each a new group (a new incident).
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local counter = 0

request = function()
  counter = counter + 1
  local key = thread_id .. "-" .. counter
  local body = string.format(
    '{"version":"4","groupKey":"{}:{alertname=\\"Bench\\",instance=\\"%s\\"}","truncatedAlerts":0,' ..
    '"status":"firing","receiver":"klaxon","groupLabels":{"alertname":"Bench"},' ..
    '"commonLabels":{"alertname":"Bench","instance":"%s","severity":"warning"},' ..
    '"commonAnnotations":{"summary":"latency high on %s"},"externalURL":"http://alertmanager:9093",' ..
    '"alerts":[{"status":"firing","labels":{"alertname":"Bench","instance":"%s","severity":"warning"},' ..
    '"annotations":{"summary":"latency high on %s"},"startsAt":"2026-11-24T10:00:00Z",' ..
    '"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=up","fingerprint":"%s"}]}',
    key, key, key, key, key, key)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
