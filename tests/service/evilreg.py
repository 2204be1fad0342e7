#!/usr/bin/env python3
"""A hostile "registry" for the service tests: evilreg.py PORT (127.0.0.1 only).

The first path component after /v2/ picks the misbehaviour, so one server covers every case:
  badjson    golden artifact that is not JSON
  wrongdcd   manifest whose Docker-Content-Digest does not match its bytes
  subject    artifact whose subject is another image
  twolayers  artifact with two golden-manifest layers
  hugesize   artifact declaring a 1 TB golden manifest
  negsize    artifact declaring a negative size
  endless    manifest streamed without Content-Length, 6 MiB, over the 4 MiB bound
  noloc      upload POST answered 202 without a Location
  ftploc     upload POST answered with an ftp:// Location
  badtoken   401 Bearer whose token endpoint hands out a token with a CR/LF in it
  redirect   blob GET redirected to file:///etc/passwd
  errjson    every request answered 500 with an error message full of control characters
"""
import hashlib
import http.server
import json
import sys

PORT = int(sys.argv[1])
GC = "application/vnd.tcl.golden.config.v1+json"
OCI = "application/vnd.oci.image.manifest.v1+json"


def d(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def artifact(subject=None, layers=None):
    g, s = b"golden", b"sig"
    a = {"schemaVersion": 2, "mediaType": OCI, "artifactType": GC,
         "config": {"mediaType": GC, "digest": d(b"{}"), "size": 2},
         "layers": layers if layers is not None else [
             {"mediaType": "application/vnd.tcl.golden.manifest.v1+json", "digest": d(g),
              "size": len(g)},
             {"mediaType": "application/vnd.tcl.golden.signature.v1", "digest": d(s),
              "size": len(s)}]}
    if subject:
        a["subject"] = {"mediaType": OCI, "digest": subject, "size": 10}
    return json.dumps(a).encode()


GL = "application/vnd.tcl.golden.manifest.v1+json"
SL = "application/vnd.tcl.golden.signature.v1"


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        parts = self.path.split("/")
        mode = parts[2] if len(parts) > 2 else ""
        if self.path.startswith("/token"):
            return self.send(200, json.dumps({"token": "abc\r\nX-Evil: 1"}).encode())
        if mode == "errjson":
            return self.send(500, b'{"errors":[{"code":"BOOM\\u0007","message":"a\\nb\\u001b[31m"}]}')
        if mode == "badtoken":
            return self.send(401, b"", [("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",'
                                         'service="x",scope="repository:badtoken:pull"' % PORT)])
        if "/blobs/uploads/" in self.path and self.command == "POST":
            if mode == "noloc":
                return self.send(202)
            if mode == "ftploc":
                return self.send(202, b"", [("Location", "ftp://127.0.0.1/upload")])
        if "/blobs/" in self.path:
            if self.command == "HEAD":
                return self.send(404)
            if mode == "redirect":
                return self.send(302, b"", [("Location", "file:///etc/passwd")])
        if "/manifests/" in self.path:
            body = None
            if mode == "badjson":
                body = b"{not json"
            elif mode == "wrongdcd":
                body = artifact()
                return self.send(200, body, [("Content-Type", OCI),
                                             ("Docker-Content-Digest", "sha256:" + "0" * 64)])
            elif mode == "subject":
                body = artifact(subject="sha256:" + "1" * 64)
            elif mode == "twolayers":
                body = artifact(layers=[{"mediaType": GL, "digest": d(b"a"), "size": 1},
                                        {"mediaType": GL, "digest": d(b"b"), "size": 1},
                                        {"mediaType": SL, "digest": d(b"c"), "size": 1}])
            elif mode == "hugesize":
                body = artifact(layers=[{"mediaType": GL, "digest": d(b"a"), "size": 10**12},
                                        {"mediaType": SL, "digest": d(b"c"), "size": 1}])
            elif mode == "negsize":
                body = artifact(layers=[{"mediaType": GL, "digest": d(b"a"), "size": -1},
                                        {"mediaType": SL, "digest": d(b"c"), "size": 1}])
            elif mode == "redirect":
                body = artifact()
            elif mode == "endless":
                self.send_response(200)
                self.send_header("Content-Type", OCI)
                self.end_headers()
                try:
                    for _ in range(6 * 16):
                        self.wfile.write(b" " * 65536)
                except OSError:
                    pass
                return None
            if body is not None:
                return self.send(200, body, [("Content-Type", OCI),
                                             ("Docker-Content-Digest", d(body))])
        return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"nope"}]}')

    do_GET = do_HEAD = do_POST = do_PUT = route

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
