// README: health probes, trust proxy and the drain on SIGTERM behind a balancer.
#include <gtest/gtest.h>

#include "brigade/http/app.hpp"
#include "brigade/http/health.hpp"
#include "brigade/loop.hpp"

namespace {

namespace http = brigade::http;

// Compiled only: it serves on the fixed port 8080 until the process ends.
[[maybe_unused]] void behind_a_balancer(brigade::Loop& loop, http::App& app) {
  // clang-format off
// readme:begin balancer
http::Health health(loop);                       // /readyz 503 until started(), and draining
http::mount_health(app, health);                 // GET /healthz, GET /readyz
app.trust_proxy(http::TrustProxy::hops(1));      // req.ip(), req.protocol() from the balancer
http::Server server = app.listen(loop, "0.0.0.0", 8080);
health.started();
http::DrainOptions drain;
drain.delay_ms = 5000;                           // SIGTERM: /readyz 503, serve 5 s, then close
http::DrainOnSignal on_sigterm(loop, server, health, drain);
// readme:end
  // clang-format on
  loop.run();
}

}  // namespace
