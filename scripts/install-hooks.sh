#!/bin/sh
# Install tcl-hook as an OCI createRuntime hook for containerd, CRI-O and podman.  Idempotent: a
# second run changes nothing and says so.  Used by `make install` (on the host) and by the agent
# DaemonSet's init container (host filesystem at --root /host, with --bundle).  POSIX sh.
#
# usage: install-hooks.sh [--root DIR] [--hook PATH] [--runtime auto|containerd|crio|podman|all]
#                         [--containerd-config FILE] [--timeout S] [--bundle] [--restart]
#                         [--tclctl PATH] [--uninstall]
#   --root DIR       the host's root filesystem (default /)
#   --hook PATH      the hook as the runtime sees it on the host (default /usr/local/sbin/tcl-hook)
#   --runtime R      auto (default: every runtime found under ROOT), containerd, crio, podman
#                    or all
#   --containerd-config FILE   host path of containerd's config (default /etc/containerd/config.toml)
#   --timeout S      hook timeout in seconds (default 30)
#   --bundle         copy tcl-hook and the libraries it needs from this filesystem to
#                    ROOT/opt/tcl and make PATH a wrapper that runs it with them (the image's
#                    libraries need not exist on the host)
#   --restart        restart a runtime whose configuration changed (systemctl, in PID 1's
#                    namespaces when ROOT is not /); without it the change waits for the next
#                    restart, and the script says so
#   --tclctl PATH    tclctl used to edit JSON (default: tclctl in PATH, else build/tclctl)
#   --uninstall      take everything out again
#
# containerd: CRI starts every container from base_runtime_spec; this writes
#   /etc/containerd/tcl-base-spec.json (containerd's own default spec from `ctr oci spec` plus
#   the hook) and points the runc runtime's base_runtime_spec at it in config.toml (config
#   version 2 and 3).  A base_runtime_spec that is already set elsewhere gets the hook added in
#   place instead.
# CRI-O: /etc/containers/oci/hooks.d/tcl-hook.json (read without a restart when that directory is
#   in hooks_dir; /usr/share/containers/oci/hooks.d, CRI-O's default, gets a copy when writable)
#   and /etc/crio/crio.conf.d/50-tcl-hooks.conf adding /etc/containers/oci/hooks.d to hooks_dir.
# podman: the same hooks.d file, and /etc/containers/containers.conf.d/50-tcl-hooks.conf adding
#   /etc/containers/oci/hooks.d to hooks_dir (podman 4 reads only /usr/share/... by default);
#   podman reads both at every container it creates (nothing to restart).
set -eu

root=/ hook=/usr/local/sbin/tcl-hook runtime=auto timeout=30 bundle=0 restart=0 uninstall=0
cd_conf=/etc/containerd/config.toml tclctl=
usage() { sed -n '6,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--hook) hook=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--containerd-config) cd_conf=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--bundle) bundle=1; shift ;;
	--restart) restart=1; shift ;;
	--tclctl) tclctl=$2; shift 2 ;;
	--uninstall) uninstall=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "install-hooks: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "install-hooks: $*" >&2; exit 1; }
