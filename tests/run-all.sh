#!/bin/bash
# tests/run-all.sh: every test layer of `make test`, one summary at the end.
#   1. host unit tests (cmocka), plain and under ASan/UBSan
#   2. host tests against real tools: evmctl (log format), swtpm + tpm2-tools, docker-registry
#   3. the guest suite (BPF LSM, containers) in one QEMU boot, its TPM with sha1+sha256 PCR
#      banks; then a second boot running only the measure suite on a TPM with sha256+sha384
#      banks (every allocated bank is extended and replayed)
# Prints "N passed, N failed" last; exits non-zero when anything failed.
# env: TCL_SKIP_GUEST=1 skips layer 3 (for hosts without the time to boot a guest).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"

tally() { # NAME LOGFILE EXIT: add a suite's counts from its "N passed, N failed" line
	local name=$1 log=$2 rc=$3 line p f
	line=$(grep -E '([a-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "  $name: no result line (exit $rc)"
		failed=$((failed + 1)); failures+=("$name"); return
	fi
	p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*\b([0-9]+) failed.*/\1/' <<<"$line")
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1)); f=1
	fi
	[ "$f" -gt 0 ] && failures+=("$name")
	echo "  $name: $p passed, $f failed"
}

echo "== unit tests (cmocka)"
for t in build/unit/test_* build/unit-san/test_*; do
	[ -x "$t" ] || continue
	name=${t#build/}
	log="$logdir/${name//\//_}.log"
	CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crash or sanitizer report
	passed=$((passed + p)); failed=$((failed + f))
	[ "$f" -gt 0 ] && { failures+=("$name"); tail -20 "$log"; }
	echo "  $name: $p passed, $f failed"
done

echo "== host tests against real tools"
for s in tests/host/test_*.sh tests/swtpm/run.sh tests/swtpm/test_*.sh tests/service/test_*.sh tests/k8s/test_*.sh; do
	[ -f "$s" ] || continue
	name=${s#tests/}
	log="$logdir/${name//\//_}.log"
	timeout 900 bash "$s" >"$log" 2>&1
	rc=$?
	[ $rc -ne 0 ] && tail -30 "$log"
	tally "$name" "$log" $rc
done
# the measurement pipeline again on a TPM with a sha384 bank (swtpm_setup --pcr-banks)
log="$logdir/swtpm_test_measure-sha384.log"
SWTPM_PCR_BANKS=sha256,sha384 timeout 900 bash tests/swtpm/test_measure.sh >"$log" 2>&1
rc=$?
[ $rc -ne 0 ] && tail -30 "$log"
tally "swtpm/test_measure.sh (sha256,sha384)" "$log" $rc

if [ "${TCL_SKIP_GUEST:-0}" != 1 ]; then
	echo "== guest tests (one QEMU boot)"
	log="$logdir/guest.log"
	TCLVM_OUT=$PWD/$logdir/guest-out
	rm -rf "$TCLVM_OUT"; mkdir -p "$TCLVM_OUT"
	TCLVM_OUT=$TCLVM_OUT tests/vm/run.sh tests/guest/run-all.sh >"$log" 2>&1
	rc=$?
	grep -E '^(==|###|  FAIL)' "$log"
	[ $rc -ne 0 ] && tail -30 "$log"
	tally "guest" "$log" $rc

	echo "== guest measure suite, TPM with sha256+sha384 banks (a second QEMU boot)"
	log="$logdir/guest-sha384.log"
	TCLVM_OUT=$PWD/$logdir/guest-sha384-out
	rm -rf "$TCLVM_OUT"; mkdir -p "$TCLVM_OUT"
	TCLVM_PCR_BANKS=sha256,sha384 TCLVM_OUT=$TCLVM_OUT \
		tests/vm/run.sh tests/guest/run-all.sh measure >"$log" 2>&1
	rc=$?
	grep -E '^(==|###|  FAIL)' "$log"
	[ $rc -ne 0 ] && tail -30 "$log"
	tally "guest measure (sha256,sha384)" "$log" $rc
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
