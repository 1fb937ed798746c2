#pragma once
// A fresh directory under /tmp per test (made with fs::mkdtemp, removed with fs::rm), a loop to
// run coroutines on, and a check for the errors fs throws.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "brigade/fs.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = brigade::run(loop_, brigade::fs::mkdtemp("/tmp/brigade-fs-test-"));
  }
  void TearDown() override {
    brigade::fs::RmOptions o;
    o.recursive = true;
    brigade::run(loop_, brigade::fs::rm(dir_, o));
    std::error_code ec;
    EXPECT_FALSE(std::filesystem::exists(dir_, ec)) << dir_;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  template <typename T>
  T run(brigade::Task<T> task) {
    return brigade::run(loop_, std::move(task));
  }
  // Runs the task, which must throw brigade::Error with `err` and an operation equal to `op`.
  template <typename T>
  void expect_error(brigade::Task<T> task, int err, const std::string& op) {
    try {
      run(std::move(task));
      ADD_FAILURE() << "no error; expected " << op;
    } catch (const brigade::Error& e) {
      EXPECT_EQ(e.errno_value(), err) << e.what();
      EXPECT_EQ(e.operation(), op);
    }
  }

  brigade::Loop loop_;
  std::string dir_;
};
