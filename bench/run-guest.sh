#!/bin/sh
# bench/run-guest.sh BUILD EXECS ROUNDS TPMFILES [NAME...]: tcl's benchmarks, all in this one boot, so
# that every ratio compares runs on the same (virtual) machine. Run by bench/run.sh through
# tests/vm/run.sh; results go to /tcl-out/*.json (bench/results on the host).
# NAME: exec (with mmap and open), cold, events, tpm, memory. None: all of them.
# TPMFILES: distinct files exec'd per round of the tpm benchmark.
TOP=$(pwd)
case $1 in /*) B=$1 ;; *) B=$TOP/$1 ;; esac
N=$2
ROUNDS=$3
TPMFILES=$4
shift 4
SEL=" $* "
BO=$B/bench
F=$B/fixtures
OUT=/tcl-out
[ -d $OUT ] || OUT=$TOP/bench/results
W=/tmp/tclbench
CG=/sys/fs/cgroup
PIN=/sys/fs/bpf/tcl
rm -rf $W; mkdir -p $W/allowed $CG/tclbench/run $OUT
LIBC=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)
LDSO=$(readlink -f /lib64/ld-linux-x86-64.so.2)
# The guest's root file system is the host's over 9p, which tcl never caches (its content
# changes on the host without a write this kernel sees, as on NFS), while containers run from
# local file systems. So that dynamic programs load their loader and libc from where a
# container's would, tmpfs copies are bound over those two files (in the guest only).
SYSLIBS=/tmp/tclbench-syslibs
if [ "${BENCH_SYSLIBS:-tmpfs}" = tmpfs ]; then
	mkdir -p $SYSLIBS
	cp "$LIBC" "$LDSO" $SYSLIBS/
	mount --bind $SYSLIBS/$(basename "$LIBC") "$LIBC" &&
		mount --bind $SYSLIBS/$(basename "$LDSO") "$LDSO" || BENCH_SYSLIBS=9p
fi

want() { [ "$SEL" = "  " ] || case "$SEL" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
say() { echo "bench: $*"; }
# inscope CMD...: exec CMD inside the scope cgroup
inscope() { sh -c 'echo $$ >/sys/fs/cgroup/tclbench/run/cgroup.procs && exec "$@"' sh "$@"; }
now() { date +%s%N; }
median() {
	sort -n | awk '{v[NR] = $1}
		END {if (NR % 2) printf "%d\n", v[(NR + 1) / 2]; else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
# mbps BYTES NS: MiB per second
mbps() { awk -v b=$1 -v t=$2 'BEGIN {printf "%.1f", b / 1048576 / (t / 1e9)}'; }
# dropsum FILE: the counts of the drop records in an event stream
dropsum() { sed -n '/"type":"drop"/s/.*"count":\([0-9]*\).*/\1/p' $1 | awk '{s += $1} END {print s + 0}'; }
counter() { "$B/tclctl" status 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }
kv() { echo "$1=$2" >>$W/$3.kv; }

APID=
agent() {
	mode=$1
	shift
	"$B/tcl-agent" --$mode --policy ${AGENT_POLICY:-$W/policy.json} --scope cgroup:/tclbench \
		--tpm ${AGENT_TPM:-none} --log ${AGENT_LOG:-$W/measurements.bin} "$@" >>$W/agent.log 2>&1 &
	APID=$!
	for _ in $(seq ${AGENT_WAIT:-600}); do
		"$B/tclctl" status 2>/dev/null | grep -q "\"pid\":$APID," && return 0
		kill -0 $APID 2>/dev/null || break
		sleep 0.1
	done
	say "agent ($mode $*) did not start:"
	tail -5 $W/agent.log
	return 1
}
# settle: wait until the agent is idle (start-up hashing of the runtime binaries, policy load)
settle() {
	prev=-1
	for _ in $(seq 120); do
		cpu=$(awk '{print $14 + $15}' /proc/$APID/stat 2>/dev/null)
		[ "$cpu" = "$prev" ] && return 0
		prev=$cpu
		sleep 1
	done
}
agent_stop() { [ -n "$APID" ] && kill $APID 2>/dev/null && wait $APID 2>/dev/null; APID=; }
unload() { agent_stop; "$B/tclctl" unload --yes >/dev/null 2>&1; }

