// CORS headers and preflights, following the `cors` package's choices.
#include "brigade/http/cors.hpp"

#include <algorithm>

namespace brigade::http {

void Cors::operator()(Req& req, Res& res) const {
  std::string_view origin = req.header("Origin");
  const CorsOptions& o = options;
  bool any = o.origins.empty();
  if (!any) res.set("Vary", "Origin");  // the answer depends on who asks (caches must know)
  if (origin.empty() && !any) return;
  bool listed = any || std::find(o.origins.begin(), o.origins.end(), origin) != o.origins.end();
  if (!listed) return;  // not allowed: no CORS headers, the browser blocks the read
  if (any && !o.credentials) {
    res.set("Access-Control-Allow-Origin", "*");
  } else if (!origin.empty()) {
    res.set("Access-Control-Allow-Origin", origin);
    if (any) res.set("Vary", "Origin");
  }
  if (o.credentials) res.set("Access-Control-Allow-Credentials", "true");
  bool preflight =
      req.method() == Method::kOptions && req.has_header("Access-Control-Request-Method");
  if (!preflight) {
    if (!o.exposed_headers.empty()) res.set("Access-Control-Expose-Headers", o.exposed_headers);
    return;
  }
  res.set("Access-Control-Allow-Methods", o.methods);
  if (!o.allowed_headers.empty()) {
    res.set("Access-Control-Allow-Headers", o.allowed_headers);
  } else if (std::string_view asked = req.header("Access-Control-Request-Headers");
             !asked.empty()) {
    res.set("Access-Control-Allow-Headers", asked);
    res.set("Vary", "Access-Control-Request-Headers");
  }
  if (o.max_age_s) res.set("Access-Control-Max-Age", std::to_string(*o.max_age_s));
  res.set("Content-Length", "0");
  res.status(204).end();
}

}  // namespace brigade::http
