// Streamed request bodies (RouteOptions::stream()): the handler runs at the head and pulls the
// body as it arrives; backpressure, 100-continue, early answers, limits, failures, real clients.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "brigade/error.hpp"
#include "brigade/task/sleep.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace {

using testing::count_of;
using testing::RawClient;
using testing::run_command;
using testing::TestServer;

// CRC-32 (zlib's), order-sensitive: Python's zlib.crc32 checks the same bytes.
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

// Deterministic, non-repeating-looking body bytes.
std::string make_body(std::size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

std::string hash_answer(uint64_t n, uint32_t crc) {
  return std::to_string(n) + " " + std::to_string(crc);
}

std::string chunked(std::string_view body, std::size_t piece) {
  std::string out;
  char size[32];
  for (std::size_t at = 0; at < body.size(); at += piece) {
    std::string_view p = body.substr(at, piece);
    std::snprintf(size, sizeof size, "%zx;ext=1\r\n", p.size());
    out += size;
    out += p;
    out += "\r\n";
  }
  return out + "0\r\nX-Trailer: t\r\n\r\n";
}

// What the handlers saw (written on the loop thread, read by the test after an answer).
struct Seen {
  std::atomic<int> reads{0};
  std::atomic<int> error{0};
  std::atomic<bool> reading{false};  // set just before a handler's first read
  std::atomic<uint64_t> buffered_while_paused{~0ull};
  std::atomic<int> handler_runs{0};
  std::atomic<bool> release{false};  // lets /slow go on reading
};
Seen g_seen;

Task<void> hash_with_chunks(Req& req, Res& res) {
  uint64_t n = 0;
  uint32_t crc = 0;
  int reads = 0;
  for (;;) {
    auto next = req.read_chunk();
    std::string_view piece = co_await next;
    if (piece.empty()) break;
    ++reads;
    n += piece.size();
    crc = crc32_update(crc, piece);
  }
  g_seen.reads = reads;
  res.send(hash_answer(n, crc));
}

void add_stream_routes(App& app) {
  app.get("/", [](Req&, Res& res) { res.send("hello"); });
  app.post("/echo", [](Req& req, Res& res) { res.send(req.body()); });
  app.route("", "/hash", RouteOptions::stream(), hash_with_chunks);
  // read(span) with a small buffer: copies, in order.
  app.post("/hash-copy", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    char buf[1000];
    uint64_t n = 0;
    uint32_t crc = 0;
    for (;;) {
      auto next = req.read(std::span<char>(buf));
      std::size_t got = co_await next;
      if (got == 0) break;
      n += got;
      crc = crc32_update(crc, std::string_view(buf, got));
    }
    res.send(hash_answer(n, crc));
  });
  // Answers after the first piece (streamed response), then hashes the rest.
  app.post("/progress", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    auto first = req.read_chunk();
    std::string_view piece = co_await first;
    uint64_t n = piece.size();
    uint32_t crc = crc32_update(0, piece);
    std::string line = "first " + std::to_string(n) + "\n";
    co_await res.write(line);
    for (;;) {
      auto next = req.read_chunk();
      piece = co_await next;
      if (piece.empty()) break;
      n += piece.size();
      crc = crc32_update(crc, piece);
    }
    line = "total " + hash_answer(n, crc) + "\n";
    co_await res.write(line);
    res.end();
  });
  // Reads one piece, stalls, notes what the server holds, then reads the rest.
  app.post("/slow", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    auto first = req.read_chunk();
    uint64_t n = (co_await first).size();
    while (!g_seen.release) co_await sleep(10);
    g_seen.buffered_while_paused = req.body_buffered();
    char buf[16 * 1024];
    for (;;) {
      auto next = req.read(std::span<char>(buf));
      std::size_t got = co_await next;
      if (got == 0) break;
      n += got;
    }
    res.send(std::to_string(n));
  });
  // Rejects without reading when asked to; reads everything otherwise.
  app.put("/guarded", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    ++g_seen.handler_runs;
    if (req.has_header("X-Reject")) {
      res.status(401).send("no");
      co_return;
    }
    co_await sleep(50);
    g_seen.reading = true;
    std::string all = co_await req.read_all();
    res.send(std::to_string(all.size()));
  });
  app.post("/early", RouteOptions::stream(), [](Req&, Res& res) { res.send("early"); });
  // The read API on a buffered body: it hands out body().
  app.post("/buffered-read", [](Req& req, Res& res) -> Task<void> {
    char two[2];
    auto first = req.read(std::span<char>(two));
    std::size_t n = co_await first;
    std::string rest = co_await req.read_all();
    res.send(std::string(two, n) + "|" + rest + "|" + std::to_string(req.streamed()));
  });
  app.post("/limited", RouteOptions::stream(1000), [](Req& req, Res& res) -> Task<void> {
    ++g_seen.handler_runs;
    std::string all = co_await req.read_all();
    res.send(std::to_string(all.size()));
  });
  app.post("/watch", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    g_seen.error = 0;
    try {
      for (;;) {
        auto next = req.read_chunk();
        if ((co_await next).empty()) break;
      }
    } catch (const Error& e) {
      g_seen.error = e.errno_value();
      throw;
    }
    res.send("done");
  });
  app.post("/throw", RouteOptions::stream(), [](Req& req, Res&) -> Task<void> {
    auto next = req.read_chunk();
    co_await next;
    throw std::runtime_error("mid-body");
  });
}

