#!/bin/bash
# Fetch Debian's stock kernel (the guest kernel of tcl's tests) and build the guest initrd.
# Cache: $TCLVM_CACHE (default /var/cache/tclvm): vmlinuz, modules/, vmlinux.btf, initrd.gz.
# usage: fetch-kernel.sh          ensure the cache is complete
#        fetch-kernel.sh --btf    print the path of the kernel's raw BTF (for `make vmlinux`)
set -euo pipefail
cache=${TCLVM_CACHE:-/var/cache/tclvm}
mkdir -p "$cache"

if [ ! -f "$cache/vmlinuz" ] || [ ! -d "$cache/modules" ]; then
	(
		cd "$cache"
		apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
		pkg=$(apt-cache depends linux-image-amd64 |
			awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		[ -n "$pkg" ] || { echo "fetch-kernel: cannot resolve linux-image-amd64" >&2; exit 1; }
		rm -rf x ./*.deb
		apt-get download "$pkg" >/dev/null
		dpkg-deb -x ./"$pkg"_*.deb x
		rm -rf modules
		cp x/boot/vmlinuz-* vmlinuz.new && mv vmlinuz.new vmlinuz
		mkdir modules && cp -r x/lib/modules/* modules/
		rm -rf x ./*.deb
	)
fi

# The raw BTF comes straight out of the compressed kernel image: find the gzip/xz/zstd
# payload that is an ELF vmlinux, then take its .BTF section.
if [ ! -f "$cache/vmlinux.btf" ]; then
	python3 - "$cache/vmlinuz" "$cache/vmlinux.elf" <<'PY'
import sys, zlib, lzma, subprocess
data = open(sys.argv[1], 'rb').read()
def try_gzip(off):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(data[off:])
def try_xz(off):
    return lzma.LZMADecompressor().decompress(data[off:])
def try_zstd(off):
    p = subprocess.run(['zstd', '-dc'], input=data[off:], capture_output=True)
    return p.stdout
for magic, fn in ((b'\x28\xb5\x2f\xfd', try_zstd), (b'\xfd7zXZ\x00', try_xz), (b'\x1f\x8b\x08', try_gzip)):
    off = data.find(magic)
    while off >= 0:
        try:
            out = fn(off)
            if out[:4] == b'\x7fELF':
                open(sys.argv[2], 'wb').write(out)
                sys.exit(0)
        except Exception:
            pass
        off = data.find(magic, off + 1)
sys.exit("fetch-kernel: no ELF payload found in vmlinuz")
PY
	objcopy -O binary --only-section=.BTF "$cache/vmlinux.elf" "$cache/vmlinux.btf.new" 2>/dev/null ||
		llvm-objcopy -O binary --only-section=.BTF "$cache/vmlinux.elf" "$cache/vmlinux.btf.new"
	mv "$cache/vmlinux.btf.new" "$cache/vmlinux.btf"
	rm -f "$cache/vmlinux.elf"
fi

if [ "${1:-}" = "--btf" ]; then
	echo "$cache/vmlinux.btf"
	exit 0
fi
