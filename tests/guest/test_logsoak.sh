#!/bin/sh
# A bounded measurement log (tcl-agent --log-max-bytes) on a long-running node: what one runc
# container start adds to the log, then a soak of container starts (tests/fixtures/soak_starts:
# tcl-hook's createRuntime admission, a process in the container's cgroup running a file of the
# image, the cgroup removed; TCL_SOAK_STARTS of them, default below) with a small bound. The log
# stays under the bound on disk, the attestor acknowledges every segment before it goes and keeps
# the node trusted, `tclctl log verify` replays the kept segments from the checkpoint to the TPM,
# and a tampered kept segment is caught by `tclctl log verify` and, for entries the attestor has
# not seen yet, by the attestor. swtpm is the TPM, docker-registry the registry.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclsoak
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
LOG=$T/measurements.bin
NODE=tcl-guest
BOUND=262144
# Under TCG a soak start costs about 0.45 s (200 in 89 s: hook, admission, the attestor's
# pushes); 400 keep the suite near 4 minutes of guest time. TCL_SOAK_STARTS=5000 is the issue's
# number (about 37 minutes under TCG).
STARTS=${TCL_SOAK_STARTS:-400}

# A PCR nothing else in this boot extends (test_attest uses 12, the others 13-15).
PCR=11
v=$(tpm2_pcrread "sha256:$PCR" 2>/dev/null | sed -n "s/^ *$PCR *: 0x//p")
case "$v" in
*[1-9A-F]* | "") fail "PCR $PCR is zero at the start ($v)"; exit 0 ;;
esac

section "registry, signed image, certificates, attestor"
# shellcheck disable=SC2046
set -- $(registry_start $T/reg)
PORT=$1 REGPID=$2
REG=http://127.0.0.1:$PORT
"$B/tclctl" golden keygen -o $T/trusted >/dev/null 2>&1
mkdir -p $T/root1/bin $T/root1/tmp $T/root1/proc $T/root1/dev
cp /bin/busybox $T/root1/bin/; ln -s busybox $T/root1/bin/sh; cp $F/tool-a $T/root1/bin/
D1=$(publish $T/root1 soak 1.0 $T/trusted.key)
[ -n "$PORT" ] && [ -n "$D1" ] && pass "registry with image soak:1.0 and its golden manifest" ||
	{ fail "registry with image soak:1.0 and its golden manifest"; exit 0; }
bash -c '. "$0/tests/service/attestor/lib.sh"; att_pki "$1" && att_cert "$1" node "system:node:$2"' \
	"$TOP" $T/pki $NODE
