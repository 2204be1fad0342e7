#!/bin/bash
# Build the agent's own container image as an OCI image layout, reproducibly, without a
# container engine; then generate and sign its golden manifest with our own tclctl, so the agent
# is verified like any other image (docs/kubernetes.md "The agent's image").
#
# usage: scripts/build-image.sh [--bin DIR] [--out DIR] [--key PEM] [--repo NAME] [--tag TAG]
#   --bin DIR    where tcl-agent, tclctl (and tcl-hook, when built) are (default build)
#   --out DIR    output directory, replaced (default build/image)
#   --key PEM    Ed25519 private key that signs the golden manifest (default: env TCL_IMAGE_KEY,
#                else build/image-signing.key, made with `tclctl golden keygen` the first time)
#   --repo NAME  image repository (default: env TCL_IMAGE_REPO, else
#                registry.example.com/tcl/tcl-agent; registry.example.com is the placeholder
#                registry of deploy/, see docs/kubernetes.md)
#   --tag TAG    tag recorded in index.json (default: env TCL_IMAGE_TAG, else `git describe`)
# Output (in --out):
#   oci/                          the OCI image layout (index.json, oci-layout, blobs/sha256/)
#   sha256-<hex>.tcl, .tcl.sig    golden manifest and signature, named by the golden tag as
#                                 `tclctl k8s render --golden-dir` and the registry expect them
#   trustedimage.yaml             the TrustedImage object for this image (for deploy/)
#   digest                        the image manifest digest, one line
# Deterministic: entries sorted, mtime = SOURCE_DATE_EPOCH (default: the last commit's time),
# uid/gid 0, modes normalised, gzip -n, JSON written byte for byte by this script.  The same
# binaries give the same digests; tests/k8s/test_manifests.sh builds twice and compares.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022
cd "$(dirname "$0")/.."

bin=build out=build/image
key=${TCL_IMAGE_KEY:-}
repo=${TCL_IMAGE_REPO:-registry.example.com/tcl/tcl-agent}
tag=${TCL_IMAGE_TAG:-}
usage() { sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--key) key=$2; shift 2 ;;
	--repo) repo=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "build-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "build-image: $*" >&2; exit 1; }
for t in tar gzip sha256sum; do command -v $t >/dev/null || die "$t is needed"; done
for b in tcl-agent tclctl; do [ -x "$bin/$b" ] || die "$bin/$b is missing: run make first"; done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep 'statically linked' >/dev/null ||
	die "a static busybox is needed for the image's shell (Debian busybox-static)"
[[ $repo =~ ^[a-z0-9.:-]+(/[a-z0-9._-]+)+$ ]] || die "bad --repo '$repo'"
if [ -z "$tag" ]; then
	tag=$(git describe --always --tags --dirty 2>/dev/null || echo dev)
