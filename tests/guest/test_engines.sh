#!/bin/sh
# Real container engines end to end: containerd 1.6 with its CRI plugin, configured by
# scripts/install-hooks.sh as on a node and driven over its gRPC socket with the calls kubelet
# makes (tests/guest/cri/cri.py): every annotation here is containerd's, none is ours.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tcleng
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
export CRI_STUBS=$T/stubs
TASKS=$CD_TASKS
UID1=0a1b2c3d-0000-4000-8000-000000000001
t0=$(date +%s)

set -- $(registry_start $T/reg)
PORT=$1 REGPID=$2
REG=http://127.0.0.1:$PORT R=127.0.0.1:$PORT
[ -n "$PORT" ] && pass "registry on 127.0.0.1:$PORT" || { fail "registry starts"; exit 0; }
"$B/tclctl" golden keygen -o $T/trusted >/dev/null 2>&1
for i in app bad unsigned; do
	mkdir -p $T/root-$i/bin $T/root-$i/tmp $T/root-$i/proc $T/root-$i/dev $T/root-$i/etc
	cp /bin/busybox $T/root-$i/bin/; ln -s busybox $T/root-$i/bin/sh
done
cp $F/tool-a $T/root-app/bin/; cp $F/tool-c $T/root-bad/bin/tool-a; cp $F/tool-c $T/root-unsigned/bin/
# The pod sandbox: containerd 1.6 starts it without base_runtime_spec, so without tcl-hook; its
# one binary is in the policy's global allowlist, as an operator puts it there.
mkdir -p $T/root-pause; cp $F/pause $T/root-pause/pause
DP=$(publish $T/root-pause pause 3.9 $T/trusted.key /pause)
printf '{"version": 1, "allow": [{"sha256": "%s"}], "images": {}}\n' \
	$(sha256sum $F/pause | cut -c1-64) > $T/policy.json
D1=$(publish $T/root-app shop 1.0 $T/trusted.key)
# shop:1.1 is shop:1.0 with a binary changed after signing, shop:1.0's golden manifest beside it
D3=$(publish $T/root-bad shop 1.1 "")
"$B/tclctl" golden push --registry $REG shop@$D3 --manifest $T/img-shop-1.0/golden.json \
	--sig $T/img-shop-1.0/golden.json.sig >/dev/null 2>&1
D4=$(publish $T/root-unsigned unsigned 1.0 "")
[ -n "$DP" ] && [ -n "$D1" ] && [ -n "$D3" ] && [ -n "$D4" ] &&
	pass "pause, shop:1.0 (signed), shop:1.1 (changed after signing), unsigned:1.0 pushed" ||
	fail "images pushed ($DP $D1 $D3 $D4)"

section "containerd 1.6 + CRI, configured by install-hooks.sh"
check "containerd starts with the configuration install-hooks.sh made" \
	containerd_start $R $R/pause:3.9 $T/containerd.log
grep -q '^  base_runtime_spec = "/etc/containerd/tcl-base-spec.json"$' /etc/containerd/config.toml &&
	grep -q tcl-hook /etc/containerd/tcl-base-spec.json &&
	pass "base_runtime_spec with tcl-hook" || fail "base_runtime_spec with tcl-hook"
out=$($CRI version 2>&1)
echo "$out" | grep -q '^containerd 1\.6' && pass "CRI Version: $out" || fail "CRI Version ($out)"
check "agent starts (enforce, --scope containers, registry + trust key)" start_agent --enforce \
	--scope containers --registry $REG --trust-key $T/trusted.pub --golden-cache $T/cache \
	--policy $T/policy.json --events $EVENTS
for im in pause:3.9 shop:1.0 shop:1.1 unsigned:1.0; do
	$CRI pull $R/$im >/dev/null 2>$T/pull.err || fail "PullImage $im ($(cat $T/pull.err))"
done
out=$($CRI image-digests $R/shop:1.0)
[ "$out" = "$R/shop@$D1" ] && pass "PullImage by tag: containerd resolved shop:1.0 to $D1" ||
	fail "containerd's digest of shop:1.0 ($out, pushed $D1)"

section "a verified pod"
POD=$($CRI runp web-0 $UID1 prod 2>$T/err) && [ -n "$POD" ] &&
	pass "RunPodSandbox (host network)" ||
	fail "RunPodSandbox ($(cat $T/err))"
wait_for $EVENTS "\"type\":\"container_start\".*\"container_id\":\"$POD\"" 100 &&
	pass "the sandbox is attributed" || fail "the sandbox is attributed"
