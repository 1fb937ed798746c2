// A project outside brigade's tree, built against the installed package.
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
  std::puts("consumer ok");
  return 0;
}
