#!/bin/sh
# Measurement pipeline (lib/measure.c) against the guest's TPM (/dev/tpmrm0, swtpm behind
# QEMU's tpm-tis), driven by tests/swtpm/measure_tool.c: measurements logged and extended,
# PCR = replay, evmctl accepts (and rejects a changed digest), crash between append and extend
# and kill -9 mid-burst recovered at reopen, quote checked by tpm2_checkquote.
# Every allocated PCR bank (tpm2_pcrread) is checked: run-all.sh boots the guest once with a TPM
# manufactured with sha1+sha256 banks and once with sha256+sha384 (TCLVM_PCR_BANKS).
# Kept short: the whole guest suite shares one boot.
. "$TOP/tests/guest/lib.sh"
W=/tmp/tclmeasure
rm -rf $W
mkdir -p $W
TCTI=device:/dev/tpmrm0
export TPM2TOOLS_TCTI=$TCTI

section "measurement log on the guest TPM"
if [ ! -c /dev/tpmrm0 ]; then
	fail "guest has /dev/tpmrm0"
	exit 0
fi

# The driver: linked against build/libtcl.a when it has the module, else from the sources.
T=$W/measure_tool
CF="-O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE -I$TOP/include
    -I$TOP/lib -I$TOP/ctl $(pkg-config --cflags json-c)"
LIBS="$(pkg-config --libs tss2-esys tss2-mu tss2-rc tss2-tctildr openssl json-c) -lpthread"
fresh=1
for f in lib/measure lib/log lib/tpm lib/canonjson lib/util lib/diag ctl/log ctl/quote ctl/ak \
	ctl/cmds; do
	[ "$B/libtcl.a" -nt "$TOP/$f.c" ] && [ "$B/libtcl-ctl.a" -nt "$TOP/$f.c" ] || fresh=0
done
if [ $fresh = 1 ] && ar t "$B/libtcl.a" | grep -q '^measure.o$'; then
	# shellcheck disable=SC2086
	gcc $CF "$TOP/tests/swtpm/measure_tool.c" "$B/libtcl-ctl.a" "$B/libtcl.a" $LIBS -o $T \
		2>$W/cc.err
else
	# shellcheck disable=SC2086
	gcc $CF "$TOP/tests/swtpm/measure_tool.c" "$TOP/lib/measure.c" "$TOP/ctl/log.c" \
		"$TOP/ctl/quote.c" "$TOP/ctl/ak.c" "$TOP/ctl/cmds.c" "$TOP/lib/log.c" "$TOP/lib/logseg.c" \
		"$TOP/lib/tpm.c" "$TOP/lib/tpm_verify.c" "$TOP/lib/canonjson.c" "$TOP/lib/util.c" \
		"$TOP/lib/diag.c" "$TOP/lib/fileio.c" "$TOP/lib/hexb64.c" "$TOP/lib/escape.c" \
		"$TOP/lib/jsonb.c" \
		$LIBS -o $T 2>$W/cc.err
fi
if [ ! -x $T ]; then
	fail "measure_tool builds: $(head -3 $W/cc.err)"
	exit 0
fi

# A PCR nothing else in this boot extended (the agent of other suites may use 13).
PCR=
for p in 14 15; do
	v=$(tpm2_pcrread "sha256:$p" 2>/dev/null | sed -n "s/^ *$p *: 0x//p")
	case "$v" in *[1-9A-F]*) ;; ?*) PCR=$p; break ;; esac
done
if [ -z "$PCR" ]; then
	fail "a zero PCR (14 or 15) to measure into"
	exit 0
