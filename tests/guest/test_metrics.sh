#!/bin/sh
# Prometheus metrics (--metrics): the counters move by exactly what one allowed and one denied
# exec and one hook request did, promtool accepts the text, bad requests get 404/405, a client
# holding a half-sent request stalls nothing, and a real Prometheus scrapes the agent.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclmetrics
PORT=9464
PPORT=9490
M=http://127.0.0.1:$PORT/metrics
rm -rf $T; mkdir -p $T/allowed $CG/tclmetrics
cp /usr/bin/true $(readlink -f /lib/x86_64-linux-gnu/libc.so.6) \
	$(readlink -f /lib64/ld-linux-x86-64.so.2) $T/allowed/
cp $F/hello $T/unlisted
"$B/tclctl" policy generate --dir $T/allowed -o $T/policy.json 2>/dev/null

# val FILE SERIES: the value of one series (name with its labels, as printed), 0 when absent
val() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"; }
# delta SERIES: its growth from $T/m0 to $T/m1
delta() { echo $(($(val $T/m1 "$1") - $(val $T/m0 "$1"))); }
# expect_delta SERIES N
expect_delta() {
	d=$(delta "$1")
	[ "$d" = "$2" ] && pass "$1 grew by $2" || fail "$1 grew by $2 (by $d)"
}

section "agent with --metrics 127.0.0.1:$PORT"
check "agent starts with --metrics" start_agent --enforce --policy $T/policy.json \
	--scope cgroup:/tclmetrics --events $T/events.jsonl --metrics 127.0.0.1:$PORT
curl -fsS -D $T/h0 $M >$T/m0 && pass "GET /metrics answers" || fail "GET /metrics answers"
grep -qi '^content-type: text/plain; version=0.0.4' $T/h0 && pass "content type is text format 0.0.4" ||
	fail "content type is text format 0.0.4 ($(grep -i content-type $T/h0))"

incg tclmetrics $T/allowed/true && pass "allowed exec runs" || fail "allowed exec runs"
incg tclmetrics $T/unlisted >/dev/null 2>&1 && fail "unlisted exec is denied" || pass "unlisted exec is denied"
wait_for $T/events.jsonl '"verdict":"deny".*"path":"/tmp/tclmetrics/unlisted"' || fail "deny event seen"
# One hook request the agent cannot admit (no bundle there): not_verified.
printf '{"ociVersion":"1.0.2","id":"metrics-hook","status":"creating","pid":%d,"bundle":"%s/none"}' \
	$$ $T | "$B/tcl-hook" >/dev/null 2>&1 && fail "hook refuses a container without a bundle" ||
	pass "hook refuses a container without a bundle"
sleep 1.5 # the first exec of true is measured: logged and extended into the PCR
curl -fsS $M >$T/m1 || fail "second scrape"

expect_delta 'tcl_checks_total{hook="exec"}' 2
expect_delta 'tcl_allows_total{hook="exec"}' 1
expect_delta 'tcl_denials_total{hook="exec",reason="not_allowed"}' 1
expect_delta 'tcl_audits_total{hook="exec",reason="not_allowed"}' 0
expect_delta 'tcl_hook_requests_total{result="not_verified"}' 1
expect_delta 'tcl_hook_requests_total{result="verified"}' 0
expect_delta 'tcl_hook_request_duration_seconds_count' 1
[ "$(delta tcl_ringbuf_events_total)" -ge 2 ] && pass "ring-buffer events grew (deny + first use)" ||
	fail "ring-buffer events grew ($(delta tcl_ringbuf_events_total))"
[ "$(delta tcl_pcr_extends_total)" -ge 1 ] && [ "$(delta tcl_log_bytes)" -gt 0 ] &&
	pass "the measurement of true was logged and extended (log +$(delta tcl_log_bytes) bytes)" ||
	fail "log and PCR extends grew (extends $(delta tcl_pcr_extends_total), bytes $(delta tcl_log_bytes))"
