#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bare metal (README "Bare metal"): tcl-agent --config, the systemd units, the manual pages,
# `make install` and `make deb`.
#   - --config: unknown key and malformed line -> exit 2 with FILE:LINE, the command line wins
#     (seen through --check-config), a missing explicit file is an error, the shipped
#     /etc/tcl/agent.conf only names real keys
#   - systemd-analyze verify of both units (ExecStart and man: references resolved in the package)
#   - every manual page renders without a warning and names every option of its program's --help
#   - make install DESTDIR=: programs, units (ExecStart under PREFIX), config kept, man pages
#   - make deb: dpkg-deb -c/-I, lintian without errors or warnings, dpkg -x, and a dpkg --root
#     installation whose postinst puts tcl-hook into containerd and CRI-O configs (backed up)
#     and whose removal puts them back byte for byte (or, for a file changed since, takes the
#     hook out in place)
# env: O (build directory, default build).  Prints "N passed, N failed" last.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
# expect WANT_RC DESCRIPTION CMD...: stdout+stderr in $tmp/out
expect() {
	local want=$1 what=$2 rc
	shift 2
	"$@" > "$tmp/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then ok "$what"; else bad "$what (exit $rc, want $want)"; sed 's/^/    /' "$tmp/out" | head -20; fi
}
has() { # DESCRIPTION REGEX: $tmp/out matches
	if grep -Eq -- "$2" "$tmp/out"; then ok "$1"; else bad "$1 (no '$2')"; sed 's/^/    /' "$tmp/out" | head -20; fi
}

for p in tcl-agent tclctl tcl-hook tcl-attestor; do
	[ -x "$O/$p" ] || make -s O="$O" -j2 all >/dev/null || { bad "make all"; echo "$passed passed, $failed failed"; exit 1; }
done
agent=$O/tcl-agent

echo "# tcl-agent --config"
c=$tmp/agent.conf
printf '# comment\n\nenforce = true\ncolour = blue\n' > "$c"
expect 2 "unknown key: exit 2" "$agent" --config "$c" --check-config
has "unknown key: FILE:LINE" "^tcl-agent: $c:4: unknown key 'colour'\$"
printf 'enforce = true\npolicy\n' > "$c"
expect 2 "line without '=': exit 2" "$agent" --config="$c" --check-config
has "line without '=': FILE:LINE" "$c:2: expected 'key = value'"
printf 'enforce = maybe\n' > "$c"
expect 2 "flag neither true nor false: exit 2" "$agent" --config "$c" --check-config
has "flag neither true nor false: FILE:LINE" "$c:1: 'enforce' is true or false"
printf 'help = true\n' > "$c"
expect 2 "help is not a key" "$agent" --config "$c" --check-config
printf 'pcr = abc\n' > "$c"
expect 2 "bad value from the file: exit 2" "$agent" --config "$c" --check-config
expect 2 "explicit --config FILE that is missing: exit 2" "$agent" --config "$tmp/none.conf" --check-config
has "missing file named" "$tmp/none.conf: No such file"
printf 'enforce = true\nscope = all\npcr = 14\ntrust-key = %s/k1.pem\nsocket = /tmp/file.sock\n' "$tmp" > "$c"
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -out "$tmp/k1.pem" 2>/dev/null
cp "$tmp/k1.pem" "$tmp/k2.pem"
expect 0 "file settings alone" "$agent" --config "$c" --check-config
has "file: enforce" "^enforce = true\$"
has "file: scope" "^scope = all\$"
has "file: pcr" "^pcr = 14\$"
expect 0 "file + command line" "$agent" --config "$c" --check-config --audit --pcr 12 \
	--socket /tmp/cli.sock --trust-key "$tmp/k2.pem"
has "command line wins: audit" "^audit = true\$"
has "command line wins: pcr" "^pcr = 12\$"
has "command line wins: socket" "^socket = /tmp/cli.sock\$"
has "file setting kept where the command line says nothing" "^scope = all\$"
if grep -q "k1.pem" "$tmp/out" && grep -q "k2.pem" "$tmp/out"; then ok "trust-key from both"; else bad "trust-key from both"; fi
if [ ! -e /etc/tcl/agent.conf ]; then
	expect 0 "no --config and no /etc/tcl/agent.conf: fine" "$agent" --check-config
fi
# the shipped config names only real keys: uncommented, the file-free settings pass the check
sed -n 's/^#\([a-z-]* = \)/\1/p' deploy/systemd/agent.conf |
	grep -Ev '^(enforce|policy|registry|trust-key|attestor|attestor-[a-z]*|node-id|attest-[a-z]*) ' \
	> "$tmp/shipped.conf"
