#!/bin/bash
# tests/vm/run.sh: run a shell script as root inside a throwaway QEMU (TCG) guest.
# The guest runs Debian's stock kernel with BPF LSM enabled (lsm=lockdown,capability,integrity,bpf),
# a TPM 2.0 from swtpm (/dev/tpm0, /dev/tpmrm0), and this machine's root filesystem read-only over
# 9p with a tmpfs overlay on top, so host packages (runc, tpm2-tools, ...) and the build tree are
# visible in the guest. Writes in the guest land in the overlay, except under /tcl-out, which is
# the host directory $TCLVM_OUT (default: a fresh temp dir, printed) mounted read-write.
# Prints the guest's console; exits with the script's exit status (124 on timeout/no status).
#
# usage: tests/vm/run.sh SCRIPT [ARGS...]
# env:   TCLVM_MEM (MiB, 2048)  TCLVM_CPUS (2)  TCLVM_TIMEOUT (s, 1800)  TCLVM_APPEND (kernel cmdline)
#        TCLVM_OUT (host dir for /tcl-out)  TCLVM_CACHE (/var/cache/tclvm)  TCLVM_QUIET=1 (no console echo)
#        TCLVM_PCR_BANKS (the TPM's allocated PCR banks, swtpm_setup --pcr-banks: sha1,sha256)
#        TCLVM_CPU (QEMU -cpu model, e.g. max: every feature TCG emulates; default QEMU's own)
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
script=$(readlink -f "$1"); shift
[ -f "$script" ] || { echo "vm: no such script: $script" >&2; exit 2; }
cache=${TCLVM_CACHE:-/var/cache/tclvm}
export TCLVM_CACHE=$cache

for t in qemu-system-x86_64 swtpm cpio busybox; do
	command -v $t >/dev/null || { echo "vm: $t missing: run scripts/deps.sh" >&2; exit 2; }
done
"$here/fetch-kernel.sh"

mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet
      9pnet_virtio 9p overlay"
# Build the initrd; its name carries a hash of this script so that a changed init is rebuilt.
stamp=$(sha256sum "$0" | cut -c1-12)
initrd="$cache/initrd-$stamp.gz"
if [ ! -f "$initrd" ]; then
	ird=$(mktemp -d)
	mkdir -p "$ird"/{bin,mods,proc,sys,dev,newroot,lower,upper}
	cp "$(command -v busybox)" "$ird/bin/"
	for m in $mods; do
		f=$(find "$cache/modules" -name "$m.ko*" | head -1)
		[ -n "$f" ] && cp "$f" "$ird/mods/"
	done
	cat >"$ird/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs d /dev
for m in $(echo $mods); do [ -e /mods/\$m.ko* ] && insmod /mods/\$m.ko* 2>/dev/null; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /lower ||
	{ echo TCLVM-EXIT=125; poweroff -f; }
