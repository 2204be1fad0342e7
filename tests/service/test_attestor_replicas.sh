#!/bin/bash
# Service test of two tcl-attestor replicas sharing one PostgreSQL (a throwaway cluster on a
# unix socket, tests/service/attestor/pg.sh), real HTTPS on 127.0.0.1 and one swtpm per
# simulated node (tests/service/attestor/nodesim): nodes spread over both replicas, what one
# replica writes decides on the other (enrolments, findings, the scheduler filter), a nonce of
# one replica accepted by the other, concurrent evidence for one node through both serialised
# by the node's row lock, one replica killed with -9 mid-evidence while the other carries on,
# then both restarted: no enrolment, finding or acknowledged offset lost.  Attestor and nodesim
# are built with ASan/UBSan.
# Prints "N passed, N failed"; exit status 1 when anything failed.
# TCL_ATTESTOR_O=DIR builds there (default: a fresh directory under the test's temp dir).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/attestor/lib.sh"
. "$HERE/attestor/pg.sh"
. "$HERE/expect.sh"

T=$(mktemp -d /tmp/tcl-replicas.XXXXXX)
B=${TCL_ATTESTOR_O:-$T/build}
declare -A PID PORT URL
HOLDER=
cleanup() {
	local r
	for r in "${!PID[@]}"; do
		[ -n "${PID[$r]}" ] && { kill -9 "${PID[$r]}" 2>/dev/null; wait "${PID[$r]}" 2>/dev/null; }
	done
	[ -n "$HOLDER" ] && { kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; }
	att_cleanup
	pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "test_attestor_replicas: $*" >&2; echo "$pass passed, $((fail + 1)) failed"; exit 1; }

CURL=(curl -s --cacert "$T/ca.crt" --cert "$T/reader.crt" --key "$T/reader.key")
get() {		# get REPLICA PATH: body in $T/get.json
	"${CURL[@]}" -o "$T/get.json" "${URL[$1]}$2"
}
check() {	# check NAME PYTHON-EXPR on d = $T/get.json
	if att_json_is "$T/get.json" "$2" 2>"$T/check.err"; then
		ok "$1"
	else
		bad "$1 ($2)"
		head -c 1500 "$T/get.json"
		echo
		cat "$T/check.err"
	fi
}
# nodes n1 n2 talk to replica a, n3 n4 to replica b
declare -A HOME_OF=([n1]=a [n2]=a [n3]=b [n4]=b)
ns() {		# ns NODE CMD...: nodesim as node-NODE through its replica
	ATT_URL=${URL[${HOME_OF[$1]}]} att_nodesim "$T" "$@"
}

# ---- build, PostgreSQL, PKI, TPMs ----
att_build "$B" san || die "build failed"
ATT_BIN=$B/tcl-attestor
NS=$B/nodesim
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
pg_start || die "PostgreSQL does not start"
att_pki "$T" || die "openssl failed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/admin-ca.key" -out "$T/admin-ca.crt" -subj /CN=tcl-admin-ca 2>/dev/null &&
	att_cert "$T" admin ops-alice admin-ca || die "openssl failed"
for n in n1 n2 n3 n4; do
	att_cert "$T" "node-$n" "node-$n" || die "openssl failed"
	mkdir -p "$T/tpm-$n"
done
att_tpm_setup "$T" n1 --no-ek-cert || die "swtpm_setup"
JOBS=()
for n in n2 n3 n4; do
	att_tpm_setup "$T" $n --no-ek-cert &
	JOBS+=($!)
done
for j in "${JOBS[@]}"; do wait "$j" || die "swtpm_setup"; done
for n in n1 n2 n3 n4; do
	att_tpm_run "$T" $n || die "swtpm for $n"
done
RUNC=$(printf 'runc binary' | sha256sum | cut -c1-64)
EVIL=$(printf 'dropped in at run time' | sha256sum | cut -c1-64)
printf '{"version":1,"allow":[{"sha256":"%s","path":"/usr/bin/runc"}]}\n' "$RUNC" >"$T/host.json"

ARGS=(--cert "$T/server.crt" --key "$T/server.key" --client-ca "$T/ca.crt"
	--host-policy "$T/host.json" --nonce-ttl 30 --stale-after 600 --admin-ca "$T/admin-ca.crt")
DB_A=(--db "postgresql:$PG_CONNINFO")		# a conninfo for one replica,
DB_B=(--db "$PG_URI")				# a URI for the other
launch() {	# launch REPLICA: on its port (a fresh one the first time), log $T/REPLICA.log
	local r=$1 i db
	[ -n "${PORT[$r]:-}" ] || PORT[$r]=$(att_free_port)
	URL[$r]=https://127.0.0.1:${PORT[$r]}
	if [ "$r" = a ]; then db=("${DB_A[@]}"); else db=("${DB_B[@]}"); fi
	"$ATT_BIN" --listen "127.0.0.1:${PORT[$r]}" --state "$T/$r-state.json" "${db[@]}" \
		"${ARGS[@]}" >>"$T/$r.log" 2>&1 &
	PID[$r]=$!
	for i in $(seq 100); do
		"${CURL[@]}" -o /dev/null "${URL[$r]}/healthz" && return 0
		kill -0 "${PID[$r]}" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$T/$r.log" >&2
	return 1
}
stop() {	# stop REPLICA: SIGTERM, its exit status
	local p=${PID[$1]}
	PID[$1]=
	kill -TERM "$p" 2>/dev/null
	wait "$p"
}

