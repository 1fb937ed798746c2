// A proxy route that streams an upstream response to its client, as one writes it in Node:
//
//   app.get('/proxy/*', async (req, res) => {
//     const up = await fetch(upstream + req.params[0], { signal: AbortSignal.timeout(5000) });
//     res.status(up.status).type(up.headers.get('content-type') ?? 'application/octet-stream');
//     for await (const chunk of up.body) res.write(chunk);   // backpressure: await drain
//     res.end();
//   });
//
// Each chunk is written as it arrives: memory stays at a chunk or two whatever the size, and a
// slow client slows the upstream read (res.write waits, read_chunk is not called, curl pauses).
// The program serves an "upstream" (a 4 MiB body) and the proxy on 127.0.0.1, fetches through
// the proxy and prints what came. Usage: fetch_proxy [UPSTREAM_BASE_URL] to proxy another server.
#include <cstdio>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/client.hpp"
#include "brigade/http/fetch.hpp"
#include "brigade/task.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  Loop loop;
  http::App upstream_app;
  upstream_app.get("/big", [](http::Req&, http::Res& res) -> Task<void> {
    res.type("text/plain");
    std::string piece(64 * 1024, 'u');
    for (int i = 0; i < 64; ++i) co_await res.write(piece);
    res.end();
  });
  http::Server upstream = upstream_app.listen(loop, "127.0.0.1", 0);
  std::string base = argc > 1 ? argv[1] : "http://127.0.0.1:" + std::to_string(upstream.port());

  http::App proxy;
  proxy.get("/proxy/*", [base](http::Req& req, http::Res& res) -> Task<void> {
    http::FetchOptions o;  // named (g++ 12, see the README)
    o.timeout_ms = 5000;
    std::string target = std::string(req.target()).substr(6);  // "/proxy/big" -> "/big"
    http::Response up = co_await http::fetch(base + target, o);
    std::string_view type = up.headers().get("content-type");
    res.status(up.status()).type(type.empty() ? "application/octet-stream" : type);
    for (;;) {
      std::string chunk = co_await up.read_chunk();
      if (chunk.empty()) break;
      co_await res.write(chunk);  // waits while the client is behind
    }
    res.end();
  });
  http::Server server = proxy.listen(loop, "127.0.0.1", 0);

  run(loop, [&]() -> Task<void> {
    std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/proxy/big";
    http::Response res = co_await http::fetch(url);
    std::size_t bytes = 0, chunks = 0;
    for (;;) {
      std::string chunk = co_await res.read_chunk();
      if (chunk.empty()) break;
      bytes += chunk.size();
      ++chunks;
    }
    std::printf("GET %s: %d, %zu bytes in %zu chunks, streamed through the proxy\n", url.c_str(),
                res.status(), bytes, chunks);
    server.close_all_connections();
    server.close();
    upstream.close_all_connections();
    upstream.close();
  }());
  return 0;
}
