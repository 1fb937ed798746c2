// README: the HTTP service with SQLite, a streamed upload, the g++ 12 pitfall.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "brigade/db/sqlite_db.hpp"
#include "brigade/http/app.hpp"
#include "brigade/loop.hpp"
#include "brigade/pool.hpp"
#include "brigade/task.hpp"

namespace {

using brigade::Task;
using brigade::http::Req;
using brigade::http::Res;
namespace http = brigade::http;

// Compiled only: it serves on the fixed port 8080 until the process ends.
[[maybe_unused]] void http_service(brigade::Loop& loop) {
  // clang-format off
// readme:begin http-sqlite
brigade::http::App app;
auto db = brigade::db::SqliteDb::open("demo.db");          // queried on the thread pool
app.get("/users/:id", [&](Req& req, Res& res) -> Task<void> {
  auto rows = co_await db.query("SELECT id, name FROM users WHERE id = ?", req.param("id"));
  if (rows.empty()) res.status(404).json({{"error", "no such user"}});
  else res.json({{"id", rows[0][0].as<int64_t>()}, {"name", rows[0][1].as<std::string>()}});
});
auto server = app.listen(loop, "127.0.0.1", 8080);
loop.run();
// readme:end
  // clang-format on
}

TEST(Readme, StreamedUploadRoute) {
  brigade::Loop loop;
  http::App app;
  // clang-format off
// readme:begin upload
app.post("/upload", http::RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
  uint64_t n = 0;
  for (;;) {
    auto next = req.read_chunk();            // a view into the read buffer, no copy
    std::string_view chunk = co_await next;  // empty: the end of the body
    if (chunk.empty()) break;
    n += chunk.size();
  }
  res.send(std::to_string(n));
});
// readme:end
  // clang-format on
  EXPECT_TRUE(app.has_stream_routes());
}

int parse(const std::string& s) { return std::stoi(s) + 1; }

TEST(Readme, PitfallNamedAwaitable) {
  brigade::Loop loop;
  brigade::ThreadPool& pool = brigade::ThreadPool::shared();
  std::string s = "41";
  int got = 0;
  auto body = [&]() -> Task<void> {
    // clang-format off
// readme:begin pitfall
auto job = pool.run([s = std::move(s)] { return parse(s); });
auto value = co_await job;
// readme:end
    // clang-format on
    got = value;
  };
  brigade::run(loop, body());
  EXPECT_EQ(got, 42);
}

}  // namespace