# ---- two replicas, one database ----
launch a || die "replica a does not start"
launch b || die "replica b does not start"
[ "$(pg_sql "SELECT v FROM tcl_meta WHERE k = 'schema_version'")" = 1 ] &&
	grep -q 'postgresql database: 0 enrolled nodes (shared' "$T/b.log" &&
	ok "both replicas on one PostgreSQL (conninfo and URI), schema version 1" ||
	bad "schema or start-up"

# ---- nodes spread over both ----
for n in n1 n2 n3 n4; do
	ns $n enrol >"$T/enrol-$n.out" 2>&1 || bad "enrol $n: $(cat "$T/enrol-$n.out")"
	ns $n append boot "host,/usr/bin/runc,$RUNC" >/dev/null || die "append $n"
done
get a /v1/nodes
check "replica a lists the nodes enrolled through b" \
	"sorted(n['id'] for n in d['nodes'] if n['enrolled']) == ['node-n1', 'node-n2', 'node-n3', 'node-n4']"
for n in n1 n2 n3 n4; do
	expect "node-$n attests through replica ${HOME_OF[$n]}" 0 '"verdict":"trusted"' ns $n push
done
ns n4 append "host,/tmp/evil,$EVIL" >/dev/null || die "append n4"
expect "node-n4 (replica b): a host file outside the allowlist is a finding" 0 \
	'"verdict":"untrusted"' ns n4 push
get a /v1/nodes/node-n4
check "replica a sees the finding b recorded" \
	"d['verdict'] == 'untrusted' and d['findings'][0]['name'] == '/tmp/evil'"
printf '{"Pod":{},"NodeNames":["node-n1","node-n2","node-n3","node-n4"]}' >"$T/args.json"
"${CURL[@]}" -o "$T/get.json" -H 'Content-Type: application/json' --data-binary "@$T/args.json" \
	"${URL[a]}/scheduler/filter"
check "filter on replica a: keeps n1-n3, drops n4 (untrusted on b)" \
	"d['NodeNames'] == ['node-n1', 'node-n2', 'node-n3'] and 'untrusted' in d['FailedNodes']['node-n4']"

# ---- revocations: one list, whichever replica changes it ----
revoke() {	# revoke REPLICA HEXCHAR: POST an image revocation, the answer in $T/rev-REPLICA-C.json
	curl -s --cacert "$T/ca.crt" --cert "$T/admin.crt" --key "$T/admin.key" \
		-o "$T/rev-$1-$2.json" -H 'Content-Type: application/json' --data-binary \
		"{\"kind\":\"image\",\"digest\":\"sha256:$(printf "%064d" 0 | tr 0 "$2")\",\"reason\":\"t\"}" \
		"${URL[$1]}/v1/revocations"
}
revoke a 1
ns n3 append "host,/usr/bin/runc,$RUNC" >/dev/null || die "append n3"
expect "a revocation made through a is in b's answer to evidence" 0 \
	'"revocations_version":1,"revocations":1' ns n3 push
revoke a 2 &
R1=$!
revoke b 3 &
R2=$!
wait "$R1" "$R2"
python3 - "$T" <<'PY' && ok "two revocations at once through a and b: distinct ids 2 and 3" || bad "revocation ids"
import json, sys
ids = sorted(json.load(open(sys.argv[1] + "/rev-%s.json" % f))["id"] for f in ("a-2", "b-3"))
sys.exit(0 if ids == [2, 3] else 1)
PY
get b /v1/revocations
check "... both listed by b, version 3" "d['version'] == 3 and len(d['entries']) == 3"

# ---- a nonce of one replica, the evidence to the other ----
ns n1 append "host,/usr/bin/runc,$RUNC" >/dev/null || die "append n1"
expect "nonce from replica a, evidence accepted by replica b" 0 '"what":"split".*"status":200' \
	ns n1 split "${URL[b]}"
expect "node-n1 carries on through a from where b left it" 0 '"verdict":"trusted"' ns n1 push

# ---- concurrent evidence for one node through both replicas ----
get b /v1/nodes/node-n2
ok0=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["evidence_ok"])' "$T/get.json")
ns n2 append "host,/usr/bin/runc,$RUNC" >/dev/null || die "append n2"
ns n2 race "${URL[b]}" >"$T/race.out" 2>"$T/race.err"
python3 - "$T/race.out" <<'PY' && ok "the same evidence offset through a and b at once: one accepted, one told to resend (409)" || { bad "race not serialised"; cat "$T/race.out"; }
import json, sys
r = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    r[d["what"]] = d["status"]
sys.exit(0 if sorted(r.values()) == [200, 409] and set(r) == {"race-a", "race-b"} else 1)
PY
get a /v1/nodes/node-n2
check "... evidence_ok went up by exactly one" "d['evidence_ok'] == $ok0 + 1"

