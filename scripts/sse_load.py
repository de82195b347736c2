#!/usr/bin/env python3
"""The client side of scripts/bench-sse: open N event streams on one sellerhubd (non-blocking
sockets, one thread), then insert ORDERS orders one at a time through one psql and time each
order's event on every stream: committed (the INSERT written to psql) -> its `order` event read.

Usage: sse_load.py PORT TOKEN STREAMS ORDERS RATE DATABASE_URL TENANT ACCOUNT
Prints one line of JSON: connect time, latency percentiles (ms), events missed."""
import json
import selectors
import socket
import subprocess
import sys
import time

port, token, n, orders, rate, db, tenant, account = sys.argv[1:9]
n, orders, rate = int(n), int(orders), float(rate)
sel = selectors.DefaultSelector()
req = (f"GET /api/metrics/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode()


class Stream:
    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", int(port)))
        self.sock.setblocking(False)
        self.sock.sendall(req)
        self.head = True
        self.tail = b""
        self.seen = 0


streams = []
t0 = time.monotonic()
for _ in range(n):
    s = Stream()
    streams.append(s)
    sel.register(s.sock, selectors.EVENT_READ, s)

sent = {}  # order number -> when its INSERT went to psql
lat = []
ready = 0
marker = b'"externalId":"bench-'


def pump(timeout):
    """Reads what has arrived; records each order event's latency."""
    global ready
    for key, _ in sel.select(timeout):
        s = key.data
        try:
            data = s.sock.recv(1 << 16)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(s.sock)
            continue
        now = time.monotonic()
        buf = s.tail + data
        if s.head and b"\r\n\r\n" in buf:
            if not buf.startswith(b"HTTP/1.1 200"):
                sys.exit("stream refused: " + buf[:200].decode(errors="replace"))
        if s.head and b"event: realtime" in buf:
            s.head = False
            ready += 1
        i = 0
        while True:
            i = buf.find(marker, i)
            if i < 0:
                break
            j = buf.find(b'"', i + len(marker))
            if j < 0:
                break
            num = int(buf[i + len(marker):j])
            if num in sent:
                lat.append(now - sent[num])
                s.seen += 1
            i = j
        # a marker cut by the read is completed by the next one
        cut = buf.rfind(marker)
        s.tail = buf[cut:] if cut >= 0 and buf.find(b'"', cut + len(marker)) < 0 else b""


while ready < n:
    pump(1.0)
    if time.monotonic() - t0 > 60:
        sys.exit(f"only {ready} of {n} streams ready after 60 s")
connect_s = time.monotonic() - t0

psql = subprocess.Popen(["psql", "-X", "-q", db, "-v", "ON_ERROR_STOP=1"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
psql.stdin.write("\\echo connected\n")  # connected before the clock starts
psql.stdin.flush()
psql.stdout.readline()
start = time.monotonic()
for k in range(1, orders + 1):
    due = start + (k - 1) / rate
    while time.monotonic() < due:
        pump(max(0.0, min(0.01, due - time.monotonic())))
    psql.stdin.write(
        "INSERT INTO orders (tenant_id, account_id, channel, external_id, status, date_created,"
        f" last_updated, total_amount, raw) VALUES ('{tenant}', '{account}',"
        f" (SELECT channel FROM accounts WHERE id = '{account}'), 'bench-{k}', 'paid', now(),"
        " now(), 10, '{}');\n")
    psql.stdin.flush()
    sent[k] = time.monotonic()
end = time.monotonic() + 10
while len(lat) < n * orders and time.monotonic() < end:
    pump(0.05)
psql.stdin.close()
psql.wait()
lat.sort()


def pct(p):
    return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 1) if lat else None


print(json.dumps({"streams": n, "orders": orders, "rate": rate,
                  "connect_s": round(connect_s, 2), "events": len(lat),
                  "missed": n * orders - len(lat), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                  "max_ms": round(lat[-1] * 1000, 1) if lat else None}))
