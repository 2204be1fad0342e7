#!/bin/bash
# tests/fuzz/run.sh: build every tests/fuzz/fuzz_*.c as a libFuzzer target (clang,
# -fsanitize=fuzzer,address,undefined) and run each for a fixed time budget with bounded memory.
# A crash, a sanitizer report, a leak, a timeout or running out of memory fails the run; the input
# that did it is kept under $O/fuzz/ and named in the summary.
# usage: tests/fuzz/run.sh [-t SECONDS] [TARGET...]   TARGET: policy, evstream, log... (all)
# env:   O (build dir, default build)  FUZZ_SECONDS (default 60)  FUZZ_RSS_MB (default 2048)
#        FUZZ_JOBS (parallel compiles, default nproc)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
secs=${FUZZ_SECONDS:-60}
case "${1:-}" in
-h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
-t) secs=$2; shift 2 ;;
esac
O=${O:-build}
fz=$O/fuzz
CLANG=${CLANG:-clang}
mkdir -p "$fz/obj"
command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG missing: run scripts/deps.sh" >&2; exit 2; }

PKGS="libbpf libelf zlib tss2-esys tss2-mu tss2-rc tss2-tctildr openssl json-c libcurl libevent
      libevent_openssl libarchive sqlite3 libpq"
# shellcheck disable=SC2086
pcflags=$(pkg-config --cflags $PKGS)
# shellcheck disable=SC2086
pclibs=$(pkg-config --libs $PKGS)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib -Ictl -Iagent -Iattestor -I$O $pcflags"

# The library code, instrumented once: every agent and attestor module except the program mains
# and the BPF loader (which embeds the skeleton). Targets link against the archives, so each
# pulls in only the modules it uses.
build_lib() {
	local name=$1 dir=$2 skip=$3 objs=() src obj todo=$fz/obj/$1.todo
	: >"$todo"
	for src in "$dir"/*.c; do
		case " $skip " in *" $(basename "$src") "*) continue ;; esac
		obj=$fz/obj/$name-$(basename "$src" .c).o
		objs+=("$obj")
		if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
			[ -n "$(find lib ctl attestor include -name '*.h' -newer "$obj" 2>/dev/null | head -1)" ]; then
			echo "$src $obj" >>"$todo"
		fi
	done
	xargs -r -P "${FUZZ_JOBS:-$(nproc)}" -n 2 sh -c \
		"$CLANG $CFLAGS $SAN -fsanitize=fuzzer-no-link -w -c \"\$0\" -o \"\$1\" || exit 255" \
		<"$todo" || return 1
	rm -f "$fz/lib$name.a"
	ar rcs "$fz/lib$name.a" "${objs[@]}"
}
if ! build_lib tcl lib "bpf_loader.c" || ! build_lib ctl ctl "tclctl.c"; then
	echo "fuzz: cannot build the agent's code" >&2
	exit 1
fi
if [ -d attestor ]; then
	build_lib att attestor "main.c" || { echo "fuzz: cannot build attestor code" >&2; exit 1; }
fi

targets=()
if [ $# -gt 0 ]; then
	for t in "$@"; do targets+=("tests/fuzz/fuzz_${t#fuzz_}.c"); done
else
	targets=(tests/fuzz/fuzz_*.c)
fi
passed=0 failed=0 failures=()
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	bin=$fz/$name corpus=$fz/corpus-${name#fuzz_} art=$fz/crash-${name#fuzz_}
	if [ ! -f "$src" ]; then
		echo "fuzz: no such target: $src" >&2
		failed=$((failed + 1))
		continue
	fi
	libs="$fz/libctl.a $fz/libtcl.a"
	[ -f "$fz/libatt.a" ] && libs="$fz/libatt.a $fz/libctl.a $fz/libtcl.a"
	# shellcheck disable=SC2086
	if ! $CLANG $CFLAGS $SAN -fsanitize=fuzzer -w "$src" $libs $pclibs -lpthread -o "$bin" \
		>"$fz/$name.build.log" 2>&1; then
		echo "fuzz: $name: build failed (see $fz/$name.build.log)"
		tail -5 "$fz/$name.build.log"
		failed=$((failed + 1)); failures+=("$name: build failed")
		continue
	fi
	mkdir -p "$corpus" "$art"
	seeds=$corpus
	[ -d "tests/fuzz/seeds/${name#fuzz_}" ] && seeds="$corpus tests/fuzz/seeds/${name#fuzz_}"
	# shellcheck disable=SC2086
	TCL_FUZZ_SEED_DIR=$corpus "$bin" -max_total_time="$secs" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
		-malloc_limit_mb="${FUZZ_RSS_MB:-2048}" -max_len=65536 -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$art/" $seeds >"$fz/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$fz/$name.log")
	cov=$(grep -o 'cov: [0-9]*' "$fz/$name.log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz: $name: ok, ${runs:-?} runs in ${secs}s, $cov"
		passed=$((passed + 1))
	else
		what=$(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|ERROR: libFuzzer' "$fz/$name.log")
		input=$(ls -t "$art" 2>/dev/null | head -1)
		echo "fuzz: $name: FAILED ($what); input: $art/$input; log: $fz/$name.log"
		failed=$((failed + 1)); failures+=("$name")
	fi
done
echo "fuzz: $passed passed, $failed failed${failures[*]:+: ${failures[*]}}"
[ $failed -eq 0 ]
