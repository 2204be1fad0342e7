#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tclctl golden learn against a real Debian docker-registry on 127.0.0.1: a signed image, audit
# records of its containers (an --events file, and the same records from a stand-in for the
# agent's socket, tests/host/live/fakeagent.py), the proposal and its report, the refusals
# (no golden manifest, another signer, nothing to learn, --key, bad --since), and the
# proposal signed, pushed and pulled back with the existing commands.  The end-to-end run with
# a real agent and containers is tests/guest/test_learn.sh.
# env: O (build directory, default build).  Prints "N passed, N failed"; exit 1 on a failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
O=${O:-build}
CTL=$ROOT/$O/tclctl
. "$HERE/registry.sh"
T=$(mktemp -d /tmp/tcl-learn.XXXXXX)
FAKE=
cleanup() {
	reg_stop "$T/reg"
	[ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$HERE/expect.sh"

reg_start "$T/reg" >/dev/null || { echo "registry did not start"; exit 1; }
REG=$REG_URL
H=${REG#http://}
"$CTL" golden keygen -o $T/trusted >/dev/null 2>&1
"$CTL" golden keygen -o $T/rogue >/dev/null 2>&1
mkdir -p $T/root/bin $T/root2/bin
printf '#!/bin/sh\necho tool\n' >$T/root/bin/tool; chmod 755 $T/root/bin/tool
cp $T/root/bin/tool $T/root2/bin/tool
publish() { # ROOT NAME KEY -> digest
	/usr/bin/python3 "$ROOT/tests/mkoci.py" rootfs $1 $T/$2.oci 1.0 >/dev/null &&
	d=$("$CTL" image push --oci $T/$2.oci:1.0 --registry $REG $2:1.0 2>/dev/null) || return 1
	d=${d#*@}
	if [ -n "$3" ]; then
		"$CTL" golden generate --oci $T/$2.oci:1.0 --ref $H/$2:1.0 -o $T/$2.golden.json 2>/dev/null &&
		"$CTL" golden sign --key $3 $T/$2.golden.json 2>/dev/null &&
		"$CTL" golden push --registry $REG $2@$d --manifest $T/$2.golden.json \
			--sig $T/$2.golden.json.sig >/dev/null 2>&1 || return 1
	fi
	echo $d
}
D=$(publish $T/root shop $T/trusted.key)
D2=$(publish $T/root2 bare "")
[ -n "$D" ] && [ -n "$D2" ] && ok "images pushed, one with a signed golden manifest" || bad "images pushed"
TOOL=$(sha256sum $T/root/bin/tool | cut -c1-64)
GEN=$(printf 'generated' | sha256sum | cut -c1-64)
CACHE=$(printf 'cache-1' | sha256sum | cut -c1-64)
CACHE2=$(printf 'cache-2' | sha256sum | cut -c1-64)
now() { date -u -d "$1" +%Y-%m-%dT%H:%M:%S.000000000Z; }
rec() { # TS VERDICT PATH SHA CID POD [DIGEST]
	printf '{"ts":"%s","type":"exec","verdict":"%s","reason":"not_allowed","pid":9,"ppid":1,"uid":0,"comm":"sh","path":"%s","sha256":"%s","cgroup_id":7,"container_id":"%s","pod_uid":"u","pod":"%s","namespace":"shop","container":"app","image":"%s/shop:1.0","image_digest":"%s","hook":"bprm_check_security"}\n' \
		"$1" "$2" "$3" "$4" "$5" "$6" "$H" "${7:-$D}"
}
C1=$(printf '1%.0s' $(seq 64)) C2=$(printf '2%.0s' $(seq 64))
{
	rec "$(now '-3 hours')" audit /tmp/old.sh $CACHE2 $C1 web-0	# before --since 2h
	rec "$(now '-30 min')" audit /tmp/gen.sh $GEN $C1 web-1
	rec "$(now '-20 min')" audit /tmp/gen.sh $GEN $C2 web-2
	rec "$(now '-10 min')" audit /tmp/gen.sh $GEN $C1 web-1
	rec "$(now '-10 min')" audit /tmp/copy $TOOL $C1 web-1		# already golden
	rec "$(now '-10 min')" deny /tmp/denied $CACHE2 $C1 web-1	# did not run
	rec "$(now '-10 min')" audit /var/cache/x $CACHE $C1 web-1	# changes between runs
	rec "$(now '-9 min')" audit /var/cache/x $CACHE2 $C2 web-2
	rec "$(now '-5 min')" audit /tmp/gen.sh $GEN $C1 web-1 sha256:$(printf '9%.0s' $(seq 64))
} >$T/events.jsonl

expect "learn --events: exit 0, the summary" 0 "1 file added to the 1 of $H/shop@$D" \
	"$CTL" golden learn --image $H/shop@$D --since 2h --events $T/events.jsonl \
	--trust-key $T/trusted.pub -o $T/proposal.json
printf '%s\n' "$OUT" >$T/report
grep -q "^+ /tmp/gen.sh$" $T/report && grep -q "^    sha256:$GEN$" $T/report &&
	grep -q "^    ran 3 times, first " $T/report &&
	grep -q "^    in shop/web-1/app (111111111111), shop/web-2/app (222222222222)$" $T/report &&
	ok "report: path, digest, count, containers" || { bad "report"; cat $T/report; }
grep -q "^! /var/cache/x$" $T/report && grep -q "not added: seen with several digests" $T/report &&
	ok "report: a path with changing content is not added, and said so" || bad "report: changing content"
! grep -q "/tmp/old.sh\|/tmp/copy\|/tmp/denied" $T/report &&
	ok "not counted: before --since, already golden, denied, another image" || bad "not counted"
echo "$ERR" | grep -q "Not signed" && [ ! -e $T/proposal.json.sig ] && ok "nothing signed" || bad "nothing signed"
want=$(/usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
m["files"]["/tmp/gen.sh"] = sys.argv[2]
sys.stdout.write(json.dumps(m, sort_keys=True, separators=(",", ":")))' $T/shop.golden.json $GEN)
[ "$(cat $T/proposal.json)" = "$want" ] && ok "proposal: the old manifest plus the file, canonical" ||
	bad "proposal: $(cat $T/proposal.json)"

/usr/bin/python3 "$ROOT/tests/host/live/fakeagent.py" $T/agent.sock $T/events.jsonl "" 0 &
FAKE=$!
for _ in $(seq 50); do [ -S $T/agent.sock ] && break; sleep 0.1; done
expect "learn from the agent's socket, a tag resolved: the same proposal" 0 "1 file added" \
	"$CTL" --socket $T/agent.sock golden learn --registry $REG --image shop:1.0 --since 2h \
	--trust-key $T/trusted.pub -o $T/proposal-sock.json
cmp -s $T/proposal.json $T/proposal-sock.json && ok "... byte for byte" || bad "... byte for byte"
expect "learn -o -: the proposal on stdout" 0 '"/tmp/gen.sh"' \
	"$CTL" --socket $T/agent.sock golden learn --registry $REG --image shop@$D --since 2h -o -
[ "$OUT" = "$(cat $T/proposal.json)" ] && echo "$ERR" | grep -q "^+ /tmp/gen.sh" &&
	echo "$ERR" | grep -q "signature is not checked" &&
	ok "... the report and a warning about the unchecked signature on stderr" || bad "... stderr"

expect "an image without a golden manifest: exit 1" 1 "has no golden manifest to learn onto" \
	"$CTL" golden learn --registry $REG --image bare@$D2 --events $T/events.jsonl -o $T/x.json
expect "a manifest signed by another key: exit 1" 1 "not signed by $T/rogue.pub" \
	"$CTL" golden learn --registry $REG --image shop@$D --events $T/events.jsonl \
	--trust-key $T/rogue.pub -o $T/x.json
expect "nothing after --since: exit 1" 1 "nothing to learn for $D" \
	"$CTL" golden learn --registry $REG --image shop@$D --events $T/events.jsonl \
	--since 2099-01-01T00:00:00Z -o $T/x.json
expect "--key is refused: learn never signs" 2 "never signs" \
	"$CTL" golden learn --registry $REG --image shop@$D --events $T/events.jsonl \
	--key $T/trusted.key -o $T/x.json
expect "a bad --since: usage error" 2 "--since wants" \
	"$CTL" golden learn --registry $REG --image shop@$D --since yesterday -o $T/x.json
expect "no -o: usage error" 2 "needs --image REF and -o FILE" \
	"$CTL" golden learn --registry $REG --image shop@$D
expect "a missing --events file: exit 1" 1 "$T/none.jsonl" \
	"$CTL" golden learn --registry $REG --image shop@$D --events $T/none.jsonl -o $T/x.json
[ ! -e $T/x.json ] && ok "no proposal written on a refusal" || bad "no proposal written on a refusal"

"$CTL" golden sign --key $T/trusted.key $T/proposal.json 2>/dev/null &&
	"$CTL" golden push --registry $REG shop@$D --manifest $T/proposal.json \
	--sig $T/proposal.json.sig >/dev/null 2>&1 &&
	"$CTL" golden pull --registry $REG shop@$D -o $T/pulled.json 2>/dev/null &&
	cmp -s $T/pulled.json $T/proposal.json &&
	"$CTL" golden verify --pub $T/trusted.pub $T/pulled.json >/dev/null 2>&1 &&
	ok "the proposal signed, pushed and pulled back (golden sign/push/pull/verify)" ||
	bad "sign, push, pull"
expect "learning again: nothing new (the script is golden now)" 1 "nothing to learn" \
	"$CTL" golden learn --registry $REG --image shop@$D --since 2h --events $T/events.jsonl \
	--trust-key $T/trusted.pub -o $T/x.json

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
