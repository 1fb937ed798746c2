// The TLS twin of bench/idle_client.c: opens N TLS connections to 127.0.0.1:PORT (certificate not
// checked: the benchmark's self-signed one), 200 handshakes at a time, sends one keep-alive
// GET / on each and reads its answer, then prints "holding N" and holds them until killed. With
// HOLD=0 it closes them and exits (a warm-up).
// Usage: node tls_idle_client.js PORT N [HOLD]
'use strict';
const tls = require('node:tls');

const [port, n, hold] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] !== '0'];
const held = [];

function one() {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (got.includes('Hello, World!')) { s.removeAllListeners('data'); held.push(s); resolve(); }
    });
    s.on('error', reject);
  });
}

(async () => {
  for (let start = 0; start < n; start += 200) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + 200); i++) batch.push(one());
    await Promise.all(batch);
  }
  console.log('holding ' + held.length);
  if (!hold) { for (const s of held) s.destroy(); return; }
  setInterval(() => {}, 1 << 30);
})().catch((e) => { console.error(e.message); process.exit(1); });