expect 0 "shipped agent.conf, uncommented: valid" "$agent" --config "$tmp/shipped.conf" --check-config
has "shipped agent.conf: its defaults" "^pcr = 13\$"
has "shipped agent.conf: metrics address shown by --check-config" "^metrics = 127.0.0.1:9464\$"
expect 2 "bad --metrics: exit 2" "$agent" --check-config --metrics 9464
has "bad --metrics: says what is expected" "bad --metrics 9464: expected HOST:PORT"
expect 0 "--metrics [::1]:9464 is valid" "$agent" --check-config --metrics '[::1]:9464'
has "--metrics shown by --check-config" "^metrics = \[::1\]:9464\$"
grep -c ' = ' "$tmp/shipped.conf" | grep -qv '^0$' && ok "shipped agent.conf has settings" || bad "shipped agent.conf is empty"
sed -n 's/^#\([a-z-]*\) = .*/\1/p' deploy/systemd/agent.conf | sort -u > "$tmp/keys"
for k in $(cat "$tmp/keys"); do
	"$agent" --help | grep -q -- "--$k\b" || bad "agent.conf key $k is not an option of tcl-agent"
done
"$agent" --help > "$tmp/out" 2>&1
has "--help names --config and its default" "--config FILE.*/etc/tcl/agent.conf"

