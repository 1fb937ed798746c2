// A CPU-bound job (summing 0..N-1, ~2 s) run on the event loop vs in a worker_threads Worker while
// a 10 ms setInterval ticks, same workload as bench/worker_offload.cpp. For each case: the total
// time from start until the result is on the loop (*_total_ms; the worker's start-up included) and
// the loop's longest block, the largest gap between two ticks (*_gap_ms).
// Usage: node worker_offload.js [N=1500000000]
'use strict';

const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

function sumTo(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += i;
  return sum;
}

const nowNs = () => process.hrtime.bigint();

// Resolves to { totalMs, maxGapMs, sum } once the first tick after the job's end has run.
function measure(n, inWorker) {
  return new Promise((resolve) => {
    const start = nowNs();
    let last = start;
    let maxGap = 0n;
    let doneNs = 0n;
    let sum = 0;
    const timer = setInterval(() => {
      const now = nowNs();
      if (now - last > maxGap) maxGap = now - last;
      last = now;
      if (!doneNs) return;
      clearInterval(timer);
      resolve({ totalMs: Number(doneNs - start) / 1e6, maxGapMs: Number(maxGap) / 1e6, sum });
    }, 10);
    const done = (s) => {
      sum = s;
      doneNs = nowNs();
    };
    if (inWorker) new Worker(__filename, { workerData: n }).once('message', done);
    else setImmediate(() => done(sumTo(n)));
  });
}

async function main() {
  const n = Number(process.argv[2] || 1500000000);
  const onLoop = await measure(n, false);
  const inWorker = await measure(n, true);
  console.log(`loop_total_ms ${onLoop.totalMs.toFixed(1)}`);
  console.log(`loop_gap_ms ${onLoop.maxGapMs.toFixed(1)}`);
  console.log(`worker_total_ms ${inWorker.totalMs.toFixed(1)}`);
  console.log(`worker_gap_ms ${inWorker.maxGapMs.toFixed(1)}`);
  if (onLoop.sum !== inWorker.sum) process.exitCode = 1;
}

if (isMainThread) main();
else parentPort.postMessage(sumTo(workerData));
