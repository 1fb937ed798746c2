// node:http plaintext "Hello, World!" server with keep-alive (the Node side of the HTTP benchmark).
// Usage: node http_hello.js PORT. Prints "listening on 127.0.0.1:PORT".
'use strict';
const http = require('node:http');

const port = Number(process.argv[2] || 8080);
const body = 'Hello, World!';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
