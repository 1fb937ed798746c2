// http::compression end to end with real clients: curl --compressed (gzip, deflate, br, zstd),
// Python (zlib, brotli, zstandard), Node's fetch; buffered, pooled, streamed, SSE and file
// bodies; the cases left alone (threshold, types, no-transform, HEAD, 204, 206, 304).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../../src/http/content_coding.hpp"
#include "brigade/http/compression.hpp"
#include "brigade/http/event_stream.hpp"
#include "brigade/http/static_files.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/tls/certificate.hpp"
#include "same_bytes.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace compression_e2e_test {

using testing::count_of;
using testing::RawClient;
using testing::run_command;
using testing::same_bytes;
using testing::TestServer;

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}
bool has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}
// Debian's python3: the brotli and zstandard modules come from its packages (install-deps).
std::string python() {
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

std::string text_of(std::size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of the answer\n";
  s.resize(n);
  return s;
}

nlohmann::json big_json() {  // ~100 KiB
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i)
    items.push_back({{"id", i},
                     {"name", "user " + std::to_string(i)},
                     {"active", i % 3 == 0},
                     {"email", "user" + std::to_string(i) + "@example.com"}});
  return {{"items", items}};
}

struct Fixture {
  std::string dir;
  std::string file_text = text_of(300 * 1024);
  // Streams wait after their first piece until the client says it decoded it (/release): the
  // n-th stream started goes on once /release was called n times.
  std::atomic<int> streams{0};
  std::atomic<int> releases{0};
  Fixture() {
    dir = std::string(BRIGADE_BINARY_DIR) + "/compression_e2e_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/big.txt") << file_text;
    std::ofstream(dir + "/tiny.txt") << "tiny";
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  void routes(App& app) {
    app.use(compression());
    app.get("/text", [](Req&, Res& res) { res.send(text_of(4096)); });
    app.get("/small", [](Req&, Res& res) { res.send(text_of(500)); });
    app.get("/json", [](Req&, Res& res) { res.json(big_json()); });
    app.get("/png", [](Req&, Res& res) { res.type("image/png").send(text_of(4096)); });
    app.get("/no-transform", [](Req&, Res& res) {
      res.set("Cache-Control", "public, no-transform").send(text_of(4096));
    });
    app.get("/pre-encoded", [](Req&, Res& res) {
      std::string gz;
      detail::compress_whole(Coding::kGzip, 6, text_of(4096), gz);
      res.type("text/plain").set("Content-Encoding", "gzip").send(gz);
    });
    app.get("/etag", [](Req&, Res& res) {
      res.set("ETag", "\"v1\"").set("Vary", "Origin").send(text_of(4096));
    });
    app.get("/empty", [](Req&, Res& res) { res.status(204).end(); });
    app.get("/stream", [this](Req&, Res& res) -> Task<void> {
      int mine = ++streams;
      res.type("text/plain");
      co_await res.write("first piece\n");
      while (releases < mine) co_await sleep(5);  // the client decoded the first piece
      co_await res.write(text_of(200 * 1024));    // one write past pool_threshold
      co_await res.write("last piece\n");
      res.end();
    });
    app.get("/release", [this](Req&, Res& res) {
      ++releases;
      res.send("ok");
    });
    app.get("/events", [this](Req&, Res& res) -> Task<void> {
      int mine = ++streams;
      EventStream events = res.event_stream({.heartbeat_ms = 0});
      co_await events.send("one", "tick", "1");
      while (releases < mine) co_await sleep(5);
      co_await events.send("two", "tick", "2");
    });
    app.get("/file", [this](Req& req, Res& res) -> Task<void> {
      std::string path = dir + "/" + std::string(req.query("name"));
      co_await res.send_file(std::move(path));
    });
    app.use("/static", serve_static(dir));
  }
};

// Headers and body of one curl call; `args` before the URL.
struct Answer {
  std::string head, body;
};
Answer curl(const TestServer& s, const std::string& args, std::string_view path) {
  std::string headers =
      std::string(BRIGADE_BINARY_DIR) + "/compression_curl_" + std::to_string(::getpid()) + ".head";
  int st = -1;
  Answer a;
  a.body = run_command("curl -s -D " + headers + " " + args + " '" + s.url(path) + "'", &st);
  EXPECT_EQ(st, 0) << args << " " << path;
  std::ifstream in(headers);
  a.head.assign(std::istreambuf_iterator<char>(in), {});
  std::remove(headers.c_str());
  return a;
}