std::string head(std::string_view method, std::string_view path, std::string_view extra) {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) + "\r\n";
}

// Sends `bytes` in pieces of `piece` bytes.
bool send_in_pieces(RawClient& c, std::string_view bytes, std::size_t piece) {
  for (std::size_t at = 0; at < bytes.size(); at += piece)
    if (!c.send(bytes.substr(at, piece))) return false;
  return true;
}

std::string body_of(const std::string& response) {
  std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

TEST(StreamedBody, ContentLengthUploadInSmallPieces) {
  TestServer server(add_stream_routes);
  std::string body = make_body(4 * 1024 * 1024 + 17);
  RawClient c(server.port(), 10000);
  ASSERT_TRUE(
      c.send(head("POST", "/hash", "Content-Length: " + std::to_string(body.size()) + "\r\n")));
  ASSERT_TRUE(send_in_pieces(c, body, 1500));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), hash_answer(body.size(), crc32_update(0, body)));
  EXPECT_GT(g_seen.reads.load(), 10);  // pieces as they came, not one buffered body
  // The connection stays usable.
  c.buffer().clear();
  ASSERT_TRUE(c.send(head("GET", "/", "")));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), "hello");
}

TEST(StreamedBody, ChunkedUploadDecodedInOrder) {
  TestServer server(add_stream_routes);
  std::string body = make_body(3 * 1024 * 1024 + 5, 7);
  std::string wire = chunked(body, 7000);
  for (const char* path : {"/hash", "/hash-copy"}) {
    RawClient c(server.port(), 10000);
    ASSERT_TRUE(c.send(head("POST", path, "Transfer-Encoding: chunked\r\n")));
    ASSERT_TRUE(send_in_pieces(c, wire, 999));  // framing split anywhere
    ASSERT_TRUE(c.read_responses(1)) << path;
    EXPECT_EQ(body_of(c.buffer()), hash_answer(body.size(), crc32_update(0, body))) << path;
  }
}

TEST(StreamedBody, HandlerAnswersBeforeTheBodyIsComplete) {
  TestServer server(add_stream_routes);
  std::string body = make_body(2 * 1024 * 1024, 3);
  RawClient c(server.port(), 5000);
  ASSERT_TRUE(
      c.send(head("POST", "/progress", "Content-Length: " + std::to_string(body.size()) + "\r\n")));
  ASSERT_TRUE(c.send(std::string_view(body).substr(0, 1000)));
  // The rest is held back until the handler has answered about the first piece.
  ASSERT_TRUE(c.read_until("first 1000\n"));
  EXPECT_NE(c.buffer().find("Transfer-Encoding: chunked"), std::string::npos);
  ASSERT_TRUE(send_in_pieces(c, std::string_view(body).substr(1000), 4096));
  std::string total = "total " + hash_answer(body.size(), crc32_update(0, body)) + "\n";
  ASSERT_TRUE(c.read_until("0\r\n\r\n"));
  EXPECT_NE(c.buffer().find(total), std::string::npos);
}

