#!/bin/sh
# The tcl demo, run inside the test guest by `make demo`: the agent in enforce mode with scope
# "containers", one container whose image has a golden set and one whose image has none, and
# the event stream.
set -u
TOP=$(pwd)
. "$TOP/tests/guest/lib.sh"
T=/tmp/demo
rm -rf $T; mkdir -p $T
EVENTS=$T/events.jsonl
say() { printf '\n\033[1m>>> %s\033[0m\n' "$*"; }

GOOD=$(printf '1%.0s' $(seq 64)); BAD=$(printf '2%.0s' $(seq 64))
UID1=0c0ffee0-0000-4000-8000-000000000001; UID2=0c0ffee0-0000-4000-8000-000000000002
make_bundle $T/good demo.local/shop:1.0 \
	"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$(echo $UID1 | tr - _).slice/cri-containerd-$GOOD.scope" \
	$GOOD shop-7d9f shop-uid default shop $F/tool-a
make_bundle $T/bad demo.local/unknown:latest "/kubepods/besteffort/pod$UID2/$BAD" \
	$BAD rogue-1 rogue-uid default rogue $F/tool-b
for b in good bad; do
	python3 - $T/$b/config.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["args"] = ["/bin/sh", "-c", "echo hello from $(hostname); /bin/tool-a 2>/dev/null || /bin/tool-b"]
json.dump(c, open(sys.argv[1], "w"))
PY
done

say "Golden set of image demo.local/shop:1.0: every executable in its root file system"
"$B/tclctl" policy generate --dir $T/good/rootfs -o $T/shop.json
python3 - $T/shop.json $T/policy.json <<'PY'
import json, sys
shop = json.load(open(sys.argv[1]))
json.dump({"version": 1, "allow": [], "images": {"demo.local/shop:1.0": {"allow": shop["allow"]}}},
          open(sys.argv[2], "w"), indent=1)
PY
cat $T/policy.json

say "tcl-agent --enforce --scope containers --policy policy.json"
start_agent --enforce --scope containers --policy $T/policy.json --events $EVENTS ||
	{ echo "agent failed to start"; cat /tmp/agent.log; exit 1; }
"$B/tclctl" status

say "Container 'shop' (image with a golden set): runc run"
runc run --bundle $T/good $GOOD </dev/null; echo "exit status: $?"

say "Container 'rogue' (image without a golden set): runc run"
runc run --bundle $T/bad $BAD </dev/null; echo "exit status: $? (its entrypoint was refused)"

say "Inside 'shop', a binary that is not in its image: denied"
runc run -d --bundle $T/good $GOOD-x >/dev/null 2>&1 </dev/null || true
cp $F/tool-b $T/good/rootfs/tmp/dropped
runc exec $GOOD-x /tmp/dropped; echo "exit status: $?"
runc delete -f $GOOD-x >/dev/null 2>&1
sleep 1.5

say "The event stream (tclctl events)"
"$B/tclctl" events | grep -v '"type":"agent"'

say "Denials only (tclctl events --verdict deny)"
"$B/tclctl" events --verdict deny
"$B/tclctl" status | grep counters
stop_agent
"$B/tclctl" unload --yes
