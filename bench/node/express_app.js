// Express 4 twin of bench/express_app.cpp (express from bench/.scratch, NODE_PATH):
//   POST /echo             express.json() then res.json(req.body)
//   GET  /static/<file>    express.static(ROOT)
//   GET  /gzip             a ~100 KiB JSON document through compression() (gzip level 6)
// Usage: node express_app.js ROOT PORT. Prints "listening on 127.0.0.1:PORT".
'use strict';
const express = require('express');
const compression = require('compression');

const root = process.argv[2];
const port = Number(process.argv[3] || 8080);

const app = express();
app.set('etag', false);  // brigade's res.json sends no ETag either: the same bytes on the wire
app.post('/echo', express.json(), (req, res) => res.json(req.body));
app.use('/static', express.static(root));
const users = [];
for (let i = 0; i < 1450; i++) {
  users.push({ id: i, name: `user ${i}`, email: `user${i}@example.com`, active: i % 3 === 0 });
}
const doc = { users };
app.get('/gzip', compression(), (req, res) => res.json(doc));
const server = app.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
server.keepAliveTimeout = 600000;
