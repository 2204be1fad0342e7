#!/usr/bin/env python3
"""Write a tiny OCI image layout for the service tests.

mkoci.py DIR TAG[=TEXT] [TAG[=TEXT] ...]
One image manifest per TAG (annotation org.opencontainers.image.ref.name), each with one gzip
layer holding bin/hello (a shell script, exec bit set) whose text differs per tag.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(d, data):
    h = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


def layer(text):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("bin")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 0
        t.addfile(d)
        body = ("#!/bin/sh\necho %s\n" % text).encode()
        f = tarfile.TarInfo("bin/hello")
        f.size, f.mode, f.mtime = len(body), 0o755, 0
        t.addfile(f, io.BytesIO(body))
    return raw.getvalue(), gzip.compress(raw.getvalue(), mtime=0)


def main():
    d, tags = sys.argv[1], sys.argv[2:]
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    manifests = []
    for spec in tags:
        tag, _, text = spec.partition("=")
        raw, gz = layer(text or tag)
        diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "config": {"Entrypoint": ["/bin/hello"]},
                          "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": dict(mediaType="application/vnd.oci.image.config.v1+json",
                            **blob(d, cfg)),
             "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip",
                             **blob(d, gz))]}
        desc = blob(d, json.dumps(m, indent=2).encode())
        manifests.append(dict(mediaType=m["mediaType"], **desc,
                              annotations={"org.opencontainers.image.ref.name": tag}))
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)


main()
