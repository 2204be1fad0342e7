#!/bin/sh
# The live agent's TPM-backed measurement log: 3 containers executing 210 distinct files, the
# log checked by evmctl against the guest TPM's PCR, a quote checked by tpm2_checkquote.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclalog
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
LOG=$T/measurements.bin
PCR=14
section "agent with --tpm device:/dev/tpmrm0 --pcr $PCR"
check "agent starts with a TPM-backed log" start_agent --audit --scope containers \
	--log $LOG --tpm device:/dev/tpmrm0 --pcr $PCR --events $EVENTS
"$B/tclctl" status | grep -q '"log":{"state":"ok","anchored":true,"pcr":14' &&
	pass "status: log ok, anchored, pcr 14" || fail "status shows the log state ($("$B/tclctl" status | tail -1))"

for c in 1 2 3; do
	id=$(printf "%064d" $((c + 700)))
	make_bundle $T/c$c registry.local/logtest:$c "/kubepods/besteffort/pod00000000-0000-0000-0000-00000000070$c/$id" \
		$id log-$c 00000000-0000-0000-0000-00000000070$c default c$c
	mkdir -p $T/c$c/rootfs/s
	for i in $(seq 70); do printf '#!/bin/sh\n# container %s script %s\n:\n' $c $i >$T/c$c/rootfs/s/$i.sh; done
	chmod +x $T/c$c/rootfs/s/*.sh
	python3 - $T/c$c/config.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["args"] = ["/bin/sh", "-c", "for f in /s/*.sh; do $f; done"]
json.dump(c, open(sys.argv[1], "w"))
PY
	runc run --bundle $T/c$c $id </dev/null >/dev/null 2>&1 || fail "container $c ran"
	runc delete -f $id >/dev/null 2>&1
done
sleep 2
n=$("$B/tclctl" log show --log $LOG | grep -c ':/s/[0-9]*\.sh$')
[ "$n" -ge 210 ] && pass "210 distinct files of 3 containers are in the log ($n)" || fail "210 files in the log ($n)"
"$B/tclctl" log show --log $LOG | head -1 | grep -q ' ima-ng sha256:[0-9a-f]* boot_aggregate$' &&
	pass "first entry is boot_aggregate" || fail "first entry is boot_aggregate"
"$B/tclctl" log show --log $LOG | grep -q ' ima-buf .* container_start' &&
	pass "container starts are ima-buf entries" || fail "container starts are ima-buf entries"
"$B/tclctl" log show --log $LOG | grep -q ' ima-buf .* agent_start' &&
	pass "agent start is measured" || fail "agent start is measured"
d=$("$B/tclctl" log show --log $LOG | grep -c ':/s/1\.sh$')
[ "$d" -eq 3 ] && pass "one measurement per (container, digest)" || fail "one measurement per (container, digest) ($d)"

section "independent checkers"
"$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 >$T/verify.out 2>&1 &&
	pass "tclctl log verify: the log replays to PCR $PCR" || fail "tclctl log verify ($(cat $T/verify.out))"
"$B/tclctl" log pcrs -o $T/pcrs.txt --tpm device:/dev/tpmrm0 >/dev/null 2>&1
evmctl ima_measurement --pcrs sha256,$T/pcrs.txt $LOG >$T/evm.out 2>&1 &&
	pass "evmctl ima_measurement accepts the log" || fail "evmctl accepts the log ($(tail -3 $T/evm.out))"
# Flip one byte of the 100th entry's file digest in a copy.
python3 - $LOG $T/tampered.bin <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read()); off = 0; n = 0
while off < len(b):
    nl = struct.unpack_from("<I", b, off + 24)[0]
    dl = struct.unpack_from("<I", b, off + 28 + nl)[0]
    data = off + 32 + nl
    if n >= 100 and bytes(b[off + 28:off + 28 + nl]) == b"ima-ng":
        b[data + 4 + 8 + 5] ^= 1
        break
    off = data + dl; n += 1
open(sys.argv[2], "wb").write(b)
PY
evmctl ima_measurement --pcrs sha256,$T/pcrs.txt $T/tampered.bin >/dev/null 2>&1 &&
	fail "evmctl rejects a log with one digest changed" || pass "evmctl rejects a log with one digest changed"
nonce=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$B/tclctl" quote --nonce $nonce -o $T/q --tpm device:/dev/tpmrm0 --pcr $PCR >/dev/null 2>&1
tpm2_checkquote -u $T/q/ak.pub.pem -m $T/q/quote.msg -s $T/q/quote.sig -f $T/q/quote.pcrs -g sha256 -q $nonce >/dev/null 2>&1 &&
	pass "tpm2_checkquote accepts the quote" || fail "tpm2_checkquote accepts the quote"
tpm2_checkquote -u $T/q/ak.pub.pem -m $T/q/quote.msg -s $T/q/quote.sig -f $T/q/quote.pcrs -g sha256 -q 00$nonce >/dev/null 2>&1 &&
	fail "tpm2_checkquote rejects a wrong nonce" || pass "tpm2_checkquote rejects a wrong nonce"

section "restart: the log goes on"
stop_agent
before=$("$B/tclctl" log show --log $LOG | wc -l)
check "agent restarts on the same log" start_agent --audit --scope containers \
	--log $LOG --tpm device:/dev/tpmrm0 --pcr $PCR --events $EVENTS
"$B/tclctl" status | grep -q '"state":"ok"' && pass "replay matched at restart" || fail "replay matched at restart"
stop_agent
"$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 >/dev/null 2>&1 &&
	pass "log still replays after restart" || fail "log still replays after restart"
cp $T/tampered.bin $LOG
out=$("$B/tcl-agent" --audit --scope containers --log $LOG --tpm device:/dev/tpmrm0 --pcr $PCR \
	--socket /run/tcl/x.sock --events $T/ev2.jsonl 2>&1 & p=$!; sleep 3; kill $p; wait $p)
grep -q '"reason":"log_mismatch"' $T/ev2.jsonl && pass "a log that does not replay: agent event, no appends" ||
	fail "a log that does not replay is reported ($out)"
exit 0
