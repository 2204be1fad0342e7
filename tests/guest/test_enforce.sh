#!/bin/sh
# Foundation: exec/mmap enforcement in a cgroup scope, cache invalidation, bypass attempts,
# audit mode, pinning across kill -9, policy errors, a burst of denials.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tcltest
rm -rf $T; mkdir -p $T/allowed $T/elsewhere $CG/tcltest
LIBC=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)
LDSO=$(readlink -f /lib64/ld-linux-x86-64.so.2)

# The allowed set: true, busybox (static shell), the fixtures that run in scope, libc, ld.so.
cp /usr/bin/true /bin/busybox $F/memfd_exec $F/mprotect_exec $F/exec_burst $T/allowed/
cp "$LIBC" "$LDSO" $T/allowed/
printf '#!%s sh\necho script-ran\n' $T/allowed/busybox >$T/allowed/good.sh
chmod 755 $T/allowed/good.sh
printf '#!%s sh\necho bad-script-ran\n' $T/allowed/busybox >$T/bad.sh
chmod 755 $T/bad.sh
cp $F/hello $T/unlisted
cp $F/preload.so $T/unlisted.so
cp /usr/bin/true $T/elsewhere/true-copy
cp /usr/bin/true $T/mutable
"$B/tclctl" policy generate --dir $T/allowed -o $T/policy.json 2>/dev/null
# The mutable file starts with allowed content (true) at its own path.

section "enforce mode, scope cgroup:/tcltest"
check "agent starts in enforce mode" start_agent --enforce --policy $T/policy.json \
	--scope cgroup:/tcltest --events $T/events.jsonl
check "tclctl status exits 0 when attached" "$B/tclctl" status
"$B/tclctl" status | grep -q '^mode: enforce' && pass "status shows mode enforce" || fail "status shows mode enforce"

