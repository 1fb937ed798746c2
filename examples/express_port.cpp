// A small Express service ported line by line. The JavaScript original:
//
//   const app = express();
//   app.use(requestId());                                    // express-request-id
//   app.use(morgan(':remote-addr :method :url :status :res[content-length] :response-time ms'));
//   app.use(cors({ origin: ['http://localhost:3000'] }));
//   app.use(async (req, res, next) => {                      // timing, around the rest
//     const t0 = process.hrtime.bigint();
//     res.set('Server-Timing', ...); // (Express needs on-headers for this; brigade's buffered
//     await next();                  //  answer is still open after next())
//   });
//   const todos = express.Router();
//   todos.get('/', (req, res) => res.json([...store.values()]));
//   todos.get('/:id', (req, res) => {
//     const t = store.get(req.params.id);
//     if (!t) throw new NotFound(`no todo ${req.params.id}`);
//     res.json(t);
//   });
//   app.use('/api/v1/todos', todos);
//   app.use('/api', (err, req, res, next) =>                 // errors under /api as JSON
//     res.status(err.status || 500).json({ error: err.message }));
//   app.listen(3000);
//
//   express_port [--port N]     (0, the default, picks a free port)
//   curl http://127.0.0.1:PORT/api/v1/todos/1
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include "brigade/http/access_log.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/cors.hpp"
#include "brigade/http/request_id.hpp"
#include "brigade/loop.hpp"

using namespace brigade;
using http::Next;
using http::Req;
using http::Res;

namespace {

struct NotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Todo {
  std::string title;
  bool done = false;
};

nlohmann::json to_json(const std::string& id, const Todo& t) {
  return {{"id", id}, {"title", t.title}, {"done", t.done}};
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: express_port [--port N]\n");
      return 2;
    }
  }
  std::map<std::string, Todo> store{{"1", {"port the app", true}}, {"2", {"ship it", false}}};

  Loop loop;
  http::App app;
  app.use(http::request_id());
  app.use(http::access_log());  // a JSON line per request on stderr, written off the loop
  http::CorsOptions cors;
  cors.origins = {"http://localhost:3000"};
  app.use(http::cors(cors));
  app.use([](Req&, Res& res, Next next) -> Task<void> {
    auto t0 = std::chrono::steady_clock::now();
    co_await next();
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    res.set("Server-Timing", "app;dur=" + std::to_string(ms));
  });

  http::Router todos;
  todos.get("/", [&store](Req&, Res& res) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [id, t] : store) all.push_back(to_json(id, t));
    res.json(all);
  });
  todos.get("/:id", [&store](Req& req, Res& res) {
    auto it = store.find(std::string(req.param("id")));
    if (it == store.end()) throw NotFound("no todo " + std::string(req.param("id")));
    res.json(to_json(it->first, it->second));
  });
  app.use("/api/v1/todos", std::move(todos));
  app.on_error("/api", [](Req&, Res& res, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const NotFound& nf) {
      res.status(404).json({{"error", nf.what()}});
    } catch (const std::exception& other) {
      res.status(500).json({{"error", other.what()}});
    }
  });

  http::Server server = app.listen(loop, "127.0.0.1", static_cast<uint16_t>(port));
  std::printf("http://127.0.0.1:%u/api/v1/todos\n", server.port());
  std::fflush(stdout);
  loop.run();
}