// A non-blocking send loop: what the client can push until the socket stays full for `quiet_ms`.
std::size_t push_until_blocked(int fd, std::string_view data, int quiet_ms) {
  std::size_t sent = 0;
  auto last = std::chrono::steady_clock::now();
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, std::min<std::size_t>(data.size() - sent, 65536),
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      last = std::chrono::steady_clock::now();
      continue;
    }
    if (std::chrono::steady_clock::now() - last > std::chrono::milliseconds(quiet_ms)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return sent;
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(StreamedBody, BackpressureStopsReadingTheSocket) {
  TestServer server(add_stream_routes);
  g_seen.buffered_while_paused = ~0ull;
  g_seen.release = false;
  const std::size_t total = 64u * 1024 * 1024;
  std::string body = make_body(total, 9);
  long rss_before = rss_kib();
  RawClient c(server.port(), 20000);
  ASSERT_TRUE(c.send(head("POST", "/slow", "Content-Length: " + std::to_string(total) + "\r\n")));
  // While the handler sleeps, the client can only fill the kernel's socket buffers.
  std::size_t sent = push_until_blocked(c.fd(), body, 300);
  long rss_paused = rss_kib();
  g_seen.release = true;
  EXPECT_LT(sent, total / 2) << "the server kept reading a body nobody read";
  ASSERT_TRUE(c.send(std::string_view(body).substr(sent)));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), std::to_string(total));
  // The server held at most its connection buffer (head + 16 KiB) for the stalled body.
  EXPECT_LE(g_seen.buffered_while_paused.load(), 64u * 1024);
  EXPECT_LT(rss_paused - rss_before, 32 * 1024) << "KiB of RSS while the handler did not read";
}

TEST(StreamedBody, ContinueIsSentOnlyWhenTheHandlerReads) {
  TestServer server(add_stream_routes);
  {  // Rejected without reading: no 100, the answer closes (the client may never send the body).
    RawClient c(server.port());
    ASSERT_TRUE(c.send(head("PUT", "/guarded",
                            "Content-Length: 5000\r\nExpect: 100-continue\r\nX-Reject: 1\r\n")));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_EQ(c.buffer().find("HTTP/1.1 100"), std::string::npos) << c.buffer();
    EXPECT_EQ(c.buffer().rfind("HTTP/1.1 401", 0), 0u) << c.buffer();
    EXPECT_NE(c.buffer().find("Connection: close"), std::string::npos);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // Read: the 100 comes once the handler reads, then the body goes.
    g_seen.reading = false;
    RawClient c(server.port());
    ASSERT_TRUE(
        c.send(head("PUT", "/guarded", "Content-Length: 5000\r\nExpect: 100-continue\r\n")));
    ASSERT_TRUE(c.read_until("\r\n\r\n"));
    EXPECT_EQ(c.buffer(), "HTTP/1.1 100 Continue\r\n\r\n");
    EXPECT_TRUE(g_seen.reading.load());  // not before the handler's first read
    c.buffer().clear();
    ASSERT_TRUE(c.send(std::string(5000, 'b')));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_EQ(body_of(c.buffer()), "5000");
    EXPECT_EQ(c.buffer().find("Connection: close"), std::string::npos);
  }
}

TEST(StreamedBody, EarlyAnswerSkipsTheBodyAndKeepsPipelining) {
  TestServer server(add_stream_routes);
  std::string body = make_body(100000, 4);
  std::string cl = head("POST", "/early", "Content-Length: 100000\r\n") + body;
  std::string ch = head("POST", "/early", "Transfer-Encoding: chunked\r\n") + chunked(body, 3000);
  RawClient c(server.port());
  // Two unread bodies, each followed at once by a pipelined request; sent in odd pieces.
  std::string wire = cl + head("GET", "/", "") + ch + head("GET", "/", "");
  ASSERT_TRUE(send_in_pieces(c, wire, 777));
  ASSERT_TRUE(c.read_responses(4));
  EXPECT_EQ(count_of(c.buffer(), "\r\n\r\nearly"), 2);
  EXPECT_EQ(count_of(c.buffer(), "\r\n\r\nhello"), 2);
  EXPECT_EQ(count_of(c.buffer(), "Connection: close"), 0);
  EXPECT_EQ(c.buffer().find("400"), std::string::npos);
}

