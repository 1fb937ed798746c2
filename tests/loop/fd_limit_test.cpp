// The open-file limit is raised to the hard limit, as Node does at start.
#include "brigade/loop/fd_limit.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace {

TEST(FdLimit, SoftLimitIsRaisedToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max != RLIM_INFINITY && before.rlim_max <= 256)
    GTEST_SKIP() << "hard limit too low";
  rlimit low = before;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  uint64_t got = brigade::raise_open_file_limit();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(got, after.rlim_cur);
  EXPECT_GT(after.rlim_cur, 256u);
  if (before.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(after.rlim_cur, before.rlim_max);
  }
  EXPECT_EQ(after.rlim_max, before.rlim_max);  // the hard limit is left alone
}

}  // namespace
