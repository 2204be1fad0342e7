#!/bin/sh
# Sidecar of the agent pod (deploy/agent-daemonset.yaml): the kubelet swaps the mounted policy
# ConfigMap in place; when its content changes, check it with `tclctl policy check` and send
# tcl-agent SIGHUP, which reloads the policy atomically.  A policy that fails the check is not
# signalled: the agent keeps enforcing the one it has.  POSIX sh (busybox in the agent's image).
# env: TCL_POLICY (default /etc/tcl/policy.json), TCL_STATE (the agent's state file, default
#      /run/tcl/agent.json), TCL_RELOAD_INTERVAL (seconds, default 10), TCLCTL (default tclctl).
# The pod runs with hostPID, so the pid in the state file is valid here; it is only signalled
# when /proc/PID/comm says tcl-agent.
set -u
policy=${TCL_POLICY:-/etc/tcl/policy.json}
state=${TCL_STATE:-/run/tcl/agent.json}
interval=${TCL_RELOAD_INTERVAL:-10}
tclctl=${TCLCTL:-tclctl}
case ${1:-} in
-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
'') ;;
*) echo "policy-reload: no arguments expected (see --help)" >&2; exit 2 ;;
esac
case $interval in ''|*[!0-9]*) echo "policy-reload: bad TCL_RELOAD_INTERVAL" >&2; exit 2 ;; esac

last=
while :; do
	sum=$(sha256sum "$policy" 2>/dev/null) && sum=${sum%% *} || sum=
	if [ -n "$sum" ] && [ "$sum" != "$last" ]; then
		pid=$(sed -n 's/.*"pid":[ ]*\([0-9][0-9]*\).*/\1/p' "$state" 2>/dev/null)
		comm=
		[ -n "$pid" ] && comm=$(cat "/proc/$pid/comm" 2>/dev/null)
		if [ "$comm" != tcl-agent ]; then
			: # agent not up yet: try again next round, it reads the file when it starts
		elif ! "$tclctl" policy check "$policy"; then
			echo "policy-reload: policy $sum rejected; the agent keeps its current one" >&2
			last=$sum
		elif kill -HUP "$pid"; then
			echo "policy-reload: policy $sum: SIGHUP sent to tcl-agent (pid $pid)"
			last=$sum
		fi
	fi
	sleep "$interval"
done