# key=value lines -> one JSON object; values that parse as numbers stay numbers
tojson() {
	python3 - "$W/$1.kv" "$OUT/$1.json" <<'PY'
import json, sys, platform
res = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition("=")
    try:
        v = int(v)
    except ValueError:
        try:
            v = float(v)
        except ValueError:
            pass
    res[k] = v
json.dump(res, open(sys.argv[2], "w"), indent=1, sort_keys=True)
open(sys.argv[2], "a").write("\n")
PY
}
env_kv() {
	kv kernel "$(uname -r)" $1
	kv cpus "$(nproc)" $1
	kv cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" $1
	kv machine "${TCLVM_GUEST:+QEMU TCG guest (tests/vm/run.sh)}" $1
	kv date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" $1
	kv system_libs "${BENCH_SYSLIBS:-tmpfs}" $1
	kv qemu_cpu "${TCLVM_CPU:-qemu default}" $1
	kv cpu_flags "$CPUFLAGS" $1
	kv kernel_sha256_drivers "$(kdrivers)" $1
	kv openssl_sha256 "$(openssl_sha256)" $1
}
# The SHA-256 code each side can use. The kernel's: /proc/crypto's sha256 entries as
# driver:priority:refcnt (the highest priority wins for a new user; IMA, whose hash
# bpf_ima_file_hash is, takes its transform once at boot, before any module loads, and keeps it:
# a refcnt above 1 shows the one in use). OpenSSL's: the code its SHA-256 dispatches to on this
# CPU (crypto/sha/asm/sha256-x86_64.pl: SHA extensions, else AVX2+BMI, else AVX, else SSSE3).
CPUFLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'ssse3|avx|avx2|bmi2|sha_ni' | tr '\n' ' ')
kdrivers() {
	awk -F': ' '/^name/ {n = $2} /^driver/ {d = $2} /^priority/ {p = $2}
		/^refcnt/ && n == "sha256 " || /^refcnt/ && n == "sha256" {printf "%s:%s:%s ", d, p, $2}' \
		/proc/crypto | sed 's/ *$//; s/ :/:/g'
}
openssl_sha256() {
	case " $CPUFLAGS" in
	*" sha_ni "*) c=shaext ;;
	*" avx2 "*) case " $CPUFLAGS" in *" bmi2 "*) c=avx2 ;; *) c=avx ;; esac ;;
	*" avx "*) c=avx ;;
	*" ssse3 "*) c=ssse3 ;;
	*) c=x86_64 ;;
	esac
	echo "$(openssl version | cut -d' ' -f1-2) $c"
}
# As udev would on a real machine (modalias of the CPU's features); IMA keeps what it took at
# boot all the same (see kdrivers).
modprobe sha256_ssse3 2>/dev/null

