#include <unistd.h>

#include <chrono>

#include "fs_support.hpp"

using namespace brigade;

TEST_F(FsTest, StatReportsTypeSizeModeAndTimes) {
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(5);
  run(fs::write_file(path("s"), "12345"));
  fs::Stats st = run(fs::stat(path("s")));
  EXPECT_TRUE(st.is_file());
  EXPECT_FALSE(st.is_directory());
  EXPECT_FALSE(st.is_symlink());
  EXPECT_EQ(st.type(), fs::FileType::kFile);
  EXPECT_EQ(st.size, 5u);
  EXPECT_EQ(st.nlink, 1u);
  EXPECT_GT(st.ino, 0u);
  EXPECT_GT(st.mtime, before);
  EXPECT_LE(st.mtime, std::chrono::system_clock::now() + std::chrono::seconds(5));
  fs::Stats d = run(fs::stat(dir_));
  EXPECT_TRUE(d.is_directory());
  EXPECT_EQ(d.permissions(), 0700u);  // mkdtemp's mode
}

TEST_F(FsTest, LstatSeesTheSymlinkStatFollowsIt) {
  run(fs::write_file(path("target"), "abc"));
  run(fs::symlink("target", path("link")));
  EXPECT_TRUE(run(fs::lstat(path("link"))).is_symlink());
  fs::Stats followed = run(fs::stat(path("link")));
  EXPECT_TRUE(followed.is_file());
  EXPECT_EQ(followed.size, 3u);
  EXPECT_EQ(run(fs::readlink(path("link"))), "target");
  expect_error(fs::readlink(path("target")), EINVAL, "readlink '" + path("target") + "'");
}

TEST_F(FsTest, StatErrors) {
  expect_error(fs::stat(path("nope")), ENOENT, "stat '" + path("nope") + "'");
  expect_error(fs::lstat(path("nope")), ENOENT, "lstat '" + path("nope") + "'");
  run(fs::write_file(path("f"), ""));
  expect_error(fs::stat(path("f/x")), ENOTDIR, "stat '" + path("f/x") + "'");
  run(fs::symlink(path("gone"), path("dangling")));
  expect_error(fs::stat(path("dangling")), ENOENT, "stat '" + path("dangling") + "'");
  EXPECT_TRUE(run(fs::lstat(path("dangling"))).is_symlink());
}

TEST_F(FsTest, AccessAndExists) {
  run(fs::write_file(path("here"), ""));
  run(fs::access(path("here")));
  run(fs::access(path("here"), R_OK | W_OK));
  expect_error(fs::access(path("gone")), ENOENT, "access '" + path("gone") + "'");
  EXPECT_TRUE(run(fs::exists(path("here"))));
  EXPECT_TRUE(run(fs::exists(dir_)));
  EXPECT_FALSE(run(fs::exists(path("gone"))));
  // EACCES is not tested: root passes every permission check.
}

TEST_F(FsTest, Chmod) {
  run(fs::write_file(path("c"), ""));
  run(fs::chmod(path("c"), 0640));
  EXPECT_EQ(run(fs::stat(path("c"))).permissions(), 0640u);
  expect_error(fs::chmod(path("nope"), 0600), ENOENT, "chmod '" + path("nope") + "'");
}

TEST_F(FsTest, RealpathResolvesLinksAndDots) {
  run(fs::mkdir(path("real")));
  run(fs::symlink(path("real"), path("alias")));
  std::string canonical = run(fs::realpath(path("real")));
  EXPECT_EQ(run(fs::realpath(path("alias"))), canonical);
  EXPECT_EQ(run(fs::realpath(path("real/../real/."))), canonical);
  expect_error(fs::realpath(path("nope")), ENOENT, "realpath '" + path("nope") + "'");
}
