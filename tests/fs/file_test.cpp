#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

#include "fs_support.hpp"

using namespace brigade;

namespace {
bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_F(FsTest, FileWriteReadAtPositions) {
  run([&]() -> Task<void> {
    fs::File f = co_await fs::open(path("f"), "w+");
    EXPECT_TRUE(f.is_open());
    EXPECT_EQ(co_await f.write("hello world"), 11u);
    EXPECT_EQ(co_await f.write("W", 6), 1u);  // positional: the offset stays at 11
    EXPECT_EQ(co_await f.write("!"), 1u);
    char buf[32];
    std::size_t n = co_await f.read(std::span<char>(buf, sizeof buf), 0);
    EXPECT_EQ(std::string(buf, n), "hello World!");
    n = co_await f.read(std::span<char>(buf, 5), 6);
    EXPECT_EQ(std::string(buf, n), "World");
    n = co_await f.read(std::span<char>(buf, sizeof buf));  // at the offset: end of file
    EXPECT_EQ(n, 0u);
    co_await f.close();
    EXPECT_FALSE(f.is_open());
  }());
  EXPECT_EQ(run(fs::read_file(path("f"))), "hello World!");
}

TEST_F(FsTest, FileSequentialReadsAdvance) {
  run(fs::write_file(path("seq"), "abcdef"));
  run([&]() -> Task<void> {
    fs::File f = co_await fs::open(path("seq"));
    std::byte b[4];
    EXPECT_EQ(co_await f.read(std::span<std::byte>(b, 4)), 4u);
    EXPECT_EQ(co_await f.read_all(), "ef");
  }());
}

TEST_F(FsTest, FileStatTruncateSync) {
  run([&]() -> Task<void> {
    fs::File f = co_await fs::open(path("t"), "w");
    co_await f.write(std::string(1000, 'x'));
    co_await f.sync();
    co_await f.datasync();
    fs::Stats st = co_await f.stat();
    EXPECT_EQ(st.size, 1000u);
    EXPECT_TRUE(st.is_file());
    co_await f.truncate(10);
    EXPECT_EQ((co_await f.stat()).size, 10u);
    co_await f.truncate();
    EXPECT_EQ((co_await f.stat()).size, 0u);
  }());
}

TEST_F(FsTest, FileDestructorClosesTheFd) {
  int fd = run([&]() -> Task<int> {
    fs::File f = co_await fs::open(path("d"), "w");
    co_return f.fd();
  }());
  EXPECT_FALSE(fd_is_open(fd));
}

TEST_F(FsTest, FileMoveAndRelease) {
  run([&]() -> Task<void> {
    fs::File a = co_await fs::open(path("m"), "w");
    int fd = a.fd();
    fs::File b = std::move(a);
    EXPECT_FALSE(a.is_open());
    EXPECT_EQ(b.fd(), fd);
    int raw = b.release();
    EXPECT_FALSE(b.is_open());
    EXPECT_TRUE(fd_is_open(raw));
    ::close(raw);
  }());
}

TEST_F(FsTest, OpenFlags) {
  EXPECT_EQ(fs::parse_open_flags("r"), O_RDONLY);
  EXPECT_EQ(fs::parse_open_flags("wx"), O_WRONLY | O_CREAT | O_TRUNC | O_EXCL);
  EXPECT_EQ(fs::parse_open_flags("xw"), O_WRONLY | O_CREAT | O_TRUNC | O_EXCL);
  EXPECT_EQ(fs::parse_open_flags("a+"), O_RDWR | O_CREAT | O_APPEND);
  EXPECT_EQ(fs::parse_open_flags("rs+"), O_RDWR | O_SYNC);
  EXPECT_THROW(fs::parse_open_flags("q"), std::invalid_argument);
  EXPECT_THROW(fs::parse_open_flags("rx"), std::invalid_argument);
  EXPECT_THROW((void)fs::open(path("x"), "bogus"), std::invalid_argument);
}

TEST_F(FsTest, OpenErrors) {
  expect_error(fs::open(path("nope")), ENOENT, "open '" + path("nope") + "'");
  run(fs::write_file(path("exists"), "1"));
  expect_error(fs::open(path("exists"), "wx"), EEXIST, "open '" + path("exists") + "'");
  expect_error(fs::open(path("exists/child"), "w"), ENOTDIR, "open '" + path("exists/child") + "'");
}

TEST_F(FsTest, AppendModeWritesAtTheEnd) {
  run(fs::write_file(path("ap"), "123"));
  run([&]() -> Task<void> {
    fs::File f = co_await fs::open(path("ap"), "a");
    co_await f.write("45");
  }());
  EXPECT_EQ(run(fs::read_file(path("ap"))), "12345");
}

TEST_F(FsTest, FileErrorsNameTheFd) {
  run([&]() -> Task<void> {
    fs::File f = co_await fs::open(path("ro"), "w");
    char buf[4];
    int fd = f.fd();
    try {
      co_await f.read(std::span<char>(buf, 4));  // write-only
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.errno_value(), EBADF);
      EXPECT_EQ(e.operation(), "read (fd " + std::to_string(fd) + ")");
    }
  }());
}
