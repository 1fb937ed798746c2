// examples/compression.cpp run as a program and asked with curl as its header comment says.
#include <gtest/gtest.h>

#include "demo_process.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace {

using testing::DemoProcess;
using testing::run_command;

TEST(CompressionExample, AnswersAsItsCommentSays) {
  DemoProcess app({}, "compression");
  if (!app.port()) GTEST_SKIP() << "examples/compression not built";
  std::string base = "http://127.0.0.1:" + std::to_string(app.port());
  std::string head = run_command("curl -s --compressed -D - -o /dev/null " + base + "/users");
  EXPECT_NE(head.find("Content-Encoding: br\r\n"), std::string::npos) << head;
  std::string users =
      run_command("curl -s -H 'Accept-Encoding: gzip' " + base + "/users | gunzip | head -c 22");
  EXPECT_EQ(users, "[{\"id\":0,\"name\":\"user ");
  // Two events of the clock, decoded as they arrive (curl stops after 2.5 s).
  std::string clock = run_command("curl -sN --compressed --max-time 2.5 " + base + "/clock");
  EXPECT_GE(testing::count_of(clock, "event: tick\n"), 2) << clock;
  std::string ingest = run_command(
      "echo '[1,2,3]' | gzip | curl -s -H 'Content-Encoding: gzip' "
      "-H 'Content-Type: application/json' --data-binary @- " +
      base + "/ingest");
  EXPECT_EQ(ingest, "{\"n\":3}");
}

}  // namespace
}  // namespace brigade::http
