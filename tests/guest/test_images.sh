#!/bin/sh
# Golden values in image storage and image verification before a container starts:
# a real registry on 127.0.0.1, signed golden manifests, tcl-hook wired into config.json.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclimg
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
set -- $(registry_start $T/reg)
PORT=$1 REGPID=$2
REG=http://127.0.0.1:$PORT
[ -n "$PORT" ] && pass "registry on 127.0.0.1:$PORT" || { fail "registry starts"; exit 0; }
"$B/tclctl" golden keygen -o $T/trusted >/dev/null 2>&1
"$B/tclctl" golden keygen -o $T/rogue >/dev/null 2>&1

# Image 1: busybox + tool-a.  Image 2: busybox + tool-b.  Image 3: image 1 with tool-a changed
# after signing.  Image 4: unsigned.  Image 5: signed by an untrusted key.
for i in 1 2 3 4 5 6; do mkdir -p $T/root$i/bin $T/root$i/tmp $T/root$i/proc $T/root$i/dev; cp /bin/busybox $T/root$i/bin/; ln -s busybox $T/root$i/bin/sh; done
cp $F/tool-a $T/root1/bin/; cp $F/tool-b $T/root2/bin/; cp $F/tool-a $T/root3/bin/
cp $F/tool-c $T/root4/bin/; cp $F/tool-c $T/root5/bin/; cp $F/tool-c $T/root6/bin/
D1=$(publish $T/root1 shop 1.0 $T/trusted.key)
D2=$(publish $T/root2 cart 2.0 $T/trusted.key)
D4=$(publish $T/root4 unsigned 1.0 "")
D5=$(publish $T/root5 rogue 1.0 $T/rogue.key)
[ -n "$D1" ] && [ -n "$D2" ] && [ -n "$D4" ] && [ -n "$D5" ] && pass "images and golden manifests pushed" ||
	fail "images and golden manifests pushed ($D1 $D2 $D4 $D5)"
# Image 3: the content of image 1 with one binary changed, and image 1's signed golden manifest
# copied beside it (the attacker cannot sign a new one).
cp $F/tool-c $T/root3/bin/tool-a
D3=$(publish $T/root3 shop 1.1 "")
"$B/tclctl" golden push --registry $REG shop@$D3 --manifest $T/img-shop-1.0/golden.json \
	--sig $T/img-shop-1.0/golden.json.sig >/dev/null 2>&1
curl -s $REG/v2/shop/tags/list | grep -q "sha256-${D1#sha256:}.tcl" &&
	pass "golden manifest stored beside the image (tag sha256-<hex>.tcl)" || fail "golden manifest tag"

out=$("$B/tclctl" image verify --registry $REG --trust-key $T/trusted.pub --cache $T/cli-cache \
	127.0.0.1:$PORT/shop@$D1 2>&1)
echo "$out" | grep -q '^verified' && pass "tclctl image verify: verified" || fail "tclctl image verify: verified ($out)"
out=$("$B/tclctl" image verify --registry $REG --trust-key $T/trusted.pub --cache $T/cli-cache \
	127.0.0.1:$PORT/rogue@$D5 2>&1)
echo "$out" | grep -q '^NOT verified: .*not signed by a trusted key' &&
	pass "tclctl image verify: untrusted key is NOT verified" || fail "tclctl image verify: untrusted ($out)"

check "agent starts with --registry and --trust-key" start_agent --enforce --scope containers \
	--registry $REG --trust-key $T/trusted.pub --golden-cache $T/cache --events $EVENTS

n=0
run_image() { # ROOTFS IMAGE DIGEST CMD -> runc run output; sets RC
	n=$((n + 1)); id=$(printf "%064d" $n)
	make_bundle $T/b$n "$2" "/kubepods/besteffort/pod00000000-0000-0000-0000-00000000000$((n % 10))/$id" \
		$id pod-$n 00000000-0000-0000-0000-00000000000$((n % 10)) default c$n
	rm -rf $T/b$n/rootfs; cp -a "$1" $T/b$n/rootfs
	hook_bundle $T/b$n "$3" "$4"
	OUT=$(runc run --bundle $T/b$n $id 2>&1 </dev/null); RC=$?
	runc delete -f $id >/dev/null 2>&1
	LAST_ID=$id
}

section "verified images start and run their entrypoints"
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a && touch /tmp/ran"
[ $RC -eq 0 ] && echo "$OUT" | grep -q 'tool-a ran' && pass "image shop:1.0 verified and ran" ||
	fail "image shop:1.0 verified and ran ($RC: $OUT)"
grep "\"type\":\"image_verify\".*\"verdict\":\"allow\"" $EVENTS | grep -q "$D1" &&
	pass "image_verify event (allow) with the digest" || fail "image_verify event (allow) with the digest"
