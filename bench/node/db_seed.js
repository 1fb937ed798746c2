// Creates and fills the users table of the db benchmark: users(id, name, email), ids 1..COUNT.
// Usage: node db_seed.js pg CONNINFO [COUNT] | node db_seed.js sqlite PATH [COUNT]
'use strict';
const { scratchRequire, pgConfig } = require('./db_modules.js');

const [kind, where, countArg] = process.argv.slice(2);
const count = Number(countArg || 1000);
const names = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Dennis', 'Edsger', 'Donald'];
const user = (id) => [id, `${names[id % names.length]} ${id}`, `user${id}@example.com`];
const create = 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)';

async function seedPg() {
  const { Client } = scratchRequire('pg');
  const client = new Client(pgConfig(where));
  await client.connect();
  await client.query('DROP TABLE IF EXISTS users');
  await client.query(create);
  await client.query(
    "INSERT INTO users SELECT i, 'User ' || i, 'user' || i || '@example.com' FROM generate_series(1, $1) AS i",
    [count]);
  await client.query('ANALYZE users');
  await client.end();
}

function seedSqlite() {
  const Database = scratchRequire('better-sqlite3');
  const db = new Database(where);
  db.pragma('journal_mode = WAL');
  db.exec('DROP TABLE IF EXISTS users');
  db.exec(create);
  const insert = db.prepare('INSERT INTO users (id, name, email) VALUES (?, ?, ?)');
  db.transaction(() => { for (let id = 1; id <= count; id++) insert.run(...user(id)); })();
  db.close();
}

(kind === 'pg' ? seedPg() : Promise.resolve().then(seedSqlite)).then(
  () => console.log(`seeded ${count} users (${kind})`),
  (e) => { console.error(e); process.exit(1); });
