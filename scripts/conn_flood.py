#!/usr/bin/env python3
"""The idle-connection flood of scripts/bench-connections: opens N connections to 127.0.0.1:PORT
that never send a byte, holds them for HOLD seconds, and meanwhile asks GET /health on a fresh
connection every 100 ms. Prints one line of figures: how many of the flood's connections the
server held at the end (its own gauge), and /health's latency (p50, max, failures) during the flood."""
import resource
import socket
import sys
import threading
import time

port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

socks = []
done = threading.Event()


def flood():
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError as e:
            print(f"flood: stopped at {len(socks)}: {e}", file=sys.stderr)
            s.close()
            break
        socks.append(s)
    done.set()


def health():
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        ok = data.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    return ok, (time.monotonic() - t0) * 1000


def server_connections():
    """The server's own count (sellerhub_http_connections on /metrics), "?" without it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("sellerhub_http_connections "):
                return int(float(line.split()[1]))
    except OSError:
        pass
    return "?"


threading.Thread(target=flood, daemon=True).start()
lat, fails = [], 0
start = time.monotonic()
while not done.is_set() or time.monotonic() - start < hold:
    ok, ms = health()
    if ok:
        lat.append(ms)
    else:
        fails += 1
    time.sleep(0.1)
held = server_connections()
lat.sort()
p50 = lat[len(lat) // 2] if lat else float("nan")
mx = lat[-1] if lat else float("nan")
print(f"opened {len(socks)} idle connections, the server holds {held} connections; "
      f"/health during the flood: {len(lat)} answered, p50 {p50:.1f} ms, max {mx:.1f} ms, "
      f"{fails} failed or timed out (5 s)")
for s in socks:
    s.close()
