#pragma once
// A request id per request (Express's express-request-id): taken from the X-Request-Id header
// when it is sane (1-128 visible ASCII bytes), else a random UUID v4; echoed in the answer's
// X-Request-Id and bound in log::request_id (an AsyncLocal), so every log line of the request's
// tasks carries it (brigade/log/log.hpp) and any code awaited below can read it:
//
//   app.use(http::request_id());
//   ... deep inside a handler's awaits:
//   std::string_view id = http::current_request_id();
#include <string>
#include <string_view>

#include "brigade/http/router.hpp"

namespace brigade::http {

struct RequestIdOptions {
  std::string header = "X-Request-Id";
  bool trust_incoming = true;  // false: always generate (the header may come from anyone)
};

// The id of the request whose code is running now; empty outside request_id().
std::string_view current_request_id() noexcept;
// A random UUID v4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx").
std::string random_uuid();

// An around middleware (a coroutine frame per request: it binds the id below next()).
struct RequestId {
  RequestIdOptions options;
  Task<void> operator()(Req& req, Res& res, Next next) const;
};

inline RequestId request_id(RequestIdOptions options = {}) { return RequestId{std::move(options)}; }

}  // namespace brigade::http
