// 1,000,000 timers with random timeouts in 0..1000 ms: creation time, time until the last has
// fired (from the first creation) and peak RSS. Same workload as bench/timers.cpp.
// Usage: node timers.js [COUNT=1000000]. Prints: "create_ms X", "fire_ms X", "peak_rss_mb X".
'use strict';

const count = Number(process.argv[2] || 1000000);
let fired = 0;
let lastFire = 0n;

function onTimer() {
  if (++fired === count) lastFire = process.hrtime.bigint();
}

const start = process.hrtime.bigint();
for (let i = 0; i < count; i++) setTimeout(onTimer, Math.floor(Math.random() * 1001));
const created = process.hrtime.bigint();

process.on('exit', () => {
  if (fired !== count) {
    console.error(`timers: ${fired} of ${count} fired`);
    process.exitCode = 1;
    return;
  }
  const ms = (ns) => (Number(ns) / 1e6).toFixed(1);
  console.log(`create_ms ${ms(created - start)}`);
  console.log(`fire_ms ${ms(lastFire - start)}`);
  console.log(`peak_rss_mb ${(process.resourceUsage().maxRSS / 1024).toFixed(1)}`);
});
