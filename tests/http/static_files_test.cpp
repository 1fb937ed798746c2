// serve_static, send_file and download, through curl: validators and 304, ranges (206, multipart,
// 416), HEAD, folders, traversal and symlinks, fallthrough, a 200 MiB file with flat memory.
#include "brigade/http/static_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../../src/http/byte_ranges.hpp"
#include "../../src/http/http_date.hpp"
#include "brigade/http/app.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace static_files_test {

namespace fs = std::filesystem;
using testing::run_command;
using testing::TestServer;

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// A temporary tree: public/ (served) and secret.txt beside it (must never be served).
struct Tree {
  fs::path dir;
  Tree() {
    char tmpl[] = "/tmp/brigade-static-XXXXXX";
    dir = ::mkdtemp(tmpl);
    fs::create_directories(dir / "public/sub");
    fs::create_directories(dir / "public/.git");
    write("public/index.html", "<h1>home</h1>\n");
    write("public/hello.txt", "0123456789abcdefghij");
    write("public/site.css", "body{}");
    write("public/sub/index.html", "sub index");
    write("public/page.html", "a page");
    write("public/.env", "SECRET=1");
    write("public/.git/config", "[core]");
    write("public/caf\xc3\xa9 menu.txt", "menu");
    write("secret.txt", "outside");
    fs::create_symlink(dir / "secret.txt", dir / "public/escape.txt");
    fs::create_symlink("hello.txt", dir / "public/alias.txt");
    fs::create_directory_symlink(dir, dir / "public/up");
  }
  ~Tree() { fs::remove_all(dir); }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(dir / rel, std::ios::binary) << text;
  }
  std::string pub() const { return (dir / "public").string(); }
};

struct Curl {
  std::string head;
  std::string body;
  int status = -1;
};

// curl --path-as-is: the path goes as written ("/../" and "%2e%2e" are not normalized away).
Curl curl(const TestServer& s, std::string_view path, const std::string& args = "") {
  char tmpl[] = "/tmp/brigade-static-body-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ::close(fd);
  Curl c;
  c.head = run_command(
      "curl -s --path-as-is -D - -o " + std::string(tmpl) + " " + args + " '" + s.url(path) + "'",
      &c.status);
  std::ifstream in(tmpl, std::ios::binary);
  c.body.assign(std::istreambuf_iterator<char>(in), {});
  ::unlink(tmpl);
  return c;
}

std::string header_value(const std::string& head, std::string_view name) {
  std::size_t at = head.find(std::string(name) + ": ");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return head.substr(at, head.find("\r\n", at) - at);
}

