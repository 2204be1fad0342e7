#!/bin/sh
# tcl-agent --attestor: the live agent enrols with a real tcl-attestor over mutual TLS (a
# kubelet-style certificate, CN system:node:NAME, certificate and key in one file), pushes its
# quote and log on a timer and after each container start, catches up after an outage, and an
# exec outside the golden set (audit mode) turns the node untrusted at the attestor and in the
# scheduler filter, while 100 refused attempts in enforce mode only untrust their container (the
# node stays schedulable); an image revoked at the attestor stops the next exec in its running
# container within a push interval, and new containers of it. swtpm is the TPM (/dev/tpmrm0), the registry is docker-registry.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclatt
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
LOG=$T/measurements.bin
NODE=tcl-guest

# A PCR nothing else in this boot extends (other suites use 13-15).
PCR=12
v=$(tpm2_pcrread "sha256:$PCR" 2>/dev/null | sed -n "s/^ *$PCR *: 0x//p")
case "$v" in
*[1-9A-F]* | "") fail "PCR $PCR is zero at the start ($v)"; exit 0 ;;
esac

section "registry, signed image, certificates, attestor"
set -- $(registry_start $T/reg)
PORT=$1 REGPID=$2
REG=http://127.0.0.1:$PORT
"$B/tclctl" golden keygen -o $T/trusted >/dev/null 2>&1
mkdir -p $T/root1/bin $T/root1/tmp $T/root1/proc $T/root1/dev
cp /bin/busybox $T/root1/bin/; ln -s busybox $T/root1/bin/sh; cp $F/tool-a $T/root1/bin/
D1=$(publish $T/root1 shop 1.0 $T/trusted.key)
[ -n "$PORT" ] && [ -n "$D1" ] && pass "registry with image shop:1.0 and its golden manifest" ||
	{ fail "registry with image shop:1.0 and its golden manifest"; exit 0; }

# The PKI of the service tests: a CA, the attestor's certificate for 127.0.0.1, a reader.
# The node's certificate is what a kubelet has: CN system:node:NAME, key in the same file.
# An admin CA of its own issues the certificate that may revoke (--admin-ca).
bash -c '. "$0/tests/service/attestor/lib.sh"; att_pki "$1" &&
	att_cert "$1" node "system:node:$2" && att_cert "$1" other "system:node:other-node" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$1/admin-ca.key" -out "$1/admin-ca.crt" -subj /CN=tcl-admin-ca 2>/dev/null &&
	att_cert "$1" admin ops admin-ca' \
	"$TOP" $T/pki $NODE
cat $T/pki/node.crt $T/pki/node.key >$T/pki/kubelet-client-current.pem
[ -s $T/pki/kubelet-client-current.pem ] && pass "test PKI" || { fail "test PKI"; exit 0; }

# The runtime runs in the container's cgroup (runc init): the host allowlist vouches for it.
mkdir -p $T/host
for f in $(readlink -f "$(command -v runc)") $(ldd "$(command -v runc)" 2>/dev/null |
	sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
	cp "$(readlink -f "$f")" $T/host/
done
"$B/tclctl" policy generate --dir $T/host -o $T/host-policy.json >/dev/null 2>&1

EKCA=
if [ -r /var/lib/swtpm-localca/issuercert.pem ]; then
	cat /var/lib/swtpm-localca/swtpm-localca-rootca-cert.pem \
		/var/lib/swtpm-localca/issuercert.pem >$T/ek-ca.pem 2>/dev/null && EKCA=$T/ek-ca.pem
fi
APORT=$(bash -c '. "$0/tests/service/attestor/lib.sh"; att_free_port' "$TOP")
URL=https://127.0.0.1:$APORT
ATT_PID=
att_up() {
	"$B/tcl-attestor" --listen 127.0.0.1:$APORT --cert $T/pki/server.crt \
		--key $T/pki/server.key --client-ca $T/pki/ca.crt --state $T/att-state.json \
		--registry $REG --trust-key $T/trusted.pub --host-policy $T/host-policy.json \
		--pcr $PCR --stale-after 600 ${EKCA:+--ek-ca $EKCA} --admin-ca $T/pki/admin-ca.crt \
		>>$T/attestor.log 2>&1 &
	ATT_PID=$!
	for _ in $(seq 100); do
		get /healthz >/dev/null && return 0
		kill -0 $ATT_PID 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
att_down() { kill $ATT_PID 2>/dev/null; wait $ATT_PID 2>/dev/null; ATT_PID=; }
# get PATH: GET as the reader (the scheduler's identity)
get() {
	curl -sf --cacert $T/pki/ca.crt --cert $T/pki/reader.crt --key $T/pki/reader.key "$URL$1"
}
# filter: the nodes the scheduler extender keeps, of NODE and other-node
filter() {
	printf '{"Pod":{"metadata":{"name":"p"}},"NodeNames":["%s","other-node"]}' $NODE |
		curl -sf --cacert $T/pki/ca.crt --cert $T/pki/reader.crt --key $T/pki/reader.key \
			-H 'Content-Type: application/json' --data-binary @- "$URL/scheduler/filter" |
		python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["NodeNames"]))'
}
# jget PATH EXPR: evaluate EXPR on the JSON at PATH (d)
jget() { get "$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)" 2>/dev/null; }
# status EXPR: evaluate EXPR on the agent's status (d)
status() {
	"$B/tclctl" status 2>/dev/null | sed -n 's/^agent: //p' |
		python3 -c "import json, sys; d = json.load(sys.stdin); print($1)" 2>/dev/null
}
# until_true TRIES CMD...: retry CMD every 0.5 s (CMD is a command, so that what it tests is
# read again each time)
until_true() { _n=$1; shift; for _ in $(seq $_n); do "$@" && return 0; sleep 0.5; done; return 1; }
# st_is EXPR VALUE: the agent's status, evaluated by EXPR, is VALUE
st_is() { [ "$(status "$1")" = "$2" ]; }
# ctr_is ID VERDICT: the attestor's verdict on container ID
ctr_is() { [ "$(jget /v1/containers/$1 'd["verdict"]')" = "$2" ]; }
verdict_is() { [ "$(jget /v1/nodes/$NODE 'd["verdict"]')" = "$1" ]; }
check "tcl-attestor on $URL (EK CA: ${EKCA:-none})" att_up