CID=$($CRI create $POD web-0 $UID1 prod web $R/shop:1.0 /bin/busybox sh -c \
	'/bin/tool-a > /tmp/main.out; printf "#!/bin/sh\necho main-dropped-ran\n" > /tmp/m.sh; chmod +x /tmp/m.sh; /tmp/m.sh >> /tmp/main.out 2>&1; echo "rc=$?" >> /tmp/main.out; exec /bin/busybox sleep 1000000' \
	2>$T/err) && [ -n "$CID" ] && pass "CreateContainer" || fail "CreateContainer ($(cat $T/err))"
$CRI start $CID 2>$T/err && pass "StartContainer: verified image runs" ||
	fail "StartContainer ($(cat $T/err))"
grep -q '"io.kubernetes.cri.sandbox-uid": *"'$UID1'"' $TASKS/$CID/config.json &&
	pass "containerd wrote the CRI annotations into config.json" ||
	fail "containerd's annotations in $TASKS/$CID/config.json"
cp $TASKS/$CID/config.json $T/config-container.json 2>/dev/null
cp $TASKS/$POD/config.json $T/config-sandbox.json 2>/dev/null
line=$(grep "\"type\":\"container_start\".*\"container_id\":\"$CID\"" $EVENTS | head -1)
for kv in "\"pod_uid\":\"$UID1\"" '"pod":"web-0"' '"namespace":"prod"' '"container":"web"' \
	"\"image\":\"$R/shop:1.0\"" "\"image_digest\":\"$D1\""; do
	echo "$line" | grep -qF "$kv" && pass "container_start has $kv" ||
		fail "container_start has $kv: $line"
done
grep "\"type\":\"image_verify\".*\"container_id\":\"$CID\"" $EVENTS | grep -q '"verdict":"allow"' &&
	! grep "\"type\":\"image_verify\".*\"container_id\":\"$CID\"" $EVENTS | grep -q 'resolved from the tag' &&
	pass "verified at create with containerd's digest (not re-resolved from the tag)" ||
	fail "image_verify of the container: $(grep image_verify $EVENTS | grep $CID)"
sleep 1
out=$($CRI exec $CID /bin/busybox cat /tmp/main.out 2>&1)
echo "$out" | grep -q 'tool-a ran' && pass "its entrypoint ran an image binary" ||
	fail "its entrypoint ran an image binary ($out)"
echo "$out" | grep -q 'main-dropped-ran' && fail "a binary its entrypoint dropped in is denied ($out)" ||
	pass "a binary its entrypoint dropped in is denied"
grep "\"verdict\":\"deny\".*\"path\":\"/tmp/m.sh\"" $EVENTS | grep -q "\"container_id\":\"$CID\".*\"pod\":\"web-0\"" &&
	pass "the denial is attributed to the container and pod" || fail "the denial is attributed"

section "ExecSync (kubectl exec)"
out=$($CRI exec $CID /bin/tool-a 2>&1)
[ "$out" = "tool-a ran" ] && pass "ExecSync of an image binary runs" || fail "ExecSync of an image binary ($out)"
wait_for $EVENTS "\"verdict\":\"allow\".*\"path\":\"/bin/tool-a\".*\"container_id\":\"$CID\"" &&
	pass "the exec'd process is attributed to the container" || fail "ExecSync process attributed"
$CRI exec $CID /bin/busybox sh -c 'printf "#!/bin/sh\necho exec-dropped-ran\n" > /tmp/e.sh; chmod +x /tmp/e.sh' >/dev/null 2>&1
out=$($CRI exec $CID /tmp/e.sh 2>&1); rc=$?
[ $rc -ne 0 ] && ! echo "$out" | grep -q exec-dropped-ran && pass "ExecSync of a dropped-in file is denied" ||
	fail "ExecSync of a dropped-in file is denied ($rc: $out)"
line=$(grep "\"verdict\":\"deny\".*\"path\":\"/tmp/e.sh\"" $EVENTS | head -1)
echo "$line" | grep -qF "\"container_id\":\"$CID\"" && echo "$line" | grep -qF "\"image_digest\":\"$D1\"" &&
	pass "... and the denial is attributed (container, image digest)" || fail "ExecSync denial attributed: $line"

