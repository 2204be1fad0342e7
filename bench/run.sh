#!/bin/bash
# bench/run.sh: build the benchmark programs, run bench/run-guest.sh in one QEMU guest boot and
# collect bench/results/*.json. Never part of `make test`.
# usage: bench/run.sh [NAME...]    NAME selects benchmarks: exec cold mmap events memory
# env:   O (build dir, default build)  BENCH_OUT (results dir, default bench/results)
#        BENCH_EXECS (execs per measurement of the exec benchmark, default 20000)
#        BENCH_ROUNDS (rounds of the exec benchmark, default 3)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
O=${O:-build}
out=${BENCH_OUT:-$top/bench/results}
bo=$O/bench
mkdir -p "$bo/libs" "$out"
for f in "$O/tcl-agent" "$O/tclctl" "$O/fixtures/tool-a" "$O/fixtures/hello"; do
	[ -x "$f" ] || { echo "bench: $f missing: make all fixtures" >&2; exit 2; }
done

CC=${CC:-gcc}
# Static, so that the timing loop's own exec and libraries are not part of what is measured.
$CC -O2 -static -Wall -Wextra -Werror bench/benchtool.c -o "$bo/benchtool"
$CC -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Iagent -I"$O" \
	bench/mapfill.c "$O/libtcl.a" $(pkg-config --libs libbpf libelf zlib openssl json-c) \
	-o "$bo/mapfill"
# A program that loads 50 shared objects (each an mmap with PROT_EXEC of its own file).
main=$bo/libs/main.c
: >"$main"
libs=
for i in $(seq 1 50); do
	printf 'int bench_fn_%d(void) { return %d; }\n' "$i" "$i" >"$bo/libs/b$i.c"
	$CC -O2 -shared -fPIC "$bo/libs/b$i.c" -o "$bo/libs/libbench$i.so"
	printf 'int bench_fn_%d(void);\n' "$i" >>"$main"
	libs="$libs -lbench$i"
done
{
	printf 'int main(void)\n{\n\tint s = 0;\n\n'
	for i in $(seq 1 50); do printf '\ts += bench_fn_%d();\n' "$i"; done
	printf '\treturn s == 1275 ? 0 : 1;\n}\n'
} >>"$main"
# shellcheck disable=SC2086
$CC -O2 "$main" -L"$bo/libs" -Wl,--no-as-needed $libs -Wl,-rpath,'$ORIGIN' -o "$bo/libs/many50"

# Policies of 1,000 images with K digests each (the 2,000 one is larger than a policy may be).
for k in 10 40 2000; do
	[ -f "$bo/policy-1000x$k.json" ] && continue
	python3 - "$bo/policy-1000x$k.json" "$k" <<'PY'
import os, sys
path, k = sys.argv[1], int(sys.argv[2])
with open(path + ".tmp", "w") as f:
    f.write('{"version": 1, "allow": [],\n "images": {\n')
    for i in range(1000):
        digests = ",".join('{"sha256":"%s"}' % os.urandom(32).hex() for _ in range(k))
        f.write('  "registry.example/bench/img%04d:1": {"allow": [%s]}%s\n'
                % (i, digests, "," if i < 999 else ""))
    f.write("}}\n")
os.rename(path + ".tmp", path)
PY
done

TCLVM_OUT=$out TCLVM_MEM=${TCLVM_MEM:-3072} tests/vm/run.sh bench/run-guest.sh "$O" \
	"${BENCH_EXECS:-20000}" "${BENCH_ROUNDS:-3}" "$@"
echo "bench: results in $out"
