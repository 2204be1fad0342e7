#!/bin/sh
# Grammar: the BPF build of the container-cgroup grammar (lib/cgroup_grammar.h) against the table
# the host unit test uses (tests/unit/data/cgroup_cases.h), through BPF_PROG_TEST_RUN on this
# kernel: what tcl_cgroup_mkdir decides is what user space expects.
. "$TOP/tests/guest/lib.sh"
section "cgroup grammar (BPF build)"
out=$("$B/grammar/cgroup_grammar_test" "$B/grammar/cgroup_grammar.bpf.o" 2>&1)
echo "$out" | sed 's/^/  /'
echo "$out" | grep '^FAIL case' | while read -r _ _ n path _; do fail "grammar: case $n $path"; done
if echo "$out" | grep -q '^[1-9][0-9]* passed, 0 failed$'; then
	pass "grammar: $(echo "$out" | tail -1)"
else
	fail "grammar: BPF build of the cgroup grammar"
fi
