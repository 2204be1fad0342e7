#!/bin/sh
# Runs every guest suite in one boot. Prints "N passed, N failed"; exit 0 only when none failed.
TOP=$(pwd)
export TOP TCL_RESULTS=/tmp/tcl-results
: >"$TCL_RESULTS"
for t in "$TOP"/tests/guest/test_*.sh; do
	# Arguments select suites by name (e.g. "containers"); none runs them all.
	if [ $# -gt 0 ]; then
		sel=0
		for a in "$@"; do case "$(basename "$t")" in *"$a"*) sel=1 ;; esac; done
		[ $sel = 1 ] || continue
	fi
	echo "### $(basename "$t")"
	sh "$t" || echo "FAIL $(basename "$t") exited $?" >>"$TCL_RESULTS"
	"$TOP/build/tclctl" unload --yes >/dev/null 2>&1
done
passed=$(grep -c '^PASS' "$TCL_RESULTS")
failed=$(grep -c '^FAIL' "$TCL_RESULTS")
grep '^FAIL' "$TCL_RESULTS" | sed 's/^/  /'
[ -d /tcl-out ] && cp "$TCL_RESULTS" /tcl-out/guest-results.txt && cp /tmp/agent.log /tcl-out/ 2>/dev/null
echo "guest: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
