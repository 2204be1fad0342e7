#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The measurement pipeline (lib/measure.c) and the tclctl log/quote/ak commands
# (ctl/{log,quote,ak}.c) against a throwaway swtpm on 127.0.0.1, driven by
# tests/swtpm/measure_tool.c
# (built here, plain and ASan/UBSan, from the agent sources it needs).  Checked with independent
# tools: evmctl ima_measurement / ima_boot_aggregate, tpm2_checkquote, tpm2_pcrread.
#   - 10,000 file measurements + 50 events: every one in the log once, PCR 13 = replay in every
#     allocated bank, evmctl accepts the log and rejects a copy with one digest changed
# The TPM's banks: SWTPM_PCR_BANKS (swtpm-lib.sh; default sha1,sha256, run-all.sh also runs
# sha256,sha384): every check covers each of them.
#   - a crash between append and extend (test hook) and kill -9 mid-burst: reopen extends what
#     was logged, evmctl accepts, nothing is duplicated
#   - quotes (through the pipeline and tclctl quote) accepted by tpm2_checkquote, wrong nonce
#     rejected; ak export
#   - truncated and corrupted logs, a PCR extended behind the agent's back: clear errors, no
#     appends, files untouched; a TPM reset (reboot) moves the old log aside
#   - measurements dropped by a full queue and records lost by the kernel: records_lost entries
#     that count them all, the log still replays to the PCR and evmctl accepts it
#   - a bounded log (--log-max-bytes): segments, none deleted without acknowledgement, deleted
#     after it down to the bound, replayed from the checkpoint by log verify and at reopen;
#     evmctl only while nothing was deleted; tampered, missing segments and a forged checkpoint
#     caught
# Prints "N passed, N failed"; exits non-zero on any failure.
# Needs: swtpm, swtpm-tools, tpm2-tools, ima-evm-utils, libtss2, OpenSSL 3, json-c, python3.
set -u

cd "$(dirname "$0")/../.." || exit 1
. tests/swtpm/swtpm-lib.sh
TMP=$(mktemp -d /tmp/tcl-measure.XXXXXX)
PASS=0
FAIL=0
BG=

