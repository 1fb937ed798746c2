#!/usr/bin/env python3
"""Opens the demo's /dashboard in headless Chromium, runs /heavy (worker pool) then
/heavy-blocking (the loop) and a small load from the page's own buttons' functions, reads the
page's figures through the DevTools protocol, saves a screenshot and prints them as JSON.

usage: dashboard_chromium.py BASE_URL SCREENSHOT.png N [--profile DIR]
Chromium gets a free DevTools port and a fresh profile; it is always stopped (and dies with
this script). Exits 2 when no chromium is installed.
"""
import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

from local_process import die_with_parent, free_port, stop


class Page:
    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message["result"]

    async def eval(self, expression, await_promise=False):
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in result:
            raise RuntimeError("page: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    async def until(self, expression, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if await self.eval(expression):
                    return True
            except RuntimeError:
                pass  # the context went with a navigation: ask the new one
            await asyncio.sleep(0.1)
        return False


async def drive(debug_port, base, screenshot, n):
    targets = []
    for _ in range(100):  # the DevTools endpoint comes up with the browser
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % debug_port, timeout=2) as r:
                targets = [t for t in json.load(r) if t.get("type") == "page"]
            if targets:
                break
        except OSError:
            pass
        await asyncio.sleep(0.2)
    if not targets:
        raise RuntimeError("no page target from chromium")
    async with websockets.connect(targets[0]["webSocketDebuggerUrl"], max_size=2**26) as ws:
        page = Page(ws)
        await page.call("Emulation.setDeviceMetricsOverride", width=1200, height=820,
                        deviceScaleFactor=1, mobile=False)
        await page.call("Page.navigate", url=base + "/dashboard")
        if not await page.until("window.dashboard && window.dashboard.figures >= 6", 20):
            raise RuntimeError("the page got no figures from /dashboard/events")
        await page.eval("document.getElementById('n').value = '%d'" % n)
        # The pool first: the loop stays free, figures keep coming.
        await page.eval("window.dashboard.runJob('heavy', '/heavy')", await_promise=True)
        await page.until("window.dashboard.runs.heavy.done", 10)
        await page.eval("window.dashboard.runJob('blocking', '/heavy-blocking')", await_promise=True)
        await page.until("window.dashboard.runs.blocking.done", 10)
        await page.eval("window.dashboard.runLoad()", await_promise=True)
        await asyncio.sleep(0.6)  # the last load figures arrive
        figures = await page.eval("JSON.stringify({runs: window.dashboard.runs,"
                                  " figures: window.dashboard.figures,"
                                  " rps: window.dashboard.series.rps,"
                                  " shown: document.getElementById('blocking-peak').textContent})")
        shot = await page.call("Page.captureScreenshot", format="png")
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return json.loads(figures)


def main():
    base, screenshot, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("no chromium", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `timeout` still runs the finally
    with tempfile.TemporaryDirectory(prefix="brigade-chromium-") as profile:
        port = free_port()
        proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--hide-scrollbars",
             "--remote-debugging-port=%d" % port, "--user-data-dir=" + profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
            start_new_session=True)
        try:
            result = asyncio.run(asyncio.wait_for(drive(port, base, screenshot, n), 90))
            print(json.dumps(result))
        finally:
            stop(proc)


main()
