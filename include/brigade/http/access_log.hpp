#pragma once
// An access log record per request (Express's morgan), written off the loop:
//
//   app.use(http::request_id());   // first: the record carries the id
//   app.use(http::access_log());   // through brigade's log (brigade/log/log.hpp):
//   // {"time":"...","level":"info","msg":"request","request_id":"9b2f...","bytes":43,
//   //  "ip":"127.0.0.1","method":"GET","ms":0.412,"path":"/users/7?x=1","status":200}
//
// The log layer's thread writes the line (a bounded queue; BRIGADE_LOG_FORMAT/LEVEL apply).
// With a LineSink instead, each request is one text line in a common format,
//   127.0.0.1 [2026-12-02T14:10:00.123Z] "GET /users/7?x=1 HTTP/1.1" 200 43 0.412ms 9b2f...
// (client ip, time, request line, status, body bytes, duration to the end of the chain,
// request id or "-"), handed to the sink on the loop: the sink must not block.
#include <memory>
#include <string>
#include <string_view>

#include "brigade/http/router.hpp"

namespace brigade::http {

class LineSink {
 public:
  virtual ~LineSink() = default;
  // One line without its newline; called on the loop, so it must only queue.
  virtual void write_line(std::string line) = 0;
};

// An around middleware: times the rest of the chain and logs after it.
struct AccessLog {
  std::shared_ptr<LineSink> sink;  // null: brigade's log (log::info)
  Task<void> operator()(Req& req, Res& res, Next next) const;
};

inline AccessLog access_log(std::shared_ptr<LineSink> sink = nullptr) {
  return AccessLog{std::move(sink)};
}

// The text line AccessLog hands a LineSink.
std::string access_log_line(const Req& req, const Res& res, double duration_ms,
                            std::string_view request_id);

}  // namespace brigade::http