section "the agent enrols and pushes"
out=$("$B/tcl-agent" --enforce --attestor $URL --tpm none 2>&1)
echo "$out" | grep -q 'needs a TPM' && pass "--attestor with --tpm none is refused ($out)" ||
	fail "--attestor with --tpm none is refused ($out)"
out=$("$B/tcl-agent" --attestor http://127.0.0.1:$APORT 2>&1)
echo "$out" | grep -q 'https:// URL' && pass "an http:// attestor URL is refused" ||
	fail "an http:// attestor URL is refused ($out)"
out=$("$B/tcl-agent" --attestor $URL --attestor-cert $T/nonexistent.pem --tpm device:/dev/tpmrm0 \
	--pcr 11 --log $T/nolog.bin --socket $T/none.sock 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q 'nonexistent.pem' &&
	pass "a missing client certificate stops the start with its name" ||
	fail "a missing client certificate stops the start with its name ($out)"

AGENT_ARGS="--scope containers --registry $REG --trust-key $T/trusted.pub --golden-cache $T/cache
	--events $EVENTS --log $LOG --tpm device:/dev/tpmrm0 --pcr $PCR --attestor $URL
	--attestor-cert $T/pki/kubelet-client-current.pem --attestor-ca $T/pki/ca.crt
	--attest-state $T/attest.json --revocation-state $T/revocations.json"
# shellcheck disable=SC2086
check "agent starts in enforce mode with --attestor" start_agent --enforce $AGENT_ARGS \
	--attest-interval 600
check "status: node id from the kubelet certificate's CN ($(status 'd["attestor"]["node_id"]'))" \
	[ "$(status 'd["attestor"]["node_id"]')" = $NODE ]
check "the first push at start: trusted" until_true 60 verdict_is trusted
check "status: enrolled, verdict trusted" until_true 20 \
	st_is 'd["attestor"]["enrolled"] and d["attestor"]["verdict"]' trusted
wait_for $EVENTS '"type":"agent".*"reason":"attest_verdict".*trusted' 50 &&
	pass "an agent event reports the verdict" || fail "an agent event reports the verdict"
check "the EK is bound: the attestor lists the node with its AK" \
	[ -n "$(jget /v1/nodes/$NODE 'd.get("ak_name") or d.get("ak") or d["node_id"]')" ]
check "the scheduler filter keeps the node (and drops the unknown one)" \
	[ "$(filter)" = $NODE ]

n=0
run_image() { # ROOTFS IMAGE DIGEST CMD -> runc run output; sets RC, LAST_ID
	n=$((n + 1)); id=$(printf "a%063d" $n)
	make_bundle $T/b$n "$2" "/kubepods/besteffort/pod00000000-0000-0000-0000-00000000000$n/$id" \
		$id pod-$n 00000000-0000-0000-0000-00000000000$n default c$n
	rm -rf $T/b$n/rootfs; cp -a "$1" $T/b$n/rootfs
	hook_bundle $T/b$n "$3" "$4"
	OUT=$(runc run --bundle $T/b$n $id 2>&1 </dev/null); RC=$?
	runc delete -f $id >/dev/null 2>&1
	LAST_ID=$id
}
acked() { status 'd["attestor"]["acked_offset"]'; }
logsize() { stat -c %s $LOG; }
caught_up() { "$B/tclctl" status >/dev/null 2>&1 && [ "$(acked)" = "$(logsize)" ]; }

section "a container start pushes at once (the timer is 600 s)"
pushes0=$(status 'd["attestor"]["pushes"]')
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a"
C1=$LAST_ID
[ $RC -eq 0 ] && echo "$OUT" | grep -q 'tool-a ran' && pass "verified container ran" ||
	fail "verified container ran ($RC: $OUT)"
check "a push followed the container start" until_true 60 \
	st_is "d['attestor']['pushes'] > ${pushes0:-0}" True
check "the attestor knows container 1: trusted" until_true 60 ctr_is $C1 trusted
check "the node is still trusted" verdict_is trusted

section "attestor outage: nothing lost, the agent catches up"
att_down
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a; /bin/busybox true"
C2=$LAST_ID
[ $RC -eq 0 ] && pass "a container runs while the attestor is down (verification is local)" ||
	fail "a container runs while the attestor is down ($RC: $OUT)"
until_true 120 st_is '"error" in d["attestor"] and d["attestor"]["failures"] > 0' True &&
	pass "status shows the failed push" ||
	fail "status shows the failed push ($("$B/tclctl" status 2>&1 | sed -n 's/^agent: //p'))"
wait_for $EVENTS '"reason":"attest_failed"' 50 && pass "an agent event reports the failure" ||
	fail "an agent event reports the failure"
check "the log grew beyond what the attestor acknowledged" \
	[ "$(logsize)" -gt "$(acked)" ]
check "the attestor restarts on its state" att_up
check "the node keeps its enrolment and verdict across the restart" verdict_is trusted
"$B/tclctl" status >/dev/null 2>&1
# the next container start kicks the agent; the backlog goes with it
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a"
C3=$LAST_ID
check "the agent caught up: the attestor acknowledged the whole log" until_true 120 caught_up
check "container 2 (run during the outage) is known and trusted" ctr_is $C2 trusted
check "container 3 trusted" until_true 20 ctr_is $C3 trusted
check "the node is trusted" verdict_is trusted

section "refused in enforce mode: the container is untrusted, the node stays schedulable"
stop_agent
# shellcheck disable=SC2086
check "agent restarts in enforce mode on the same log, pushing every 2 s" start_agent --enforce \
	$AGENT_ARGS --attest-interval 2
cp -a $T/root1 $T/root3; cp $F/tool-c $T/root3/bin/
TOOLC=$(sha256sum $F/tool-c | cut -d' ' -f1)
run_image $T/root3 127.0.0.1:$PORT/shop:1.0 $D1 \
	'i=0; while [ $i -lt 100 ]; do /bin/tool-c; i=$((i + 1)); done; echo "$i attempts"'
C5=$LAST_ID
echo "$OUT" | grep -q '100 attempts' && ! echo "$OUT" | grep -q 'tool-c ran' &&
	pass "enforce: 100 attempts at the dropped-in binary, none ran" ||
	fail "enforce: 100 attempts at the dropped-in binary, none ran ($RC: $OUT)"
check "the attestor lists the refusal: container 5 untrusted" until_true 60 ctr_is $C5 untrusted
r=$(jget /v1/containers/$C5 'json.dumps(d)')
case "$r" in
*'"refusals": [{'*'/bin/tool-c'*"sha256:$TOOLC"*'refused by the kernel'*)
	pass "/v1/containers/{id}: the refusal with path, digest and reason" ;;
*) fail "/v1/containers/{id}: the refusal with path, digest and reason ($r)" ;;
esac
check "the node stays trusted" verdict_is trusted
check "the scheduler filter keeps the node" [ "$(filter)" = $NODE ]
check "the attestor logged an alert" grep -q "alert: .*node $NODE container $C5: exec of /bin/tool-c" \
	$T/attestor.log
