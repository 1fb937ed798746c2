// An HTTPS responder on tls::Stream, as Node's
//
//   https.createServer({ key, cert }, (req, res) => res.end('hello over TLS\n')).listen(8443);
//
// It makes a self-signed certificate for localhost/127.0.0.1 on first run and prints the curl
// line that trusts it. Each connection: the TLS handshake on the loop (10 s limit), then
// requests answered in turn (keep-alive) until the client closes. (http::Server does not take
// TLS options yet; this shows the layer it will sit on.)
// Usage: https_hello [--port N]   (default 8443; 0 picks a free port)
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "brigade/net/listener.hpp"
#include "brigade/task.hpp"
#include "brigade/tls.hpp"

using namespace brigade;

static Task<void> serve(net::Stream tcp, tls::Context ctx) {
  try {
    tls::Stream s = co_await tls::Stream::accept(std::move(tcp), ctx);
    std::string pending;
    char buf[8192];
    for (;;) {
      std::size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        std::size_t n = co_await s.read(buf);
        if (n == 0) co_return;  // the client is done
        pending.append(buf, n);
      }
      pending.erase(0, end + 4);  // requests without a body: the head is the request
      std::string body = "hello over " + std::string(s.version()) + "\n";
      co_await s.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "connection: %s\n", e.what());  // a failed handshake, a reset
  }
}

int main(int argc, char** argv) {
  uint16_t port = 8443;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--port") == 0) port = uint16_t(std::atoi(argv[i + 1]));
  std::string dir = "/tmp/brigade-https-hello";
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  struct stat st {};
  if (stat(cert.c_str(), &st) != 0) {
    mkdir(dir.c_str(), 0700);
    tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  }
  tls::ServerOptions o;
  o.cert_file = cert;
  o.key_file = key;
  tls::Context ctx = tls::Context::server(o);

  Loop loop;
  net::Listener listener = net::listen_tcp(loop, "127.0.0.1", port);
  listener.serve([&ctx](net::Stream tcp) { return serve(std::move(tcp), ctx); });
  std::printf("listening on 127.0.0.1:%u\ntry: curl --cacert %s https://localhost:%u/\n",
              listener.port(), cert.c_str(), listener.port());
  std::fflush(stdout);
  loop.run();
}
