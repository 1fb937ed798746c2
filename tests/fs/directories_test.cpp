#include <algorithm>
#include <set>

#include "fs_support.hpp"

using namespace brigade;

TEST_F(FsTest, ReaddirNames) {
  EXPECT_TRUE(run(fs::readdir(dir_)).empty());
  run(fs::write_file(path("a"), ""));
  run(fs::write_file(path("b"), ""));
  run(fs::mkdir(path("sub")));
  auto names = run(fs::readdir(dir_));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "sub"}));
}

TEST_F(FsTest, ReaddirWithFileTypes) {
  run(fs::write_file(path("file"), ""));
  run(fs::mkdir(path("dir")));
  run(fs::symlink("file", path("link")));
  auto entries = run(fs::readdir(dir_, fs::with_file_types));
  ASSERT_EQ(entries.size(), 3u);
  for (const fs::DirEntry& e : entries) {
    if (e.name == "file")
      EXPECT_TRUE(e.is_file());
    else if (e.name == "dir")
      EXPECT_TRUE(e.is_directory());
    else if (e.name == "link")
      EXPECT_TRUE(e.is_symlink());
    else
      ADD_FAILURE() << e.name;
  }
}

TEST_F(FsTest, ReaddirErrors) {
  expect_error(fs::readdir(path("nope")), ENOENT, "scandir '" + path("nope") + "'");
  run(fs::write_file(path("f"), ""));
  expect_error(fs::readdir(path("f")), ENOTDIR, "scandir '" + path("f") + "'");
}

TEST_F(FsTest, MkdirPlainAndErrors) {
  run(fs::mkdir(path("d")));
  EXPECT_TRUE(run(fs::stat(path("d"))).is_directory());
  expect_error(fs::mkdir(path("d")), EEXIST, "mkdir '" + path("d") + "'");
  expect_error(fs::mkdir(path("x/y")), ENOENT, "mkdir '" + path("x/y") + "'");
}

TEST_F(FsTest, MkdirRecursive) {
  // A braced option struct inside co_await: safe because the options are trivially destructible.
  run([&]() -> Task<void> { co_await fs::mkdir(path("a/b/c"), {.recursive = true}); }());
  EXPECT_TRUE(run(fs::stat(path("a/b/c"))).is_directory());
  fs::MkdirOptions recursive;
  recursive.recursive = true;
  run(fs::mkdir(path("a/b/c"), recursive));   // existing: fine
  run(fs::mkdir(path("a/b/c/"), recursive));  // trailing slash
  run(fs::write_file(path("file"), ""));
  expect_error(fs::mkdir(path("file"), recursive), EEXIST, "mkdir '" + path("file") + "'");
  expect_error(fs::mkdir(path("file/x/y"), recursive), ENOTDIR, "mkdir '" + path("file/x/y") + "'");
}

TEST_F(FsTest, MkdirMode) {
  fs::MkdirOptions o;
  o.mode = 0700;
  run(fs::mkdir(path("private"), o));
  EXPECT_EQ(run(fs::stat(path("private"))).permissions(), 0700u);
}

TEST_F(FsTest, RmdirOnlyEmpty) {
  run(fs::mkdir(path("d")));
  run(fs::write_file(path("d/f"), ""));
  expect_error(fs::rmdir(path("d")), ENOTEMPTY, "rmdir '" + path("d") + "'");
  run(fs::unlink(path("d/f")));
  run(fs::rmdir(path("d")));
  EXPECT_FALSE(run(fs::exists(path("d"))));
  expect_error(fs::rmdir(path("d")), ENOENT, "rmdir '" + path("d") + "'");
}

TEST_F(FsTest, Unlink) {
  run(fs::write_file(path("u"), ""));
  run(fs::unlink(path("u")));
  EXPECT_FALSE(run(fs::exists(path("u"))));
  expect_error(fs::unlink(path("u")), ENOENT, "unlink '" + path("u") + "'");
}

TEST_F(FsTest, RmFilesDirectoriesAndForce) {
  run(fs::write_file(path("f"), ""));
  run(fs::rm(path("f")));
  EXPECT_FALSE(run(fs::exists(path("f"))));
  expect_error(fs::rm(path("f")), ENOENT, "rm '" + path("f") + "'");
  fs::RmOptions force;
  force.force = true;
  run(fs::rm(path("f"), force));  // missing is fine with force

  fs::MkdirOptions mk;
  mk.recursive = true;
  run(fs::mkdir(path("tree/a/b"), mk));
  run(fs::write_file(path("tree/a/b/leaf"), "x"));
  run(fs::write_file(path("tree/top"), "y"));
  expect_error(fs::rm(path("tree")), EISDIR, "rm '" + path("tree") + "'");
  fs::RmOptions recursive;
  recursive.recursive = true;
  run(fs::rm(path("tree"), recursive));
  EXPECT_FALSE(run(fs::exists(path("tree"))));
}

TEST_F(FsTest, RmRecursiveDoesNotFollowSymlinks) {
  run(fs::mkdir(path("keep")));
  run(fs::write_file(path("keep/precious"), "!"));
  run(fs::mkdir(path("doomed")));
  run(fs::symlink(path("keep"), path("doomed/link")));
  fs::RmOptions recursive;
  recursive.recursive = true;
  run(fs::rm(path("doomed"), recursive));
  EXPECT_FALSE(run(fs::exists(path("doomed"))));
  EXPECT_EQ(run(fs::read_file(path("keep/precious"))), "!");
}

TEST_F(FsTest, Rename) {
  run(fs::write_file(path("old"), "data"));
  run(fs::rename(path("old"), path("new")));
  EXPECT_FALSE(run(fs::exists(path("old"))));
  EXPECT_EQ(run(fs::read_file(path("new"))), "data");
  expect_error(fs::rename(path("old"), path("x")), ENOENT,
               "rename '" + path("old") + "' -> '" + path("x") + "'");
}

TEST_F(FsTest, CopyFile) {
  std::string big(300000, 'q');
  run(fs::write_file(path("src"), big));
  run(fs::chmod(path("src"), 0640));
  run(fs::copy_file(path("src"), path("dst")));
  EXPECT_EQ(run(fs::read_file(path("dst"))), big);
  EXPECT_EQ(run(fs::stat(path("dst"))).permissions(), 0640u);
  run(fs::write_file(path("src"), "small"));
  run(fs::copy_file(path("src"), path("dst")));  // overwrites and truncates
  EXPECT_EQ(run(fs::read_file(path("dst"))), "small");
  fs::CopyOptions excl;
  excl.exclusive = true;
  expect_error(fs::copy_file(path("src"), path("dst"), excl), EEXIST,
               "copyfile '" + path("src") + "' -> '" + path("dst") + "'");
  expect_error(fs::copy_file(path("none"), path("dst2")), ENOENT,
               "copyfile '" + path("none") + "' -> '" + path("dst2") + "'");
  EXPECT_FALSE(run(fs::exists(path("dst2"))));
}

TEST_F(FsTest, MkdtempMakesUniqueDirectories) {
  std::set<std::string> made;
  for (int i = 0; i < 20; ++i) {
    std::string d = run(fs::mkdtemp(path("tmp-")));
    EXPECT_EQ(d.size(), path("tmp-").size() + 6);
    EXPECT_TRUE(run(fs::stat(d)).is_directory());
    made.insert(d);
  }
  EXPECT_EQ(made.size(), 20u);
  expect_error(fs::mkdtemp(path("nope/x-")), ENOENT, "mkdtemp '" + path("nope/x-XXXXXX") + "'");
}
