#!/bin/bash
# Service test of tcl-attestor: real HTTPS (TLS 1.3, client certificates) on 127.0.0.1, one
# swtpm per simulated node, a real docker-registry holding small OCI images and their signed
# golden manifests, and tests/service/attestor/nodesim (the agent's log writer and
# attestation client, plus the ways a compromised node could cheat).  The attestor and nodesim
# are built with ASan/UBSan; a sanitizer report anywhere is a failure.
# Prints "N passed, N failed"; exit status 1 when anything failed.
# TCL_ATTESTOR_O=DIR builds there (default: a fresh directory under the test's temp dir).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/registry.sh"
. "$HERE/attestor/lib.sh"

T=$(mktemp -d /tmp/tcl-attest.XXXXXX)
B=${TCL_ATTESTOR_O:-$T/build}
cleanup() {
	att_cleanup
	reg_stop "$T/reg"
	[ -n "${BGPID:-}" ] && { kill "$BGPID" 2>/dev/null; wait "$BGPID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$HERE/expect.sh"
die() { echo "test_attestor: $*" >&2; echo "$pass passed, $((fail + 1)) failed"; exit 1; }

# check NAME PYTHON-EXPR: evaluated with d = the JSON in $T/get.json (from get/post below)
check() {
	if att_json_is "$T/get.json" "$2" 2>"$T/check.err"; then
		ok "$1"
	else
		bad "$1 ($2)"
		head -c 1500 "$T/get.json"
		echo
		cat "$T/check.err"
	fi
}

CURL=(curl -s --cacert "$T/ca.crt" --cert "$T/reader.crt" --key "$T/reader.key")
get() {		# get PATH: body in $T/get.json, status in $ST
	ST=$("${CURL[@]}" -o "$T/get.json" -w '%{http_code}' "$ATT_URL$1")
}
post() {	# post PATH FILE [curl options]: as get
	local p=$1 f=$2
	shift 2
	ST=$("${CURL[@]}" -o "$T/get.json" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$f" "$@" "$ATT_URL$p")
}

# ---- build ----
att_build "$B" san || die "build failed"
ATT_BIN=$B/tcl-attestor
NS=$B/nodesim
TCLCTL=$B/tclctl
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

ns() {		# ns NODE CMD...: nodesim as node-NODE (its swtpm, certificate, directory)
	att_nodesim "$T" "$@"
}

# ---- PKI: test CA; every node's certificate has CN = node id ----
att_pki "$T" || die "openssl failed"
NODES="good tamper forge replay stale badpcr exec unsigned relay reboot noek"
for n in $NODES dup; do
	att_cert "$T" "node-$n" "node-$n" || die "openssl failed"
done
att_cert "$T" node-rogue node-good rogue-ca || die "openssl failed"
openssl genrsa -out "$T/forge.key" 2048 2>/dev/null || die "openssl genrsa failed"

# ---- registry, images, golden manifests ----
reg_start "$T/reg" || die "docker-registry does not start"
HP=${REG_URL#http://}
for i in 1 2 3 4; do
	python3 "$HERE/../mkoci.py" tags "$T/oci$i" "v1=image-$i" || die "mkoci failed"
done
"$TCLCTL" golden keygen -o "$T/golden" >/dev/null || die "golden keygen failed"
"$TCLCTL" golden keygen -o "$T/other" >/dev/null || die "golden keygen failed"
declare -A DIG GSHA HELLO
for i in 1 2 3 4; do
	out=$("$TCLCTL" image push --oci "$T/oci$i" --registry "$REG_URL" "test/app$i:v1") ||
		die "image push failed"
	DIG[$i]=${out#*@}
	"$TCLCTL" golden generate --oci "$T/oci$i" --ref "$HP/test/app$i:v1" -o "$T/g$i.json" ||
		die "golden generate failed"
	key=$T/golden.key
	[ $i = 3 ] && key=$T/other.key		# app3: signed by a key the attestor does not trust
	"$TCLCTL" golden sign --key "$key" "$T/g$i.json" || die "golden sign failed"
	GSHA[$i]=$(sha256sum "$T/g$i.json" | cut -c1-64)
	HELLO[$i]=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["files"]["/bin/hello"])' \
		"$T/g$i.json")
	[ $i = 4 ] && continue			# app4: no golden manifest at all
	"$TCLCTL" golden push --registry "$REG_URL" "test/app$i@${DIG[$i]}" \
		--manifest "$T/g$i.json" --sig "$T/g$i.json.sig" >/dev/null || die "golden push failed"
done
echo "images: app1 ${DIG[1]}, app2 ${DIG[2]} (golden), app3 (untrusted key), app4 (none)"

# host allowlist: the container runtime
RUNC=$(printf 'runc binary' | sha256sum | cut -c1-64)
printf '{"version":1,"allow":[{"sha256":"%s","path":"/usr/bin/runc"}]}\n' "$RUNC" >"$T/host.json"
EVIL=$(printf 'dropped in at run time' | sha256sum | cut -c1-64)
C1=$(printf 'c1' | sha256sum | cut -c1-64)
C2=$(printf 'c2' | sha256sum | cut -c1-64)
C3=$(printf 'c3' | sha256sum | cut -c1-64)
C4=$(printf 'c4' | sha256sum | cut -c1-64)

# ---- one swtpm per node, EK certificates from swtpm's local CA ----
att_tpm_setup "$T" good || die "swtpm_setup for good"	# makes the local CA
JOBS=()
for n in $NODES dup; do
	[ $n = good ] && continue
	if [ $n = noek ]; then
		att_tpm_setup "$T" $n --no-ek-cert &
	else
		att_tpm_setup "$T" $n &
	fi
	JOBS+=($!)
done
for j in "${JOBS[@]}"; do
	wait "$j" || die "swtpm_setup failed"
done
for n in $NODES dup; do
	att_tpm_run "$T" $n || die "swtpm for $n"
done
[ -s "$T/swtpm-ca/ek-ca.pem" ] || die "no swtpm local CA"
# node-dup shares node-good's TPM: the same AK under two names
TCTI[dup]=${TCTI[good]}

ATT_ARGS=(--cert "$T/server.crt" --key "$T/server.key" --client-ca "$T/ca.crt"
	--state "$T/state.json" --registry "$REG_URL" --trust-key "$T/golden.pub"
	--ek-ca "$T/swtpm-ca/ek-ca.pem" --host-policy "$T/host.json" --nonce-ttl 3)
att_start "$T" "${ATT_ARGS[@]}" --stale-after 600 || die "tcl-attestor does not start"

expect "--help lists the flags" 0 "--nonce-ttl" "$ATT_BIN" --help
expect "unknown flag is a usage error" 2 "unknown option" "$ATT_BIN" --bogus
expect "mutual TLS is mandatory" 2 "--client-ca are required" "$ATT_BIN" --cert x --key y
printf 'listen = 127.0.0.1:1\nnonce-ttl = soon\n' >"$T/bad.conf"
expect "config file: bad value names file and line" 2 "bad.conf:2: invalid value 'soon'" \
	"$ATT_BIN" --config "$T/bad.conf"
printf 'listen = 127.0.0.1:1\ncolour = blue\n' >"$T/bad.conf"
expect "config file: unknown key" 2 "bad.conf:2: unknown key 'colour'" \
	"$ATT_BIN" --config "$T/bad.conf"

# ---- TLS ----
refused() {	# refused NAME CURL-ARGS...: the TLS handshake fails (no HTTP status at all)
	local name=$1 code
	shift
	code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$ATT_URL/healthz")
	[ "$code" = 000 ] && ok "$name" || bad "$name (HTTP $code)"
}
refused "no client certificate: TLS refused" --cacert "$T/ca.crt"
refused "certificate from another CA: TLS refused" --cacert "$T/ca.crt" \
	--cert "$T/node-rogue.crt" --key "$T/node-rogue.key"
refused "TLS 1.2 refused" --tls-max 1.2 --cacert "$T/ca.crt" --cert "$T/reader.crt" \
	--key "$T/reader.key"
expect "TLS 1.3 with a client certificate" 0 "^ok$" "${CURL[@]}" "$ATT_URL/healthz"

# ---- enrolment ----
expect "noek: no EK certificate while --ek-ca is set" 1 "HTTP 403: an EK certificate is required" \
	ns noek enrol
expect "good: enrol (EK certificate chain, MakeCredential/ActivateCredential)" 0 \
	'"what":"enrol","rc":0' ns good enrol
grep -q "node node-good: enrolment started .*EK certificate verified" "$T/attestor.log" &&
	ok "EK certificate verified against --ek-ca" || bad "EK certificate not verified"
expect "dup: the same AK under another node name" 1 \
	"HTTP 409: this AK is already enrolled as node node-good" \
	ns dup enrol
expect "dup: another AK in the same TPM" 1 \
	"HTTP 409: this TPM \(EK\) is already enrolled as node node-good" \
	ns dup --ak-handle 0x81010003 enrol
expect "certificate CN must be the node id" 1 \
	"HTTP 403: client certificate CN \"node-tamper\" is not node node-x" \
	"$NS" --tpm "${TCTI[tamper]}" --url "$ATT_URL" --cert "$T/node-tamper.crt" \
	--key "$T/node-tamper.key" --ca "$T/ca.crt" --dir "$T/n-x" --node node-x --attempts 1 enrol
JOBS=()
for n in tamper forge replay stale badpcr exec unsigned relay reboot; do
	ns $n enrol >"$T/enrol-$n.out" 2>&1 &
	JOBS+=($!)
done
enrolled=0
for j in "${JOBS[@]}"; do
	wait "$j" && enrolled=$((enrolled + 1))
done
if [ $enrolled = 9 ] && ! grep -q -e Sanitizer -e 'runtime error' "$T"/enrol-*.out; then
	ok "9 more nodes enrolled at once"
else
	bad "enrolling 9 nodes at once: $enrolled did"
	cat "$T"/enrol-*.out
fi
get /v1/nodes/node-good
check "enrolled node without evidence: unknown" \
	'd["verdict"] == "unknown" and d["enrolled"] and d["ek_cert"] == "verified"'

# ---- honest node with two verified containers ----
honest() {	# honest NODE: boot, runtime, two containers that run what their images hold
	ns "$1" append boot "host,/usr/bin/runc,$RUNC" \
		"start,$C1,$HP/test/app1:v1,${DIG[1]}" \
		"verify,$HP/test/app1:v1,${DIG[1]},verified,${GSHA[1]}" \
		"exec,$C1,/bin/hello,${HELLO[1]}" \
		"start,$C2,$HP/test/app2:v1,${DIG[2]}" \
		"verify,$HP/test/app2:v1,${DIG[2]},verified,${GSHA[2]}" \
		"exec,$C2,/bin/hello,${HELLO[2]}" "exec,$C2,/usr/bin/runc,$RUNC"
}
honest good || bad "append to node-good's log"
expect "good: evidence accepted, trusted" 0 '"rc":0.*"verdict":"trusted".*"accepted":9' ns good push
get /v1/nodes/node-good
check "GET /v1/nodes/node-good: trusted, 2 trusted containers, offset = log size" \
	"d['verdict'] == 'trusted' and len(d['containers']) == 2 and
	 all(c['verdict'] == 'trusted' for c in d['containers']) and
	 d['log_offset'] == $(stat -c %s "$T/n-good/log.bin") and d['findings'] == []"
get "/v1/containers/$C1"
check "GET /v1/containers/C1: trusted, verified against app1's golden manifest" \
	"d['verdict'] == 'trusted' and d['node'] == 'node-good' and
	 d['golden_sha256'] == '${GSHA[1]}' and d['image_digest'] == '${DIG[1]}'"
get "/v1/containers/$(printf 'zz' | sha256sum | cut -c1-64)"
check "unknown container: 404, unknown" "d['verdict'] == 'unknown'"
[ "$ST" = 404 ] && ok "... with status 404" || bad "unknown container status $ST"
printf '{"Pod":{"metadata":{"name":"p"}},"NodeNames":["node-good"]}' >"$T/args.json"
post /scheduler/filter "$T/args.json"
check "filter keeps the trusted node" \
	"d['NodeNames'] == ['node-good'] and d['FailedNodes'] == {} and d['Error'] == ''"
expect "good: a second round with nothing new is trusted" 0 '"verdict":"trusted".*"accepted":0' \
	ns good push

# ---- each way of cheating: untrusted with the reason ----
# a tampered log entry: an unknown binary ran; the log sent names a golden digest instead
# (template hash recomputed so the entry parses; only the replay can tell)
honest tamper && ns tamper push >/dev/null || bad "node-tamper honest round"
ns tamper append "exec,$C1,/bin/hello,$EVIL" >/dev/null
expect "tampered log entry: refused, log does not replay" 1 \
	'HTTP 422: the log from offset [0-9]+ \(1 entries\) replays PCR 13 to [0-9a-f]{64}, the quote' \
	ns tamper tamper
expect "tampered entry without a matching template hash: malformed" 1 \
	'HTTP 422: log entry at offset [0-9]+ is malformed' ns tamper tamper --no-reseal
# a forged quote: signed by a key that is not the enrolled AK
honest forge
expect "forged quote (other key): refused" 1 \
	"HTTP 422: quote signature does not verify with the enrolled AK" ns forge forge "$T/forge.key"
# a replayed nonce
honest replay
if run 1 ns replay replay && grep -q '"what":"first","rc":0' "$T/out" &&
	grep -q '"what":"replayed".*HTTP 422: nonce was never issued to this node or was already used' \
		"$T/out"; then
	ok "replayed evidence: first accepted, the replay refused"
else
	bad "replayed evidence (rc=$RC): $OUT $ERR"
fi
# a stale nonce (--nonce-ttl 3)
honest stale
expect "stale nonce: refused" 1 "HTTP 422: nonce expired" ns stale stale 4
# a log that replays to a different PCR: the TPM got an extend the log does not have
honest badpcr && ns badpcr push >/dev/null || bad "node-badpcr honest round"
ns badpcr append --log-only "exec,$C1,/bin/hello,${HELLO[1]}"
expect "entry in the log but not yet in the PCR: prefix accepted, entry pending" 0 \
	'"verdict":"trusted".*"accepted":0,"pending":1' ns badpcr push
ns badpcr append --tpm-only "exec,$C1,/bin/hello,$EVIL"
expect "log that replays to a different PCR: refused" 1 \
	"HTTP 422: the log from offset [0-9]+ \\(1 entries\\) replays PCR 13 to" ns badpcr push
# an exec of a file that is not in the golden set (agent in audit mode)
honest exec
pre=$(stat -c %s "$T/n-exec/log.bin")
ns exec append "exec,$C1,/tmp/dropped,$EVIL"
expect "exec outside the golden set: evidence accepted, node untrusted" 0 \
	'"verdict":"untrusted","reason":"container '"$C1"': not in the golden manifest of' ns exec push
get /v1/nodes/node-exec
check "the offending entry: path, digest, log offset, container, reason" \
	"[(f['name'], f['digest'], f['container_id'], f['offset']) for c in d['containers']
	  for f in c['findings']] == [('/tmp/dropped', 'sha256:$EVIL', '$C1', $pre)] and
	 [c for c in d['containers'] if c['id'] == '$C1'][0]['verdict'] == 'untrusted' and
	 [c for c in d['containers'] if c['id'] == '$C2'][0]['verdict'] == 'untrusted' and
	 'node node-exec is untrusted' in [c for c in d['containers'] if c['id'] == '$C2'][0]['reason']"
get "/v1/containers/$C2"
check "a container id reported by two nodes is untrusted" \
	"d['verdict'] == 'untrusted' and 'more than one node' in d['reason']"
# images that cannot be verified
ns unsigned append boot "start,$C3,$HP/test/app3:v1,${DIG[3]}" "exec,$C3,/bin/hello,${HELLO[3]}" \
	"start,$C1,$HP/test/app4:v1,${DIG[4]}" "verify,$HP/test/app4:v1,${DIG[4]},verified" \
	"verify,$HP/test/app1:v1,${DIG[1]},verified,${GSHA[2]}" \
	"verify,$HP/test/app2:v1,${DIG[2]},verified,${GSHA[2]}"
expect "images that cannot be verified: evidence accepted, node untrusted" 0 \
	'"verdict":"untrusted".*"findings":5' ns unsigned push
get /v1/nodes/node-unsigned
check "container of an image signed by an untrusted key: untrusted" \
	"[c for c in d['containers'] if c['id'] == '$C3'][0]['verdict'] == 'untrusted' and
	 'which is not a trusted key' in [c for c in d['containers'] if c['id'] == '$C3'][0]['reason']"
check "container of an image without golden manifest: untrusted (no golden manifest)" \
	"any('no golden manifest' in c['reason'] for c in d['containers'])"
check "image_verify the attestor cannot confirm: two offending entries, the third agrees" \
	"len(d['findings']) == 2 and d['findings'][0]['name'] == 'image_verify' and
	 'test/app4:v1@${DIG[4]}, the attestor cannot: ' in d['findings'][0]['reason'] and
	 'against golden manifest ${GSHA[2]}, the registry' in d['findings'][1]['reason']"
# evidence relayed through another TLS session (bound to another client certificate)
honest relay
expect "evidence bound to another TLS client certificate: refused" 1 \
	"HTTP 422: quote is not over SHA-256\\(nonce \\|\\| this TLS client certificate\\)" \
	ns relay relay "$T/node-good.crt"

# ---- verdicts and the scheduler filter ----
for n in tamper forge replay stale badpcr exec unsigned relay; do
	get "/v1/nodes/node-$n"
	[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' \
		"$T/get.json")" = untrusted ] && ok "node-$n is untrusted" ||
		bad "node-$n: $(head -c 300 "$T/get.json")"
done
python3 -c 'import json, sys
names = ["node-" + n for n in sys.argv[2:]] + ["node-unknown"]
json.dump({"Pod": {"metadata": {"name": "p"}}, "NodeNames": names}, open(sys.argv[1], "w"))' \
	"$T/args.json" good tamper forge replay stale badpcr exec unsigned relay reboot
post /scheduler/filter "$T/args.json"
check "filter (NodeNames): only node-good is kept" "d['NodeNames'] == ['node-good']"
check "... every other node failed, with its reason" \
	"set(d['FailedNodes']) == set('node-' + n for n in
	 'tamper forge replay stale badpcr exec unsigned relay reboot unknown'.split()) and
	 'does not verify with the enrolled AK' in d['FailedNodes']['node-forge'] and
	 'nonce was never issued' in d['FailedNodes']['node-replay'] and
	 'nonce expired' in d['FailedNodes']['node-stale'] and
	 'replays PCR 13' in d['FailedNodes']['node-badpcr'] and
	 'replays PCR 13' in d['FailedNodes']['node-tamper'] and
	 'not in the golden manifest' in d['FailedNodes']['node-exec'] and
	 'TLS client certificate' in d['FailedNodes']['node-relay'] and
	 'no evidence' in d['FailedNodes']['node-reboot'] and
	 'not enrolled' in d['FailedNodes']['node-unknown'] and
	 d['FailedAndUnresolvableNodes'] == d['FailedNodes']"
python3 -c 'import json, sys
items = [{"metadata": {"name": "node-" + n, "labels": {"x": n}}} for n in sys.argv[2:]]
json.dump({"Pod": {}, "Nodes": {"metadata": {"resourceVersion": "7"}, "items": items}},
          open(sys.argv[1], "w"))' "$T/args.json" exec good forge
post /scheduler/filter "$T/args.json"
check "filter (Nodes): the trusted node object is returned as sent" \
	"d['Nodes']['items'] == [{'metadata': {'name': 'node-good', 'labels': {'x': 'good'}}}] and
	 d['Nodes']['metadata'] == {'resourceVersion': '7'} and d['NodeNames'] == ['node-good'] and
	 set(d['FailedNodes']) == {'node-exec', 'node-forge'}"
printf '{"Pod":{},"NodeNames":"node-good"}' >"$T/args.json"
post /scheduler/filter "$T/args.json"
check "filter: malformed ExtenderArgs is an Error" "'NodeNames is not an array' in d['Error']"
[ "$ST" = 400 ] && ok "... with status 400" || bad "malformed filter status $ST"

# ---- bounds and malformed requests ----
NC=(--cert "$T/node-good.crt" --key "$T/node-good.key")
printf '{"nonce":"00","bogus":1}' >"$T/ev.json"
post /v1/nodes/node-good/evidence "$T/ev.json" "${NC[@]}"
check "evidence with an unknown key: 400 naming it" \
	"d['error'] == 'evidence: unknown key \"bogus\"'"
printf '{"nonce":' >"$T/ev.json"
post /v1/nodes/node-good/evidence "$T/ev.json" "${NC[@]}"
check "truncated JSON: 400" "'not valid JSON' in d['error']"
python3 -c 'import sys; sys.stdout.write("{\"log\":\"" + "A" * (65 << 20) + "\"}")' >"$T/big.json"
ST=$("${CURL[@]}" "${NC[@]}" -o /dev/null -w '%{http_code}' --data-binary "@$T/big.json" \
	"$ATT_URL/v1/nodes/node-good/evidence")
[ "$ST" = 413 ] && ok "65 MiB evidence body: 413" || bad "65 MiB body: status $ST"
post /v1/nodes/node-forge/evidence "$T/ev.json" "${NC[@]}"
check "another node's endpoint with node-good's certificate: 403" \
	"'is not node node-forge' in d['error']"
get /v1/nodes/node-good
check "... and none of that changed node-good" "d['verdict'] == 'trusted'"

# ---- metrics ----
ST=$("${CURL[@]}" -o "$T/metrics.txt" -w '%{http_code}' "$ATT_URL/metrics")
m() { grep -qx -- "$1" "$T/metrics.txt" && ok "metrics: $1" || bad "metrics: no line '$1'"; }
m 'tcl_attestor_evidence_rejected_total{reason="signature"} 1'
m 'tcl_attestor_evidence_rejected_total{reason="nonce_unknown"} 1'
m 'tcl_attestor_evidence_rejected_total{reason="nonce_expired"} 1'
m 'tcl_attestor_evidence_rejected_total{reason="binding"} 1'
m 'tcl_attestor_evidence_rejected_total{reason="log_replay"} 2'
m 'tcl_attestor_evidence_rejected_total{reason="log_malformed"} 1'
m 'tcl_attestor_enrolments_total{result="completed"} 10'
m 'tcl_attestor_nodes{verdict="trusted"} 1'
m 'tcl_attestor_nodes{verdict="untrusted"} 8'
grep -qE '^tcl_attestor_request_duration_seconds_count\{route="evidence"\} [1-9]' \
	"$T/metrics.txt" &&
	ok "metrics: evidence request durations" || bad "metrics: no evidence durations"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 &&
	ok "metrics: promtool check metrics accepts the attestor's text" ||
	bad "metrics: promtool check metrics: $(head -5 "$T/promtool.out")"
# A real Prometheus scrapes /metrics over HTTPS with the reader's client certificate.
PPORT=$(att_free_port)
cat >"$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tcl-attestor
    scheme: https
    tls_config:
      ca_file: $T/ca.crt
      cert_file: $T/reader.crt
      key_file: $T/reader.key
    static_configs:
      - targets: ['127.0.0.1:$ATT_PORT']
EOF
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T/prom.log" 2>&1 &
PROM=$!
pq() {	# pq EXPR: the first result's value, empty when none (yet)
	curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		/usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
up= nv=
for _ in $(seq 120); do
	up=$(pq 'up{job="tcl-attestor"}')
	nv=$(pq 'tcl_attestor_nodes{job="tcl-attestor",verdict="trusted"}')
	[ "$up" = 1 ] && [ -n "$nv" ] && break
	sleep 0.5
done
[ "$up" = 1 ] && ok "Prometheus scrapes the attestor over HTTPS: up is 1" ||
	bad "Prometheus: up{job=\"tcl-attestor\"} is '$up' ($(tail -3 "$T/prom.log"))"
[ "$nv" = 1 ] && ok "Prometheus: tcl_attestor_nodes{verdict=\"trusted\"} is 1" ||
	bad "Prometheus: tcl_attestor_nodes{verdict=\"trusted\"} is '$nv'"
kill "$PROM" 2>/dev/null
wait "$PROM" 2>/dev/null

# ---- restart: enrolments and verdicts survive ----
att_stop && ok "attestor stops cleanly on SIGTERM (state saved, no leak)" ||
	bad "attestor exit status $? (see $T/attestor.log)"
grep -E 'Sanitizer|runtime error' "$T/attestor.log" && bad "sanitizer report in the attestor log"
att_restart "$T" "${ATT_ARGS[@]}" --stale-after 600 || die "attestor does not restart"
get /v1/nodes/node-good
check "after restart: node-good still trusted, containers kept" \
	"d['verdict'] == 'trusted' and len(d['containers']) == 2"
get /v1/nodes/node-exec
check "after restart: node-exec still untrusted with its offending entry" \
	"d['verdict'] == 'untrusted' and 'not in the golden manifest' in d['reason']"
expect "after restart: node-good attests without enrolling again" 0 '"verdict":"trusted"' \
	ns good push
grep -c "node node-good: enrolled" "$T/attestor.log" | grep -qx 1 &&
	ok "... (enrolled once in all)" || bad "node-good enrolled more than once"

# ---- outage: the client keeps the backlog and catches up ----
att_stop
before=$(stat -c %s "$T/n-good/log.bin")
ns good append "exec,$C1,/bin/hello,${HELLO[1]}" "start,$C4,$HP/test/app2:v1,${DIG[2]}" \
	"exec,$C4,/bin/hello,${HELLO[2]}" "stop,$C4"
expect "attestor down: push fails after its retries" 1 '"rc":-111' ns good push
ns good offset >"$T/get.json"
check "... and the acknowledged offset stays where it was" \
	"d['acked'] == $before and d['log_size'] > $before"
# come back while the client is backing off
ns good append "exec,$C2,/bin/hello,${HELLO[2]}"
"$NS" --tpm "${TCTI[good]}" --url "$ATT_URL" --cert "$T/node-good.crt" --key "$T/node-good.key" \
	--ca "$T/ca.crt" --dir "$T/n-good" --attempts 10 --retry-ms 300 push >"$T/bg.out" 2>&1 &
BGPID=$!
sleep 1
att_restart "$T" "${ATT_ARGS[@]}" --stale-after 600 || die "attestor does not restart"
wait "$BGPID"
rc=$?
BGPID=
size=$(stat -c %s "$T/n-good/log.bin")
[ $rc = 0 ] && grep -q '"verdict":"trusted","reason":"","log_offset":'"$size"',"accepted":5' \
	"$T/bg.out" &&
	ok "client retrying through the outage sends the whole backlog (5 entries)" ||
	bad "catch-up: rc=$rc $(cat "$T/bg.out")"
get "/v1/containers/$C4"
check "the container started and stopped during the outage is known" \
	"d['verdict'] == 'trusted' and d['stopped']"
# a backlog over the client's max_log_bytes is not sent in parts (a part cannot replay)
ns good append "exec,$C1,/bin/hello,${HELLO[1]}" "exec,$C2,/bin/hello,${HELLO[2]}"
expect "backlog larger than max_log_bytes: refused by the client, not sent" 1 \
	'"rc":-27.*more than max_log_bytes \(100\)' ns good --max-log 100 push
expect "... and sent whole with the default limit" 0 '"verdict":"trusted".*"accepted":2' \
	ns good push

# ---- reboot: TPM reset, new log ----
honest reboot && ns reboot push >/dev/null || bad "node-reboot first boot"
att_tpm_reboot "$T" reboot || die "swtpm reboot"
mv "$T/n-reboot/log.bin" "$T/n-reboot/log.bin.old"
ns reboot append boot "host,/usr/bin/runc,$RUNC"
expect "after a reboot (TPM reset, new log): accepted from offset 0" 0 \
	'"verdict":"trusted","reason":"","log_offset":[0-9]+,"accepted":2' ns reboot push
get /v1/nodes/node-reboot
check "... the old boot's containers are gone" "d['containers'] == [] and d['log_entries'] == 2"

# ---- an enrolment whose secret is wrong: refused, the existing enrolment untouched ----
(
	export TPM2TOOLS_TCTI=${TCTI[reboot]}
	tpm2_readpublic -c 0x81010002 -f tss -o "$T/ak.pub" >/dev/null &&
	tpm2_createek -c "$T/ek.ctx" -G rsa -u "$T/ek.pub" -f tss >/dev/null &&
	tpm2_flushcontext "$T/ek.ctx" >/dev/null 2>&1
	tpm2_nvread 0x01c00002 -o "$T/ek.der" >/dev/null 2>&1
) || bad "tpm2-tools could not read node-reboot's AK and EK"
python3 -c 'import base64, json, sys
t = sys.argv[1]
b = lambda f: base64.b64encode(open(t + "/" + f, "rb").read()).decode()
json.dump({"node_id": "node-reboot", "ek_pub": b("ek.pub"), "ak_pub": b("ak.pub"),
           "ek_cert": b("ek.der"), "tls_cert_sha256": sys.argv[2]}, open(t + "/enrol.json", "w"))' \
	"$T" "$(openssl x509 -in "$T/node-reboot.crt" -outform der | sha256sum | cut -c1-64)"
RC=(--cert "$T/node-reboot.crt" --key "$T/node-reboot.key")
post /v1/nodes "$T/enrol.json" "${RC[@]}"
check "enrolment by hand (tpm2-tools): a credential for the AK" \
	"'credential_blob' in d and 'encrypted_secret' in d"
printf '{"secret":"%s"}' "$(head -c 32 /dev/urandom | base64 -w0)" >"$T/act.json"
post /v1/nodes/node-reboot/activate "$T/act.json" "${RC[@]}"
check "activation with the wrong secret: refused" \
	"'the AK and the EK are not in the same TPM' in d['error']"
[ "$ST" = 403 ] && ok "... with status 403" || bad "wrong secret: status $ST"
post /v1/nodes/node-reboot/activate "$T/act.json" "${RC[@]}"
check "one try per credential" "'no enrolment of node node-reboot is waiting' in d['error']"
get /v1/nodes/node-reboot
check "the existing enrolment is untouched" "d['verdict'] == 'trusted' and d['log_entries'] == 2"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1] + "/enrol.json"))
d["ek_pub"] = d["ak_pub"]
json.dump(d, open(sys.argv[1] + "/enrol2.json", "w"))' "$T"
post /v1/nodes "$T/enrol2.json" "${RC[@]}"
check "an EK certificate for another key than ek_pub: refused" \
	"d['error'] == 'the EK certificate does not certify ek_pub'"

# ---- staleness ----
att_stop
att_restart "$T" "${ATT_ARGS[@]}" --stale-after 2 || die "attestor does not restart"
sleep 3
get /v1/nodes/node-good
check "no evidence for longer than --stale-after: stale" "d['verdict'] == 'stale'"
printf '{"Pod":{},"NodeNames":["node-good"]}' >"$T/args.json"
post /scheduler/filter "$T/args.json"
check "filter drops the stale node" \
	"d['NodeNames'] == [] and 'stale' in d['FailedNodes']['node-good']"
expect "fresh evidence: trusted again" 0 '"verdict":"trusted"' ns good push

# ---- database, and the import of an older attestor's state file ----
att_stop && ok "attestor stops cleanly again" || bad "attestor exit status $?"
[ ! -e "$T/state.json" ] && [ "$(sqlite3 "$T/state.db" 'SELECT count(*) FROM tcl_nodes')" = 10 ] &&
	ok "database (default sqlite:DIR/state.db beside --state): the 10 enrolled nodes" ||
	bad "database content"
# an older attestor's state file: the rows' JSON is that file's node form
sqlite3 "$T/state.db" 'SELECT data FROM tcl_nodes ORDER BY id' | python3 -c 'import json, sys
print(json.dumps({"version": 1, "nodes": [json.loads(l) for l in sys.stdin]}))' >"$T/state.json"
mv "$T/state.db" "$T/state.db.old"
rm -f "$T/state.db-wal" "$T/state.db-shm"
printf '{"version":1,"nodes":[{"id":"x"}]}' >"$T/bad.json"
expect "a corrupt state file to import stops the attestor (it never forgets enrolments)" 1 \
	'refusing to start with a partial state' "$ATT_BIN" --listen 127.0.0.1:1 \
	"${ATT_ARGS[@]}" --state "$T/bad.json" --db "sqlite:$T/bad.db"
att_restart "$T" "${ATT_ARGS[@]}" || die "attestor does not restart"
[ -e "$T/state.json.imported" ] && [ ! -e "$T/state.json" ] &&
	grep -q 'imported 10 nodes' "$T/attestor.log" &&
	ok "the state file is imported once and renamed .imported" || bad "state file import"
get /v1/nodes
check "imported: the 10 nodes with their verdicts" \
	"len(d['nodes']) == 10 and sum(n['verdict'] == 'untrusted' for n in d['nodes']) >= 1"
expect "an imported node carries on from its offset" 0 '"verdict":"trusted"' ns good push
att_stop || bad "attestor exit status $?"
grep -E 'Sanitizer|runtime error' "$T/attestor.log" >/dev/null &&
	bad "sanitizer report in the attestor log" ||
	ok "no sanitizer report in the attestor log"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
