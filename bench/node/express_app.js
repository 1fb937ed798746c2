// Express 4 twin of bench/express_app.cpp (express from bench/.scratch, NODE_PATH):
//   POST /echo             express.json() then res.json(req.body)
//   GET  /static/<file>    express.static(ROOT)
// Usage: node express_app.js ROOT PORT. Prints "listening on 127.0.0.1:PORT".
'use strict';
const express = require('express');

const root = process.argv[2];
const port = Number(process.argv[3] || 8080);

const app = express();
app.set('etag', false);  // brigade's res.json sends no ETag either: the same bytes on the wire
app.post('/echo', express.json(), (req, res) => res.json(req.body));
app.use('/static', express.static(root));
const server = app.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
server.keepAliveTimeout = 600000;
