// Load for the WebSocket benchmarks (the same client against brigade and Node + ws).
//   ws_load echo PORT CONNECTIONS SECONDS SIZE   each connection: send SIZE bytes, await the echo,
//                                                repeat; prints "round_trips N" and "seconds S"
//   ws_load broadcast PORT CONNECTIONS ROUNDS    CONNECTIONS sockets listen; one more asks for a
//                                                broadcast ROUNDS times; prints the median time
//                                                until every socket got it ("deliver_ms X")
//   ws_load idle PORT CONNECTIONS                opens them, prints "holding", waits for SIGTERM
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "brigade/task.hpp"
#include "brigade/ws.hpp"

using namespace brigade;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Task<std::vector<ws::WebSocket>> open_many(std::string url, int n) {
  std::vector<ws::WebSocket> out;
  ws::ClientOptions o;
  o.ping_interval_ms = 0;
  for (int i = 0; i < n; ++i) {
    auto c = ws::connect(url, o);
    out.push_back(co_await c);
  }
  co_return out;
}

Task<void> echo_one(ws::WebSocket ws, std::size_t size, double until, uint64_t& count) {
  std::string msg(size, 'e');
  while (now_s() < until) {
    co_await ws.send_binary(msg);
    auto m = co_await ws.receive();
    if (!m) co_return;
    ++count;
  }
}

Task<void> echo(std::string url, int conns, double secs, std::size_t size) {
  auto opening = open_many(url, conns);
  std::vector<ws::WebSocket> all = co_await opening;
  uint64_t count = 0;
  double start = now_s();
  std::vector<Task<void>> tasks;
  for (auto& ws : all) tasks.push_back(echo_one(ws, size, start + secs, count));
  for (auto& t : tasks) co_await t;
  double took = now_s() - start;
  std::printf("round_trips %llu\nseconds %.3f\n", static_cast<unsigned long long>(count), took);
  for (auto& ws : all) ws.terminate();
}

Task<void> receive_one(ws::WebSocket ws, int& left) {
  auto m = co_await ws.receive();
  if (m) --left;
}

Task<void> broadcast(std::string url, int conns, int rounds) {
  auto opening = open_many(url, conns);
  std::vector<ws::WebSocket> all = co_await opening;
  auto asking = open_many(url, 1);
  ws::WebSocket asker = (co_await asking)[0];
  std::vector<double> times;
  for (int r = 0; r < rounds; ++r) {
    int left = conns;
    std::vector<Task<void>> waits;
    for (auto& ws : all) waits.push_back(receive_one(ws, left));
    double start = now_s();
    co_await asker.send("broadcast");
    auto sent = co_await asker.receive();  // the asker's own copy or "sent N": read both
    auto sent2 = co_await asker.receive();
    for (auto& w : waits) co_await w;
    times.push_back((now_s() - start) * 1000);
    if (left != 0) std::fprintf(stderr, "round %d: %d sockets missed the message\n", r, left);
    (void)sent;
    (void)sent2;
  }
  std::sort(times.begin(), times.end());
  std::printf("deliver_ms %.2f\n", times[times.size() / 2]);
  for (auto& ws : all) ws.terminate();
  asker.terminate();
}

Task<void> idle(std::string url, int conns) {
  auto opening = open_many(url, conns);
  std::vector<ws::WebSocket> all = co_await opening;
  std::printf("holding %d\n", conns);
  std::fflush(stdout);
  co_await brigade::sleep(uint64_t(24) * 3600 * 1000);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: ws_load echo|broadcast|idle PORT CONNECTIONS [...]\n");
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  std::string mode = argv[1];
  std::string url = std::string("ws://127.0.0.1:") + argv[2] + "/echo";
  int conns = std::atoi(argv[3]);
  Loop loop;
  if (mode == "echo" && argc >= 6)
    run(loop, echo(url, conns, std::atof(argv[4]), std::size_t(std::atoi(argv[5]))));
  else if (mode == "broadcast" && argc >= 5)
    run(loop, broadcast(url, conns, std::atoi(argv[4])));
  else if (mode == "idle")
    run(loop, idle(url, conns));
  else
    return 2;
}
