# tests/guest/lib.sh: helpers for the guest suites (sourced; POSIX sh).
# Results go to $TCL_RESULTS (one "PASS name" / "FAIL name" line each).
TOP=${TOP:-$(pwd)}
B=$TOP/build
F=$B/fixtures
CG=/sys/fs/cgroup
TCL_RESULTS=${TCL_RESULTS:-/tmp/tcl-results}

pass() { echo "PASS $*" >>"$TCL_RESULTS"; echo "  ok   $*"; }
fail() { echo "FAIL $*" >>"$TCL_RESULTS"; echo "  FAIL $*"; }
# check NAME CMD...: pass when CMD succeeds
check() { n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
section() { echo "== $*"; }

# incg CGROUP CMD...: run CMD inside the cgroup (the exec of CMD is the first in-scope action)
incg() { cgp=$1; shift; sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG/$cgp" "$@"; }

AGENT_PID=
# start_agent ARGS...: start tcl-agent in the background, wait until its socket answers
start_agent() {
	"$B/tcl-agent" "$@" >>/tmp/agent.log 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do
		"$B/tclctl" status 2>/dev/null | grep -q "\"pid\":$AGENT_PID," && return 0
		kill -0 $AGENT_PID 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_agent() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}
# counter NAME: current value of a BPF counter from tclctl status
counter() { "$B/tclctl" status 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# wait_for FILE PATTERN [TRIES]: wait until a line matching PATTERN appears in FILE
wait_for() {
	for _ in $(seq "${3:-50}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
