// brigade's side of the HTTP benchmark: a plaintext "Hello, World!" App with keep-alive.
// With --tls CERT KEY the same App over HTTPS (the TLS benchmarks: https_c50, https_handshakes,
// https_idle).
// Usage: http_hello [--tls CERT KEY] [--port N]   (binds 127.0.0.1; prints "listening on
// 127.0.0.1:PORT")
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "brigade/http/app.hpp"
#include "brigade/loop/loop.hpp"

int main(int argc, char** argv) {
  uint16_t port = 8080;
  brigade::http::ServerOptions options;
  options.keep_alive_timeout_ms = 60'000;  // as the Node twin
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--tls") == 0 && i + 2 < argc) {
      options.tls.emplace();
      options.tls->cert_file = argv[++i];
      options.tls->key_file = argv[++i];
    }
  }
  brigade::Loop loop;
  brigade::http::App app;
  app.get("/", [](brigade::http::Req&, brigade::http::Res& res) {
    res.type("text/plain").send("Hello, World!");
  });
  brigade::http::Server server = app.listen(loop, "127.0.0.1", port, options);
  std::printf("listening on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  loop.run();
}
