#!/bin/sh
# The tcl demo, run inside the test guest by `make demo`: a registry on 127.0.0.1 holding two
# images and a signed golden manifest, tcl-agent in enforce mode, a verified and an unverified
# container started by runc with tcl-hook as their createRuntime hook, and the event stream.
set -u
TOP=$(pwd)
. "$TOP/tests/guest/lib.sh"
T=/tmp/demo
for f in "$B/tcl-agent" "$B/tclctl" "$B/tcl-hook" "$F/tool-a" "$F/tool-b"; do
	[ -x "$f" ] || { echo "demo: $f missing: run make all fixtures (make demo does)" >&2; exit 2; }
done
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
say() { printf '\n\033[1m>>> %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

say "Image storage: docker-registry on 127.0.0.1"
set -- $(registry_start $T/reg)
PORT=$1 REG=http://127.0.0.1:$1
echo "registry at $REG"
run "$B/tclctl" golden keygen -o $T/release

say "Image shop:1.0 (busybox + tool-a), with its golden manifest signed by the release key"
for i in 1 2; do mkdir -p $T/root$i/bin $T/root$i/tmp $T/root$i/proc $T/root$i/dev; cp /bin/busybox $T/root$i/bin/; ln -s busybox $T/root$i/bin/sh; cp $F/tool-a $T/root$i/bin/; done
D1=$(publish $T/root1 shop 1.0 $T/release.key)
echo "pushed shop@$D1 and its golden manifest:"
python3 -m json.tool $T/img-shop-1.0/golden.json
say "Image shop:1.1: shop:1.0 with /bin/tool-a replaced after signing, golden manifest copied"
cp $F/tool-b $T/root2/bin/tool-a
D2=$(publish $T/root2 shop 1.1 "")
"$B/tclctl" golden push --registry $REG shop@$D2 --manifest $T/img-shop-1.0/golden.json \
	--sig $T/img-shop-1.0/golden.json.sig >/dev/null 2>&1
echo "pushed shop@$D2"

say "tcl-agent --enforce --scope containers --registry $REG --trust-key release.pub"
start_agent --enforce --scope containers --registry $REG --trust-key $T/release.pub \
	--golden-cache $T/cache --events $EVENTS || { echo "agent failed to start"; cat /tmp/agent.log; exit 1; }
run "$B/tclctl" status

npod=0
container() { # NAME ROOTFS IMAGE DIGEST CMD
	npod=$((npod + 1)); id=$(printf "%064x" $((0xdec0 + npod)))
	make_bundle $T/$1 "$3" "/kubepods/besteffort/pod0000000$npod-0000-4000-8000-000000000000/$id" \
		$id $1-pod 0000000$npod-0000-4000-8000-000000000000 default $1
	rm -rf $T/$1/rootfs; cp -a $2 $T/$1/rootfs
	hook_bundle $T/$1 "$4" "$5"
	run runc run --bundle $T/$1 $id </dev/null
	echo "exit status: $?"
	runc delete -f $id >/dev/null 2>&1
}

say "Container 'shop' from the verified image: it starts, runs its own binary, a dropped-in one is denied"
container shop $T/root1 127.0.0.1:$PORT/shop:1.0 $D1 \
	"/bin/tool-a; cp /bin/busybox /tmp/bb; echo 'echo dropped-in ran' > /tmp/x.sh; chmod +x /tmp/x.sh; /tmp/x.sh || echo 'dropped-in script: denied'"

say "Container 'tampered' from shop:1.1: NOT verified, runc create fails, nothing of it runs"
container tampered $T/root2 127.0.0.1:$PORT/shop:1.1 $D2 "/bin/tool-a"
sleep 1.5

say "The event stream: tclctl events (runtime measurements left out for brevity)"
"$B/tclctl" events | grep -v '"comm":"runc' | grep -v '"type":"agent"'
say "Only what was refused: tclctl events --verdict deny"
"$B/tclctl" events --verdict deny
"$B/tclctl" status | grep counters
stop_agent
"$B/tclctl" unload --yes
bash -c '. "$0/tests/service/registry.sh"; reg_stop "$1"' "$TOP" $T/reg