TEST(StreamedBody, EarlyAnswerBeforeAHugeBodyCloses) {
  TestServer server(add_stream_routes);
  RawClient c(server.port());
  ASSERT_TRUE(c.send(head("POST", "/early", "Content-Length: 100000000\r\n")));
  ASSERT_TRUE(c.send(std::string(4096, 'x')));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), "early");
  EXPECT_TRUE(c.closed_by_peer());  // the rest is not read for nothing
}

TEST(StreamedBody, LimitsOfAStreamRoute) {
  TestServer server(add_stream_routes);
  g_seen.handler_runs = 0;
  {  // Declared too large: 413 at the head, the handler never runs.
    RawClient c(server.port());
    ASSERT_TRUE(c.send(head("POST", "/limited", "Content-Length: 5000\r\n")));
    ASSERT_TRUE(c.read_until("\r\n\r\n"));
    EXPECT_EQ(c.buffer().rfind("HTTP/1.1 413", 0), 0u) << c.buffer();
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_EQ(g_seen.handler_runs.load(), 0);
  }
  {  // Chunked past the limit: the read fails and the server answers 413.
    RawClient c(server.port());
    ASSERT_TRUE(c.send(head("POST", "/limited", "Transfer-Encoding: chunked\r\n") +
                       chunked(std::string(3000, 'y'), 500)));
    ASSERT_TRUE(c.read_until("\r\n\r\n"));
    EXPECT_EQ(c.buffer().rfind("HTTP/1.1 413", 0), 0u) << c.buffer();
    EXPECT_TRUE(c.closed_by_peer());
  }
  {  // Within: fine.
    RawClient c(server.port());
    ASSERT_TRUE(
        c.send(head("POST", "/limited", "Content-Length: 1000\r\n") + std::string(1000, 'z')));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_EQ(body_of(c.buffer()), "1000");
  }
}

TEST(StreamedBody, BufferedRoutesKeepTheServerLimitWhenStreamingIsOn) {
  ServerOptions o;
  o.max_body_size = 1000;
  TestServer server(add_stream_routes, o);
  {
    RawClient c(server.port());
    ASSERT_TRUE(c.send(head("POST", "/echo", "Content-Length: 5000\r\n")));
    ASSERT_TRUE(c.read_until("\r\n\r\n"));
    EXPECT_EQ(c.buffer().rfind("HTTP/1.1 413", 0), 0u);
  }
  {
    RawClient c(server.port());
    ASSERT_TRUE(c.send(head("POST", "/echo", "Transfer-Encoding: chunked\r\n") +
                       chunked(std::string(2000, 'q'), 100)));
    ASSERT_TRUE(c.read_until("\r\n\r\n"));
    EXPECT_EQ(c.buffer().rfind("HTTP/1.1 413", 0), 0u);
  }
  {  // The stream route is not bound by it.
    RawClient c(server.port());
    std::string body = make_body(50000);
    ASSERT_TRUE(c.send(head("POST", "/hash", "Content-Length: 50000\r\n") + body +
                       head("POST", "/echo", "Content-Length: 3\r\n") + "abc"));
    ASSERT_TRUE(c.read_responses(2));
    EXPECT_NE(c.buffer().find(hash_answer(body.size(), crc32_update(0, body))), std::string::npos);
    EXPECT_NE(c.buffer().find("\r\n\r\nabc"), std::string::npos);
  }
}

TEST(StreamedBody, ReadApiWorksOnBufferedBodies) {
  TestServer server(add_stream_routes);
  RawClient c(server.port());
  ASSERT_TRUE(c.send(head("POST", "/buffered-read", "Content-Length: 6\r\n") + "abcdef"));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), "ab|cdef|0");
}