# ---- replica a killed with -9 in the middle of an evidence; b carries on ----
get b /v1/nodes/node-n1
off0=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["log_offset"])' "$T/get.json")
ns n1 append "host,/usr/bin/runc,$RUNC" >/dev/null || die "append n1"
# a session that locks node-n1's next nonce as soon as it exists and holds it 8 s: replica a
# takes node-n1's row lock, then waits for that nonce
pg_sql "DELETE FROM tcl_nonces WHERE node = 'node-n1'"
pg_as "$PG_BIN/psql" -h "$PG_DIR" -U postgres -d tcl -XAtq -c "BEGIN; DO \$\$ BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM tcl_nonces WHERE node = 'node-n1') LOOP
	PERFORM pg_sleep(0.05); END LOOP; END \$\$; SELECT nonce FROM tcl_nonces WHERE
	node = 'node-n1' FOR UPDATE; SELECT pg_sleep(8); COMMIT;" >/dev/null &
HOLDER=$!
ns n1 stale 3 >"$T/killed.out" 2>&1 &	# challenge now, the evidence 3 s later
KPID=$!
waiting=0
for _ in $(seq 100); do
	waiting=$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
	[ "$waiting" -ge 1 ] && break
	sleep 0.1
done
[ "$waiting" -ge 1 ] && ok "replica a is inside node-n1's evidence transaction" ||
	bad "replica a never reached the evidence transaction"
expect "meanwhile node-n3 attests through b (a lock on one node holds no other)" 0 \
	'"verdict":"trusted"' ns n3 push
kill -9 "${PID[a]}"
wait "${PID[a]}" 2>/dev/null
PID[a]=
wait "$KPID"
wait "$HOLDER"
HOLDER=
get b /v1/nodes/node-n1
check "nothing of the killed evidence was committed (offset unchanged)" \
	"d['log_offset'] == $off0 and d['verdict'] == 'trusted'"
ns n4 append "host,/usr/bin/runc,$RUNC" >/dev/null || die "append n4"
expect "replica b carries on alone" 0 '"status":200' ns n4 push
[ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")" = 0 ] &&
	ok "the killed replica's transaction is gone (no lock left behind)" ||
	bad "a transaction of the killed replica is still open"
launch a || die "replica a does not restart"
expect "replica a back: node-n1 resends the evidence that was cut off" 0 '"verdict":"trusted"' \
	ns n1 push

# ---- both restarted: nothing lost ----
snapshot() {	# the state that must survive, from replica $1
	get "$1" /v1/nodes
	python3 - "$T/get.json" "${URL[$1]}" "${CURL[@]}" <<'PY'
import json, subprocess, sys
out = []
for n in sorted(json.load(open(sys.argv[1]))["nodes"], key=lambda n: n["id"]):
    d = json.loads(subprocess.run(sys.argv[3:] + [sys.argv[2] + "/v1/nodes/" + n["id"]],
                                  capture_output=True, check=True).stdout)
    out.append([d["id"], d["enrolled"], d["verdict"], d["log_offset"], d["evidence_ok"],
                d["ak_name"], [f["reason"] for f in d["findings"]]])
print(json.dumps(out))
PY
}
snapshot b >"$T/before.json"
stop a; ra=$?
stop b; rb=$?
[ $ra = 0 ] && [ $rb = 0 ] && ok "both replicas stop cleanly" || bad "exit status a $ra, b $rb"
launch b || die "replica b does not restart"
launch a || die "replica a does not restart"
snapshot a >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" && python3 - "$T/after.json" <<'PY' &&
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if len(d) == 4 and all(n[1] for n in d) and d[3][2] == "untrusted" and d[3][6] else 1)
PY
	ok "after restarting both: enrolments, findings, offsets, counters as before" ||
	{ bad "state changed across the restart"; diff "$T/before.json" "$T/after.json"; }
for n in n1 n2 n3; do
	ns $n append "host,/usr/bin/runc,$RUNC" >/dev/null
done
ok_all=1
for n in n1 n2 n3; do
	ns $n push >/dev/null 2>&1 || ok_all=0
done
[ $ok_all = 1 ] && ok "every node carries on after the restart without enrolling again" ||
	bad "a node could not carry on after the restart"
[ "$(grep -c 'enrolled (AK' "$T/a.log" "$T/b.log" | awk -F: '{ s += $2 } END { print s }')" = 4 ] &&
	ok "... (4 enrolments in all)" || bad "nodes enrolled again"
stop a
stop b
grep -E 'Sanitizer|runtime error' "$T/a.log" "$T/b.log" >/dev/null &&
	bad "sanitizer report in a replica's log" || ok "no sanitizer report in the replicas' logs"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
