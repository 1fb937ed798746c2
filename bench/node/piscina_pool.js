// Piscina with 2 threads, same workloads as bench/worker_pool.cpp:
//   tiny_per_s       COUNT tasks returning x + 1, submitted in batches of 1000 (all of a batch in
//                    flight, then awaited), tasks per second;
//   fib_per_s        FIBS tasks computing fib(25) recursively, same batching;
//   single_task_us   one x + 1 task at a time on the warm pool, SINGLES times, microseconds each.
// Usage: node piscina_pool.js [COUNT=100000] [FIBS=2000] [SINGLES=10000]
// Needs piscina@4: NODE_PATH=bench/.scratch/node_modules (bench/run.sh installs it there).
'use strict';

const path = require('path');
const Piscina = require('piscina');

const BATCH = 1000;

async function throughput(pool, op, x, count) {
  let sum = 0;
  const start = process.hrtime.bigint();
  for (let done = 0; done < count; done += BATCH) {
    const batch = [];
    for (let i = 0; i < BATCH && done + i < count; ++i) batch.push(pool.run({ op, x }));
    for (const v of await Promise.all(batch)) sum += v;
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sum === 0) console.error('no results');
  return (count * 1e9) / elapsed;
}

async function singleTaskUs(pool, count) {
  let x = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; ++i) x = await pool.run({ op: 'add', x });
  const elapsed = Number(process.hrtime.bigint() - start);
  if (x !== count) console.error(`wrong result ${x}`);
  return elapsed / 1e3 / count;
}

async function main() {
  const count = Number(process.argv[2] || 100000);
  const fibs = Number(process.argv[3] || 2000);
  const singles = Number(process.argv[4] || 10000);
  const pool = new Piscina({
    filename: path.join(__dirname, 'piscina_task.js'),
    minThreads: 2,
    maxThreads: 2,
  });
  await pool.run({ op: 'add', x: 0 });  // the workers' start-up is not measured
  console.log(`tiny_per_s ${(await throughput(pool, 'add', 1, count)).toFixed(0)}`);
  console.log(`fib_per_s ${(await throughput(pool, 'fib', 25, fibs)).toFixed(0)}`);
  console.log(`single_task_us ${(await singleTaskUs(pool, singles)).toFixed(2)}`);
  await pool.destroy();
}

main();