say() { echo "install-hooks: $*"; }
case $runtime in auto|containerd|crio|podman|all) ;;
*) die "--runtime is auto, containerd, crio, podman or all" ;; esac
case $timeout in ''|*[!0-9]*) die "--timeout wants seconds" ;; esac
case $hook in /*) ;; *) die "--hook must be an absolute path" ;; esac
case $cd_conf in /*) ;; *) die "--containerd-config must be an absolute path" ;; esac
[ -d "$root" ] || die "--root $root is not a directory"
root=${root%/}
if [ -z "$tclctl" ]; then
	tclctl=$(command -v tclctl || true)
	[ -n "$tclctl" ] || tclctl=$(dirname "$0")/../build/tclctl
fi
[ -x "$tclctl" ] || die "tclctl not found (give --tclctl PATH)"

changed_containerd=0 changed_crio=0 changed_podman=0
rt_line='  runtime_type = "io.containerd.runc.v2"  # tcl: containerd'"'"'s default, restated'
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcl-hooks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Put SRC at DEST (a host path under ROOT) unless it is already there; sets $changed.
install_file() { # SRC DEST MODE
	changed=0
	if [ -f "$root$2" ] && cmp -s "$1" "$root$2"; then
		return 0
	fi
	if ! { mkdir -p "$root$(dirname "$2")" && cp "$1" "$root$2.tcl-new" &&
	       chmod "$3" "$root$2.tcl-new" && mv -f "$root$2.tcl-new" "$root$2"; }; then
		rm -f "$root$2.tcl-new" 2>/dev/null
		echo "install-hooks: cannot write $2" >&2
		return 1
	fi
	changed=1
	say "wrote $2"
}
remove_file() { # DEST
	changed=0
	if [ -e "$root$1" ]; then
		rm -f "$root$1"
		changed=1
		say "removed $1"
	fi
}

# ---- the hook program itself (--bundle)
bundle_hook() {
	src=/usr/local/sbin/tcl-hook
	ldso=/lib64/ld-linux-x86-64.so.2
	[ -x "$src" ] || die "--bundle: $src is not in this image"
	[ -x "$ldso" ] || die "--bundle: no dynamic loader at $ldso"
	mkdir -p "$tmp/lib"
	"$ldso" --list "$src" > "$tmp/libs" || die "--bundle: cannot list the libraries of $src"
	sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p' "$tmp/libs" > "$tmp/paths"
	echo "$ldso" >> "$tmp/paths"
	while read -r l; do
		install_file "$l" "/opt/tcl/lib/${l##*/}" 0755
	done < "$tmp/paths"
	install_file "$src" /opt/tcl/bin/tcl-hook 0755
	cat > "$tmp/wrapper" <<EOF
#!/bin/sh
# tcl-hook from the tcl-agent image, with the libraries it was built against (install-hooks.sh).
exec /opt/tcl/lib/ld-linux-x86-64.so.2 --library-path /opt/tcl/lib /opt/tcl/bin/tcl-hook "\$@"
EOF
	install_file "$tmp/wrapper" "$hook" 0755
}

# ---- containerd
containerd_present() {
	[ -e "$root$cd_conf" ] || [ -x "$root/usr/bin/containerd" ] ||
		[ -x "$root/usr/local/bin/containerd" ]
}

# The runc runtime's table for the config's version.
containerd_table() { # CONF
	if grep -Eq '^[[:space:]]*version[[:space:]]*=[[:space:]]*3' "$1" 2>/dev/null; then
		echo "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc"
	elif [ ! -e "$1" ] ||
		grep -Eq '^[[:space:]]*version[[:space:]]*=[[:space:]]*2' "$1" 2>/dev/null; then
		echo 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc'
	else
		die "$cd_conf: only containerd config version 2 and 3 are supported" \
		    "(containerd config migrate)"
	fi
}

# A regex for the table header, whichever quotes it was written with.
header_re() { # TABLE
	printf '%s' "$1" | sed -e "s/[\"']/[\"']/g" -e 's/\./\\./g' |
		sed -e 's/^/^[[:space:]]*\\[[[:space:]]*/' -e 's/$/[[:space:]]*\\][[:space:]]*(#.*)?$/'
}