cleanup() {
	[ -n "$BG" ] && kill -9 "$BG" 2>/dev/null
	swtpm_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
die() { echo "test_measure.sh: $*" >&2; echo "$PASS passed, $((FAIL + 1)) failed"; exit 1; }
# check "description" expected_rc command...: output kept in $TMP/out
check() {
	local what=$1 want=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$what"
	else
		bad "$what (exit $rc, expected $want)"
		sed 's/^/    /' "$TMP/out" | tail -8
	fi
}
# has "description" PATTERN: the last check's output matches the extended regex
has() {
	if grep -qE -- "$2" "$TMP/out"; then
		ok "$1"
	else
		bad "$1: no /$2/ in:"
		sed 's/^/    /' "$TMP/out" | tail -8
	fi
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$TMP/out" | head -1; }

for t in swtpm swtpm_setup tpm2_checkquote tpm2_pcrread tpm2_pcrextend evmctl python3; do
	command -v $t >/dev/null || die "$t is missing (scripts/deps.sh)"
done

# ---- build the driver from the sources it needs, so others' work in progress cannot break it
CFLAGS="-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -std=gnu11
	-D_GNU_SOURCE -Iinclude -Ilib -Ictl $(pkg-config --cflags json-c)"
LIBS="$(pkg-config --libs tss2-esys tss2-mu tss2-rc tss2-tctildr openssl json-c) -lpthread"
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
SRC="tests/swtpm/measure_tool.c lib/measure.c ctl/log.c ctl/quote.c ctl/ak.c ctl/cmds.c lib/log.c lib/logseg.c
	lib/tpm.c lib/tpm_verify.c lib/canonjson.c lib/util.c lib/diag.c lib/fileio.c lib/hexb64.c
	lib/escape.c lib/jsonb.c"
T=$TMP/measure_tool
TS=$TMP/measure_tool-san
# shellcheck disable=SC2086
gcc $CFLAGS $SRC $LIBS -o "$T" || die "build failed"
# shellcheck disable=SC2086
gcc $CFLAGS $SAN $SRC $LIBS -o "$TS" || die "sanitizer build failed"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

# Log surgery for the tamper tests, by an independent parser of the IMA binary format.
cat >"$TMP/logedit.py" <<'EOF'
import hashlib, struct, sys
def entries(b):
    off, out = 0, []
    while off + 28 <= len(b):
        tl = struct.unpack_from('<I', b, off + 24)[0]
        dl = struct.unpack_from('<I', b, off + 28 + tl)[0]
        end = off + 28 + tl + 4 + dl
        if end > len(b):
            break
        out.append((off, tl, dl))
        off = end
    return out
cmd, path = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
e = entries(b)
if cmd == 'count':
    print(len(e))
elif cmd == 'offset':            # offset of entry i
    print(e[int(sys.argv[3])][0])
elif cmd == 'flip':              # flip a byte of entry i's digest; "reseal": fix its sha1
    off, tl, dl = e[int(sys.argv[3])]
    data = off + 28 + tl + 4
    b[data + 4 + 8] ^= 1
    if len(sys.argv) > 4:
        b[off + 4:off + 24] = hashlib.sha1(b[data:data + dl]).digest()
    open(path, 'wb').write(b)
EOF
logedit() { python3 "$TMP/logedit.py" "$@"; }
hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# ---- swtpm
swtpm_make_state "$TMP" || die "$SWTPM_ERR"
swtpm_start "$TMP" || die "$SWTPM_ERR"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
echo "swtpm pid $SWTPM_PID on 127.0.0.1:$SWTPM_PORT"
L=$TMP/var/measurements.bin
m() { "$TS" --log "$L" --tpm "$SWTPM_TCTI" "$@"; }
mplain() { "$T" --log "$L" --tpm "$SWTPM_TCTI" "$@"; }
ctl() { "$TS" tclctl "$@"; }
BANKS=$(tr ',' ' ' <<<"$SWTPM_PCR_BANKS")
echo "PCR banks: $BANKS"
pcrs_files() { # write $TMP/pcrs.<bank> for every allocated bank from the live TPM
	local b
	for b in $BANKS; do
		ctl log pcrs --bank "$b" -o "$TMP/pcrs.$b" --tpm "$SWTPM_TCTI" || return 1
	done
}
verify_live() { ctl log verify --log "$L" --tpm "$SWTPM_TCTI" "$@"; }
# replay_ok BANK LOG: evmctl for the banks it knows (sha1, sha256); evmctl 1.4 prints "Unknown
# algorithm" for any other and exits 0 without checking, so tests/host/ima_replay.py (an
# independent hashlib replay) checks those
replay_ok() {
	case $1 in
	sha1 | sha256) evmctl ima_measurement --pcrs "$1,$TMP/pcrs.$1" "$2" ;;
	*) python3 tests/host/ima_replay.py "$1,$TMP/pcrs.$1" "$2" 13 ;;
	esac
}
evm_ok() { # every bank: evmctl with all the banks it knows at once, ima_replay.py for the rest
	local b args=()
	for b in $BANKS; do
		case $b in
		sha1 | sha256) args+=(--pcrs "$b,$TMP/pcrs.$b") ;;
		*) replay_ok "$b" "$1" || return 1 ;;
		esac
	done
	[ ${#args[@]} = 0 ] || evmctl ima_measurement "${args[@]}" "$1"
}

echo "== a new log"
check "open a new log: boot_aggregate written and extended" 0 m status
has "report: created, anchored, 1 entry, state ok" \
	'report: anchored=1 created=1 entries=1 .*state=ok'
check "tclctl log verify --strict: PCR 13 = replay of the new log" 0 verify_live --strict
for b in $BANKS; do has "bank $b checked" "ok $b: PCR 13"; done
check "tclctl log pcrs writes the live banks" 0 pcrs_files
"$TS" tclctl log show --log "$L" >"$TMP/show0" 2>&1
evmctl ima_boot_aggregate --pcrs "sha256,$TMP/pcrs.sha256" >"$TMP/agg" 2>&1
check "boot_aggregate equals evmctl ima_boot_aggregate over the live PCRs 0-9" 0 \
	grep -qE "^13 [0-9a-f]{40} ima-ng $(cat "$TMP/agg") boot_aggregate$" "$TMP/show0"

echo "== 10,000 measurements"
check "10,000 file measurements (5 containers) + 50 events, flushed" 0 \
	m burst 10000 --containers 5 --bufs 50 --names "$TMP/names"
grep '^burst:' "$TMP/out"
has "status: 10,051 entries, all extended, nothing dropped" \
	'status: state=ok anchored=1 pcr=13 entries=10051 extended=10051 queued=0 '\
'measured=10050 deduped=0 dropped=0'
ctl log show --log "$L" >"$TMP/show" 2>"$TMP/show.err"
check "log show: 10,051 lines" 0 test "$(wc -l <"$TMP/show")" = 10051
cut -d' ' -f5 "$TMP/show" | grep -v '^boot_aggregate$' | sort >"$TMP/logged"
sort "$TMP/names" >"$TMP/wanted"
check "every measurement is in the log, exactly once" 0 cmp "$TMP/logged" "$TMP/wanted"
check "... and no file name twice" 0 test -z "$(grep -v container_start "$TMP/logged" | uniq -d)"
check "tclctl log verify --strict: every bank = replay of all 10,051 entries" 0 verify_live --strict
cp "$TMP/out" "$TMP/verify.all"
pcrs_files
for b in $BANKS; do
	tpm2_pcrread "$b:13" -o "$TMP/pcr13.$b" >/dev/null 2>&1
	v=$(hexof "$TMP/pcr13.$b")
	cp "$TMP/verify.all" "$TMP/out"
	has "$b replay of all = tpm2_pcrread $b:13" "ok $b: PCR 13 = $v = replay of all 10051 entries"
	check "pcrs file PCR-13 equals tpm2_pcrread ($b)" 0 grep -q "^PCR-13: $v$" "$TMP/pcrs.$b"
	check "the $b replay (evmctl or ima_replay.py --pcrs $b,FILE) accepts the log" 0 \
		replay_ok "$b" "$L"
done
check "evmctl ima_measurement accepts the log (every bank)" 0 evm_ok "$L"
cp "$L" "$TMP/flipped.bin"
logedit flip "$TMP/flipped.bin" 5000
check "evmctl rejects a copy with one entry's digest changed" 1 \
	evmctl ima_measurement --pcrs "sha256,$TMP/pcrs.sha256" "$TMP/flipped.bin"
check "tclctl log verify rejects it: corrupt entry" 1 \
	ctl log verify --log "$TMP/flipped.bin" --tpm "$SWTPM_TCTI"
has "... naming the offset" "CORRUPT: .*flipped.bin: entry at offset $(logedit offset "$L" 5000) "
cp "$L" "$TMP/forged.bin"
logedit flip "$TMP/forged.bin" 5000 reseal
check "evmctl rejects a forged copy (digest changed, template hash recomputed)" 1 \
	evmctl ima_measurement --pcrs "sha256,$TMP/pcrs.sha256" "$TMP/forged.bin"
for b in $BANKS; do
	check "... and so does the $b replay" 1 replay_ok "$b" "$TMP/forged.bin"
done
check "tclctl log verify rejects it: no prefix replays to the PCR" 1 \
	ctl log verify --log "$TMP/forged.bin" --tpm "$SWTPM_TCTI"
has "... MISMATCH" 'MISMATCH sha256: PCR 13 = [0-9a-f]{64} is not the replay'
check "tclctl log verify --pcrs (offline) accepts the real log" 0 \
	ctl log verify --log "$L" --pcrs "$TMP/pcrs.sha256" --strict

echo "== reopen: the dedup set comes back from the log"
check "the same 10,000 again: all deduplicated" 0 m burst 10000 --containers 5
has "no new entry" 'status: state=ok .*entries=10051 extended=10051 .*measured=0 deduped=10000'

echo "== refused attempts: exec_refused (ima-buf) entries, one per (container, digest)"
check "3 refusals, 100 attempts each, flushed" 0 m burst 0 --refused 3
has "3 entries, 297 attempts deduplicated" 'status: state=ok .*measured=3 deduped=297 dropped=0'
check "log show: 3 exec_refused entries, ima-buf" 0 \
	test "$(ctl log show --log "$L" | grep -c ' ima-buf sha256:[0-9a-f]* exec_refused 7b')" = 3
check "tclctl log verify --strict with exec_refused entries" 0 verify_live --strict
pcrs_files
check "evmctl ima_measurement accepts the log with exec_refused entries (every bank)" 0 \
	evm_ok "$L"
check "reopen: the refusals are known, none logged again" 0 m burst 0 --refused 3
has "no new entry" 'status: state=ok .*measured=0 deduped=300'

echo "== crash between append and extend (test hook)"
mplain --crash-after-appends 1 burst 3000 --start 100000 >"$TMP/out" 2>&1
check "the driver exited in the window (hook: after the first append)" 0 test $? = 99
check "tclctl log verify: the PCR is the replay of a prefix" 0 verify_live
has "... the rest logged, not extended" \
	'prefix sha256: PCR 13 = .* entries; the last [0-9]+ are logged'
check "... which --strict refuses" 1 verify_live --strict
pcrs_files
check "evmctl accepts it (a prefix replays to the PCR)" 0 evm_ok "$L"
check "reopen completes the extends" 0 m status
has "report: recovered > 0, state ok" \
	'report: anchored=1 created=0 entries=[0-9]+ .*recovered=[1-9][0-9]* .*state=ok'
recovered=$(field recovered)
check "tclctl log verify --strict after the recovery" 0 verify_live --strict
pcrs_files
check "evmctl accepts the log after the recovery (every bank)" 0 evm_ok "$L"
check "measuring the burst again completes it without duplicates" 0 \
	m burst 3000 --start 100000 --names "$TMP/names2"
ctl log show --log "$L" | cut -d' ' -f5 | grep ':/bin/f1[0-9]\{5\}$' | sort >"$TMP/logged2"
sort "$TMP/names2" >"$TMP/wanted2"
check "all 3,000 in the log exactly once ($recovered were recovered)" 0 \
	cmp "$TMP/logged2" "$TMP/wanted2"

echo "== kill -9 during a burst"
# The driver itself in the background (not a function: a subshell would take the signal).
"$T" --log "$L" --tpm "$SWTPM_TCTI" burst 60000 --start 200000 >"$TMP/kill.out" 2>&1 &
BG=$!
sleep 1
kill -9 "$BG" 2>/dev/null
wait "$BG" 2>/dev/null
rc=$?
BG=
check "the driver was killed mid-burst (exit 137)" 0 test "$rc" = 137
check "tclctl log verify: the PCR is the replay of the log or a prefix" 0 verify_live
cp "$TMP/out" "$TMP/kill.verify"
check "reopen: state ok, logged-but-unextended entries extended" 0 m status
has "report state ok" 'report: anchored=1 created=0 .*state=ok'
echo "    after kill -9: $(grep -oE 'entries=[0-9]+|recovered=[0-9]+' "$TMP/out" | head -2 |
	tr '\n' ' ')"
