// fetch throughput: COUNT GET requests to URL (a local keep-alive server), IN_FLIGHT at once,
// with Node's global fetch (undici) or http.request on a keep-alive Agent. Same workload as
// bench/fetch_client.cpp. Prints "req_per_s X" and "cpu_us_per_req Y" (this process's CPU).
// Usage: node fetch_client.js fetch|agent URL [COUNT=20000] [IN_FLIGHT=50]
'use strict';
const http = require('node:http');

const mode = process.argv[2];
const url = process.argv[3];
const count = Number(process.argv[4] || 20000);
const inFlight = Number(process.argv[5] || 50);
const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });

function viaAgent() {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 && body ? resolve() : reject(new Error('bad answer'))));
    }).on('error', reject);
  });
}

async function viaFetch() {
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200 || !body) throw new Error('bad answer');
}

async function main() {
  const one = mode === 'agent' ? viaAgent : viaFetch;
  let started = 0;
  async function requester() {
    while (started < count) {
      started++;
      await one();
    }
  }
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, requester));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  console.log(`req_per_s ${(count / seconds).toFixed(0)}`);
  console.log(`cpu_us_per_req ${((cpu.user + cpu.system) / count).toFixed(2)}`);
  agent.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
