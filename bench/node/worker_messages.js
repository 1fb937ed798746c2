// Messages between the main thread and a worker_threads Worker (postMessage), same workloads as
// bench/worker_messages.cpp:
//   rtt_us            ping-pong of a small number, COUNT round trips, microseconds per round trip;
//   msg_per_s         one-way small numbers, main -> worker;
//   buf_copy_per_s    one-way 1 MiB ArrayBuffers, copied (postMessage(buf));
//   buf_move_per_s    one-way fresh 1 MiB ArrayBuffers, filled, then transferred
//                     (postMessage(buf, [buf])).
// One-way streams keep two batches in flight: the worker acks every batch, each ack releases the
// next one, so neither side queues without bound.
// Usage: node worker_messages.js [COUNT=100000] [BUFFERS=2000]
'use strict';

const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const STOP = -1;
const MIB = 1 << 20;

// The worker: echoes every message back, or counts them and acks each batch with the count.
function workerMain() {
  const batch = workerData; // 0: echo
  let received = 0;
  parentPort.on('message', (m) => {
    if (m === STOP) return parentPort.close();
    if (batch === 0) parentPort.postMessage(m);
    else if (++received % batch === 0) parentPort.postMessage(received);
  });
}

// Starts a worker and resolves once it is online, so its start-up is not measured.
function startWorker(batch) {
  return new Promise((resolve) => {
    const w = new Worker(__filename, { workerData: batch });
    w.once('online', () => resolve(w));
  });
}

function finish(w, resolve, value) {
  w.postMessage(STOP);
  w.once('exit', () => resolve(value));
}

async function roundTripUs(count) {
  const w = await startWorker(0);
  return new Promise((resolve) => {
    let left = count;
    const start = process.hrtime.bigint();
    w.on('message', (m) => {
      if (--left > 0) return w.postMessage(m);
      finish(w, resolve, Number(process.hrtime.bigint() - start) / 1e3 / count);
    });
    w.postMessage(1);
  });
}

// Streams `count` messages, each sent by send(w), to a counting worker; resolves to messages/s.
async function oneWayPerS(count, batch, send) {
  const w = await startWorker(batch);
  return new Promise((resolve) => {
    let sent = 0;
    const sendBatch = () => {
      for (let i = 0; i < batch && sent < count; ++i, ++sent) send(w);
    };
    const start = process.hrtime.bigint();
    w.on('message', (acked) => {
      if (acked < count) return sendBatch();
      finish(w, resolve, (count * 1e9) / Number(process.hrtime.bigint() - start));
    });
    sendBatch();
    sendBatch();
  });
}

async function main() {
  const count = Number(process.argv[2] || 100000);
  const buffers = Number(process.argv[3] || 2000);
  console.log(`rtt_us ${(await roundTripUs(count)).toFixed(2)}`);
  const small = await oneWayPerS(count, 1000, (w) => w.postMessage(1));
  console.log(`msg_per_s ${small.toFixed(0)}`);
  const one = new Uint8Array(MIB).fill(120);
  const copied = await oneWayPerS(buffers, 8, (w) => w.postMessage(one));
  console.log(`buf_copy_per_s ${copied.toFixed(0)}`);
  const moved = await oneWayPerS(buffers, 8, (w) => {
    const b = new Uint8Array(MIB).fill(121).buffer;
    w.postMessage(b, [b]);
  });
  console.log(`buf_move_per_s ${moved.toFixed(0)}`);
}

if (isMainThread) main();
else workerMain();