# base_runtime_spec inside the table, or nothing.
current_base_spec() { # CONF TABLE
	[ -f "$1" ] || return 0
	re=$(header_re "$2") awk '
		BEGIN { re = ENVIRON["re"] }
		$0 ~ re { inside = 1; next }
		/^[[:space:]]*\[/ { inside = 0 }
		inside && /^[[:space:]]*base_runtime_spec[[:space:]]*=/ {
			sub(/^[^=]*=[[:space:]]*/, ""); gsub(/["'"'"']/, ""); sub(/[[:space:]]*(#.*)?$/, "")
			print; exit
		}' "$1"
}

containerd_default_spec() { # OUT
	for c in /usr/bin/ctr /usr/local/bin/ctr; do
		[ -x "$root$c" ] || continue
		if [ "$root" = "" ]; then
			"$c" oci spec > "$1" && return 0
		else
			chroot "$root" "$c" oci spec > "$1" && return 0
		fi
	done
	die "containerd: no ctr under $root to produce containerd's default spec" \
	    "(the base_runtime_spec must start from it)"
}

install_containerd() {
	conf=$root$cd_conf
	table=$(containerd_table "$conf")
	ours=/etc/containerd/tcl-base-spec.json
	cur=$(current_base_spec "$conf" "$table")
	spec=${cur:-$ours}
	if [ -f "$root$spec" ]; then
		cp "$root$spec" "$tmp/spec.in"
	else
		containerd_default_spec "$tmp/spec.in"
	fi
	"$tclctl" k8s hook-spec --hook "$hook" --stage createRuntime --timeout "$timeout" \
		-o "$tmp/spec.out" "$tmp/spec.in"
	install_file "$tmp/spec.out" "$spec" 0644
	[ $changed = 1 ] && changed_containerd=1
	if [ -n "$cur" ]; then
		[ "$cur" = "$ours" ] || say "containerd: added the hook to the existing base spec $cur"
		return 0
	fi
	# Point the runc runtime at our base spec: inside its table when there is one, else a new
	# table at the end.
	line="  base_runtime_spec = \"$ours\""
	if [ -f "$conf" ] && grep -Eq "$(header_re "$table")" "$conf"; then
		re=$(header_re "$table") line=$line awk '
			BEGIN { re = ENVIRON["re"]; line = ENVIRON["line"] }
			{ print } $0 ~ re && !done { print line; done = 1 }' "$conf" > "$tmp/conf"
	else
		{
			if [ -f "$conf" ]; then cat "$conf"; else echo "version = 2"; fi
			printf '\n# tcl: every container starts from a spec with tcl-hook in it\n'
			printf '[%s]\n' "$table"
			# A table of our own replaces containerd's built-in runc entry: restate its
			# runtime_type, else CRI fails with "container.Runtime.Name must be set".
			printf '%s\n' "$rt_line"
			printf '%s\n' "$line"
		} > "$tmp/conf"
	fi
	install_file "$tmp/conf" "$cd_conf" 0644
	[ $changed = 1 ] && changed_containerd=1
	return 0
}

uninstall_containerd() {
	conf=$root$cd_conf
	[ -f "$conf" ] || return 0
	table=$(containerd_table "$conf")
	ours=/etc/containerd/tcl-base-spec.json
	cur=$(current_base_spec "$conf" "$table")
	if [ -n "$cur" ] && [ "$cur" != "$ours" ] && [ -f "$root$cur" ]; then
		"$tclctl" k8s hook-spec --hook "$hook" --remove -o "$tmp/spec.out" "$root$cur"
		install_file "$tmp/spec.out" "$cur" 0644
		[ $changed = 1 ] && changed_containerd=1
	fi
	if [ "$cur" = "$ours" ]; then
		grep -v "^  base_runtime_spec = \"$ours\"\$" "$conf" | grep -vxF "$rt_line" |
			grep -v '^# tcl: every container starts from a spec with tcl-hook in it$' \
			> "$tmp/conf" || true
		install_file "$tmp/conf" "$cd_conf" 0644
		[ $changed = 1 ] && changed_containerd=1
	fi
	remove_file "$ours"
	[ $changed = 1 ] && changed_containerd=1
	return 0
}

# ---- CRI-O
crio_present() {
	[ -d "$root/etc/crio" ] || [ -x "$root/usr/bin/crio" ] || [ -x "$root/usr/local/bin/crio" ]
}

# The OCI hooks.d entry CRI-O and podman read.
install_hooksd() {
	cat > "$tmp/hook.json" <<EOF
{
  "version": "1.0.0",
  "hook": {
    "path": "$hook",
    "args": ["tcl-hook", "createRuntime"],
    "timeout": $timeout
  },
  "when": {"always": true},
  "stages": ["createRuntime"]
}
EOF
	install_file "$tmp/hook.json" /etc/containers/oci/hooks.d/tcl-hook.json 0644
	if [ -d "$root/usr/share/containers/oci/hooks.d" ]; then
		# best effort: a read-only /usr is fine, the drop-in below covers it
		install_file "$tmp/hook.json" /usr/share/containers/oci/hooks.d/tcl-hook.json 0644 \
			2>/dev/null || say "note: /usr/share/containers/oci/hooks.d is read-only"
	fi
}

podman_present() {
	[ -x "$root/usr/bin/podman" ] || [ -x "$root/usr/local/bin/podman" ]
}

install_podman() {
	install_hooksd
	[ $changed = 1 ] && changed_podman=1
	cat > "$tmp/podman.conf" <<'EOF'
# tcl: read OCI hooks from /etc/containers/oci/hooks.d too (tcl-hook.json lives there)
[engine]
hooks_dir = [
  "/usr/share/containers/oci/hooks.d",
  "/etc/containers/oci/hooks.d",
]
EOF
	install_file "$tmp/podman.conf" /etc/containers/containers.conf.d/50-tcl-hooks.conf 0644
	[ $changed = 1 ] && changed_podman=1
	return 0
}

install_crio() {
	install_hooksd
	cat > "$tmp/crio.conf" <<'EOF'
# tcl: read OCI hooks from /etc/containers/oci/hooks.d too (tcl-hook.json lives there)
[crio.runtime]
hooks_dir = [
  "/etc/containers/oci/hooks.d",
  "/usr/share/containers/oci/hooks.d",
]
EOF
	install_file "$tmp/crio.conf" /etc/crio/crio.conf.d/50-tcl-hooks.conf 0644
	# CRI-O watches its hook directories; only the drop-in needs a restart.
	[ $changed = 1 ] && changed_crio=1
	return 0
}

uninstall_hooksd() { # sets $changed when either file went
	remove_file /etc/containers/oci/hooks.d/tcl-hook.json
	c=$changed
	remove_file /usr/share/containers/oci/hooks.d/tcl-hook.json
	[ $c = 1 ] && changed=1
	return 0
}

uninstall_crio() {
	uninstall_hooksd
	remove_file /etc/crio/crio.conf.d/50-tcl-hooks.conf
	[ $changed = 1 ] && changed_crio=1
	return 0
}

restart_unit() { # UNIT
	if [ $restart = 0 ]; then
		say "$1's configuration changed: it takes effect when $1 restarts" \
		    "(systemctl restart $1, or rerun with --restart)"
		return 0
	fi
	if [ "$root" = "" ]; then
		systemctl restart "$1"
	else
		# Running containers survive: their shims are not children of the runtime daemon.
		nsenter -t 1 -m -u -i -n -p -- systemctl restart "$1"
	fi
	say "restarted $1"
}

do_containerd=0 do_crio=0 do_podman=0
case $runtime in
containerd) do_containerd=1 ;;
crio) do_crio=1 ;;
podman) do_podman=1 ;;
all) do_containerd=1 do_crio=1 do_podman=1 ;;
auto)
	containerd_present && do_containerd=1
	crio_present && do_crio=1
	podman_present && do_podman=1
	[ $do_containerd = 1 ] || [ $do_crio = 1 ] || [ $do_podman = 1 ] ||
		die "found none of containerd, CRI-O, podman under ${root:-/}"
	;;
esac

if [ $uninstall = 1 ]; then
	[ $do_containerd = 1 ] && uninstall_containerd
	[ $do_crio = 1 ] && uninstall_crio
	if [ $do_podman = 1 ]; then
		uninstall_hooksd
		[ $changed = 1 ] && changed_podman=1
		remove_file /etc/containers/containers.conf.d/50-tcl-hooks.conf
		[ $changed = 1 ] && changed_podman=1
	fi
	if [ -f "$root/opt/tcl/bin/tcl-hook" ]; then
		rm -rf "$root/opt/tcl"
		remove_file "$hook"
		say "removed /opt/tcl"
	fi
else
	[ $bundle = 1 ] && bundle_hook
	[ -x "$root$hook" ] || say "warning: $hook does not exist on the host yet"
	[ $do_containerd = 1 ] && install_containerd
	[ $do_crio = 1 ] && install_crio
	[ $do_podman = 1 ] && install_podman
fi
[ $changed_containerd = 1 ] && restart_unit containerd
[ $changed_crio = 1 ] && restart_unit crio
[ $changed_containerd = 0 ] && [ $changed_crio = 0 ] && [ $changed_podman = 0 ] &&
	say "nothing to change"
exit 0
