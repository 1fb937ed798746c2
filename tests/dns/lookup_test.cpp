// dns::lookup against /etc/hosts and numeric addresses only: no test touches the network.
#include <gtest/gtest.h>
#include <netdb.h>

#include <stdexcept>

#include "brigade/loop.hpp"
#include "brigade/net/dns.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {
bool is_loopback(const dns::Address& a) {
  return (a.address == "127.0.0.1" && a.family == 4) || (a.address == "::1" && a.family == 6);
}
}  // namespace

TEST(DnsLookup, LocalhostIsLoopback) {
  Loop loop;
  auto first = run(loop, dns::lookup("localhost"));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(is_loopback(first[0])) << first[0].address;

  dns::LookupOptions all;
  all.all = true;
  auto every = run(loop, dns::lookup("localhost", all));
  ASSERT_GE(every.size(), 1u);
  bool has_v4 = false;
  for (const auto& a : every) {
    EXPECT_TRUE(is_loopback(a)) << a.address;
    has_v4 |= a.address == "127.0.0.1";
  }
  EXPECT_TRUE(has_v4);
}

TEST(DnsLookup, FamilyFour) {
  Loop loop;
  auto got = run(loop, [&]() -> Task<std::vector<dns::Address>> {
    co_return co_await dns::lookup("localhost", {.family = 4, .all = true});
  }());
  ASSERT_GE(got.size(), 1u);
  for (const auto& a : got) {
    EXPECT_EQ(a.family, 4);
    EXPECT_EQ(a.address, "127.0.0.1");
  }
}

TEST(DnsLookup, NumericAddresses) {
  Loop loop;
  auto v4 = run(loop, dns::lookup("10.1.2.3"));
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].address, "10.1.2.3");
  EXPECT_EQ(v4[0].family, 4);
  dns::LookupOptions six;
  six.family = 6;
  auto v6 = run(loop, dns::lookup("::1", six));
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].address, "::1");
  EXPECT_EQ(v6[0].family, 6);
  auto long_form = run(loop, dns::lookup("2001:db8:0:0:0:0:0:1"));
  EXPECT_EQ(long_form[0].address, "2001:db8::1");  // normalized
}

TEST(DnsLookup, NotFoundNamesTheHost) {
  Loop loop;
  dns::LookupOptions numeric_only;
  numeric_only.hints = AI_NUMERICHOST;  // no resolver query: fails at once
  try {
    run(loop, dns::lookup("not-an-address", numeric_only));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code().category(), dns::gai_category());
    EXPECT_EQ(e.code().value(), EAI_NONAME);
    EXPECT_EQ(e.operation(), "getaddrinfo ENOTFOUND not-an-address");
    EXPECT_NE(std::string(e.what()).find("getaddrinfo ENOTFOUND not-an-address: "),
              std::string::npos)
        << e.what();
  }
}

TEST(DnsLookup, WrongFamilyForNumericAddress) {
  Loop loop;
  dns::LookupOptions six;
  six.family = 6;
  six.hints = AI_NUMERICHOST;
  EXPECT_THROW(run(loop, dns::lookup("127.0.0.1", six)), Error);
}

TEST(DnsLookup, BadFamilyIsAnArgumentError) {
  Loop loop;
  dns::LookupOptions bad;
  bad.family = 5;
  EXPECT_THROW(run(loop, dns::lookup("localhost", bad)), std::invalid_argument);
}

TEST(DnsLookup, CodeNames) {
  EXPECT_EQ(dns::gai_code_name(EAI_NONAME), "ENOTFOUND");
  EXPECT_EQ(dns::gai_code_name(EAI_NODATA), "ENOTFOUND");
  EXPECT_EQ(dns::gai_code_name(EAI_AGAIN), "EAI_AGAIN");
  EXPECT_EQ(dns::gai_code_name(12345), "EAI_UNKNOWN");
}

TEST(DnsLookup, RunsAsSlowWorkOnTheGivenPool) {
  Loop loop;
  ThreadPool pool(2);
  auto many = [&]() -> Task<int> {
    std::vector<Task<std::vector<dns::Address>>> lookups;
    for (int i = 0; i < 50; ++i) lookups.push_back(dns::lookup("127.0.0.1", {}, pool));
    co_await when_all(std::move(lookups));
    co_return 0;
  };
  run(loop, many());
  EXPECT_EQ(pool.stats().completed, 50u);
}
