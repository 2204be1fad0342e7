#!/bin/bash
# Service test of the OCI distribution client against real Debian docker-registry instances on
# 127.0.0.1: image push/resolve, golden push/pull, basic auth, token auth, TLS, relative upload
# Locations, registry down/hanging, oversized and tampered responses.
# Prints "N passed, N failed"; exit status 1 when anything failed.
# TCL_REGTOOL=path uses a prebuilt driver (tclctl, or regtool: tcl_cmd_image / tcl_cmd_golden)
# instead of compiling tests/service/regtool.c with ASan/UBSan here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/registry.sh"

T=$(mktemp -d /tmp/tcl-regtest.XXXXXX)
PIDS=()
REGDIRS=()
cleanup() {
	local d p
	for d in "${REGDIRS[@]}"; do reg_stop "$d"; done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$HERE/expect.sh"

start_reg() {	# start_reg NAME OPTIONS...: registry in $T/NAME; sets REG_URL
	local d=$T/$1
	shift
	REGDIRS+=("$d")
	reg_start "$d" "$@"
}

wait_listen() {	# a bare TCP listener (no HTTP)
	python3 -c 'import socket, sys, time
for i in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)' "$1"
}

wait_port() {
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	return 1
}

# ---- build the driver ----
if [ -n "${TCL_REGTOOL:-}" ]; then
	TOOL=$TCL_REGTOOL
else
	TOOL=$T/regtool
	if ! gcc -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -std=gnu11 \
		-D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/lib" -I"$ROOT/ctl" -O1 -g \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
		$(pkg-config --cflags json-c) "$HERE/regtool.c" \
		"$ROOT"/ctl/{image,golden,cmds,registry_opts,learn,evview}.c "$ROOT"/lib/{evstream,events,hashmap}.c \
		"$ROOT"/lib/{registry,http,imageref,golden_oci,golden,ocilayout,layer,rootfs}.c \
		"$ROOT"/lib/{verify,canonjson,escape,hexb64,jsonb,fileio,util,diag}.c \
		$(pkg-config --libs libcurl json-c openssl libarchive) -o "$TOOL"; then
		echo "0 passed, 1 failed (regtool does not build)"
		exit 1
	fi
fi
export ASAN_OPTIONS=detect_leaks=1
unset TCL_REGISTRY_AUTH
R=$TOOL

# ---- images ----
python3 "$HERE/../mkoci.py" tags "$T/oci" v1=first || exit 1
python3 "$HERE/../mkoci.py" tags "$T/oci2" a=alpha b=beta || exit 1
dig_of() {	# manifest digest of TAG in layout DIR, from index.json
	python3 -c 'import json,sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m["annotations"]["org.opencontainers.image.ref.name"] == sys.argv[2]: print(m["digest"])' "$1" "$2"
}
D1=$(dig_of "$T/oci" v1)
DA=$(dig_of "$T/oci2" a)
DB=$(dig_of "$T/oci2" b)
printf '{"image":"test/app","files":{"/bin/hello":"%064d"}}\n' 0 > "$T/golden.json"
head -c 64 /dev/urandom > "$T/golden.sig"

