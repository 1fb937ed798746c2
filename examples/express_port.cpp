// A small Express service ported line by line: a REST resource on a mounted router, JSON bodies
// with validation errors as 400, a static front page, CORS, compression, request ids and an
// access log. The JavaScript original:
//
//   const app = express();
//   app.use(requestId());                                    // express-request-id
//   app.use(morgan(':remote-addr :method :url :status :res[content-length] :response-time ms'));
//   app.use(cors({ origin: ['http://localhost:3000'] }));
//   app.use(compression());                                  // gzip, deflate, br (and zstd)
//   app.use(async (req, res, next) => {                      // timing, around the rest
//     const t0 = process.hrtime.bigint();
//     res.set('Server-Timing', ...); // (Express needs on-headers for this; brigade's buffered
//     await next();                  //  answer is still open after next())
//   });
//   app.use(express.static(publicDir));                      // the front page
//   const todos = express.Router();
//   todos.use(express.json({ limit: '16kb' }));
//   todos.get('/', (req, res) => res.json([...store.values()]));
//   todos.get('/:id', (req, res) => res.json(find(req.params.id)));
//   todos.post('/', (req, res) => {
//     const t = { id: String(nextId++), ...validTodo(req.body) };
//     store.set(t.id, t);
//     res.status(201).location(`/api/v1/todos/${t.id}`).json(t);
//   });
//   todos.patch('/:id', (req, res) =>
//     res.json(Object.assign(find(req.params.id), validPatch(req.body))));
//   todos.delete('/:id', (req, res) => {
//     find(req.params.id);
//     store.delete(req.params.id);
//     res.status(204).end();
//   });
//   app.use('/api/v1/todos', todos);
//   app.use('/api', (err, req, res, next) =>                 // errors under /api as JSON
//     res.status(err.status || 500).json({ error: err.message, field: err.field }));
//   app.listen(3000);
//
// where find() throws a 404 NotFound and validTodo()/validPatch() a 400 naming the field
// ("title": a string of 1 to 200 characters, "done": a boolean; no other field).
//
//   express_port [--port N] [--public DIR]   (port 0, the default, picks a free port; DIR
//                                            defaults to examples/public: run it from the
//                                            repository's top folder)
//   curl -H 'Content-Type: application/json' -d '{"title":"write docs"}' URL/api/v1/todos
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "brigade/http/access_log.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/body.hpp"
#include "brigade/http/compression.hpp"
#include "brigade/http/cors.hpp"
#include "brigade/http/request_id.hpp"
#include "brigade/http/static_files.hpp"
#include "brigade/loop.hpp"

using namespace brigade;
using http::Next;
using http::Req;
using http::Res;

namespace {

struct NotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A field of the body that does not validate: a 400 naming the field.
struct Invalid : std::runtime_error {
  Invalid(std::string f, const std::string& message)
      : std::runtime_error(message), field(std::move(f)) {}
  std::string field;
};

struct Todo {
  std::string title;
  bool done = false;
};

using Store = std::map<std::string, Todo, std::less<>>;

nlohmann::json to_json(std::string_view id, const Todo& t) {
  return {{"id", id}, {"title", t.title}, {"done", t.done}};
}

Store::iterator find(Store& store, std::string_view id) {
  auto it = store.find(id);
  if (it == store.end()) throw NotFound("no todo " + std::string(id));
  return it;
}

// Applies the fields of `body` to `t`; `whole`: "title" is required (a POST, not a PATCH).
void apply(const nlohmann::json& body, Todo& t, bool whole) {
  if (!body.is_object()) throw Invalid("", "the body must be a JSON object");
  for (const auto& [key, value] : body.items())
    if (key != "title" && key != "done") throw Invalid(key, "unknown field '" + key + "'");
  if (auto title = body.find("title"); title != body.end()) {
    const std::string* s = title->get_ptr<const std::string*>();
    if (!s || s->empty() || s->size() > 200)
      throw Invalid("title", "title must be a string of 1 to 200 characters");
    t.title = *s;
  } else if (whole) {
    throw Invalid("title", "title is required");
  }
  if (auto done = body.find("done"); done != body.end()) {
    if (!done->is_boolean()) throw Invalid("done", "done must be true or false");
    t.done = done->get<bool>();
  }
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  std::string public_dir = "examples/public";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--public") == 0 && i + 1 < argc) {
      public_dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: express_port [--port N] [--public DIR]\n");
      return 2;
    }
  }
  Store store{{"1", {"port the app", true}}, {"2", {"ship it", false}}};
  int next_id = 3;

  Loop loop;
  http::App app;
  app.use(http::request_id());
  app.use(http::access_log());  // a JSON line per request on stderr, written off the loop
  http::CorsOptions cors;
  cors.origins = {"http://localhost:3000"};
  app.use(http::cors(cors));
  app.use(http::compression());
  app.use([](Req&, Res& res, Next next) -> Task<void> {
    auto t0 = std::chrono::steady_clock::now();
    co_await next();
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    res.set("Server-Timing", "app;dur=" + std::to_string(ms));
  });
  http::StaticOptions files;
  app.use(http::serve_static(public_dir, files));  // throws now if the folder is missing

  http::Router todos;
  http::BodyLimits limits;
  limits.max_bytes = 16 * 1024;  // express.json({ limit: '16kb' }): a larger body is a 413
  todos.get("/", [&store](Req&, Res& res) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [id, t] : store) all.push_back(to_json(id, t));
    res.json(all);
  });
  todos.get("/:id", [&store](Req& req, Res& res) {
    res.json(to_json(req.param("id"), find(store, req.param("id"))->second));
  });
  todos.post("/", [&store, &next_id, limits](Req& req, Res& res) -> Task<void> {
    nlohmann::json body = co_await req.json(limits);  // 400 bad JSON, 415 another type
    Todo t;
    apply(body, t, true);
    std::string id = std::to_string(next_id++);
    res.status(201).set("Location", "/api/v1/todos/" + id).json(to_json(id, t));
    store.emplace(std::move(id), std::move(t));
  });
  todos.patch("/:id", [&store, limits](Req& req, Res& res) -> Task<void> {
    find(store, req.param("id"));  // a missing todo is a 404 before its body is read
    nlohmann::json body = co_await req.json(limits);
    Todo& t = find(store, req.param("id"))->second;  // again: a DELETE may have come meanwhile
    Todo changed = t;
    apply(body, changed, false);  // every field valid, or none applied
    t = std::move(changed);
    res.json(to_json(req.param("id"), t));
  });
  todos.del("/:id", [&store](Req& req, Res& res) {
    store.erase(find(store, req.param("id")));
    res.status(204).end();
  });
  app.use("/api/v1/todos", std::move(todos));
  app.on_error("/api", [](Req&, Res& res, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const NotFound& nf) {
      res.status(404).json({{"error", nf.what()}});
    } catch (const Invalid& bad) {
      res.status(400).json({{"error", bad.what()}, {"field", bad.field}});
    } catch (const http::HttpError& http) {  // the body parser's 400, 413, 415
      res.status(http.status()).json({{"error", http.what()}});
    } catch (const std::exception& other) {
      res.status(500).json({{"error", other.what()}});
    }
  });

  http::Server server = app.listen(loop, "127.0.0.1", static_cast<uint16_t>(port));
  std::printf("express_port listening on http://127.0.0.1:%u/ (api: /api/v1/todos)\n",
              server.port());
  std::fflush(stdout);
  loop.run();
}
