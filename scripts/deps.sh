#!/bin/bash
# Install every Debian bookworm package that tcl's build, tests and demo need.
# Idempotent: packages already present are not fetched again, `apt-get update` runs at most once.
set -euo pipefail

BUILD="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config linux-libc-dev
       libtss2-dev libssl-dev libjson-c-dev libcurl4-openssl-dev libevent-dev libarchive-dev
       libcmocka-dev libsqlite3-dev libpq-dev"
TEST="qemu-system-x86 swtpm swtpm-tools tpm2-tools ima-evm-utils runc docker-registry
      busybox-static cpio kmod openssl curl python3 file python3-yaml
      systemd lintian dpkg-dev man-db groff-base
      containerd podman conmon crun docker.io python3-grpcio python3-grpc-tools
      prometheus postgresql sqlite3"
# tests/k8s: kubectl from Debian's kubernetes-client, unless some kubectl is already installed
# (another package's /usr/bin/kubectl would conflict with it).
command -v kubectl >/dev/null || TEST="$TEST kubernetes-client"

missing=()
for p in $BUILD $TEST; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# docker-registry's package starts a system service on :5000; tests run their own instance.
# The same for the engines, Prometheus and PostgreSQL: tests start their own, on loopback.
for svc in docker-registry docker containerd prometheus prometheus-node-exporter postgresql; do
	systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "deps: done"
