#!/bin/sh
# Hardening: self-protection against root in a container (CAP_SYS_ADMIN + CAP_BPF, bpffs and the
# host's cgroup tree mounted), the agent against ptrace, and the attack list of
# docs/threat-model.md. Agent in enforce mode, scope cgroup:/tclhard (host tasks run in
# /tclhard/h, containers in /tclhard/ctr*).
# A "GAP" line is an attack the threat model documents as not stopped yet: it is neither a pass
# nor a failure, and becomes a pass the day it is stopped.
. "$TOP/tests/guest/lib.sh"
T=/tmp/tclhard
rm -rf $T; mkdir -p $T/allowed $T/w $CG/tclhard/h
EVENTS=$T/events.jsonl
MODS=$(echo /lib/modules/*/kernel)
LIBC=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)
LDSO=$(readlink -f /lib64/ld-linux-x86-64.so.2)
run() { incg tclhard/h "$@"; }
# gap NAME CMD...: CMD succeeds when the attack is stopped
gap() {
	_gn=$1; shift
	if "$@"; then pass "$_gn"; else echo "GAP $_gn" >>"$TCL_RESULTS"; echo "  GAP  $_gn"; fi
}
denied() { ! "$@" >/dev/null 2>&1; }
quiet() { "$@" >/dev/null 2>&1; }

# A 32-bit x86 ELF that writes its message: write(1, msg, len); exit(0) with int 0x80.
mkelf32() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
msg = sys.argv[2].encode() + b"\n"
base = 0x08048000; entry = base + 52 + 32
code = (b"\xb8\x04\x00\x00\x00\xbb\x01\x00\x00\x00\xb9" + struct.pack("<I", entry + 31) +
        b"\xba" + struct.pack("<I", len(msg)) + b"\xcd\x80\xb8\x01\x00\x00\x00\x31\xdb\xcd\x80")
total = 52 + 32 + len(code) + len(msg)
eh = b"\x7fELF\x01\x01\x01" + b"\0" * 9 + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0,
                                                      52, 32, 1, 0, 0, 0)
ph = struct.pack("<IIIIIIII", 1, 0, base, base, total, total, 5, 0x1000)
open(sys.argv[1], "wb").write(eh + ph + code + msg)
PY
	chmod 755 "$1"
}

cp /usr/bin/true /bin/busybox $F/tamper "$LIBC" "$LDSO" $T/allowed/
ln -s busybox $T/allowed/sh
mkelf32 $T/allowed/ia32-ok "ia32 ran"
mkelf32 $T/ia32-bad "ia32 unlisted ran"
printf 'TCLX=1; echo binfmt-allowed-ran\n' >$T/allowed/bf-ok
printf 'TCLY=1; echo binfmt-badinterp-ran\n' >$T/allowed/bf-y
printf 'TCLZ=1; echo binfmt-fixed-ran\n' >$T/allowed/bf-z
printf 'TCLX=2; echo binfmt-unlisted-ran\n' >$T/bf-bad
chmod 755 $T/allowed/bf-* $T/bf-bad
cp $F/hello $T/unlisted
cp $F/hello $T/badinterp
"$B/tclctl" policy generate --dir $T/allowed -o $T/policy.json 2>/dev/null

# syslog: catch what tclctl unload says on /dev/log
python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try: os.unlink("/dev/log")
except OSError: pass
s.bind("/dev/log")
with open(sys.argv[1], "ab", buffering=0) as f:
    while True: f.write(s.recv(4096) + b"\n")
' $T/syslog &
SYSLOG_PID=$!

section "hardening: agent in enforce mode, scope cgroup:/tclhard"
check "agent starts" start_agent --enforce --policy $T/policy.json --scope cgroup:/tclhard \
	--events $EVENTS
"$B/tclctl" status >$T/status 2>&1
n=$(sed -n 's/^programs: \([0-9]*\)\/\([0-9]*\) attached.*/\1 \2/p' $T/status)
set -- $n
[ -n "$1" ] && [ "$1" = "$2" ] && grep -q tcl_guard_inode $T/status &&
	pass "the guard programs are attached ($1/$2)" || fail "the guard programs are attached ($n)"

section "self-protection: root in a container with CAP_SYS_ADMIN and CAP_BPF"
make_bundle $T/c1 registry.local/attacker:1 /tclhard/ctr1 tamper1 pod uid ns name $F/tamper
mkdir -p $T/c1/rootfs/lib/x86_64-linux-gnu $T/c1/rootfs/lib64 $T/c1/rootfs/sys/fs/bpf
cp "$LIBC" $T/c1/rootfs/lib/x86_64-linux-gnu/libc.so.6
cp "$LDSO" $T/c1/rootfs/lib64/ld-linux-x86-64.so.2
python3 - $T/c1/config.json <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
caps = ["CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON", "CAP_DAC_OVERRIDE", "CAP_NET_ADMIN", "CAP_KILL",
        "CAP_MAC_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER"]
for k in ("bounding", "effective", "permitted"):
    c["process"]["capabilities"][k] = caps
c["mounts"].append({"destination": "/sys/fs/bpf", "type": "bind", "source": "/sys/fs/bpf",
                    "options": ["rbind", "rw"]})
# The host's whole cgroup tree, writable: the way out of the scope, if there were one.
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
for m in c["mounts"]:
    if m["destination"] == "/sys/fs/cgroup":
        m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
c["linux"].pop("maskedPaths", None); c["linux"].pop("readonlyPaths", None)
json.dump(c, open(p, "w"), indent=1)
PY
runc run -d --bundle $T/c1 tamper1 </dev/null >/dev/null 2>&1
X="runc exec tamper1 /bin/tamper"
check "the container runs in scope" grep -q . $CG/tclhard/ctr1/cgroup.procs
$X maps >$T/maps.out 2>&1
grep -q '^own-map create ok' $T/maps.out && grep -q 'ok tamper_own$' $T/maps.out &&
	pass "the container can use BPF maps of its own" ||
	fail "the container can use BPF maps of its own: $(cat $T/maps.out)"
! grep -q ' ok tcl' $T/maps.out && [ "$(grep -c ' EPERM$' $T/maps.out)" -ge 9 ] &&
	pass "no fd of a tcl map by id ($(grep -c ' EPERM$' $T/maps.out) EPERM)" ||
	fail "no fd of a tcl map by id: $(cat $T/maps.out)"
$X progs >$T/progs.out 2>&1
! grep -q ' ok tcl' $T/progs.out && [ "$(grep -c ' EPERM$' $T/progs.out)" -ge 14 ] &&
	pass "no fd of a tcl program by id ($(grep -c ' EPERM$' $T/progs.out) EPERM)" ||
	fail "no fd of a tcl program by id: $(cat $T/progs.out)"
$X links >$T/links.out 2>&1
! grep -q ' ok' $T/links.out && [ "$(grep -c '^link .* EPERM$' $T/links.out)" -ge 14 ] &&
	pass "no fd of a tcl link by id, nothing detached" ||
	fail "no fd of a tcl link by id: $(cat $T/links.out)"
ok=1
for f in tcl_allow tcl_config tcl_scope tcl_guard prog_tcl_bprm_check link_tcl_bprm_check \
	link_tcl_guard_inode; do
	$X objget /sys/fs/bpf/tcl/$f 2>&1 | grep -q 'EPERM$' || { ok=0; echo "    objget $f allowed"; }
	$X open /sys/fs/bpf/tcl/$f 2>&1 | grep -q 'EPERM$' || { ok=0; echo "    open $f allowed"; }
done
[ $ok = 1 ] && pass "BPF_OBJ_GET and open of pinned maps, programs, links: EPERM" ||
	fail "BPF_OBJ_GET and open of pinned maps, programs, links: EPERM"
$X open /sys/fs/bpf/tcl 2>&1 | grep -q 'EPERM$' && pass "the pin dir cannot be listed" ||
	fail "the pin dir cannot be listed"
out=$($X unlink /sys/fs/bpf/tcl/link_tcl_bprm_check 2>&1; $X unlink /sys/fs/bpf/tcl/tcl_allow 2>&1)
[ "$(echo "$out" | grep -c 'EPERM$')" = 2 ] && pass "unlink of a pinned link or map: EPERM" ||
	fail "unlink of a pinned link or map: EPERM ($out)"
out=$($X rename /sys/fs/bpf/tcl/link_tcl_bprm_check /sys/fs/bpf/x 2>&1
	$X rename /sys/fs/bpf/tcl /sys/fs/bpf/y 2>&1)
[ "$(echo "$out" | grep -c 'EPERM$')" = 2 ] && pass "rename of a pin or of the pin dir: EPERM" ||
	fail "rename of a pin or of the pin dir: EPERM ($out)"
out=$($X cgmove $CG/cgroup.procs 2>&1)
echo "$out" | grep -q 'EPERM$' && pass "moving itself to the root cgroup (out of scope): EPERM" ||
	fail "moving itself to the root cgroup (out of scope): EPERM ($out)"
out=$($X clone-into $CG 2>&1)
echo "$out" | grep -q 'EPERM$' && pass "clone3(CLONE_INTO_CGROUP) out of scope: EPERM" ||
	fail "clone3(CLONE_INTO_CGROUP) out of scope: EPERM ($out)"
runc exec tamper1 /bin/busybox mkdir -p $CG/tclhard/ctr1/sub >/dev/null 2>&1
out=$($X clone-into $CG/tclhard/ctr1/sub 2>&1)
echo "$out" | grep -q 'clone3 ok$' && pass "a cgroup inside its own scope is fine" ||
	fail "a cgroup inside its own scope is fine ($out)"
"$B/tclctl" status >$T/status 2>&1
grep -q "^programs: $2/$2 attached" $T/status && pass "after all that, every program is attached" ||
	fail "after all that, every program is attached"
cp $F/hello $T/c1/rootfs/bin/dropped
out=$(runc exec tamper1 /bin/dropped 2>&1)
echo "$out" | grep -q 'hello ran' && fail "enforcement holds in the container ($out)" ||
	pass "enforcement holds in the container"

section "the agent cannot be ptraced"
out=$($F/tamper ptrace $AGENT_PID 2>&1)
echo "$out" | grep -q 'EPERM$' && pass "ptrace attach to the agent (host root): EPERM" ||
	fail "ptrace attach to the agent (host root): EPERM ($out)"
out=$($F/tamper mem $AGENT_PID 2>&1)
echo "$out" | grep -q 'mem open EACCES$' && pass "/proc/<agent>/mem cannot be opened" ||
	fail "/proc/<agent>/mem cannot be opened ($out)"
out=$($F/tamper vmread $AGENT_PID 2>&1; $F/tamper getfd $AGENT_PID 3 2>&1)
echo "$out" | grep -q 'vmread  EPERM' && echo "$out" | grep -q 'pidfd_getfd  EPERM' &&
	pass "process_vm_readv and pidfd_getfd on the agent: EPERM" ||
	fail "process_vm_readv and pidfd_getfd on the agent: EPERM ($out)"
sleep 60 &
SP=$!
out=$($F/tamper ptrace $SP 2>&1; $F/tamper mem $SP 2>&1)
kill $SP
echo "$out" | grep -q 'ptrace attach ok' && echo "$out" | grep -q 'mem read ok' &&
	pass "other processes can still be ptraced" || fail "other processes can still be ptraced ($out)"
# The agent's pid after kill -9, given to another process: not the agent (start time differs).
OLD=$AGENT_PID
kill -9 $AGENT_PID; wait $AGENT_PID 2>/dev/null; AGENT_PID=
echo $((OLD - 1)) >/proc/sys/kernel/ns_last_pid
sleep 60 &
SP=$!
if [ $SP = $OLD ]; then
	out=$($F/tamper ptrace $SP 2>&1)
	echo "$out" | grep -q 'attach ok' && pass "a recycled agent pid is not protected" ||
		fail "a recycled agent pid is not protected ($out)"
else
	fail "a recycled agent pid is not protected (could not recycle pid $OLD, got $SP)"
fi
kill $SP
out=$(run $T/unlisted 2>&1)
echo "$out" | grep -q 'Operation not permitted' && pass "after kill -9, enforcement stays" ||
	fail "after kill -9, enforcement stays ($out)"
out=$($X objget /sys/fs/bpf/tcl/tcl_allow 2>&1; $X unlink /sys/fs/bpf/tcl/link_tcl_bprm_check 2>&1)
[ "$(echo "$out" | grep -c 'EPERM$')" = 2 ] && pass "after kill -9, the guard stays" ||
	fail "after kill -9, the guard stays ($out)"
stop_container tamper1
check "a new agent registers itself" start_agent --enforce --policy $T/policy.json \
	--scope cgroup:/tclhard --events $EVENTS
out=$($F/tamper ptrace $AGENT_PID 2>&1)
echo "$out" | grep -q 'EPERM$' && pass "the new agent is protected" ||
	fail "the new agent is protected ($out)"

section "attack list"
out=$(run $T/allowed/tamper execveat $T/unlisted 2>&1)
echo "$out" | grep -q 'execveat /tmp/tclhard/unlisted EPERM' &&
	pass "execveat(fd, \"\", AT_EMPTY_PATH) of unlisted content: EPERM" ||
	fail "execveat(fd, \"\", AT_EMPTY_PATH) of unlisted content: EPERM ($out)"
check "execveat(AT_EMPTY_PATH) of allowed content runs" \
	run $T/allowed/tamper execveat $T/allowed/true

cp /usr/bin/true $T/golden
ln $T/golden $T/w/link
check "hard link to a golden file runs" run $T/w/link
cat $T/unlisted >$T/w/link
check "rewritten through the hard link: denied" denied run $T/w/link
check "... and through the golden file's own path" denied run $T/golden

mkdir -p $T/tm; mount -t tmpfs tcltmp $T/tm; cp /usr/bin/true $T/unlisted $T/tm/
check "tmpfs: allowed content runs" run $T/tm/true
check "tmpfs: unlisted content denied" denied run $T/tm/unlisted

for m in drivers/block/loop crypto/crc32c_generic lib/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4; do
	insmod $MODS/$m.ko 2>/dev/null
done
truncate -s 16M $T/ext4.img; mkfs.ext4 -q -b 4096 $T/ext4.img; mkdir -p $T/lm
if mount -o loop $T/ext4.img $T/lm; then
	cp /usr/bin/true $T/lm/t; cp $T/unlisted $T/lm/u; sync
	check "ext4 on a loop device: allowed content runs" run $T/lm/t
	check "ext4 on a loop device: unlisted content denied" denied run $T/lm/u
	# Rewrite t's blocks inside the image while unmounted; mount again: same dev, inode, times.
	python3 - $T/lm/t $T/ext4.img $T/unlisted >$T/blk.out <<'PY'
import fcntl, os, struct, sys
path, img, src = sys.argv[1:4]
fd = os.open(path, os.O_RDONLY); bs = os.fstatvfs(fd).f_bsize; size = os.fstat(fd).st_size
data = (open(src, "rb").read() + b"\0" * size)[:size]
blocks = [struct.unpack("i", fcntl.ioctl(fd, 1, struct.pack("i", i)))[0]  # FIBMAP
          for i in range((size + bs - 1) // bs)]
os.close(fd)
with open(img, "r+b") as f:
    for i, b in enumerate(blocks):
        f.seek(b * bs); f.write(data[i * bs:(i + 1) * bs])
PY
	umount $T/lm; mount -o loop $T/ext4.img $T/lm
	cmp -s /usr/bin/true $T/lm/t && fail "loop: the rewrite of the image changed the file"
	gap "loop: content rewritten in the image, then remounted: denied" denied run $T/lm/t
	umount $T/lm
else
	fail "ext4 on a loop device mounts"
fi

mkdir -p $T/ov/l $T/ov/u $T/ov/w $T/ov/m
cp /usr/bin/true $T/ov/l/a; cp /usr/bin/true $T/ov/l/b; cp /usr/bin/true $T/ov/l/c
mount -t overlay tclov -o lowerdir=$T/ov/l,upperdir=$T/ov/u,workdir=$T/ov/w $T/ov/m
check "overlayfs: a golden file in the lower layer runs" run $T/ov/m/a
cat $T/unlisted >>$T/ov/m/a
[ -f $T/ov/u/a ] && check "overlayfs: content changed by copy-up: denied" denied run $T/ov/m/a ||
	fail "overlayfs: a write copies the file up"
touch $T/ov/m/b
[ -f $T/ov/u/b ] && check "overlayfs: metadata-only copy-up (same content) runs" run $T/ov/m/b ||
	fail "overlayfs: touch copies the file up"
check "overlayfs: a file of the lower layer runs" run $T/ov/m/c
cat $T/unlisted >$T/ov/l/c
gap "overlayfs: lower layer rewritten under the mount: denied" denied run $T/ov/m/c
umount $T/ov/m

# The same without any capability: an unprivileged user in a user namespace of its own may
# mount overlayfs (Linux >= 5.11); busybox is all it takes.
mkdir -p $T/uns/l $T/uns/u $T/uns/w $T/uns/m
cp /usr/bin/true $T/uns/l/c
cp $T/unlisted $T/uns/unlisted
chown -R 65534:65534 $T/uns
BBX=$T/allowed/busybox
cat >$T/uns/attack.sh <<EOS
mount -t overlay o -o lowerdir=$T/uns/l,upperdir=$T/uns/u,workdir=$T/uns/w $T/uns/m || exit 3
$T/uns/m/c || exit 4
echo stage:golden-ran
cat $T/uns/unlisted >$T/uns/l/c || exit 5
echo stage:rewritten
exec $T/uns/m/c
EOS
run $BBX su -s $T/allowed/sh nobody -c "$BBX unshare -Urm $BBX sh $T/uns/attack.sh" \
	>$T/uns.out 2>&1
case $? in
3) echo "  note: this kernel refuses overlayfs in a user namespace: $(cat $T/uns.out)" ;;
*)
	if grep -q stage:rewritten $T/uns.out; then
		gap "overlayfs in a user namespace, no capability: lower layer rewritten: denied" \
			sh -c "! grep -q 'hello ran' $T/uns.out"
	else
		fail "user namespace: overlay mounted, golden file ran, lower file rewritten ($(cat $T/uns.out))"
	fi ;;
esac

check "ia32: an allowed 32-bit ELF runs" quiet run $T/allowed/ia32-ok
check "ia32: an unlisted 32-bit ELF is denied" denied run $T/ia32-bad

insmod $MODS/fs/binfmt_misc.ko 2>/dev/null
mount -t binfmt_misc tclbfm /proc/sys/fs/binfmt_misc 2>/dev/null
echo ":tclx:M::TCLX::$T/allowed/sh:" >/proc/sys/fs/binfmt_misc/register
echo ":tcly:M::TCLY::$T/badinterp:" >/proc/sys/fs/binfmt_misc/register
echo ":tclz:M::TCLZ::$T/badinterp:F" >/proc/sys/fs/binfmt_misc/register
out=$(run $T/allowed/bf-ok 2>&1)
[ "$out" = binfmt-allowed-ran ] && pass "binfmt_misc: allowed file, allowed interpreter runs" ||
	fail "binfmt_misc: allowed file, allowed interpreter runs ($out)"
check "binfmt_misc: unlisted file, allowed interpreter: denied" denied run $T/bf-bad
check "binfmt_misc: allowed file, unlisted interpreter: denied" denied run $T/allowed/bf-y
check "binfmt_misc: unlisted interpreter opened at registration (F): denied" denied \
	run $T/allowed/bf-z
echo -1 >/proc/sys/fs/binfmt_misc/status

cp /usr/bin/true $T/w/held
check "mmap PROT_EXEC of a file without writers" quiet run $T/allowed/tamper mmap-exec $T/w/held
sh -c "exec 3>>$T/w/held; sleep 5" &
HOLDER=$!
sleep 0.3
out=$(run $T/allowed/tamper exec $T/w/held 2>&1)
echo "$out" | grep -q 'ETXTBSY$' &&
	pass "exec while another process holds it open for write: ETXTBSY" ||
	fail "exec while another process holds it open for write: ETXTBSY ($out)"
out=$(run $T/allowed/tamper mmap-exec $T/w/held 2>&1)
echo "$out" | grep -q 'EPERM$' && pass "mmap PROT_EXEC while it is open for write: EPERM" ||
	fail "mmap PROT_EXEC while it is open for write: EPERM ($out)"
wait_for $EVENTS '"reason":"open_for_write".*"path":"/tmp/tclhard/w/held"' &&
	pass "... reported with reason open_for_write" || fail "... reported with reason open_for_write"
kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null

# An allowed shared object, mapped executable (and checked then), rewritten through its file
# afterwards: the kernel no longer refuses writes to mapped files (MAP_DENYWRITE is gone since 5.15)
# and the mapping shows the new bytes; a write-open only invalidates the cached digest.
cp /usr/bin/true $T/w/mapped.so
gap "an executable mapping cannot be rewritten through its file" \
	denied run $T/allowed/tamper mmap-rewrite $T/w/mapped.so $T/unlisted

section "root on the host unloads, and it is logged"
stop_agent
check "a stopped agent clears its registration" sh -c \
	"bpftool -j map dump pinned /sys/fs/bpf/tcl/tcl_config | grep -q '\"agent_tgid\":0,'"
check "tclctl unload --yes (host root)" "$B/tclctl" unload --yes
wait_for $T/syslog 'tcl: unload of /sys/fs/bpf/tcl requested by uid 0' &&
	grep -q 'pins under /sys/fs/bpf/tcl removed' $T/syslog &&
	pass "the unload is in syslog with who asked" || fail "the unload is in syslog with who asked"
kill $SYSLOG_PID 2>/dev/null
rm -f /dev/log
exit 0