TEST(CompressionE2E, CurlDecodesEveryCoding) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  Fixture f;
  TestServer s([&f](App& app) { f.routes(app); });
  std::string text = text_of(4096);
  std::string json = big_json().dump();
  for (std::string coding : {"gzip", "deflate", "br", "zstd"}) {
    SCOPED_TRACE(coding);
    std::string args = "--compressed -H 'Accept-Encoding: " + coding + "'";
    Answer a = curl(s, args, "/text");
    EXPECT_TRUE(same_bytes(a.body, text));
    EXPECT_TRUE(has(a.head, "Content-Encoding: " + coding + "\r\n")) << a.head;
    EXPECT_TRUE(has(a.head, "Vary: Accept-Encoding\r\n")) << a.head;
    EXPECT_FALSE(has(a.head, "Content-Length: 4096")) << a.head;
    Answer j = curl(s, args, "/json");  // 100 KiB: compressed on the pool
    EXPECT_TRUE(same_bytes(j.body, json));
    EXPECT_TRUE(has(j.head, "Content-Encoding: " + coding + "\r\n")) << j.head;
    Answer file = curl(s, args, "/file?name=big.txt");  // send_file: streamed through the encoder
    EXPECT_TRUE(same_bytes(file.body, f.file_text));
    EXPECT_TRUE(has(file.head, "Transfer-Encoding: chunked\r\n")) << file.head;
    EXPECT_TRUE(has(file.head, "ETag: W/\"")) << file.head;
    Answer statics = curl(s, args, "/static/big.txt");  // serve_static too
    EXPECT_TRUE(same_bytes(statics.body, f.file_text));
    EXPECT_TRUE(has(statics.head, "Content-Encoding: " + coding + "\r\n")) << statics.head;
  }
  // Plain --compressed: curl offers all it decodes; the server's order picks br.
  Answer a = curl(s, "--compressed", "/text");
  EXPECT_TRUE(same_bytes(a.body, text));
  EXPECT_TRUE(has(a.head, "Content-Encoding: br\r\n")) << a.head;
  // The coded size is what goes on the wire.
  std::string sizes = run_command(
      "curl -s -o /dev/null -w '%{size_download}' -H "
      "'Accept-Encoding: gzip' " +
      s.url("/json"));
  EXPECT_LT(std::stoul(sizes), json.size() / 4) << sizes;
}

TEST(CompressionE2E, WhatIsLeftAlone) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  Fixture f;
  TestServer s([&f](App& app) { f.routes(app); });
  const std::string gzip = "-H 'Accept-Encoding: gzip'";
  Answer none = curl(s, "", "/text");  // no Accept-Encoding: identity, but it varies
  EXPECT_TRUE(same_bytes(none.body, text_of(4096)));
  EXPECT_TRUE(has(none.head, "Content-Length: 4096\r\n")) << none.head;
  EXPECT_TRUE(has(none.head, "Vary: Accept-Encoding\r\n")) << none.head;
  Answer refused = curl(s, "-H 'Accept-Encoding: gzip;q=0, identity'", "/text");
  EXPECT_FALSE(has(refused.head, "Content-Encoding")) << refused.head;
  Answer small = curl(s, gzip, "/small");  // under the 1 KiB threshold
  EXPECT_TRUE(same_bytes(small.body, text_of(500)));
  EXPECT_FALSE(has(small.head, "Content-Encoding")) << small.head;
  EXPECT_TRUE(has(small.head, "Vary: Accept-Encoding\r\n")) << small.head;
  Answer png = curl(s, gzip, "/png");  // not a compressible type: not even Vary
  EXPECT_FALSE(has(png.head, "Content-Encoding")) << png.head;
  EXPECT_FALSE(has(png.head, "Vary")) << png.head;
  Answer nt = curl(s, gzip, "/no-transform");
  EXPECT_FALSE(has(nt.head, "Content-Encoding")) << nt.head;
  EXPECT_TRUE(has(nt.head, "Content-Length: 4096\r\n")) << nt.head;
  Answer pre = curl(s, "--compressed " + gzip, "/pre-encoded");  // once, not twice
  EXPECT_TRUE(same_bytes(pre.body, text_of(4096)));
  EXPECT_EQ(count_of(pre.head, "Content-Encoding"), 1) << pre.head;
  Answer etag = curl(s, gzip + " --compressed", "/etag");
  EXPECT_TRUE(has(etag.head, "ETag: W/\"v1\"\r\n")) << etag.head;
  EXPECT_TRUE(has(etag.head, "Vary: Origin\r\n")) << etag.head;  // kept, and one more
  EXPECT_EQ(count_of(etag.head, "Vary: Accept-Encoding\r\n"), 1) << etag.head;
  Answer head = curl(s, "-I " + gzip, "/text");  // HEAD: the identity length
  EXPECT_FALSE(has(head.head, "Content-Encoding")) << head.head;
  EXPECT_TRUE(has(head.head, "Content-Length: 4096\r\n")) << head.head;
  Answer empty = curl(s, gzip, "/empty");
  EXPECT_TRUE(has(empty.head, "204 No Content")) << empty.head;
  EXPECT_FALSE(has(empty.head, "Content-Encoding")) << empty.head;
  Answer tiny = curl(s, gzip, "/file?name=tiny.txt");  // a file's known length under threshold
  EXPECT_TRUE(same_bytes(tiny.body, "tiny"));
  EXPECT_TRUE(has(tiny.head, "Content-Length: 4\r\n")) << tiny.head;
  Answer range = curl(s, gzip + " -r 10-19", "/file?name=big.txt");  // 206: the bytes asked
  EXPECT_TRUE(has(range.head, "206 Partial Content")) << range.head;
  EXPECT_TRUE(same_bytes(range.body, f.file_text.substr(10, 10)));
  EXPECT_FALSE(has(range.head, "Content-Encoding")) << range.head;
  // The weak ETag a compressed file answer carries still validates: 304, not compressed.
  Answer full = curl(s, gzip + " --compressed", "/file?name=big.txt");
  std::size_t at = full.head.find("ETag: ");
  ASSERT_NE(at, std::string::npos) << full.head;
  std::string tag = full.head.substr(at + 6, full.head.find("\r\n", at) - at - 6);
  Answer cached = curl(s, gzip + " -H 'If-None-Match: " + tag + "'", "/file?name=big.txt");
  EXPECT_TRUE(has(cached.head, "304 Not Modified")) << cached.head;
  EXPECT_FALSE(has(cached.head, "Content-Encoding")) << cached.head;
}

