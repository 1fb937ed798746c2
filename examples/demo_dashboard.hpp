#pragma once
// The demo's live dashboard: GET /dashboard (one self-contained page: no script or style from
// anywhere else) fed by GET /dashboard/events, a Server-Sent Events stream of the loop's delay
// and utilization over the last interval, requests per second and both pools' queues. Its
// buttons run /heavy?n= (the worker pool) and /heavy-blocking?n= (the loop) and a small load of
// GET /, so the delay line is seen to stay flat with the pool and to jump with the loop.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "brigade/error.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/event_stream.hpp"
#include "brigade/metrics/runtime.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/worker/worker_pool.hpp"

namespace demo {

// Figures per interval, measured between two calls of next().
struct DashboardFeed {
  brigade::Loop& loop;
  brigade::http::Server* const* server;
  const brigade::WorkerPool& heavy;
  brigade::metrics::LatencyWindow delay_window{};
  brigade::Utilization elu_before{};
  uint64_t requests_before = 0;
  uint64_t at_ns = brigade::Loop::hrtime();

  nlohmann::json next() {
    using nlohmann::json;
    const brigade::LoopMetrics& m = loop.metrics();
    brigade::LatencyHistogram d = delay_window.take(m.delay);
    brigade::Utilization elu = m.elu.since(elu_before);
    elu_before = m.elu;
    uint64_t now = brigade::Loop::hrtime();
    double seconds = double(now - at_ns) / 1e9;
    at_ns = now;
    uint64_t requests = *server ? (*server)->stats().requests : 0;
    double rps = seconds > 0 ? double(requests - requests_before) / seconds : 0;
    requests_before = requests;
    brigade::ThreadPoolStats pool = brigade::ThreadPool::shared().stats();
    brigade::PoolStats workers = heavy.stats();
    auto ms = [](uint64_t ns) { return double(ns) / 1e6; };
    return json{
        {"delay_ms",
         {{"p50", ms(d.percentile(50))}, {"p99", ms(d.percentile(99))}, {"max", ms(d.max())}}},
        {"utilization", elu.utilization()},
        {"rps", rps},
        {"blocked", m.blocked_count},
        {"pool", {{"threads", pool.threads}, {"queued", pool.queued}, {"running", pool.running}}},
        {"workers",
         {{"threads", workers.threads},
          {"queued", workers.queue_size},
          {"running", workers.running}}}};
  }
};

inline constexpr std::string_view kDashboardPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>brigade: the loop, live</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px 24px; background: #fafafa; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } p.sub { margin: 0 0 12px; color: #666; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; }
.card h2 { font-size: 14px; margin: 0 0 4px; } canvas { width: 100%; height: 150px; }
.now { font-variant-numeric: tabular-nums; color: #444; } .now b { color: #000; }
.controls { margin: 8px 0 12px; } button { margin-right: 6px; padding: 5px 10px; }
input { width: 3em; } table { border-collapse: collapse; margin-top: 8px; }
td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
.key span { display: inline-block; width: 10px; height: 3px; margin: 0 4px 3px 10px; }
</style></head><body>
<h1>brigade: the event loop, live</h1>
<p class="sub">A CPU job on the loop freezes everything; the same job on the worker pool does not.
Figures per 250 ms, from <code>/dashboard/events</code> (Server-Sent Events).
<span id="status">connecting</span></p>
<div class="controls">
fib(n), n = <input id="n" value="40">
<button id="run-heavy">Run /heavy (worker pool)</button>
<button id="run-blocking">Run /heavy-blocking (on the loop)</button>
<button id="run-load">Small load: GET / for 3 s</button>
</div>
<div class="grid">
<div class="card"><h2>Loop delay (ms)</h2><div class="key"><span style="background:#2a7"></span>p50
<span style="background:#e80"></span>p99<span style="background:#c22"></span>max</div>
<canvas id="c-delay"></canvas><div class="now">p50 <b id="delay-p50">-</b> p99 <b id="delay-p99">-</b>
max <b id="delay-max">-</b> ms, blocked-loop reports <b id="blocked">0</b></div></div>
<div class="card"><h2>Event-loop utilization (%)</h2><canvas id="c-elu"></canvas>
<div class="now"><b id="elu">-</b> %</div></div>
<div class="card"><h2>Requests per second</h2><canvas id="c-rps"></canvas>
<div class="now"><b id="rps">-</b> req/s</div></div>
<div class="card"><h2>Queues</h2><div class="key"><span style="background:#36c"></span>worker pool queued
<span style="background:#93c"></span>worker pool running<span style="background:#888"></span>thread pool queued</div>
<canvas id="c-queues"></canvas><div class="now">worker pool <b id="workers">-</b>, thread pool <b id="pool">-</b></div></div>
</div>
<table><thead><tr><th>run</th><th>n</th><th>answered in (ms)</th><th>highest loop delay meanwhile (ms)</th></tr></thead>
<tbody><tr><td>/heavy (worker pool)</td><td id="heavy-n">-</td><td id="heavy-ms">-</td><td id="heavy-peak">-</td></tr>
<tr><td>/heavy-blocking (loop)</td><td id="blocking-n">-</td><td id="blocking-ms">-</td><td id="blocking-peak">-</td></tr>
<tr><td>small load</td><td>-</td><td id="load-count">-</td><td id="load-peak-rps">-</td></tr></tbody></table>
<script>
'use strict';
const keep = 240;  // one minute of 250 ms figures
const series = { p50: [], p99: [], max: [], elu: [], rps: [], wq: [], wr: [], pq: [] };
const runs = {};   // kind -> { n, ms, peak, start, end }
window.dashboard = { runs, figures: 0, series };
const $ = (id) => document.getElementById(id);
function push(name, v) { const s = series[name]; s.push(v); if (s.length > keep) s.shift(); }
function draw(id, lines) {
  const c = $(id), r = c.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  c.width = r.width * dpr; c.height = r.height * dpr;
  const g = c.getContext('2d'); g.scale(dpr, dpr);
  const w = r.width, h = r.height, pad = 28;
  let top = 1;
  for (const [name] of lines) for (const v of series[name]) top = Math.max(top, v);
  top = Math.pow(10, Math.ceil(Math.log10(top * 1.05)));
  g.strokeStyle = '#eee'; g.fillStyle = '#999'; g.font = '10px sans-serif';
  for (let i = 0; i <= 4; i++) {
    const y = 4 + (h - 8) * i / 4;
    g.beginPath(); g.moveTo(pad, y); g.lineTo(w, y); g.stroke();
    g.fillText(String(+(top * (1 - i / 4)).toPrecision(3)), 0, y + 3);
  }
  for (const [name, color] of lines) {
    const s = series[name];
    g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
    s.forEach((v, i) => {
      const x = pad + (w - pad) * (i + keep - s.length) / (keep - 1), y = 4 + (h - 8) * (1 - v / top);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
}
function render() {
  draw('c-delay', [['p50', '#2a7'], ['p99', '#e80'], ['max', '#c22']]);
  draw('c-elu', [['elu', '#36c']]);
  draw('c-rps', [['rps', '#2a7']]);
  draw('c-queues', [['wq', '#36c'], ['wr', '#93c'], ['pq', '#888']]);
}
function onFigures(f) {
  const now = performance.now();
  push('p50', f.delay_ms.p50); push('p99', f.delay_ms.p99); push('max', f.delay_ms.max);
  push('elu', f.utilization * 100); push('rps', f.rps);
  push('wq', f.workers.queued); push('wr', f.workers.running); push('pq', f.pool.queued);
  $('delay-p50').textContent = f.delay_ms.p50.toFixed(2);
  $('delay-p99').textContent = f.delay_ms.p99.toFixed(2);
  $('delay-max').textContent = f.delay_ms.max.toFixed(2);
  $('blocked').textContent = f.blocked;
  $('elu').textContent = (f.utilization * 100).toFixed(1);
  $('rps').textContent = f.rps.toFixed(0);
  $('workers').textContent = f.workers.running + ' running, ' + f.workers.queued + ' queued of ' + f.workers.threads + ' threads';
  $('pool').textContent = f.pool.running + ' running, ' + f.pool.queued + ' queued';
  // A run's peak: the figures that arrive while it runs and until 1 s after its answer (the
  // figure covering a blocked stretch arrives once the loop is free again).
  for (const [kind, r] of Object.entries(runs)) {
    if (r.done || now < r.start) continue;
    if (r.end === undefined || now <= r.end + 1000) {
      r.peak = Math.max(r.peak, f.delay_ms.max);
      $(kind + '-peak').textContent = r.peak.toFixed(1);
    } else {
      r.done = true;
    }
  }
  if (runs.load) runs.load.rps = Math.max(runs.load.rps || 0, f.rps);
  if (runs.load) $('load-peak-rps').textContent = 'peak ' + runs.load.rps.toFixed(0) + ' req/s';
  window.dashboard.figures++;
  render();
}
async function runJob(kind, path) {
  const n = $('n').value;
  const r = runs[kind] = { n: +n, start: performance.now(), peak: 0, done: false };
  $(kind + '-n').textContent = n; $(kind + '-ms').textContent = 'running'; $(kind + '-peak').textContent = '-';
  const answer = await fetch(path + '?n=' + encodeURIComponent(n));
  await answer.text();
  r.end = performance.now(); r.ms = r.end - r.start; r.status = answer.status;
  $(kind + '-ms').textContent = r.ms.toFixed(0);
}
async function runLoad() {
  const r = runs.load = { start: performance.now(), count: 0, done: true };
  const until = performance.now() + 3000;
  async function client() { while (performance.now() < until) { await (await fetch('/')).text(); r.count++; } }
  await Promise.all(Array.from({ length: 4 }, client));
  r.end = performance.now();
  $('load-count').textContent = r.count + ' requests';
}
$('run-heavy').onclick = () => runJob('heavy', '/heavy');
$('run-blocking').onclick = () => runJob('blocking', '/heavy-blocking');
$('run-load').onclick = runLoad;
window.dashboard.runJob = runJob; window.dashboard.runLoad = runLoad;
const events = new EventSource('/dashboard/events');
events.addEventListener('figures', (e) => onFigures(JSON.parse(e.data)));
events.onopen = () => { $('status').textContent = 'live'; };
events.onerror = () => { $('status').textContent = 'reconnecting'; };
window.addEventListener('resize', render);
</script></body></html>
)html";

// GET /dashboard and its event stream. `server` is read once the server exists.
inline void add_dashboard(brigade::http::App& app, brigade::Loop& loop,
                          brigade::http::Server* const* server, const brigade::WorkerPool& heavy) {
  using brigade::http::Req;
  using brigade::http::Res;
  app.get("/dashboard",
          [](Req&, Res& res) { res.type("text/html; charset=utf-8").send(kDashboardPage); });
  app.get("/dashboard/events", [&loop, server, &heavy](Req&, Res& res) -> brigade::Task<void> {
    brigade::http::EventStream events = res.event_stream({.heartbeat_ms = 10000, .retry_ms = 1000});
    DashboardFeed feed{loop, server, heavy};
    feed.next();  // the window starts now
    // Ids count on from a reconnecting client's Last-Event-ID.
    uint64_t id = 0;
    for (char c : events.last_event_id())
      if (c >= '0' && c <= '9') id = id * 10 + uint64_t(c - '0');
    while (co_await events.wait(250)) {
      std::string figures = feed.next().dump();  // named: g++ 12 and temporaries in co_await
      std::string next_id = std::to_string(++id);
      try {
        co_await events.send(figures, "figures", next_id);
      } catch (const brigade::Error&) {
        break;  // the client left between the check and the write
      }
    }
  });
}

}  // namespace demo
