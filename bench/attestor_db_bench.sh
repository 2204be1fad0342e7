#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark of tcl-attestor's database (issue 16 part 4), on 127.0.0.1 only, real HTTPS
# (TLS 1.3, client certificates), simulated nodes with swtpm (tests/service/attestor/nodesim):
#  A. evidence per second with ENTRIES-entry increments: NODES nodes each in a loop of ENTRIES
#     host measurements (written to the log, extended into its swtpm) and one attestation round
#     (challenge, quote, evidence) for SECONDS, against
#       1. one replica on SQLite (the default), then
#       2. two replicas sharing one PostgreSQL (a throwaway cluster on a unix socket,
#          tests/service/attestor/pg.sh), the nodes split over both.
#     Measured: evidence accepted per second (end to end, what the machine sustains with the
#     swtpm nodes on it), and the CPU the attestor(s) and PostgreSQL spent per evidence
#     (/proc), which gives the evidence per second they sustain per core of their own.
#  B. ENROLLED enrolled nodes (a state file of an older attestor with that many nodes,
#     generated, imported once), with SQLite and with PostgreSQL: the import time, the
#     attestor's RSS, and POST /scheduler/filter naming FILTER_NODES of them, FILTER_CALLS
#     calls on one keep-alive TLS connection: p50, p99 and max latency.
# Not part of `make test` (no timed tests): prints the figures, writes
# bench/results/attestor_db.json with the date and the machine.  TCL_BENCH_PARTS=B runs part B
# only and keeps part A's figures (and their date) from the results file already there.
# usage: bench/attestor_db_bench.sh [NODES (16)] [SECONDS (30)] [ENTRIES (100)]
#                                   [ENROLLED (10000)] [FILTER_NODES (5000)] [FILTER_CALLS (200)]
# Needs what tests/service/test_attestor_replicas.sh needs (swtpm, postgresql, openssl).
set -u
case ${1:-} in
-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
cd "$(dirname "$0")/.." || exit 1
NODES=${1:-16}
SECONDS_=${2:-30}
ENTRIES=${3:-100}
ENROLLED=${4:-10000}
FILTER_NODES=${5:-5000}
FILTER_CALLS=${6:-200}
PARTS=${TCL_BENCH_PARTS:-AB}
PY=/usr/bin/python3
. tests/service/attestor/lib.sh
. tests/service/attestor/pg.sh
T=$(mktemp -d /tmp/tcl-bench-db.XXXXXX)
B=${TCL_ATTESTOR_O:-$T/build}
declare -A PID PORT URL
LOOPS=()
cleanup() {
	local p
	for p in "${LOOPS[@]}" "${PID[@]}"; do
		[ -n "$p" ] && { kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
	done
	att_cleanup
	pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "attestor_db_bench.sh: $*" >&2; exit 1; }

att_build "$B" || die "build failed"
ATT_BIN=$B/tcl-attestor
NS=$B/nodesim
att_pki "$T" || die "openssl failed"
CURL=(curl -s --cacert "$T/ca.crt" --cert "$T/reader.crt" --key "$T/reader.key")
ARGS=(--cert "$T/server.crt" --key "$T/server.key" --client-ca "$T/ca.crt" --nonce-ttl 60
	--stale-after 3600 --max-nodes 100000 -q)

launch() {	# launch NAME ARGS...: a replica on a fresh port, log $T/NAME.log
	local r=$1 i
	shift
	PORT[$r]=$(att_free_port)
	URL[$r]=https://127.0.0.1:${PORT[$r]}
	"$ATT_BIN" --listen "127.0.0.1:${PORT[$r]}" "$@" >>"$T/$r.log" 2>&1 &
	PID[$r]=$!
	for i in $(seq 3000); do
		"${CURL[@]}" -o /dev/null "${URL[$r]}/healthz" && return 0
		kill -0 "${PID[$r]}" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$T/$r.log" >&2
	return 1
}
stop() {
	kill "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	PID[$1]=
}
metric() {	# metric REPLICA NAME-WITH-LABELS
	"${CURL[@]}" "${URL[$1]}/metrics" | awk -v k="$2" '$1 == k { print $2 }'
}
evidence_count() {	# the sum over the replicas given
	local r s=0 v
	for r in "$@"; do
		v=$(metric "$r" tcl_attestor_evidence_accepted_total)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
cpu_ms() {	# CPU (user + system) of PIDs, in ms
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo $((t * 1000 / $(getconf CLK_TCK)))
}
pg_pids() {	# the PostgreSQL server's processes
	local pm
	pm=$(head -1 "$PG_DIR/data/postmaster.pid")
	echo "$pm"
	awk -v pm="$pm" '$4 == pm { print $1 }' /proc/[0-9]*/stat 2>/dev/null
}
rss_kb() {	# VmRSS VmHWM of PID
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r, h }' "/proc/$1/status"
}
ns() {		# ns NODE REPLICA CMD...
	local n=$1 r=$2
	shift 2
	"$NS" --tpm "${TCTI[$n]}" --url "${URL[$r]}" --cert "$T/node-$n.crt" \
		--key "$T/node-$n.key" --ca "$T/ca.crt" --dir "$T/n-$n" --attempts 5 \
		--retry-ms 100 "$@"
}

# ---- A. evidence per second ----
if [[ $PARTS == *A* ]]; then
echo "A: $NODES swtpm nodes..."
for i in $(seq "$NODES"); do
	att_cert "$T" "node-n$i" "node-n$i" || die "openssl"
done
att_tpm_setup "$T" n1 --no-ek-cert || die "swtpm_setup"
JOBS=()
for i in $(seq 2 "$NODES"); do
	att_tpm_setup "$T" "n$i" --no-ek-cert &
	JOBS+=($!)
	if [ ${#JOBS[@]} -ge 4 ]; then wait "${JOBS[@]}"; JOBS=(); fi
done
[ ${#JOBS[@]} -gt 0 ] && wait "${JOBS[@]}"
for i in $(seq "$NODES"); do
	att_tpm_run "$T" "n$i" || die "swtpm n$i"
	URL[none]=https://127.0.0.1:1
	ns "n$i" none append boot >/dev/null || die "append n$i"
done

# run_load REPLICAS...: every node enrols with its replica (round robin; a node that was
# enrolled elsewhere enrols again and sends its log from the start), one warm-up round,
# then SECONDS of rounds; sets RATE, CPU_MS (attestors + database per evidence), DB_MS
run_load() {
	local reps=("$@") i r c0 c1 a0 a1 d0=0 d1=0 ok fail
	for i in $(seq "$NODES"); do
		r=${reps[$(( (i - 1) % ${#reps[@]} ))]}
		ns "n$i" "$r" enrol >"$T/enrol-n$i.out" 2>&1 || die "enrol n$i: $(cat "$T/enrol-n$i.out")"
		ns "n$i" "$r" push >/dev/null || die "warm-up push n$i"
	done
	local pids=()
	for r in "${reps[@]}"; do pids+=("${PID[$r]}"); done
	c0=$(evidence_count "${reps[@]}")
	a0=$(cpu_ms "${pids[@]}")
	[ -n "${PG_DIR:-}" ] && [ ${#reps[@]} -gt 1 ] && d0=$(cpu_ms $(pg_pids))
	LOOPS=()
	for i in $(seq "$NODES"); do
		r=${reps[$(( (i - 1) % ${#reps[@]} ))]}
		ns "n$i" "$r" poll "$SECONDS_" 0 "$ENTRIES" >"$T/poll-n$i.txt" 2>"$T/poll-n$i.err" &
		LOOPS+=($!)
	done
	wait "${LOOPS[@]}"
	LOOPS=()
	c1=$(evidence_count "${reps[@]}")
	a1=$(cpu_ms "${pids[@]}")
	[ -n "${PG_DIR:-}" ] && [ ${#reps[@]} -gt 1 ] && d1=$(cpu_ms $(pg_pids))
	ok=$(cat "$T"/poll-n*.txt | grep -c '^ok')
	fail=$(cat "$T"/poll-n*.txt | grep -c '^fail')
	RATE=$($PY -c "print(round(($c1 - $c0) / $SECONDS_, 1))")
	CPU_MS=$($PY -c "print(round(($a1 - $a0 + $d1 - $d0) / max($c1 - $c0, 1), 3))")
	ATT_MS=$($PY -c "print(round(($a1 - $a0) / max($c1 - $c0, 1), 3))")
	DB_MS=$($PY -c "print(round(($d1 - $d0) / max($c1 - $c0, 1), 3))")
	ROUNDS_OK=$ok
	ROUNDS_FAILED=$fail
}

launch lite --db "sqlite:$T/lite.db" --state "$T/none.json" "${ARGS[@]}" ||
	die "attestor (SQLite) does not start"
run_load lite
LITE_RATE=$RATE LITE_CPU=$CPU_MS LITE_OK=$ROUNDS_OK LITE_FAIL=$ROUNDS_FAILED
echo "A1 SQLite, one replica: $LITE_RATE evidence/s accepted ($LITE_OK rounds ok," \
	"$LITE_FAIL failed); attestor CPU $LITE_CPU ms per evidence" \
	"(= $($PY -c "print(round(1000 / max($LITE_CPU, 0.001)))")/s per core)"
stop lite

pg_start -c synchronous_commit=off -c max_connections=50 || die "PostgreSQL does not start"
for r in pa pb; do
	launch "$r" --db "postgresql:$PG_CONNINFO" --state "$T/none.json" "${ARGS[@]}" ||
		die "attestor $r (PostgreSQL) does not start"
done
run_load pa pb
PG_RATE=$RATE PG_CPU=$CPU_MS PG_ATT=$ATT_MS PG_DB=$DB_MS PG_OK=$ROUNDS_OK PG_FAIL=$ROUNDS_FAILED
RATIO=$($PY -c "print(round($PG_RATE / max($LITE_RATE, 0.1), 2))")
# two replicas, each on a core of its own, and the database's share of the CPU as well
CAP_RATIO=$($PY -c "print(round(2 * $LITE_CPU / max($PG_CPU, 0.001), 2))")
echo "A2 PostgreSQL, two replicas: $PG_RATE evidence/s accepted ($PG_OK rounds ok, $PG_FAIL" \
	"failed); CPU per evidence: replicas $PG_ATT ms + PostgreSQL $PG_DB ms"
echo "   end to end: $RATIO x one replica; by CPU per evidence (two replicas on a core each," \
	"the database's CPU counted): $CAP_RATIO x"
for r in pa pb; do stop "$r"; done
for i in $(seq "$NODES"); do att_tpm_stop "n$i"; done
else
	pg_start -c synchronous_commit=off -c max_connections=50 || die "PostgreSQL does not start"
fi

# ---- B. ENROLLED nodes ----
echo "B: a state file with $ENROLLED enrolled nodes..."
$PY - "$T/big.json" "$ENROLLED" <<'PY' || die "generating the state file"
import base64, hashlib, json, os, sys, time
path, n = sys.argv[1], int(sys.argv[2])
now = int(time.time())
def ak():
    # TPM2B_PUBLIC: RSA 2048 restricted signing key (fixedTPM fixedParent sensitiveDataOrigin
    # userWithAuth restricted sign), RSASSA-SHA256, a random modulus
    m = bytearray(os.urandom(256))
    m[0] |= 0x80
    m[255] |= 1
    body = (bytes([0, 1, 0, 0x0b, 0, 5, 0, 0x72, 0, 0, 0, 0x10, 0, 0x14, 0, 0x0b, 8, 0, 0, 0,
                   0, 0, 1, 0]) + bytes(m))
    return base64.b64encode(len(body).to_bytes(2, "big") + body).decode()
nodes = []
for i in range(n):
    nid = "node-%05d" % i
    bad = i % 10 == 9
    f = [{"offset": 4096, "time": now - 60, "name": "/usr/bin/x", "reason": "host file is not "
          "in the host allowlist"}] if bad else []
    cs = [{"id": "c%05d%d" % (i, k), "image": "registry.example.com/app:v%d" % k,
           "image_digest": "sha256:" + hashlib.sha256(b"%d" % k).hexdigest(),
           "golden_sha256": hashlib.sha256(b"g%d" % k).hexdigest(),
           "golden_keyid": hashlib.sha256(b"key").hexdigest(), "start_offset": 1000 * k,
           "started": now - 600, "stopped": False, "files": 12, "findings": [],
           "findings_total": 0, "refusals": [], "refusals_total": 0} for k in range(2)]
    nodes.append({"id": nid, "enrolled_at": now - 3600, "ak_pub": ak(), "ak_name": "",
                  "ek_sha256": hashlib.sha256(nid.encode() + b"ek").hexdigest(),
                  "ek_cert": "none", "tls_sha256": hashlib.sha256(nid.encode()).hexdigest(),
                  "reset_count": 1, "log_offset": 8192, "log_entries": 40,
                  "pcr": hashlib.sha256(nid.encode() + b"pcr").hexdigest(),
                  "agent_mode": "enforce", "last_evidence": now, "evidence_ok": 100,
                  "evidence_failed": 0, "unappraised": 0, "findings": f,
                  "findings_total": len(f), "containers": cs})
json.dump({"version": 1, "nodes": nodes}, open(path, "w"))
PY
# the FILTER_NODES names: the first ones (9 in 10 of them trusted), as the scheduler sends them
$PY - "$T/args.json" "$ENROLLED" "$FILTER_NODES" <<'PY'
import json, sys
n, k = int(sys.argv[2]), int(sys.argv[3])
names = ["node-%05d" % i for i in range(min(n, k))]
json.dump({"Pod": {"metadata": {"name": "p"}}, "NodeNames": names}, open(sys.argv[1], "w"))
PY
filter_bench() {	# filter_bench REPLICA: "p50 p99 max kept" in ms over FILTER_CALLS calls
	$PY - "${PORT[$1]}" "$T" "$FILTER_CALLS" <<'PY'
import http.client, json, ssl, sys, time
port, t, calls = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=t + "/ca.crt")
ctx.load_cert_chain(t + "/reader.crt", t + "/reader.key")
body = open(t + "/args.json", "rb").read()
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
lat, kept = [], None
for i in range(calls + 5):
    t0 = time.perf_counter()
    c.request("POST", "/scheduler/filter", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    d = r.read()
    dt = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        sys.exit("filter: HTTP %d: %s" % (r.status, d[:200]))
    if i >= 5:                      # the first few warm the connection and the caches
        lat.append(dt)
    kept = len(json.loads(d)["NodeNames"])
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("%.1f %.1f %.1f %d" % (pick(0.5), pick(0.99), lat[-1], kept))
PY
}
big_run() {	# big_run NAME ARGS...: import, RSS, filter; sets IMPORT_S RSS HWM F50 F99 FMAX KEPT
		# FCPU (the attestor's CPU ms per filter call)
	local r=$1 t0 c0
	shift
	cp "$T/big.json" "$T/big-$r.json"
	t0=$(date +%s%N)
	launch "$r" --state "$T/big-$r.json" "${ARGS[@]}" "$@" || die "$r does not start"
	IMPORT_S=$($PY -c "print(round(($(date +%s%N) - $t0) / 1e9, 1))")
	[ -e "$T/big-$r.json.imported" ] && [ ! -e "$T/big-$r.json" ] ||
		die "$r: no import: $(tail -3 "$T/$r.log")"
	c0=$(cpu_ms "${PID[$r]}")
	read -r F50 F99 FMAX KEPT < <(filter_bench "$r") || die "filter on $r failed"
	FCPU=$($PY -c "print(round(($(cpu_ms "${PID[$r]}") - $c0) / ($FILTER_CALLS + 5), 1))")
	read -r RSS HWM < <(rss_kb "${PID[$r]}")
	stop "$r"
}
big_run blite --db "sqlite:$T/big.db"
L_IMPORT=$IMPORT_S L_RSS=$RSS L_HWM=$HWM L_F50=$F50 L_F99=$F99 L_FMAX=$FMAX L_KEPT=$KEPT
L_FCPU=$FCPU
echo "B1 SQLite, $ENROLLED nodes: imported and serving in $L_IMPORT s; RSS $((L_RSS / 1024)) MB" \
	"(peak $((L_HWM / 1024)) MB); filter over $FILTER_NODES nodes: p50 $L_F50 ms," \
	"p99 $L_F99 ms, max $L_FMAX ms ($L_KEPT kept); attestor CPU $L_FCPU ms per call"
pg_as "$PG_BIN/createdb" -h "$PG_DIR" tcl_big || die "createdb"
big_run bpg --db "postgresql:host=$PG_DIR dbname=tcl_big user=postgres"
echo "B2 PostgreSQL, $ENROLLED nodes: imported and serving in $IMPORT_S s; RSS" \
	"$((RSS / 1024)) MB (peak $((HWM / 1024)) MB); filter over $FILTER_NODES nodes: p50 $F50 ms," \
	"p99 $F99 ms, max $FMAX ms ($KEPT kept); attestor CPU $FCPU ms per call"

mkdir -p bench/results
if [[ $PARTS != *A* ]]; then
	$PY - bench/results/attestor_db.json <<'PY' >"$T/b.json" || die "no part A figures to keep"
import json, sys
r = json.load(open(sys.argv[1]))
e = r["evidence"]
e.setdefault("date", r["date"])
e.setdefault("load_at_end", r["machine"]["load_at_end"])
print(json.dumps({"evidence": e, "enrolled": {}}))
PY
fi
$PY - "$T/b.json" <<PY >"$T/results.json" || die "results"
import json, os, platform, sys, time
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "?")
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
load = os.getloadavg()[0]
if os.path.exists(sys.argv[1]):
    evidence = json.load(open(sys.argv[1]))["evidence"]     # part A of an earlier run
else:
    evidence = {"date": now, "load_at_end": load, "nodes": $NODES, "seconds": $SECONDS_,
        "entries_per_evidence": $ENTRIES,
        "sqlite_one_replica": {"evidence_per_s": ${LITE_RATE:-0}, "rounds_ok": ${LITE_OK:-0},
            "rounds_failed": ${LITE_FAIL:-0},
            "attestor_cpu_ms_per_evidence": ${LITE_CPU:-0},
            "per_core_evidence_per_s": round(1000 / max(${LITE_CPU:-0}, 0.001))},
        "postgresql_two_replicas": {"evidence_per_s": ${PG_RATE:-0}, "rounds_ok": ${PG_OK:-0},
            "rounds_failed": ${PG_FAIL:-0}, "replicas_cpu_ms_per_evidence": ${PG_ATT:-0},
            "postgresql_cpu_ms_per_evidence": ${PG_DB:-0}, "synchronous_commit": "off"},
        "ratio_end_to_end": ${RATIO:-0}, "ratio_by_cpu_per_evidence": ${CAP_RATIO:-0}}
print(json.dumps({
    "date": now,
    "machine": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
                "load_at_end": load},
    "evidence": evidence,
    "enrolled": {"nodes": $ENROLLED, "filter_nodes": $FILTER_NODES, "filter_calls": $FILTER_CALLS,
        "sqlite": {"import_and_start_s": $L_IMPORT, "rss_mb": round($L_RSS / 1024, 1),
            "peak_rss_mb": round($L_HWM / 1024, 1), "filter_ms": {"p50": $L_F50,
            "p99": $L_F99, "max": $L_FMAX}, "kept": $L_KEPT,
            "attestor_cpu_ms_per_filter": $L_FCPU},
        "postgresql": {"import_and_start_s": $IMPORT_S, "rss_mb": round($RSS / 1024, 1),
            "peak_rss_mb": round($HWM / 1024, 1), "filter_ms": {"p50": $F50, "p99": $F99,
            "max": $FMAX}, "kept": $KEPT, "attestor_cpu_ms_per_filter": $FCPU}}},
    indent=1))
PY
mv "$T/results.json" bench/results/attestor_db.json
echo "results in bench/results/attestor_db.json"
