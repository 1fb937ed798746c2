// node:cluster + node:http "Hello, World!" with keep-alive (the Node side of the cluster benchmark).
// Usage: node cluster_hello.js WORKERS PORT. The primary prints "listening on 127.0.0.1:PORT" once
// every worker listens. Round-robin scheduling (Node's default on Linux: the primary accepts).
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');

const workers = Number(process.argv[2] || 2);
const port = Number(process.argv[3] || 8080);
const body = 'Hello, World!';

if (cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (worker, address) => {
    if (++listening === workers) console.log(`listening on 127.0.0.1:${address.port}`);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60000;
  server.listen(port, '127.0.0.1');
}