cat $T/pki/node.crt $T/pki/node.key >$T/pki/kubelet-client-current.pem
# runc init runs in the container's cgroup: the host allowlist vouches for it
mkdir -p $T/host
for f in $(readlink -f "$(command -v runc)") $(ldd "$(command -v runc)" 2>/dev/null |
	sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
	cp "$(readlink -f "$f")" $T/host/
done
"$B/tclctl" policy generate --dir $T/host -o $T/host-policy.json >/dev/null 2>&1
APORT=$(bash -c '. "$0/tests/service/attestor/lib.sh"; att_free_port' "$TOP")
URL=https://127.0.0.1:$APORT
ATT_PID=
att_up() {
	"$B/tcl-attestor" --listen 127.0.0.1:$APORT --cert $T/pki/server.crt \
		--key $T/pki/server.key --client-ca $T/pki/ca.crt --state $T/att-state.json \
		--registry $REG --trust-key $T/trusted.pub --host-policy $T/host-policy.json \
		--pcr $PCR --stale-after 600 >>$T/attestor.log 2>&1 &
	ATT_PID=$!
	for _ in $(seq 100); do
		get /healthz >/dev/null && return 0
		kill -0 $ATT_PID 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
att_down() { kill $ATT_PID 2>/dev/null; wait $ATT_PID 2>/dev/null; ATT_PID=; }
get() { curl -sf --cacert $T/pki/ca.crt --cert $T/pki/node.crt --key $T/pki/node.key "$URL$1"; }
jget() { get "$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)" 2>/dev/null; }
status() {
	"$B/tclctl" status 2>/dev/null | sed -n 's/^agent: //p' |
		python3 -c "import json, sys; d = json.load(sys.stdin); print($1)" 2>/dev/null
}
until_true() { _n=$1; shift; for _ in $(seq $_n); do "$@" && return 0; sleep 0.5; done; return 1; }
verdict_is() { [ "$(jget /v1/nodes/$NODE 'd["verdict"]')" = "$1" ]; }
# the attestor acknowledged every byte of the log (log offsets, across deleted segments)
caught_up() { [ "$(status 'd["attestor"]["acked_offset"] == d["log"]["bytes"]')" = True ]; }
check "tcl-attestor on $URL" att_up

AGENT_ARGS="--scope containers --registry $REG --trust-key $T/trusted.pub --golden-cache $T/cache
	--events $EVENTS --log $LOG --tpm device:/dev/tpmrm0 --pcr $PCR --attestor $URL
	--attestor-cert $T/pki/kubelet-client-current.pem --attestor-ca $T/pki/ca.crt
	--attest-state $T/attest.json --log-max-bytes $BOUND --attest-interval 2"
# shellcheck disable=SC2086
check "agent starts in enforce mode, --log-max-bytes $BOUND" start_agent --enforce $AGENT_ARGS
check "the first push: trusted" until_true 60 verdict_is trusted
check "a checkpoint names the new log from its start" \
	grep -q '^offset 0$' $LOG.checkpoint

section "what one container start adds to the log (runc, 3 starts)"
n=0
run_image() { # ROOTFS CMD: a runc container of soak:1.0 running CMD
	n=$((n + 1)); id=$(printf "a%063d" $n)
	make_bundle $T/b$n 127.0.0.1:$PORT/soak:1.0 \
		"/kubepods/besteffort/pod00000000-0000-0000-0000-00000000000$n/$id" \
		$id pod-$n 00000000-0000-0000-0000-00000000000$n default c$n
	rm -rf $T/b$n/rootfs; cp -a "$1" $T/b$n/rootfs
	hook_bundle $T/b$n "$D1" "$2"
	OUT=$(runc run --bundle $T/b$n $id 2>&1 </dev/null); RC=$?
	runc delete -f $id >/dev/null 2>&1
	rm -rf $T/b$n
}
b0=$(status 'd["log"]["bytes"]'); e0=$(status 'd["log"]["entries"]')
for _ in 1 2 3; do run_image $T/root1 "/bin/tool-a"; done
sleep 2
b1=$(status 'd["log"]["bytes"]'); e1=$(status 'd["log"]["entries"]')
per=$(( (b1 - b0) / 3 )); per_e=$(( (e1 - e0) / 3 ))
echo "  runc container start (sh -c /bin/tool-a): $per bytes, $per_e entries per start"
[ "$RC" -eq 0 ] && [ "$per" -gt 500 ] &&
	pass "3 runc starts ran and grew the log ($per bytes, $per_e entries each)" ||
	fail "3 runc starts ran and grew the log ($RC: $OUT; $per bytes)"
[ -d /tcl-out ] && echo "runc_start_bytes=$per runc_start_entries=$per_e" >/tcl-out/logsoak.txt

section "soak: $STARTS container starts, bound $BOUND bytes"
POD=$CG/kubepods/besteffort/pod11111111-1111-1111-1111-111111111111
mkdir -p $POD
make_bundle $T/bundle 127.0.0.1:$PORT/soak:1.0 /kubepods/besteffort/pod-soak soak \
	pod-soak 11111111-1111-1111-1111-111111111111 default soak
rm -rf $T/bundle/rootfs; cp -a $T/root1 $T/bundle/rootfs
hook_bundle $T/bundle "$D1"
b0=$(status 'd["log"]["bytes"]')
out=$($F/soak_starts "$B/tcl-hook" $T/bundle $POD $T/bundle/rootfs/bin/tool-a 10 1 2>&1)
b1=$(status 'd["log"]["bytes"]')
echo "  soak start: $(( (b1 - b0) / 10 )) bytes each ($out)"
out=$($F/soak_starts "$B/tcl-hook" $T/bundle $POD $T/bundle/rootfs/bin/tool-a $STARTS 11 $LOG 2>&1)
echo "  $out" | tail -3
case "$out" in
*"starts=$STARTS failed=0 "*) pass "$STARTS container starts, each admitted by tcl-hook, its file ran" ;;
*) fail "$STARTS container starts, each admitted by tcl-hook, its file ran ($out)" ;;
esac
max=$(echo "$out" | sed -n 's/.*max_log_bytes=\([0-9]*\).*/\1/p')
secs=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
check "the log on disk stayed under the bound during the soak (largest ${max:-?} <= $BOUND)" \
	[ -n "$max" ] && [ "$max" -le $BOUND ]
check "the attestor acknowledged the whole log" until_true 120 caught_up
bytes=$(status 'd["log"]["bytes"]'); start=$(status 'd["log"]["start"]')
disk=$(status 'd["log"]["disk_bytes"]'); del=$(status 'd["log"]["segments_deleted"]')
echo "  log: $bytes bytes since it began, kept from offset $start: $disk on disk, $del segments deleted"
[ -d /tcl-out ] && echo "soak_starts=$STARTS soak_seconds=$secs soak_bytes=$((bytes - b0)) max_disk=$max segments_deleted=$del" >>/tcl-out/logsoak.txt
check "more was logged than the bound ($bytes > 2 x $BOUND) and acknowledged segments were deleted ($del)" \
	[ "$bytes" -gt $((2 * BOUND)) ] && [ "$del" -gt 0 ] && [ "$start" -gt 0 ]
check "the attestor keeps the node trusted" verdict_is trusted
check "the attestor stands at the log offset the agent has (${bytes})" \
	[ "$(jget /v1/nodes/$NODE 'd["log_offset"]')" = "$bytes" ]
