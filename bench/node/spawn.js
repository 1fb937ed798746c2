// spawn: child processes started and reaped per second, /bin/true one at a time and 16 at once
// (bench/spawn.cpp's twin). Prints "key value" lines.   node spawn.js [COUNT]
'use strict';
const { spawn } = require('child_process');

const count = Number(process.argv[2] || 2000);

function one() {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/true', [], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

async function rate(lanes) {
  let left = count;
  const start = process.hrtime.bigint();
  const lane = async () => {
    while (left > 0) {
      left--;
      await one();
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return count / secs;
}

(async () => {
  console.log(`sequential_per_s ${(await rate(1)).toFixed(0)}`);
  console.log(`concurrent16_per_s ${(await rate(16)).toFixed(0)}`);
})();