check "tclctl log verify --strict after the restart" 0 verify_live --strict
pcrs_files
check "evmctl accepts the log after kill -9 + restart (every bank)" 0 evm_ok "$L"
ctl log show --log "$L" | cut -d' ' -f5 | grep ':/bin/f' | sort | uniq -d >"$TMP/dups"
check "no file measured twice" 0 test ! -s "$TMP/dups"
check "re-running the burst logs what the kill cut off" 0 \
	mplain burst 60000 --start 200000 --names "$TMP/names3"
ctl log show --log "$L" | cut -d' ' -f5 | grep ':/bin/f2[0-9]\{5\}$' | sort >"$TMP/logged3"
sort "$TMP/names3" >"$TMP/wanted3"
check "all 60,000 in the log exactly once" 0 cmp "$TMP/logged3" "$TMP/wanted3"
check "tclctl log verify --strict" 0 verify_live --strict
pcrs_files
check "evmctl accepts the final log" 0 evm_ok "$L"
ENTRIES=$(logedit count "$L")

echo "== quotes"
N=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
WRONG=$(printf '%s' "$N" | tr '0-9a-f' '1-9a-f0')
check "tcl_measure_quote writes quote.msg quote.sig quote.pcrs ak.pub.pem" 0 \
	m quote "$N" "$TMP/q1"
