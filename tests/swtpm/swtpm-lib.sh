# tests/swtpm/swtpm-lib.sh: a throwaway swtpm on 127.0.0.1 for host tests (sourced by bash).
#   swtpm_make_state DIR  TPM 2.0 state in DIR/state with the PCR banks $SWTPM_PCR_BANKS
#                         (default sha1,sha256; e.g. sha256,sha384), an EK and platform
#                         certificate from swtpm's local CA (DIR/ca, kept inside DIR)
#   swtpm_start DIR       start swtpm on DIR/state on a random free port pair (server P,
#                         control P+1); sets SWTPM_PID SWTPM_PORT SWTPM_TCTI
#   swtpm_stop            stop it and wait (up to 1 s)
#   swtpm_spawn DIR PORT  one attempt at swtpm on DIR/state, ports PORT and PORT+1 (what
#                         swtpm_start and tests/service/attestor/lib.sh retry on other ports)
#   swtpm_reboot DIR      stop + start: the PCRs start over (TPM2_Startup(CLEAR)) while NV and
#                         persistent keys stay, as across a reboot of the node
# Functions return non-zero with the reason in SWTPM_ERR.
# Needs: swtpm, swtpm_setup and swtpm_localca (swtpm-tools), ss (iproute2).

SWTPM_PID=
SWTPM_PORT=
SWTPM_TCTI=
SWTPM_ERR=
SWTPM_PCR_BANKS=${SWTPM_PCR_BANKS:-sha1,sha256}

swtpm_make_state() {
	local d=$1
	mkdir -p "$d/state" "$d/ca"
	cat >"$d/localca.conf" <<EOF
statedir = $d/ca
signingkey = $d/ca/signkey.pem
issuercert = $d/ca/issuercert.pem
certserial = $d/ca/certserial
EOF
	cat >"$d/localca.options" <<EOF
--platform-manufacturer tcl-test
--platform-version 2.1
--platform-model swtpm
EOF
	cat >"$d/swtpm_setup.conf" <<EOF
create_certs_tool = $(command -v swtpm_localca || echo /usr/bin/swtpm_localca)
create_certs_tool_config = $d/localca.conf
create_certs_tool_options = $d/localca.options
active_pcr_banks = $SWTPM_PCR_BANKS
EOF
	if ! swtpm_setup --tpm2 --tpmstate "$d/state" --config "$d/swtpm_setup.conf" \
		--create-ek-cert --create-platform-cert --pcr-banks "$SWTPM_PCR_BANKS" \
		--write-ek-cert-files "$d" --logfile "$d/swtpm_setup.log" >/dev/null; then
		SWTPM_ERR="swtpm_setup failed: $(tail -5 "$d/swtpm_setup.log")"
		return 1
	fi
}

# swtpm_spawn DIR PORT: swtpm on DIR/state, daemonised, server PORT and control PORT+1 on
# 127.0.0.1 (its log DIR/swtpm.log, errors DIR/swtpm.err); its pid in SWTPM_SPAWNED, or 1.
swtpm_spawn() {
	local d=$1 p=$2
	SWTPM_SPAWNED=
	rm -f "$d/swtpm.pid"
	swtpm socket --tpm2 --tpmstate dir="$d/state" \
		--server type=tcp,port=$p,bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --pid file="$d/swtpm.pid" \
		--log file="$d/swtpm.log" --daemon 2>>"$d/swtpm.err" || return 1
	for _ in $(seq 1 50); do
		[ -s "$d/swtpm.pid" ] && break
		sleep 0.05
	done
	SWTPM_SPAWNED=$(cat "$d/swtpm.pid" 2>/dev/null)
	[ -n "$SWTPM_SPAWNED" ]
}

_swtpm_port_busy() { ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }

swtpm_start() {
	local d=$1 p
	SWTPM_PID=
	for _ in $(seq 1 20); do
		p=$((20000 + RANDOM % 19999))
		_swtpm_port_busy "$p" && continue
		_swtpm_port_busy $((p + 1)) && continue
		swtpm_spawn "$d" "$p" || continue
		SWTPM_PID=$SWTPM_SPAWNED
		[ -n "$SWTPM_PID" ] && break
	done
	if [ -z "$SWTPM_PID" ]; then
		SWTPM_ERR="could not start swtpm: $(tail -3 "$d/swtpm.err" 2>/dev/null)"
		return 1
	fi
	SWTPM_PORT=$p
	SWTPM_TCTI="swtpm:host=127.0.0.1,port=$p"
}

swtpm_stop() {
	[ -n "$SWTPM_PID" ] || return 0
	kill "$SWTPM_PID" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$SWTPM_PID" 2>/dev/null || break
		sleep 0.1
	done
	SWTPM_PID=
}

swtpm_reboot() {
	swtpm_stop
	swtpm_start "$1"
}
