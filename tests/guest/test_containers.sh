#!/bin/sh
# Containers: in-kernel scope for new container cgroups, attribution from CRI annotations,
# per-image allow sets, containers started before the agent, tclctl events --container.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclctr
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
IDA=$(printf 'a%.0s' $(seq 64)); IDB=$(printf 'b%.0s' $(seq 64)); IDC=$(printf 'c%.0s' $(seq 64))
UIDA=11111111-2222-3333-4444-555555555555; UIDB=66666666-7777-8888-9999-000000000000
# systemd-driver naming (created literally by runc's cgroupfs driver) and cgroupfs-driver naming
CGA="/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$(echo $UIDA | tr - _).slice/cri-containerd-$IDA.scope"
CGB="/kubepods/burstable/pod$UIDB/$IDB"
CGC="/kubepods/burstable/pod$UIDB/$IDC"
sha() { sha256sum "$1" | cut -c1-64; }
BB=$(sha /bin/busybox); TA=$(sha $F/tool-a); TB=$(sha $F/tool-b)
cat >$T/policy.json <<JSON
{"version": 1, "allow": [],
 "images": {"registry.local/app-a:1": {"allow": [{"sha256": "$BB"}, {"sha256": "$TA"}]},
            "registry.local/app-b:1": {"allow": [{"sha256": "$BB"}, {"sha256": "$TB"}]}}}
JSON
make_bundle $T/a registry.local/app-a:1 "$CGA" $IDA web-0 $UIDA prod web $F/tool-a
make_bundle $T/b registry.local/app-b:1 "$CGB" $IDB db-0 $UIDB prod db $F/tool-b
cp $F/tool-a $T/b/rootfs/bin/tool-from-a

section "per-image allow sets, enforce mode, scope containers"
check "agent starts with --scope containers" start_agent --enforce --policy $T/policy.json \
	--scope containers --events $EVENTS
check "container A (systemd-style cgroup) starts" start_container $T/a $IDA
check "container B (cgroupfs-style cgroup) starts" start_container $T/b $IDB
out=$(runc exec $IDA /bin/tool-a 2>&1)
[ "$out" = "tool-a ran" ] && pass "image A's binary runs in container A" || fail "image A's binary runs in container A ($out)"
out=$(runc exec $IDB /bin/tool-b 2>&1)
[ "$out" = "tool-b ran" ] && pass "image B's binary runs in container B" || fail "image B's binary runs in container B ($out)"
out=$(runc exec $IDB /bin/tool-from-a 2>&1)
echo "$out" | grep -q 'tool-a ran' && fail "image A's binary is denied in container B ($out)" ||
	pass "image A's binary is denied in container B"
wait_for $EVENTS "\"verdict\":\"deny\".*\"container_id\":\"$IDB\"" &&
	pass "the denial carries container B's id" || fail "the denial carries container B's id"
line=$(grep "\"verdict\":\"deny\".*\"path\":\"/bin/tool-from-a\"" $EVENTS | head -1)
for kv in "\"container_id\":\"$IDB\"" "\"pod_uid\":\"$UIDB\"" '"pod":"db-0"' '"namespace":"prod"' \
	'"container":"db"' '"image":"registry.local/app-b:1"'; do
	echo "$line" | grep -qF "$kv" && pass "deny event has $kv" || fail "deny event has $kv: $line"
done
line=$(grep "\"verdict\":\"allow\".*\"container_id\":\"$IDA\".*" $EVENTS | grep '/bin/tool-a' | head -1)
echo "$line" | grep -qF "\"pod_uid\":\"$UIDA\"" && echo "$line" | grep -qF '"pod":"web-0"' &&
	echo "$line" | grep -qF '"image":"registry.local/app-a:1"' &&
	pass "allow (measurement) event of A is attributed" || fail "allow event of A is attributed: $line"
grep "\"type\":\"container_start\".*\"container_id\":\"$IDA\"" $EVENTS | grep -q '"pod":"web-0"' &&
	pass "container_start event is attributed" || fail "container_start event is attributed"
out=$(runc exec $IDA /bin/busybox cp /bin/tool-a /tmp/dropped 2>&1; runc exec $IDA /tmp/dropped 2>&1)
echo "$out" | grep -q 'tool-a ran' && pass "a copy of an allowed binary runs (same digest)" ||
	fail "a copy of an allowed binary runs ($out)"
runc exec $IDA /bin/busybox sh -c 'echo "#!/bin/sh" > /tmp/x.sh; chmod +x /tmp/x.sh' 2>/dev/null
out=$(runc exec $IDA /tmp/x.sh 2>&1); rc=$?
[ $rc -ne 0 ] && pass "a script dropped at run time is denied" || fail "a script dropped at run time is denied ($out)"

section "host processes"
out=$($F/hello 2>&1)
[ "$out" = "hello ran" ] && pass "host processes are out of scope" || fail "host processes are out of scope"
grep "\"comm\":\"hello\"" $EVENTS | grep -q container_id && fail "host events carry no container fields" ||
	pass "host events carry no container fields"

section "tclctl events --container"
"$B/tclctl" events --container $IDB >$T/ev-b.out
n_b=$(grep -c . $T/ev-b.out); n_other=$(grep -v "\"container_id\":\"$IDB\"" $T/ev-b.out | grep -vc '"type":"drop"')
[ "$n_b" -gt 0 ] && [ "$n_other" -eq 0 ] && pass "tclctl events --container follows one container" ||
	fail "tclctl events --container follows one container ($n_b, $n_other other)"
"$B/tclctl" events --container ${IDA%????????????????????????????????????????????????????} >$T/ev-a.out
grep -q "$IDA" $T/ev-a.out && pass "--container accepts an id prefix" || fail "--container accepts an id prefix"

section "container stop"
stop_container $IDB
wait_for $EVENTS "\"type\":\"container_stop\".*\"container_id\":\"$IDB\"" &&
	pass "container_stop event" || fail "container_stop event"

section "a container started before the agent"
stop_agent
stop_container $IDA
"$B/tclctl" unload --yes >/dev/null
make_bundle $T/c registry.local/app-b:1 "$CGC" $IDC db-1 $UIDB prod db2 $F/tool-b
cp $F/tool-a $T/c/rootfs/bin/tool-from-a
runc run -d --bundle $T/c $IDC >/dev/null 2>&1 </dev/null
out=$(runc exec $IDC /bin/tool-from-a 2>&1)
[ "$out" = "tool-a ran" ] && pass "without the agent, anything runs" || fail "without the agent, anything runs ($out)"
check "agent starts with a container already running" start_agent --enforce --policy $T/policy.json \
	--scope containers --events $EVENTS
wait_for $EVENTS "\"type\":\"container_start\".*\"container_id\":\"$IDC\"" 100 &&
	pass "the running container is attributed at agent start" || fail "the running container is attributed at agent start"
out=$(runc exec $IDC /bin/tool-from-a 2>&1)
echo "$out" | grep -q 'tool-a ran' && fail "the running container is enforced ($out)" ||
	pass "the running container is enforced"
out=$(runc exec $IDC /bin/tool-b 2>&1)
[ "$out" = "tool-b ran" ] && pass "its own image's binary still runs" || fail "its own image's binary still runs ($out)"
stop_container $IDC
stop_agent
exit 0