# ---- plain registry ----
start_reg plain || { echo "0 passed, 1 failed (docker-registry does not start)"; exit 1; }
U=$REG_URL
HP=${U#http://}

expect "--help exits 0" 0 "image push --oci" $R image push --help
expect "golden pull --help exits 0" 0 "sig-out" $R golden pull --help
expect "bad reference is a usage error" 2 "bad image reference" \
	$R image push --oci "$T/oci" --registry "$U" 'Bad/Name'
expect "missing --oci is a usage error" 2 "needs --oci" $R image push --registry "$U" test/app
expect "no registry is a usage error" 2 "no registry" $R image resolve test/app:v1
expect "image push prints REPO@DIGEST" 0 "^test/app@$D1\$" \
	$R image push --oci "$T/oci" --registry "$U" test/app:v1
expect "registry serves the manifest under that digest" 0 "^$D1\$" \
	bash -c "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		'$U/v2/test/app/manifests/v1' | sha256sum | sed 's/^/sha256:/; s/ .*//'"
expect "second push is idempotent" 0 "^test/app@$D1\$" \
	$R image push --oci "$T/oci" --registry "$U" test/app:v1
expect "image resolve" 0 "^test/app@$D1\$" $R image resolve --registry "$U" test/app:v1
expect "image resolve with the host in the reference" 0 "^$HP/test/app@$D1\$" \
	$R image resolve "$HP/test/app:v1"
expect "resolve of a missing tag names registry, repo and status" 1 \
	"registry $U: resolve test/app:nope: HTTP 404" $R image resolve --registry "$U" test/app:nope
expect "layout with two images needs DIR:TAG" 1 "lists 2 manifests" \
	$R image push --oci "$T/oci2" --registry "$U" test/app
expect "DIR:TAG picks the manifest, tag from DIR" 0 "^test/app@$DB\$" \
	$R image push --oci "$T/oci2:b" --registry "$U" test/app
expect "... and is tagged b" 0 "^test/app@$DB\$" $R image resolve --registry "$U" test/app:b
expect "DIR:TAG of a missing tag" 1 "no manifest tagged 'zz'" \
	$R image push --oci "$T/oci2:zz" --registry "$U" test/app
expect "not an OCI layout" 1 "not an OCI image layout" \
	$R image push --oci "$T" --registry "$U" test/app

# golden manifests
expect "golden push prints the artifact" 0 \
	"^test/app:sha256-${D1#sha256:}\\.tcl@sha256:[0-9a-f]{64}\$" \
	$R golden push --registry "$U" "test/app@$D1" --manifest "$T/golden.json" --sig "$T/golden.sig"
ART=$OUT
expect "golden push again gives the same artifact digest" 0 "^${ART//./\\.}\$" \
	$R golden push --registry "$U" "test/app@$D1" --manifest "$T/golden.json" --sig "$T/golden.sig"
expect "tags list has sha256-<hex>.tcl" 0 "\"sha256-${D1#sha256:}\\.tcl\"" \
	curl -sf "$U/v2/test/app/tags/list"
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"$U/v2/test/app/manifests/sha256-${D1#sha256:}.tcl" > "$T/artifact.json"
expect "artifact layout (config, layers, artifactType, subject)" 0 "^layout ok\$" \
	python3 -c 'import json, sys, hashlib
a = json.load(open(sys.argv[1]))
g, s = open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read()
d = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
assert a["schemaVersion"] == 2 and a["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
assert a["artifactType"] == "application/vnd.tcl.golden.config.v1+json"
assert a["config"] == {"mediaType": "application/vnd.tcl.golden.config.v1+json",
    "digest": d(b"{}"), "size": 2}
l = a["layers"]
assert [x["mediaType"] for x in l] == ["application/vnd.tcl.golden.manifest.v1+json",
    "application/vnd.tcl.golden.signature.v1"]
assert (l[0]["digest"], l[0]["size"], l[1]["digest"], l[1]["size"]) == (d(g), len(g), d(s), len(s))
assert a["subject"]["digest"] == sys.argv[2]
assert a["subject"]["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
print("layout ok")' "$T/artifact.json" "$D1" "$T/golden.json" "$T/golden.sig"
expect "golden pull" 0 "" $R golden pull --registry "$U" "test/app@$D1" -o "$T/pulled.json"
expect "pulled manifest is byte-identical" 0 "" cmp "$T/golden.json" "$T/pulled.json"
expect "pulled signature (default FILE.sig) is byte-identical" 0 "" \
	cmp "$T/golden.sig" "$T/pulled.json.sig"
expect "golden pull --sig-out, image by tag" 0 "" \
	$R golden pull "$HP/test/app:v1" -o "$T/p2.json" --sig-out "$T/p2.sig"
expect "--sig-out file is byte-identical" 0 "" cmp "$T/golden.sig" "$T/p2.sig"
expect "golden pull of an image without one" 1 \
	"no golden manifest for test/app@$DB .*sha256-${DB#sha256:}\\.tcl" \
	$R golden pull --registry "$U" "test/app@$DB" -o "$T/none.json"
[ -e "$T/none.json" ] && bad "failed pull left a file behind" || ok "failed pull writes nothing"
expect "golden push for an image not in the registry" 1 "is not in the registry" \
	$R golden push --registry "$U" "test/app@$DA" --manifest "$T/golden.json" \
	--sig "$T/golden.sig"
expect "golden pull of a repo that does not exist" 1 "no golden manifest for other/repo@" \
	$R golden pull --registry "$U" "other/repo@$D1" -o "$T/none.json"
expect "golden pull needs -o" 2 "needs -o" $R golden pull --registry "$U" "test/app@$D1"
head -c 70000 /dev/zero > "$T/big.sig"
expect "golden push of a 70000-byte signature is refused" 1 "larger than the limit" \
	$R golden push --registry "$U" "test/app@$D1" --manifest "$T/golden.json" --sig "$T/big.sig"

# a registry that hands out the wrong bytes: rewrite the signature blob in its storage
SIGHEX=$(sha256sum "$T/golden.sig" | cut -c1-64)
SIGDATA=$T/plain/storage/docker/registry/v2/blobs/sha256/${SIGHEX:0:2}/$SIGHEX/data
if [ -f "$SIGDATA" ]; then
	cp "$SIGDATA" "$T/sig.orig"
	printf 'tampered' > "$SIGDATA"
	expect "tampered blob is refused (digest checked while streaming)" 1 \
		"content hashes to|blob sizes differ|response larger" \
		$R golden pull --registry "$U" "test/app@$D1" -o "$T/tamper.json"
	cp "$T/sig.orig" "$SIGDATA"
else
	bad "signature blob not found in registry storage at $SIGDATA"
fi

# ---- relative upload Locations ----
start_reg rel --relative
expect "push to a registry with relative Locations" 0 "^test/app@$D1\$" \
	$R image push --oci "$T/oci" --registry "$REG_URL" test/app:v1
expect "golden push/pull there" 0 "" bash -c "'$R' golden push --registry '$REG_URL' \
	'test/app@$D1' --manifest '$T/golden.json' --sig '$T/golden.sig' >/dev/null &&
	'$R' golden pull --registry '$REG_URL' 'test/app@$D1' -o '$T/rel.json' &&
	cmp '$T/golden.json' '$T/rel.json'"

# ---- basic auth ----
start_reg basic --auth tcluser:s3cret-pw
B=$REG_URL
expect "push without credentials: clear 401" 1 \
	"registry $B: .*HTTP 401 (Unauthorized|UNAUTHORIZED).*(--auth-file|TCL_REGISTRY_AUTH)" \
	$R image push --oci "$T/oci" --registry "$B" test/app:v1
expect "push with wrong credentials: 401, rejected" 1 "HTTP 401.*credentials rejected" \
	env TCL_REGISTRY_AUTH=tcluser:wrong $R image push --oci "$T/oci" --registry "$B" test/app:v1
expect "push with TCL_REGISTRY_AUTH" 0 "^test/app@$D1\$" \
	env TCL_REGISTRY_AUTH=tcluser:s3cret-pw $R image push --oci "$T/oci" --registry "$B" \
	test/app:v1
printf 'tcluser:s3cret-pw\n' > "$T/auth"
chmod 600 "$T/auth"
expect "golden push with --auth-file" 0 "sha256-" \
	$R golden push --auth-file "$T/auth" --registry "$B" "test/app@$D1" \
	--manifest "$T/golden.json" --sig "$T/golden.sig"
expect "golden pull with --auth-file" 0 "" \
	$R golden pull --auth-file "$T/auth" --registry "$B" "test/app@$D1" -o "$T/b.json"
expect "... byte-identical" 0 "" cmp "$T/golden.json" "$T/b.json"
expect "golden pull without credentials: 401" 1 "HTTP 401" \
	$R golden pull --registry "$B" "test/app@$D1" -o "$T/b2.json"
expect "missing auth file" 1 "auth file $T/nope: No such file" \
	$R image resolve --auth-file "$T/nope" --registry "$B" test/app:v1

# ---- token (Bearer) auth ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tok.key" -out "$T/tok.crt" \
	-subj /CN=tcl-token -days 2 2>/dev/null
TPORT=$(reg_free_port)
python3 "$HERE/tokenserver.py" "$TPORT" "$T/tok.key" "$T/tok.crt" tcl-test-issuer \
	tokuser:tokpass &
PIDS+=($!)
wait_port "$TPORT" || bad "token server did not start"
start_reg token --token "http://127.0.0.1:$TPORT/token" "$T/tok.crt"
K=$REG_URL
expect "Bearer: push without credentials is refused by the token server" 1 \
	"token: HTTP 401 UNAUTHORIZED: bad credentials" \
	$R image push --oci "$T/oci" --registry "$K" test/app:v1
expect "Bearer: push with credentials (token flow)" 0 "^test/app@$D1\$" \
	env TCL_REGISTRY_AUTH=tokuser:tokpass $R image push --oci "$T/oci" --registry "$K" test/app:v1
expect "Bearer: golden push + pull" 0 "" bash -c "export TCL_REGISTRY_AUTH=tokuser:tokpass
	'$R' golden push --registry '$K' 'test/app@$D1' --manifest '$T/golden.json' \
	--sig '$T/golden.sig' >/dev/null && '$R' golden pull --registry '$K' 'test/app:v1' \
	-o '$T/k.json' && cmp '$T/golden.json' '$T/k.json' && cmp '$T/golden.sig' '$T/k.json.sig'"

# ---- TLS ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null
start_reg tls --tls "$T/tls.crt" "$T/tls.key"
S=$REG_URL
expect "https registry with an unknown CA is refused" 1 "registry $S: .*TLS.*certificate" \
	$R image push --oci "$T/oci" --registry "$S" test/app:v1
expect "https registry with --ca-file" 0 "^test/app@$D1\$" \
	$R image push --ca-file "$T/tls.crt" --oci "$T/oci" --registry "$S" test/app:v1
expect "https golden round trip" 0 "" bash -c "'$R' golden push --ca-file '$T/tls.crt' \
	--registry '$S' 'test/app@$D1' --manifest '$T/golden.json' --sig '$T/golden.sig' \
	>/dev/null && '$R' golden pull --ca-file '$T/tls.crt' --registry '$S' 'test/app@$D1' \
	-o '$T/s.json' && cmp '$T/golden.json' '$T/s.json'"

# ---- registry down / hanging ----
DOWN=$(reg_free_port)
start=$(date +%s)
expect "registry down: connection error" 1 "registry http://127.0.0.1:$DOWN: .*cannot connect" \
	$R golden pull --registry "http://127.0.0.1:$DOWN" "test/app@$D1" -o "$T/d.json"
[ $(( $(date +%s) - start )) -le 6 ] && ok "... within the connect timeout" ||
	bad "connection error took $(( $(date +%s) - start )) s"
HANG=$(reg_free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(600)' "$HANG" &
PIDS+=($!)
wait_listen "$HANG" || bad "hanging listener did not start"
start=$(date +%s)
expect "registry that never answers: timeout" 1 "timed out after 2 s" \
	$R image resolve --timeout 2 --registry "http://127.0.0.1:$HANG" test/app:v1
el=$(( $(date +%s) - start ))
[ "$el" -le 5 ] && ok "... after ${el}s" || bad "timeout took ${el}s"

# ---- oversized manifest ----
mkdir -p "$T/www/v2/test/app/manifests"
head -c $((10 << 20)) /dev/zero | tr '\0' ' ' > "$T/www/v2/test/app/manifests/v1"
cp "$T/www/v2/test/app/manifests/v1" "$T/www/v2/test/app/manifests/sha256-${D1#sha256:}.tcl"
WPORT=$(reg_free_port)
python3 -m http.server "$WPORT" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$WPORT" || bad "http.server did not start"
expect "10 MiB golden artifact manifest is refused" 1 \
	"GET manifest test/app:sha256-.*larger than 4194304 bytes" \
	$R golden pull --registry "http://127.0.0.1:$WPORT" "test/app@$D1" -o "$T/w.json"
expect "10 MiB manifest on resolve is refused" 1 "larger than 4194304 bytes" \
	$R image resolve --registry "http://127.0.0.1:$WPORT" test/app:v1

# ---- hostile registry ----
EPORT=$(reg_free_port)
python3 "$HERE/evilreg.py" "$EPORT" &
PIDS+=($!)
wait_listen "$EPORT" || bad "evilreg did not start"
E=http://127.0.0.1:$EPORT
evil_pull() {	# evil_pull MODE PATTERN
	expect "hostile registry ($1)" 1 "$2" \
		$R golden pull --timeout 5 --registry "$E" "$1/app@$D1" -o "$T/evil.json"
}
evil_pull badjson "is not a tcl golden manifest artifact"
evil_pull wrongdcd "content hashes to sha256:[0-9a-f]{64}, expected sha256:0{64}"
evil_pull subject "names another image as its subject"
evil_pull twolayers "exactly one golden manifest and one signature layer"
evil_pull hugesize "larger than allowed"
evil_pull negsize "layer descriptor without a valid digest and size"
evil_pull endless "larger than 4194304 bytes"
evil_pull redirect "GET blob .*(protocol|Protocol)"
evil_pull badtoken "no usable token"
evil_pull errjson "HTTP 500 BOOM\\?: a\\?b\\?\\[31m"
[ -e "$T/evil.json" ] && bad "hostile registry left a file" || ok "hostile registry: nothing written"
expect "hostile registry (upload without Location)" 1 "202 without a Location" \
	$R image push --oci "$T/oci" --registry "$E" noloc/app:v1
expect "hostile registry (ftp:// upload Location)" 1 "unusable upload Location 'ftp://" \
	$R image push --oci "$T/oci" --registry "$E" ftploc/app:v1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