[ "$(val $T/m1 tcl_pcr_extend_duration_seconds_count)" -ge 1 ] &&
	pass "PCR extend latency observed" || fail "PCR extend latency observed"
[ "$(delta tcl_hash_duration_seconds_count)" -ge 1 ] && pass "hashing time observed" ||
	fail "hashing time observed ($(delta tcl_hash_duration_seconds_count))"
[ "$(val $T/m1 tcl_scope_entries)" -ge 1 ] && pass "scope entries shown" || fail "scope entries shown"
n=$(jq '.allow | length' $T/policy.json 2>/dev/null || echo 3)
[ "$(val $T/m1 tcl_global_digests)" -ge "$n" ] && pass "global digests shown (>= $n)" ||
	fail "global digests shown ($(val $T/m1 tcl_global_digests) < $n)"
grep -q '^tcl_measure_queue_depth ' $T/m1 && grep -q '^tcl_agent_enforcing 1$' $T/m1 &&
	pass "queue depth and mode shown" || fail "queue depth and mode shown"
promtool check metrics <$T/m1 >$T/promtool.out 2>&1 && pass "promtool check metrics accepts the agent's text" ||
	fail "promtool check metrics: $(head -5 $T/promtool.out)"

section "bad requests, slow clients"
c=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/other)
[ "$c" = 404 ] && pass "other path: 404" || fail "other path: 404 ($c)"
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x $M)
[ "$c" = 405 ] && pass "POST /metrics: 405" || fail "POST /metrics: 405 ($c)"
# Three clients send half a request and wait; scrapes, execs and the socket go on.
/usr/bin/python3 - $PORT <<'PY' &
import socket, sys, time
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(3)]
for c in s:
    c.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
time.sleep(30)  # killed below once the checks are done
PY
SLOW=$!
sleep 1
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
t0=$(date +%s%N)
curl -fsS -m 3 $M >/dev/null && t1=$(ms $t0) && incg tclmetrics $T/allowed/true && t2=$(ms $t0) &&
	"$B/tclctl" status >/dev/null && t3=$(ms $t0) && kill -0 $SLOW 2>/dev/null &&
	pass "with 3 stalled clients connected: a scrape (${t1} ms), an exec (${t2} ms) and tclctl status (${t3} ms) answer" ||
	fail "with 3 stalled clients connected, a scrape, an exec and tclctl status answer"
kill $SLOW 2>/dev/null; wait $SLOW 2>/dev/null

section "a real Prometheus scrapes the agent"
cat >$T/prom.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tcl-agent
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
/usr/bin/prometheus --config.file=$T/prom.yml --storage.tsdb.path=$T/tsdb \
	--web.listen-address=127.0.0.1:$PPORT >$T/prom.log 2>&1 &
PROM=$!
# query EXPR: the first result's value, empty when none yet
query() {
	curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
up= v=
for _ in $(seq 120); do
	up=$(query 'up{job="tcl-agent"}')
	v=$(query 'tcl_checks_total{job="tcl-agent",hook="exec"}')
	[ "$up" = 1 ] && [ -n "$v" ] && break
	sleep 0.5
done
[ "$up" = 1 ] && pass "Prometheus: up{job=\"tcl-agent\"} is 1" || fail "Prometheus: up is 1 ('$up'; $(tail -3 $T/prom.log))"
[ -n "$v" ] && [ "$v" -ge 3 ] && pass "Prometheus: tcl_checks_total{hook=\"exec\"} = $v" ||
	fail "Prometheus has tcl_checks_total{hook=\"exec\"} >= 3 ('$v')"
kill $PROM 2>/dev/null; wait $PROM 2>/dev/null

section "stop"
stop_agent
curl -s -m 2 $M >/dev/null && fail "the port is closed once the agent stopped" ||
	pass "the port is closed once the agent stopped"
rmdir $CG/tclmetrics 2>/dev/null
exit 0