TEST(CompressionE2E, PythonDecodesStreamsAsTheyComeAndSse) {
  Fixture f;
  TestServer s([&f](App& app) { f.routes(app); });
  if (std::system((python() + " -c 'import brotli, zstandard' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "python3-brotli / python3-zstandard not installed (scripts/install-deps.sh)";
  std::string script = R"(
import http.client, sys, zlib, gzip, brotli, zstandard, urllib.request
port = int(sys.argv[1])
def decoder(coding):
    if coding == 'gzip': return zlib.decompressobj(16 + 15).decompress
    if coding == 'deflate': return zlib.decompressobj(15).decompress
    if coding == 'br': return brotli.Decompressor().process
    if coding == 'zstd': return zstandard.ZstdDecompressor().decompressobj().decompress
def get(path, coding):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
    c.request('GET', path, headers={'Accept-Encoding': coding})
    return c, c.getresponse()
out = []
# Buffered: whole bodies.
for coding in ['gzip', 'deflate', 'br', 'zstd']:
    c, r = get('/json', coding)
    body = decoder(coding)(r.read())
    out.append('%s json %s %d' % (coding, r.getheader('Content-Encoding'), len(body)))
# Streamed: the first piece decodes before the server writes the next (it waits for /release).
for coding in ['gzip', 'br', 'zstd']:
    c, r = get('/stream', coding)
    dec = decoder(coding)
    seen = b''
    while b'first piece\n' not in seen:
        seen += dec(r.read1(65536))
    urllib.request.urlopen('http://127.0.0.1:%d/release' % port).read()
    while True:
        piece = r.read1(65536)
        if not piece: break
        seen += dec(piece)
    out.append('%s stream %s %d %s' % (coding, r.getheader('Content-Encoding'), len(seen),
                                      seen.endswith(b'last piece\n')))
# SSE through compression: each event arrives decoded on its own.
for coding in ['gzip', 'br']:
    c, r = get('/events', coding)
    dec = decoder(coding)
    seen = b''
    while b'data: one\n\n' not in seen:
        seen += dec(r.read1(65536))
    got_one_alone = b'two' not in seen
    urllib.request.urlopen('http://127.0.0.1:%d/release' % port).read()
    while b'data: two\n\n' not in seen:
        seen += dec(r.read1(65536))
    out.append('%s sse %s %s' % (coding, r.getheader('Content-Encoding'), got_one_alone))
print('\n'.join(out))
)";
  std::string file = std::string(BRIGADE_BINARY_DIR) + "/compression_e2e_client.py";
  std::ofstream(file) << script;
  int st = -1;
  std::string out = run_command(python() + " " + file + " " + std::to_string(s.port()), &st, 60);
  EXPECT_EQ(st, 0) << out;
  std::size_t json_size = big_json().dump().size();
  std::string stream_size = std::to_string(12 + 200 * 1024 + 11);
  std::string expected;
  for (std::string c : {"gzip", "deflate", "br", "zstd"})
    expected += c + " json " + c + " " + std::to_string(json_size) + "\n";
  for (std::string c : {"gzip", "br", "zstd"})
    expected += c + " stream " + c + " " + stream_size + " True\n";
  for (std::string c : {"gzip", "br"}) expected += c + " sse " + c + " True\n";
  EXPECT_EQ(out, expected);
}

TEST(CompressionE2E, NodeFetchDecodes) {
  if (!have("node")) GTEST_SKIP() << "node not installed";
  Fixture f;
  TestServer s([&f](App& app) { f.routes(app); });
  std::string script = R"(
const base = process.argv[2];
(async () => {
  const out = [];
  for (const coding of ['gzip', 'br', 'deflate']) {
    for (const path of ['/text', '/json', '/file?name=big.txt']) {
      const r = await fetch(base + path, { headers: { 'accept-encoding': coding } });
      const text = await r.text();
      out.push(`${coding} ${path} ${r.headers.get('content-encoding')} ${text.length}`);
    }
  }
  console.log(out.join('\n'));
})().catch((e) => { console.error(e); process.exit(1); });
)";
  std::string file = std::string(BRIGADE_BINARY_DIR) + "/compression_e2e_fetch.js";
  std::ofstream(file) << script;
  int st = -1;
  std::string out = run_command("node " + file + " " + s.url(""), &st, 60);
  EXPECT_EQ(st, 0) << out;
  std::string expected;
  for (std::string c : {"gzip", "br", "deflate"}) {
    expected += c + " /text " + c + " 4096\n";
    expected += c + " /json " + c + " " + std::to_string(big_json().dump().size()) + "\n";
    expected += c + " /file?name=big.txt " + c + " " + std::to_string(f.file_text.size()) + "\n";
  }
  EXPECT_EQ(out, expected);
}

// Over TLS the encoded pieces go through the session: a file, a buffered and a streamed body.
TEST(CompressionE2E, OverHttps) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  Fixture f;
  std::string cert = f.dir + "/cert.pem", key = f.dir + "/key.pem";
  tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  ServerOptions o;
  o.tls.emplace();
  o.tls->cert_file = cert;
  o.tls->key_file = key;
  f.releases = 1000;  // the stream does not wait here
  TestServer s([&f](App& app) { f.routes(app); }, o);
  std::string base = "https://127.0.0.1:" + std::to_string(s.port());
  for (std::string path : {"/file?name=big.txt", "/json", "/stream"}) {
    std::string headers = f.dir + "/https.head";
    int st = -1;
    std::string body = run_command(
        "curl -s --cacert " + cert + " --compressed -D " + headers + " '" + base + path + "'", &st);
    EXPECT_EQ(st, 0) << path;
    std::ifstream in(headers);
    std::string head((std::istreambuf_iterator<char>(in)), {});
    EXPECT_TRUE(has(head, "Content-Encoding: br\r\n")) << path << head;
    if (path.starts_with("/file")) {
      EXPECT_TRUE(same_bytes(body, f.file_text));
    } else if (path == "/json") {
      EXPECT_TRUE(same_bytes(body, big_json().dump()));
    } else {
      EXPECT_TRUE(body.ends_with("last piece\n")) << body.size();
    }
  }
}

