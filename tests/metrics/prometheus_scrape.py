#!/usr/bin/env python3
"""A real Prometheus server scrapes TARGET (host:port, /metrics) every second; once it has,
queries the loop delay through its HTTP API and prints the answers as JSON.

usage: prometheus_scrape.py HOST:PORT [--within SECONDS]
Prometheus runs in a temporary directory on a free port and is always stopped (it also dies
with this script: PR_SET_PDEATHSIG). Exits 2 when no `prometheus` binary is installed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from local_process import die_with_parent, free_port, stop


def query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=5) as r:
        answer = json.load(r)
    if answer.get("status") != "success":
        raise RuntimeError("query %s: %s" % (expr, answer))
    return answer["data"]["result"]


def main():
    target = sys.argv[1]
    within = float(sys.argv[sys.argv.index("--within") + 1]) if "--within" in sys.argv else 40
    binary = shutil.which("prometheus")
    if not binary:
        print("no prometheus binary", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `timeout` still runs the finally
    with tempfile.TemporaryDirectory(prefix="brigade-prom-") as tmp:
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: demo\n    static_configs:\n"
                    "      - targets: ['%s']\n" % target)
        port = free_port()
        log = open(os.path.join(tmp, "prometheus.log"), "w")
        proc = subprocess.Popen(
            [binary, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % port],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
            start_new_session=True)
        try:
            deadline = time.monotonic() + within
            result = {}
            while time.monotonic() < deadline:
                time.sleep(0.5)
                if proc.poll() is not None:
                    break
                try:
                    up = query(port, 'up{job="demo"}')
                    count = query(port, "brigade_eventloop_delay_seconds_count")
                    p99 = query(port, "brigade_eventloop_delay_p99_seconds")
                    quantile = query(
                        port, "histogram_quantile(0.99, brigade_eventloop_delay_seconds_bucket)")
                except (OSError, RuntimeError):
                    continue  # not listening yet, or no scrape yet
                if up and count and p99 and quantile:
                    result = {"up": float(up[0]["value"][1]),
                              "delay_count": float(count[0]["value"][1]),
                              "delay_p99": float(p99[0]["value"][1]),
                              "delay_quantile_99": quantile[0]["value"][1]}
                    break
            if not result:
                log.flush()
                with open(os.path.join(tmp, "prometheus.log")) as f:
                    sys.stderr.write(f.read()[-3000:])
                print("no loop delay from prometheus within %ss" % within, file=sys.stderr)
                sys.exit(1)
            print(json.dumps(result))
        finally:
            stop(proc)
            log.close()


main()