echo "# manual pages"
for m in man/tcl-agent.8 man/tclctl.8 man/tcl-hook.8 man/tcl-attestor.8; do
	w=$( { groff -man -ww -z "$m" 2>&1; MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null; } )
	if [ -z "$w" ]; then ok "$m renders without warnings"; else bad "$m: $w"; fi
	p=$(basename "$m" .8)
	missing=
	for opt in $("$O/$p" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		sed 's/\\-/-/g' "$m" | grep -q -- "$opt" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then ok "$m names every option of $p --help"; else bad "$m lacks$missing"; fi
done

echo "# make install"
d=$tmp/destdir
expect 0 "make install DESTDIR=" make -s O="$O" install DESTDIR="$d"
for f in usr/local/sbin/tcl-agent usr/local/sbin/tclctl usr/local/sbin/tcl-hook \
	 usr/local/sbin/tcl-attestor lib/systemd/system/tcl-agent.service \
	 lib/systemd/system/tcl-attestor.service etc/tcl/agent.conf \
	 usr/local/share/man/man8/tcl-agent.8.gz usr/local/share/man/man8/tclctl.8.gz \
	 usr/local/share/man/man8/tcl-hook.8.gz usr/local/share/man/man8/tcl-attestor.8.gz; do
	[ -e "$d/$f" ] || { bad "make install: no $f"; f=; break; }
done
[ -z "$f" ] || ok "make install: programs, units, config, man pages in place"
grep -qx 'ExecStart=/usr/local/sbin/tcl-agent' "$d/lib/systemd/system/tcl-agent.service" &&
	ok "make install: the unit starts \$(PREFIX)/sbin/tcl-agent" || bad "make install: ExecStart"
zcat "$d/usr/local/share/man/man8/tcl-agent.8.gz" | cmp -s - man/tcl-agent.8 &&
	ok "make install: man page gzipped" || bad "make install: man page"
echo "enforce = true" > "$d/etc/tcl/agent.conf"
make -s O="$O" install-service DESTDIR="$d" >/dev/null 2>&1
grep -qx "enforce = true" "$d/etc/tcl/agent.conf" && ok "make install keeps an existing agent.conf" ||
	bad "make install overwrote agent.conf"

echo "# make deb"
expect 0 "make deb" make -s O="$O" deb
deb=$(ls "$O"/deb/*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
	bad "no .deb in $O/deb"
	echo "$passed passed, $failed failed"
	exit 1
fi
pkg=$(dpkg-deb -f "$deb" Package)
dpkg-deb -c "$deb" > "$tmp/contents" || bad "dpkg-deb -c"
for f in ./usr/sbin/tcl-agent ./usr/sbin/tclctl ./usr/sbin/tcl-hook ./usr/sbin/tcl-attestor \
	 ./lib/systemd/system/tcl-agent.service ./lib/systemd/system/tcl-attestor.service \
	 ./etc/tcl/agent.conf ./usr/share/man/man8/tcl-agent.8.gz ./usr/share/man/man8/tclctl.8.gz \
	 ./usr/share/man/man8/tcl-hook.8.gz ./usr/share/man/man8/tcl-attestor.8.gz \
	 "./usr/share/doc/$pkg/copyright" "./usr/share/doc/$pkg/changelog.Debian.gz" \
	 ./usr/libexec/tcl/install-hooks.sh; do
	grep -q " $f\$" "$tmp/contents" || { bad "dpkg-deb -c: no $f"; f=; break; }
done
[ -z "$f" ] || ok "dpkg-deb -c: programs, units, config, man pages, copyright, changelog"
grep -v ' root/root ' "$tmp/contents" | grep -q . && bad "files not owned by root" || ok "owned by root"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > "$tmp/out"
has "conffiles: /etc/tcl/agent.conf" "^/etc/tcl/agent.conf\$"
dpkg-deb -f "$deb" Depends > "$tmp/out"
has "Depends: the shared libraries (dpkg-shlibdeps)" "libbpf1.*libc6"
if command -v lintian >/dev/null; then
	lintian --pedantic "$deb" > "$tmp/out" 2>&1
	rc=$?
	if [ $rc = 0 ] && ! grep -Eq '^[EW]:' "$tmp/out"; then ok "lintian: no error, no warning"
	else bad "lintian (exit $rc)"; sed 's/^/    /' "$tmp/out"; fi
else
	bad "lintian not installed (scripts/deps.sh)"
fi

x=$tmp/x
dpkg -x "$deb" "$x" || bad "dpkg -x"
"$x/usr/sbin/tcl-agent" --help > "$tmp/out" 2>&1
has "the packaged tcl-agent runs" "Usage: tcl-agent"
for u in tcl-agent tcl-attestor; do
	sed "s|/usr/sbin/|$x/usr/sbin/|g" "$x/lib/systemd/system/$u.service" > "$tmp/$u.service"
done
# the units as the package installs them, their programs and man pages found in the package
# tree (ExecStart rewritten to point into it)
if ! command -v systemd-analyze >/dev/null; then
	bad "systemd-analyze not installed (scripts/deps.sh)"
else
	MANPATH=$x/usr/share/man systemd-analyze verify "$tmp/tcl-agent.service" \
		"$tmp/tcl-attestor.service" > "$tmp/out" 2>&1
	rc=$?
	if [ $rc = 0 ] && [ ! -s "$tmp/out" ]; then ok "systemd-analyze verify: both units"
	else bad "systemd-analyze verify (exit $rc)"; sed 's/^/    /' "$tmp/out"; fi
fi
grep -qx 'Type=notify' "$x/lib/systemd/system/tcl-agent.service" &&
	grep -qx 'Restart=always' "$x/lib/systemd/system/tcl-agent.service" &&
	ok "tcl-agent.service: Type=notify, Restart=always" || bad "tcl-agent.service: Type/Restart"

echo "# dpkg --root: the hook into the runtimes' configs, and out again"
r=$tmp/root
mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/etc/containerd" "$r/etc/crio"
touch "$r/var/lib/dpkg/status"
cat > "$r/etc/containerd/config.toml" <<'TOML'
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  base_runtime_spec = "/etc/containerd/site-spec.json"
TOML
echo '{"ociVersion":"1.1.0","process":{"args":["sh"]}}' > "$r/etc/containerd/site-spec.json"
cp -a "$r/etc" "$tmp/etc.before"
dpkg_root() {
	dpkg --root="$r" --force-script-chrootless --force-depends --force-not-root \
		--log=/dev/null "$@"
}
expect 0 "dpkg --root -i" dpkg_root -i "$deb"
[ -x "$r/usr/sbin/tcl-agent" ] && [ -f "$r/etc/tcl/agent.conf" ] && ok "installed under the root" ||
	bad "installed files"
grep -q '"path": "/usr/sbin/tcl-hook"' "$r/etc/containerd/site-spec.json" &&
	ok "postinst: tcl-hook in containerd's base spec" || bad "postinst: containerd base spec"
[ -f "$r/etc/containers/oci/hooks.d/tcl-hook.json" ] && [ -f "$r/etc/crio/crio.conf.d/50-tcl-hooks.conf" ] &&
	ok "postinst: tcl-hook in CRI-O's hooks.d" || bad "postinst: CRI-O hook"
cmp -s "$r/var/lib/tcl/pkg-backup/files/etc/containerd/site-spec.json" "$tmp/etc.before/containerd/site-spec.json" &&
	ok "postinst: the base spec backed up first" || bad "postinst: no backup"
expect 0 "dpkg --root --purge" dpkg_root --purge "$pkg"
if diff -r "$tmp/etc.before" "$r/etc" > "$tmp/out" 2>&1; then ok "removal: /etc exactly as before"
else bad "removal: /etc differs"; sed 's/^/    /' "$tmp/out"; fi
[ ! -e "$r/var/lib/tcl/pkg-backup" ] && ok "purge: backup gone" || bad "purge: backup left"

# a file changed after the installation is not restored: the hook is taken out of it in place
expect 0 "dpkg --root -i (again)" dpkg_root -i "$deb"
sed -i 's/"ociVersion"/"annotations": {"site": "x"}, "ociVersion"/' "$r/etc/containerd/site-spec.json"
expect 0 "dpkg --root -r" dpkg_root -r "$pkg"
has "prerm: says the changed file is not restored" "site-spec.json changed since tcl was installed"
if grep -q '"site"' "$r/etc/containerd/site-spec.json" && ! grep -q tcl-hook "$r/etc/containerd/site-spec.json"
then ok "prerm: the admin's change kept, tcl-hook taken out"
else bad "prerm: changed base spec"; cat "$r/etc/containerd/site-spec.json"; fi
[ ! -e "$r/etc/containers/oci/hooks.d/tcl-hook.json" ] && ok "prerm: CRI-O hook removed" ||
	bad "prerm: CRI-O hook left"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
