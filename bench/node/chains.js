// Callback chains, each callback scheduling the next: setImmediate (one per loop iteration),
// process.nextTick and queueMicrotask (drained in one go). Callbacks per second for each.
// Same workload as bench/chains.cpp. Usage: node chains.js [COUNT=1000000]
// Prints: "immediate_per_s X", "tick_per_s X", "microtask_per_s X", and (Node only, brigade's
// counterpart is a coroutine resumption) "promise_then_per_s X".
'use strict';

const count = Number(process.argv[2] || 1000000);

// Runs a chain of `count` callbacks scheduled with `schedule`; resolves to callbacks per second.
function runChain(schedule) {
  return new Promise((resolve) => {
    let left = count;
    const start = process.hrtime.bigint();
    function step() {
      if (--left > 0) schedule(step);
      else resolve((count * 1e9) / Number(process.hrtime.bigint() - start));
    }
    schedule(step);
  });
}

async function main() {
  const immediate = await runChain(setImmediate);
  console.log(`immediate_per_s ${immediate.toFixed(0)}`);
  const tick = await runChain(process.nextTick);
  console.log(`tick_per_s ${tick.toFixed(0)}`);
  const microtask = await runChain(queueMicrotask);
  console.log(`microtask_per_s ${microtask.toFixed(0)}`);
  const then = await runChain((fn) => Promise.resolve().then(fn));
  console.log(`promise_then_per_s ${then.toFixed(0)}`);
}

main();
