// Loads the database packages of the db benchmark from bench/.scratch (npm install --prefix
// bench/.scratch pg better-sqlite3@12), and parses libpq conninfo strings for `pg`.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');

const scratchRequire = createRequire(path.resolve(__dirname, '../.scratch/package.json'));

// "host=127.0.0.1 port=5432 user=postgres dbname=postgres" -> pg's client config.
function pgConfig(conninfo) {
  const kv = Object.fromEntries(conninfo.trim().split(/\s+/).map((p) => p.split('=')));
  return { host: kv.host, port: Number(kv.port || 5432), user: kv.user, database: kv.dbname };
}

module.exports = { scratchRequire, pgConfig };
