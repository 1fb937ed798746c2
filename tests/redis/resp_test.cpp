// RespParser and the encoder, without a server.
#include "brigade/redis/resp.hpp"

#include <gtest/gtest.h>

#include "brigade/redis/error.hpp"
#include "brigade/redis/options.hpp"

namespace resp_test {

using namespace brigade::redis;

namespace {

std::vector<Reply> parse_all(std::string_view bytes, bool byte_by_byte,
                             RespParser::Status* last = nullptr) {
  RespParser p;
  std::vector<Reply> out;
  auto drain = [&] {
    Reply r;
    RespParser::Status s;
    while ((s = p.next(r)) == RespParser::Status::kReply) out.push_back(std::move(r));
    if (last) *last = s;
  };
  if (byte_by_byte) {
    for (char c : bytes) {
      p.feed(std::string_view(&c, 1));
      drain();
    }
  } else {
    p.feed(bytes);
    drain();
  }
  return out;
}

}  // namespace

TEST(Resp, EncodesCommandsAsArraysOfBulkStrings) {
  std::string out;
  append_command(out, {"SET", "k", std::string_view("a\0b", 3)});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
}

TEST(Resp, ParsesEveryTypeWholeAndByteByByte) {
  const std::string wire =
      "+OK\r\n-ERR bad\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n"
      "*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n$-1\r\n*0\r\n"
      "_\r\n#t\r\n,3.5\r\n%1\r\n+key\r\n:9\r\n~2\r\n:1\r\n:2\r\n>2\r\n+p\r\n+q\r\n"
      "=7\r\ntxt:abc\r\n!3\r\nbad\r\n(123\r\n(99999999999999999999\r\n:0\r\n";
  for (bool bytewise : {false, true}) {
    RespParser::Status last;
    std::vector<Reply> r = parse_all(wire, bytewise, &last);
    EXPECT_EQ(last, RespParser::Status::kNeedMore);
    ASSERT_EQ(r.size(), 21u);
    EXPECT_EQ(r[0].type, Reply::Type::kStatus);
    EXPECT_EQ(r[0].str, "OK");
    EXPECT_TRUE(r[1].is_error());
    EXPECT_EQ(r[1].str, "ERR bad");
    EXPECT_EQ(r[2].integer, 42);
    EXPECT_EQ(r[3].integer, -7);
    EXPECT_EQ(r[4].as_string(), "hello");
    EXPECT_EQ(r[5].as_string(), "");
    EXPECT_TRUE(r[6].is_nil());
    EXPECT_TRUE(r[7].is_nil());
    ASSERT_EQ(r[8].elements.size(), 3u);
    EXPECT_EQ(r[8].elements[1].elements[1].str, "b");
    EXPECT_TRUE(r[8].elements[2].is_nil());
    EXPECT_EQ(r[9].type, Reply::Type::kArray);
    EXPECT_TRUE(r[9].elements.empty());
    EXPECT_TRUE(r[10].is_nil());
    EXPECT_EQ(r[11].type, Reply::Type::kBool);
    EXPECT_EQ(r[11].integer, 1);
    EXPECT_DOUBLE_EQ(r[12].number, 3.5);
    EXPECT_EQ(r[13].type, Reply::Type::kMap);
    EXPECT_EQ(r[13].elements.size(), 2u);
    EXPECT_EQ(r[14].elements.size(), 2u);
    EXPECT_EQ(r[15].elements[1].str, "q");
    EXPECT_EQ(r[16].str, "txt:abc");
    EXPECT_TRUE(r[17].is_error());
    EXPECT_EQ(r[18].integer, 123);
    EXPECT_EQ(r[19].str, "99999999999999999999");
    EXPECT_EQ(r[20].as_integer(), 0);
  }
}

TEST(Resp, RejectsWhatIsNotResp) {
  for (std::string bad : {"?x\r\n", "$abc\r\n", "$3\r\nabcd\r\n", ":1x\r\n", "+a\rb\r\n", "*-2\r\n",
                          "$-5\r\n", "#x\r\n", ",nan?\r\n", "\r\n", "$600000000\r\n"}) {
    RespParser::Status last;
    parse_all(bad, false, &last);
    EXPECT_EQ(last, RespParser::Status::kError) << bad;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "*1\r\n";
  RespParser::Status last;
  parse_all(deep + ":1\r\n", false, &last);
  EXPECT_EQ(last, RespParser::Status::kError);
  std::string long_line(70 * 1024, 'a');
  parse_all("+" + long_line, false, &last);
  EXPECT_EQ(last, RespParser::Status::kError);
}

TEST(Resp, ABigReplyInPiecesIsParsedOnce) {
  std::string wire = "*20000\r\n";
  for (int i = 0; i < 20000; ++i) wire += "$4\r\nabcd\r\n";
  RespParser p;
  Reply r;
  std::size_t replies = 0;
  for (std::size_t at = 0; at < wire.size(); at += 1000) {
    p.feed(std::string_view(wire).substr(at, 1000));
    while (p.next(r) == RespParser::Status::kReply) ++replies;
  }
  EXPECT_EQ(replies, 1u);
  EXPECT_EQ(r.elements.size(), 20000u);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(Resp, TypedAccessorsSayWhatTheyGot) {
  Reply r;
  r.type = Reply::Type::kArray;
  EXPECT_THROW(r.as_string(), brigade::redis::Error);
  EXPECT_THROW(r.as_integer(), brigade::redis::Error);
  r.type = Reply::Type::kString;
  r.str = "12";
  EXPECT_EQ(r.as_integer(), 12);
}

TEST(RedisUrl, ParsesHostPortAuthAndDb) {
  Options o = parse_url("redis://user:secret@10.0.0.5:6380/3");
  EXPECT_EQ(o.host, "10.0.0.5");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.username, "user");
  EXPECT_EQ(o.password, "secret");
  EXPECT_EQ(o.db, 3);
  o = parse_url("redis://:pw@localhost");
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.password, "pw");
  o = parse_url("redis://[::1]:7000");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 7000);
  EXPECT_THROW(parse_url("http://x"), brigade::redis::Error);
  EXPECT_THROW(parse_url("redis://h:99999"), brigade::redis::Error);
  EXPECT_THROW(parse_url("redis://h/x"), brigade::redis::Error);
}

}  // namespace resp_test
