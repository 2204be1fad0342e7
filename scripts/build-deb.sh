#!/bin/bash
# Build the Debian package of tcl with dpkg-deb from a staging directory (no debian/ source
# package, no debhelper): programs, systemd units, /etc/tcl/agent.conf (a conffile), manual
# pages, copyright, changelog.Debian.gz and the maintainer scripts of deploy/debian/.
#   usage: build-deb.sh --bin DIR --out DIR [--version V]
# DIR holds tcl-agent, tclctl, tcl-hook and tcl-attestor (built with Debian's hardening flags by
# `make deb`).  Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

bin= out= version=0.1.0-1
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	*) echo "build-deb: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$bin" ] && [ -n "$out" ] || { echo "usage: build-deb.sh --bin DIR --out DIR" >&2; exit 2; }
case $out in /*) ;; *) out=$PWD/$out ;; esac
pkg=trusted-container-launcher
arch=$(dpkg --print-architecture)
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
# reproducible: every file dated from the changelog, owned by root (dpkg-deb --root-owner-group)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date -d "$(sed -n 's/^ -- .*>  //p' deploy/debian/changelog | head -1)" +%s)}
umask 022

for p in tcl-agent tclctl tcl-hook tcl-attestor; do
	install -D -m 0755 "$bin/$p" "$stage/usr/sbin/$p"
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/sbin/$p"
done
for u in tcl-agent.service tcl-attestor.service; do
	install -D -m 0644 "deploy/systemd/$u" "$stage/lib/systemd/system/$u"
done
install -D -m 0644 deploy/systemd/agent.conf "$stage/etc/tcl/agent.conf"
install -D -m 0644 policy/example.json "$stage/usr/share/doc/$pkg/examples/policy.json"
install -D -m 0755 scripts/install-hooks.sh "$stage/usr/libexec/tcl/install-hooks.sh"
install -D -m 0644 deploy/debian/hooks.sh "$stage/usr/lib/tcl/pkg-hooks.sh"
mkdir -p "$stage/usr/share/man/man8"
for m in man/*.8; do
	gzip -9n -c "$m" > "$stage/usr/share/man/man8/${m##*/}.gz"
	chmod 0644 "$stage/usr/share/man/man8/${m##*/}.gz"
done
install -D -m 0644 deploy/debian/copyright "$stage/usr/share/doc/$pkg/copyright"
gzip -9n -c deploy/debian/changelog > "$stage/usr/share/doc/$pkg/changelog.Debian.gz"
chmod 0644 "$stage/usr/share/doc/$pkg/changelog.Debian.gz"
install -D -m 0644 deploy/debian/lintian-overrides "$stage/usr/share/lintian/overrides/$pkg"

for s in postinst prerm postrm; do
	install -m 0755 "deploy/debian/$s" "$stage/DEBIAN/$s"
done
echo /etc/tcl/agent.conf > "$stage/DEBIAN/conffiles"

# Depends: the shared libraries the programs link, as dpkg-shlibdeps finds them
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" > "$tmp/debian/control"
exes=()
for p in "$stage"/usr/sbin/*; do
	exes+=("-e$p")
done
depends=$(cd "$tmp" && dpkg-shlibdeps -O "${exes[@]}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
	xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: tcl developers <maintainers@users.noreply.r-seed-8fb734c8.example>
Installed-Size: $size
Depends: $depends
Recommends: tpm-udev
Suggests: containerd | cri-o, ima-evm-utils
Section: admin
Priority: optional
Description: Trusted Container Launcher: measure and enforce what containers run
 tcl-agent loads BPF LSM programs that hash every executed file and executable
 mapping in the kernel, compare the SHA-256 with the signed golden manifest of
 the container's image, and deny anything else (enforce mode) or report it
 (audit mode). It keeps a TPM-anchored measurement log in the Linux IMA format.
 .
 This package holds tcl-agent and its systemd unit, tclctl, the OCI hook
 tcl-hook (installed into containerd and CRI-O), and the remote attestor
 tcl-attestor.
CONTROL
chmod 0644 "$stage/DEBIAN/control"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
deb=$out/${pkg}_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
