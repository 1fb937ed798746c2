// A project outside brigade's tree, built against the installed package: the loop, a task, and
// the HTTP App with res.json's brace form from brigade's headers alone (no other include).
#include <brigade/http/app.hpp>
#include <brigade/loop.hpp>
#include <brigade/task.hpp>

#include <cstdio>

brigade::Task<int> answer() {
  co_await brigade::sleep(1);
  co_return 42;
}

int main() {
  brigade::Loop loop;
  int v = brigade::run(loop, answer());
  if (v != 42) return 1;
  brigade::http::App app;
  app.get("/users/:id", [](brigade::http::Req& req, brigade::http::Res& res) {
    res.json({{"id", std::string(req.param("id"))}, {"ok", true}});
  });
  auto server = app.listen(loop, "127.0.0.1", 0);
  if (server.port() == 0) return 1;
  server.close();
  loop.run();
  std::puts("consumer ok");
  return 0;
}
