// Node's "readFile before/after" ordering: the read is handed to the thread pool, so "after"
// prints before "file read", and the loop keeps turning while the pool reads.
//
//   console.log('before');
//   fs.promises.readFile(file).then((data) => console.log('file read', data.length));
//   console.log('after');
#include <cstdio>
#include <functional>
#include <string>

#include "brigade/fs.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

Task<void> read_and_report(std::string path, bool& done, const int& turns) {
  std::string data = co_await fs::read_file(std::move(path));
  std::printf("file read: %zu bytes (the loop turned %d times meanwhile)\n", data.size(), turns);
  done = true;
}

int main(int argc, char** argv) {
  Loop loop;
  std::string path = argc > 1 ? argv[1] : "/proc/self/exe";  // by default, this program itself
  int turns = 0;
  bool done = false;

  std::printf("before\n");
  spawn(read_and_report(path, done, turns), "read_file");
  std::printf("after\n");

  // One immediate per loop turn until the read is back: the loop is not waiting on the disk.
  std::function<void()> count_turn = [&] {
    ++turns;
    if (!done) loop.set_immediate([&] { count_turn(); });
  };
  loop.set_immediate([&] { count_turn(); });
  loop.run();
  return done ? 0 : 1;
}
