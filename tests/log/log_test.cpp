// Structured logs: the line formats, the request id through tasks, the writer thread, a full
// queue that drops instead of blocking, and the loop's own reports going through the sink.
#include "brigade/log/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;
using nlohmann::json;

namespace {

// The sink's output redirected to a pipe for one test; the settings restored after it.
class LogTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    log::set_output(fds_[1]);
    log::set_format(log::Format::kJson);
    log::set_level(log::Level::kInfo);
  }
  void TearDown() override {
    log::flush();
    log::set_output(2);
    log::set_queue_capacity(8192);
    log::set_level(log::Level::kInfo);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // Every line written so far (after a flush).
  std::vector<std::string> lines() {
    EXPECT_TRUE(log::flush(5000));
    std::string all;
    char buf[65536];
    for (;;) {
      pollfd p{fds_[0], POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      all.append(buf, std::size_t(n));
    }
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < all.size()) {
      std::size_t end = all.find('\n', at);
      if (end == std::string::npos) break;
      out.push_back(all.substr(at, end - at));
      at = end + 1;
    }
    return out;
  }
  int fds_[2] = {-1, -1};
};

log::Record record(std::string message, json fields = {}, std::string id = "") {
  return {log::Level::kWarn, 1'785'499'200'123'000'000u, std::move(message), std::move(id),
          std::move(fields)};
}

}  // namespace

TEST(LogFormat, JsonLineCarriesTimeLevelMessageRequestIdAndFields) {
  std::string line = log::format_line(
      record("disk \"full\"\n", {{"free", 0}, {"dev", "sda"}}, "r-7"), log::Format::kJson);
  json j = json::parse(line);
  EXPECT_EQ(j["time"], "2026-07-31T12:00:00.123Z");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "disk \"full\"\n");
  EXPECT_EQ(j["request_id"], "r-7");
  EXPECT_EQ(j["free"], 0);
  EXPECT_EQ(j["dev"], "sda");
  EXPECT_EQ(line.find('\n'), std::string::npos);  // one line, whatever the message holds
  EXPECT_FALSE(
      json::parse(log::format_line(record("plain"), log::Format::kJson)).contains("request_id"));
}

TEST(LogFormat, InvalidUtf8StillMakesValidJson) {
  std::string line =
      log::format_line(record("bad \xff\xfe bytes", {{"path", "/a\xc3"}}), log::Format::kJson);
  json j = json::parse(line);  // throws if the line is not JSON
  EXPECT_NE(j["msg"].get<std::string>().find("bytes"), std::string::npos);
}

TEST(LogFormat, PrettyLineIsForPeople) {
  std::string line = log::format_line(
      record("request done", {{"status", 200}, {"route", "/users/:id"}, {"note", "a b"}}, "r-1"),
      log::Format::kPretty);
  EXPECT_NE(line.find("WARN  request done"), std::string::npos) << line;
  EXPECT_NE(line.find("status=200"), std::string::npos) << line;
  EXPECT_NE(line.find("route=/users/:id"), std::string::npos) << line;
  EXPECT_NE(line.find("note=\"a b\""), std::string::npos) << line;
  EXPECT_NE(line.find("[req r-1]"), std::string::npos) << line;
}

TEST(LogFormat, LevelNames) {
  EXPECT_EQ(log::parse_level("debug"), log::Level::kDebug);
  EXPECT_EQ(log::parse_level("warning"), log::Level::kWarn);
  EXPECT_EQ(log::parse_level("silent"), log::Level::kSilent);
  EXPECT_EQ(log::parse_level("loud"), std::nullopt);
  EXPECT_STREQ(log::level_name(log::Level::kError), "error");
}

