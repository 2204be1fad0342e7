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
check() { _cn=$1; shift; if "$@"; then pass "$_cn"; else fail "$_cn"; fi; }
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

# --- containers (real runc, kubelet-style cgroup paths, CRI annotations) ---
# make_bundle DIR IMAGE CGROUPS_PATH ID POD POD_UID NS NAME FILES... : an OCI bundle whose rootfs
# holds busybox (static) as /bin/busybox and sh, plus FILES (static binaries) under /bin.
make_bundle() {
	dir=$1 image=$2 cgpath=$3 id=$4 pod=$5 uid=$6 ns=$7 name=$8
	shift 8
	rm -rf "$dir"; mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/tmp"
	cp /bin/busybox "$dir/rootfs/bin/busybox"
	ln -s busybox "$dir/rootfs/bin/sh"
	for f in "$@"; do cp "$f" "$dir/rootfs/bin/"; done
	(cd "$dir" && runc spec)
	python3 - "$dir/config.json" "$image" "$cgpath" "$id" "$pod" "$uid" "$ns" "$name" <<'PY'
import json, sys
p, image, cgpath, cid, pod, uid, ns, name = sys.argv[1:]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", "sleep 1000"]
c["root"]["readonly"] = False
c["linux"]["cgroupsPath"] = cgpath
c["annotations"] = {
    "io.kubernetes.cri.container-type": "container",
    "io.kubernetes.cri.container-name": name,
    "io.kubernetes.cri.sandbox-id": "f" * 64,
    "io.kubernetes.cri.sandbox-name": pod,
    "io.kubernetes.cri.sandbox-namespace": ns,
    "io.kubernetes.cri.sandbox-uid": uid,
    "io.kubernetes.cri.image-name": image,
}
json.dump(c, open(p, "w"), indent=1)
PY
}
# start_container DIR ID: runc create, wait until the agent attributed it, runc start.
start_container() {
	runc create --bundle "$1" "$2" >/dev/null 2>&1 </dev/null || return 1
	wait_for "$EVENTS" "\"type\":\"container_start\".*\"container_id\":\"$2\"" 100 || return 1
	runc start "$2"
}
stop_container() { runc kill "$1" KILL 2>/dev/null; sleep 0.3; runc delete -f "$1" 2>/dev/null; }

# --- images: OCI layouts in a registry on 127.0.0.1, signed golden manifests ---
# registry_start DIR: prints "PORT PID"
registry_start() { bash -c '. "$0/tests/service/registry.sh"; reg_start "$1" >/dev/null && echo "$REG_PORT $REG_PID"' "$TOP" "$1"; }
# publish ROOTFS NAME TAG KEY [ENTRYPOINT ARG...]: build the image (entrypoint default /bin/sh),
# push it, generate + sign + push its golden manifest (KEY empty: no golden manifest). Prints the
# image digest.
publish() {
	_root=$1 _name=$2 _tag=$3 _key=$4 _d=$T/img-$2-$3
	shift 4
	rm -rf $_d; mkdir -p $_d
	python3 "$TOP/tests/mkoci.py" rootfs "$_root" $_d/layout "$_tag" "$@" >/dev/null || return 1
	_ref=$("$B/tclctl" image push --oci $_d/layout:$_tag --registry $REG $_name:$_tag 2>/dev/null) || return 1
	_dig=${_ref#*@}
	if [ -n "$_key" ]; then
		"$B/tclctl" golden generate --oci $_d/layout:$_tag --ref ${REG#http://}/$_name:$_tag \
			-o $_d/golden.json 2>/dev/null &&
		"$B/tclctl" golden sign --key $_key $_d/golden.json 2>/dev/null &&
		"$B/tclctl" golden push --registry $REG $_name@$_dig --manifest $_d/golden.json \
			--sig $_d/golden.json.sig >/dev/null 2>&1 || return 1
	fi
	echo $_dig
}
# hook_bundle DIR: wire tcl-hook into the bundle's config.json as a createRuntime hook
hook_bundle() {
	python3 - "$1/config.json" "$B/tcl-hook" "${2:-}" "${3:-}" <<'PY'
import json, sys
p, hook, digest, args = sys.argv[1:]
c = json.load(open(p))
c.setdefault("hooks", {})["createRuntime"] = [{"path": hook, "args": ["tcl-hook"], "timeout": 30}]
if digest:
    c["annotations"]["org.tcl.image.digest"] = digest
if args:
    c["process"]["args"] = ["/bin/sh", "-c", args]
json.dump(c, open(p, "w"), indent=1)
PY
}

# --- containerd 1.6 with its CRI plugin, configured by scripts/install-hooks.sh as on a node ---
CRI="/usr/bin/python3 $TOP/tests/guest/cri/cri.py"
CD_TASKS=/run/containerd/io.containerd.runtime.v2.task/k8s.io
CD_PID=
# containerd_start REGISTRY SANDBOX_IMAGE LOG: a tmpfs for its root (the guest's root is 9p + an
# overlay: overlayfs snapshots need a file system of their own), a config pulling from REGISTRY
# (host:port, plain http) with SANDBOX_IMAGE as pause image, tcl-hook put in by install-hooks.sh,
# containerd started; waits until CRI answers.
containerd_start() {
	mkdir -p /var/lib/containerd /etc/containerd
	mountpoint -q /var/lib/containerd || mount -t tmpfs tmpfs /var/lib/containerd || return 1
	cat > /etc/containerd/config.toml <<TOML
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$2"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$1"]
    endpoint = ["http://$1"]
TOML
	sh "$TOP/scripts/install-hooks.sh" --runtime containerd --hook "$B/tcl-hook" \
		--tclctl "$B/tclctl" >/dev/null || return 1
	containerd >"$3" 2>&1 &
	CD_PID=$!
	for _ in $(seq 150); do
		$CRI --timeout 2 version >/dev/null 2>&1 && return 0
		kill -0 $CD_PID 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
# containerd_stop: containerd and the shims and containers it left, its root
containerd_stop() {
	[ -n "$CD_PID" ] && kill $CD_PID 2>/dev/null && wait $CD_PID 2>/dev/null
	CD_PID=
	for _d in $(ls $CD_TASKS 2>/dev/null); do
		runc --root /run/containerd/runc/k8s.io delete -f $_d >/dev/null 2>&1
	done
	umount -l /var/lib/containerd 2>/dev/null
}
