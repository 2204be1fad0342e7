#!/usr/bin/env python3
"""mkimage.py ROOTFS LAYOUT TAG: an OCI image layout with one gzip layer holding ROOTFS.

Deterministic (sorted entries, mtime 0, uid/gid 0, gzip without name/time), so the same rootfs
always gives the same image digest. Prints the manifest digest.
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


def layer(root):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                info = t.gettarinfo(full, os.path.relpath(full, root))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if info.isfile():
                    with open(full, "rb") as f:
                        t.addfile(info, f)
                else:
                    t.addfile(info)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as g:
        g.write(raw.getvalue())
    return raw.getvalue(), out.getvalue()


def main():
    root, d, tag = sys.argv[1:4]
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    raw, gz = layer(root)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Entrypoint": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}},
                     sort_keys=True).encode()
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(d, cfg)),
         "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **blob(d, gz))]}
    desc = blob(d, json.dumps(m, sort_keys=True).encode())
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [dict(
            mediaType=m["mediaType"], **desc,
            annotations={"org.opencontainers.image.ref.name": tag})]}, f)
    print(desc["digest"])


main()