TEST_F(LogTest, LinesBelowTheLevelAreNotWritten) {
  log::set_level(log::Level::kWarn);
  log::info("quiet");
  log::warn("loud", {{"n", 1}});
  log::error("louder");
  std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(json::parse(got[0])["msg"], "loud");
  EXPECT_EQ(json::parse(got[0])["n"], 1);
  EXPECT_EQ(json::parse(got[1])["level"], "error");
  log::set_level(log::Level::kSilent);
  log::error("nothing");
  EXPECT_TRUE(lines().empty());
}

TEST_F(LogTest, RequestIdFollowsItsTaskThroughAwaitsAndSpawns) {
  Loop loop;
  auto handle = [](std::string path) -> Task<void> {
    log::info("start", {{"path", path}});
    co_await brigade::sleep(2);
    spawn(
        []() -> Task<void> {
          co_await brigade::sleep(1);
          log::info("child");
        }(),
        "child");
    log::info("end");
  };
  spawn(log::request_id.run("req-a", handle("/a")), "a");
  spawn(log::request_id.run("req-b", handle("/b")), "b");
  log::info("outside");
  loop.run();
  std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 7u);
  int a = 0, b = 0;
  for (const std::string& l : got) {
    json j = json::parse(l);
    if (j["msg"] == "outside") {
      EXPECT_FALSE(j.contains("request_id"));
      continue;
    }
    if (j["request_id"] == "req-a") ++a;
    if (j["request_id"] == "req-b") ++b;
  }
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 3);
}

TEST_F(LogTest, AFullQueueDropsLinesAndNeverBlocksTheCaller) {
  ASSERT_GE(::fcntl(fds_[1], F_SETPIPE_SZ, 4096), 0);
  log::set_queue_capacity(16);
  uint64_t dropped_before = log::stats().dropped;
  std::string big(2000, 'x');
  // Nobody reads the pipe yet: the writer thread soon waits in write(), and the queue fills.
  for (int i = 0; i < 2000; ++i) log::info(big, {{"i", i}});
  uint64_t dropped = log::stats().dropped - dropped_before;
  EXPECT_GT(dropped, 0u);
  std::string all;
  std::thread reader([&] {
    char buf[65536];
    for (;;) {
      pollfd p{fds_[0], POLLIN, 0};
      if (::poll(&p, 1, 500) <= 0) break;
      ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      all.append(buf, std::size_t(n));
    }
  });
  EXPECT_TRUE(log::flush(5000));
  log::info("after");  // the next batch reports what was dropped
  EXPECT_TRUE(log::flush(5000));
  reader.join();
  EXPECT_NE(all.find("log lines dropped"), std::string::npos);
  EXPECT_NE(all.find("\"msg\":\"after\""), std::string::npos);
}

TEST_F(LogTest, TheBlockedLoopReportIsAWarningLine) {
  Loop loop;
  loop.set_blocked_threshold_ms(20);
  loop.set_timeout(1, [] {
    uint64_t until = Loop::hrtime() + 150'000'000u;
    while (Loop::hrtime() < until) {
    }
  });
  loop.run();
  ASSERT_EQ(loop.metrics().blocked_count, 1u);
  std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 1u);
  json j = json::parse(got[0]);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["activity"], "timer");
  EXPECT_GE(j["blocked_ms"].get<int>(), 100);
  EXPECT_NE(j["msg"].get<std::string>().find("event loop blocked for"), std::string::npos);
}

TEST(LogDeathTest, AnUnhandledRejectionIsTheLastLineEvenWhenSilent) {
  EXPECT_EXIT(
      {
        log::set_format(log::Format::kJson);
        log::set_level(log::Level::kSilent);
        Loop loop;
        log::error("never written");
        spawn(
            []() -> Task<void> {
              co_await brigade::sleep(1);
              throw std::runtime_error("boom");
            }(),
            "doomed");
        loop.run();
        std::exit(0);
      },
      testing::ExitedWithCode(1),
      "\\{\"time\":\"[-0-9T:.]+Z\",\"level\":\"fatal\",\"msg\":\"unhandled rejection in task "
      "'doomed': boom\"");
}