mount -t tmpfs -o size=75% t /upper; mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot
mkdir -p /newroot/tcl-out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 tclout /newroot/tcl-out || echo "vm: no /tcl-out"
GI=\$(sed -n 's/.*tclvm.init=\([^ ]*\).*/\1/p' /proc/cmdline)
mount --move /dev /newroot/dev; umount /proc /sys
exec switch_root /newroot /bin/sh "\$GI"
INIT
	chmod +x "$ird/init"
	(cd "$ird" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$ird"
fi

mkdir -p /var/tmp/tclvm
work=$(mktemp -d -p /var/tmp/tclvm)
out=${TCLVM_OUT:-$work/out}
mkdir -p "$out"
cleanup() {
	kill "$(cat "$work/swtpm.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work/tpm" "$work/swtpm.sock"
	[ -n "${TCLVM_OUT:-}" ] && rm -rf "$work"
	true
}
trap cleanup EXIT

# Second-stage init, read from the 9p root: it mounts the usual filesystems, points
# /lib/modules at the guest kernel's modules and runs the script from the host's cwd.
cat >"$work/guest-init" <<GINIT
mount -t proc proc /proc; mount -t sysfs sys /sys
mount -t securityfs s /sys/kernel/security; mount -t bpf b /sys/fs/bpf
# A fresh /tmp for the tests, but a work tree that lives under the host's /tmp (a CI clone, say)
# must stay visible: keep the overlay's /tmp reachable and bind the work tree back in place.
mkdir -p /.hosttmp; mount --bind /tmp /.hosttmp
mount -t tmpfs t /tmp; mount -t tmpfs t /run
case "$PWD" in /tmp/*) mkdir -p "$PWD"; mount --bind "/.hosttmp/${PWD#/tmp/}" "$PWD" ;; esac
mount -t cgroup2 c /sys/fs/cgroup; mount -t tracefs t /sys/kernel/tracing 2>/dev/null
mount -t debugfs d /sys/kernel/debug 2>/dev/null
mkdir -p /dev/pts /dev/shm; mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts; mount -t tmpfs shm /dev/shm
mkdir -p /lib/modules; mount --bind $cache/modules /lib/modules 2>/dev/null
ip link set lo up 2>/dev/null
hostname tclvm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TCLVM_GUEST=1
export TCLVM_PCR_BANKS=${TCLVM_PCR_BANKS:-sha1,sha256} TCLVM_CPU=${TCLVM_CPU:-}
cd "$PWD"
sh $work/script.sh $(printf "'%s' " "$@")
echo TCLVM-EXIT=\$?
sync
echo o > /proc/sysrq-trigger
sleep 5
GINIT
cp "$script" "$work/script.sh"

mkdir -p "$work/tpm"
banks=${TCLVM_PCR_BANKS:-sha1,sha256}
swtpm_setup --tpm2 --tpmstate "$work/tpm" --create-ek-cert --create-platform-cert \
	--pcr-banks "$banks" --lock-nvram --overwrite >/dev/null 2>&1 ||
	echo "vm: swtpm_setup failed; TPM without EK certificate" >&2
swtpm socket --tpmstate dir="$work/tpm" --ctrl type=unixio,path="$work/swtpm.sock" --tpm2 \
	--flags not-need-init --pid file="$work/swtpm.pid" --daemon
for _ in $(seq 50); do [ -S "$work/swtpm.sock" ] && break; sleep 0.1; done

set +e
timeout "${TCLVM_TIMEOUT:-1800}" qemu-system-x86_64 -m "${TCLVM_MEM:-2048}" -smp "${TCLVM_CPUS:-2}" \
	${TCLVM_CPU:+-cpu "$TCLVM_CPU"} \
	-nographic -no-reboot -kernel "$cache/vmlinuz" -initrd "$initrd" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$out",mount_tag=tclout,security_model=none,multidevs=remap \
	-chardev socket,id=chrtpm,path="$work/swtpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
	-device tpm-tis,tpmdev=tpm0 \
	-append "console=ttyS0 quiet loglevel=3 lsm=lockdown,capability,integrity,bpf panic=-1 tclvm.init=$work/guest-init ${TCLVM_APPEND:-}" \
	</dev/null 2>&1 | stdbuf -o0 tr -d '\r' >"$work/console" &
qpid=$!
if [ "${TCLVM_QUIET:-0}" != 1 ]; then
	# Everything after the exit status is the guest powering off: not worth showing.
	tail -n +1 -f "$work/console" --pid=$qpid 2>/dev/null | awk '
		/^TCLVM-EXIT=/ { exit }
		/iPXE|Booting from ROM|Press Ctrl-B|SeaBIOS|^$/ { next }
		{ sub(/^c?(\033\[[0-9;?]*[a-zA-Z])+/, ""); print; fflush() }'
fi
wait $qpid
set -e
cp "$work/console" /var/tmp/tclvm/last.console
code=$(sed -n 's/^TCLVM-EXIT=\([0-9]*\).*/\1/p' "$work/console" | tail -1)
[ -z "${TCLVM_OUT:-}" ] && echo "vm: guest output dir: $out" >&2
exit "${code:-124}"
