// TCP echo server on Node's net module (the Node side of the echo benchmark).
// Usage: node echo_server.js PORT. Prints "listening on 127.0.0.1:PORT".
'use strict';
const net = require('node:net');

const port = Number(process.argv[2] || 7000);
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
