// The event loop's queues in Node's order: next_tick, then microtasks, then timers and
// immediates; inside an I/O callback an immediate always runs before a 0 ms timer.
#include <unistd.h>

#include <cstdio>

#include "brigade/loop.hpp"

int main() {
  brigade::Loop loop;
  loop.set_timeout(0, [] { std::puts("main: timeout"); });
  loop.set_immediate([] { std::puts("main: immediate"); });
  loop.next_tick([] { std::puts("main: nextTick"); });
  loop.queue_microtask([] { std::puts("main: microtask"); });
  std::puts("main: sync");

  int fds[2];
  if (pipe(fds) != 0) return 1;
  brigade::IoWatch watch;
  watch.fd = fds[0];
  watch.data = &loop;
  watch.handler = [](brigade::IoWatch& w, uint32_t) {
    auto& l = *static_cast<brigade::Loop*>(w.data);
    char c;
    if (read(w.fd, &c, 1) != 1) return;
    l.io_stop(w);
    l.set_timeout(0, [] { std::puts("io: timeout"); });
    l.set_immediate([] { std::puts("io: immediate"); });
    l.next_tick([] { std::puts("io: nextTick"); });
    l.queue_microtask([] { std::puts("io: microtask"); });
    std::puts("io: sync");
  };
  loop.io_start(watch, brigade::io::kReadable);
  loop.set_timeout(50, [&] {  // well after the first turn, even on a loaded machine
    if (write(fds[1], "x", 1) != 1) std::puts("write failed");
  });
  loop.run();
  close(fds[0]);
  close(fds[1]);
  return 0;
}