# --- what is allowed in scope ---------------------------------------------------------------
cp $BO/benchtool $F/tool-a "$LIBC" "$LDSO" $W/allowed/
cp -r $BO/libs $W/allowed/libs
rm -f $W/allowed/libs/*.c
cp $F/hello $W/unlisted
if want cold; then
	# tool-a (static) with data appended: still runs, and its digest is its own
	for mb in 1 10 100; do
		cp $F/tool-a $W/allowed/pad$mb
		head -c $((mb * 1048576 - $(stat -c %s $F/tool-a))) /dev/urandom >>$W/allowed/pad$mb
	done
fi
"$B/tclctl" policy generate --dir $W/allowed -o $W/policy.json 2>/dev/null ||
	{ say "cannot write the policy"; exit 1; }
unload

# --- 1 + 3: exec overhead (static binary), mmap_file (50 shared objects), path walks ----------
# Conditions: none (nothing loaded), audit, enforce (the agent restarted in that mode re-attaches
# to the pinned programs), enforce_noguard (enforce with the self-protection links unpinned, so
# detached: what the guard costs). Odd rounds run none, audit, enforce, enforce_noguard; even
# rounds audit, enforce, enforce_noguard, none, so that a drift of the host does not favour one.
OPENPATH=$W/allowed/libs/libbench1.so
# blocks FILE COUNT BLOCK CMD...: COUNT runs of CMD's loop in blocks of BLOCK; one line per block
# with the nanoseconds of one run. The host is shared: the fastest blocks show the cost itself,
# the median what a busy machine sees, and both are reported. In scope, unless RUNNER=env (this
# script's own cgroup, the root: out of scope).
blocks() {
	file=$1 count=$2 bs=$3
	shift 3
	for _ in $(seq $((count / bs))); do
		r=$(${RUNNER:-inscope} "$@" | sed -n 's/.*total_ns=\([0-9]*\).*/\1/p')
		[ -n "$r" ] && echo $((r / bs)) >>$file
	done
}
exec_block() {
	cond=$1
	inscope $W/allowed/benchtool exec-loop 50 $W/allowed/tool-a >/dev/null
	inscope $W/allowed/benchtool exec-loop 3 $W/allowed/libs/many50 >/dev/null
	inscope $W/allowed/benchtool exec-loop 1 $W/allowed/libs/many50 >$W/check.out ||
		say "$cond: the 50-library program failed: $(cat $W/check.out)"
	blocks $W/exec-$cond.ns $NB 100 $W/allowed/benchtool exec-loop 100 $W/allowed/tool-a
	blocks $W/mmap-$cond.ns $MB 10 $W/allowed/benchtool exec-loop 10 $W/allowed/libs/many50
	blocks $W/open-$cond.ns $OB 1000 $W/allowed/benchtool open-loop 1000 $OPENPATH
	RUNNER=env blocks $W/openout-$cond.ns $OB 1000 $W/allowed/benchtool open-loop 1000 $OPENPATH
	say "round $round $cond: median static exec $(median <$W/exec-$cond.ns) ns," \
		"with 50 libraries $(median <$W/mmap-$cond.ns) ns, open $(median <$W/open-$cond.ns) ns" \
		"(out of scope $(median <$W/openout-$cond.ns) ns)"
}
exec_cond() {
	case $1 in
	none) unload ;;
	audit | enforce) agent_stop; agent $1 || exit 1; settle ;;
	enforce_noguard) rm -f $PIN/link_tcl_guard_* $PIN/prog_tcl_guard_* ;;
	esac
	exec_block $1
}
if want exec; then
	NB=$((N / ROUNDS / 100 * 100))
	MB=$((N / 20 / ROUNDS / 10 * 10))
	OB=$((N * 5 / ROUNDS / 1000 * 1000))
	[ $NB -lt 100 ] && NB=100
	[ $MB -lt 10 ] && MB=10
	[ $OB -lt 1000 ] && OB=1000
	say "exec: $ROUNDS rounds of $NB fork+exec of a static binary, $MB of one with 50" \
		"libraries and $OB opens, per condition"
	for round in $(seq $ROUNDS); do
		if [ $((round % 2)) = 1 ]; then
			for c in none audit enforce enforce_noguard; do exec_cond $c; done
		else
			for c in audit enforce enforce_noguard none; do exec_cond $c; done
		fi
	done
	# Time inside tcl's programs (kernel.bpf_stats_enabled): independent of how busy the host
	# is, and slowed by TCG like the rest of the kernel, so its share of an exec carries over
	# to real hardware better than the wall-clock ratio of a shared, emulated machine. Measured
	# apart from the timed blocks: the statistics cost two clock reads per program run.
	# Beside each of tcl's programs, an empty one of the same kind on the same hook (e_NAME,
	# bench/empty.bpf.c), attached at the same time: the ratio of their times per run is what tcl
	# adds to the trampoline, and survives TCG. The digest cache's hits and misses per benchmark
	# come from the agent's counters: a warm benchmark should hit every time.
	agent enforce && settle
	EMPTY=/sys/fs/bpf/tclbench_empty
	rm -rf $EMPTY
	$BO/emptyload $BO/empty.bpf.o $EMPTY >>$W/agent.log 2>&1 || say "empty programs not loaded"
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	bpfstats() {
		bpftool -j prog show | python3 -c 'import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith(("tcl_", "e_")):
        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))' >$1
		echo "cache $(counter cache_hits) $(counter cache_misses)" >>$1
	}
	bpfdiff() {
		python3 - $W/st0 $W/st1 $1 $2 $3 <<'PY'
import sys
a = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
b = {l.split()[0]: l.split()[1:] for l in open(sys.argv[2])}
n, out, pre = int(sys.argv[3]), sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else ""
tot = 0
run = {}
with open(out, "a") as f:
    for k in sorted(b):
        ns = int(b[k][0]) - int(a.get(k, [0, 0])[0])
        cnt = int(b[k][1]) - int(a.get(k, [0, 0])[1])
        if k == "cache":
            f.write("%scache_hits=%d\n%scache_misses=%d\n" % (pre, ns, pre, cnt))
            continue
        if k.startswith("tcl_"):
            tot += ns
        if cnt:
            run[k] = ns / cnt
            f.write("%sbpf_%s_runs_per_op=%.2f\n%sbpf_%s_ns_per_run=%d\n"
                    % (pre, k, cnt / n, pre, k, ns / cnt))
    for k in sorted(run):
        e = "e_" + k[4:]
        if k.startswith("tcl_") and run.get(e):
            f.write("%sbpf_%s_vs_empty=%.2f\n" % (pre, k, run[k] / run[e]))
    f.write("%sbpf_ns_per_op=%d\n" % (pre, tot / n))
PY
	}
	# bpfrun KV N [PREFIX] CMD...: bpf_stats and cache counters around CMD (N operations)
	bpfrun() {
		kvf=$1 n=$2 pre=$3
		shift 3
		"$@" >/dev/null
		bpfstats $W/st0
		"$@" >/dev/null
		bpfstats $W/st1
		bpfdiff $n $kvf $pre
	}
	SE=$((N / 4)); [ $SE -lt 100 ] && SE=100
	bpfrun $W/exec.kv $SE "" inscope $W/allowed/benchtool exec-loop $SE $W/allowed/tool-a
	bpfrun $W/mmap.kv $((SE / 20)) "" inscope $W/allowed/benchtool exec-loop $((SE / 20)) \
		$W/allowed/libs/many50
	bpfrun $W/open.kv $((SE * 10)) "" inscope $W/allowed/benchtool open-loop $((SE * 10)) \
		$OPENPATH
	bpfrun $W/open.kv $((SE * 10)) out_of_scope_ $W/allowed/benchtool open-loop $((SE * 10)) \
		$OPENPATH
	# Where containers' files are: the overlay root of this guest (9p below, never cached: see
	# the system libraries above) and an overlayfs rootfs on local layers, as a container's.
	bpfrun $W/exec.kv $SE guest_root_ inscope $W/allowed/benchtool exec-loop $SE $F/tool-a
	OV=$W/ovl
	mkdir -p $OV/lower $OV/upper $OV/work $OV/merged
	cp $F/tool-a $OV/lower/
	if mount -t overlay overlay -o lowerdir=$OV/lower,upperdir=$OV/upper,workdir=$OV/work \
		$OV/merged; then
		bpfrun $W/exec.kv $SE overlay_rootfs_ inscope $W/allowed/benchtool exec-loop $SE \
			$OV/merged/tool-a
		umount $OV/merged
	fi
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	rm -rf $EMPTY
	unload
	for b in exec mmap open; do
		env_kv $b
		kv rounds $ROUNDS $b
	done
	kv execs_per_condition $((NB * ROUNDS)) exec
	kv execs_per_condition $((MB * ROUNDS)) mmap
	kv libraries 50 mmap
	kv opens_per_condition $((OB * ROUNDS)) open
	kv path "$OPENPATH" open
	python3 - $W exec mmap open openout <<'PY'
