// The demo's job routes end to end: redis-server, the demo (REDIS_URL set), one queue_worker
// process, and curl as the client.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>

#include "../redis/redis_server.hpp"

namespace {

// A child process with environment additions, SIGKILLed (and reaped) by the destructor.
class Child {
 public:
  Child(std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> env) {
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

std::string curl(const std::string& args) {
  std::string out;
  FILE* p = ::popen(("curl -s --max-time 5 " + args).c_str(), "r");
  if (!p) return out;
  std::array<char, 512> buf;
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  ::pclose(p);
  return out;
}

TEST(DemoJobs, PostEnqueuesFibAndGetShowsTheResult) {
  if (!brigade::test::redis_server_installed()) GTEST_SKIP() << "redis-server is not installed";
  brigade::test::RedisServer server;
  ASSERT_TRUE(server.running());
  char dir[] = "/tmp/brigade-demo-jobs.XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  std::string examples = std::string(BRIGADE_BINARY_DIR) + "/examples/";
  uint16_t port = brigade::test::free_tcp_port();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  {
    Child demo({examples + "demo", "--port", std::to_string(port)},
               {{"REDIS_URL", server.url()}, {"BRIGADE_DEMO_DB", std::string(dir) + "/demo.db"}});
    Child worker({examples + "queue_worker"}, {{"REDIS_URL", server.url()}});
    std::string posted;
    for (int i = 0; i < 400 && posted.find("\"id\"") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      posted = curl("-X POST '" + base + "/jobs?n=25'");
    }
    EXPECT_EQ(posted, R"({"id":"1","status":"/jobs/1"})");
    std::string job;
    for (int i = 0; i < 400 && job.find("completed") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      job = curl(base + "/jobs/1");
    }
    EXPECT_NE(job.find(R"("result":"75025")"), std::string::npos) << job;
    EXPECT_NE(job.find(R"("state":"completed")"), std::string::npos) << job;
    EXPECT_NE(curl("-o /dev/null -w '%{http_code}' " + base + "/jobs/nope"), "200");
    EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' -X POST '" + base + "/jobs?n=x'"), "400");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
