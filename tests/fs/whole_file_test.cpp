#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "brigade/pool.hpp"
#include "fs_support.hpp"

using namespace brigade;

TEST_F(FsTest, WriteThenReadFile) {
  run(fs::write_file(path("a.txt"), "hello, brigade"));
  EXPECT_EQ(run(fs::read_file(path("a.txt"))), "hello, brigade");
  run(fs::write_file(path("a.txt"), "short"));  // truncates
  EXPECT_EQ(run(fs::read_file(path("a.txt"))), "short");
}

TEST_F(FsTest, EmptyFileReadsEmpty) {
  run(fs::write_file(path("empty"), ""));
  EXPECT_EQ(run(fs::read_file(path("empty"))), "");
  EXPECT_TRUE(run(fs::read_file_bytes(path("empty"))).empty());
}

TEST_F(FsTest, BytesVariantsRoundTrip) {
  std::vector<std::byte> data(70000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7);
  run(fs::write_file(path("bin"), std::span<const std::byte>(data)));
  EXPECT_EQ(run(fs::read_file_bytes(path("bin"))), data);
  EXPECT_EQ(run(fs::stat(path("bin"))).size, data.size());
}

TEST_F(FsTest, AppendCreatesThenAppends) {
  run(fs::append_file(path("log"), "one\n"));
  run(fs::append_file(path("log"), "two\n"));
  EXPECT_EQ(run(fs::read_file(path("log"))), "one\ntwo\n");
}

TEST_F(FsTest, ReadsFilesWithoutASize) {
  // /proc files report size 0: read_file must read to EOF, not trust fstat.
  std::string status = run(fs::read_file("/proc/self/status"));
  EXPECT_NE(status.find("Pid:"), std::string::npos);
}

TEST_F(FsTest, ReadFileErrorsNameThePath) {
  expect_error(fs::read_file(path("nope")), ENOENT, "open '" + path("nope") + "'");
  expect_error(fs::read_file(dir_), EISDIR, "read '" + dir_ + "'");
  run(fs::write_file(path("file"), "x"));
  expect_error(fs::read_file(path("file/inner")), ENOTDIR, "open '" + path("file/inner") + "'");
  expect_error(fs::write_file(path("missing/x"), "x"), ENOENT, "open '" + path("missing/x") + "'");
}

TEST_F(FsTest, ErrorMessageReadsLikeNode) {
  try {
    run(fs::read_file("/nope"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "open '/nope': No such file or directory");
  }
}

TEST_F(FsTest, ThousandConcurrentReads) {
  for (int i = 0; i < 10; ++i)
    run(fs::write_file(path("f" + std::to_string(i)), std::to_string(i)));
  // Each task checks its own content and yields an int: when_all(vector<Task<std::string>>)
  // currently hands back moved-from strings (task layer: run_counted consumes the value).
  auto read_and_check = [](std::string file, std::string want) -> Task<int> {
    std::string got = co_await fs::read_file(std::move(file));
    co_return got == want ? 1 : 0;
  };
  std::vector<Task<int>> reads;
  for (int i = 0; i < 1000; ++i)
    reads.push_back(read_and_check(path("f" + std::to_string(i % 10)), std::to_string(i % 10)));
  auto results = run(when_all(std::move(reads)));
  ASSERT_EQ(results.size(), 1000u);
  EXPECT_EQ(std::count(results.begin(), results.end(), 1), 1000);
}

TEST_F(FsTest, RunsOnTheGivenPool) {
  ThreadPool pool(2);
  run(fs::write_file(path("p"), "pooled", pool));
  EXPECT_EQ(run(fs::read_file(path("p"), pool)), "pooled");
  EXPECT_EQ(pool.stats().completed, 2u);
}

TEST_F(FsTest, LoopKeepsTickingWhileABigFileIsWritten) {
  std::string big(64 << 20, 'z');  // 64 MiB: many milliseconds of write(2)
  int ticks = 0;
  bool written = false;
  int ticks_at_finish = -1;
  TimerId timer = loop_.set_interval(1, [&] { ++ticks; });
  run([&]() -> Task<void> {
    co_await fs::write_file(path("big"), big);
    fs::File file = co_await fs::open(path("big"), "r+");
    co_await file.sync();
    written = true;
    ticks_at_finish = ticks;
  }());
  loop_.clear_timer(timer);
  EXPECT_TRUE(written);
  EXPECT_GT(ticks_at_finish, 0) << "the timer never ran while the file was being written";
  EXPECT_EQ(run(fs::stat(path("big"))).size, big.size());
}
