// The client behind a proxy, cookies and redirects, as in Express:
//
//   app.set('trust proxy', 'loopback');
//   app.get('/', (req, res) => res.json({ ip: req.ip, ips: req.ips, host: req.hostname,
//                                         protocol: req.protocol, visits: req.cookies.visits }));
//   app.get('/visit', (req, res) => {
//     res.cookie('visits', String(Number(req.cookies.visits || 0) + 1), { httpOnly: true,
//                maxAge: 3600 * 1000, sameSite: 'lax' });
//     res.redirect('/');
//   });
//
//   http_behind_proxy [--port N]     (0, the default, picks a free port)
// Try (a proxy on this machine is trusted, so its X-Forwarded-For is believed):
//   curl -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Forwarded-Proto: https' http://127.0.0.1:PORT/
//   curl -L -b jar -c jar http://127.0.0.1:PORT/visit
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/loop.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: http_behind_proxy [--port N]\n");
      return 2;
    }
  }
  Loop loop;
  http::App app;
  app.trust_proxy(http::TrustProxy::addresses({"loopback"}));
  app.get("/", [](http::Req& req, http::Res& res) {
    res.json({{"ip", req.ip()},
              {"ips", req.ips()},
              {"host", std::string(req.hostname())},
              {"protocol", std::string(req.protocol())},
              {"visits", req.cookie("visits")}});
  });
  app.get("/visit", [](http::Req& req, http::Res& res) {
    std::string seen = req.cookie("visits");
    http::CookieOptions o;
    o.http_only = true;
    o.max_age_s = 3600;
    o.same_site = http::SameSite::kLax;
    res.cookie("visits", std::to_string((seen.empty() ? 0 : std::stol(seen)) + 1), o);
    res.redirect("/");
  });
  http::Server server = app.listen(loop, "127.0.0.1", static_cast<uint16_t>(port));
  std::printf("http://127.0.0.1:%u/\n", server.port());
  std::fflush(stdout);
  loop.run();
}
