# Sourced by postinst and prerm: the runtime configuration files that
# /usr/libexec/tcl/install-hooks.sh may write, and their backup.  DPKG_ROOT: dpkg --root without
# chroot (--force-script-chrootless).
root=${DPKG_ROOT:-}
backup=$root/var/lib/tcl/pkg-backup
hook_files() {
	echo /etc/containerd/config.toml
	echo /etc/containerd/tcl-base-spec.json
	echo /etc/containers/oci/hooks.d/tcl-hook.json
	echo /usr/share/containers/oci/hooks.d/tcl-hook.json
	echo /etc/crio/crio.conf.d/50-tcl-hooks.conf
	echo /etc/containers/containers.conf.d/50-tcl-hooks.conf
	# a base_runtime_spec set before tcl is edited in place
	if [ -f "$root/etc/containerd/config.toml" ]; then
		sed -n 's/^[[:space:]]*base_runtime_spec[[:space:]]*=[[:space:]]*["'\'']\([^"'\'']*\)["'\''].*/\1/p' \
			"$root/etc/containerd/config.toml"
	fi
}
install_hooks() {
	"$root/usr/libexec/tcl/install-hooks.sh" --root "${root:-/}" --hook /usr/sbin/tcl-hook \
		--tclctl "$root/usr/sbin/tclctl" "$@"
}
