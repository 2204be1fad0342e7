#!/bin/bash
# tests/k8s/test_manifests.sh: the Kubernetes deployment, checked without a cluster.
#   - every manifest in deploy/ parses (PyYAML, YAML 1.1 as Kubernetes reads it, duplicate keys
#     rejected) and every field is a field of its kind; the cross-object references agree
#   - kubectl client-side dry run (`create --dry-run=client`) of every manifest, against a
#     discovery cache written here (kubectl needs discovery to map kinds; there is no server);
#     `kubectl kustomize deploy/` renders
#   - the TrustedImage CRD schema is structural, validates the example objects and rejects each
#     of tests/k8s/bad-trustedimages.yaml
#   - `tclctl k8s render` turns TrustedImages (JSON as `kubectl get -o json` prints them: one
#     object or a List) into a policy that `tclctl policy check` accepts, deterministically;
#     refuses YAML, wrong keys, tampered or mismatched golden manifests and every bad
#     TrustedImage; wraps it in a ConfigMap
#   - `tclctl k8s hook-spec` and scripts/install-hooks.sh are idempotent and undo cleanly
#   - `scripts/build-image.sh` is reproducible (two builds, same digests) and its golden manifest
#     renders into a valid policy
#   - the extender request/response examples are a valid ExtenderFilterResult exchange, and
#     round-trip through build/tcl-attestor's POST /scheduler/filter when it is built
# Not checkable here (no API server): admission, server-side schema validation of built-in kinds
# (approximated by the field table in k8scheck.py), scheduling, the runtimes reading the hooks.
# env: TCLCTL (default build/tclctl), ATTESTOR (default build/tcl-attestor), KUBECTL (default
#      kubectl in PATH), TCL_K8S_SKIP_IMAGE=1 skips the two image builds.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
TOP=$PWD
TCLCTL=${TCLCTL:-$TOP/build/tclctl}
ATTESTOR=${ATTESTOR:-$TOP/build/tcl-attestor}
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
CHECK=$TOP/tests/k8s/k8scheck.py
CRD=$TOP/deploy/01-crd-trustedimage.yaml
BAD=$TOP/tests/k8s/bad-trustedimages.yaml
PY=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done

passed=0 failed=0 skipped=0
T=$(mktemp -d /tmp/tcl-k8s-test.XXXXXX)
attestor_pid=
cleanup() {
	[ -n "$attestor_pid" ] && kill "$attestor_pid" 2>/dev/null && wait "$attestor_pid" 2>/dev/null
	[ -n "${REG_PID:-}" ] && declare -F reg_stop >/dev/null && reg_stop "$T/reg" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "  skip $*"; }
# check NAME CMD...: pass when CMD exits 0; its output is shown on failure
check() {
	local name=$1; shift
	if "$@" >"$T/out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/       /' "$T/out" | tail -20; fi
}
# refuse NAME PATTERN CMD...: pass when CMD exits non-zero and its output matches PATTERN
refuse() {
	local name=$1 pat=$2; shift 2
	if "$@" >"$T/out" 2>&1; then
		bad "$name (accepted)"; sed 's/^/       /' "$T/out" | tail -5
	elif grep -Eq -- "$pat" "$T/out"; then
		ok "$name"
	else
		bad "$name (wrong message)"; sed 's/^/       /' "$T/out" | tail -5
	fi
}

manifests=$(find deploy -name '*.yaml' ! -name kustomization.yaml | sort)
resources=$(find deploy -name '*.yaml' ! -name kustomization.yaml \
	! -name kube-scheduler-config.yaml | sort)

echo "== manifests parse and use only real fields"
if [ -z "$PY" ]; then
	bad "python3 with PyYAML (Debian python3-yaml) is needed: scripts/deps.sh installs it"