TEST(StreamedBody, ClientDisconnectFailsThePendingRead) {
  TestServer server(add_stream_routes);
  g_seen.error = -1;
  {
    RawClient c(server.port());
    ASSERT_TRUE(
        c.send(head("POST", "/watch", "Content-Length: 100000\r\n") + std::string(1000, 'a')));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // closed mid-body
  for (int i = 0; i < 200 && g_seen.error.load() <= 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(g_seen.error.load(), ECONNRESET);
  // The server is healthy and the aborted request is not in flight any more.
  RawClient c(server.port());
  ASSERT_TRUE(c.send(head("GET", "/", "")));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), "hello");
  ServerStats st = server.stats();
  EXPECT_EQ(st.active_requests, 0u);
  EXPECT_EQ(st.connections, 1u);
}

TEST(StreamedBody, HandlerThrowingMidBodyGets500AndClose) {
  TestServer server(add_stream_routes);
  RawClient c(server.port());
  ASSERT_TRUE(
      c.send(head("POST", "/throw", "Content-Length: 100000\r\n") + std::string(2000, 'a')));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(c.buffer().rfind("HTTP/1.1 500", 0), 0u) << c.buffer();
  EXPECT_NE(c.buffer().find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(StreamedBody, RequestTimeoutFailsASlowBody) {
  ServerOptions o;
  o.request_timeout_ms = 300;
  TestServer server(add_stream_routes, o);
  g_seen.error = -1;
  RawClient c(server.port());
  ASSERT_TRUE(c.send(head("POST", "/watch", "Content-Length: 100000\r\n") + std::string(10, 'a')));
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  EXPECT_EQ(c.buffer().rfind("HTTP/1.1 408", 0), 0u) << c.buffer();
  EXPECT_TRUE(c.closed_by_peer());
  for (int i = 0; i < 200 && g_seen.error.load() <= 0; ++i)  // the handler resumes on its loop
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(g_seen.error.load(), ETIMEDOUT);
  EXPECT_EQ(server.stats().timeouts, 1u);
}

// ---- Real clients ----------------------------------------------------------------------------

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& bytes) {
    char name[] = "/tmp/brigade_upload_XXXXXX";
    int fd = ::mkstemp(name);
    path = name;
    std::size_t at = 0;
    while (at < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

TEST(StreamedBody, CurlUploadsEndToEnd) {
  TestServer server(add_stream_routes);
  std::string body = make_body(8 * 1024 * 1024 + 3, 11);
  std::string want = hash_answer(body.size(), crc32_update(0, body));
  TempFile file(body);
  int status = -1;
  std::string out =
      run_command("curl -sS --data-binary @" + file.path + " " + server.url("/hash"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, want) << "--data-binary";
  // -T: PUT, with "Expect: 100-continue" for a file this size.
  out = run_command("curl -sS -T " + file.path + " " + server.url("/hash"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, want) << "-T";
  out = run_command("curl -sS -H 'Transfer-Encoding: chunked' --data-binary @" + file.path + " " +
                        server.url("/hash-copy"),
                    &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, want) << "chunked";
}

TEST(StreamedBody, PythonChunkedUpload) {
  TestServer server(add_stream_routes);
  std::string script =
      "import http.client, zlib\n"
      "data = bytes((i * 7 + i // 251) % 256 for i in range(3 * 1024 * 1024 + 11))\n"
      "def pieces():\n"
      "    for at in range(0, len(data), 8191):\n"
      "        yield data[at:at + 8191]\n"
      "c = http.client.HTTPConnection('127.0.0.1', " +
      std::to_string(server.port()) +
      ", timeout=20)\n"
      "c.request('POST', '/hash', body=pieces(), encode_chunked=True,\n"
      "          headers={'Transfer-Encoding': 'chunked'})\n"
      "r = c.getresponse()\n"
      "got = r.read().decode()\n"
      "want = '%d %d' % (len(data), zlib.crc32(data))\n"
      "print('ok' if r.status == 200 and got == want else 'bad %s %s' % (got, want))\n";
  TempFile py(script);
  int status = -1;
  std::string out = run_command("python3 " + py.path, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "ok\n");
}

}  // namespace
}  // namespace brigade::http
