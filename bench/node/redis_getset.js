// ioredis GET/SET from CONCURRENCY async functions on one client with enableAutoPipelining,
// the workload of bench/redis_getset.cpp:
//   ops_per_s        COUNT commands (SET and GET alternating per function) per second;
//   cpu_us_per_op    the process's CPU time (user + system) per command.
// Usage: node redis_getset.js URL [COUNT=200000] [CONCURRENCY=50]
// Needs ioredis@5: NODE_PATH=bench/.scratch/node_modules (bench/run.sh installs it there).
'use strict';

const Redis = require('ioredis');

async function clientTask(redis, id, ops) {
  const key = 'bench:key:' + id;
  const value = 'v'.repeat(32);
  for (let i = 0; i < ops; i += 2) {
    await redis.set(key, value);
    const got = await redis.get(key);
    if (!got || got.length !== value.length) throw new Error('bad value');
  }
}

async function measure(redis, count, concurrency) {
  const start = process.hrtime.bigint();
  const tasks = [];
  for (let c = 0; c < concurrency; ++c) tasks.push(clientTask(redis, c, Math.floor(count / concurrency)));
  await Promise.all(tasks);
  return (count * 1e9) / Number(process.hrtime.bigint() - start);
}

async function main() {
  const url = process.argv[2];
  const count = Number(process.argv[3] || 200000);
  const concurrency = Number(process.argv[4] || 50);
  // enableAutoPipelining: ioredis's own batching of commands issued in one tick (the fair
  // counterpart of brigade's automatic pipelining).
  const redis = new Redis(url, { enableAutoPipelining: true });
  await measure(redis, count / 10, concurrency);
  const cpu0 = process.cpuUsage();
  const ops = await measure(redis, count, concurrency);
  const cpu = process.cpuUsage(cpu0);
  console.log(`ops_per_s ${ops.toFixed(0)}`);
  console.log(`cpu_us_per_op ${((cpu.user + cpu.system) / count).toFixed(2)}`);
  redis.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