else
	check "every document parses" $PY "$CHECK" parse $manifests deploy/kustomization.yaml \
		deploy/examples/*.json
	check "every field is a field of its kind" $PY "$CHECK" fields $manifests
	check "cross-object references agree" $PY "$CHECK" consistency deploy
	# the checks themselves must catch mistakes
	mkdir -p "$T/mut"
	sed 's/mountPropagation: Bidirectional/mountPropagaton: Bidirectional/' \
		deploy/20-agent-daemonset.yaml > "$T/mut/ds.yaml"
	refuse "a misspelt field is caught" 'unknown field .*mountPropagaton' \
		$PY "$CHECK" fields "$T/mut/ds.yaml"
	printf 'a: 1\na: 2\n' > "$T/mut/dup.yaml"
	refuse "a duplicate key is caught" 'duplicate key' $PY "$CHECK" parse "$T/mut/dup.yaml"
	cp -r deploy "$T/mut/deploy"
	sed -i 's/tcl.io\/enforce: "true"/tcl.io\/enforce: "yes"/' "$T/mut/deploy/03-runtimeclass.yaml"
	refuse "a RuntimeClass admitting nodes without the agent is caught" 'RuntimeClass tcl admits' \
		$PY "$CHECK" consistency "$T/mut/deploy"
	cp -r deploy "$T/mut/deploy2"
	sed -i 's/filterVerb: filter/filterVerb: filtr/' "$T/mut/deploy2/scheduler/kube-scheduler-config.yaml"
	refuse "a scheduler ConfigMap that drifted from its file is caught" 'differs from' \
		$PY "$CHECK" consistency "$T/mut/deploy2"
	cp -r deploy "$T/mut/deploy3"
	sed -i 's|/etc/tcl-attestor-ca/ca.crt|/etc/elsewhere/ca.crt|' \
		"$T/mut/deploy3/20-agent-daemonset.yaml"
	refuse "an agent option naming a file outside the mounts is caught" \
		'--attestor-ca /etc/elsewhere/ca.crt is not in any volume mount' \
		$PY "$CHECK" consistency "$T/mut/deploy3"
	# The DaemonSet's arguments are options tcl-agent has (its --help lists every one).
	AGENT=${AGENT:-$TOP/build/tcl-agent}
	if [ -x "$AGENT" ]; then
		"$AGENT" --help >"$T/agent-help.txt" 2>&1
		unknown=$($PY - deploy/20-agent-daemonset.yaml "$T/agent-help.txt" <<'PY'
import re, sys, yaml
ds = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "DaemonSet"][0]
agent = [c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "agent"][0]
known = set(re.findall(r"(--[a-z][a-z-]*)", open(sys.argv[2]).read()))
print(" ".join(a for a in agent["args"] if a.startswith("--") and a not in known))
PY
)
		[ -z "$unknown" ] && ok "every DaemonSet argument of the agent is a tcl-agent option" ||
			bad "the DaemonSet passes options tcl-agent does not have: $unknown"
	else
		skip "$AGENT is not built: the DaemonSet's options are not checked against it"
	fi
fi

echo "== kubectl client-side dry run"
if [ -z "$KUBECTL" ]; then
	skip "kubectl not installed (Debian kubernetes-client): dry run not checked"
elif [ -z "$PY" ]; then
	bad "kubectl dry run needs python3-yaml for the discovery cache"
else
	echo "  $($KUBECTL version --client 2>/dev/null | head -1)"
	# kubectl maps kinds through API discovery even for --dry-run=client; an unreachable server
	# plus a fresh discovery cache of the kinds deploy/ uses (and the CRD's) makes that offline.
	cat > "$T/kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: offline
  cluster:
    server: http://127.0.0.1:1
contexts:
- name: offline
  context:
    cluster: offline
    user: offline
    namespace: default
current-context: offline
users:
- name: offline
  user:
    token: offline
EOF
	$PY "$CHECK" discovery "$T/kcache" 127.0.0.1_1 "$CRD" >/dev/null
	kc() { KUBECONFIG=$T/kubeconfig timeout 60 $KUBECTL --cache-dir="$T/kcache" \
		--request-timeout=2s "$@"; }
	for f in $resources; do
		n=$($PY "$CHECK" parse "$f" | cut -d' ' -f1)
		if kc create --dry-run=client --validate=false -o name -f "$f" >"$T/out" 2>&1 &&
			[ "$(grep -c . "$T/out")" -eq "$n" ]; then
			ok "kubectl create --dry-run=client $f ($n objects)"
		else
			bad "kubectl create --dry-run=client $f"; sed 's/^/       /' "$T/out" | tail -5
		fi
	done
	printf 'apiVersion: tcl.io/v1alpha1\nkind: TrustedImag\nmetadata:\n  name: x\n' > "$T/typo.yaml"
	refuse "kubectl rejects an unknown kind (the dry run is not vacuous)" \
		'unable to recognize|no matches for kind' \
		kc create --dry-run=client --validate=false -o name -f "$T/typo.yaml"
	if $KUBECTL kustomize deploy >"$T/kust.yaml" 2>"$T/out" &&
		[ "$($PY "$CHECK" parse "$T/kust.yaml" | cut -d' ' -f1)" -eq \
		  "$(for f in $(sed -n 's/^- \(.*\.yaml\)$/deploy\/\1/p' deploy/kustomization.yaml); do
			$PY "$CHECK" parse "$f"; done | awk '{ s += $1 } END { print s }')" ]; then
		ok "kubectl kustomize deploy/ renders every resource"
	else
		bad "kubectl kustomize deploy/"; tail -5 "$T/out"
	fi
fi

echo "== TrustedImage CRD schema"
if [ -n "$PY" ]; then
	check "the CRD schema is structural" $PY "$CHECK" crd-structural "$CRD"
	check "the example TrustedImages validate" $PY "$CHECK" crd-validate "$CRD" \
		deploy/examples/trustedimage-*.yaml
	check "each bad TrustedImage is rejected by the schema" $PY "$CHECK" crd-reject "$CRD" "$BAD"
fi

# ---- tclctl k8s render
has_k8s=0
if [ ! -x "$TCLCTL" ]; then
	bad "$TCLCTL is not built"
elif ! "$TCLCTL" k8s --help >/dev/null 2>&1; then
	bad "$TCLCTL has no k8s command (ctl/tclctl.c must dispatch \"k8s\" to tcl_cmd_k8s)"
else
	has_k8s=1
fi

# mk_layout DIR REF FILE...: a one-layer OCI image layout holding FILEs under /app
mk_layout() {
	local dir=$1 ref=$2 root=$T/rootfs.$$ l c m; shift 2
	rm -rf "$root" "$dir"; mkdir -p "$root/app" "$dir/blobs/sha256"
	cp "$@" "$root/app/"
	tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
		-cf "$T/layer.tar" app
	gzip -n -c "$T/layer.tar" > "$T/layer.tgz"
	l=$(sha256sum < "$T/layer.tgz" | cut -d' ' -f1)
	cp "$T/layer.tgz" "$dir/blobs/sha256/$l"
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$(sha256sum < "$T/layer.tar" | cut -d' ' -f1)" > "$T/config.json"
	c=$(sha256sum < "$T/config.json" | cut -d' ' -f1)
	cp "$T/config.json" "$dir/blobs/sha256/$c"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
		"$c" "$(stat -c %s "$T/config.json")" "$l" "$(stat -c %s "$T/layer.tgz")" > "$T/manifest.json"
	m=$(sha256sum < "$T/manifest.json" | cut -d' ' -f1)
	cp "$T/manifest.json" "$dir/blobs/sha256/$m"
	printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$m" "$(stat -c %s "$T/manifest.json")" "$ref" > "$dir/index.json"
	rm -rf "$root"
	echo "$m"
}
# golden_for LAYOUT REF KEY GOLDENDIR: generate + sign, files named by the golden tag
golden_for() {
	local m=$1 ref=$2 key=$3 gd=$4
	mkdir -p "$gd"
	"$TCLCTL" golden generate --oci "$T/img-$m" --ref "$ref" -o "$gd/sha256-$m.tcl" 2>/dev/null &&
		"$TCLCTL" golden sign --key "$key" -o "$gd/sha256-$m.tcl.sig" "$gd/sha256-$m.tcl" \
			2>/dev/null
}

if [ $has_k8s = 1 ]; then
	echo "== tclctl k8s render"
	R=registry.example.com/apps
	"$TCLCTL" golden keygen -o "$T/key" >/dev/null 2>&1
	"$TCLCTL" golden keygen -o "$T/other" >/dev/null 2>&1
	keyid=$(openssl pkey -pubin -in "$T/key.pub" -outform DER | sha256sum | cut -d' ' -f1)
	printf '#!/bin/sh\necho one\n' > "$T/one.sh"; printf '#!/bin/sh\necho two\n' > "$T/two.sh"
	chmod +x "$T/one.sh" "$T/two.sh"
	m1=$(mk_layout "$T/img1" one "$T/one.sh" /bin/true)
	m2=$(mk_layout "$T/img2" two "$T/two.sh" /bin/true /bin/false)
	mv "$T/img1" "$T/img-$m1"; mv "$T/img2" "$T/img-$m2"
	G=$T/golden
	golden_for "$m1" "$R/one@sha256:$m1" "$T/key.key" "$G"
	golden_for "$m2" "$R/two@sha256:$m2" "$T/key.key" "$G"
	gsha1=$(sha256sum < "$G/sha256-$m1.tcl" | cut -d' ' -f1)
	# what `kubectl get -o json` prints: one object, or a List (with the server's metadata)
	cat > "$T/ti-one.json" <<EOF
{
    "apiVersion": "tcl.io/v1alpha1",
    "kind": "TrustedImage",
    "metadata": {
        "name": "one"
    },
    "spec": {
        "image": "$R/one@sha256:$m1",
        "keyId": "$keyid",
        "golden": {
            "reference": "$R/one:sha256-$m1.tcl",
            "sha256": "$gsha1"
        }
    }
}
EOF
	cat > "$T/ti-list.json" <<EOF
{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "tcl.io/v1alpha1",
            "kind": "TrustedImage",
            "metadata": {
                "creationTimestamp": "2026-11-30T10:00:00Z",
                "generation": 1,
                "name": "two",
                "resourceVersion": "4711",
                "uid": "0b6f2f6e-4f7c-4f39-9a43-6f0a2d0c1e11"
            },
            "spec": {
                "image": "$R/two:v2@sha256:$m2",
                "keyId": "$keyid"
            }
        }
    ],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
EOF
	printf '{"apiVersion":"tcl.io/v1alpha1","kind":"TrustedImage","metadata":{"name":"two-json"},"spec":{"image":"%s/two@sha256:%s","keyId":"%s"}}\n' \
		"$R" "$m2" "$keyid" > "$T/ti-two.json"
	check "the render's inputs satisfy the CRD schema" $PY "$CHECK" crd-validate "$CRD" \
		"$T/ti-one.json" "$T/ti-list.json" "$T/ti-two.json"
	check "render an object, a List and a compact object" "$TCLCTL" k8s render --trust-key "$T/other.pub" \
		--trust-key "$T/key.pub" --golden-dir "$G" -o "$T/policy.json" \
		"$T/ti-one.json" "$T/ti-list.json" "$T/ti-two.json"
	check "the rendered policy passes tclctl policy check" "$TCLCTL" policy check "$T/policy.json"
	check "the rendered policy holds each image's golden digests" $PY - "$T/policy.json" \
		"$G/sha256-$m1.tcl" "$G/sha256-$m2.tcl" "$R/one@sha256:$m1" "$R/two:v2@sha256:$m2" \
		"$R/two@sha256:$m2" <<'EOF'
import json, sys
pol = json.load(open(sys.argv[1]))
g1, g2 = (set(json.load(open(f))['files'].values()) for f in sys.argv[2:4])
imgs = pol['images']
assert sorted(imgs) == sorted(sys.argv[4:7]), sorted(imgs)
assert {e['sha256'] for e in imgs[sys.argv[4]]['allow']} == g1
assert {e['sha256'] for e in imgs[sys.argv[5]]['allow']} == g2 == \
    {e['sha256'] for e in imgs[sys.argv[6]]['allow']}
for v in imgs.values():
    d = [e['sha256'] for e in v['allow']]
    assert d == sorted(d) and len(d) == len(set(d)), 'not sorted or not distinct'
EOF
	"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/ti-two.json" \
		"$T/ti-list.json" "$T/ti-one.json" > "$T/policy2.json" 2>/dev/null
	check "render is deterministic (input order does not matter)" cmp "$T/policy.json" \
		"$T/policy2.json"
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tcl-policy-base","namespace":"tcl-system"},"data":{"policy.json":"{\\"version\\": 1, \\"allow\\": [{\\"sha256\\": \\"%s\\", \\"path\\": \\"/usr/bin/runc\\"}]}\\n"}}\n' \
		"$keyid" > "$T/base.json"
	check "render --base ConfigMap --format configmap" "$TCLCTL" k8s render --base \
		"$T/base.json" --trust-key "$T/key.pub" --golden-dir "$G" --format configmap \
		-o "$T/cm.json" "$T/ti-one.json"
	$PY -c 'import json,sys; open(sys.argv[2],"w").write(json.load(open(sys.argv[1]))["data"]["policy.json"])' \
		"$T/cm.json" "$T/cm-policy.json" 2>/dev/null
	check "the ConfigMap's policy.json passes tclctl policy check" "$TCLCTL" policy check \
		"$T/cm-policy.json"
	check "the ConfigMap keeps the base allow list" grep -q "/usr/bin/runc" "$T/cm-policy.json"
	[ -n "$PY" ] && check "the rendered ConfigMap has only real fields" $PY "$CHECK" fields "$T/cm.json"
	# deploy/10-policy-configmap.yaml as `kubectl create --dry-run=client -o json -f` prints
	# it: a List of its objects
	$PY -c 'import json, sys, yaml; json.dump({"apiVersion": "v1", "kind": "List", "items": [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]}, open(sys.argv[2], "w"))' \
		deploy/10-policy-configmap.yaml "$T/base-list.json"
	check "render accepts the shipped tcl-policy-base (in a List) as --base" "$TCLCTL" k8s \
		render --base "$T/base-list.json" --trust-key "$T/key.pub" --golden-dir "$G" \
		-o "$T/p3.json" "$T/ti-one.json"
	refuse "render refuses a key id that no --trust-key has" 'not the id of any --trust-key' \
		"$TCLCTL" k8s render --trust-key "$T/other.pub" --golden-dir "$G" "$T/ti-one.json"
	# signed by the other key, claimed by ours
	cp -r "$G" "$T/g-other"
	"$TCLCTL" golden sign --key "$T/other.key" -o "$T/g-other/sha256-$m1.tcl.sig" \
		"$T/g-other/sha256-$m1.tcl" >/dev/null 2>&1
	refuse "render refuses a manifest signed by another key" 'signature' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --trust-key "$T/other.pub" \
		--golden-dir "$T/g-other" "$T/ti-one.json"
	cp -r "$G" "$T/g-tamper"
	sed -i 's/"\/app\/one.sh":"[0-9a-f]\{64\}"/"\/app\/one.sh":"'"$keyid"'"/' "$T/g-tamper/sha256-$m1.tcl"
	refuse "render refuses a tampered manifest" 'signature|tampered' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$T/g-tamper" "$T/ti-one.json"
	# a validly signed manifest of another image, under this image's name
	cp -r "$G" "$T/g-swap"
	cp "$G/sha256-$m2.tcl" "$T/g-swap/sha256-$m1.tcl"
	cp "$G/sha256-$m2.tcl.sig" "$T/g-swap/sha256-$m1.tcl.sig"
	refuse "render refuses a golden manifest of another image" 'describes image' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$T/g-swap" "$T/ti-two.json" \
		"$T/ti-one.json"
	sed "s/\"sha256\": \"$gsha1\"/\"sha256\": \"$keyid\"/" "$T/ti-one.json" > "$T/ti-pin.json"
	refuse "render refuses a manifest other than the pinned golden.sha256" 'pins' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/ti-pin.json"
	refuse "render refuses a missing golden manifest" 'No such file' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$T" "$T/ti-one.json"
	refuse "render refuses an image that the base policy already has" 'in the base policy' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --base "$T/policy.json" \
		--golden-dir "$G" "$T/ti-one.json"
	"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/ti-list.json" \
		"$T/ti-list.json" -o "$T/twice.json" 2>"$T/out"
	check "an image given twice is rendered once" $PY -c '
import json, sys
assert len(json.load(open(sys.argv[1]))["images"]) == 1' "$T/twice.json"
	printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"tcl-system"}}' > "$T/ns.json"
	refuse "render refuses other kinds" 'want TrustedImage' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/ns.json"
	refuse "render refuses YAML (it reads kubectl get -o json)" 'not a JSON object.*-o json' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" \
		deploy/examples/trustedimage-app.yaml
	printf '{"kind": "List", "items": {}}' > "$T/badlist.json"
	refuse "render refuses a List without an items array" 'without an items array' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/badlist.json"
	printf '{"kind": "TrustedImage"} {}' > "$T/two-values.json"
	refuse "render refuses two JSON values in one file" 'invalid JSON|trailing data' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/two-values.json"
	"$PY" -c 'print("{\"a\":" * 200 + "1" + "}" * 200)' > "$T/deep.json"
	refuse "render refuses JSON nested too deep" 'invalid JSON' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/deep.json"
	head -c 17000000 /dev/zero | tr '\0' 'a' > "$T/huge.json"
	refuse "render refuses an input over 16 MiB" 'larger than' \
		"$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$T/huge.json"
	check "render reads stdin" sh -c '"$1" k8s render --trust-key "$2" --golden-dir "$3" - \
		< "$4" > "$5"' sh "$TCLCTL" "$T/key.pub" "$G" "$T/ti-two.json" "$T/stdin.json"
	# every bad TrustedImage, one at a time
	n=0 rejected=0
	$PY - "$BAD" "$T/bad" <<'EOF'
import json, sys, yaml
for i, d in enumerate(yaml.safe_load_all(open(sys.argv[1]))):
    json.dump(d, open('%s-%02d.json' % (sys.argv[2], i + 1), 'w'), indent=4)
EOF
	for b in "$T"/bad-*.json; do
		n=$((n + 1))
		if "$TCLCTL" k8s render --trust-key "$T/key.pub" --golden-dir "$G" "$b" \
			>"$T/out" 2>&1; then
			echo "       accepted: $b"; cat "$b" | sed 's/^/         /'
		elif grep -q "TrustedImage\|object 1" "$T/out"; then
			rejected=$((rejected + 1))
		else
			echo "       wrong message for $b:"; sed 's/^/         /' "$T/out"
		fi
	done
	if [ "$n" -gt 0 ] && [ "$rejected" -eq "$n" ]; then
		ok "render rejects each of the $n bad TrustedImages"
	else
		bad "render rejected $rejected of $n bad TrustedImages"
	fi
	# the default source: golden manifests beside their images in a real registry
	if command -v docker-registry >/dev/null && [ -f tests/service/registry.sh ]; then
		. tests/service/registry.sh
		if reg_start "$T/reg" >"$T/out" 2>&1; then
			H1=127.0.0.1:$REG_PORT
			"$TCLCTL" image push --oci "$T/img-$m1:one" "$H1/apps/one:v1" >"$T/push" 2>&1 &&
			"$TCLCTL" golden push "$H1/apps/one@sha256:$m1" --manifest "$G/sha256-$m1.tcl" \
				--sig "$G/sha256-$m1.tcl.sig" >>"$T/push" 2>&1 ||
				{ bad "push an image and its golden manifest"; cat "$T/push"; }
			sed "s|$R/one|$H1/apps/one|g" "$T/ti-one.json" > "$T/ti-reg.json"
			check "render pulls the golden manifest from the registry" "$TCLCTL" k8s render \
				--trust-key "$T/key.pub" -o "$T/reg-policy.json" "$T/ti-reg.json"
			check "... into a policy that passes tclctl policy check" "$TCLCTL" policy check \
				"$T/reg-policy.json"
			check "... with the same digests as from files" $PY -c '
import json, sys
a, b = (json.load(open(f))["images"] for f in sys.argv[1:3])
assert list(a.values())[0] == b[sys.argv[3]], "differ"' "$T/reg-policy.json" "$T/policy.json" \
				"$R/one@sha256:$m1"
			sed "s|$R/one|$H1/apps/two|g" "$T/ti-one.json" > "$T/ti-reg2.json"
			refuse "render refuses an image without a golden manifest in the registry" \
				'no golden manifest' "$TCLCTL" k8s render --trust-key "$T/key.pub" \
				"$T/ti-reg2.json"
			reg_stop "$T/reg"
			refuse "render fails closed with the registry down" 'no golden manifest' \
				"$TCLCTL" k8s render --trust-key "$T/key.pub" --timeout 2 "$T/ti-reg.json"
		else
			bad "start docker-registry on 127.0.0.1"; tail -5 "$T/out"
		fi
	else
		skip "docker-registry not installed: render from a registry not checked"
	fi
	check "render --help" "$TCLCTL" k8s render --help
	refuse "render without --trust-key is a usage error" 'trust-key' \
		"$TCLCTL" k8s render "$T/ti-one.json"

	echo "== hook-spec and install-hooks.sh"
	printf '{"ociVersion":"1.1.0","process":{"cwd":"/"},"hooks":{"createRuntime":[{"path":"/other/hook"}]}}' > "$T/spec.json"
	"$TCLCTL" k8s hook-spec --hook /usr/local/sbin/tcl-hook --timeout 30 -o "$T/s1.json" "$T/spec.json"
	"$TCLCTL" k8s hook-spec --hook /usr/local/sbin/tcl-hook --timeout 30 -o "$T/s2.json" "$T/s1.json"
	check "hook-spec adds the hook once (second run changes nothing)" cmp "$T/s1.json" "$T/s2.json"
	check "hook-spec keeps other hooks and adds ours last" $PY -c '
import json, sys
h = json.load(open(sys.argv[1]))["hooks"]["createRuntime"]
assert [x["path"] for x in h] == ["/other/hook", "/usr/local/sbin/tcl-hook"], h
assert h[1]["args"] == ["tcl-hook", "createRuntime"] and h[1]["timeout"] == 30, h' "$T/s1.json"
	"$TCLCTL" k8s hook-spec --hook /usr/local/sbin/tcl-hook --remove -o "$T/s3.json" "$T/s1.json"
	check "hook-spec --remove leaves the other hook" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert [x["path"] for x in s["hooks"]["createRuntime"]] == ["/other/hook"], s' "$T/s3.json"
	refuse "hook-spec refuses JSON that is not an OCI spec" 'not an OCI runtime spec' \
		"$TCLCTL" k8s hook-spec --hook /x/tcl-hook deploy/examples/extender-filter-request.json
	refuse "hook-spec refuses what is not JSON" 'invalid JSON' \
		"$TCLCTL" k8s hook-spec --hook /x/tcl-hook "$CRD"
	refuse "hook-spec refuses an unknown stage" 'unknown hook stage' \
		"$TCLCTL" k8s hook-spec --hook /x/tcl-hook --stage preStart "$T/spec.json"

	# A fake host: containerd (config v2 with an options table, a ctr that prints a spec) and
	# CRI-O.  The host's ctr is run with chroot, so the root gets a static busybox.
	H=$T/host
	mkdir -p "$H/etc/containerd" "$H/usr/bin" "$H/bin" "$H/etc/crio" \
		"$H/usr/share/containers/oci/hooks.d"
	if busybox=$(command -v busybox) && file -L "$busybox" | grep -q 'statically linked'; then
		cp "$busybox" "$H/bin/busybox"; ln -s busybox "$H/bin/sh"; ln -s busybox "$H/bin/cat"
		printf '#!/bin/sh\ncat /ctr-spec.json\n' > "$H/usr/bin/ctr"; chmod +x "$H/usr/bin/ctr"
		printf '{"ociVersion":"1.1.0","process":{"cwd":"/"},"root":{"path":"rootfs"}}\n' \
			> "$H/ctr-spec.json"
		cat > "$H/etc/containerd/config.toml" <<'EOF'
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
EOF
		cp "$H/etc/containerd/config.toml" "$T/config.toml.orig"
		ih() { sh scripts/install-hooks.sh --root "$H" --tclctl "$TCLCTL" "$@"; }
		check "install-hooks.sh installs for containerd and CRI-O" ih
		check "containerd's runc runtime points at the base spec" grep -q \
			'^  base_runtime_spec = "/etc/containerd/tcl-base-spec.json"$' \
			"$H/etc/containerd/config.toml"
		check "the base spec is ctr's with tcl-hook createRuntime" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["root"] == {"path": "rootfs"}
assert s["hooks"]["createRuntime"][0]["path"] == "/usr/local/sbin/tcl-hook"' \
			"$H/etc/containerd/tcl-base-spec.json"
		check "CRI-O gets a valid hooks.d entry" $PY -c '
import json, sys
h = json.load(open(sys.argv[1]))
assert h["version"] == "1.0.0" and h["stages"] == ["createRuntime"] and h["when"]["always"]
assert h["hook"]["path"] == "/usr/local/sbin/tcl-hook"
assert h["hook"]["args"] == ["tcl-hook", "createRuntime"]' \
			"$H/etc/containers/oci/hooks.d/tcl-hook.json"
		find "$H" -type f -newer "$T/config.toml.orig" -exec sha256sum {} + | sort > "$T/sum1"
		ih > "$T/again" 2>&1
		find "$H" -type f -exec sha256sum {} + | sort > "$T/sum2a"
		ih > /dev/null 2>&1
		find "$H" -type f -exec sha256sum {} + | sort > "$T/sum2b"
		if grep -q "nothing to change" "$T/again" && cmp -s "$T/sum2a" "$T/sum2b"; then
			ok "install-hooks.sh is idempotent"
		else
			bad "install-hooks.sh is idempotent"; cat "$T/again"
		fi
		check "install-hooks.sh --uninstall" ih --uninstall
		check "uninstall restores containerd's config byte for byte" cmp "$T/config.toml.orig" \
			"$H/etc/containerd/config.toml"
		if [ ! -e "$H/etc/containerd/tcl-base-spec.json" ] &&
			[ ! -e "$H/etc/containers/oci/hooks.d/tcl-hook.json" ] &&
			[ ! -e "$H/etc/crio/crio.conf.d/50-tcl-hooks.conf" ]; then
			ok "uninstall removes every file it wrote"
		else
			bad "uninstall left files behind"
		fi
		# containerd 2 (config version 3), no runc table yet
		printf 'version = 3\n' > "$H/etc/containerd/config.toml"
		check "install-hooks.sh on a containerd 2 config" ih --runtime containerd
		check "containerd 2 gets the runc table of io.containerd.cri.v1.runtime" grep -qx \
			"\[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc\]" \
			"$H/etc/containerd/config.toml"
		# a base_runtime_spec someone else set: the hook goes into that file
		printf '%s\n' 'version = 2' \
			'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]' \
			'  base_runtime_spec = "/etc/containerd/mine.json"' > "$H/etc/containerd/config.toml"
		cp "$H/ctr-spec.json" "$H/etc/containerd/mine.json"
		check "an existing base_runtime_spec gets the hook in place" ih --runtime containerd
		check "... and keeps its own path" grep -q 'mine.json' "$H/etc/containerd/config.toml"
		check "... with the hook in it" grep -q tcl-hook "$H/etc/containerd/mine.json"
		printf 'version = 1\n' > "$H/etc/containerd/config.toml"
		refuse "install-hooks.sh refuses a containerd config version 1" 'version 2 and 3' \
			ih --runtime containerd
	else
		bad "install-hooks.sh tests need a static busybox (Debian busybox-static)"
	fi
fi

echo "== the agent's image (scripts/build-image.sh)"
if [ "${TCL_K8S_SKIP_IMAGE:-0}" = 1 ]; then
	skip "TCL_K8S_SKIP_IMAGE=1"
elif [ $has_k8s = 0 ] || [ ! -x build/tcl-agent ]; then
	bad "make image needs build/tcl-agent and a build/tclctl with k8s"
else
	export SOURCE_DATE_EPOCH=1700000000
	"$TCLCTL" golden keygen -o "$T/img" >/dev/null 2>&1
	bin=$(dirname "$TCLCTL")
	[ -x "$bin/tcl-agent" ] || bin=build
	if scripts/build-image.sh --bin "$bin" --out "$T/image1" --key "$T/img.key" --tag t \
		>"$T/out" 2>&1 &&
		scripts/build-image.sh --bin "$bin" --out "$T/image2" --key "$T/img.key" --tag t \
		>>"$T/out" 2>&1; then
		ok "make image builds ($(cat "$T/image1/digest"))"
		if diff -r "$T/image1" "$T/image2" >/dev/null; then
			ok "two builds give the same bytes (manifest, layers, golden manifest)"
		else
			bad "two builds differ"; diff -r "$T/image1" "$T/image2" | head -5
		fi
		d=$(cut -d: -f2 "$T/image1/digest")
		check "the golden manifest verifies with the signing key" "$TCLCTL" golden verify \
			--pub "$T/img.pub" "$T/image1/sha256-$d.tcl"
		check "the golden manifest lists tcl-agent and tclctl" grep -q \
			'"/usr/local/sbin/tcl-agent":".*"/usr/local/sbin/tclctl":' "$T/image1/sha256-$d.tcl"
		[ -n "$PY" ] && check "the image's TrustedImage satisfies the CRD" $PY "$CHECK" \
			crd-validate "$CRD" "$T/image1/trustedimage.yaml"
		# as `kubectl get -o json` gives it back once applied
		$PY -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"))' \
			"$T/image1/trustedimage.yaml" "$T/img-ti.json"
		check "the image's TrustedImage renders" "$TCLCTL" k8s render --trust-key "$T/img.pub" \
			--golden-dir "$T/image1" -o "$T/img-policy.json" "$T/img-ti.json"
		check "... into a policy that passes tclctl policy check" "$TCLCTL" policy check \
			"$T/img-policy.json"
		if command -v umoci >/dev/null; then
			check "umoci unpacks the layout" umoci raw unpack --rootless \
				--image "$T/image1/oci:t" "$T/unpacked"
		fi
	else
		bad "make image"; tail -20 "$T/out"
	fi
	unset SOURCE_DATE_EPOCH
fi

echo "== scheduler extender"
if [ -n "$PY" ]; then
	check "the example response is an ExtenderFilterResult for the example request" $PY "$CHECK" \
		extender deploy/examples/extender-filter-request.json \
		deploy/examples/extender-filter-response.json
	printf '{"NodeNames":["x"],"Bogus":1}' > "$T/bogus.json"
	refuse "the extender check catches a malformed response" 'unknown field Bogus' \
		$PY "$CHECK" extender deploy/examples/extender-filter-request.json "$T/bogus.json"
fi
if [ ! -x "$ATTESTOR" ]; then
	skip "$ATTESTOR is not built: the extender round trip through the attestor is not run"
elif [ -z "$PY" ]; then
	bad "the attestor round trip needs python3-yaml"
else
	# A CA, the attestor's server certificate for 127.0.0.1 and a client certificate (the
	# scheduler's, as in deploy/scheduler/).
	P=$T/pki; mkdir -p "$P"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=tcl-test-ca -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
	for n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=tcl-$n" \
			-keyout "$P/$n.key" -out "$P/$n.csr" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$P/$n.ext"
		openssl x509 -req -in "$P/$n.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
			-days 2 -extfile "$P/$n.ext" -out "$P/$n.crt" 2>/dev/null
	done
	port=$((20000 + RANDOM % 20000))
	"$ATTESTOR" --listen "127.0.0.1:$port" --cert "$P/server.crt" --key "$P/server.key" \
		--client-ca "$P/ca.crt" --state "$T/attestor-state.json" >"$T/attestor.log" 2>&1 &
	attestor_pid=$!
	up=0
	for _ in $(seq 50); do
		curl -s -o /dev/null --cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key" \
			"https://127.0.0.1:$port/metrics" && { up=1; break; }
		kill -0 "$attestor_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ $up = 0 ]; then
		bad "tcl-attestor did not start"; tail -5 "$T/attestor.log"
	else
		if curl -sS --fail-with-body --cacert "$P/ca.crt" --cert "$P/client.crt" \
			--key "$P/client.key" -H 'Content-Type: application/json' \
			--data-binary @deploy/examples/extender-filter-request.json \
			"https://127.0.0.1:$port/scheduler/filter" -o "$T/filter.json" 2>"$T/out"; then
			# nothing is enrolled: every node must fail, none be kept
			check "POST /scheduler/filter answers the example request (no node enrolled: none kept)" \
				$PY "$CHECK" extender deploy/examples/extender-filter-request.json \
				"$T/filter.json" --expect-kept ''
		else
			bad "POST /scheduler/filter"; cat "$T/out"
		fi
	fi
	kill "$attestor_pid" 2>/dev/null; wait "$attestor_pid" 2>/dev/null; attestor_pid=
fi

echo
echo "k8s: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
