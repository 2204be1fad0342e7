#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark of tcl-attestor (issue 7), on 127.0.0.1 only, against real swtpm nodes, a real
# docker-registry and real HTTPS (TLS 1.3, client certificates):
#  A. evidence verified per second when each evidence carries a log of ENTRIES entries (boot,
#     a container start, ENTRIES-2 executions appraised against a golden manifest listing them):
#     signature, nonce, PCR digest, replay and appraisal of every entry, state saved.  The node
#     re-enrols between rounds so that every round sends the whole log again; only the POST is
#     timed (client side), and the attestor's own time comes from its /metrics histogram.
#  B. NODES simulated nodes (one swtpm each) polling for SECONDS: every INTERVAL seconds each
#     appends one measurement and runs a full attestation round (challenge, quote, evidence);
#     then the verdicts and one scheduler filter call over all of them.
# Not part of `make test`.  Writes bench/results/attestor.json.
# usage: bench/attestor_bench.sh [ENTRIES (10000)] [ROUNDS (20)] [NODES (100)] [SECONDS (30)]
#                                [INTERVAL (2)]
# Needs what tests/service/test_attestor.sh needs.  The simulated nodes (one swtpm and one
# client process each) share the machine with the attestor: on a small machine they, not the
# attestor, set the round-trip times; the attestor's own time per evidence is reported apart.
set -u
case ${1:-} in
-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
ENTRIES=${1:-10000}
ROUNDS=${2:-20}
NODES=${3:-100}
SECONDS_=${4:-30}
INTERVAL=${5:-2}
[ "$NODES" -le 200 ] || { echo "attestor_bench.sh: at most 200 nodes" >&2; exit 2; }
. tests/service/registry.sh
. tests/service/attestor/lib.sh
T=$(mktemp -d /tmp/tcl-bench-attestor.XXXXXX)
B=${TCL_ATTESTOR_O:-$T/build}
LOOPS=()
cleanup() {
	local p
	for p in "${LOOPS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	att_cleanup
	reg_stop "$T/reg"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "attestor_bench.sh: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

att_build "$B" || die "build failed"
ATT_BIN=$B/tcl-attestor
NS=$B/nodesim
TCLCTL=$B/tclctl

# ---- PKI, registry, an image whose golden manifest lists ENTRIES files ----
att_pki "$T" || die "openssl failed"
reg_start "$T/reg" || die "docker-registry does not start"
HP=${REG_URL#http://}
python3 tests/mkoci.py tags "$T/oci" v1=bench || die "mkoci failed"
out=$("$TCLCTL" image push --oci "$T/oci" --registry "$REG_URL" bench/app:v1) || die "image push"
DIG=${out#*@}
"$TCLCTL" golden keygen -o "$T/golden" >/dev/null || die "keygen"
# the golden manifest and the matching log entries, generated together
python3 - "$T" "$DIG" "$HP/bench/app:v1" "$ENTRIES" <<'PY' || die "generating the manifest"
import hashlib, json, sys
t, dig, ref, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
files = {}
with open(t + "/entries.txt", "w") as e:
    e.write("boot\nstart,c0ffee,%s,%s\n" % (ref, dig))
    for i in range(max(n - 2, 0)):
        h = hashlib.sha256(b"bench file %d" % i).hexdigest()
        files["/usr/lib/bench/f%05d" % i] = h
        e.write("exec,c0ffee,/usr/lib/bench/f%05d,%s\n" % (i, h))
m = {"config_digest": "sha256:" + "0" * 64, "files": files, "image": ref,
     "manifest_digest": dig, "version": 1}
open(t + "/golden.json", "w").write(json.dumps(m, sort_keys=True, separators=(",", ":")))
PY
"$TCLCTL" golden sign --key "$T/golden.key" "$T/golden.json" || die "golden sign"
"$TCLCTL" golden push --registry "$REG_URL" "bench/app@$DIG" --manifest "$T/golden.json" \
	--sig "$T/golden.json.sig" >/dev/null || die "golden push"

# ---- TPMs (without EK certificates: setup is the slow part) ----
att_tpm "$T" bench --no-ek-cert || die "swtpm"
echo "setting up $NODES swtpm nodes..."
# (wait on our own jobs only: the registry and the attestor are background jobs too)
JOBS=()
for i in $(seq "$NODES"); do
	mkdir -p "$T/tpm-n$i/state"
	swtpm_setup --tpm2 --tpmstate "$T/tpm-n$i/state" --pcr-banks sha1,sha256 \
		--logfile "$T/tpm-n$i/setup.log" >/dev/null 2>&1 &
	JOBS+=($!)
	if [ ${#JOBS[@]} -ge 8 ]; then
		wait "${JOBS[@]}"
		JOBS=()
	fi
	att_cert "$T" "node-n$i" "node-n$i" || die "openssl"
done
[ ${#JOBS[@]} -gt 0 ] && wait "${JOBS[@]}"
for i in $(seq "$NODES"); do
	att_tpm_run "$T" "n$i" || die "swtpm n$i"
done
att_cert "$T" node-bench node-bench || die "openssl"

att_start "$T" --cert "$T/server.crt" --key "$T/server.key" --client-ca "$T/ca.crt" \
	--state "$T/state.json" --registry "$REG_URL" --trust-key "$T/golden.pub" \
	--nonce-ttl 60 --stale-after 600 -q || die "tcl-attestor does not start"
CURL=(curl -s --cacert "$T/ca.crt" --cert "$T/reader.crt" --key "$T/reader.key")
ns() {
	local n=$1
	shift
	"$NS" --tpm "${TCTI[$n]}" --url "$ATT_URL" --cert "$T/node-$n.crt" --key "$T/node-$n.key" \
		--ca "$T/ca.crt" --dir "$T/n-$n" --attempts 3 --retry-ms 200 "$@"
}
metric() {	# metric NAME-WITH-LABELS: its value now
	"${CURL[@]}" "$ATT_URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

# ---- A: large evidence ----
echo "A: $ENTRIES-entry log into node-bench's TPM..."
ns bench enrol >/dev/null || die "enrol node-bench"
t0=$(now_ms)
ns bench append --from "$T/entries.txt" || die "append"
echo "   appended and extended in $(( $(now_ms) - t0 )) ms"
s0=$(metric 'tcl_attestor_request_duration_seconds_sum{route="evidence"}')
c0=$(metric 'tcl_attestor_request_duration_seconds_count{route="evidence"}')
A=$(ns bench bench-evidence "$ROUNDS") || die "bench-evidence: $A"
s1=$(metric 'tcl_attestor_request_duration_seconds_sum{route="evidence"}')
c1=$(metric 'tcl_attestor_request_duration_seconds_count{route="evidence"}')
SERVER_MS=$(python3 -c "print(round(1000 * ($s1 - $s0) / max($c1 - $c0, 1), 1))")
echo "A: $A"
echo "   attestor-side: $SERVER_MS ms per evidence (verify, replay, appraise, save)"

# ---- B: NODES nodes polling ----
echo "B: enrolling $NODES nodes..."
t0=$(now_ms)
JOBS=()
for i in $(seq "$NODES"); do
	ns "n$i" enrol >"$T/enrol-n$i.out" 2>&1 &
	JOBS+=($!)
	if [ ${#JOBS[@]} -ge 16 ]; then
		wait "${JOBS[@]}"
		JOBS=()
	fi
done
[ ${#JOBS[@]} -gt 0 ] && wait "${JOBS[@]}"
ENROL_MS=$(( $(now_ms) - t0 ))
fails=$(grep -L '"rc":0' "$T"/enrol-n*.out | wc -l)
first=$(grep -L '"rc":0' "$T"/enrol-n*.out | head -1)
[ "$fails" = 0 ] || die "$fails enrolments failed: $(cat "$first")"
echo "   $NODES enrolments in $ENROL_MS ms"
for i in $(seq "$NODES"); do
	ns "n$i" append boot "start,c$i,$HP/bench/app:v1,$DIG" >/dev/null || die "append n$i"
done
echo "B: $NODES nodes polling every ${INTERVAL}s for ${SECONDS_}s..."
c0=$(metric 'tcl_attestor_request_duration_seconds_count{route="evidence"}')
s0=$(metric 'tcl_attestor_request_duration_seconds_sum{route="evidence"}')
# one long-running nodesim per node, as the agent is: no process start, TPM connection or AK
# load per round; each round is one host measurement (extended into the TPM) and one
# attestation (challenge, quote, evidence), timed from the append to the answer
for i in $(seq "$NODES"); do
	(
		# stagger the start so that the nodes do not arrive in lockstep
		sleep "$(awk -v i="$INTERVAL" -v r=$RANDOM 'BEGIN { printf "%.2f", i * r / 32768 }')"
		ns "n$i" poll "$SECONDS_" "$INTERVAL" 2>"$T/poll-n$i.err"
	) >"$T/poll-n$i.txt" &
	LOOPS+=($!)
done
wait "${LOOPS[@]}"
LOOPS=()
c1=$(metric 'tcl_attestor_request_duration_seconds_count{route="evidence"}')
s1=$(metric 'tcl_attestor_request_duration_seconds_sum{route="evidence"}')
cat "$T"/poll-n*.txt >"$T/poll.txt"
OKS=$(grep -c '^ok' "$T/poll.txt")
FAILS=$(grep -c '^fail' "$T/poll.txt")
read -r P50 P99 PMAX < <(awk '/^ok/ { print $2 }' "$T/poll.txt" | sort -n |
	awk '{ a[NR] = $1 } END { if (NR) print a[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))],
		a[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))], a[NR]; else print 0, 0, 0 }')
RATE=$(python3 -c "print(round(($c1 - $c0) / $SECONDS_, 1))")
SRV=$(python3 -c "print(round(1000 * ($s1 - $s0) / max($c1 - $c0, 1), 2))")
"${CURL[@]}" "$ATT_URL/v1/nodes" >"$T/nodes.json"
TRUSTED=$(python3 -c 'import json, sys
print(sum(1 for n in json.load(open(sys.argv[1]))["nodes"]
          if n["id"].startswith("node-n") and n["verdict"] == "trusted"))' "$T/nodes.json")
python3 -c 'import json, sys
json.dump({"Pod": {}, "NodeNames": ["node-n%d" % i for i in range(1, int(sys.argv[2]) + 1)]},
          open(sys.argv[1], "w"))' "$T/args.json" "$NODES"
t0=$(date +%s%N)
"${CURL[@]}" -H 'Content-Type: application/json' --data-binary "@$T/args.json" \
	"$ATT_URL/scheduler/filter" >"$T/filter.json"
FILTER_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
KEPT=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["NodeNames"]))' \
	"$T/filter.json")
echo "B: $OKS rounds ok, $FAILS failed; attestor took $RATE evidence/s, $SRV ms each;"
echo "   node round (append+extend, challenge, quote, evidence): p50 $P50 ms, p99 $P99 ms," \
	"max $PMAX ms"
echo "   $TRUSTED/$NODES nodes trusted; filter over $NODES nodes kept $KEPT in $FILTER_MS ms"
att_stop || echo "attestor exit status $?"

mkdir -p bench/results
python3 - "$A" <<PY >bench/results/attestor.json
import json, sys
a = json.loads(sys.argv[1])
print(json.dumps({
    "large_evidence": dict(a, attestor_ms_mean=$SERVER_MS),
    "polling": {"nodes": $NODES, "seconds": $SECONDS_, "interval_s": $INTERVAL,
                "rounds_ok": $OKS, "rounds_failed": $FAILS, "evidence_per_s": $RATE,
                "attestor_ms_mean": $SRV, "round_trip_ms": {"p50": $P50, "p99": $P99,
                "max": $PMAX}, "enrol_all_ms": $ENROL_MS, "trusted": $TRUSTED,
                "filter_ms": $FILTER_MS, "filter_kept": $KEPT},
    "cpus": $(nproc)}, indent=1))
PY
echo "results in bench/results/attestor.json"
[ "$FAILS" = 0 ] && [ "$TRUSTED" = "$NODES" ] && [ "$KEPT" = "$NODES" ]