cq() { tpm2_checkquote -u "$1/ak.pub.pem" -m "$1/quote.msg" -s "$1/quote.sig" \
	-f "$1/quote.pcrs" -g sha256 -q "$2"; }
check "tpm2_checkquote accepts it with the nonce" 0 cq "$TMP/q1" "$N"
want=$(sed -n 's/^PCR-13: //p' "$TMP/pcrs.sha256")
has "... and reads PCR 13 = the log's replay" "^ *13 *: 0x$(tr 'a-f' 'A-F' <<<"$want")$"
check "tpm2_checkquote rejects a wrong nonce" 1 cq "$TMP/q1" "$WRONG"
check "tclctl quote --nonce -o DIR" 0 ctl quote --nonce "$N" -o "$TMP/q2" --tpm "$SWTPM_TCTI"
check "tpm2_checkquote accepts the tclctl quote" 0 cq "$TMP/q2" "$N"
check "... and rejects a wrong nonce" 1 cq "$TMP/q2" "$WRONG"
for b in $BANKS; do
	[ "$b" = sha256 ] && continue
	check "tclctl quote --bank $b" 0 \
		ctl quote --bank "$b" --nonce "$N" -o "$TMP/q.$b" --tpm "$SWTPM_TCTI"
	check "tpm2_checkquote -g $b accepts it" 0 tpm2_checkquote -u "$TMP/q.$b/ak.pub.pem" \
		-m "$TMP/q.$b/quote.msg" -s "$TMP/q.$b/quote.sig" -f "$TMP/q.$b/quote.pcrs" \
		-g "$b" -q "$N"
	want=$(sed -n 's/^PCR-13: //p' "$TMP/pcrs.$b")
	has "... and reads PCR 13 = the log's $b replay" "^ *13 *: 0x$(tr 'a-f' 'A-F' <<<"$want")$"