out=$("$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 --strict 2>&1)
echo "$out" | grep -q '^checkpoint: ' && echo "$out" | grep -q '^ok sha256' &&
	pass "tclctl log verify: the kept segments replay from the checkpoint to the TPM" ||
	fail "tclctl log verify: the kept segments replay from the checkpoint to the TPM ($out)"

section "a tampered kept segment"
stop_agent
# tamper FILE OFFSET: change one character of the name of the first ima-ng entry at or after
# OFFSET (log offset) in FILE and recompute its SHA-1, so the entry parses as whole: only the
# replay can tell
tamper() {
	python3 - "$1" "$2" <<'PY'
import hashlib, struct, sys
p, at = sys.argv[1], int(sys.argv[2])
f = open(p, "r+b")
b = bytearray(f.read())
o = 0
while o < len(b):
    tl = struct.unpack_from("<I", b, o + 24)[0]
    tn = bytes(b[o + 28:o + 28 + tl])
    dl = struct.unpack_from("<I", b, o + 28 + tl)[0]
    d0 = o + 32 + tl
    if o >= at and tn == b"ima-ng":
        nl = struct.unpack_from("<I", b, d0 + 4 + 40)[0]
        b[d0 + 4 + 40 + 4 + nl - 2] ^= 1
        b[o + 4:o + 24] = hashlib.sha1(bytes(b[d0:d0 + dl])).digest()
        f.seek(o)
        f.write(b[o:d0 + dl])
        f.close()
        print(o)
        sys.exit(0)
    o = d0 + dl
sys.exit(1)
PY
}
SEG=$(ls $LOG.[0-9]* | sed -n 2p)
cp $SEG $T/seg.orig
check "a kept closed segment changed consistently ($(basename "$SEG"))" tamper $SEG 0
out=$("$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 2>&1)
echo "$out" | grep -q '^MISMATCH sha256' &&
	pass "tclctl log verify catches it: MISMATCH" || fail "tclctl log verify catches it ($out)"
cp $T/seg.orig $SEG
printf 'x' | dd of=$SEG bs=1 seek=40 conv=notrunc 2>/dev/null
out=$("$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 2>&1)
echo "$out" | grep -q '^CORRUPT' &&
	pass "a crude change (template hash broken) is CORRUPT" || fail "a crude change is CORRUPT ($out)"
cp $T/seg.orig $SEG
mv $SEG $T/seg.moved
out=$("$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 2>&1)
echo "$out" | grep -q '^CORRUPT' &&
	pass "a deleted middle segment is CORRUPT" || fail "a deleted middle segment is CORRUPT ($out)"
mv $T/seg.moved $SEG
cp $LOG.checkpoint $T/ckpt.orig
python3 -c 'import sys
p = sys.argv[1]; ls = open(p).read().split("\n")
ls = [l[:7] + ("0" if l[7] != "0" else "1") + l[8:] if l.startswith("sha256 ") else l for l in ls]
open(p, "w").write("\n".join(ls))' $LOG.checkpoint
out=$("$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 2>&1)
echo "$out" | grep -q '^MISMATCH sha256' &&
	pass "a forged checkpoint: MISMATCH" || fail "a forged checkpoint: MISMATCH ($out)"
cp $T/ckpt.orig $LOG.checkpoint
check "restored, the log verifies again" \
	"$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0 --strict

# entries the attestor has not acknowledged yet: logged while it is down, then changed
# shellcheck disable=SC2086
check "agent restarts on the bounded log" start_agent --enforce $AGENT_ARGS
check "the attestor acknowledged the whole log again" until_true 60 caught_up
att_down
acked=$(status 'd["attestor"]["acked_offset"]')
$F/soak_starts "$B/tcl-hook" $T/bundle $POD $T/bundle/rootfs/bin/tool-a 20 100000 >/dev/null 2>&1
check "20 more starts logged and extended while the attestor is down" until_true 20 \
	[ "$(status 'd["log"]["extended"] == d["log"]["entries"] and d["log"]["bytes"] > '"${acked:-0}")" = True ]
LIVE_BASE=$(python3 -c 'import os, re, sys
log = sys.argv[1]; d = os.path.dirname(log); b = os.path.basename(log)
ck = dict(l.split(" ", 1) for l in open(log + ".checkpoint").read().splitlines()[1:])
segs = sorted(f for f in os.listdir(d) if re.fullmatch(re.escape(b) + r"\.\d{8,}", f))
print(int(ck["offset"]) + sum(os.path.getsize(os.path.join(d, f)) for f in segs))' $LOG)
rel=$(( ${acked:-0} > LIVE_BASE ? ${acked:-0} - LIVE_BASE : 0 ))
check "an entry logged after the attestor's offset ${acked:-?} changed consistently" tamper $LOG $rel
check "the attestor comes back" att_up
check "the attestor rejects the log (it no longer replays to the quote): node untrusted" \
	until_true 60 verdict_is untrusted
r=$(jget /v1/nodes/$NODE 'json.dumps(d)')
case "$r" in
*replay*) pass "the attestor's finding says the log does not replay" ;;
*) fail "the attestor's finding says the log does not replay ($r)" ;;
esac
stop_agent
att_down
kill $REGPID 2>/dev/null
rmdir $POD 2>/dev/null
[ -d /tcl-out ] && cp $T/attestor.log /tcl-out/logsoak-attestor.log 2>/dev/null
exit 0
