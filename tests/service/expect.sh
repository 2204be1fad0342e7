# Result helpers of the service tests (bash; source after setting T, a scratch directory).
#   ok NAME / bad NAME          count and print one result
#   run RC CMD...               run CMD, keep OUT/ERR/RC; true when it exited RC. A sanitizer
#                               report is a failure whatever RC is.
#   expect NAME RC PATTERN CMD...   exit status RC and PATTERN (grep -E) in stdout+stderr
# The totals are in $pass and $fail.
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

run() {
	local want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if grep -q -e 'Sanitizer' -e 'runtime error:' "$T/err"; then
		echo "--- sanitizer report from: $*" >&2
		cat "$T/err" >&2
		return 1
	fi
	[ "$RC" = "$want" ]
}

expect() {
	local name=$1 want=$2 pat=$3
	shift 3
	if run "$want" "$@" && printf '%s\n%s\n' "$OUT" "$ERR" | grep -qE -- "$pat"; then
		ok "$name"
	else
		bad "$name (rc=$RC, want $want; pattern '$pat')"
		printf '  stdout: %s\n  stderr: %s\n' "$OUT" "$ERR" | head -20
	fi
}