TEST(StaticFiles, ServesWithTypeValidatorsAndCaching) {
  Tree t;
  TestServer s([&](App& app) {
    StaticOptions o;
    o.file.max_age_s = 3600;
    app.use("/static", serve_static(t.pub(), o));
  });
  Curl c = curl(s, "/static/hello.txt");
  EXPECT_TRUE(has(c.head, "HTTP/1.1 200 OK")) << c.head;
  EXPECT_EQ(c.body, "0123456789abcdefghij");
  EXPECT_EQ(header_value(c.head, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header_value(c.head, "Content-Length"), "20");
  EXPECT_EQ(header_value(c.head, "Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(header_value(c.head, "Accept-Ranges"), "bytes");
  std::string etag = header_value(c.head, "ETag");
  std::string modified = header_value(c.head, "Last-Modified");
  ASSERT_FALSE(etag.empty());
  ASSERT_EQ(modified.size(), 29u) << modified;
  EXPECT_EQ(header_value(curl(s, "/static/site.css").head, "Content-Type"),
            "text/css; charset=utf-8");
  EXPECT_TRUE(has(curl(s, "/static/index.html").head, "text/html; charset=utf-8"));

  // Conditionals: a matching ETag or a date not older than the file: 304 with no body.
  Curl same = curl(s, "/static/hello.txt", "-H 'If-None-Match: W/" + etag + "'");
  EXPECT_TRUE(has(same.head, "HTTP/1.1 304 Not Modified")) << same.head;
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(header_value(same.head, "ETag"), etag);
  Curl since = curl(s, "/static/hello.txt", "-H 'If-Modified-Since: " + modified + "'");
  EXPECT_TRUE(has(since.head, "304 Not Modified")) << since.head;
  Curl old = curl(s, "/static/hello.txt", "-H 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT'");
  EXPECT_TRUE(has(old.head, "200 OK"));
  Curl other = curl(s, "/static/hello.txt", "-H 'If-None-Match: \"other\"'");
  EXPECT_TRUE(has(other.head, "200 OK"));
  Curl failed = curl(s, "/static/hello.txt", "-H 'If-Match: \"other\"'");
  EXPECT_TRUE(has(failed.head, "412 Precondition Failed")) << failed.head;

  // HEAD: the same head, no body.
  Curl head = curl(s, "/static/hello.txt", "-I");  // curl -I writes the head as its output
  EXPECT_TRUE(has(head.head, "200 OK"));
  EXPECT_EQ(header_value(head.head, "Content-Length"), "20");
  EXPECT_FALSE(has(head.body, "0123456789"));
}

TEST(StaticFiles, RangesSingleMultipleAndUnsatisfiable) {
  Tree t;
  TestServer s([&](App& app) { app.use(serve_static(t.pub())); });
  Curl one = curl(s, "/hello.txt", "-r 2-5");
  EXPECT_TRUE(has(one.head, "HTTP/1.1 206 Partial Content")) << one.head;
  EXPECT_EQ(one.body, "2345");
  EXPECT_EQ(header_value(one.head, "Content-Range"), "bytes 2-5/20");
  EXPECT_EQ(header_value(one.head, "Content-Length"), "4");
  EXPECT_EQ(curl(s, "/hello.txt", "-r -3").body, "hij");
  EXPECT_EQ(curl(s, "/hello.txt", "-r 18-").body, "ij");

  Curl two = curl(s, "/hello.txt", "-r 0-1,10-11");
  EXPECT_TRUE(has(two.head, "206 Partial Content"));
  std::string type = header_value(two.head, "Content-Type");
  ASSERT_TRUE(type.starts_with("multipart/byteranges; boundary=")) << type;
  std::string boundary = type.substr(type.find('=') + 1);
  EXPECT_EQ(std::to_string(two.body.size()), header_value(two.head, "Content-Length"));
  EXPECT_TRUE(has(two.body, "--" + boundary +
                                "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                "Content-Range: bytes 0-1/20\r\n\r\n01\r\n"));
  EXPECT_TRUE(has(two.body, "Content-Range: bytes 10-11/20\r\n\r\nab\r\n--" + boundary + "--"));
  // Overlapping pieces are merged: never more bytes than the file.
  Curl merged = curl(s, "/hello.txt", "-r 0-5,3-8");
  EXPECT_EQ(merged.body, "012345678");
  EXPECT_EQ(header_value(merged.head, "Content-Range"), "bytes 0-8/20");

  Curl beyond = curl(s, "/hello.txt", "-r 50-60");
  EXPECT_TRUE(has(beyond.head, "416 Range Not Satisfiable")) << beyond.head;
  EXPECT_EQ(header_value(beyond.head, "Content-Range"), "bytes */20");
  // A malformed header or another unit is ignored: the whole file.
  EXPECT_EQ(curl(s, "/hello.txt", "-H 'Range: bytes=5-2'").body.size(), 20u);
  EXPECT_EQ(curl(s, "/hello.txt", "-H 'Range: pages=1-2'").body.size(), 20u);
  // If-Range: the range only while the client's copy is this file.
  std::string etag = header_value(one.head, "ETag");
  Curl fresh = curl(s, "/hello.txt", "-r 0-0 -H 'If-Range: " + etag + "'");
  EXPECT_EQ(fresh.body, "0");
  Curl stale = curl(s, "/hello.txt", "-r 0-0 -H 'If-Range: \"stale\"'");
  EXPECT_TRUE(has(stale.head, "200 OK"));
  EXPECT_EQ(stale.body.size(), 20u);
}

TEST(StaticFiles, FoldersIndexRedirectAndFallthrough) {
  Tree t;
  TestServer s([&](App& app) {
    app.use("/static", serve_static(t.pub()));
    app.get("/static/dynamic", [](Req& req, Res& res) {
      res.send(std::string(req.base_url()) + "|" + std::string(req.relative_path()));
    });
    app.use("/mounted", [](Req& req, Res& res) {
      res.send(std::string(req.base_url()) + "|" + std::string(req.relative_path()));
    });
  });
  EXPECT_EQ(curl(s, "/static/").body, "<h1>home</h1>\n");
  EXPECT_EQ(curl(s, "/static/sub/").body, "sub index");
  Curl redirect = curl(s, "/static/sub?x=1");
  EXPECT_TRUE(has(redirect.head, "301 Moved Permanently")) << redirect.head;
  EXPECT_EQ(header_value(redirect.head, "Location"), "/static/sub/?x=1");
  // Missing files, other methods: the routes after the middleware answer.
  EXPECT_EQ(curl(s, "/static/dynamic").body, "|/static/dynamic");
  EXPECT_TRUE(has(curl(s, "/static/missing.txt").head, "404 Not Found"));
  EXPECT_TRUE(has(curl(s, "/static/hello.txt", "-X POST").head, "404"));
  EXPECT_EQ(curl(s, "/mounted/a/b").body, "/mounted|/a/b");
  EXPECT_EQ(curl(s, "/mounted").body, "/mounted|/");
  // Percent-decoded names, UTF-8 included.
  EXPECT_EQ(curl(s, "/static/caf%C3%A9%20menu.txt").body, "menu");
}

TEST(StaticFiles, ExtensionsAndNoFallthrough) {
  Tree t;
  TestServer s([&](App& app) {
    StaticOptions o;
    o.extensions = {"html"};
    o.fallthrough = false;
    app.use(serve_static(t.pub(), o));
    app.get("/late", [](Req&, Res& res) { res.send("never"); });
  });
  EXPECT_EQ(curl(s, "/page").body, "a page");
  Curl late = curl(s, "/late");
  EXPECT_TRUE(has(late.head, "404 Not Found"));
  Curl post = curl(s, "/page.html", "-X POST");
  EXPECT_TRUE(has(post.head, "405 Method Not Allowed")) << post.head;
  EXPECT_EQ(header_value(post.head, "Allow"), "GET, HEAD");
}

TEST(StaticFiles, NothingOutsideTheRootAndNoDotfiles) {
  Tree t;
  TestServer s([&](App& app) {
    app.use("/s", serve_static(t.pub()));
    app.use("/deny", serve_static(t.pub(), {.dotfiles = StaticOptions::Dotfiles::kDeny}));
  });
  for (std::string_view bad : {"/s/../secret.txt", "/s/%2e%2e/secret.txt",
                               "/s/sub/..%2f..%2fsecret.txt", "/s/%2E%2E%2Fsecret.txt"}) {
    Curl c = curl(s, bad);
    EXPECT_TRUE(has(c.head, "403 Forbidden")) << bad << "\n" << c.head;
    EXPECT_FALSE(has(c.body, "outside")) << bad;
  }
  Curl nul = curl(s, "/s/hello.txt%00.html");
  EXPECT_TRUE(has(nul.head, "400 Bad Request")) << nul.head;
  Curl malformed = curl(s, "/s/hello%zz.txt");
  EXPECT_TRUE(has(malformed.head, "400 Bad Request")) << malformed.head;
  // Symlinks: inside the root served; pointing out (a file or a folder) refused.
  EXPECT_EQ(curl(s, "/s/alias.txt").body, "0123456789abcdefghij");
  Curl escape = curl(s, "/s/escape.txt");
  EXPECT_TRUE(has(escape.head, "403 Forbidden")) << escape.head;
  EXPECT_FALSE(has(escape.body, "outside"));
  Curl up = curl(s, "/s/up/secret.txt");
  EXPECT_TRUE(has(up.head, "403 Forbidden")) << up.head;
  // Dotfiles: as missing by default, 403 when denied.
  EXPECT_TRUE(has(curl(s, "/s/.env").head, "404 Not Found"));
  EXPECT_TRUE(has(curl(s, "/s/.git/config").head, "404 Not Found"));
  EXPECT_TRUE(has(curl(s, "/deny/.env").head, "403 Forbidden"));
}

TEST(StaticFiles, SendFileAndDownload) {
  Tree t;
  std::string pub = t.pub();
  TestServer s([&](App& app) {
    app.get("/report", [pub](Req&, Res& res) -> Task<void> {
      Task<void> sending = res.download(pub + "/caf\xc3\xa9 menu.txt");
      co_await sending;
    });
    app.get("/named", [pub](Req&, Res& res) -> Task<void> {
      Task<void> sending = res.download(pub + "/hello.txt", "report 2026.txt");
      co_await sending;
    });
    app.get("/rooted/*", [pub](Req& req, Res& res) -> Task<void> {
      SendFileOptions o;
      o.root = pub;
      std::string rel(req.param("*"));
      Task<void> sending = res.send_file(rel, o);
      co_await sending;
    });
    app.get("/missing", [pub](Req&, Res& res) -> Task<void> {
      Task<void> sending = res.download(pub + "/nope.txt");
      co_await sending;
    });
  });
  Curl utf8 = curl(s, "/report");
  EXPECT_EQ(utf8.body, "menu");
  EXPECT_EQ(header_value(utf8.head, "Content-Disposition"),
            "attachment; filename=\"caf__ menu.txt\"; filename*=UTF-8''caf%C3%A9%20menu.txt");
  EXPECT_EQ(header_value(curl(s, "/named").head, "Content-Disposition"),
            "attachment; filename=\"report 2026.txt\"");
  EXPECT_EQ(curl(s, "/rooted/sub/index.html").body, "sub index");
  EXPECT_TRUE(has(curl(s, "/rooted/up/secret.txt").head, "403 Forbidden"));
  Curl missing = curl(s, "/missing");
  EXPECT_TRUE(has(missing.head, "404 Not Found"));
  EXPECT_FALSE(has(missing.head, "Content-Disposition"));
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// 200 MiB through sendfile: the server's memory stays where it was.
TEST(StaticFiles, TwoHundredMebibytesWithFlatMemory) {
  Tree t;
  constexpr off_t kSize = 200L << 20;
  {
    int fd = ::open((t.dir / "public/big.bin").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, kSize), 0);  // sparse: reads as zeros, costs no disk
    ASSERT_EQ(::pwrite(fd, "end", 3, kSize - 3), 3);
    ::close(fd);
  }
  TestServer s([&](App& app) { app.use(serve_static(t.pub())); });
  curl(s, "/hello.txt");  // warm: the pool thread and the connection's buffers exist
  long before = rss_kib();
  int st = -1;
  std::string got = run_command(
      "curl -s -o /dev/null -w '%{http_code} %{size_download}' " + s.url("/big.bin"), &st, 120);
  long after = rss_kib();
  EXPECT_EQ(st, 0);
  EXPECT_EQ(got, "200 " + std::to_string(kSize));
  EXPECT_LT(after - before, 16 * 1024) << "RSS grew from " << before << " to " << after << " KiB";
  EXPECT_EQ(curl(s, "/big.bin", "-r -3").body, "end");
}

TEST(ByteRanges, ParsesAndMerges) {
  std::vector<detail::ByteRange> r;
  using detail::RangeAnswer;
  EXPECT_EQ(detail::parse_byte_ranges("bytes=0-0", 10, r), RangeAnswer::kPartial);
  EXPECT_EQ(r[0].first, 0u);
  EXPECT_EQ(r[0].last, 0u);
  EXPECT_EQ(detail::parse_byte_ranges("bytes=-100", 10, r), RangeAnswer::kPartial);
  EXPECT_EQ(r[0].first, 0u);
  EXPECT_EQ(r[0].last, 9u);
  EXPECT_EQ(detail::parse_byte_ranges("Bytes = 5- , ,8-9", 10, r), RangeAnswer::kPartial);
  ASSERT_EQ(r.size(), 1u);  // 5-9 and 8-9 merge
  EXPECT_EQ(r[0].last, 9u);
  EXPECT_EQ(detail::parse_byte_ranges("bytes=0-1,3-4", 10, r), RangeAnswer::kPartial);
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(detail::parse_byte_ranges("bytes=0-1,2-3", 10, r), RangeAnswer::kPartial);
  EXPECT_EQ(r.size(), 1u);  // adjacent: one piece
  EXPECT_EQ(detail::parse_byte_ranges("bytes=10-", 10, r), RangeAnswer::kUnsatisfiable);
  EXPECT_EQ(detail::parse_byte_ranges("bytes=-0", 10, r), RangeAnswer::kUnsatisfiable);
  EXPECT_EQ(detail::parse_byte_ranges("bytes=0-", 0, r), RangeAnswer::kUnsatisfiable);
  for (std::string_view bad : {"bytes=", "bytes=a-b", "bytes=3-1", "bytes=1", "bytes=+1-2",
                               "items=0-1", "bytes=0-99999999999999999999", ""})
    EXPECT_EQ(detail::parse_byte_ranges(bad, 10, r), RangeAnswer::kWhole) << bad;
  std::string many = "bytes=";
  for (int i = 0; i < 17; ++i) many += std::to_string(i * 2) + "-" + std::to_string(i * 2) + ",";
  EXPECT_EQ(detail::parse_byte_ranges(many, 100, r), RangeAnswer::kWhole);
}

TEST(HttpDate, FormatsAndParsesTheThreeForms) {
  char out[detail::kHttpDateLength];
  detail::format_http_date(784111777, out);
  EXPECT_EQ(std::string_view(out, sizeof out), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(detail::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(detail::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(detail::parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(detail::parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(detail::parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"), 1835438400);
  for (std::string_view bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC",
                               "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                               "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMTx"})
    EXPECT_FALSE(detail::parse_http_date(bad).has_value()) << bad;
}

}  // namespace static_files_test
}  // namespace brigade::http
