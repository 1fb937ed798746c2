// Request bodies as Express's body parsers and multer give them: JSON, urlencoded forms and
// multipart uploads, with 415 / 413 / 400 answered for the wrong type, too much, or malformed.
//
//   http_forms [--port N]
//
// Prints its URL on 127.0.0.1 (port 0, the default, picks a free one). Try:
//   curl -H 'Content-Type: application/json' -d '{"name":"Ada"}' http://127.0.0.1:PORT/users
//   curl -d 'user=ada&remember=1' http://127.0.0.1:PORT/login
//   curl -F caption=cat -F photo=@cat.jpg http://127.0.0.1:PORT/photos
//   curl -H 'Content-Type: application/json' -d '{"name":' http://127.0.0.1:PORT/users  # 400
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/body.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  uint16_t port = 0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--port") == 0) port = static_cast<uint16_t>(std::atoi(argv[i + 1]));
  Loop loop;
  http::App app;

  // express.json(): the parsed body, or 415 / 413 / 400 with a message.
  app.post("/users", [](http::Req& req, http::Res& res) -> Task<void> {
    nlohmann::json user = co_await req.json({.max_bytes = 100 * 1024});
    if (!user.is_object() || !user.contains("name") || !user["name"].is_string()) {
      res.status(400).json({{"error", "name (a string) is required"}});
      co_return;
    }
    res.status(201).json({{"created", user["name"]}});
  });

  // express.urlencoded(): the fields in order, %XX and '+' decoded.
  app.post("/login", [](http::Req& req, http::Res& res) -> Task<void> {
    http::FormFields form = co_await req.form();
    res.send("hello " + std::string(http::form_value(form, "user")) + "\n");
  });

  // multer: the route streams, so a file part goes to a temporary file piece by piece, never
  // whole in memory; the form removes its files when it goes, so keep one by renaming it.
  app.post("/photos", http::RouteOptions::stream(),
           [](http::Req& req, http::Res& res) -> Task<void> {
             http::MultipartOptions options;
             options.limits.max_file_bytes = 20 << 20;
             options.limits.max_files = 1;
             http::MultipartForm upload = co_await req.multipart(std::move(options));
             const http::UploadedFile* photo = upload.file("photo");
             if (!photo) {
               res.status(400).send("no photo part\n");
               co_return;
             }
             res.json({{"caption", std::string(upload.field("caption"))},
                       {"filename", photo->filename},
                       {"type", photo->content_type},
                       {"bytes", photo->size}});
           });

  http::Server server = app.listen(loop, "127.0.0.1", port);
  std::printf("http_forms on http://127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  loop.run();
}
