// Access log records: through brigade's log, or as text lines to a LineSink.
#include "brigade/http/access_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "brigade/http/request_id.hpp"
#include "brigade/log/log.hpp"

namespace brigade::http {

std::string access_log_line(const Req& req, const Res& res, double ms,
                            std::string_view request_id) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char when[40];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  char tail[96];
  std::snprintf(tail, sizeof tail, ".%03dZ] ", static_cast<int>(millis.count()));
  std::string line = req.ip();
  line.append(" [").append(when).append(tail);
  line += '"';
  line.append(req.method_name()).append(" ").append(req.target());
  line.append(req.http11() ? " HTTP/1.1\" " : " HTTP/1.0\" ");
  std::snprintf(tail, sizeof tail, "%d %llu %.3fms ", res.status(),
                static_cast<unsigned long long>(res.body_bytes()), ms);
  line += tail;
  line.append(request_id.empty() ? std::string_view("-") : request_id);
  return line;
}

Task<void> AccessLog::operator()(Req& req, Res& res, Next next) const {
  auto t0 = std::chrono::steady_clock::now();
  co_await next();
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!sink) {
    if (!log::enabled(log::Level::kInfo)) co_return;
    log::info("request", {{"ip", req.ip()},
                          {"method", std::string(req.method_name())},
                          {"path", std::string(req.target())},
                          {"status", res.status()},
                          {"bytes", res.body_bytes()},
                          {"ms", ms}});
    co_return;
  }
  std::string_view id = current_request_id();
  if (id.empty()) id = res.get("X-Request-Id");
  sink->write_line(access_log_line(req, res, ms, id));
}

}  // namespace brigade::http
