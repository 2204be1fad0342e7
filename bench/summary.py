#!/usr/bin/python3
"""bench/summary.py RESULTS_DIR: write RESULTS_DIR/summary.json, the figures issue 17 asks for,
from the other results of that directory (bench/run.sh runs it after the guest). A figure that
was not measured is null, with the reason in "notes"."""
import json
import os
import sys

if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
    print(__doc__)
    sys.exit(0 if len(sys.argv) == 2 else 2)
out = sys.argv[1]


def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


exe, mm, op, cold, mem, cons = (load(n) for n in ("exec", "mmap", "open", "cold", "memory",
                                                  "consume"))
notes = {}
s = {}

# Each program's ratio to the empty one on its hook, from the benchmark it runs most in.
best = {}
for d in (exe, mm, op):
    for k, v in d.items():
        if k.startswith("bpf_tcl_") and k.endswith("_vs_empty"):
            prog = k[len("bpf_"):-len("_vs_empty")]
            runs = d.get("bpf_%s_runs_per_op" % prog, 0)
            if prog not in best or runs > best[prog][0]:
                best[prog] = (runs, v)
s["prog_vs_empty"] = {p: best[p][1] for p in sorted(best)} or None
if not best:
    notes["prog_vs_empty"] = "no bpf_stats with empty programs in exec/mmap/open.json"


def pick(key, d, k, why):
    if k in d:
        s[key] = d[k]
    else:
        s[key] = None
        notes[key] = why


pick("exec_enforce_vs_none_median", exe, "enforce_vs_none_median", "exec benchmark not run")
pick("exec_enforce_vs_none_fastest", exe, "enforce_vs_none_min", "exec benchmark not run")
pick("open_out_of_scope_vs_none", op, "out_of_scope_enforce_vs_none_median",
     "open benchmark out of scope not run")
pick("open_in_scope_vs_none", op, "enforce_vs_none_median", "open benchmark not run")
h = {}
for size in ("1MB", "10MB", "100MB"):
    k = "size_%smb_kernel_vs_openssl" % size[:-2]
    h[size] = cold.get(k)
    if h[size] is not None and h[size] <= 0:
        notes["hash_kernel_vs_openssl"] = "cold.json's kernel hash time is not positive: invalid"
        h[size] = None
    if h[size] is None:
        notes.setdefault("hash_kernel_vs_openssl", "cold benchmark not run (%s)" % k)
s["hash_kernel_vs_openssl"] = h
if "empty_kernel_kb" in mem:
    s["kernel_mb_empty_policy"] = round(mem["empty_kernel_kb"] / 1024, 1)
else:
    s["kernel_mb_empty_policy"] = None
    notes["kernel_mb_empty_policy"] = "memory benchmark not run"
# Kernel memory with the largest policy that loaded, over the digests it loaded: what a digest
# costs including whatever is allocated whether digests are loaded or not.
loaded = [(mem[k], k[:-len("_digests_loaded")]) for k in mem
          if k.endswith("_digests_loaded") and mem[k]]
if loaded:
    n, tag = max(loaded)
    s["kernel_bytes_per_digest"] = round(mem["%s_kernel_kb" % tag] * 1024 / n)
    notes["kernel_bytes_per_digest"] = ("kernel memory with policy %s (%d digests loaded) "
                                        "divided by those digests" % (tag, n))
else:
    s["kernel_bytes_per_digest"] = None
    notes["kernel_bytes_per_digest"] = "memory benchmark not run or no policy loaded"
if "1000x2000_start_s" in mem:
    s["digests_2m_start_s"] = mem["1000x2000_start_s"]
    s["rss_mb_2m_digests"] = round(mem["1000x2000_agent_rss_kb"] / 1024, 1)
else:
    why = mem.get("1000x2000_error", "memory benchmark not run")
    s["digests_2m_start_s"] = None
    s["rss_mb_2m_digests"] = None
    notes["digests_2m_start_s"] = notes["rss_mb_2m_digests"] = "not loaded: " + why
if "records_per_s_per_core" in cons:
    s["consume_records_per_s_per_core"] = cons["records_per_s_per_core"]
else:
    s["consume_records_per_s_per_core"] = None
    notes["consume_records_per_s_per_core"] = "no host micro-benchmark of the consume path yet"
dates = [d["date"] for d in (exe, mm, op, cold, mem, cons) if "date" in d]
s["date"] = max(dates) if dates else None
m = next((d for d in (exe, cold, mem) if "machine" in d), {})
s["machine"] = ("%s, %s, %s vCPUs, kernel %s, -cpu %s" %
                (m.get("machine"), m.get("cpu"), m.get("cpus"), m.get("kernel"),
                 m.get("qemu_cpu", "qemu default"))) if m else None
# Which run each figure comes from: a subset rerun (bench/run.sh NAME) leaves the others as
# they were.
notes["sources"] = {n: d.get("date") for n, d in (("exec", exe), ("mmap", mm), ("open", op),
                                                   ("cold", cold), ("memory", mem),
                                                   ("consume", cons)) if d}
s["notes"] = notes
with open(os.path.join(out, "summary.json.tmp"), "w") as f:
    json.dump(s, f, indent=1, sort_keys=True)
    f.write("\n")
os.rename(os.path.join(out, "summary.json.tmp"), os.path.join(out, "summary.json"))