n_ev=$(grep "$C5" $EVENTS | grep '"verdict":"deny"' | grep -c '/bin/tool-c')
check "the event stream shows every attempt ($n_ev denials)" [ "$n_ev" -ge 100 ]
n_log=$("$B/tclctl" log show --log $LOG | python3 -c '
import sys
n = 0
for l in sys.stdin:
    f = l.split()
    if len(f) >= 6 and f[4] == "exec_refused":
        b = bytes.fromhex(f[5]).decode()
        n += sys.argv[1] in b and sys.argv[2] in b
print(n)' "\"container_id\":\"$C5\"" "sha256:$TOOLC")
check "the log holds one exec_refused entry for (container 5, tool-c) ($n_log)" [ "$n_log" = 1 ]
check "the log still replays to the PCR" "$B/tclctl" log verify --log $LOG --pcr $PCR \
	--tpm device:/dev/tpmrm0

section "an exec outside the golden set (audit mode) makes the node untrusted"
stop_agent
# shellcheck disable=SC2086
check "agent restarts in audit mode on the same log and enrolment" start_agent --audit \
	$AGENT_ARGS --attest-interval 2
cp -a $T/root1 $T/root2; cp $F/tool-c $T/root2/bin/
run_image $T/root2 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-c"
C4=$LAST_ID
echo "$OUT" | grep -q 'tool-c ran' && pass "audit: the extra binary ran (reported, not denied)" ||
	fail "audit: the extra binary ran ($RC: $OUT)"
check "the node turns untrusted" until_true 60 verdict_is untrusted
r=$(jget /v1/containers/$C4 'd["verdict"] + " " + json.dumps(d)')
case "$r" in
untrusted*tool-c*golden*) pass "container 4 untrusted, the finding names /bin/tool-c" ;;
*) fail "container 4 untrusted, the finding names /bin/tool-c ($r)" ;;
esac
check "the scheduler filter drops the node" [ -z "$(filter)" ]
check "status: verdict untrusted" until_true 20 st_is 'd["attestor"]["verdict"]' untrusted
wait_for $EVENTS '"reason":"attest_verdict".*untrusted' 50 &&
	pass "an agent event reports the untrusted verdict" ||
	fail "an agent event reports the untrusted verdict"
