// BullMQ, the workload of bench/queue_jobs.cpp:
//   jobs_per_s       COUNT no-op jobs added by one producer (1000 in flight at a time) and run
//                    by two Workers (concurrency 50 each), from the first add to the last
//                    completion; cpu_us_per_job the process's CPU time (user + system) per
//                    job over that phase (producer and workers: the whole client side);
//   latency_ms       one job at a time, queue.add() to job.waitUntilFinished(), median of RUNS;
//                    latency_tail_ms the 99th percentile.
// Usage: node bullmq_jobs.js URL [COUNT=20000] [RUNS=300]
// Needs bullmq@5: NODE_PATH=bench/.scratch/node_modules (bench/run.sh installs it there).
'use strict';

const { Queue, Worker, QueueEvents } = require('bullmq');
const IORedis = require('ioredis');

function connection(url) {
  return new IORedis(url, { maxRetriesPerRequest: null });
}

async function throughput(url, count) {
  const queue = new Queue('bench', { connection: connection(url) });
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const workers = [0, 1].map(
    () =>
      new Worker('bench', async (job) => job.data, {
        connection: connection(url),
        concurrency: 50,
      })
  );
  for (const w of workers) {
    w.on('completed', () => {
      if (++done === count) finish();
    });
    await w.waitUntilReady();
  }
  const start = process.hrtime.bigint();
  for (let base = 0; base < count; base += 1000) {
    const adds = [];
    for (let i = base; i < Math.min(count, base + 1000); ++i) adds.push(queue.add('noop', 'x'));
    await Promise.all(adds);
  }
  await finished;
  const perS = (count * 1e9) / Number(process.hrtime.bigint() - start);
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  return perS;
}

async function latencies(url, runs) {
  const queue = new Queue('latency', { connection: connection(url) });
  const events = new QueueEvents('latency', { connection: connection(url) });
  await events.waitUntilReady();
  const worker = new Worker('latency', async (job) => job.data, { connection: connection(url), concurrency: 1 });
  await worker.waitUntilReady();
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    const job = await queue.add('noop', 'x');
    await job.waitUntilFinished(events, 10000);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await worker.close();
  await events.close();
  await queue.close();
  ms.sort((a, b) => a - b);
  return ms;
}

async function main() {
  const url = process.argv[2];
  const count = Number(process.argv[3] || 20000);
  const runs = Number(process.argv[4] || 300);
  const admin = connection(url);
  await admin.flushall();
  const cpu0 = process.cpuUsage();
  const perS = await throughput(url, count);
  const cpu = process.cpuUsage(cpu0);
  const ms = await latencies(url, runs);
  console.log(`jobs_per_s ${perS.toFixed(0)}`);
  console.log(`cpu_us_per_job ${((cpu.user + cpu.system) / count).toFixed(2)}`);
  console.log(`latency_ms ${ms[Math.floor(ms.length / 2)].toFixed(3)}`);
  console.log(`latency_tail_ms ${ms[Math.min(ms.length - 1, Math.floor((ms.length * 99) / 100))].toFixed(3)}`);
  admin.disconnect();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
