// Streams uploads to disk as they arrive: Node's `for await (const chunk of req)` into a file.
//
//   http_upload [--port N] [--dir D] [--self-check]
//
// PUT or POST /upload/NAME writes the request body to D/NAME piece by piece through fs::File
// (the handler starts at the head; the server reads the socket only as fast as the file takes
// the bytes) and answers "NAME BYTES CRC32". D defaults to a fresh /tmp/brigade-upload-XXXXXX.
// Prints its URL on 127.0.0.1 (port 0, the default, picks a free one). Try:
//   curl -T bigfile http://127.0.0.1:PORT/upload/big
// --self-check uploads 4 MiB chunked, in small pieces and with "Expect: 100-continue", to
// itself, checks the answer and the file, removes them and exits 0 (1 on failure).
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "brigade/fs.hpp"
#include "brigade/http/app.hpp"
#include "brigade/loop.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

uint32_t crc32_update(uint32_t crc, std::string_view bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

bool safe_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

// The upload handler: each piece is a view into the connection's buffer, written as it is.
Task<void> upload(const std::string& dir, http::Req& req, http::Res& res) {
  std::string name(req.param("name"));
  if (!safe_name(name)) {
    res.status(400).send("bad name\n");
    co_return;
  }
  auto opening = fs::open(dir + "/" + name, "w");
  fs::File file = co_await opening;
  uint64_t bytes = 0;
  uint32_t crc = 0;
  for (;;) {
    auto next = req.read_chunk();
    std::string_view piece = co_await next;
    if (piece.empty()) break;
    auto writing = file.write(piece);  // the view stays valid until the next read
    co_await writing;
    bytes += piece.size();
    crc = crc32_update(crc, piece);
  }
  auto closing = file.close();
  co_await closing;
  res.status(201).send(name + " " + std::to_string(bytes) + " " + std::to_string(crc) + "\n");
}

// ---- --self-check: a chunked upload over a raw connection ----------------------------------

std::string test_bytes(std::size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

Task<std::string> read_until(net::Stream& s, std::string& got, std::string_view until) {
  char buf[4096];
  while (got.find(until) == std::string::npos) {
    std::size_t n = co_await s.read(std::span<char>(buf, sizeof buf));
    if (n == 0) break;
    got.append(buf, n);
  }
  co_return got;
}

Task<int> self_check(Loop& loop, uint16_t port, const std::string& dir, const std::string& body,
                     const std::string& want) {
  auto connecting = net::connect(loop, "127.0.0.1", port);
  net::Stream s = co_await connecting;
  std::string head =
      "PUT /upload/selfcheck.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
      "Expect: 100-continue\r\nConnection: close\r\n\r\n";
  co_await s.write(head);
  std::string got;
  auto continued = read_until(s, got, "\r\n\r\n");
  co_await continued;
  bool ok = got.rfind("HTTP/1.1 100 Continue", 0) == 0;
  got.clear();
  char size[32];
  for (std::size_t at = 0; ok && at < body.size(); at += 8000) {
    std::string_view piece = std::string_view(body).substr(at, 8000);
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    std::string frame = size + std::string(piece) + "\r\n";
    co_await s.write(frame);
  }
  co_await s.write(std::string_view("0\r\n\r\n"));
  auto answered = read_until(s, got, "\n\n");  // our body ends with a newline; then EOF
  co_await answered;
  ok = ok && got.rfind("HTTP/1.1 201", 0) == 0 && got.find("\r\n\r\n" + want + "\n") != got.npos;
  std::string path = dir + "/selfcheck.bin";
  auto reading = fs::read_file(path);
  std::string stored = co_await reading;
  ok = ok && stored == body;
  auto removing = fs::unlink(path);
  co_await removing;
  std::printf("self-check: uploaded %zu bytes: %s\n", body.size(), ok ? "ok" : "FAILED");
  co_return ok ? 0 : 1;
}

int usage() {
  std::fprintf(stderr, "usage: http_upload [--port N] [--dir D] [--self-check]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  bool check = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--self-check") == 0) {
      check = true;
    } else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
      if (port < 0 || port > 65535) return usage();
    } else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else {
      return usage();
    }
  }
  std::string body, want;  // the self-check's upload, made before the loop starts
  if (check) {
    body = test_bytes(4 * 1024 * 1024);
    want = "selfcheck.bin " + std::to_string(body.size()) + " " +
           std::to_string(crc32_update(0, body));
  }
  try {
    Loop loop;
    bool own_dir = dir.empty();
    if (own_dir) dir = run(loop, fs::mkdtemp("/tmp/brigade-upload-"));
    http::App app;
    auto handler = [&dir](http::Req& req, http::Res& res) { return upload(dir, req, res); };
    app.put("/upload/:name", http::RouteOptions::stream(), handler);
    app.post("/upload/:name", http::RouteOptions::stream(), handler);
    http::Server server = app.listen(loop, "127.0.0.1", static_cast<uint16_t>(port));
    std::printf("upload to http://127.0.0.1:%u/upload/NAME (files in %s)\n", server.port(),
                dir.c_str());
    std::fflush(stdout);
    if (!check) {
      loop.run();
      return 0;
    }
    int rc = run(loop, self_check(loop, server.port(), dir, body, want));
    server.close();
    if (own_dir) run(loop, fs::rmdir(dir));
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http_upload: %s\n", e.what());
    return 1;
  }
}
