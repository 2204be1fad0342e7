#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
# A stand-in for tcl-agent's event socket (lib/evstream.h): answers "events" with the recorded
# JSON lines of RECORDS then EOF; "events follow" with the same, then LATE (if given) after
# half a second, then holds the connection open until the client goes or HOLD seconds pass.
# Usage: fakeagent.py SOCKET RECORDS [LATE [HOLD]]
import os, socket, sys, threading, time

path, records = sys.argv[1], open(sys.argv[2], "rb").read()
late = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 and sys.argv[3] else b""
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)

def serve(c):
    try:
        req = b""
        while not req.endswith(b"\n"):
            b = c.recv(1)
            if not b:
                return
            req += b
        c.sendall(records)
        if req == b"events follow\n":
            time.sleep(0.5)
            c.sendall(late)
            time.sleep(hold)
    except OSError:
        pass
    finally:
        c.close()

while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
