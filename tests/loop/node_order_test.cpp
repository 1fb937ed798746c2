// Node's queue order, checked against node itself: next_tick, microtask, set_timeout(0) and
// set_immediate scheduled from the main program and from inside an I/O callback.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "brigade/loop.hpp"

using namespace brigade;

namespace {

std::vector<std::string> run_node(const std::string& script) {
  std::string cmd = "node -e '" + script + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::vector<std::string> lines;
  if (!p) return lines;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) {
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    lines.push_back(s);
  }
  pclose(p);
  return lines;
}

bool have_node() { return system("node --version >/dev/null 2>&1") == 0; }

void schedule_all(Loop& loop, std::vector<std::string>& out, const std::string& tag) {
  loop.set_timeout(0, [&out, tag] { out.push_back(tag + "timeout"); });
  loop.set_immediate([&out, tag] { out.push_back(tag + "immediate"); });
  loop.next_tick([&out, tag] { out.push_back(tag + "nextTick"); });
  loop.queue_microtask([&out, tag] { out.push_back(tag + "microtask"); });
  out.push_back(tag + "sync");
}

const char* kNodeSchedule =
    "function all(tag){"
    "setTimeout(()=>console.log(tag+\"timeout\"),0);"
    "setImmediate(()=>console.log(tag+\"immediate\"));"
    "process.nextTick(()=>console.log(tag+\"nextTick\"));"
    "Promise.resolve().then(()=>console.log(tag+\"microtask\"));"
    "console.log(tag+\"sync\");}";

}  // namespace

TEST(NodeOrder, InsideAnIoCallbackMatchesNode) {
  if (!have_node()) GTEST_SKIP() << "node not installed";
  std::vector<std::string> node = run_node(std::string(kNodeSchedule) +
                                           "require(\"fs\").readFile(\"/etc/hostname\",()=>all(\"io:\"));");
  Loop loop;
  std::vector<std::string> ours;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  struct Ctx {
    Loop* loop;
    std::vector<std::string>* out;
  } ctx{&loop, &ours};
  IoWatch w;
  w.fd = fds[0];
  w.data = &ctx;
  w.handler = [](IoWatch& watch, uint32_t) {
    auto* c = static_cast<Ctx*>(watch.data);
    char b;
    ASSERT_EQ(read(watch.fd, &b, 1), 1);
    c->loop->io_stop(watch);
    schedule_all(*c->loop, *c->out, "io:");
  };
  ASSERT_EQ(loop.io_start(w, io::kReadable), 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  loop.run();
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(ours, (std::vector<std::string>{"io:sync", "io:nextTick", "io:microtask", "io:immediate",
                                            "io:timeout"}));
  EXPECT_EQ(ours, node);
}

TEST(NodeOrder, FromTheMainProgramMatchesNode) {
  if (!have_node()) GTEST_SKIP() << "node not installed";
  std::vector<std::string> node = run_node(std::string(kNodeSchedule) + "all(\"main:\");");
  Loop loop;
  std::vector<std::string> ours;
  schedule_all(loop, ours, "main:");
  loop.run();
  ASSERT_EQ(ours.size(), 5u);
  ASSERT_EQ(node.size(), 5u);
  // sync, nextTick, microtask are fixed; timeout vs immediate depends on timing in Node too.
  EXPECT_EQ(std::vector<std::string>(ours.begin(), ours.begin() + 3),
            std::vector<std::string>(node.begin(), node.begin() + 3));
  std::vector<std::string> our_tail(ours.begin() + 3, ours.end()), node_tail(node.begin() + 3, node.end());
  std::sort(our_tail.begin(), our_tail.end());
  std::sort(node_tail.begin(), node_tail.end());
  EXPECT_EQ(our_tail, node_tail);
}

TEST(NodeOrder, NestedTicksAndMicrotasksMatchNode) {
  if (!have_node()) GTEST_SKIP() << "node not installed";
  std::vector<std::string> node = run_node(
      "setImmediate(()=>{"
      "Promise.resolve().then(()=>{console.log(\"m1\");process.nextTick(()=>console.log(\"t2\"));"
      "Promise.resolve().then(()=>console.log(\"m2\"));});"
      "process.nextTick(()=>{console.log(\"t1\");Promise.resolve().then(()=>console.log(\"m0\"));});"
      "console.log(\"cb\");});"
      "setImmediate(()=>console.log(\"next\"));");
  Loop loop;
  std::vector<std::string> ours;
  loop.set_immediate([&] {
    loop.queue_microtask([&] {
      ours.push_back("m1");
      loop.next_tick([&] { ours.push_back("t2"); });
      loop.queue_microtask([&] { ours.push_back("m2"); });
    });
    loop.next_tick([&] {
      ours.push_back("t1");
      loop.queue_microtask([&] { ours.push_back("m0"); });
    });
    ours.push_back("cb");
  });
  loop.set_immediate([&] { ours.push_back("next"); });
  loop.run();
  EXPECT_EQ(ours, node);
}
