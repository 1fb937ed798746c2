#!/usr/bin/env python3
"""Scrapes a /metrics URL, parses it with prometheus_client's parser and checks the format.

usage: check_exposition.py URL [--hit URL]...
Requests each --hit URL first, then scrapes URL. Exits non-zero naming the first problem; on
success prints the families as JSON: {name: {"type": t, "help": h, "samples": [[n, {l: v}, x]]}}
(a counter's name as written, with its _total).
"""
import json
import math
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def fail(message):
    print("check_exposition: " + message, file=sys.stderr)
    sys.exit(1)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.headers.get("Content-Type", ""), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:  # a 4xx/5xx answer is still an answer
        return e.headers.get("Content-Type", ""), e.read().decode("utf-8")


def main():
    args = sys.argv[1:]
    url = args[0]
    for i, a in enumerate(args):
        if a == "--hit":
            get(args[i + 1])
    content_type, text = get(url)
    if not content_type.startswith("text/plain; version=0.0.4"):
        fail("Content-Type %r" % content_type)
    # What the lax parser lets through: every TYPE once, a counter's name ends in _total.
    declared = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            if name in declared:
                fail("TYPE of %s twice" % name)
            declared[name] = typ
            if typ == "counter" and not name.endswith("_total"):
                fail("counter %s does not end in _total" % name)
    out = {}
    for family in text_string_to_metric_families(text):
        if family.type == "untyped":
            fail("sample outside its family: %s" % family.samples[0].name)
        if not family.documentation:
            fail("no HELP for %s" % family.name)
        name = family.name + ("_total" if family.type == "counter" else "")
        if family.type == "histogram":
            series = {}
            for s in family.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                entry = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
                if s.name.endswith("_bucket"):
                    entry["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    entry["count"] = s.value
                elif s.name.endswith("_sum"):
                    entry["sum"] = s.value
            for key, e in series.items():
                b = e["buckets"]
                if not b or not math.isinf(b[-1][0]):
                    fail("%s%s: no +Inf bucket last" % (name, key))
                for (le1, v1), (le2, v2) in zip(b, b[1:]):
                    if not le1 < le2 or v1 > v2:
                        fail("%s%s: buckets not increasing and cumulative" % (name, key))
                if e["count"] != b[-1][1] or e["sum"] is None:
                    fail("%s%s: _count %s != +Inf bucket %s" % (name, key, e["count"], b[-1][1]))
        out[name] = {
            "type": family.type,
            "help": family.documentation,
            "samples": [[s.name, s.labels, s.value if math.isfinite(s.value) else str(s.value)]
                        for s in family.samples],
        }
    print(json.dumps(out))


main()
