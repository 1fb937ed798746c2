// pbkdf2 throughput on libuv's pool (run with UV_THREADPOOL_SIZE=4): COUNT derivations
// (PBKDF2-HMAC-SHA256, ITERATIONS rounds, 32-byte keys), IN_FLIGHT at once. Same workload as
// bench/crypto_pbkdf2.cpp.
// Usage: node crypto_pbkdf2.js [COUNT=400] [ITERATIONS=10000] [IN_FLIGHT=16].
'use strict';
const crypto = require('node:crypto');
const { promisify } = require('node:util');
const pbkdf2 = promisify(crypto.pbkdf2);

async function main() {
  const count = Number(process.argv[2] || 400);
  const iterations = Number(process.argv[3] || 10000);
  const inFlight = Number(process.argv[4] || 16);
  let started = 0;
  async function deriver() {
    while (started < count) {
      const salt = `salt-${started++}`;
      const key = await pbkdf2('correct horse battery staple', salt, iterations, 32, 'sha256');
      if (key.length !== 32) throw new Error('short key');
    }
  }
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, deriver));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`derivations_per_s ${(count / seconds).toFixed(1)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