done
check "tclctl ak export -o FILE --public FILE" 0 \
	ctl ak export -o "$TMP/ak.pem" --public "$TMP/ak.pub" --tpm "$SWTPM_TCTI"
has "the AK is the persistent one" 'AK 0x81010002 \(loaded\), name 000b[0-9a-f]{64}'
check "the exported AK is the key that signed the quote" 0 cmp "$TMP/ak.pem" "$TMP/q1/ak.pub.pem"
check "tclctl quote refuses a 65-byte nonce" 2 \
	ctl quote --nonce "$(printf '%0130d' 0)" -o "$TMP/q3" --tpm "$SWTPM_TCTI"

echo "== truncated and corrupted logs"
off=$(logedit offset "$L" $((ENTRIES - 5)))
head -c "$off" "$L" >"$TMP/trunc.bin"
check "tclctl log verify: a log cut at an entry boundary" 1 \
	ctl log verify --log "$TMP/trunc.bin" --tpm "$SWTPM_TCTI"
has "... is a clear MISMATCH" \
	"MISMATCH sha256: PCR 13 = [0-9a-f]{64} is not the replay of the $((ENTRIES - 5)) entries"
cp "$TMP/trunc.bin" "$TMP/trunc.orig"
check "the pipeline refuses it: state mismatch (exit 3)" 3 \
	"$TS" --log "$TMP/trunc.bin" --tpm "$SWTPM_TCTI" status
has "... saying why" 'why: PCR 13 \(sha256 [0-9a-f]{16}\.\.\.\) is not the replay of any prefix'
check "... and leaves the file as it was" 0 cmp "$TMP/trunc.bin" "$TMP/trunc.orig"
head -c -7 "$L" >"$TMP/torn.bin"
check "tclctl log verify: a log cut inside its last entry" 1 \
	ctl log verify --log "$TMP/torn.bin" --tpm "$SWTPM_TCTI"
