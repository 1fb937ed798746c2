// node:https "Hello, World!" server with keep-alive (the Node side of the TLS benchmarks).
// Usage: node https_hello.js CERT KEY PORT. Prints "listening on 127.0.0.1:PORT".
'use strict';
const fs = require('node:fs');
const https = require('node:https');

const [cert, key, port] = process.argv.slice(2);
const body = 'Hello, World!';
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
