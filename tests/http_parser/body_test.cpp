// Bodies (Content-Length and chunked), trailers and pipelining.
#include <gtest/gtest.h>

#include <string>

#include "parser_driver.hpp"

namespace brigade::http {
namespace {

using testing::run_bytewise;
using testing::run_whole;

TEST(HttpParserBody, ContentLengthBodyIsDeliveredInPlace) {
  RequestParser parser;
  std::string raw = "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET";
  ParseResult r = parser.parse(raw.data(), raw.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadersComplete);
  EXPECT_TRUE(parser.request().has_content_length);
  EXPECT_EQ(parser.request().content_length, 5u);
  size_t off = r.consumed;
  r = parser.parse(raw.data() + off, raw.size() - off);
  ASSERT_EQ(r.status, ParseStatus::kBodyChunk);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.body.data(), raw.data() + off);
  off += r.consumed;
  r = parser.parse(raw.data() + off, raw.size() - off);
  EXPECT_EQ(r.status, ParseStatus::kMessageComplete);
  EXPECT_EQ(r.consumed, 0u);
  r = parser.parse(raw.data() + off, raw.size() - off);
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);  // "GET" is the start of the next request
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParserBody, ContentLengthZeroAndBodylessRequests) {
  testing::Run run = run_whole(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n"
      "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(run.messages, 3);
  EXPECT_EQ(run.error_status, 0);
}

TEST(HttpParserBody, ChunkedWithExtensionsAndTrailers) {
  std::string raw =
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "4;ext\r\nWiki\r\n"
      "5;a=b;c=\"d;e\\\"f\"\r\npedia\r\n"
      "E \t; x = y\r\n in\r\n\r\nchunks.\r\n"
      "0;last=1\r\nTrailer-One: 1\r\nTrailer-Two:  two  \r\n\r\n";
  testing::Run run = run_whole(raw);
  EXPECT_EQ(run.error_status, 0) << run.transcript;
  EXPECT_EQ(run.messages, 1);
  EXPECT_EQ(run.last_body, "Wikipedia in\r\n\r\nchunks.");
  EXPECT_EQ(run_bytewise(raw).transcript, run.transcript);
}

TEST(HttpParserBody, ChunkSizesAreHexWithLeadingZeros) {
  testing::Run run = run_whole(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "00000000000000000000a\r\n0123456789\r\nF\r\n0123456789abcde\r\n0000\r\n\r\n");
  EXPECT_EQ(run.error_status, 0) << run.transcript;
  EXPECT_EQ(run.last_body, "01234567890123456789abcde");
}

TEST(HttpParserBody, BiggestChunkSizeIsAccepted) {
  RequestParser parser;
  std::string raw =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nxy";
  ParseResult r = parser.parse(raw.data(), raw.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadersComplete);
  size_t off = r.consumed;
  r = parser.parse(raw.data() + off, raw.size() - off);
  ASSERT_EQ(r.status, ParseStatus::kBodyChunk);
  EXPECT_EQ(r.body, "xy");
}

TEST(HttpParserBody, PipelinedRequestsComeOutInOrder) {
  std::string raw =
      "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
      "POST /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "\r\n"  // a stray CRLF between requests is tolerated
      "GET /four HTTP/1.0\r\n\r\n";
  testing::Run run = run_whole(raw);
  EXPECT_EQ(run.messages, 4);
  size_t one = run.transcript.find("target=/one");
  size_t two = run.transcript.find("target=/two");
  size_t three = run.transcript.find("target=/three");
  size_t four = run.transcript.find("target=/four");
  ASSERT_NE(four, std::string::npos) << run.transcript;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_LT(three, four);
  EXPECT_NE(run.transcript.find("body=[body]"), std::string::npos);
  EXPECT_NE(run.transcript.find("body=[abc]"), std::string::npos);
  EXPECT_EQ(run_bytewise(raw).transcript, run.transcript);
}

TEST(HttpParserBody, RequestAfterAnErrorIsNeverParsed) {
  // The smuggled second request must not surface: the parser stops at the conflict.
  testing::Run run = run_whole(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(run.error_status, 400);
  EXPECT_EQ(run.transcript.find("/admin"), std::string::npos);
}

TEST(HttpParserBody, PartialChunkLineIsKeptByTheCaller) {
  RequestParser parser;
  std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=";
  ParseResult r = parser.parse(raw.data(), raw.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadersComplete);
  std::string tail = raw.substr(r.consumed);
  r = parser.parse(tail.data(), tail.size());
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  tail += "v\r\nhel";
  r = parser.parse(tail.data(), tail.size());
  ASSERT_EQ(r.status, ParseStatus::kBodyChunk);
  EXPECT_EQ(r.body, "hel");
  EXPECT_EQ(r.consumed, tail.size());
}

}  // namespace
}  // namespace brigade::http
