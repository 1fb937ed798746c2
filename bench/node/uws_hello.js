// uWebSockets.js "Hello, World!" (the uWebSockets peer of the plaintext HTTP groups): uWS's C++
// HTTP server and event loop, with the handler a JavaScript function called from Node 20.
// Usage: NODE_PATH=bench/.scratch/node_modules node uws_hello.js PORT.
// Prints "listening on 127.0.0.1:PORT".
'use strict';
const uWS = require('uwebsockets');

const port = Number(process.argv[2] || 8080);
uWS
  .App()
  .any('/*', (res) => {
    res.writeHeader('Content-Type', 'text/plain').end('Hello, World!');
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) {
      console.error(`uws_hello: cannot listen on 127.0.0.1:${port}`);
      process.exit(1);
    }
    console.log(`listening on 127.0.0.1:${uWS.us_socket_local_port(token)}`);
  });
