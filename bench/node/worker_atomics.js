// Atomics.wait/notify ping-pong between the main thread and a worker_threads Worker, same workload
// as bench/worker_atomics.cpp: the two threads take turns on one Int32Array slot of a
// SharedArrayBuffer (odd: the worker's turn, even: main's), COUNT round trips.
// Usage: node worker_atomics.js [COUNT=100000]. Prints "atomics_rtt_us X".
'use strict';

const { Worker, isMainThread, workerData } = require('worker_threads');

// Waits on slot 0 until it holds `want`; `seen` is the value it holds while we wait.
function awaitTurn(turn, seen, want) {
  while (Atomics.load(turn, 0) !== want) Atomics.wait(turn, 0, seen);
}

function passTurn(turn, next) {
  Atomics.store(turn, 0, next);
  Atomics.notify(turn, 0);
}

function workerMain() {
  const turn = new Int32Array(workerData.sab);
  for (let i = 0; i < workerData.count; ++i) {
    awaitTurn(turn, 2 * i, 2 * i + 1);
    passTurn(turn, 2 * i + 2);
  }
}

function main() {
  const count = Number(process.argv[2] || 100000);
  const sab = new SharedArrayBuffer(4);
  const turn = new Int32Array(sab);
  const w = new Worker(__filename, { workerData: { sab, count } });
  w.once('online', () => {  // the worker's start-up (tens of ms) is not measured
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; ++i) {
      passTurn(turn, 2 * i + 1);
      awaitTurn(turn, 2 * i + 1, 2 * i + 2);
    }
    const us = Number(process.hrtime.bigint() - start) / 1e3 / count;
    console.log(`atomics_rtt_us ${us.toFixed(2)}`);
  });
}

if (isMainThread) main();
else workerMain();
