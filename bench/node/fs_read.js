// Reads one 4 KiB file 100,000 times with 64 reads in flight through fs.promises.readFile
// (libuv's thread pool; run with UV_THREADPOOL_SIZE=4). Same workload as bench/fs_read.cpp.
// Usage: node fs_read.js [FILE] [COUNT=100000] [IN_FLIGHT=64]. Prints "ops_per_s X".
// Without FILE it writes a 4 KiB file in the temp directory and removes it afterwards.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

async function main() {
  let file = process.argv[2];
  const count = Number(process.argv[3] || 100000);
  const inFlight = Number(process.argv[4] || 64);
  const own = !file;
  if (own) {
    file = path.join(os.tmpdir(), `brigade-fs-read-${process.pid}.bin`);
    fs.writeFileSync(file, Buffer.alloc(4096, 'x'));
  }
  let started = 0;
  async function reader() {
    while (started < count) {
      started++;
      const data = await fs.promises.readFile(file);
      if (data.length !== 4096) throw new Error(`short read: ${data.length}`);
    }
  }
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, reader));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (own) fs.unlinkSync(file);
  console.log(`ops_per_s ${(count / seconds).toFixed(0)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
