#!/usr/bin/env python3
"""Minimal Docker registry token server for the service tests (127.0.0.1 only).

tokenserver.py PORT KEY.pem CERT.pem ISSUER USER:PASS
GET /token?service=S&scope=repository:NAME:ACTIONS  with Basic USER:PASS -> {"token": JWT}
The JWT is RS256-signed with KEY (openssl does the signing) and carries CERT in x5c, which is
how docker-registry's token auth (rootcertbundle = CERT) checks it.  Every requested action is
granted; wrong or missing credentials get 401.
"""
import base64
import http.server
import json
import subprocess
import sys
import time
import urllib.parse

PORT, KEY, CERT, ISSUER, CRED = sys.argv[1:6]


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


with open(CERT) as f:
    pem = f.read()
DER = base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l))
EXPECTED = "Basic " + base64.b64encode(CRED.encode()).decode()


def token(service, scopes):
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3:
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                           "actions": parts[-1].split(",")})
    now = int(time.time())
    hdr = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(DER).decode()]}
    claims = {"iss": ISSUER, "sub": CRED.split(":")[0], "aud": service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": str(now) + str(len(access)),
              "access": access}
    signing = (b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY], input=signing.encode(),
                         capture_output=True, check=True).stdout
    return signing + "." + b64u(sig)


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path != "/token":
            self.send_error(404)
            return
        if self.headers.get("Authorization") != EXPECTED:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
            return
        q = urllib.parse.parse_qs(u.query)
        body = json.dumps({"token": token(q.get("service", [""])[0], q.get("scope", [])),
                           "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


http.server.HTTPServer(("127.0.0.1", int(PORT)), H).serve_forever()