fi
L=$W/var/measurements.bin
m() { $T --log $L --tpm $TCTI --pcr $PCR "$@"; }
ctl() { $T tclctl "$@"; }
verify() { ctl log verify --log $L --tpm $TCTI --pcr $PCR "$@"; }
verify_q() { verify "$@" >/dev/null 2>&1; }
# The allocated banks, as tpm2_pcrread lists them ("  sha256:" headers with PCRs under them).
BANKS=$(tpm2_pcrread 2>/dev/null | awk '/^  [a-z0-9_]+:$/ { b = $1; sub(":", "", b) }
	/^    [0-9]+ *: 0x/ { if (b != "" && !seen[b]++) printf "%s ", b }')
want=$(echo "${TCLVM_PCR_BANKS:-}" | tr ',' ' ')
if [ -n "$want" ]; then
	[ "$(echo $BANKS | tr ' ' '\n' | sort | tr '\n' ' ')" = \
		"$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')" ] &&
		pass "the guest TPM has the banks swtpm was manufactured with: $BANKS" ||
		fail "the guest TPM has the banks $want (tpm2_pcrread: $BANKS)"
fi
evm() { # every allocated bank: evmctl for sha1/sha256 (all it knows: for another bank evmctl 1.4
	# says "Unknown algorithm" and exits 0 unchecked), tests/host/ima_replay.py for the rest
	_a=
	for b in $BANKS; do
		ctl log pcrs --bank $b -o $W/pcrs.$b --tpm $TCTI >/dev/null 2>&1 || return 1
		case $b in
		sha1 | sha256) _a="$_a --pcrs $b,$W/pcrs.$b" ;;
		*) python3 "$TOP/tests/host/ima_replay.py" "$b,$W/pcrs.$b" "$1" $PCR \
			>/dev/null 2>&1 || return 1 ;;
		esac
	done
	[ -z "$_a" ] && return 0
	# shellcheck disable=SC2086
	evmctl ima_measurement $_a "$1" >/dev/null 2>&1
}
# every_bank: log verify --strict reports each allocated bank as the replay of the whole log,
# with the value tpm2_pcrread gives
every_bank() {
	verify --strict >$W/vb 2>&1 || return 1
	for b in $BANKS; do
		v=$(tpm2_pcrread "$b:$PCR" 2>/dev/null | sed -n "s/^ *$PCR *: 0x//p" | tr 'A-F' 'a-f')
		grep -q "^ok $b: PCR $PCR = $v = replay of all" $W/vb || return 1
	done
}
out=$W/out

m status >$out 2>&1
grep -q 'report: anchored=1 created=1 entries=1 .*state=ok' $out &&
	pass "new log on PCR $PCR: boot_aggregate logged and extended" ||
	fail "new log on PCR $PCR: $(cat $out)"

m burst 1500 --containers 3 --bufs 10 --names $W/names >$out 2>&1
rc=$?
grep '^burst:' $out | sed 's/^/    /'
[ $rc = 0 ] && grep -q "entries=1511 extended=1511 queued=0 measured=1510 deduped=0 dropped=0" \
	$out &&
	pass "1,500 files (3 containers) + 10 events logged and extended" ||
	fail "1,500 measurements: $(tail -3 $out)"
ctl log show --log $L 2>/dev/null | cut -d' ' -f5 | grep -v '^boot_aggregate$' | sort >$W/logged
sort $W/names >$W/wanted
cmp -s $W/logged $W/wanted && pass "every measurement in the log exactly once" ||
	fail "every measurement in the log exactly once"
check "log verify --strict: PCR $PCR = replay of the whole log" verify_q --strict
check "log verify: every bank ($BANKS) = its replay = tpm2_pcrread" every_bank
check "evmctl (sha1, sha256) and ima_replay.py (other banks) accept the log" evm $L
cp $L $W/flipped.bin
python3 - $W/flipped.bin <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
off = 0
for _ in range(700):                  # to entry 700
    tl = struct.unpack_from('<I', b, off + 24)[0]
    off += 28 + tl + 4 + struct.unpack_from('<I', b, off + 28 + tl)[0]