has "... names the incomplete entry" 'incomplete entry .*not included'
check "the pipeline: torn tail dropped (and kept), then mismatch (exit 3)" 3 \
	"$TS" --log "$TMP/torn.bin" --tpm "$SWTPM_TCTI" status
has "... torn bytes reported and kept" 'torn_bytes=[1-9][0-9]* torn_saved_to=[^ ]*torn.bin.torn-'
cp "$L" "$TMP/corrupt.bin"
logedit flip "$TMP/corrupt.bin" 777
check "the pipeline refuses a corrupted log: state mismatch (exit 3)" 3 \
	"$TS" --log "$TMP/corrupt.bin" --tpm "$SWTPM_TCTI" status
has "... naming the offset" \
	"why: .*corrupt.bin: corrupt entry at offset $(logedit offset "$L" 777) "
check "the real log is still fine" 0 verify_live --strict

echo "== the PCR extended behind the agent's back"
sha256sum "$L" >"$TMP/before.sum"
spec=
for b in $BANKS; do spec="$spec${spec:+,}$b=$(printf x | "${b}sum" | cut -d' ' -f1)"; done
tpm2_pcrextend "13:$spec"
check "open: state mismatch (exit 3)" 3 m status
has "... with the reason" 'why: PCR 13 .* is not the replay of any prefix of the [0-9]+ entries'
check "measurements are refused" 1 m burst 10 --start 900000
has "... as not recoverable" 'measure /bin/f900000: State not recoverable'
has "... and counted" 'status: state=mismatch .*refused=1 '
check "the log is untouched (no silent new log)" 0 sha256sum -c --quiet "$TMP/before.sum"
check "tclctl log verify says MISMATCH" 1 verify_live
has "... in plain words" 'MISMATCH sha256: PCR 13'

echo "== TPM reset (reboot): the old log is moved aside"
swtpm_reboot "$TMP" || die "$SWTPM_ERR"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
check "open after the reset: a new log" 0 m status
has "report: rotated, created" \
	'report: anchored=1 created=1 entries=1 .*rotated_to=[^ ]*measurements.bin.prev-[0-9TZ]+ '\
'.*state=ok'
old=$(sed -n 's/.*rotated_to=\([^ ]*\) .*/\1/p' "$TMP/out")
check "the previous boot's log is kept intact" 0 sha256sum -c --quiet \
	<(sed "s#  .*#  $old#" "$TMP/before.sum")
check "the new log verifies against the reset PCR" 0 verify_live --strict

echo "== records lost: logged as records_lost entries, extended like any other"
# A queue of 2 that never waits (--block-ms -1) drops most of a burst; 7 kernel records lost
# on top.  Every loss must be in the log (sum of the records_lost counts), the log must still
# replay to the PCR and evmctl must accept it.
check "a burst into a queue of 2 that never waits, 7 kernel records lost" 0 \
	m --queue 2 --block-ms -1 burst 500 --start 300000 --lost 7
grep '^burst:' "$TMP/out"
dropped=$(field dropped)
has "... every loss queued in the log (lost_logged = dropped + 7), none pending" \
	"status: state=ok .*queued=0 .*lost_pending=0 lost_logged=$((${dropped:-0} + 7)) "
