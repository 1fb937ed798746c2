#!/usr/bin/env python3
"""Steady, bounded GET load through a load balancer, for tests/http/balancer_e2e_test.cpp.

usage: balancer_load.py PORT [THREADS] [PAUSE_MS]

Each thread sends GET / over a keep-alive connection to 127.0.0.1:PORT, pausing PAUSE_MS between
requests. Every line read on stdin names the current phase; at the end of stdin the threads stop
and one JSON line is printed: per phase, the requests that got a 200, those that failed (any
other status, a reset, a timeout), the first few failures, and the 200s per upstream (the
balancer's X-Upstream header: the last address it tried). It prints "ready" once it runs.
"""
import http.client
import json
import sys
import threading
import time

port = int(sys.argv[1])
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 3
pause = (int(sys.argv[3]) if len(sys.argv) > 3 else 10) / 1000.0

lock = threading.Lock()
phase = "start"
stop = threading.Event()
phases = {}


def record(name, ok, upstream=None, error=None):
    with lock:
        p = phases.setdefault(name, {"ok": 0, "failed": 0, "errors": [], "by_upstream": {}})
        if ok:
            p["ok"] += 1
            p["by_upstream"][upstream] = p["by_upstream"].get(upstream, 0) + 1
        else:
            p["failed"] += 1
            if len(p["errors"]) < 5:
                p["errors"].append(error)


def client():
    conn = None
    while not stop.is_set():
        current = phase
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/")
            res = conn.getresponse()
            body = res.read()
            upstream = (res.getheader("X-Upstream") or "?").split(",")[-1].strip()
            if res.status == 200 and body.startswith(b"Hello from brigade"):
                record(current, True, upstream)
            else:
                record(current, False, error="%d %s" % (res.status, body[:80]))
            if res.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # a reset, a refused connect, a timeout: a failed request
            record(current, False, error=repr(e))
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(pause)


workers = [threading.Thread(target=client) for _ in range(threads)]
for w in workers:
    w.start()
print("ready", flush=True)
while True:
    line = sys.stdin.readline()  # not `for line in sys.stdin`: that reads ahead
    if not line:
        break
    with lock:
        phase = line.strip()
stop.set()
for w in workers:
    w.join()
print(json.dumps(phases), flush=True)