import statistics, sys
w = sys.argv[1]
res = {}
for b in sys.argv[2:]:
    # openout: the open loop run out of scope, reported in open.json as out_of_scope_*
    kb, pre = ("open", "out_of_scope_") if b == "openout" else (b, "")
    with open("%s/%s.kv" % (w, kb), "a") as f:
        unit = "exec" if b in ("exec", "mmap") else "open"
        r = {}
        for c in ("none", "audit", "enforce", "enforce_noguard"):
            v = [int(x) for x in open("%s/%s-%s.ns" % (w, b, c))]
            r[c] = (statistics.median(v), min(v))
            f.write("%s%s_ns_per_%s_median=%d\n" % (pre, c, unit, r[c][0]))
            f.write("%s%s_ns_per_%s_min=%d\n" % (pre, c, unit, r[c][1]))
            f.write("%s%s_blocks=%d\n" % (pre, c, len(v)))
        for c in ("audit", "enforce", "enforce_noguard"):
            f.write("%s%s_vs_none_median=%.4f\n" % (pre, c, r[c][0] / r["none"][0]))
            f.write("%s%s_vs_none_min=%.4f\n" % (pre, c, r[c][1] / r["none"][1]))
        kvs = dict(l.rstrip("\n").split("=", 1) for l in open("%s/%s.kv" % (w, kb)))
        if pre == "" and "bpf_ns_per_op" in kvs:
            # the programs' own time added to the fastest no-agent run (trampolines excluded)
            f.write("enforce_vs_none_bpf_time=%.4f\n"
                    % ((r["none"][1] + int(kvs["bpf_ns_per_op"])) / r["none"][1]))
        res[b] = r