section "unverified images: the CRI error says why, nothing ran"
for c in "shop:1.1 golden manifest is for" "unsigned:1.0 no golden manifest"; do
	im=${c%% *} why=${c#* }
	id=$($CRI create $POD web-0 $UID1 prod bad-${im%%:*} $R/$im /bin/busybox sh -c 'touch /tmp/ran; /bin/tool-a' 2>$T/err)
	$CRI start $id 2>$T/err; rc=$?
	[ $rc -ne 0 ] && grep -q "NOT verified: .*$why" $T/err &&
		pass "$im: StartContainer fails: $(grep -o 'NOT verified: [^:]*' $T/err | head -1)" ||
		fail "$im refused with NOT verified: $why ($rc: $(cat $T/err))"
	# runc's own re-exec in the new cgroup is the runtime's (comm exe, path /), not the image's
	grep "\"container_id\":\"$id\"" $EVENTS | grep '"type":"exec"' | grep -q '"path":"/[a-z]' &&
		fail "$im: nothing of the image ran" || pass "$im: nothing of the image ran"
	$CRI rm $id 2>/dev/null
done

section "agent killed (-9) and restarted while the pod runs"
kill -9 $AGENT_PID; wait $AGENT_PID 2>/dev/null; AGENT_PID=
n0=$(grep -c "\"type\":\"container_start\".*\"container_id\":\"$CID\"" $EVENTS)
check "agent restarts" start_agent --enforce --scope containers --registry $REG \
	--trust-key $T/trusted.pub --golden-cache $T/cache --policy $T/policy.json --events $EVENTS
line=$(grep "\"type\":\"container_start\".*\"container_id\":\"$CID\"" $EVENTS | sed -n "$((n0 + 1))p")
echo "$line" | grep -qF "\"pod_uid\":\"$UID1\"" && echo "$line" | grep -qF '"container":"web"' &&
	echo "$line" | grep -qF "\"image_digest\":\"$D1\"" &&
	pass "the running container is attributed again from containerd's state" ||
	fail "re-attributed after restart: $line"
out=$($CRI exec $CID /bin/tool-a 2>&1)
[ "$out" = "tool-a ran" ] && pass "after the restart its image binaries run" || fail "after restart, image binary ($out)"
out=$($CRI exec $CID /tmp/e.sh 2>&1)
echo "$out" | grep -q exec-dropped-ran && fail "after the restart a dropped-in file is still denied ($out)" ||
	pass "after the restart a dropped-in file is still denied"

section "stop and remove; 20 create/remove cycles"
$CRI stop $CID 2>$T/err && $CRI rm $CID 2>>$T/err && pass "StopContainer, RemoveContainer" ||
	fail "StopContainer, RemoveContainer ($(cat $T/err))"
wait_for $EVENTS "\"type\":\"container_stop\".*\"container_id\":\"$CID\"" 100 &&
	pass "container_stop recorded" || fail "container_stop recorded"
entries() { "$B/tclctl" status 2>/dev/null | sed -n 's/^scope: .*, \([0-9]*\) scope entries$/\1/p'; }
tracked() { "$B/tclctl" status 2>/dev/null | sed -n 's/.*"containers":\([0-9]*\).*/\1/p'; }
sleep 1
e0=$(entries) c0=$(tracked)
tc=$(date +%s)
$CRI cycles 20 $POD web-0 $UID1 prod $R/shop:1.0 /bin/tool-a >$T/cycles 2>$T/err &&
	[ "$(grep -c . $T/cycles)" = 20 ] && pass "20 create/start/stop/remove cycles ($(( $(date +%s) - tc )) s)" ||
	fail "20 cycles ($(cat $T/err))"
for _ in $(seq 50); do [ "$(entries)" = "$e0" ] && [ "$(tracked)" = "$c0" ] && break; sleep 0.2; done
[ "$(entries)" = "$e0" ] && [ "$(tracked)" = "$c0" ] &&
	pass "nothing leaks: $e0 scope entries, $c0 containers, as before" ||
	fail "leak after 20 cycles: scope entries $e0 -> $(entries), containers $c0 -> $(tracked)"
n=$(grep '"type":"container_stop"' $EVENTS | grep -cF -f $T/cycles)
[ "$n" = 20 ] && pass "20 container_stop records" || fail "container_stop records of the cycles ($n)"
$CRI stopp $POD 2>$T/err && $CRI rmp $POD 2>>$T/err && pass "StopPodSandbox, RemovePodSandbox" ||
	fail "StopPodSandbox, RemovePodSandbox ($(cat $T/err))"
wait_for $EVENTS "\"type\":\"container_stop\".*\"container_id\":\"$POD\"" 100 &&
	pass "the sandbox's container_stop recorded" || fail "sandbox container_stop"

containerd_stop

stop_agent
kill $REGPID
[ -d /tcl-out ] && cp $T/containerd.log $T/config-*.json $EVENTS /tcl-out/ 2>/dev/null
echo "engines: $(( $(date +%s) - t0 )) s"
exit 0
