#!/bin/bash
# lib/tpm.c against a throwaway swtpm on 127.0.0.1: builds tests/swtpm/test_tpm.c (plain and
# ASan/UBSan), runs both, checks the quote it wrote with tpm2_checkquote, checks the EK
# certificate chain of swtpm's local CA, and measures extends/s (batch vs one tpm2_pcrextend
# process per entry).  Prints "N passed, N failed"; exits non-zero on any failure.
# Needs: swtpm, swtpm_setup (swtpm-tools), tpm2-tools, libtss2, OpenSSL 3, cmocka.
set -u

cd "$(dirname "$0")/../.." || exit 1
. tests/swtpm/swtpm-lib.sh
O=${O:-build}/swtpm
TMP=$(mktemp -d /tmp/tcl-swtpm.XXXXXX)
PASS=0
FAIL=0

cleanup() {
	swtpm_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok: $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
die() { echo "run.sh: $*" >&2; echo "$PASS passed, $((FAIL + 1)) failed"; exit 1; }

# ---- TPM state with an EK certificate from swtpm's local CA, kept inside $TMP; swtpm on a
# random free port pair (server P, control P+1), 127.0.0.1 only.
swtpm_make_state "$TMP" || die "$SWTPM_ERR"
swtpm_start "$TMP" || die "$SWTPM_ERR"
P=$SWTPM_PORT
TCTI=$SWTPM_TCTI
export TPM2TOOLS_TCTI=$TCTI
echo "swtpm pid $SWTPM_PID on 127.0.0.1:$P (control $((P + 1))), state $TMP/state"

# ---- build: only this module and diag, so others' work in progress cannot break it.
mkdir -p "$O"
CFLAGS="-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -std=gnu11
	-D_GNU_SOURCE -Iinclude -Ilib -Ictl"
LIBS="-lcmocka $(pkg-config --libs tss2-esys tss2-mu tss2-rc tss2-tctildr openssl) -lpthread"
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
SRC="tests/swtpm/test_tpm.c lib/tpm.c lib/tpm_verify.c lib/fileio.c lib/diag.c"
# shellcheck disable=SC2086
gcc $CFLAGS $SRC $LIBS -o "$O/test_tpm" || die "build failed"
# shellcheck disable=SC2086
gcc $CFLAGS $SAN $SRC $LIBS -o "$O/test_tpm-san" || die "sanitizer build failed"

# ---- the cmocka tests, counted one by one.
run_cmocka() { # name binary
	local log="$TMP/$1.log" total okc
	mkdir -p "$TMP/$1"
	TCL_TEST_TCTI=$TCTI TCL_TEST_DIR="$TMP/$1" "$2" >"$log" 2>&1
	local rc=$?
	total=$(sed -n 's/^\[==========\] Running \([0-9]*\) test.*/\1/p' "$log")
	okc=$(grep -c '^\[       OK \]' "$log")
	grep -E '^(bench|AK at)' "$log"
	PASS=$((PASS + okc))
	FAIL=$((FAIL + ${total:-1} - okc))
	if [ "$rc" -ne 0 ] || [ "$okc" -ne "${total:-0}" ]; then
		echo "---- $1 (exit $rc) ----"
		cat "$log"
		echo "----"
	fi
	echo "$1: $okc/${total:-?} cmocka tests passed"
}
run_cmocka plain "$O/test_tpm"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_cmocka san "$O/test_tpm-san"

# ---- tpm2_checkquote on what the plain run wrote.
Q=$TMP/plain/quote
if [ -s "$Q/nonce.hex" ]; then
	N=$(cat "$Q/nonce.hex")
	WRONG=$(printf '%s' "$N" | tr '0-9a-f' '1-9a-f0')
	if tpm2_checkquote -u "$Q/ak.pub.pem" -m "$Q/quote.msg" -s "$Q/quote.sig" \
		-f "$Q/quote.pcrs" -g sha256 -q "$N" >"$TMP/cq.out" 2>&1; then
		ok "tpm2_checkquote accepts the quote with its nonce"
	else
		bad "tpm2_checkquote rejects our quote: $(cat "$TMP/cq.out")"
	fi
	if tpm2_checkquote -u "$Q/ak.pub.pem" -m "$Q/quote.msg" -s "$Q/quote.sig" \
		-f "$Q/quote.pcrs" -g sha256 -q "$WRONG" >/dev/null 2>&1; then
		bad "tpm2_checkquote accepts a wrong nonce"
	else
		ok "tpm2_checkquote rejects a wrong nonce"
	fi
	# tpm2_checkquote reads back from quote.pcrs the PCR 13 value the test read live.
	want=$(cat "$Q/pcr13.hex" 2>/dev/null)
	got=$(tpm2_checkquote -u "$Q/ak.pub.pem" -m "$Q/quote.msg" -s "$Q/quote.sig" \
		-f "$Q/quote.pcrs" -g sha256 -q "$N" 2>/dev/null |
		sed -n 's/^ *13 *: 0x//p' | tr 'A-F' 'a-f')
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "tpm2_checkquote reads PCR 13 = ${want:0:16}... from quote.pcrs"
	else
		bad "PCR 13 in quote.pcrs: got '$got', want '$want'"
	fi
else
	bad "no quote directory written by the test"
fi

# ---- EK certificate chains to swtpm's local CA (what the attestor will check).
if [ -s "$TMP/plain/ek.crt" ] &&
	openssl x509 -inform der -in "$TMP/plain/ek.crt" -out "$TMP/ek.pem" 2>/dev/null &&
	openssl verify -CAfile "$TMP/ca/swtpm-localca-rootca-cert.pem" \
		-untrusted "$TMP/ca/issuercert.pem" "$TMP/ek.pem" >"$TMP/verify.out" 2>&1; then
	ok "EK certificate read from NV 0x01c00002 verifies against the local CA"
else
	bad "EK certificate chain: $(cat "$TMP/verify.out" 2>/dev/null)"
fi

# ---- benchmark: one tpm2_pcrextend process per entry.
NB=200
D1=$(printf tcl | sha1sum | cut -d' ' -f1)
D2=$(printf tcl | sha256sum | cut -d' ' -f1)
t0=$(date +%s.%N)
for _ in $(seq 1 $NB); do
	tpm2_pcrextend "13:sha1=$D1,sha256=$D2" || { bad "tpm2_pcrextend failed"; break; }
done
t1=$(date +%s.%N)
echo "bench: $NB tpm2_pcrextend processes in $(echo "$t1 - $t0" | bc) s =" \
	"$(echo "$NB / ($t1 - $t0)" | bc) extends/s"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
