// Starts and stops the suite's PostgreSQL server through scripts/pg-test-server.sh.
#include "pg_server.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace brigade::test {

namespace {

const std::string kScript = std::string(BRIGADE_SOURCE_DIR) + "/scripts/pg-test-server.sh";

struct Server {
  std::string dir;
  std::string conninfo;
  std::string reason;
  bool tried = false;
};

Server& server() {
  static Server s;
  return s;
}

std::string run_capture(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  std::array<char, 256> buf;
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  status = ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void start() {
  Server& s = server();
  s.tried = true;
  char tmpl[] = "/tmp/brigade-pg.XXXXXX";
  if (!::mkdtemp(tmpl)) {
    s.reason = "mkdtemp failed";
    return;
  }
  s.dir = tmpl;
  int status = 0;
  std::string cmd = "PG_TEST_OWNER_PID=" + std::to_string(::getpid()) +
                    " PG_TEST_TEMPLATE=/tmp/brigade-pg-template-" + std::to_string(::getuid()) +
                    " " + kScript + " start " + s.dir + " 2>&1";
  std::string out = run_capture(cmd, status);
  if (status != 0) {
    s.reason = "pg-test-server.sh start failed: " + out;
    s.dir.clear();
    return;
  }
  auto nl = out.rfind('\n');
  s.conninfo = nl == std::string::npos ? out : out.substr(nl + 1);
}

void stop() {
  Server& s = server();
  if (s.dir.empty()) return;
  int status = 0;
  run_capture(kScript + " stop " + s.dir + " 2>&1", status);
  s.dir.clear();
  s.conninfo.clear();
}

class PgServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { stop(); }
};

[[maybe_unused]] auto* const g_env = ::testing::AddGlobalTestEnvironment(new PgServerEnvironment);

}  // namespace

const std::string& pg_conninfo() {
  if (!server().tried) start();
  return server().conninfo;
}

const std::string& pg_unavailable_reason() { return server().reason; }

void pg_restart() {
  int status = 0;
  std::string out = run_capture(kScript + " restart " + server().dir + " 2>&1", status);
  if (status != 0) ADD_FAILURE() << "restart failed: " << out;
}

}  // namespace brigade::test