# What an exec with 50 libraries costs beyond a static exec's overhead, per executable mapping
# (50 libraries + libc; ld.so itself is mapped by the kernel, not through mmap()).
with open("%s/mmap.kv" % w, "a") as f:
    for i, k in ((0, "median"), (1, "min")):
        m, e = res["mmap"], res["exec"]
        extra = (m["enforce"][i] - m["none"][i]) - (e["enforce"][i] - e["none"][i])
        f.write("enforce_ns_per_mmap_check_%s=%d\n" % (k, extra / 51))
PY
	for b in exec mmap open; do
		tojson $b
		say "$b: $(tr -d '\n ' <$OUT/$b.json)"
	done
fi

# --- 2: first exec with a cold digest cache: in-kernel hashing vs openssl ---------------------
if want cold; then
	insmod /lib/modules/*/kernel/arch/x86/crypto/sha256-ssse3.ko 2>/dev/null
	env_kv cold
	# the sha256 implementation the kernel's crypto API picks: the highest priority
	drv=$(awk '/^name/ {n = $3} /^driver/ {d = $3} /^priority/ && n == "sha256" {print $3, d}' \
		/proc/crypto | sort -n | tail -1 | cut -d' ' -f2)
	kv kernel_sha256_driver "$drv" cold
	agent enforce || exit 1
	settle
	: >$W/empty
	for mb in 1 10 100; do
		f=$W/allowed/pad$mb
		k=5
		[ $mb = 100 ] && k=3
		cat $f >/dev/null
		# One openssl run hashes the file r times: its start-up (~0.5 s under TCG) is paid
		# once and subtracted with a run on an empty file.
		r=$((20 / mb)); [ $r -lt 2 ] && r=2
		files=$(for _ in $(seq $r); do printf '%s ' $f; done)
		for _ in $(seq 3); do
			t0=$(now); openssl dgst -sha256 $W/empty >/dev/null; t1=$(now)
			openssl dgst -sha256 $files >/dev/null; t2=$(now)
			echo $((t1 - t0)) >>$W/ossl0-$mb; echo $(((t2 - t1) / r)) >>$W/ossl-$mb
		done
		kv size_${mb}mb_openssl_files_per_run $r cold
		inscope $W/allowed/benchtool exec-times $k $f >$W/warm-$mb
		inscope $W/allowed/benchtool exec-times $k $f --cold >$W/cold-$mb
		grep -q failed $W/warm-$mb $W/cold-$mb && say "cold: pad$mb did not run"
		o=$(($(median <$W/ossl-$mb) - $(median <$W/ossl0-$mb) / r))
		c=$(($(median <$W/cold-$mb) - $(median <$W/warm-$mb)))
		bytes=$(stat -c %s $f)
		kv size_${mb}mb_bytes $bytes cold
		kv size_${mb}mb_first_exec_ns $(median <$W/cold-$mb) cold
		kv size_${mb}mb_warm_exec_ns $(median <$W/warm-$mb) cold
		kv size_${mb}mb_kernel_hash_ns $c cold
		kv size_${mb}mb_openssl_hash_ns $o cold
		kv size_${mb}mb_openssl_startup_ns $(median <$W/ossl0-$mb) cold
		kv size_${mb}mb_kernel_mib_per_s $(mbps $bytes $c) cold
		kv size_${mb}mb_openssl_mib_per_s $(mbps $bytes $o) cold
		kv size_${mb}mb_kernel_vs_openssl $(awk -v c=$c -v o=$o 'BEGIN {printf "%.3f", o / c}') cold
		say "cold: ${mb} MB: kernel $c ns, openssl $o ns"
	done
	kv cache_misses "$(counter cache_misses)" cold
	unload
	tojson cold
	say "cold: $(cat $OUT/cold.json | tr -d '\n ')"
fi

# --- 4: the event stream: denials/s delivered to tclctl events --follow -------------------------
if want events; then
	SECS=8
	env_kv events
	kv seconds_per_rate $SECS events
	agent enforce || exit 1
	settle
	"$B/tclctl" events --follow >$W/stream.out 2>$W/stream.err &
	FPID=$!
	sleep 1
	# PROCS:RATE: PROCS processes attempt the denied exec at RATE/s in total (0: flat out).
	for phase in 1:250 1:500 1:1000 1:2000 1:4000 1:0 2:0 4:0; do
		procs=${phase%:*} rate=${phase#*:}
		d0=$(counter denials); x0=$(counter drops)
		l0=$(grep -c '"verdict":"deny"' $W/stream.out)
		c0=$(dropsum $W/stream.out)
		pids=
		for i in $(seq $procs); do
			inscope $W/allowed/benchtool deny-rate $((rate / procs)) $SECS $W/unlisted \
				>$W/gen.$i &
			pids="$pids $!"
		done
		wait $pids
		sleep 3
		d=$(($(counter denials) - d0)); x=$(($(counter drops) - x0))
		l=$(($(grep -c '"verdict":"deny"' $W/stream.out) - l0))
		c=$(($(dropsum $W/stream.out) - c0))
		got=$((d / SECS))
		name=${rate}
		[ $rate = 0 ] && name=max_x$procs
		kv rate_${name}_target_per_s $rate events
		kv rate_${name}_generators $procs events
		kv rate_${name}_denials_per_s $got events
		kv rate_${name}_denials $d events
		kv rate_${name}_delivered $l events
		kv rate_${name}_kernel_drops $x events
		kv rate_${name}_stream_drop_counts $c events
		kv rate_${name}_accounted "$([ $((l + c)) -eq $d ] && echo true || echo false)" events
		say "events: $procs x $rate/s: $got denials/s, $l delivered, kernel drops $x," \
			"drop counts in the stream $c (of $d)"
	done
	kill $FPID 2>/dev/null
	python3 - $W/events.kv <<'PY' >>$W/events.kv
import sys
d = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]))
rates = [k[5:-len("_target_per_s")] for k in d if k.endswith("_target_per_s")]
clean, first = 0, None
for r in sorted(rates, key=lambda r: int(d["rate_%s_denials_per_s" % r])):
    got = int(d["rate_%s_denials_per_s" % r])
    drops = int(d["rate_%s_stream_drop_counts" % r]) + int(d["rate_%s_kernel_drops" % r])
    if drops == 0 and int(d["rate_%s_delivered" % r]) == int(d["rate_%s_denials" % r]):
        clean = max(clean, got)
    elif first is None:
        first = got
print("max_rate_without_drops_per_s=%d" % clean)
print("drops_begin_at_per_s=%s" % (first if first is not None else "not reached"))
PY
	unload
	tojson events
	say "events: $(cat $OUT/events.json | tr -d '\n ')"
fi

# --- issue 5: exec latency with the measurement log anchored in the TPM, and without ----------
# The agent in enforce mode with --tpm none, and with the guest's TPM (swtpm behind QEMU's
# tpm-tis) at /dev/tpmrm0. Timed: the first exec of distinct files (tiny static ELFs of distinct
# content, all in the policy), each of which the kernel hashes and reports, and the agent logs
# and extends into the PCR: one measurement and one extend per file; then warm execs of one file
# already measured (no measurement at all). The exec path never waits for user space, so what
# the ratio shows is what logging and extending cost the other work on the same CPUs. Rounds
# none, tpm, tpm, none (a host whose load drifts favours neither), each with files, a log and
# (tpm) a PCR of its own.
# logstat KEY: a field of the agent's measurement log status (tclctl status)
# (sed, not python: it is polled, and a python start costs a second of emulated CPU)
logstat() {
	"$B/tclctl" status 2>/dev/null |
		sed -n "s/^agent: .*\"log\":{[^}]*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}
# mkelfs DIR N TAG: N static x86-64 ELFs that exit 0, distinct by a trailer naming TAG and index
mkelfs() {
	mkdir -p $1
	python3 - "$@" <<'PY'
import os, struct, sys
d, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = 0x400000
code = b"\xb8\x3c\x00\x00\x00\x31\xff\x0f\x05"  # exit(0)
for i in range(n):
    trailer = ("tcl bench %s %d\n" % (tag, i)).encode()
    total = 64 + 56 + len(code) + len(trailer)
    eh = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, base + 120,
                                                          64, 0, 0, 64, 56, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)
    p = os.path.join(d, "x%05d" % i)
    with open(p, "wb") as f:
        f.write(eh + ph + code + trailer)
    os.chmod(p, 0o755)
PY
}
if want tpm; then
	TF=$((TPMFILES / 100 * 100))
	[ $TF -lt 100 ] && TF=100
	TW=$((N / 4 / 100 * 100))
	[ $TW -lt 100 ] && TW=100
	env_kv tpm_exec
	kv files_per_round $TF tpm_exec
	kv warm_execs_per_round $TW tpm_exec
	kv log_filesystem "$(stat -f -c %T $W)" tpm_exec
	kv tpm "$(tpm2_getcap properties-fixed 2>/dev/null | awk '/TPM2_PT_MANUFACTURER:/ {m = 1}
		m && /value:/ {gsub(/"/, "", $2); print $2; exit}')" tpm_exec
	unload
	for rd in 1 2 3 4; do mkelfs $W/tpm/r$rd $TF r$rd || exit 1; done
	"$B/tclctl" policy generate --dir $W/allowed --dir $W/tpm -o $W/tpm-policy.json 2>/dev/null ||
		{ say "tpm: cannot write the policy"; exit 1; }
	# Every file read once with nothing loaded: the page cache is warm for all rounds alike.
	for rd in 1 2 3 4; do inscope $W/allowed/benchtool exec-each $W/tpm/r$rd/* >/dev/null; done
	# PCRs nothing else in the guest extends (IMA's boot_aggregate goes to 10), and that
	# locality 0 may extend (17-22 need a higher locality on a PC client TPM)
	for rc in 1:none 2:tpm:14 3:tpm:15 4:none; do
		# not r: blocks() sets that
		rd=${rc%%:*} c=$(echo $rc | cut -d: -f2) pcr=$(echo $rc | cut -d: -f3)
		unload
		if [ $c = tpm ]; then
			AGENT_POLICY=$W/tpm-policy.json AGENT_TPM=device:/dev/tpmrm0 \
				AGENT_LOG=$W/tpm-r$rd.bin agent enforce --pcr $pcr || exit 1
		else
			AGENT_POLICY=$W/tpm-policy.json AGENT_LOG=$W/tpm-r$rd.bin agent enforce || exit 1
		fi
		settle
		e0=$(logstat entries)
		t0=$(now)
		for i in $(seq 0 $((TF / 100 - 1))); do
			t=$(inscope $W/allowed/benchtool exec-each \
				$(seq -f "$W/tpm/r$rd/x%05g" $((i * 100)) $((i * 100 + 99))) |
				sed -n 's/.*total_ns=\([0-9]*\) failed=0$/\1/p')
			[ -n "$t" ] && echo $((t / 100)) >>$W/tpm-first-$c.ns
		done
		t1=$(now)
		# until every file is logged (and extended, with the TPM): at most 5 minutes
		while [ $(($(now) - t1)) -lt 300000000000 ]; do
			e=$(logstat entries) x=$(logstat extended) q=$(logstat queued)
			[ "${e:-0}" -ge $((e0 + TF)) ] && [ "$q" = 0 ] &&
				{ [ $c = none ] || [ "$x" = "$e" ]; } && break
			sleep 0.2
		done
		t2=$(now)
		for k in entries extended queued dropped refused state anchored; do
			kv r${rd}_${c}_log_$k "$(logstat $k)" tpm_exec
		done
		kv r${rd}_${c}_files_logged "$("$B/tclctl" log show --log $W/tpm-r$rd.bin |
			grep -c "/tpm/r$rd/x")" tpm_exec
		kv r${rd}_${c}_execs_s $(awk -v t=$((t1 - t0)) 'BEGIN {printf "%.2f", t / 1e9}') tpm_exec
		kv r${rd}_${c}_all_logged_s $(awk -v t=$((t2 - t0)) 'BEGIN {printf "%.2f", t / 1e9}') \
			tpm_exec
		kv r${rd}_${c}_measurements_per_s \
			$(awk -v n=$TF -v t=$((t2 - t0)) 'BEGIN {printf "%.1f", n / (t / 1e9)}') tpm_exec
		if [ $c = tpm ]; then
			"$B/tclctl" log verify --log $W/tpm-r$rd.bin --pcr $pcr --tpm device:/dev/tpmrm0 \
				>$W/verify.out 2>&1 && v=ok || v="failed: $(tail -1 $W/verify.out)"
			kv r${rd}_${c}_log_verify "$v" tpm_exec
		fi
		blocks $W/tpm-warm-$c.ns $TW 100 $W/allowed/benchtool exec-loop 100 $W/tpm/r$rd/x00000
		say "tpm: round $rd ($c): first exec $(median <$W/tpm-first-$c.ns) ns," \
			"warm $(median <$W/tpm-warm-$c.ns) ns, all logged after $(((t2 - t0) / 1000000)) ms"
	done
	unload
	python3 - $W $W/tpm_exec.kv <<'PY' >>$W/tpm_exec.kv
import sys
w = sys.argv[1]
kv = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[2]))
def ns(name):
    v = sorted(int(l.split()[0]) for l in open("%s/%s.ns" % (w, name)))
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) // 2, v[0]
for kind in ("first", "warm"):
    t, n = ns("tpm-%s-tpm" % kind), ns("tpm-%s-none" % kind)
    print("%s_exec_tpm_median_ns=%d\n%s_exec_tpm_min_ns=%d" % (kind, t[0], kind, t[1]))
    print("%s_exec_none_median_ns=%d\n%s_exec_none_min_ns=%d" % (kind, n[0], kind, n[1]))
    print("%s_exec_tpm_vs_none_median=%.4f" % (kind, t[0] / n[0]))
    print("%s_exec_tpm_vs_none_min=%.4f" % (kind, t[1] / n[1]))
ext = sum(int(kv[k]) for k in kv if k.endswith("_tpm_log_extended"))
# log entries extended into the PCR in the tpm rounds (each extends both banks)
print("pcr_extends_total=%d" % ext)
PY
	tojson tpm_exec
	say "tpm: $(tr -d '\n ' <$OUT/tpm_exec.json)"
fi

# --- 5: memory: agent RSS and BPF maps with many images -----------------------------------------
mem_avail() { sed -n 's/^MemAvailable:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo; }
# Kernel memory that BPF maps come from: unreclaimable slab (map elements), vmalloc (preallocated
# and array maps, ring buffer), per-CPU areas.
kmem() { awk '/^(SUnreclaim|VmallocUsed|Percpu):/ {s += $2} END {print s}' /proc/meminfo; }
quiesce() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 2; }
proc_kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$1/status; }
if want memory; then
	env_kv memory
	memlock() {
		bpftool -j map show | python3 -c 'import json, sys
maps = json.load(sys.stdin)
print(sum(m.get("bytes_memlock", 0) for m in maps
          if m.get("name", "").startswith(sys.argv[1])))' "$1"
	}
	echo '{"version": 1, "allow": []}' >$W/empty.json
	cp $W/policy.json $W/policy.keep
	cp $W/empty.json $W/policy.json
	quiesce; k0=$(kmem)
	agent enforce || exit 1
	settle
	kv empty_agent_rss_kb "$(proc_kb $APID VmRSS)" memory
	kv empty_kernel_kb $(($(kmem) - k0)) memory
	kv empty_maps_memlock_bytes "$(memlock tcl)" memory
	kv empty_allow_memlock_bytes "$(memlock tcl_allow)" memory
	unload
	# Policies with 1,000 images of K digests each (generated by bench/run.sh on the host).
	for p in $BO/policy-*.json; do
		[ -f "$p" ] || continue
		tag=$(basename $p .json | sed 's/^policy-//')
		cp $p $W/policy.json
		kv ${tag}_policy_bytes $(stat -c %s $p) memory
		quiesce; k0=$(kmem); t0=$(now)
		if AGENT_WAIT=6000 agent enforce; then
			kv ${tag}_start_s $(awk -v t=$(($(now) - t0)) 'BEGIN {printf "%.1f", t / 1e9}') memory
			kv ${tag}_agent_rss_kb "$(proc_kb $APID VmRSS)" memory
			kv ${tag}_agent_peak_rss_kb "$(proc_kb $APID VmHWM)" memory
			kv ${tag}_kernel_kb $(($(kmem) - k0)) memory
			n=$(bpftool -j map dump pinned $PIN/tcl_allow |
				python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
			kv ${tag}_digests_loaded "$n" memory
		else
			kv ${tag}_error "$(grep -v '^tcl-agent: policy: allowing' $W/agent.log | tail -1)" memory
		fi
		say "memory: $tag: $(grep "^${tag}_" $W/memory.kv | tr '\n' ' ')"
		unload
	done
	# The kernel side of 1,000 images x 2,000 digests, loaded directly (mapfill) as the agent's
	# loader sets the maps up, at the default capacity and with max_digests 2,097,152.
	for cap in 0 2097152; do
		tag=cap_default
		[ $cap = 0 ] || tag=cap_$cap
		quiesce; k0=$(kmem)
		r=$($BO/mapfill $PIN $cap 1000 2000 2>&1)
		kv ${tag}_result "$(echo $r)" memory
		kv ${tag}_kernel_kb $(($(kmem) - k0)) memory
		kv ${tag}_allow_memlock_bytes "$(memlock tcl_allow)" memory
		say "memory: mapfill, capacity ${cap:-default}: $(echo $r), kernel $(($(kmem) - k0)) kB"
		unload
	done
	cp $W/policy.keep $W/policy.json
	tojson memory
	say "memory: $(tr -d '\n ' <$OUT/memory.json)"
fi
exit 0
