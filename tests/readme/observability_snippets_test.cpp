// README: structured logs, Prometheus metrics.
#include <gtest/gtest.h>

#include <string>

#include "brigade/log/log.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

namespace {

namespace log = brigade::log;
using brigade::Task;

struct Req {
  std::string header(const char*) const { return "f3a9"; }
};
Task<void> handle(Req&) { co_return; }

Task<void> serve(Req& req) {
  // clang-format off
// readme:begin logs
log::info("user signed in", {{"user", 42}, {"ms", 12.5}});
// {"time":"2026-01-31T12:00:00.123Z","level":"info","msg":"user signed in","ms":12.5,"user":42}
co_await log::request_id.run(req.header("x-request-id"), handle(req));  // lines inside carry it
log::set_level(log::Level::kWarn);  // or BRIGADE_LOG_LEVEL=warn
// readme:end
  // clang-format on
}

TEST(Readme, StructuredLogs) {
  brigade::Loop loop;
  Req req;
  brigade::run(loop, serve(req));
  EXPECT_EQ(log::level(), log::Level::kWarn);
  log::set_level(log::Level::kInfo);
}

}  // namespace