check "... some measurements dropped ($dropped)" 0 test "${dropped:-0}" -gt 0
ctl log show --log "$L" >"$TMP/show.lost" 2>&1
sum=$(grep -E '^13 [0-9a-f]{40} ima-buf sha256:[0-9a-f]{64} records_lost ' "$TMP/show.lost" |
	while read -r _ _ _ _ _ hex; do
		printf '%s' "$hex" | xxd -r -p; echo
	done | python3 -c '
import json, sys
t = {"agent": 0, "kernel": 0}
for l in sys.stdin:
    o = json.loads(l); t[o["source"]] += o["count"]
print(t["agent"], t["kernel"])')
check "records_lost counts in the log: agent $dropped, kernel 7 (got: $sum)" 0 \
	test "$sum" = "$dropped 7"
check "tclctl log verify --strict: the log with records_lost = the PCR" 0 verify_live --strict
pcrs_files
check "evmctl accepts the log with records_lost entries (every bank)" 0 evm_ok "$L"

echo "== a bounded log: segments, deleted after acknowledgement, replayed from the checkpoint"
# PCR 14 (nothing else here extends it), a bound of 64 KiB: segments of 8 KiB.
LB=$TMP/bounded/measurements.bin
mb() { "$TS" --log "$LB" --tpm "$SWTPM_TCTI" --pcr 14 --log-max-bytes 65536 "$@"; }
vb() { ctl log verify --log "$LB" --pcr 14 --tpm "$SWTPM_TCTI" "$@"; }

check "1,500 measurements, nothing acknowledged" 0 mb burst 1500 --batch 50
has "... segments closed, none deleted, the bound is passed and said so" \
	'log_start=0 disk_bytes=[0-9]+ segments_deleted=0 over_bound=1'
nseg=$(ls "$LB".[0-9]* 2>/dev/null | wc -l)
check "... $nseg closed segments and a checkpoint at offset 0" 0 \
	bash -c "[ $nseg -ge 5 ] && grep -qx 'offset 0' $LB.checkpoint"
check "tclctl log cat: the segments as one file" 0 ctl log cat --log "$LB" -o "$TMP/cat.bin"
pcrs_files
check "evmctl accepts it while nothing was deleted" 0 \
	evmctl ima_measurement --pcrs "sha256,$TMP/pcrs.sha256" "$TMP/cat.bin"
check "1,500 more, the whole log acknowledged" 0 mb burst 1500 --start 20000 --batch 50 --ack
has "... acknowledged segments deleted, the kept log under the bound" \
	'log_start=[1-9][0-9]* disk_bytes=([0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-6]) segments_deleted=[1-9][0-9]* over_bound=0'
check "tclctl log verify --strict: replay from the checkpoint = the TPM, every bank" 0 vb --strict
has "... it names the checkpoint" '^checkpoint: [0-9]+ entries'
check "the pipeline reopens on it (replay from the checkpoint)" 0 mb status
has "... every entry counted, nothing recovered" 'state=ok .*entries=3001 '
check "tclctl log cat after a deletion" 0 ctl log cat --log "$LB" -o "$TMP/cat2.bin"
has "... says evmctl cannot replay it from zero" 'evmctl cannot'
pcrs_files
check "... and evmctl indeed rejects it (it replays from zero)" 1 \
	evmctl ima_measurement --pcrs "sha256,$TMP/pcrs.sha256" "$TMP/cat2.bin"
SEG=$(ls "$LB".[0-9]* | sed -n 2p)
cp "$SEG" "$TMP/seg.orig"
logedit flip "$SEG" 3 reseal
check "a kept segment rewritten consistently: log verify fails" 1 vb
has "... MISMATCH" '^MISMATCH sha256'
check "... and the pipeline refuses to append (mismatch)" 3 mb status
cp "$TMP/seg.orig" "$SEG"
logedit flip "$SEG" 3
check "a kept segment with a broken entry: log verify fails" 1 vb
has "... CORRUPT" '^CORRUPT'
cp "$TMP/seg.orig" "$SEG"
mv "$SEG" "$TMP/seg.moved"
check "a middle segment deleted: log verify fails" 1 vb
has "... CORRUPT" '^CORRUPT'
mv "$TMP/seg.moved" "$SEG"
cp "$LB.checkpoint" "$TMP/ckpt.orig"
sed -i 's/^sha256 0/sha256 X/; s/^sha256 [1-9a-f]/sha256 0/; s/^sha256 X/sha256 1/' "$LB.checkpoint"
check "a forged checkpoint: log verify fails" 1 vb
has "... MISMATCH" '^MISMATCH sha256'
cp "$TMP/ckpt.orig" "$LB.checkpoint"
check "restored: the log verifies again" 0 vb --strict

echo "== --tpm none"
check "a log without TPM is written and not anchored" 0 \
	"$TS" --log "$TMP/none.bin" --tpm none burst 100
has "status says not anchored" 'status: state=ok anchored=0 pcr=13 entries=101 '
check "quote needs a TPM" 1 "$TS" --log "$TMP/none.bin" --tpm none quote 00 "$TMP/q4"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
