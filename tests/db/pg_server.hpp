#pragma once
// The test suite's own PostgreSQL server: started by scripts/pg-test-server.sh on first use,
// stopped by a gtest Environment at the end (and by the script's watcher if this process dies).
#include <string>

namespace brigade::test {

// conninfo of the running server; starts it on first call. Empty if PostgreSQL is not
// installed (the caller skips).
const std::string& pg_conninfo();
// Fast restart (every connection dropped); blocks the calling thread for its duration.
void pg_restart();
// Why pg_conninfo() is empty.
const std::string& pg_unavailable_reason();

}  // namespace brigade::test

#include <gtest/gtest.h>

#include "brigade/loop/loop.hpp"

namespace brigade::test {

// A loop and the server's conninfo; skips when PostgreSQL is not installed.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = pg_conninfo();
    if (conninfo_.empty()) GTEST_SKIP() << "no PostgreSQL server: " << pg_unavailable_reason();
  }
  Loop loop_;
  std::string conninfo_;
};

}  // namespace brigade::test
