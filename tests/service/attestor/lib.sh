#!/bin/bash
# Helpers for the tcl-attestor service test and benchmark (source it; needs bash 4).
#   att_build OUT [san]      build libtcl, tclctl, tcl-attestor and nodesim into OUT
#                            (san: the attestor and nodesim with ASan/UBSan)
#   att_pki DIR              test CA (DIR/ca.crt), attestor certificate for 127.0.0.1
#                            (DIR/server.*), a reader certificate (DIR/reader.*) and a CA
#                            nobody trusts (DIR/rogue-ca.*)
#   att_cert DIR NAME CN [CA]  client certificate DIR/NAME.crt/.key (CN = node id), issued
#                            by DIR/CA (default ca)
#   att_tpm DIR NAME [--no-ek-cert]   swtpm for node NAME on 127.0.0.1; EK certificate from a
#                            local CA shared by all (DIR/swtpm-ca/ek-ca.pem is its bundle);
#                            sets TCTI[NAME], TPM_PID[NAME]; PCR banks $ATT_PCR_BANKS
#                            (default sha1,sha256)
#                            (= att_tpm_setup, which may run in the background, + att_tpm_run)
#   att_tpm_reboot DIR NAME  restart that swtpm (PCRs start over, the TPM reset count moves)
#   att_start DIR ARGS...    start the attestor ($ATT_BIN) on a free port: ATT_PID, ATT_URL,
#                            log in DIR/attestor.log (appended)
#   att_stop                 SIGTERM, wait; returns its exit status
#   att_cleanup              stop everything started here (by pid, never by name)
#   att_nodesim DIR NAME ARGS...  $NS (nodesim) as node NAME, certificates and state in DIR
#   att_json_is FILE EXPR    whether the Python expression EXPR holds, d = the JSON in FILE
# Client certificates: the test CA signs them with extendedKeyUsage clientAuth and the node
# id as subject CN; the attestor takes the node id from the CN.

. "$(dirname "${BASH_SOURCE[0]}")/../../swtpm/swtpm-lib.sh"

declare -A TCTI TPM_PID TPM_PORT
ATT_PID=
ATT_URL=

# A free port pair P, P+1 below the ephemeral range (32768-60999 on Linux): a port that
# outgoing connections use can sit in TIME_WAIT and refuse bind() without SO_REUSEADDR.
att_free_port() {
	local p i
	for i in $(seq 200); do
		p=$((20000 + RANDOM % 12765))
		ss -Htan "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null | grep -q . && continue
		echo "$p"
		return 0
	done
	return 1
}