run_image $T/root2 127.0.0.1:$PORT/cart:2.0 $D2 "/bin/tool-b"
[ $RC -eq 0 ] && echo "$OUT" | grep -q 'tool-b ran' && pass "image cart:2.0 verified and ran" ||
	fail "image cart:2.0 verified and ran ($RC: $OUT)"
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 "" "/bin/tool-a"
[ $RC -eq 0 ] && grep "image_verify" $EVENTS | tail -1 | grep -q 'resolved from the tag' &&
	pass "a name-only image is resolved in the registry, and that is recorded" ||
	fail "a name-only image is resolved in the registry ($RC: $OUT)"

section "inside a verified container"
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "cp /bin/tool-a /tmp/x; /tmp/x; echo; cat /proc/self/status >/dev/null; /bin/busybox cp /proc/self/exe /tmp/y 2>/dev/null; echo '#!/bin/sh' > /tmp/s.sh; chmod +x /tmp/s.sh; /tmp/s.sh && echo script-ran"
echo "$OUT" | grep -q 'tool-a ran' && pass "a copy of an image binary runs" || fail "a copy of an image binary runs ($OUT)"
echo "$OUT" | grep -q 'script-ran' && fail "a file dropped in at run time is denied ($OUT)" ||
	pass "a file dropped in at run time is denied"
grep "\"verdict\":\"deny\".*\"container_id\":\"$LAST_ID\"" $EVENTS | grep -q '/tmp/s.sh' &&
	pass "the denial names the container and the file" || fail "the denial names the container and the file"

section "NOT verified: the container never runs"
run_image $T/root3 127.0.0.1:$PORT/shop:1.1 $D3 "/bin/tool-a; touch /tmp/ran"
[ $RC -ne 0 ] && echo "$OUT" | grep -q 'NOT verified' && pass "image with a binary changed after signing: NOT verified" ||
	fail "image with a binary changed after signing: NOT verified ($RC: $OUT)"
echo "$OUT" | grep -q 'golden manifest is for' && pass "... because the golden manifest is another image's" ||
	fail "... reason names the digest mismatch ($OUT)"
[ ! -e $T/b$n/rootfs/tmp/ran ] && ! grep -q "\"container_id\":\"$LAST_ID\".*\"path\":\"/bin/" $EVENTS &&
	pass "nothing of the refused image ran" || fail "nothing of the refused image ran"
run_image $T/root4 127.0.0.1:$PORT/unsigned:1.0 $D4 "touch /tmp/ran"
[ $RC -ne 0 ] && echo "$OUT" | grep -q 'NOT verified: .*no golden manifest' && pass "unsigned image: NOT verified" ||
	fail "unsigned image: NOT verified ($RC: $OUT)"
run_image $T/root5 127.0.0.1:$PORT/rogue:1.0 $D5 "touch /tmp/ran"
[ $RC -ne 0 ] && echo "$OUT" | grep -q 'NOT verified: .*not signed by a trusted key' &&
	pass "image signed by an untrusted key: NOT verified" || fail "untrusted key: NOT verified ($RC: $OUT)"
grep -q '"type":"image_verify","verdict":"deny","reason":"not_verified"' $EVENTS &&
	pass "refusals are image_verify events" || fail "refusals are image_verify events"

section "registry down"
kill $REGPID; sleep 0.5
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a"
[ $RC -eq 0 ] && pass "a verified image still starts from the cache" || fail "verified image from the cache ($OUT)"
D6=sha256:$(printf '6%.0s' $(seq 64))
run_image $T/root6 127.0.0.1:$PORT/new:1.0 $D6 "touch /tmp/ran"
[ $RC -ne 0 ] && echo "$OUT" | grep -q 'NOT verified' && pass "registry down: a new image fails closed" ||
	fail "registry down: a new image fails closed ($RC: $OUT)"
echo "$OUT" | grep -qi 'connect' && pass "... with a clear reason" || fail "... with a clear reason ($OUT)"

section "agent unreachable"
stop_agent
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "touch /tmp/ran"
[ $RC -ne 0 ] && echo "$OUT" | grep -q 'NOT verified: tcl-agent unreachable' &&
	pass "agent down, enforce mode: the hook fails closed" || fail "agent down: hook fails closed ($RC: $OUT)"
check "agent restarts in audit mode" start_agent --audit --scope containers \
	--registry $REG --trust-key $T/trusted.pub --golden-cache $T/cache --events $EVENTS
stop_agent
run_image $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 "/bin/tool-a"
[ $RC -eq 0 ] && pass "agent down, audit mode: the hook warns and allows" || fail "agent down, audit: allows ($RC: $OUT)"
exit 0
