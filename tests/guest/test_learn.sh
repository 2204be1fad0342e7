#!/bin/sh
# tclctl golden learn (issue 18): in audit mode a container of a signed image runs a script it
# generated; golden learn turns the audit records into a proposal (from the agent's --events
# file and from its socket: the same proposal), which is signed and pushed by hand; then, in
# enforce mode, a new container of that image runs the same generated script, while another
# file it drops in is still denied.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tcllearn
rm -rf $T; mkdir -p $T/root/bin $T/root/tmp $T/root/proc $T/root/dev
EVENTS=$T/events.jsonl
set -- $(registry_start $T/reg)
PORT=$1 REGPID=$2
REG=http://127.0.0.1:$PORT
[ -n "$PORT" ] && pass "learn: registry on 127.0.0.1:$PORT" || { fail "learn: registry starts"; exit 0; }
"$B/tclctl" golden keygen -o $T/trusted >/dev/null 2>&1
cp /bin/busybox $T/root/bin/; ln -s busybox $T/root/bin/sh
D=$(publish $T/root learn 1.0 $T/trusted.key)
[ -n "$D" ] && pass "learn: signed image pushed" || { fail "learn: signed image pushed"; exit 0; }
CACHE=$T/cache

n=0
run_image() { # CMD -> OUT, RC, LAST_ID
	n=$((n + 1)); id=$(printf "%064d" $((n + 700)))
	make_bundle $T/b$n 127.0.0.1:$PORT/learn:1.0 \
		"/kubepods/besteffort/pod00000000-0000-0000-0000-00000000070$n/$id" \
		$id gen-$n 00000000-0000-0000-0000-00000000070$n default app
	rm -rf $T/b$n/rootfs; cp -a $T/root $T/b$n/rootfs
	hook_bundle $T/b$n "$D" "$1"
	OUT=$(runc run --bundle $T/b$n $id 2>&1 </dev/null); RC=$?
	runc delete -f $id >/dev/null 2>&1
	LAST_ID=$id
}
GEN='printf "#!/bin/sh\necho generated-ran\n" >/tmp/gen.sh; chmod +x /tmp/gen.sh; /tmp/gen.sh'
WANT=$(printf '#!/bin/sh\necho generated-ran\n' | sha256sum | cut -c1-64)

section "audit mode: a container runs a script it generated"
check "learn: agent starts in audit mode" start_agent --audit --scope containers \
	--registry $REG --trust-key $T/trusted.pub --golden-cache $CACHE --events $EVENTS
run_image "$GEN"
[ $RC -eq 0 ] && echo "$OUT" | grep -q generated-ran && pass "learn: audit mode lets the generated script run" ||
	fail "learn: audit mode lets the generated script run ($RC: $OUT)"
wait_for $EVENTS "\"verdict\":\"audit\".*\"path\":\"/tmp/gen.sh\".*\"sha256\":\"$WANT\".*\"image_digest\":\"$D\"" &&
	pass "learn: an audit record names the script, its digest and the image" ||
	fail "learn: an audit record names the script, its digest and the image"

section "golden learn"
"$B/tclctl" golden learn --image 127.0.0.1:$PORT/learn@$D --since 10m --events $EVENTS \
	--trust-key $T/trusted.pub -o $T/proposal.json >$T/learn.out 2>$T/learn.err; rc=$?
[ $rc -eq 0 ] && grep -q "^+ /tmp/gen.sh$" $T/learn.out && grep -q "^    sha256:$WANT$" $T/learn.out &&
	grep -q "^    ran 1 time, " $T/learn.out && grep -q "^    in default/gen-1/app (000000000000)$" $T/learn.out &&
	pass "learn: the addition with its digest, count and container" ||
	fail "learn: the addition ($rc: $(cat $T/learn.out $T/learn.err))"
grep -q "1 file added" $T/learn.err && grep -q "Not signed" $T/learn.err && [ ! -e $T/proposal.json.sig ] &&
	pass "learn: one file added, nothing signed" || fail "learn: one file added, nothing signed ($(cat $T/learn.err))"
grep -q "\"/tmp/gen.sh\":\"$WANT\"" $T/proposal.json && grep -q '"/bin/busybox":' $T/proposal.json &&
	pass "learn: the proposal is the old manifest plus the script" || fail "learn: the proposal ($(cat $T/proposal.json))"
"$B/tclctl" golden learn --registry $REG --image learn:1.0 --since 10m --trust-key $T/trusted.pub \
	-o $T/proposal-sock.json >/dev/null 2>&1 &&
	cmp -s $T/proposal.json $T/proposal-sock.json &&
	pass "learn: from the agent's socket and a tag, the same proposal" || fail "learn: from the agent's socket and a tag"
# (the refusals: tests/service/test_golden_learn.sh)
"$B/tclctl" golden sign --key $T/trusted.key $T/proposal.json 2>/dev/null &&
"$B/tclctl" golden push --registry $REG learn@$D --manifest $T/proposal.json \
	--sig $T/proposal.json.sig >/dev/null 2>&1 &&
	pass "learn: the proposal signed and pushed (golden sign, golden push)" || fail "learn: sign and push"
stop_agent

section "enforce mode: the learned script runs, another dropped-in file does not"
# the node's cached manifest is the old one: its entry goes (what golden learn says to do)
rm -f $CACHE/${D#sha256:}.json $CACHE/${D#sha256:}.sig
check "learn: agent restarts in enforce mode" start_agent --enforce --scope containers \
	--registry $REG --trust-key $T/trusted.pub --golden-cache $CACHE --events $EVENTS
run_image "$GEN; printf '#!/bin/sh\necho other-ran\n' >/tmp/other.sh; chmod +x /tmp/other.sh; /tmp/other.sh"
echo "$OUT" | grep -q generated-ran && pass "learn: enforce mode runs the learned script" ||
	fail "learn: enforce mode runs the learned script ($RC: $OUT)"
echo "$OUT" | grep -q other-ran && fail "learn: another dropped-in file is still denied ($OUT)" ||
	pass "learn: another dropped-in file is still denied"
wait_for $EVENTS "\"verdict\":\"deny\".*\"path\":\"/tmp/other.sh\".*\"container_id\":\"$LAST_ID\"" &&
	! grep "\"verdict\":\"deny\".*\"container_id\":\"$LAST_ID\"" $EVENTS | grep -q '/tmp/gen.sh' &&
	pass "learn: the denial is the other file's, none for the learned script" ||
	fail "learn: the denial is the other file's, none for the learned script"
stop_agent
kill $REGPID 2>/dev/null
exit 0