att_build() {
	local out=$1 san=${2:-} root cf libs sanf=""
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
	mkdir -p "$out" || return 1
	make -s -C "$root" O="$out" "$out/libtcl.a" "$out/libtcl-agent.a" "$out/tclctl" \
		${san:+"$out/libtcl-san.a" "$out/libtcl-agent-san.a"} >"$out/make.log" 2>&1 || {
		tail -20 "$out/make.log" >&2
		return 1
	}
	cf="-O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -std=gnu11
	    -D_GNU_SOURCE -I$root/include -I$root/lib -I$root/agent -I$root/attestor
	    $(pkg-config --cflags json-c tss2-esys sqlite3 libpq)"
	# the libraries the Makefile links libtcl users with (its PKGS), whatever they are today,
	# and the attestor's databases (DB_PKGS)
	libs="$(pkg-config --libs $(sed -n '/^PKGS[[:space:]]*:=/,/[^\\]$/p' "$root/Makefile" |
		sed 's/^PKGS[[:space:]]*:=//; s/\\$//') \
		$(sed -n 's/^DB_PKGS[[:space:]]*:=//p' "$root/Makefile")) -lpthread"
	local lib="$out/libtcl-agent.a $out/libtcl.a"
	if [ -n "$san" ]; then
		sanf="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
		lib="$out/libtcl-agent-san.a $out/libtcl-san.a"
	fi
	# shellcheck disable=SC2086
	gcc $cf $sanf "$root"/attestor/*.c $lib $libs -o "$out/tcl-attestor" &&
	gcc $cf $sanf "$root/tests/service/attestor/nodesim.c" $lib $libs -o "$out/nodesim"
}

att_pki() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$d/ca.key" -out "$d/ca.crt" -subj /CN=tcl-test-ca 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$d/rogue-ca.key" -out "$d/rogue-ca.crt" -subj /CN=rogue-ca 2>/dev/null &&
	att_issue "$d" server 127.0.0.1 ca "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth" &&
	att_cert "$d" reader tcl-scheduler
}

att_issue() {	# DIR NAME CN CA EXTENSIONS
	local d=$1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$2.key" \
		-out "$d/$2.csr" -subj "/CN=$3" 2>/dev/null &&
	printf '%s\n' "$5" > "$d/$2.ext" &&
	openssl x509 -req -in "$d/$2.csr" -CA "$d/$4.crt" -CAkey "$d/$4.key" -CAcreateserial \
		-days 2 -out "$d/$2.crt" -extfile "$d/$2.ext" 2>/dev/null
}

att_cert() {
	att_issue "$1" "$2" "$3" "${4:-ca}" "extendedKeyUsage=clientAuth"
}

att_tpm_run() {	# DIR NAME: start swtpm on the node's state
	local d=$1/tpm-$2 p i
	for i in $(seq 20); do
		p=$(att_free_port)
		swtpm_spawn "$d" "$p" || continue
		TPM_PID[$2]=$SWTPM_SPAWNED
		TPM_PORT[$2]=$p
		TCTI[$2]="swtpm:host=127.0.0.1,port=$p"
		return 0
	done
	echo "att_tpm: cannot start swtpm for $2: $(tail -3 "$d/swtpm.err")" >&2
	return 1
}

att_tpm() {
	att_tpm_setup "$@" && att_tpm_run "$1" "$2"
}

# The TPM state only (safe to run in parallel once the first one made the local CA).
att_tpm_setup() {
	local dir=$1 name=$2 d ca=$1/swtpm-ca certs=(--create-ek-cert --create-platform-cert)
	d=$dir/tpm-$name
	[ "${3:-}" = --no-ek-cert ] && certs=()
	mkdir -p "$d/state" "$ca"
	if [ ! -f "$dir/swtpm_setup.conf" ]; then
		cat >"$dir/localca.conf" <<-CONF
		statedir = $ca
		signingkey = $ca/signkey.pem
		issuercert = $ca/issuercert.pem
		certserial = $ca/certserial
		CONF
		printf '%s\n' "--platform-manufacturer tcl-test" "--platform-version 2.1" \
			"--platform-model swtpm" >"$dir/localca.options"
		cat >"$dir/swtpm_setup.conf" <<-CONF
		create_certs_tool = $(command -v swtpm_localca || echo /usr/bin/swtpm_localca)
		create_certs_tool_config = $dir/localca.conf
		create_certs_tool_options = $dir/localca.options
		active_pcr_banks = sha1,sha256
		CONF
	fi
	swtpm_setup --tpm2 --tpmstate "$d/state" --config "$dir/swtpm_setup.conf" "${certs[@]}" \
		--pcr-banks "${ATT_PCR_BANKS:-sha1,sha256}" --logfile "$d/setup.log" >/dev/null 2>&1 || {
		echo "att_tpm: swtpm_setup for $name failed: $(tail -3 "$d/setup.log")" >&2
		return 1
	}
	if [ -f "$ca/issuercert.pem" ] && [ ! -s "$ca/ek-ca.pem" ]; then
		cat "$ca/swtpm-localca-rootca-cert.pem" "$ca/issuercert.pem" >"$ca/ek-ca.pem.$$" &&
			mv "$ca/ek-ca.pem.$$" "$ca/ek-ca.pem"
	fi
}

# Running and not a zombie: swtpm daemonises, and in a container nothing may reap it.
att_alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

att_tpm_stop() {	# NAME
	local pid=${TPM_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do
		att_alive "$pid" || break
		sleep 0.05
	done
	TPM_PID[$1]=
}

att_tpm_reboot() {
	att_tpm_stop "$2"
	att_tpm_run "$1" "$2"
}

# Start $ATT_BIN on 127.0.0.1:$ATT_PORT (log appended to DIR/attestor.log) and wait until it
# answers /healthz: ATT_PID, or empty and 1 when it does not come up.
att_launch() {	# DIR ARGS...
	local dir=$1 i
	shift
	"$ATT_BIN" --listen "127.0.0.1:$ATT_PORT" "$@" >>"$dir/attestor.log" 2>&1 &
	ATT_PID=$!
	for i in $(seq 100); do
		curl -s -o /dev/null --cacert "$dir/ca.crt" --cert "$dir/reader.crt" \
			--key "$dir/reader.key" "$ATT_URL/healthz" && return 0
		kill -0 "$ATT_PID" 2>/dev/null || break
		sleep 0.1
	done
	ATT_PID=
	return 1
}

att_start() {
	ATT_PORT=$(att_free_port)
	ATT_URL=https://127.0.0.1:$ATT_PORT
	att_launch "$@" && return 0
	echo "att_start: tcl-attestor did not come up:" >&2
	tail -20 "$1/attestor.log" >&2
	return 1
}

# Restart on the same port (clients keep their URL).
att_restart() {
	att_launch "$@"
}

# nodesim ($NS) as node NAME: its swtpm, its certificate DIR/node-NAME.*, its directory DIR/n-NAME
att_nodesim() {	# DIR NAME ARGS...
	local d=$1 n=$2
	shift 2
	"$NS" --tpm "${TCTI[$n]}" --url "$ATT_URL" --cert "$d/node-$n.crt" \
		--key "$d/node-$n.key" --ca "$d/ca.crt" --dir "$d/n-$n" --attempts 2 \
		--retry-ms 200 "$@"
}

# att_json_is FILE PYTHON-EXPR: true when EXPR holds, d being the JSON in FILE (errors on stderr)
att_json_is() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

att_stop() {
	local pid=$ATT_PID rc
	[ -n "$pid" ] || return 0
	ATT_PID=
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	return $rc
}

att_cleanup() {
	local n
	[ -n "$ATT_PID" ] && { kill "$ATT_PID" 2>/dev/null; wait "$ATT_PID" 2>/dev/null; }
	ATT_PID=
	for n in "${!TPM_PID[@]}"; do att_tpm_stop "$n"; done
}
