#!/bin/bash
# Service test of revocation at tcl-attestor: POST /v1/revocations with an admin certificate
# (--admin-ca, a CA of its own) is accepted, with a node's or a reader's certificate refused
# (403); GET lists the revocations with the nodes and containers they reach; the list survives
# a restart; the answer to a node's evidence carries it; DELETE withdraws one.  Real HTTPS on
# 127.0.0.1, a swtpm for the simulated node (tests/service/attestor/nodesim), a real
# docker-registry holding an image and its signed golden manifest; the attestor and nodesim are
# built with ASan/UBSan.
# Prints "N passed, N failed"; exit status 1 when anything failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/registry.sh"
. "$HERE/attestor/lib.sh"

T=$(mktemp -d /tmp/tcl-revoke.XXXXXX)
B=${TCL_ATTESTOR_O:-$T/build}
cleanup() {
	att_cleanup
	reg_stop "$T/reg"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$HERE/expect.sh"
die() { echo "test_revoke: $*" >&2; echo "$pass passed, $((fail + 1)) failed"; exit 1; }

# check NAME PYTHON-EXPR: evaluated with d = the JSON in $T/get.json
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
# as WHO METHOD PATH [BODY]: request with WHO's certificate; body in $T/get.json, status in $ST
as() {
	local who=$1 m=$2 p=$3
	shift 3
	ST=$(curl -s --cacert "$T/ca.crt" --cert "$T/$who.crt" --key "$T/$who.key" \
		-o "$T/get.json" -w '%{http_code}' -X "$m" ${1:+-H 'Content-Type: application/json' \
		--data-binary "$1"} "$ATT_URL$p")
}
status_is() {	# status_is NAME WANT
	[ "$ST" = "$2" ] && ok "$1" || { bad "$1 (HTTP $ST, want $2)"; head -c 600 "$T/get.json"; echo; }
}

att_build "$B" san || die "build failed"
ATT_BIN=$B/tcl-attestor
NS=$B/nodesim
TCLCTL=$B/tclctl
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
ns() { att_nodesim "$T" "$@"; }

# ---- PKI: the test CA (nodes, reader) and an admin CA of its own ----
att_pki "$T" || die "openssl failed"
att_cert "$T" node-good node-good || die "openssl failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/admin-ca.key" -out "$T/admin-ca.crt" -subj /CN=tcl-admin-ca 2>/dev/null &&
	att_cert "$T" admin ops-alice admin-ca || die "openssl failed"

# ---- registry: one image, its golden manifest signed by the trusted key ----
reg_start "$T/reg" || die "docker-registry does not start"
HP=${REG_URL#http://}
python3 "$HERE/../mkoci.py" tags "$T/oci" "v1=image-1" || die "mkoci failed"
out=$("$TCLCTL" image push --oci "$T/oci" --registry "$REG_URL" "test/app:v1") ||
	die "image push failed"
DIG=${out#*@}
"$TCLCTL" golden keygen -o "$T/golden" >/dev/null || die "golden keygen failed"
KEYID=$("$TCLCTL" golden keyid "$T/golden.pub") || die "golden keyid failed"
"$TCLCTL" golden generate --oci "$T/oci" --ref "$HP/test/app:v1" -o "$T/g.json" &&
	"$TCLCTL" golden sign --key "$T/golden.key" "$T/g.json" &&
	"$TCLCTL" golden push --registry "$REG_URL" "test/app@$DIG" --manifest "$T/g.json" \
		--sig "$T/g.json.sig" >/dev/null || die "golden manifest failed"
GSHA=$(sha256sum "$T/g.json" | cut -c1-64)
HELLO=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["files"]["/bin/hello"])' \
	"$T/g.json")
C1=$(printf 'c1' | sha256sum | cut -c1-64)
expect "tclctl golden keyid: the key's fingerprint (64 hex)" 0 "^$KEYID\$" \
	"$TCLCTL" golden keyid "$T/golden.key"

att_tpm "$T" good || die "swtpm"
ATT_ARGS=(--cert "$T/server.crt" --key "$T/server.key" --client-ca "$T/ca.crt"
	--state "$T/state.json" --registry "$REG_URL" --trust-key "$T/golden.pub" --stale-after 600)

# ---- without --admin-ca: no admin calls ----
expect "--admin-ca equal to --client-ca is refused" 2 "a CA of its own" \
	"$ATT_BIN" "${ATT_ARGS[@]}" --admin-ca "$T/ca.crt"
att_start "$T" "${ATT_ARGS[@]}" || die "tcl-attestor does not start"
IMG='{"kind":"image","digest":"'$DIG'","reason":"CVE-2026-0001 in libfoo"}'
as reader POST /v1/revocations "$IMG"
status_is "without --admin-ca, POST /v1/revocations is refused" 403
check "... saying why" "'--admin-ca' in d['error']"
att_stop

# ---- with --admin-ca ----
att_restart "$T" "${ATT_ARGS[@]}" --admin-ca "$T/admin-ca.crt" || die "restart"
expect "good: enrol" 0 '"rc":0' ns good enrol
ns good append boot "start,$C1,$HP/test/app:v1,$DIG" "verify,$HP/test/app:v1,$DIG,verified,$GSHA" \
	"exec,$C1,/bin/hello,$HELLO" || bad "append to node-good's log"
expect "good: evidence accepted, the answer carries an empty revocation list" 0 \
	'"verdict":"trusted".*"revocations_version":0,"revocations":0' ns good push

as reader GET /v1/revocations
status_is "GET /v1/revocations as a reader" 200
check "... empty, version 0" "d == {'version': 0, 'entries': []}"
as node-good POST /v1/revocations "$IMG"
status_is "POST with a node's certificate: 403" 403
check "... not an admin certificate" "'not an admin certificate' in d['error']"
as reader POST /v1/revocations "$IMG"
status_is "POST with the reader's certificate: 403" 403
as admin POST /v1/revocations '{"kind":"image","digest":"sha256:abc","reason":"x"}'
status_is "a malformed digest: 400" 400
check "... naming the field" "'\"digest\" must be' in d['error']"
as admin POST /v1/revocations '{"kind":"image","digest":"'$DIG'"}'
status_is "no reason: 400" 400
as admin POST /v1/revocations '{"kind":"tag","digest":"'$DIG'","reason":"x"}'
status_is "an unknown kind: 400" 400
as admin POST /v1/revocations '{"kind":"image","digest":"'$DIG'","reason":"x","id":7}'
status_is "an id in the request: 400" 400
as admin POST /v1/revocations "$IMG"
status_is "POST with the admin certificate: 201" 201
check "... the entry with its id and what it reaches now (node-good's running container)" \
	"d['id'] == 1 and d['kind'] == 'image' and d['digest'] == '$DIG' and
	 d['reason'].startswith('CVE') and d['affected_nodes'] == 1 and d['affected_containers'] == 1"
grep -q 'revocation 1 by "ops-alice": image' "$T/attestor.log" && ok "the attestor logs who revoked what" ||
	bad "the attestor logs who revoked what"
as admin POST /v1/revocations "$IMG"
status_is "the same image again: 409" 409
as admin POST /v1/revocations '{"kind":"key","fingerprint":"sha256:'$KEYID'","reason":"key leaked"}'
status_is "revoke the signing key by its fingerprint: 201" 201
check "... it reaches the container whose manifest that key signed" \
	"d['id'] == 2 and d['fingerprint'] == 'sha256:$KEYID' and d['affected_containers'] == 1"
as reader GET /v1/revocations
check "GET lists both, version 2" \
	"d['version'] == 2 and [e['id'] for e in d['entries']] == [1, 2] and
	 d['entries'][1]['kind'] == 'key'"
as reader GET /v1/revocations/1/affected
status_is "GET /v1/revocations/1/affected" 200
check "... node-good's container C1" \
	"d['nodes'] == 1 and d['count'] == 1 and d['containers'][0]['node'] == 'node-good' and
	 d['containers'][0]['container'] == '$C1' and d['containers'][0]['image_digest'] == '$DIG'"
as reader GET /v1/revocations/9
status_is "an unknown revocation: 404" 404
expect "the answer to the next evidence carries the list (version 2, 2 entries)" 0 \
	'"verdict":"trusted".*"revocations_version":2,"revocations":2' ns good push

# ---- persisted ----
att_stop; rc=$?
[ $rc = 0 ] && ok "attestor stops cleanly" || bad "attestor exit status $rc"
sqlite3 "$T/state.db" 'SELECT data FROM tcl_revocations' >"$T/revs.json"
att_json_is "$T/revs.json" "d['version'] == 2 and len(d['entries']) == 2" &&
	ok "the database holds the revocations" || bad "the database holds the revocations"
att_restart "$T" "${ATT_ARGS[@]}" --admin-ca "$T/admin-ca.crt" || die "restart"
as reader GET /v1/revocations
check "after a restart: both revocations, version 2" \
	"d['version'] == 2 and len(d['entries']) == 2 and d['entries'][0]['affected_containers'] == 1"
expect "... and the answer to evidence still carries them" 0 '"revocations_version":2,"revocations":2' \
	ns good push

# ---- withdrawn ----
as reader DELETE /v1/revocations/2
status_is "DELETE as a reader: 403" 403
as admin DELETE /v1/revocations/2
status_is "DELETE as admin: 200" 200
as admin DELETE /v1/revocations/2
status_is "DELETE again: 404" 404
expect "the next answer: version 3, one entry" 0 '"revocations_version":3,"revocations":1' ns good push
as admin POST /v1/revocations '{"kind":"key","fingerprint":"sha256:'$KEYID'","reason":"again"}'
check "a new revocation gets a new id (ids are never reused)" "d['id'] == 4"

printf '{"version":1,"nodes":[],"revocations":{"version":1,"entries":[{"id":5,"kind":"image","digest":"%s","reason":"r","created":1}]}}' \
	"$DIG" >"$T/bad-state.json"
expect "a state file to import with a revocation id beyond its version is refused" 1 \
	"beyond the list's version" "$ATT_BIN" --listen 127.0.0.1:1 --cert "$T/server.crt" \
	--key "$T/server.key" --client-ca "$T/ca.crt" --state "$T/bad-state.json" \
	--db "sqlite:$T/bad.db"

att_stop
if grep -q -e Sanitizer -e 'runtime error' "$T/attestor.log"; then
	bad "no sanitizer report in the attestor's log"
	grep -A20 -e Sanitizer -e 'runtime error' "$T/attestor.log" | head -40
else
	ok "no sanitizer report in the attestor's log"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
