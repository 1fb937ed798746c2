// The Node side of the database benchmark: GET /users/:id as JSON from PostgreSQL (`pg` Pool,
// max 10) or SQLite (better-sqlite3, synchronous on the main thread); GET /stats answers the
// event loop delay p99 and max (perf_hooks.monitorEventLoopDelay, 1 ms resolution, minus that
// resolution) since the previous /stats, then resets the histogram.
// Usage: node db_users.js pg CONNINFO [POOL] PORT | node db_users.js sqlite PATH PORT
// Prints "listening on 127.0.0.1:PORT".
'use strict';
const http = require('node:http');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { scratchRequire, pgConfig } = require('./db_modules.js');

const args = process.argv.slice(2);
const [kind, where] = args;
const port = Number(args[args.length - 1]);
const select = 'SELECT id, name, email FROM users WHERE id = $1';

let findUser;  // (id, callback(err, row))
if (kind === 'pg') {
  const { Pool } = scratchRequire('pg');
  const pool = new Pool({ ...pgConfig(where), max: args.length > 3 ? Number(args[2]) : 10 });
  findUser = (id, cb) => pool.query(select, [id]).then((r) => cb(null, r.rows[0]), cb);
} else {
  const Database = scratchRequire('better-sqlite3');
  const stmt = new Database(where, { readonly: true }).prepare(select.replace('$1', '?'));
  findUser = (id, cb) => {
    let row;
    try { row = stmt.get(id); } catch (e) { return cb(e); }
    cb(null, row);
  };
}

const resolutionMs = 1;
const delay = monitorEventLoopDelay({ resolution: resolutionMs });
delay.enable();
const ms = (ns) => Math.max(0, ns / 1e6 - resolutionMs);

function send(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const m = /^\/users\/(\d+)$/.exec(req.url);
  if (m) {
    const id = Number(m[1]);
    findUser(id, (err, row) => {
      if (err) send(res, 500, { error: String(err) });
      else if (!row) send(res, 404, { error: 'no such user', id });
      else send(res, 200, { id: Number(row.id), name: row.name, email: row.email });
    });
  } else if (req.url === '/stats') {
    send(res, 200, { delay_p99_ms: ms(delay.percentile(99)), delay_max_ms: ms(delay.max) });
    delay.reset();
  } else {
    send(res, 404, { error: 'not found' });
  }
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
