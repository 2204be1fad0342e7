#!/bin/bash
# Service test of tcl-attestor's PCR bank choice (--pcr-bank): real HTTPS on 127.0.0.1, swtpm
# per simulated node (tests/service/attestor/nodesim: the agent's log writer, which extends every
# allocated bank, and its attestation client, which quotes the bank the challenge names).
#   - attestor --pcr-bank sha384, node with sha256+sha384 banks: the challenge asks for sha384,
#     the evidence verifies, the log replays in sha384, the node is trusted, its stored PCR is
#     a 48-byte value; a file outside the allowlist is a finding; a tampered log is refused
#   - a node with sha1+sha256 banks cannot satisfy it (no sha384 quote)
#   - the attestor restarted with the default (sha256) keeps asking the sha384 node for sha384
#     (its log was replayed in that bank) and accepts its evidence; a new node gets sha256
# The attestor and nodesim are built with ASan/UBSan. Prints "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/attestor/lib.sh"

T=$(mktemp -d /tmp/tcl-banks.XXXXXX)
B=${TCL_ATTESTOR_O:-$T/build}
cleanup() {
	att_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$HERE/expect.sh"
die() { echo "test_attestor_banks: $*" >&2; echo "$pass passed, $((fail + 1)) failed"; exit 1; }

CURL=(curl -s --cacert "$T/ca.crt" --cert "$T/reader.crt" --key "$T/reader.key")
get() { ST=$("${CURL[@]}" -o "$T/get.json" -w '%{http_code}' "$ATT_URL$1"); }
# jq_is NAME PYTHON-EXPR: evaluated with d = the JSON in $T/get.json
jq_is() {
	if att_json_is "$T/get.json" "$2" 2>"$T/check.err"; then
		ok "$1"
	else
		bad "$1 ($2)"
		head -c 800 "$T/get.json"
		echo
	fi
}

att_build "$B" san || die "build failed"
ATT_BIN=$B/tcl-attestor
NS=$B/nodesim
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

ns() {		# ns NODE CMD...
	att_nodesim "$T" "$@"
}

att_pki "$T" || die "openssl failed"
for n in b384 b1 late; do
	att_cert "$T" "node-$n" "node-$n" || die "openssl failed"
done
RUNC=$(printf 'runc binary' | sha256sum | cut -c1-64)
EVIL=$(printf 'dropped in at run time' | sha256sum | cut -c1-64)
printf '{"version":1,"allow":[{"sha256":"%s","path":"/usr/bin/runc"}]}\n' "$RUNC" >"$T/host.json"

ATT_PCR_BANKS=sha256,sha384 att_tpm_setup "$T" b384 || die "swtpm_setup (sha256,sha384)"
ATT_PCR_BANKS=sha1,sha256 att_tpm_setup "$T" b1 || die "swtpm_setup (sha1,sha256)"
ATT_PCR_BANKS=sha256,sha384 att_tpm_setup "$T" late || die "swtpm_setup (sha256,sha384)"
for n in b384 b1 late; do
	att_tpm_run "$T" $n || die "swtpm for $n"
done
TPM2TOOLS_TCTI=${TCTI[b384]} tpm2_pcrread sha384:13 >"$T/pcr.out" 2>&1
expect "the node's TPM has a sha384 bank" 0 '13 *: 0x0{96}' cat "$T/pcr.out"

ATT_ARGS=(--cert "$T/server.crt" --key "$T/server.key" --client-ca "$T/ca.crt"
	--state "$T/state.json" --ek-ca "$T/swtpm-ca/ek-ca.pem" --host-policy "$T/host.json"
	--stale-after 600)
expect "--pcr-bank takes sha256, sha1, sha384, sha512 only" 2 "invalid value 'md5'" \
	"$ATT_BIN" "${ATT_ARGS[@]}" --pcr-bank md5
att_start "$T" "${ATT_ARGS[@]}" --pcr-bank sha384 || die "tcl-attestor does not start"

echo "== attestor --pcr-bank sha384"
expect "sha256+sha384 node: enrolled" 0 '"what":"enrol","rc":0' ns b384 enrol
ns b384 append boot "host,/usr/bin/runc,$RUNC" >/dev/null || die "append failed"
expect "evidence over the sha384 bank accepted: trusted" 0 \
	'"rc":0.*"verdict":"trusted".*"accepted":2' ns b384 push
get /v1/nodes/node-b384
jq_is "the node's stored PCR is a 48-byte sha384 value" 'len(d["pcr"]) == 96'
ns b384 append "host,/usr/bin/runc,$RUNC" "host,/usr/bin/evil,$EVIL" >/dev/null
expect "the next evidence continues the sha384 replay; a file off the allowlist: finding" 0 \
	'"rc":0.*"verdict":"untrusted".*"accepted":2' ns b384 push
ns b384 append "host,/usr/bin/runc,$RUNC" >/dev/null
expect "a tampered log does not replay to the sha384 quote: refused" 1 \
	'HTTP 422: the log from offset [0-9]+ \(1 entries\) replays PCR 13 to [0-9a-f]{96}, the quote' \
	ns b384 tamper

expect "sha1+sha256 node: enrolled" 0 '"what":"enrol","rc":0' ns b1 enrol
ns b1 append boot >/dev/null
expect "... but it has no sha384 bank to quote: no evidence accepted" 1 '"rc":-' ns b1 push

echo "== attestor restarted with the default bank (sha256)"
att_stop
att_restart "$T" "${ATT_ARGS[@]}" || die "tcl-attestor does not restart"
ns b384 append "host,/usr/bin/runc,$RUNC" >/dev/null
expect "the sha384 node is still asked for sha384 (its log was replayed in it): accepted" 0 \
	'"rc":0.*"accepted":[1-9]' ns b384 push
get /v1/nodes/node-b384
jq_is "... and its PCR stays a sha384 value" 'len(d["pcr"]) == 96'
expect "a new node (sha256+sha384 TPM) enrols" 0 '"what":"enrol","rc":0' ns late enrol
ns late append boot "host,/usr/bin/runc,$RUNC" >/dev/null
expect "... and is asked for sha256, the default: trusted" 0 \
	'"rc":0.*"verdict":"trusted".*"accepted":2' ns late push
get /v1/nodes/node-late
jq_is "... its PCR a 32-byte sha256 value" 'len(d["pcr"]) == 64'

att_stop
grep -q -e 'Sanitizer' -e 'runtime error:' "$T/attestor.log" &&
	bad "sanitizer report in the attestor's log" || ok "no sanitizer report from the attestor"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
