#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark (issue 8 item 6): PCR extends per second through the measurement pipeline's batching
# worker (lib/measure.c: queue -> log append + fdatasync -> tcl_tpm_extend_batch, both banks)
# vs one `tpm2_pcrextend` process per entry, side by side against the same throwaway swtpm.
# Prints both rates and their ratio, and what queueing one measurement costs the caller with and
# without a TPM (it must not wait for the TPM); writes bench/results/tpm.json. Not part of
# `make test`.
# usage: bench/tpm_extend.sh [N_WORKER (20000)] [N_PCREXTEND (300)]
# Needs: swtpm, swtpm-tools, tpm2-tools, libtss2, OpenSSL 3, json-c.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/swtpm/swtpm-lib.sh
NW=${1:-20000}
NP=${2:-300}
TMP=$(mktemp -d /tmp/tcl-bench-tpm.XXXXXX)
trap 'swtpm_stop; rm -rf "$TMP"' EXIT
die() { echo "tpm_extend.sh: $*" >&2; exit 1; }

CFLAGS="-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE -Iinclude
	-Ilib -Ictl $(pkg-config --cflags json-c)"
LIBS="$(pkg-config --libs tss2-esys tss2-mu tss2-rc tss2-tctildr openssl json-c) -lpthread"
# shellcheck disable=SC2086
gcc $CFLAGS tests/swtpm/measure_tool.c lib/measure.c ctl/log.c ctl/quote.c ctl/ak.c ctl/cmds.c \
	lib/log.c lib/logseg.c lib/tpm.c lib/tpm_verify.c lib/canonjson.c lib/util.c lib/diag.c lib/fileio.c \
	lib/hexb64.c lib/escape.c lib/jsonb.c $LIBS -o "$TMP/measure_tool" ||
	die "build failed"

swtpm_make_state "$TMP" || die "$SWTPM_ERR"
swtpm_start "$TMP" || die "$SWTPM_ERR"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
now() { date +%s.%N; }

# 1. Through the worker: N distinct file measurements queued, then flushed (everything logged,
#    fdatasync'd and extended into both banks of PCR 13).
"$TMP/measure_tool" --log "$TMP/log/m.bin" --tpm "$SWTPM_TCTI" status >/dev/null ||
	die "pipeline does not open"
t0=$(now)
"$TMP/measure_tool" --log "$TMP/log/m.bin" --tpm "$SWTPM_TCTI" burst "$NW" >"$TMP/burst.out" 2>&1 ||
	die "burst failed: $(tail -3 "$TMP/burst.out")"
t1=$(now)
grep -q "extended=$((NW + 1)) queued=0 .*dropped=0" "$TMP/burst.out" ||
	die "not every measurement was extended: $(cat "$TMP/burst.out")"
"$TMP/measure_tool" tclctl log verify --log "$TMP/log/m.bin" --tpm "$SWTPM_TCTI" --strict \
	>/dev/null || die "PCR is not the replay of the log after the run"
# The driver's own clock: first queued entry to flush return (no process start, no open).
wsec=$(sed -n 's/.*all logged and extended after \([0-9.]*\) s.*/\1/p' "$TMP/burst.out")
wrate=$(awk -v n="$NW" -v s="$wsec" 'BEGIN { printf "%.0f", n / s }')
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')

# The caller's side: time to queue the N measurements (tcl_measure_file only), with the TPM
# and with --tpm none. The TPM must not show here: extends happen in the worker.
qsec=$(sed -n 's/.* events queued in \([0-9.]*\) s.*/\1/p' "$TMP/burst.out")
"$TMP/measure_tool" --log "$TMP/log/none.bin" --tpm none burst "$NW" >"$TMP/none.out" 2>&1 ||
	die "burst without TPM failed: $(tail -3 "$TMP/none.out")"
nsec=$(sed -n 's/.* events queued in \([0-9.]*\) s.*/\1/p' "$TMP/none.out")
qus=$(awk -v n="$NW" -v s="$qsec" 'BEGIN { printf "%.2f", s * 1e6 / n }')
nus=$(awk -v n="$NW" -v s="$nsec" 'BEGIN { printf "%.2f", s * 1e6 / n }')
qratio=$(awk -v a="$qus" -v b="$nus" 'BEGIN { printf "%.2f", a / b }')

# 2. One tpm2_pcrextend process per entry (both banks, as the worker extends them).
D1=$(printf tcl | sha1sum | cut -c1-40)
D2=$(printf tcl | sha256sum | cut -c1-64)
t0=$(now)
for _ in $(seq 1 "$NP"); do
	tpm2_pcrextend "14:sha1=$D1,sha256=$D2" || die "tpm2_pcrextend failed"
done
t1=$(now)
psec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
prate=$(awk -v n="$NP" -v s="$psec" 'BEGIN { printf "%.1f", n / s }')
ratio=$(awk -v a="$wrate" -v b="$prate" 'BEGIN { printf "%.1f", a / b }')
fs=$(stat -f -c %T "$TMP/log")

printf '%-44s %10s %10s %14s\n' "TPM extends (swtpm, sha1+sha256 banks)" entries seconds extends/s
printf '%-44s %10s %10s %14s\n' "batching worker (log+fdatasync+extend)" "$NW" "$wsec" "$wrate"
printf '%-44s %10s %10s %14s\n' "one tpm2_pcrextend process per entry" "$NP" "$psec" "$prate"
printf 'ratio worker / tpm2_pcrextend: %sx   (log on %s; worker run incl. process start: %s s)\n' \
	"$ratio" "$fs" "$wall"
printf 'caller cost per measurement (queueing): %s us with the TPM, %s us with --tpm none: %sx\n' \
	"$qus" "$nus" "$qratio"

mkdir -p bench/results
cat >bench/results/tpm.json.tmp <<JSON
{
  "bench": "tpm_extend",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "tpm": "$(swtpm --version 2>&1 | head -1 | sed 's/[",]//g')",
  "banks": ["sha1", "sha256"],
  "log_filesystem": "$fs",
  "worker": { "entries": $NW, "seconds": $wsec, "extends_per_s": $wrate },
  "tpm2_pcrextend": { "entries": $NP, "seconds": $psec, "extends_per_s": $prate },
  "ratio": $ratio,
  "caller_us_per_measurement": { "tpm": $qus, "no_tpm": $nus, "ratio": $qratio }
}
JSON
mv bench/results/tpm.json.tmp bench/results/tpm.json
echo "wrote bench/results/tpm.json"
