#!/bin/bash
# Throwaway Debian docker-registry on 127.0.0.1, for the service tests.  Source it, then:
#   reg_start DIR [--auth USER:PASS] [--token REALM CERT] [--tls CERT KEY] [--relative]
#       --token: docker token auth, service tcl-test-registry, issuer tcl-test-issuer, tokens
#       signed by the key of CERT (see tokenserver.py)
#       starts a registry storing under DIR/storage; sets REG_PORT, REG_URL, REG_PID
#   reg_stop DIR        stops the registry started for DIR (by its pid, never by name)
# It uses a free port chosen by the kernel and waits until /v2/ answers.

reg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bcrypt is the only hash docker-registry's htpasswd accepts; perl's crypt() is libxcrypt,
# which does bcrypt, so apache2-utils is not needed.
reg_bcrypt() {
	perl -e '
		my @c = ("a".."z", "A".."Z", "0".."9", ".", "/");
		open(my $r, "<", "/dev/urandom") or die; read($r, my $b, 22); close($r);
		my $salt = join("", map { $c[ord($_) % 64] } split(//, $b));
		my $h = crypt($ARGV[0], "\$2y\$05\$$salt");
		die "no bcrypt in crypt()\n" unless defined $h && $h =~ /^\$2y\$/;
		print $h;' "$1"
}

reg_start() {
	local dir=$1 auth="" cert="" key="" relative=false i scheme=http realm="" tcert=""
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--auth) auth=$2; shift 2 ;;
		--tls) cert=$2; key=$3; scheme=https; shift 3 ;;
		--token) realm=$2; tcert=$3; shift 3 ;;
		--relative) relative=true; shift ;;
		*) echo "reg_start: unknown option $1" >&2; return 2 ;;
		esac
	done
	mkdir -p "$dir/storage" || return 1
	REG_PORT=$(reg_free_port) || return 1
	{
		echo "version: 0.1"
		echo "log: {level: warn, accesslog: {disabled: true}}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $dir/storage}"
		echo "  delete: {enabled: true}"
		echo "http:"
		echo "  addr: 127.0.0.1:$REG_PORT"
		echo "  secret: tcl-test-$RANDOM$RANDOM"
		echo "  relativeurls: $relative"
		if [ -n "$cert" ]; then
			echo "  tls: {certificate: $cert, key: $key}"
		fi
		if [ -n "$auth" ]; then
			echo "$auth" | {
				IFS=: read -r u p
				printf '%s:%s\n' "$u" "$(reg_bcrypt "$p")" > "$dir/htpasswd"
			}
			echo "auth:"
			echo "  htpasswd: {realm: tcl-test, path: $dir/htpasswd}"
		elif [ -n "$realm" ]; then
			echo "auth:"
			echo "  token: {realm: \"$realm\", service: tcl-test-registry,"
			echo "          issuer: tcl-test-issuer, rootcertbundle: $tcert}"
		fi
	} > "$dir/config.yml"
	docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
	REG_PID=$!
	echo "$REG_PID" > "$dir/pid"
	REG_URL=$scheme://127.0.0.1:$REG_PORT
	for i in $(seq 100); do
		# 200 without auth, 401 with: either way it is serving
		case $(curl -sk -o /dev/null -w '%{http_code}' "$REG_URL/v2/") in
		200|401) return 0 ;;
		esac
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "reg_start: registry did not come up; log:" >&2
	cat "$dir/registry.log" >&2
	reg_stop "$dir"
	return 1
}

reg_stop() {
	local dir=$1 pid
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	rm -f "$dir/pid"
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}
