#pragma once
// CORS (Express's `cors` package): Access-Control-* headers on answers, and preflights
// (OPTIONS with Access-Control-Request-Method) answered with 204 before any route.
//
//   app.use(http::cors({.origins = {"https://app.example"}, .credentials = true}));
#include <optional>
#include <string>
#include <vector>

#include "brigade/http/router.hpp"

namespace brigade::http {

struct CorsOptions {
  // Origins allowed (exact "https://host:port" strings); empty: any ("*", or the request's
  // Origin reflected when credentials are on). An origin not listed gets no CORS headers.
  std::vector<std::string> origins;
  std::string methods = "GET,HEAD,PUT,PATCH,POST,DELETE";  // preflight Allow-Methods
  std::string allowed_headers;    // preflight Allow-Headers; empty: the requested ones reflected
  std::string exposed_headers;    // Access-Control-Expose-Headers; empty: none
  bool credentials = false;       // Access-Control-Allow-Credentials: true
  std::optional<long> max_age_s;  // preflight Access-Control-Max-Age
};

// A plain middleware (no allocation on a request without Origin).
struct Cors {
  CorsOptions options;
  void operator()(Req& req, Res& res) const;
};

inline Cors cors(CorsOptions options = {}) { return Cors{std::move(options)}; }

}  // namespace brigade::http