check "allowed binary runs" incg tcltest $T/allowed/true
check "copy of allowed binary elsewhere runs" incg tcltest $T/elsewhere/true-copy
incg tcltest $T/allowed/good.sh | grep -q script-ran && pass "allowed script runs" || fail "allowed script runs"
out=$(incg tcltest $T/unlisted 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q 'Operation not permitted' && ! echo "$out" | grep -q 'ran' &&
	pass "unlisted binary gets EPERM" || fail "unlisted binary gets EPERM ($rc: $out)"
wait_for $T/events.jsonl '"verdict":"deny".*"path":"/tmp/tcltest/unlisted"' &&
	pass "deny event for unlisted binary" || fail "deny event for unlisted binary"
line=$(grep '"verdict":"deny".*"path":"/tmp/tcltest/unlisted"' $T/events.jsonl | head -1)
ok=1
for k in ts type verdict reason pid ppid uid comm path sha256 cgroup_id hook; do
	echo "$line" | grep -q "\"$k\":" || { ok=0; echo "    missing key $k"; }
done
[ $ok = 1 ] && pass "deny event has every required key" || fail "deny event has every required key: $line"
want=$(sha256sum $T/unlisted | cut -c1-64)
echo "$line" | grep -q "\"sha256\":\"$want\"" && pass "deny event carries the file's sha256" ||
	fail "deny event carries the file's sha256"
echo "$line" | grep -q '"hook":"bprm_check_security"' && echo "$line" | grep -q '"reason":"not_allowed"' &&
	pass "deny event names hook and reason" || fail "deny event names hook and reason"

out=$(incg tcltest $T/bad.sh 2>&1)
echo "$out" | grep -q 'bad-script-ran' && fail "unlisted #! script is denied" || pass "unlisted #! script is denied"

section "cache invalidation"
check "mutable file with allowed content runs" incg tcltest $T/mutable
check "it runs again (cached)" incg tcltest $T/mutable
hits=$(counter cache_hits)
[ "${hits:-0}" -gt 0 ] && pass "digest cache is used (hits=$hits)" || fail "digest cache is used"
ino1=$(stat -c %i $T/mutable)
# A file just run in scope cannot be opened for writing for a second (ETXTBSY): wait it out.
sleep 1.5
cat $T/unlisted >$T/mutable
ino2=$(stat -c %i $T/mutable)
[ "$ino1" = "$ino2" ] || fail "rewrite kept the inode"
cmp -s $T/unlisted $T/mutable || fail "the rewrite of the mutable file went through"
out=$(incg tcltest $T/mutable 2>&1)
echo "$out" | grep -q 'ran' && fail "rewritten allowed file (same inode) is denied" ||
	pass "rewritten allowed file (same inode) is denied"
# A truncate-and-rewrite through an fd opened before the cache entry existed.
cp /usr/bin/true $T/mutable2
check "second mutable file runs" incg tcltest $T/mutable2
sleep 1.5
( exec 3<>$T/mutable2; sleep 0.2; cat $T/unlisted >&3 ) &
wait $!
# (no truncate: the unlisted bytes overwrite the start of the file)
cmp -s -n "$(stat -c %s $T/unlisted)" $T/unlisted $T/mutable2 ||
	fail "the rewrite through the earlier fd went through"
out=$(incg tcltest $T/mutable2 2>&1)
echo "$out" | grep -q 'ran' && fail "content written through an earlier fd is denied" ||
	pass "content written through an earlier fd is denied"

section "bypass attempts"
out=$(incg tcltest env LD_PRELOAD=$T/unlisted.so $T/allowed/true 2>&1)
# env itself is not allowed: use busybox env (allowed) instead.
out=$(incg tcltest $T/allowed/busybox env LD_PRELOAD=$T/unlisted.so $T/allowed/true 2>&1)
echo "$out" | grep -q PRELOAD-CODE-RAN && fail "LD_PRELOAD of unlisted .so does not run ($out)" ||
	pass "LD_PRELOAD of unlisted .so does not run"
wait_for $T/events.jsonl '"type":"mmap".*"path":"/tmp/tcltest/unlisted.so"' &&
	pass "LD_PRELOAD denial is an mmap event" || fail "LD_PRELOAD denial is an mmap event"
out=$(incg tcltest $T/allowed/$(basename $LDSO) $T/unlisted 2>&1)
echo "$out" | grep -q 'hello ran' && fail "ld.so ./unlisted fails ($out)" || pass "ld.so ./unlisted fails"
out=$(incg tcltest $T/allowed/memfd_exec fexecve $T/unlisted 2>&1)
echo "$out" | grep -q 'exec failed: Operation not permitted' && pass "memfd fexecve of unlisted content fails" ||
	fail "memfd fexecve of unlisted content fails ($out)"
out=$(incg tcltest $T/allowed/memfd_exec proc $T/unlisted 2>&1)
echo "$out" | grep -q 'exec failed: Operation not permitted' && pass "exec through /proc/self/fd/N fails" ||
	fail "exec through /proc/self/fd/N fails ($out)"
# A memfd (shmem, no link) that is not sealed against writes can change under the check: denied
# whatever it holds, reason unsealed. Sealed with F_SEAL_WRITE it is checked like a file.
out=$(incg tcltest $T/allowed/memfd_exec fexecve $T/allowed/true 2>&1); rc=$?
[ $rc -eq 126 ] && echo "$out" | grep -q 'exec failed: Operation not permitted' &&
	pass "memfd fexecve of allowed content, unsealed: EPERM" ||
	fail "memfd fexecve of allowed content, unsealed: EPERM ($rc: $out)"
wait_for $T/events.jsonl '"verdict":"deny","reason":"unsealed".*"path":"[^"]*memfd:payload' &&
	pass "... reported with reason unsealed" || fail "... reported with reason unsealed"
ok=1
for m in proc execveat; do
	out=$(incg tcltest $T/allowed/memfd_exec $m $T/allowed/true 2>&1)
	echo "$out" | grep -q 'exec failed: Operation not permitted' || { ok=0; echo "    $m: $out"; }
done
[ $ok = 1 ] && pass "unsealed memfd of allowed content by /proc/self/fd/N and execveat: EPERM" ||
	fail "unsealed memfd of allowed content by /proc/self/fd/N and execveat: EPERM"
out=$(incg tcltest $T/allowed/memfd_exec mmap $T/allowed/true 2>&1)
[ "$out" = "mmap failed: Operation not permitted" ] &&
	pass "mmap PROT_EXEC of an unsealed memfd of allowed content: EPERM" ||
	fail "mmap PROT_EXEC of an unsealed memfd of allowed content: EPERM ($out)"
ok=1
for m in fexecve-sealed proc-sealed execveat-sealed; do
	out=$(incg tcltest $T/allowed/memfd_exec $m $T/allowed/true 2>&1) || { ok=0; echo "    $m: $out"; }
done
[ $ok = 1 ] && pass "memfd sealed with F_SEAL_WRITE, allowed content: runs (fexecve, /proc, execveat)" ||
	fail "memfd sealed with F_SEAL_WRITE, allowed content: runs (fexecve, /proc, execveat)"
out=$(incg tcltest $T/allowed/memfd_exec mmap-sealed $T/allowed/true 2>&1)
[ "$out" = "mmap ok" ] && pass "mmap PROT_EXEC of a sealed memfd of allowed content works" ||
	fail "mmap PROT_EXEC of a sealed memfd of allowed content works ($out)"
out=$(incg tcltest $T/allowed/memfd_exec fexecve-sealed $T/unlisted 2>&1)
echo "$out" | grep -q 'exec failed: Operation not permitted' && ! echo "$out" | grep -q 'hello ran' &&
	pass "sealed memfd of unlisted content: EPERM" ||
	fail "sealed memfd of unlisted content: EPERM ($out)"
wait_for $T/events.jsonl '"verdict":"deny","reason":"not_allowed".*"path":"[^"]*memfd:sealed-payload' &&
	pass "... reported with reason not_allowed" || fail "... reported with reason not_allowed"
out=$(incg tcltest $T/allowed/memfd_exec fexecve-future $T/allowed/true 2>&1); rc=$?
[ $rc -eq 126 ] && echo "$out" | grep -q 'exec failed: Operation not permitted' &&
	pass "F_SEAL_FUTURE_WRITE alone (a writable mapping outlives it): EPERM" ||
	fail "F_SEAL_FUTURE_WRITE alone (a writable mapping outlives it): EPERM ($rc: $out)"
# F_SEAL_WRITE does not stop ftruncate (that takes F_SEAL_SHRINK/F_SEAL_GROW): changed content.
out=$(incg tcltest $T/allowed/memfd_exec sealed-truncate $T/allowed/true 2>&1)
echo "$out" | grep -qx 'exec1 status 0' && echo "$out" | grep -qx truncated &&
	echo "$out" | grep -qx 'exec2 failed: Operation not permitted' &&
	pass "sealed memfd (F_SEAL_WRITE only) run, then shrunk by ftruncate: EPERM" ||
	fail "sealed memfd (F_SEAL_WRITE only) run, then shrunk by ftruncate: EPERM ($out)"
out=$(incg tcltest $T/allowed/mprotect_exec $T/unlisted.so 2>&1)
echo "$out" | grep -q 'mprotect denied' && pass "mprotect PROT_EXEC on an unlisted file fails" ||
	fail "mprotect PROT_EXEC on an unlisted file fails ($out)"

section "outside the scope"
out=$($T/unlisted 2>&1)
[ "$out" = "hello ran" ] && pass "processes outside the scope are never denied" ||
	fail "processes outside the scope are never denied ($out)"
out=$(LD_PRELOAD=$T/unlisted.so /usr/bin/true 2>&1)
echo "$out" | grep -q PRELOAD-CODE-RAN && pass "LD_PRELOAD outside the scope works" ||
	fail "LD_PRELOAD outside the scope works"

section "burst of 1000 denials"
before_d=$(counter denials); before_e=$(counter events); before_x=$(counter drops)
lines_before=$(grep -c '"verdict":"deny"' $T/events.jsonl)
allows_before=$(grep -c '"verdict":"allow"' $T/events.jsonl)
drops_before=$(grep '"type":"drop"' $T/events.jsonl | sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
out=$(incg tcltest $T/allowed/exec_burst 1000 $T/unlisted)
echo "$out" | grep -q '^1000 EPERM of 1000' && pass "1000 execs denied" || fail "1000 execs denied ($out)"
sleep 2
d=$(( $(counter denials) - before_d )); x=$(( $(counter drops) - before_x ))
# The kernel's event counter also counts the allow record of exec_burst's own first exec.
e=$(( $(counter events) - before_e - ($(grep -c '"verdict":"allow"' $T/events.jsonl) - allows_before) ))
[ $d -eq 1000 ] && pass "1000 denials counted" || fail "1000 denials counted (got $d)"
[ $((e + x)) -eq $d ] && pass "kernel: events + drops = denials ($e + $x = $d)" ||
	fail "kernel: events + drops = denials ($e + $x != $d)"
lines=$(( $(grep -c '"verdict":"deny"' $T/events.jsonl) - lines_before ))
drops=$(( $(grep '"type":"drop"' $T/events.jsonl | sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}') - drops_before ))
[ $((lines + drops)) -eq 1000 ] && pass "stream: deny records + drop counts = 1000 ($lines + $drops)" ||
	fail "stream: deny records + drop counts = 1000 ($lines + $drops)"

section "tclctl events"
"$B/tclctl" events --verdict deny >$T/ev.out
grep -q '"verdict":"deny"' $T/ev.out && ! grep -q '"verdict":"allow"' $T/ev.out &&
	pass "tclctl events --verdict deny filters" || fail "tclctl events --verdict deny filters"
"$B/tclctl" events --follow --verdict deny >$T/follow.out &
fpid=$!
sleep 0.5
incg tcltest $T/unlisted >/dev/null 2>&1
wait_for $T/follow.out '"ts"' 30 && sleep 0.3
kill $fpid 2>/dev/null
n=$(grep -c '"path":"/tmp/tcltest/unlisted"' $T/follow.out)
[ "$n" -gt 0 ] && pass "tclctl events --follow streams new records" || fail "tclctl events --follow streams new records"

section "policy errors"
printf '{"version":1,\n "allow":[{"sha256":"zz"}],\n "bogus":1}\n' >$T/bad.json
out=$("$B/tcl-agent" --enforce --policy $T/bad.json --scope cgroup:/tcltest --socket /run/tcl/x.sock 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'bad.json:' && pass "malformed policy at start: exit 1 with a clear message" ||
	fail "malformed policy at start: exit 1 with a clear message ($rc: $out)"
printf '{"version":1,"allow":[{"sha256":"%s","path":"x","extra":2}]}' $(sha256sum /usr/bin/true | cut -c1-64) >$T/bad2.json
out=$("$B/tclctl" policy check $T/bad2.json 2>&1)
echo "$out" | grep -q 'unknown key "extra"' && pass "unknown key is named" || fail "unknown key is named ($out)"
cp $T/policy.json $T/policy.good
cp $T/bad.json $T/policy.json
kill -HUP $AGENT_PID
wait_for $T/events.jsonl 'policy_reload_failed' && pass "bad policy on SIGHUP is reported" ||
	fail "bad policy on SIGHUP is reported"
kill -0 $AGENT_PID && pass "agent survives a bad policy on SIGHUP" || fail "agent survives a bad policy on SIGHUP"
check "old policy still in force after bad SIGHUP" incg tcltest $T/allowed/true
cp $T/policy.good $T/policy.json

section "audit mode"
stop_agent
check "agent restarts in audit mode" start_agent --audit --policy $T/policy.json \
	--scope cgroup:/tcltest --events $T/events.jsonl
out=$(incg tcltest $T/unlisted 2>&1)
[ "$out" = "hello ran" ] && pass "audit mode lets an unlisted binary run" || fail "audit mode lets an unlisted binary run ($out)"
wait_for $T/events.jsonl '"verdict":"audit".*"path":"/tmp/tcltest/unlisted"' &&
	pass "audit mode emits the record with verdict audit" || fail "audit mode emits the record with verdict audit"
line=$(grep '"verdict":"audit".*"path":"/tmp/tcltest/unlisted"' $T/events.jsonl | tail -1)
echo "$line" | grep -q '"reason":"not_allowed"' && pass "audit record carries the reason" || fail "audit record carries the reason"

section "pinning: kill -9 leaves enforcement in force"
stop_agent
check "agent restarts in enforce mode" start_agent --enforce --policy $T/policy.json \
	--scope cgroup:/tcltest --events $T/events.jsonl
kill -9 $AGENT_PID; wait $AGENT_PID 2>/dev/null; AGENT_PID=
out=$(incg tcltest $T/unlisted 2>&1)
echo "$out" | grep -q 'Operation not permitted' && pass "after kill -9, unlisted is still denied" ||
	fail "after kill -9, unlisted is still denied ($out)"
check "after kill -9, allowed still runs" incg tcltest $T/allowed/true
check "tclctl status exits 0 with the agent dead" "$B/tclctl" status
"$B/tclctl" status | grep -q 'agent: not running' && pass "status says the agent is not running" ||
	fail "status says the agent is not running"
check "restarted agent starts" start_agent --enforce --policy $T/policy.json \
	--scope cgroup:/tcltest --events $T/events.jsonl
grep -q 're-attached' /tmp/agent.log && pass "restarted agent reports the pinned state" ||
	fail "restarted agent reports the pinned state"
"$B/tclctl" status | grep -q '"reattached":true' && pass "status shows the re-attach" || fail "status shows the re-attach"
stop_agent

section "unload"
out=$("$B/tclctl" unload 2>&1); rc=$?
[ $rc -eq 2 ] && pass "unload without --yes refuses" || fail "unload without --yes refuses"
check "unload --yes" "$B/tclctl" unload --yes
"$B/tclctl" status >/dev/null 2>&1 && fail "status exits non-zero after unload" || pass "status exits non-zero after unload"
out=$(incg tcltest $T/unlisted 2>&1)
[ "$out" = "hello ran" ] && pass "nothing enforced after unload" || fail "nothing enforced after unload ($out)"
exit 0
