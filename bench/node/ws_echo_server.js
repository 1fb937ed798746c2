// bench/ws_echo.cpp's twin on Node + ws: echo on /echo; "broadcast" sends one 64-byte message to
// every client (ws's documented broadcast loop) and answers "sent N".
// Usage: node ws_echo_server.js PORT   (ws from bench/.scratch: npm install --prefix bench/.scratch ws@8)
const path = require('path');
const { WebSocketServer, WebSocket } = require(path.join(__dirname, '..', '.scratch', 'node_modules', 'ws'));
const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/echo', perMessageDeflate: false });
const payload = 'b'.repeat(64);
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length === 9 && data.toString() === 'broadcast') {
      let n = 0;
      for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) { c.send(payload); n++; }
      ws.send('sent ' + n);
    } else {
      ws.send(data, { binary: true });
    }
  });
});
wss.on('listening', () => console.log(`listening on 127.0.0.1:${port}`));
