// A folder served as express.static serves it, and a download, as in Express:
//
//   app.use('/', express.static(dir, { maxAge: '1h', extensions: ['html'] }));
//   app.get('/download/:name', (req, res) => res.download(path.join(dir, req.params.name)));
//
//   static_site DIR [--port N]     (0, the default, picks a free port)
// Try:
//   curl -i http://127.0.0.1:PORT/                      (DIR/index.html, ETag, Last-Modified)
//   curl -i -r 0-99 http://127.0.0.1:PORT/big.bin        (206 Partial Content)
//   curl -i -H 'If-None-Match: "..."' ...                (304 with the ETag you got)
//   curl -OJ http://127.0.0.1:PORT/download/notes.txt    (saved under its own name)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/static_files.hpp"
#include "brigade/loop.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  long port = 0;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else if (dir.empty() && argv[i][0] != '-') {
      dir = argv[i];
    } else {
      dir.clear();
      break;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: static_site DIR [--port N]\n");
    return 2;
  }
  Loop loop;
  http::App app;
  http::StaticOptions o;
  o.file.max_age_s = 3600;
  o.extensions = {"html"};
  app.use(http::serve_static(dir, o));  // throws (and the program ends) if DIR cannot be opened
  app.get("/download/:name", [&dir](http::Req& req, http::Res& res) -> Task<void> {
    http::SendFileOptions confined;
    confined.root = dir;  // a name like "../x" cannot leave DIR (403)
    std::string name(req.param("name"));
    Task<void> sending = res.download(name, name, confined);
    co_await sending;
  });
  http::Server server = app.listen(loop, "127.0.0.1", static_cast<uint16_t>(port));
  std::printf("http://127.0.0.1:%u/\n", server.port());
  std::fflush(stdout);
  loop.run();
}
