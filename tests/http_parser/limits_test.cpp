// Limits: request line (414), head size and field count (431), body size (413).
#include <gtest/gtest.h>

#include <string>

#include "parser_driver.hpp"

namespace brigade::http {
namespace {

using testing::run_bytewise;
using testing::run_whole;

std::string line_of(size_t target_length) {
  return "GET /" + std::string(target_length - 1, 'a') + " HTTP/1.1\r\n";
}

TEST(HttpParserLimits, RequestLineExactlyAtTheLimitPasses) {
  ParserLimits limits;
  limits.max_request_line = 100;
  std::string at = line_of(100 - 13) + "Host: a\r\n\r\n";  // "GET " + target + " HTTP/1.1"
  ASSERT_EQ(at.find('\r'), 100u);
  EXPECT_EQ(run_whole(at, limits).error_status, 0);
  EXPECT_EQ(run_bytewise(at, limits).error_status, 0);
  std::string over = line_of(101 - 13) + "Host: a\r\n\r\n";
  EXPECT_EQ(run_whole(over, limits).error_status, 414);
  EXPECT_EQ(run_bytewise(over, limits).error_status, 414);
}

TEST(HttpParserLimits, HeadExactlyAtTheLimitPasses) {
  std::string base = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  ParserLimits limits;
  limits.max_head_bytes = 200;
  std::string at = base + std::string(200 - base.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(at.size(), 200u);
  EXPECT_EQ(run_whole(at, limits).error_status, 0);
  EXPECT_EQ(run_bytewise(at, limits).error_status, 0);
  std::string over = base + std::string(200 - base.size() - 3, 'v') + "\r\n\r\n";
  EXPECT_EQ(run_whole(over, limits).error_status, 431);
  EXPECT_EQ(run_bytewise(over, limits).error_status, 431);
}

TEST(HttpParserLimits, DefaultHeadLimitIs16KiB) {
  std::string base = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  std::string at = base + std::string(16384 - base.size() - 4, 'v') + "\r\n\r\n";
  EXPECT_EQ(run_whole(at).error_status, 0);
  EXPECT_EQ(run_whole(base + std::string(16384, 'v') + "\r\n\r\n").error_status, 431);
}

TEST(HttpParserLimits, FieldCountIsConfigurable) {
  ParserLimits limits;
  limits.max_headers = 3;
  std::string three = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
  std::string four = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  EXPECT_EQ(run_whole(three, limits).error_status, 0);
  EXPECT_EQ(run_whole(four, limits).error_status, 431);

  limits.max_headers = 2000;  // Node's maxHeadersCount
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 1500; ++i) many += "X: y\r\n";
  many += "\r\n";
  limits.max_head_bytes = 64 * 1024;
  testing::Run run = run_whole(many, limits);
  EXPECT_EQ(run.error_status, 0);
  EXPECT_EQ(run.messages, 1);
}

TEST(HttpParserLimits, DeclaredBodyTooLarge) {
  ParserLimits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(run_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", limits)
                .error_status,
            0);
  EXPECT_EQ(
      run_whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits).error_status,
      413);
}

TEST(HttpParserLimits, ChunkedBodyTooLargeAcrossChunks) {
  ParserLimits limits;
  limits.max_body_bytes = 10;
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(run_whole(head + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", limits).error_status, 0);
  testing::Run over = run_whole(head + "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n", limits);
  EXPECT_EQ(over.error_status, 413);
  EXPECT_NE(over.transcript.find("partial body=[01234]"), std::string::npos);
}

TEST(HttpParserLimits, ChunkLineLength) {
  ParserLimits limits;
  limits.max_chunk_line = 16;
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(run_whole(head + "1;abcdefghijklmn\r\nx\r\n0\r\n\r\n", limits).error_status, 0);
  EXPECT_EQ(run_whole(head + "1;abcdefghijklmno\r\nx\r\n0\r\n\r\n", limits).error_status, 400);
  EXPECT_EQ(run_bytewise(head + "1;" + std::string(100, 'a'), limits).error_status, 400);
}

TEST(HttpParserLimits, TrailersCountAgainstTheLimits) {
  ParserLimits limits;
  limits.max_headers = 2;
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(run_whole(head + "0\r\nA: 1\r\nB: 2\r\n\r\n", limits).error_status, 0);
  EXPECT_EQ(run_whole(head + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).error_status, 431);
  EXPECT_EQ(run_whole(head + "0\r\nA: " + std::string(17000, 'x')).error_status, 431);
}

// Node's rule by default: the request line has no limit of its own, only the head's (431).
TEST(HttpParserLimits, RequestLineByDefaultCountsOnlyAgainstTheHead) {
  std::string twelve_k = line_of(12 * 1024) + "Host: a\r\n\r\n";
  EXPECT_EQ(run_whole(twelve_k).error_status, 0);
  EXPECT_EQ(run_bytewise(twelve_k).error_status, 0);
  std::string over = line_of(16 * 1024) + "Host: a\r\n\r\n";
  EXPECT_EQ(run_whole(over).error_status, 431);
  EXPECT_EQ(run_bytewise(over).error_status, 431);
  EXPECT_EQ(run_whole("GET /" + std::string(20000, 'a')).error_status, 431);  // never ends
}

TEST(HttpParserLimits, RequestLineLimitIsKeptBelowTheHeadLimit) {
  ParserLimits limits;
  limits.max_head_bytes = 64;
  limits.max_request_line = 1000;
  RequestParser parser(limits);
  EXPECT_EQ(parser.limits().max_request_line, 62u);
  std::string raw = line_of(80);
  EXPECT_EQ(run_whole(raw, limits).error_status, 414);
  EXPECT_EQ(run_bytewise(raw, limits).error_status, 414);
}

}  // namespace
}  // namespace brigade::http