tl = struct.unpack_from('<I', b, off + 24)[0]
b[off + 28 + tl + 4 + 4 + 8] ^= 1     # a byte of its file digest
open(sys.argv[1], 'wb').write(b)
EOF
evm $W/flipped.bin && fail "evmctl rejects a copy with one digest changed" ||
	pass "evmctl rejects a copy with one digest changed"

$T --log $L --tpm $TCTI --pcr $PCR --crash-after-appends 1 burst 800 --start 10000 >$out 2>&1
[ $? = 99 ] && pass "crash between append and extend (test hook)" ||
	fail "crash hook: $(tail -2 $out)"
verify >$out 2>&1 && grep -q "^prefix sha256" $out &&
	pass "after the crash the PCR is the replay of a prefix of the log" ||
	fail "after the crash the PCR is the replay of a prefix: $(cat $out)"
m status >$out 2>&1
grep -q 'report: .*recovered=[1-9][0-9]* .*state=ok' $out &&
	pass "reopen extends what was logged ($(grep -o "recovered=[0-9]*" $out | head -1))" ||
	fail "reopen recovers: $(cat $out)"
check "log verify --strict after the recovery" verify_q --strict
check "evmctl accepts the log after the recovery" evm $L

$T --log $L --tpm $TCTI --pcr $PCR burst 6000 --start 20000 >$W/kill.out 2>&1 &
bg=$!
sleep 2
kill -9 $bg 2>/dev/null
wait $bg
rc=$?
[ $rc = 137 ] && pass "kill -9 during a burst" || fail "kill -9 during a burst (exit $rc)"
m status >$out 2>&1
got=$(grep -oE 'entries=[0-9]+ |recovered=[0-9]+' $out | head -2 | tr '\n' ' ')
grep -q 'report: .*state=ok' $out && pass "restart after kill -9: $got" ||
	fail "restart after kill -9: $(cat $out)"
check "log verify --strict after kill -9 + restart" verify_q --strict
check "every bank ($BANKS) = its replay after kill -9 + restart" every_bank
check "evmctl accepts the log after kill -9 + restart" evm $L
n=$(ctl log show --log $L 2>/dev/null | cut -d' ' -f5 | grep ':/bin/f' | sort | uniq -d | wc -l)
[ "$n" = 0 ] && pass "no file measured twice" || fail "no file measured twice ($n duplicates)"

N=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
WRONG=$(printf '%s' "$N" | tr '0-9a-f' '1-9a-f0')
cq() { tpm2_checkquote -u $1/ak.pub.pem -m $1/quote.msg -s $1/quote.sig -f $1/quote.pcrs \
	-g sha256 -q "$2" >/dev/null 2>&1; }
m quote "$N" $W/q >$out 2>&1 && cq $W/q "$N" && pass "tpm2_checkquote accepts the quote" ||
	fail "tpm2_checkquote accepts the quote: $(tail -2 $out)"
cq $W/q "$WRONG" && fail "tpm2_checkquote rejects a wrong nonce" ||
	pass "tpm2_checkquote rejects a wrong nonce"
for b in $BANKS; do
	[ $b = sha256 ] && continue
	ctl quote --bank $b --nonce "$N" -o $W/q.$b --tpm $TCTI --pcr $PCR >$out 2>&1 &&
		tpm2_checkquote -u $W/q.$b/ak.pub.pem -m $W/q.$b/quote.msg -s $W/q.$b/quote.sig \
			-f $W/q.$b/quote.pcrs -g $b -q "$N" >/dev/null 2>&1 &&
		pass "tpm2_checkquote -g $b accepts a quote over the $b bank" ||
		fail "quote over the $b bank: $(tail -2 $out)"
done
ctl ak export -o $W/ak.pem --tpm $TCTI >/dev/null 2>&1 && cmp -s $W/ak.pem $W/q/ak.pub.pem &&
	pass "tclctl ak export gives the quoting key" ||
	fail "tclctl ak export gives the quoting key"
rm -rf $W