fi
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "bad --tag '$tag'"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
[[ $epoch =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be seconds"
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
tclctl=$bin/tclctl

work=$(mktemp -d "${TMPDIR:-/tmp}/tcl-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"

# A file of the host at the same path in the image, as a regular file (symlinks resolved).
put() { # SRC DEST MODE
	mkdir -p "$root$(dirname "$2")"
	cp -L "$1" "$root$2"
	chmod "$3" "$root$2"
}
# Every shared library a program or library needs, as the dynamic loader resolves them here.
libs_of() {
	ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(0x/ { print $1 }'
}

for b in tcl-agent tclctl tcl-hook; do
	[ -x "$bin/$b" ] || { echo "build-image: $bin/$b not built: left out" >&2; continue; }
	put "$bin/$b" "/usr/local/sbin/$b" 0755
done
# libtss2-tctildr loads its TCTI modules with dlopen, so ldd cannot see them.
extra=()
for t in device swtpm mssim; do
	# awk reads to the end: with pipefail, ldconfig killed by SIGPIPE would end the script
	p=$(ldconfig -p | awk -v n="libtss2-tcti-$t.so.0" '$1 == n && !p { p = $NF } END { print p }')
	[ -n "$p" ] && extra+=("$p")
done
{
	for f in "$root"/usr/local/sbin/* "${extra[@]}"; do libs_of "$f"; done
	printf '%s\n' "${extra[@]}"
} | sort -u > "$work/libs"
while read -r l; do
	[ -e "$l" ] || die "library $l (needed by the programs) does not exist"
	put "$l" "$l" 0755
done < "$work/libs"

put "$busybox" /bin/busybox 0755
for a in sh cat chroot cmp cp grep head kill ls mkdir mv nsenter rm sed sha256sum sleep \
	 stat test tr; do
	ln -s busybox "$root/bin/$a"
done
put scripts/install-hooks.sh /usr/local/lib/tcl/install-hooks.sh 0755
put scripts/policy-reload.sh /usr/local/lib/tcl/policy-reload.sh 0755
[ -f /etc/ssl/certs/ca-certificates.crt ] &&
	put /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt 0644
mkdir -p "$root/etc/tcl" "$root/var/lib/tcl" "$root/run/tcl" "$root/tmp" "$root/sys/fs/bpf" \
	"$root/host"
printf 'root:x:0:0:root:/:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"
chmod 1777 "$root/tmp"
find "$root" -type d ! -path "$root/tmp" -exec chmod 0755 {} +
find "$root" -exec touch -h -d "@$epoch" {} +

layer=$work/layer.tar
(cd "$root" && find . -mindepth 1 -printf '%P\n' | sort) > "$work/list"
tar --create --file "$layer" --directory "$root" --no-recursion --verbatim-files-from \
	--files-from "$work/list" --format=gnu --owner=0 --group=0 --numeric-owner \
	--mtime="@$epoch" --hard-dereference
gzip -n -9 -c "$layer" > "$layer.gz"
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
diff_id=$(sha "$layer")
layer_sha=$(sha "$layer.gz")

rm -rf "$out"
mkdir -p "$out/oci/blobs/sha256"
blobs=$out/oci/blobs/sha256
cp "$layer.gz" "$blobs/$layer_sha"

printf '%s' "{\"architecture\":\"amd64\",\"config\":{\"Entrypoint\":[\"/usr/local/sbin/tcl-agent\"],\
\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\
\"Labels\":{\"org.opencontainers.image.source\":\"tcl\",\"org.opencontainers.image.title\":\
\"tcl-agent\"},\"WorkingDir\":\"/\"},\"created\":\"$created\",\"os\":\"linux\",\
\"rootfs\":{\"diff_ids\":[\"sha256:$diff_id\"],\"type\":\"layers\"}}" > "$work/config.json"
config_sha=$(sha "$work/config.json")
cp "$work/config.json" "$blobs/$config_sha"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\
\"digest\":\"sha256:$config_sha\",\"size\":$(size "$work/config.json")},\
\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\
\"digest\":\"sha256:$layer_sha\",\"size\":$(size "$layer.gz")}]}" > "$work/manifest.json"
manifest_sha=$(sha "$work/manifest.json")
cp "$work/manifest.json" "$blobs/$manifest_sha"

printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$out/oci/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"digest\":\"sha256:$manifest_sha\",\"size\":$(size "$work/manifest.json"),\
\"annotations\":{\"io.containerd.image.name\":\"$repo:$tag\",\
\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" > "$out/oci/index.json"

# The golden manifest, by our own reader of the layout just written.
if [ -z "$key" ]; then
	key=build/image-signing.key
	if [ ! -f "$key" ]; then
		echo "build-image: no --key: making a development signing key $key" >&2
		"$tclctl" golden keygen -o build/image-signing >/dev/null
	fi
fi
[ -f "$key" ] || die "signing key $key does not exist"
golden=$out/sha256-$manifest_sha.tcl
"$tclctl" golden generate --oci "$out/oci:$tag" --ref "$repo@sha256:$manifest_sha" -o "$golden"
"$tclctl" golden sign --key "$key" -o "$golden.sig" "$golden"
openssl pkey -in "$key" -pubout -out "$work/key.pub" 2>/dev/null ||
	die "cannot derive the public key of $key"
"$tclctl" golden verify --pub "$work/key.pub" --sig "$golden.sig" "$golden" >/dev/null
keyid=$(sed -n 's/.*"keyid":"\([0-9a-f]\{64\}\)".*/\1/p' "$golden.sig")
[ -n "$keyid" ] || die "cannot read the key id from $golden.sig"
golden_sha=$(sha "$golden")
echo "sha256:$manifest_sha" > "$out/digest"
cat > "$out/trustedimage.yaml" <<EOF
# The agent's own image (scripts/build-image.sh output for $repo:$tag).
apiVersion: tcl.io/v1alpha1
kind: TrustedImage
metadata:
  name: tcl-agent
  labels:
    app.kubernetes.io/name: tcl
    app.kubernetes.io/component: agent
spec:
  image: $repo@sha256:$manifest_sha
  keyId: $keyid
  golden:
    reference: $repo:sha256-$manifest_sha.tcl
    sha256: $golden_sha
EOF
echo "image: $repo:$tag"
echo "manifest: sha256:$manifest_sha"
echo "golden: $golden (sha256 $golden_sha, signed by $keyid)"
echo "files: $(grep -o '"/[^"]*":' "$golden" | wc -l) executables in the golden manifest"
