#!/usr/bin/env python3
"""mkoci.py: deterministic OCI image layouts for the tests (sorted entries, mtime 0, uid/gid 0,
gzip without name or time, canonical JSON), so the same input always gives the same digests.

mkoci.py rootfs ROOTFS LAYOUT TAG [ENTRYPOINT ARG...]
    one image of one gzip layer holding the tree ROOTFS; prints the manifest digest. The
    image's entrypoint is ENTRYPOINT ARG... (default /bin/sh)
mkoci.py tags LAYOUT TAG[=TEXT] [TAG[=TEXT] ...]
    one image per TAG, each one layer holding bin/hello, a shell script that echoes TEXT
    (default: the tag)
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


def clean(info):
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def tar_tree(t, root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            full = os.path.join(dirpath, name)
            info = clean(t.gettarinfo(full, os.path.relpath(full, root)))
            if info.isfile():
                with open(full, "rb") as f:
                    t.addfile(info, f)
            else:
                t.addfile(info)


def tar_hello(t, text):
    d = clean(tarfile.TarInfo("bin"))
    d.type, d.mode = tarfile.DIRTYPE, 0o755
    t.addfile(d)
    body = ("#!/bin/sh\necho %s\n" % text).encode()
    f = clean(tarfile.TarInfo("bin/hello"))
    f.size, f.mode = len(body), 0o755
    t.addfile(f, io.BytesIO(body))


def layer(fill):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        fill(t)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as g:
        g.write(raw.getvalue())
    return raw.getvalue(), out.getvalue()


def image(d, tag, fill, entrypoint):
    """Write one image's blobs; return its index descriptor."""
    raw, gz = layer(fill)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Entrypoint": list(entrypoint)},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}},
                     sort_keys=True).encode()
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(d, cfg)),
         "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **blob(d, gz))]}
    desc = blob(d, json.dumps(m, sort_keys=True).encode())
    return dict(mediaType=m["mediaType"], **desc,
                annotations={"org.opencontainers.image.ref.name": tag})


def write_layout(d, descs):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": descs}, f)


def main(argv):
    if len(argv) >= 4 and argv[0] == "rootfs":
        root, d, tag = argv[1:4]
        desc = image(d, tag, lambda t: tar_tree(t, root), argv[4:] or ["/bin/sh"])
        write_layout(d, [desc])
        print(desc["digest"])
        return 0
    if len(argv) >= 3 and argv[0] == "tags":
        d, descs = argv[1], []
        for spec in argv[2:]:
            tag, _, text = spec.partition("=")
            descs.append(image(d, tag, lambda t, x=text or tag: tar_hello(t, x), ["/bin/hello"]))
        write_layout(d, descs)
        return 0
    sys.stderr.write(__doc__)
    return 2


sys.exit(main(sys.argv[1:]))
