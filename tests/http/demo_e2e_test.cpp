// examples/demo as a user meets it: bad arguments are 400s that say what is wrong.
#include <gtest/gtest.h>

#include <string>

#include "demo_process.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace {

struct Answer {
  std::string status;  // "200", "400"...
  std::string body;
};

Answer fetch(uint16_t port, std::string_view target) {
  RawClient c(port, 10000);
  c.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  c.read_to_eof();
  const std::string& b = c.buffer();
  Answer a;
  if (b.size() > 12) a.status = b.substr(9, 3);
  std::size_t at = b.find("\r\n\r\n");
  if (at != std::string::npos) a.body = b.substr(at + 4);
  return a;
}

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!demo.built()) GTEST_SKIP() << "demo not built";
    ASSERT_NE(demo.port(), 0) << "the demo did not start";
  }
  DemoProcess demo;
};

TEST_F(DemoTest, AMalformedUserIdIs400NamingTheParameter) {
  for (const char* bad : {"/users/abc", "/users/1%00", "/users/1x", "/users/-", "/users/1%20",
                          "/users/99999999999999999999"}) {
    Answer a = fetch(demo.port(), bad);
    EXPECT_EQ(a.status, "400") << bad << ": " << a.body;
    EXPECT_NE(a.body.find("\"param\":\"id\""), std::string::npos) << bad << ": " << a.body;
  }
  Answer a = fetch(demo.port(), "/users/%ZZ");  // the router's 400: the escape does not decode
  EXPECT_EQ(a.status, "400") << a.body;
  EXPECT_NE(a.body.find("'id'"), std::string::npos) << a.body;
  a = fetch(demo.port(), "/users/1");
  EXPECT_EQ(a.status, "200") << a.body;
  EXPECT_NE(a.body.find("\"name\":\"Ada 1\""), std::string::npos) << a.body;
  a = fetch(demo.port(), "/users/1000");
  EXPECT_EQ(a.status, "404") << a.body;
}

TEST_F(DemoTest, ABadOrOutOfRangeFibArgumentIs400NamingTheLimit) {
  for (const char* route : {"/heavy", "/heavy-blocking"}) {
    for (const char* n : {"45", "-5", "abc", "", "4x", "43", "99999999999"}) {
      std::string target = std::string(route) + "?n=" + n;
      Answer a = fetch(demo.port(), target);
      EXPECT_EQ(a.status, "400") << target << ": " << a.body;
      EXPECT_NE(a.body.find("from 0 to 42"), std::string::npos) << target << ": " << a.body;
    }
    Answer a = fetch(demo.port(), std::string(route) + "?n=10");
    EXPECT_EQ(a.status, "200") << a.body;
    EXPECT_NE(a.body.find("\"fib\":55"), std::string::npos) << a.body;
    a = fetch(demo.port(), std::string(route) + "?n=0");
    EXPECT_NE(a.body.find("\"fib\":0"), std::string::npos) << a.body;
  }
}

TEST_F(DemoTest, StatsShowAnUnboundedQueueAsNull) {
  Answer a = fetch(demo.port(), "/stats");
  EXPECT_EQ(a.status, "200");
  EXPECT_NE(a.body.find("\"max_queue\":null"), std::string::npos) << a.body;
  EXPECT_EQ(a.body.find("18446744073709551615"), std::string::npos) << a.body;
}

}  // namespace
}  // namespace brigade::http::testing