check "the log the attestor saw replays to the PCR (tclctl log verify)" \
	"$B/tclctl" log verify --log $LOG --pcr $PCR --tpm device:/dev/tpmrm0

section "revocation: the image of a running container is revoked at the attestor"
stop_agent
IV=3	# --attest-interval
# shellcheck disable=SC2086
check "agent restarts in enforce mode, pushing every $IV s" start_agent --enforce $AGENT_ARGS \
	--attest-interval $IV
# admin ARGS...: curl as the admin (the certificate --admin-ca issued)
admin() { curl -s --cacert $T/pki/ca.crt --cert $T/pki/admin.crt --key $T/pki/admin.key "$@"; }
n=$((n + 1)); C6=$(printf "a%063d" $n)
make_bundle $T/b$n 127.0.0.1:$PORT/shop:1.0 \
	"/kubepods/besteffort/pod00000000-0000-0000-0000-00000000000$n/$C6" $C6 pod-$n \
	00000000-0000-0000-0000-00000000000$n default c$n
rm -rf $T/b$n/rootfs; cp -a $T/root1 $T/b$n/rootfs; mkfifo $T/b$n/rootfs/tmp/f
# a long-running container that runs the golden /bin/tool-a once a second
hook_bundle $T/b$n $D1 'exec 3<>/tmp/f; while :; do /bin/tool-a >>/tmp/out 2>&1;
	echo "rc=$?" >>/tmp/out; read -t 1 x <&3; done'
OUT6=$T/b$n/rootfs/tmp/out
check "a container of shop:1.0 runs, its golden tool-a too" start_container $T/b$n $C6
wait_for $OUT6 'tool-a ran' 100 && pass "... tool-a ran in it" || fail "... tool-a ran in it ($(tail -3 $OUT6))"
check "the attestor lists container 6 as running the image" until_true 60 sh -c \
	"[ \"\$(curl -sf --cacert $T/pki/ca.crt --cert $T/pki/reader.crt --key $T/pki/reader.key \
	$URL/v1/containers/$C6 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"image_digest\"])')\" = $D1 ]"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert $T/pki/ca.crt --cert $T/pki/node.crt \
	--key $T/pki/node.key -H 'Content-Type: application/json' \
	--data '{"kind":"image","digest":"'$D1'","reason":"test: CVE in tool-a"}' $URL/v1/revocations)
check "a node's certificate may not revoke (403)" [ "$code" = 403 ]
t0=$(date +%s)
r=$(admin -H 'Content-Type: application/json' -w ' %{http_code}' \
	--data '{"kind":"image","digest":"'$D1'","reason":"test: CVE in tool-a"}' $URL/v1/revocations)
