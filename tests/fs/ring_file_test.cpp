// Whole-file reads through the loop's io_uring ring (BRIGADE_FS=ring) and through the pool
// (BRIGADE_FS=pool) give the same bytes and the same errors; on epoll both are the pool.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "fs_support.hpp"

using namespace brigade;

namespace ring_file_test {

// Sets BRIGADE_FS for the scope (read at each call); puts back what was there.
class FsMode {
 public:
  explicit FsMode(const char* mode) {
    if (const char* old = std::getenv("BRIGADE_FS")) saved_ = old;
    ::setenv("BRIGADE_FS", mode, 1);
  }
  ~FsMode() {
    if (saved_)
      ::setenv("BRIGADE_FS", saved_->c_str(), 1);
    else
      ::unsetenv("BRIGADE_FS");
  }

 private:
  std::optional<std::string> saved_;
};

constexpr const char* kModes[] = {"ring", "pool"};

int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d)) ++n;
  ::closedir(d);
  return n;
}

std::string patterned(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = char('a' + i * 7 % 26);
  return s;
}

}  // namespace ring_file_test

namespace rft = ring_file_test;

TEST_F(FsTest, LoopSaysWhetherItReadsFilesOnItsRing) {
  EXPECT_EQ(loop_.io_files(), std::string(loop_.backend()) == "io_uring");
}

TEST_F(FsTest, RingAndPoolReadTheSameBytes) {
  const std::size_t sizes[] = {0, 1, 4096, 65537, (1u << 20) + 3};
  for (std::size_t n : sizes) run(fs::write_file(path(std::to_string(n)), rft::patterned(n)));
  for (const char* mode : rft::kModes) {
    rft::FsMode m(mode);
    int fds = rft::open_fds();
    uint64_t pooled = ThreadPool::shared().stats().completed;
    for (std::size_t n : sizes) {
      EXPECT_EQ(run(fs::read_file(path(std::to_string(n)))), rft::patterned(n)) << mode << n;
      auto bytes = run(fs::read_file_bytes(path(std::to_string(n))));
      EXPECT_EQ(bytes.size(), n) << mode;
    }
    // The ring reads files up to 64 KiB itself and hands larger ones (65537 bytes and 1 MiB)
    // to the pool once opened; the pool reads every one.
    bool ring = std::string(mode) == "ring" && loop_.io_files();
    EXPECT_EQ(ThreadPool::shared().stats().completed - pooled, ring ? 4u : 2 * std::size(sizes))
        << mode;
    // No size to trust (/proc reports 0): read to the end.
    EXPECT_NE(run(fs::read_file("/proc/self/status")).find("Pid:"), std::string::npos) << mode;
    EXPECT_EQ(rft::open_fds(), fds) << mode;  // every file closed, those the pool read too
  }
}

TEST_F(FsTest, RingAndPoolFailTheSame) {
  run(fs::write_file(path("file"), "x"));
  run(fs::write_file(path("locked"), "x"));
  ::chmod(path("locked").c_str(), 0);
  for (const char* mode : rft::kModes) {
    rft::FsMode m(mode);
    SCOPED_TRACE(mode);
    expect_error(fs::read_file(path("nope")), ENOENT, "open '" + path("nope") + "'");
    expect_error(fs::read_file(dir_), EISDIR, "read '" + dir_ + "'");
    expect_error(fs::read_file_bytes(dir_), EISDIR, "read '" + dir_ + "'");
    expect_error(fs::read_file(path("file/inner")), ENOTDIR, "open '" + path("file/inner") + "'");
    if (::geteuid() != 0)  // root opens a mode-000 file all the same
      expect_error(fs::read_file(path("locked")), EACCES, "open '" + path("locked") + "'");
  }
}

// Many reads at once through the ring, each a different size, all in one loop.
TEST_F(FsTest, RingReadsManyAtOnce) {
  rft::FsMode m("ring");
  for (int i = 0; i < 16; ++i)
    run(fs::write_file(path("f" + std::to_string(i)), rft::patterned(i * 1000)));
  auto read_and_check = [](std::string file, std::size_t n) -> Task<int> {
    std::string got = co_await fs::read_file(std::move(file));
    co_return got == rft::patterned(n) ? 1 : 0;
  };
  std::vector<Task<int>> reads;
  for (int i = 0; i < 500; ++i)
    reads.push_back(read_and_check(path("f" + std::to_string(i % 16)), std::size_t(i % 16) * 1000));
  auto results = run(when_all(std::move(reads)));
  EXPECT_EQ(std::count(results.begin(), results.end(), 1), 500);
}