// HTTP/1.0 has no chunks: the coded stream is close-delimited and its end still arrives.
TEST(CompressionE2E, Http10StreamEndsWithTheTrailer) {
  Fixture f;
  TestServer s([&f](App& app) { f.routes(app); });
  f.releases = 1000;  // no client-side wait here
  RawClient c(s.port(), 10000);
  ASSERT_TRUE(c.send("GET /stream HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n"));
  ASSERT_TRUE(c.read_to_eof());
  std::string& all = c.buffer();
  std::size_t end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_TRUE(has(all.substr(0, end), "Content-Encoding: gzip")) << all.substr(0, end);
  auto d = detail::Decoder::make(Coding::kGzip);
  std::string body;
  std::string_view in = std::string_view(all).substr(end + 4);
  while (!in.empty()) d->decode(in, body, 1 << 20);
  EXPECT_EQ(d->finish(), detail::Decoder::Status::kEnd) << d->error();
  EXPECT_TRUE(body.starts_with("first piece\n"));
  EXPECT_TRUE(body.ends_with("last piece\n"));
}

TEST(CompressionE2E, OptionsAreChecked) {
  CompressionOptions o;
  o.gzip_level = 0;
  EXPECT_THROW(compression(o), std::invalid_argument);
  o.gzip_level = 9;
  o.brotli_quality = 12;
  EXPECT_THROW(compression(o), std::invalid_argument);
  o.brotli_quality = 11;
  EXPECT_NO_THROW(compression(o));
}

}  // namespace compression_e2e_test
}  // namespace brigade::http