# (containers of earlier sections whose stop the attestor has not seen yet count as running)
case "$(echo "${r% *}" | python3 -c 'import json, sys; d = json.load(sys.stdin)
print(d["id"], d["affected_containers"] >= 1)' 2>&1) ${r##* }" in
"1 True 201") pass "the admin revokes the image (201): running containers affected" ;;
*) fail "the admin revokes the image (201): running containers affected ($r)" ;;
esac
denied() { grep -q 'not permitted' $OUT6; }
if until_true 80 denied; then
	dt=$(($(date +%s) - t0))
	pass "the container's next exec of the golden tool-a is refused: EPERM (${dt} s after the revocation, push interval $IV s)"
	check "... within one push interval plus the apply tick and a TCG round trip (<= $((IV + 8)) s)" \
		[ "$dt" -le $((IV + 8)) ]
else
	fail "the container's next exec of the golden tool-a is refused: EPERM ($(tail -4 $OUT6))"
fi
# events TYPE REASON [PATH]: events of container 6 with that type, verdict deny, reason (and path)
events() {
	python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    try:
        e = json.loads(l)
    except ValueError:
        continue
    n += (e.get("container_id") == sys.argv[2] and e.get("type") == sys.argv[3] and
          e.get("verdict") == "deny" and e.get("reason") == sys.argv[4] and
          (len(sys.argv) < 6 or e.get("path") == sys.argv[5]))
print(n)' $EVENTS $C6 "$@"
}
check "the event stream: exec of /bin/tool-a denied, reason revoked" \
	[ "$(events exec revoked /bin/tool-a)" -ge 1 ]
check "the event stream: the revocation applied to container 6 (an agent event)" \
	[ "$(events agent revoked)" = 1 ]
# revlog NAME: the log's NAME (ima-buf) entries for container 6 that name revocation 1
revlog() {
	"$B/tclctl" log show --log $LOG | python3 -c '
import sys
n = 0
for l in sys.stdin:
    f = l.split()
    if len(f) >= 6 and f[4] == sys.argv[1]:
        b = bytes.fromhex(f[5]).decode()
        n += sys.argv[2] in b and "\"revocation\":\"1\"" in b and "\"kind\":\"image\"" in b
print(n)' "$1" "\"container_id\":\"$C6\""
}
check "the log: a revocation_applied entry for container 6 (revocation 1, image)" \
	until_true 20 [ "$(revlog revocation_applied)" = 1 ]
check "the log: the list the agent took (revocations entry)" sh -c \
	"'$B/tclctl' log show --log $LOG | grep -q ' revocations '"
check "the agent kept the list (state file)" grep -q "\"digest\":\"$D1\"" $T/revocations.json
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a"
case "$RC:$OUT" in
0:*) fail "a new container of the revoked image is refused ($OUT)" ;;
*'NOT verified: image revoked (revocation 1'*) pass "a new container of the revoked image: NOT verified: image revoked" ;;
*) fail "a new container of the revoked image: NOT verified: image revoked ($RC: $OUT)" ;;
esac
check "the log replays to the PCR" "$B/tclctl" log verify --log $LOG --pcr $PCR \
	--tpm device:/dev/tpmrm0

section "revocation: kept across an agent restart, withdrawn at the attestor"
stop_agent
# shellcheck disable=SC2086
check "agent restarts (enforce, pushing every 600 s)" start_agent --enforce $AGENT_ARGS \
	--attest-interval 600
check "the restart applied the kept revocation to the running container (measured again)" \
	until_true 20 [ "$(revlog revocation_applied)" = 2 ]
: >$OUT6
check "its execs stay refused" until_true 20 denied
stop_agent
# shellcheck disable=SC2086
check "agent restarts, pushing every $IV s" start_agent --enforce $AGENT_ARGS --attest-interval $IV
r=$(admin -X DELETE -w '%{http_code}' -o /dev/null $URL/v1/revocations/1)
check "the admin withdraws the revocation ($r)" [ "$r" = 200 ]
wait_for $EVENTS "\"reason\":\"revocation_lifted\".*\"container_id\":\"$C6\"" 300 &&
	pass "the agent lifts it at its next push" || fail "the agent lifts it at its next push"
# (tool-a does not run again here: an agent restarted over a running container does not
# re-verify its image, so the container has the global allowlist only, revoked or not)
runc kill $C6 KILL 2>/dev/null; sleep 0.3; runc delete -f $C6 >/dev/null 2>&1

stop_agent
att_down
kill $REGPID 2>/dev/null
[ -d /tcl-out ] && cp $T/attestor.log /tcl-out/attest-attestor.log 2>/dev/null
exit 0
