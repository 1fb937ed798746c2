// Malformed and adversarial requests, each with the status the parser must stop with.
// Every case is also fed one byte per read: the verdict must not depend on the split.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parser_driver.hpp"

namespace brigade::http {
namespace {

using testing::run_bytewise;
using testing::run_whole;

struct BadCase {
  const char* name;
  std::string raw;
  int status;
};

std::string get(std::string fields) { return "GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n"; }
std::string chunked(std::string body) {
  return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
}
std::string s(const char* bytes, size_t n) { return std::string(bytes, n); }

const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> cases = {
      // request line
      {"double space before target", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"double space before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"non-token method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"method with slash", "GE/T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
      {"tab in target", "GET /\tx HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
      {"HTTP/3.1", "GET / HTTP/3.1\r\nHost: a\r\n\r\n", 505},
      {"two-digit minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
      {"lowercase protocol", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
      {"non-digit major", "GET / HTTP/x.1\r\nHost: a\r\n\r\n", 400},
      {"DEL in target", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"raw UTF-8 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"NUL in target", s("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 30), 400},
      {"method only", "GET\r\nHost: a\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: a\r\n\r\n", 400},
      {"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
      {"bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CONNECT with origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CONNECT with bad authority", "CONNECT a\"b:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"target without slash", "GET example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"absolute-form without scheme", "GET ://x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"leading bare CR", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"NUL method", s("\0 / HTTP/1.1\r\nHost: a\r\n\r\n", 26), 400},
      // field lines
      {"space before colon", get("Content-Type : text/plain\r\n"), 400},
      {"tab before colon", get("X\t: a\r\n"), 400},
      {"obs-fold", get("X: a\r\n b\r\n"), 400},
      {"obs-fold with tab", get("X: a\r\n\tb\r\n"), 400},
      {"whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
      {"no colon", get("Xyz\r\n"), 400},
      {"empty field name", get(": a\r\n"), 400},
      {"non-token field name", get("X(y): a\r\n"), 400},
      {"obs-text in field name", get("X\x80: a\r\n"), 400},
      {"NUL in value", get(s("X: a\0b\r\n", 8)), 400},
      {"bare CR in value", get("X: a\rb\r\n"), 400},
      {"control byte in value", get("X: a\x01z\r\n"), 400},
      {"DEL in value", get("X: a\x7f\r\n"), 400},
      {"vertical tab before value",
       get("Transfer-Encoding:\x0b"
           "chunked\r\n"),
       400},
      {"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"bare LF ends head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
      {"bare CR ends head", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},
      // Host
      {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
      {"two Host fields", get("Host: b\r\n"), 400},
      {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
      // Content-Length and Transfer-Encoding
      {"CL and TE", get("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400},
      {"TE and CL", get("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400},
      {"TE and CL, lowercase", get("transfer-encoding: chunked\r\ncontent-length: 0\r\n"), 400},
      {"CL twice, same value", get("Content-Length: 5\r\nContent-Length: 5\r\n"), 400},
      {"CL twice, different", get("Content-Length: 5\r\nContent-Length: 6\r\n"), 400},
      {"CL list", get("Content-Length: 5, 5\r\n"), 400},
      {"CL negative", get("Content-Length: -1\r\n"), 400},
      {"CL plus sign", get("Content-Length: +5\r\n"), 400},
      {"CL hex", get("Content-Length: 0x10\r\n"), 400},
      {"CL empty", get("Content-Length: \r\n"), 400},
      {"CL overflow", get("Content-Length: 99999999999999999999999\r\n"), 400},
      {"CL 2^64", get("Content-Length: 18446744073709551616\r\n"), 400},
      {"CL with junk", get("Content-Length: 5 x\r\n"), 400},
      {"CL with space before colon", get("Content-Length : 5\r\n"), 400},
      {"TE gzip only", get("Transfer-Encoding: gzip\r\n"), 400},
      {"TE chunked then gzip", get("Transfer-Encoding: chunked, gzip\r\n"), 400},
      {"TE gzip then chunked", get("Transfer-Encoding: gzip, chunked\r\n"), 501},
      {"TE gzip then chunked, two lines",
       get("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), 501},
      {"TE chunked twice", get("Transfer-Encoding: chunked, chunked\r\n"), 400},
      {"TE chunked on two lines",
       get("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400},
      {"TE chunked with parameter", get("Transfer-Encoding: chunked;q=1\r\n"), 400},
      {"TE identity", get("Transfer-Encoding: identity\r\n"), 400},
      {"TE empty", get("Transfer-Encoding: \r\n"), 400},
      {"TE xchunked", get("Transfer-Encoding: xchunked\r\n"), 400},
      {"TE quoted", get("Transfer-Encoding: \"chunked\"\r\n"), 400},
      {"TE with space before colon", get("Transfer-Encoding : chunked\r\n"), 400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      // chunked bodies
      {"chunk size not hex", chunked("g\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size empty", chunked("\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size negative", chunked("-5\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size 0x prefix", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size trailing space", chunked("5 \r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size leading space", chunked(" 5\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size overflow", chunked("10000000000000000\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk size NUL", chunked(s("5\0\r\nhello\r\n0\r\n\r\n", 17)), 400},
      {"chunk ext without name", chunked("5;\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk ext without value", chunked("5;a=\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk ext unterminated quote", chunked("5;a=\"x\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk ext two values", chunked("5;a=b c\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk ext trailing space", chunked("5;a \r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk ext control byte", chunked("5;a=\"x\x01\"\r\nhello\r\n0\r\n\r\n"), 400},
      {"chunk data too long", chunked("5\r\nhelloX\r\n0\r\n\r\n"), 400},
      {"chunk data bare LF", chunked("5\r\nhello\n0\r\n\r\n"), 400},
      {"chunk line bare LF", chunked("5\nhello\r\n0\r\n\r\n"), 400},
      {"last chunk bare LF", chunked("0\n\r\n"), 400},
      {"trailer obs-fold", chunked("0\r\nX: a\r\n b\r\n\r\n"), 400},
      {"trailer space before colon", chunked("0\r\nX : a\r\n\r\n"), 400},
      {"trailer bare LF", chunked("0\r\nX: a\n\r\n"), 400},
      {"trailers end with bare LF", chunked("0\r\n\n"), 400},
      {"trailer NUL", chunked(s("0\r\nX: \0\r\n\r\n", 11)), 400},
      // limits
      {"head too large", get("X: " + std::string(17000, 'a') + "\r\n"), 431},
      {"many small fields too large", get([] {
         std::string f;
         for (int i = 0; i < 90; ++i)
           f += "X-" + std::to_string(i) + ": " + std::string(200, 'v') + "\r\n";
         return f;
       }()),
       431},
      {"too many fields", get([] {
         std::string f;
         for (int i = 0; i < 100; ++i) f += "X: y\r\n";
         return f;
       }()),
       431},
      {"endless field line", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(20000, 'a'), 431},
      {"endless request line", "GET /" + std::string(20000, 'a'), 431},  // Node's verdict
      {"request line beyond the head's limit",
       "GET /" + std::string(17000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 431},
  };
  return cases;
}

TEST(HttpParserMalformed, EveryCaseStopsWithItsStatus) {
  ASSERT_GE(bad_cases().size(), 60u);
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    testing::Run whole = run_whole(c.raw);
    EXPECT_EQ(whole.error_status, c.status) << whole.transcript;
    EXPECT_EQ(whole.messages, 0) << whole.transcript;
    EXPECT_EQ(whole.bug, "") << whole.transcript;
    testing::Run bytewise = run_bytewise(c.raw);
    EXPECT_EQ(bytewise.transcript, whole.transcript);
  }
}

TEST(HttpParserMalformed, ErrorIsStickyAndConsumesNothing) {
  RequestParser parser;
  std::string bad = "GET / HTTP/1.1\r\nHost : a\r\n\r\n";
  ParseResult r = parser.parse(bad.data(), bad.size());
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_status, 400);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_FALSE(r.error_reason.empty());
  std::string good = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  r = parser.parse(good.data(), good.size());
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_status, 400);
  parser.reset();
  r = parser.parse(good.data(), good.size());
  EXPECT_EQ(r.status, ParseStatus::kHeadersComplete);
}

TEST(HttpParserMalformed, BodyErrorAfterHeadersStopsMidStream) {
  // The head is fine, so the server sees kHeadersComplete first; then the framing breaks.
  testing::Run run = run_whole(chunked("5\r\nhello\r\nzz\r\n"));
  EXPECT_NE(run.transcript.find("chunked=1"), std::string::npos);
  EXPECT_EQ(run.error_status, 400);
}

}  // namespace
}  // namespace brigade::http

namespace brigade::http {
namespace {

// Field values are checked eight bytes at a time: every bad byte at every position is caught,
// and HTAB and obs-text at every position pass.
TEST(HttpParserMalformed, ControlBytesAnywhereInALongValue) {
  std::vector<char> bad_bytes = {0x00, 0x01, 0x08, 0x0a, 0x0b, 0x0d, 0x1f, 0x7f};
  for (size_t at = 0; at < 24; ++at) {
    for (char c : bad_bytes) {
      std::string value(24, 'v');
      value[at] = c;
      testing::Run run = run_whole("GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "\r\n\r\n");
      EXPECT_EQ(run.error_status, 400) << "byte " << int(c) << " at " << at;
    }
    for (char c : {'\t', '\x80', '\xff', ' ', '~'}) {
      std::string value(24, 'v');
      value[at] = c;
      testing::Run run = run_whole("GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "\r\n\r\n");
      EXPECT_EQ(run.error_status, 0) << "byte " << int(c) << " at " << at;
    }
  }
}

}  // namespace
}  // namespace brigade::http
