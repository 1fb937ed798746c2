// Messages between the main loop and a Worker (MessagePort), same workloads as
// bench/node/worker_messages.js (worker_threads postMessage):
//   rtt_us            ping-pong of a small int, COUNT round trips, microseconds per round trip;
//   msg_per_s         one-way small ints, main -> worker;
//   buf_copy_per_s    one-way 1 MiB buffers, each a copy of one buffer (Node: postMessage(buf));
//   buf_move_per_s    one-way fresh 1 MiB std::vector<char>s, filled, then moved (Node:
//                     transfer list).
// One-way streams keep two batches in flight: the worker acks every batch, each ack releases the
// next one, so neither side queues without bound.
// Usage: worker_messages [COUNT=100000] [BUFFERS=2000]
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

namespace {

constexpr int kStop = -1;
constexpr std::size_t kMiB = 1 << 20;

enum Mode { kEcho, kSink };

// The worker: echoes every message back, or counts them and acks each batch with the count.
void worker_main(WorkerContext& ctx) {
  const long batch = ctx.worker_data.get<long>();  // 0: echo
  MessagePort* port = &ctx.parent_port;
  long received = 0;
  port->on_message([port, batch, received](Message m) mutable {
    if (m.is<int>() && m.get<int>() == kStop) {
      port->close();
      return;
    }
    if (batch == 0) {
      port->post_message(std::move(m));
    } else if (++received % batch == 0) {
      port->post_message(received);
    }
  });
}

// Runs the loop until the worker has exited; returns the nanoseconds from start to `*end_ns`.
uint64_t run_worker(Loop& loop, Worker& worker, uint64_t start_ns, const uint64_t& end_ns) {
  loop.run();
  if (worker.exit_code() != 0) {
    std::fprintf(stderr, "worker exited with %d\n", worker.exit_code().value_or(-1));
    std::exit(1);
  }
  return end_ns - start_ns;
}

double round_trip_us(long count) {
  Loop loop;
  Worker worker(loop, worker_main, Message(0L));
  long left = count;
  uint64_t end_ns = 0;
  worker.on_message([&](Message m) {
    if (--left > 0) {
      worker.post_message(std::move(m));
      return;
    }
    end_ns = Loop::hrtime();
    worker.post_message(kStop);
  });
  const uint64_t start = Loop::hrtime();
  worker.post_message(1);
  return double(run_worker(loop, worker, start, end_ns)) / 1e3 / double(count);
}

// Streams `count` messages made by make() to a counting worker; returns messages per second.
template <typename Make>
double one_way_per_s(long count, long batch, Make make) {
  Loop loop;
  Worker worker(loop, worker_main, Message(batch));
  long sent = 0;
  uint64_t end_ns = 0;
  auto send_batch = [&] {
    for (long i = 0; i < batch && sent < count; ++i, ++sent) worker.post_message(make());
  };
  worker.on_message([&](Message m) {
    if (m.get<long>() < count) return send_batch();
    end_ns = Loop::hrtime();
    worker.post_message(kStop);
  });
  const uint64_t start = Loop::hrtime();
  send_batch();
  send_batch();
  return double(count) * 1e9 / double(run_worker(loop, worker, start, end_ns));
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 100'000;
  const long buffers = argc > 2 ? std::atol(argv[2]) : 2000;
  std::printf("rtt_us %.2f\n", round_trip_us(count));
  std::printf("msg_per_s %.0f\n", one_way_per_s(count, 1000, [] { return Message(1); }));
  const std::vector<char> one(kMiB, 'x');
  std::printf("buf_copy_per_s %.0f\n",
              one_way_per_s(buffers, 8, [&one] { return Message(std::vector<char>(one)); }));
  std::printf("buf_move_per_s %.0f\n",
              one_way_per_s(buffers, 8, [] { return Message(std::vector<char>(kMiB, 'y')); }));
  return 0;
}
