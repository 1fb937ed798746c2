// README: the Express surface (middleware with next(), routers, CORS, request ids, access log,
// trust proxy, cookies, redirects). Each block registers on an App; the test serves it once.
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <string>

#include "brigade/http/access_log.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/body.hpp"
#include "brigade/http/compression.hpp"
#include "brigade/http/cors.hpp"
#include "brigade/http/request_id.hpp"
#include "brigade/http/static_files.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

namespace {

using brigade::Task;
using brigade::http::Req;
using brigade::http::Res;
namespace http = brigade::http;

const std::string token = "t0k3n";
void require_auth(Req& req, Res& res) {
  if (req.header("Authorization").empty()) res.status(401).send("who are you?");
}

TEST(Readme, ExpressSurfaceRegisters) {
  http::App app;
  // clang-format off
// readme:begin express-middleware
app.use([](Req&, Res& res, http::Next next) -> Task<void> {
  auto t0 = std::chrono::steady_clock::now();
  co_await next();                              // the rest of the chain and the route
  std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - t0;
  res.set("Server-Timing", "app;dur=" + std::to_string(ms.count()));  // the answer is open
});
app.use("/api", require_auth);                  // plain or coroutine: answer, or fall through
http::Router users;
users.get("/:id", [](Req& req, Res& res) {
  res.json({{"org", std::string(req.param("org"))}, {"id", std::string(req.param("id"))}});
});
app.use("/orgs/:org/users", std::move(users));  // mount params reach the handler
app.on_error("/api", [](Req&, Res& res, std::exception_ptr) {
  res.status(500).json({{"error", "internal"}});
});
// readme:end
// readme:begin express-builtins
app.use(http::request_id());         // X-Request-Id in, or a UUID; http::current_request_id()
app.use(http::access_log());         // one log::info line per request, written off the loop
app.use(http::cors({.origins = {"https://app.example"}, .credentials = true, .max_age_s = 600}));
// readme:end
// readme:begin express-proxy
app.trust_proxy(http::TrustProxy::addresses({"loopback", "10.0.0.0/8"}));  // or hops(1)
app.get("/", [](Req& req, Res& res) {
  res.cookie("sid", token, {.max_age_s = 3600, .http_only = true, .secure = true,
                            .same_site = http::SameSite::kLax});
  res.json({{"ip", req.ip()}, {"ips", req.ips()}, {"host", std::string(req.hostname())},
            {"proto", std::string(req.protocol())}, {"theme", req.cookie("theme")}});
});
app.get("/old", [](Req&, Res& res) { res.redirect(301, "/new"); });
// readme:end
  // clang-format on
  EXPECT_FALSE(app.has_stream_routes());
  EXPECT_FALSE(app.trust_proxy().trusts_nobody());
}

TEST(Readme, ExpressBodiesRegister) {
  http::App app;
  // clang-format off
// readme:begin express-bodies
app.post("/users", [](Req& req, Res& res) -> Task<void> {
  nlohmann::json user = co_await req.json({.max_bytes = 100 * 1024});  // 415, 413, 400 itself
  res.status(201).json(user);
});
app.post("/login", [](Req& req, Res& res) -> Task<void> {
  http::FormFields form = co_await req.form();
  res.send("hello " + std::string(http::form_value(form, "user")));
});
app.post("/photos", http::RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
  http::MultipartForm upload = co_await req.multipart();  // files: temporary files, streamed
  const http::UploadedFile* photo = upload.file("photo");
  if (!photo) res.status(400).send("no photo");
  else res.json({{"caption", std::string(upload.field("caption"))}, {"bytes", photo->size}});
});                                                        // the form removes its files
// readme:end
  // clang-format on
  EXPECT_TRUE(app.has_stream_routes());  // /photos pulls its body as it arrives
}

TEST(Readme, StaticFilesRegister) {
  std::filesystem::create_directories("public");  // the block's folder, in the test's directory
  http::App app;
  // clang-format off
// readme:begin express-static
app.use("/assets", http::serve_static("public",    // the folder, opened now (throws if absent)
                                      {.file = {.max_age_s = 86400}, .extensions = {"html"}}));
app.get("/report", [](Req&, Res& res) -> Task<void> {
  auto sending = res.download("/srv/report.pdf", "report.pdf");  // Content-Disposition: attachment
  co_await sending;                     // named: see the g++ 12 pitfall at the end
});
// readme:end
  // clang-format on
  EXPECT_THROW(http::serve_static("/no/such/folder"), brigade::Error);
}

TEST(Readme, CompressionRegisters) {
  http::App app;
  // clang-format off
// readme:begin express-compression
app.use(http::compression());        // gzip, deflate, br, zstd, chosen by Accept-Encoding
app.use("/api", http::compression({.threshold = 0, .encodings = {http::Coding::kGzip},
                                   .filter = [](const Req&, const Res&) { return true; }}));
app.post("/ingest", [](Req& req, Res& res) -> Task<void> {
  nlohmann::json batch = co_await req.json();  // Content-Encoding: gzip/br/zstd decoded first
  res.json({{"n", batch.size()}});
});
// readme:end
  // clang-format on
  EXPECT_FALSE(app.has_stream_routes());
}

}  // namespace
