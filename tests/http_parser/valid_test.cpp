// Well-formed requests: what the parser reports, and that no split of the bytes changes it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "brigade/http/parser.hpp"
#include "parser_driver.hpp"

namespace brigade::http {
namespace {

using testing::run_bytewise;
using testing::run_split;
using testing::run_whole;

// Parses one complete head given whole; the request stays valid while `raw` lives.
const Request& head_of(RequestParser& parser, const std::string& raw) {
  ParseResult r = parser.parse(raw.data(), raw.size());
  EXPECT_EQ(r.status, ParseStatus::kHeadersComplete) << r.error_reason;
  return parser.request();
}

const std::vector<std::string>& valid_inputs() {
  static const std::vector<std::string> inputs = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
      "\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value;q=\"a \\\"quoted\\\" x\"\r\nhello\r\n"
      "6 ; bws = 1\r\n world\r\n"
      "0\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n",
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: "
      "3\r\n\r\nabc"
      "GET /3 HTTP/1.0\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n\r\n\x81\x05hello",
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nTLS bytes",
      "PURGE /cache HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces:   padded\t \r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
      "chunked\r\n\r\n000A\r\n0123456789\r\n0\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /partial HTTP/1.1\r\nHo",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nonly5",
  };
  return inputs;
}

TEST(HttpParserValid, SimpleGet) {
  RequestParser parser;
  std::string raw = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  ParseResult r = parser.parse(raw.data(), raw.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadersComplete);
  EXPECT_EQ(r.consumed, raw.size());
  const Request& req = parser.request();
  EXPECT_EQ(req.method, Method::kGet);
  EXPECT_EQ(req.method_name, "GET");
  EXPECT_EQ(req.target, "/index.html");
  EXPECT_EQ(req.path, "/index.html");
  EXPECT_EQ(req.query, "");
  EXPECT_EQ(req.version_major, 1);
  EXPECT_EQ(req.version_minor, 1);
  ASSERT_EQ(req.headers.size(), 2u);
  EXPECT_EQ(req.headers[0].name, "Host");
  EXPECT_EQ(req.headers[0].value, "example.com");
  EXPECT_EQ(req.header("HOST"), "example.com");
  EXPECT_EQ(req.header("accept"), "*/*");
  EXPECT_TRUE(req.has_header("aCCept"));
  EXPECT_FALSE(req.has_header("Cookie"));
  EXPECT_TRUE(req.keep_alive);
  EXPECT_FALSE(req.chunked);
  EXPECT_FALSE(req.has_content_length);
  // Views point into the caller's bytes, not copies.
  EXPECT_GE(req.target.data(), raw.data());
  EXPECT_LT(req.target.data(), raw.data() + raw.size());
  r = parser.parse(raw.data() + raw.size(), 0);
  EXPECT_EQ(r.status, ParseStatus::kMessageComplete);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParserValid, MethodsAreEnumeratedOrKeptAsTokens) {
  struct Case {
    const char* name;
    Method method;
  } cases[] = {
      {"GET", Method::kGet},     {"HEAD", Method::kHead},      {"POST", Method::kPost},
      {"PUT", Method::kPut},     {"DELETE", Method::kDelete},  {"OPTIONS", Method::kOptions},
      {"TRACE", Method::kTrace}, {"PATCH", Method::kPatch},    {"PURGE", Method::kOther},
      {"get", Method::kOther},   {"M-SEARCH", Method::kOther}, {"X!#$%&'*+.^_`|~", Method::kOther}};
  for (const Case& c : cases) {
    RequestParser parser;
    std::string raw = std::string(c.name) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    const Request& req = head_of(parser, raw);
    EXPECT_EQ(req.method, c.method) << c.name;
    EXPECT_EQ(req.method_name, c.name);
  }
}

TEST(HttpParserValid, TargetForms) {
  RequestParser parser;
  std::string raw = "GET /p/a?x=1&y=%20?z HTTP/1.1\r\nHost: a\r\n\r\n";
  const Request& origin = head_of(parser, raw);
  EXPECT_EQ(origin.path, "/p/a");
  EXPECT_EQ(origin.query, "x=1&y=%20?z");

  RequestParser p2;
  std::string absolute =
      "GET https://example.com:8443/x/y?q=2 HTTP/1.1\r\nHost: example.com\r\n\r\n";
  const Request& abs = head_of(p2, absolute);
  EXPECT_EQ(abs.target, "https://example.com:8443/x/y?q=2");
  EXPECT_EQ(abs.path, "/x/y");
  EXPECT_EQ(abs.query, "q=2");

  RequestParser p3;
  std::string bare = "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n";
  EXPECT_EQ(head_of(p3, bare).path, "");

  RequestParser p4;
  std::string star = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(head_of(p4, star).path, "*");

  RequestParser p5;
  std::string connect = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
  const Request& c = head_of(p5, connect);
  EXPECT_EQ(c.method, Method::kConnect);
  EXPECT_EQ(c.path, "example.com:443");
}

TEST(HttpParserValid, KeepAliveDecision) {
  struct Case {
    std::string raw;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: TE\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: foo ,  Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
      {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", true},  // 1.x, x > 1: treated as 1.1
  };
  for (const Case& c : cases) {
    RequestParser parser;
    EXPECT_EQ(head_of(parser, c.raw).keep_alive, c.keep_alive) << c.raw;
  }
}

TEST(HttpParserValid, Http10NeedsNoHostAnd12NeedsOne) {
  RequestParser p10;
  std::string raw10 = "GET / HTTP/1.0\r\n\r\n";
  EXPECT_EQ(head_of(p10, raw10).version_minor, 0);
  testing::Run run = run_whole("GET / HTTP/1.2\r\n\r\n");
  EXPECT_EQ(run.error_status, 400);
}

TEST(HttpParserValid, ExpectContinueOnlyInHttp11) {
  RequestParser p;
  std::string raw =
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
  EXPECT_TRUE(head_of(p, raw).expect_continue);
  RequestParser p10;
  std::string raw10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
  EXPECT_FALSE(head_of(p10, raw10).expect_continue);
  RequestParser other;
  std::string raw_other = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n";
  EXPECT_FALSE(head_of(other, raw_other).expect_continue);
}

TEST(HttpParserValid, UpgradeStopsHttpParsing) {
  RequestParser parser;
  std::string raw =
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "\r\nFRAME";
  ParseResult r = parser.parse(raw.data(), raw.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadersComplete);
  EXPECT_TRUE(parser.request().upgrade);
  size_t off = r.consumed;
  r = parser.parse(raw.data() + off, raw.size() - off);
  EXPECT_EQ(r.status, ParseStatus::kMessageComplete);
  r = parser.parse(raw.data() + off, raw.size() - off);
  EXPECT_EQ(r.status, ParseStatus::kUpgraded);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(std::string_view(raw).substr(off), "FRAME");
  // A server that declines the upgrade keeps speaking HTTP.
  parser.reset();
  std::string next = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(parser.parse(next.data(), next.size()).status, ParseStatus::kHeadersComplete);
  EXPECT_FALSE(parser.request().upgrade);
}

TEST(HttpParserValid, UpgradeFieldWithoutConnectionOptionIsIgnored) {
  testing::Run run = run_whole(
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(run.messages, 2);
  EXPECT_NE(run.transcript.find("upgrade=0"), std::string::npos);
}

TEST(HttpParserValid, PartialHeadConsumesNothingAndSurvivesARelocatedBuffer) {
  RequestParser parser;
  std::string first = "GET /moved HTTP/1.1\r\nHost: a\r\nX-Lo";
  ParseResult r = parser.parse(first.data(), first.size());
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  // The server grew its buffer: the same bytes now live elsewhere, followed by new ones.
  std::string grown = first + "ng: value\r\n\r\n";
  first.assign(first.size(), '#');  // the old bytes are gone
  r = parser.parse(grown.data(), grown.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadersComplete);
  EXPECT_EQ(r.consumed, grown.size());
  EXPECT_EQ(parser.request().target, "/moved");
  EXPECT_EQ(parser.request().header("x-long"), "value");
}

TEST(HttpParserValid, EmptyLinesBeforeTheRequestLineAreConsumed) {
  RequestParser parser;
  std::string raw = "\r\n\r\nGET";
  ParseResult r = parser.parse(raw.data(), raw.size());
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 4u);
  std::string cr = "\r";
  r = parser.parse(cr.data(), cr.size());
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParserValid, ByteAtATimeHeadIsLinear) {
  // 15 KiB of fields one byte per call: a re-scan from the start each time would be ~10^8 steps.
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 60; ++i)
    raw += "X-" + std::to_string(i) + ": " + std::string(240, 'v') + "\r\n";
  raw += "\r\n";
  ASSERT_LT(raw.size(), 16u * 1024);
  RequestParser parser;
  ParseResult r;
  for (size_t n = 1; n <= raw.size(); ++n) {
    r = parser.parse(raw.data(), n);
    if (n < raw.size()) {
      ASSERT_EQ(r.status, ParseStatus::kNeedMore);
    }
  }
  EXPECT_EQ(r.status, ParseStatus::kHeadersComplete);
  EXPECT_EQ(parser.request().headers.size(), 61u);
}

TEST(HttpParserValid, EverySplitGivesTheSameTranscript) {
  for (const std::string& raw : valid_inputs()) {
    SCOPED_TRACE(raw);
    testing::Run whole = run_whole(raw);
    EXPECT_EQ(whole.error_status, 0) << whole.transcript;
    EXPECT_EQ(whole.bug, "") << whole.transcript;
    EXPECT_EQ(run_bytewise(raw).transcript, whole.transcript);
    for (size_t cut = 0; cut <= raw.size(); ++cut) {
      ASSERT_EQ(run_split(raw, cut).transcript, whole.transcript) << "cut at " << cut;
    }
  }
}

TEST(HttpParserValid, EveryThreeWaySplitOfAChunkedRequest) {
  std::string raw = valid_inputs()[4];
  std::string expected = run_whole(raw).transcript;
  for (size_t a = 0; a <= raw.size(); ++a) {
    for (size_t b = a; b <= raw.size(); ++b) {
      std::string_view v(raw);
      std::string got =
          testing::run_reads({v.substr(0, a), v.substr(a, b - a), v.substr(b)}).transcript;
      ASSERT_EQ(got, expected) << "cuts " << a << "," << b;
    }
  }
}

}  // namespace
}  // namespace brigade::http
