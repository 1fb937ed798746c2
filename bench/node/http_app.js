// node:http twin of bench/http_app.cpp, with a minimal router (no framework):
//   GET /                  "Hello, World!"
//   GET /json              a small JSON object (JSON.stringify)
//   GET /users/:id         awaits a 1 ms timer (the database stand-in), then JSON with the id
//   GET /heavy?n=N         naive fib(N) in a worker_threads Worker: the loop stays responsive
//   GET /heavy-loop?n=N    the same on the loop: it blocks
// Usage: node http_app.js PORT. Prints "listening on 127.0.0.1:PORT". keepAliveTimeout 10 min.
'use strict';
const http = require('node:http');
const { Worker } = require('node:worker_threads');

const port = Number(process.argv[2] || 8080);

const fibSource = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }';
const fib = new Function(`${fibSource} return fib;`)();

// One persistent worker (brigade's side: a WorkerPool of one thread); jobs answered in order.
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads'); ${fibSource}
   parentPort.on('message', (n) => parentPort.postMessage(fib(n)));`,
  { eval: true });
worker.unref();
const pending = [];
worker.on('message', (value) => pending.shift()(value));
function fibInWorker(n) {
  return new Promise((resolve) => { pending.push(resolve); worker.postMessage(n); });
}

function sendJson(res, value) {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function fibArg(query) {
  const n = Number(new URLSearchParams(query).get('n')) || 0;
  return Math.min(n, 45);
}

const hello = 'Hello, World!';
const routes = [  // [method, pattern, handler(req, res, params, query)]
  ['GET', '/', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': hello.length });
    res.end(hello);
  }],
  ['GET', '/json', (req, res) => sendJson(res, { message: 'Hello, World!', server: 'node', version: 1 })],
  ['GET', '/users/:id', async (req, res, params) => {
    const id = Number(params.id);
    await new Promise((r) => setTimeout(r, 1));
    sendJson(res, { id, name: `user ${id}` });
  }],
  ['GET', '/heavy', async (req, res, params, query) => {
    const n = fibArg(query);
    sendJson(res, { n, fib: await fibInWorker(n) });
  }],
  ['GET', '/heavy-loop', (req, res, params, query) => {
    const n = fibArg(query);
    sendJson(res, { n, fib: fib(n) });
  }],
].map(([method, pattern, handler]) => ({ method, parts: pattern.split('/'), handler }));

// Matches "/a/:b" segment by segment; returns the params or null.
function match(parts, path) {
  const segs = path.split('/');
  if (segs.length !== parts.length) return null;
  const params = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeURIComponent(segs[i]);
    else if (parts[i] !== segs[i]) return null;
  }
  return params;
}

const server = http.createServer((req, res) => {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  for (const r of routes) {
    if (r.method !== req.method) continue;
    const params = match(r.parts, path);
    if (params) return r.handler(req, res, params, query);
  }
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 9 });
  res.end('Not Found');
});
server.keepAliveTimeout = 600000;
server.headersTimeout = 660000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
