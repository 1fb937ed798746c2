#include "brigade/tls.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/process/exec.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/task.hpp"
#include "tls_support.hpp"

using namespace brigade;

namespace {

// The certificates are made before any test makes a Loop: the openssl runs (system(), a vfork)
// then never overlap a loop's watchdog thread, which TSan cannot tell apart from a race.
[[maybe_unused]] const tls_test::Certs& made_first = tls_test::certs();

tls::Context server_ctx(const std::string& cert = tls_test::certs().server_cert) {
  tls::ServerOptions o;
  o.cert_file = cert;
  o.key_file = tls_test::certs().server_key;
  return tls::Context::server(o);
}

tls::Context client_ctx(bool with_ca = true) {
  tls::ClientOptions o;
  if (with_ca) o.ca_file = tls_test::certs().ca;
  o.alpn = {"http/1.1"};
  return tls::Context::client(o);
}

// Reads until the end of an HTTP head.
Task<std::string> read_head(tls::Stream& s) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::size_t n = co_await s.read(buf);
    if (n == 0) break;
    head.append(buf, n);
  }
  co_return head;
}

// Serves one HTTPS request per connection ("hello"); records handshake failures.
struct HelloServer {
  net::Listener listener;
  tls::Context ctx;
  std::vector<std::string> failures;
  int served = 0;
  HelloServer(Loop& loop, tls::Context c)
      : listener(net::listen_tcp(loop, "127.0.0.1", 0)), ctx(std::move(c)) {}
  uint16_t port() const { return listener.port(); }
  Task<void> serve_one() {
    try {
      net::Stream tcp = co_await listener.accept();
      tls::Stream s = co_await tls::Stream::accept(std::move(tcp), ctx, 2000);
      std::string head = co_await read_head(s);
      co_await s.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
      co_await s.shutdown();
      ++served;
    } catch (const std::exception& e) {
      failures.push_back(e.what());
    }
  }
};

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d)) ++n;
  closedir(d);
  return n;
}

}  // namespace

TEST(Tls, ServerAnswersCurl) {
  if (!tls_test::have("curl")) GTEST_SKIP() << "curl not installed";
  Loop loop;
  HelloServer server(loop, server_ctx());
  std::string port = std::to_string(server.port());
  std::string out = run(loop, [&]() -> Task<std::string> {
    auto serving = server.serve_one();
    auto client =
        process::exec_file(loop, "curl",
                           {"-sS", "--cacert", tls_test::certs().ca, "--resolve",
                            "localhost:" + port + ":127.0.0.1", "https://localhost:" + port + "/"});
    auto [none, result] = co_await when_all(std::move(serving), std::move(client));
    (void)none;
    co_return result.out;
  }());
  EXPECT_EQ(out, "hello");
  EXPECT_EQ(server.served, 1) << (server.failures.empty() ? "" : server.failures[0]);
}

TEST(Tls, ClientAndServerOnOneLoop) {
  Loop loop;
  net::Listener listener = net::listen_tcp(loop, "127.0.0.1", 0);
  tls::Context sctx = server_ctx();
  run(loop, [&]() -> Task<void> {
    auto server_fn = [&]() -> Task<std::string> {
      // Each operand named: g++ 12 destroys temporaries in a co_await expression twice.
      net::Stream tcp = co_await listener.accept();
      tls::Stream s = co_await tls::Stream::accept(std::move(tcp), sctx);
      EXPECT_EQ(s.alpn(), "http/1.1");
      std::string got;
      char buf[1024];
      for (;;) {
        std::size_t n = co_await s.read(buf);
        if (n == 0) break;  // the client's close_notify
        got.append(buf, n);
        co_await s.write(std::string_view(buf, n));  // echo
      }
      co_await s.shutdown();
      co_return got;
    };
    auto server = server_fn();
    auto client_fn = [&]() -> Task<std::string> {
      net::Stream tcp = co_await net::connect(loop, "127.0.0.1", listener.port());
      tls::Context ctx = client_ctx();
      tls::Stream c = co_await tls::Stream::connect(std::move(tcp), ctx, "localhost");
      EXPECT_EQ(c.version(), "TLSv1.3");
      EXPECT_EQ(c.alpn(), "http/1.1");
      std::string big(300000, 'b');  // several records, more than the flush threshold
      co_await c.write("ping ");
      co_await c.write(big);
      std::string echoed;
      char buf[8192];
      while (echoed.size() < 5 + big.size()) {
        std::size_t n = co_await c.read(buf);
        if (n == 0) break;
        echoed.append(buf, n);
      }
      co_await c.shutdown();
      EXPECT_EQ(co_await c.read(buf), 0u);  // the server's close_notify
      co_return echoed;
    };
    auto client = client_fn();
    auto [got, echoed] = co_await when_all(std::move(server), std::move(client));
    EXPECT_EQ(got.size(), 300005u);
    EXPECT_EQ(echoed.substr(0, 5), "ping ");
    EXPECT_EQ(echoed.size(), 300005u);
  }());
}

TEST(Tls, ClientAgainstNodeHttps) {
  if (!tls_test::have("node")) GTEST_SKIP() << "node not installed";
  const auto& c = tls_test::certs();
  std::string script =
      "const fs = require('fs'); const s = require('https').createServer({key: "
      "fs.readFileSync('" +
      c.server_key + "'), cert: fs.readFileSync('" + c.server_cert +
      "')}, (q, r) => { r.end('node tls ' + q.url); s.close(); }); s.listen(0, '127.0.0.1', () => "
      "console.log(s.address().port));";
  Loop loop;
  std::string answer = run(loop, [&]() -> Task<std::string> {
    process::Child child = process::spawn(loop, "node", {"-e", script});  // stdio: pipes
    char buf[64];
    std::size_t n = co_await child.out().read(buf);
    uint16_t port = uint16_t(std::stoi(std::string(buf, n)));
    net::Stream tcp = co_await net::connect(loop, "127.0.0.1", port);
    tls::Context ctx = client_ctx();
    tls::Stream s = co_await tls::Stream::connect(std::move(tcp), ctx, "127.0.0.1");
    co_await s.write("GET /hi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    std::string all;
    char rb[4096];
    for (;;) {
      std::size_t k = co_await s.read(rb);
      if (k == 0) break;
      all.append(rb, k);
    }
    co_await child.wait();
    co_return all;
  }());
  EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
  EXPECT_NE(answer.find("node tls /hi"), std::string::npos) << answer;
}

TEST(Tls, CertificateErrorsCarryTheReason) {
  tls_test::wait_until_expired();
  struct Case {
    const char* host;
    bool with_ca;
    bool expired;
    const char* reason;
  } cases[] = {
      {"wrong.example", true, false, "hostname mismatch"},
      {"localhost", false, false, "unable to get local issuer certificate"},
      {"localhost", true, true, "certificate has expired"},
  };
  for (const Case& k : cases) {
    Loop loop;
    HelloServer server(loop, k.expired ? server_ctx(tls_test::certs().expired_cert) : server_ctx());
    std::string error = run(loop, [&]() -> Task<std::string> {
      auto serving = server.serve_one();
      auto client_fn = [&]() -> Task<std::string> {
        net::Stream tcp = co_await net::connect(loop, "127.0.0.1", server.port());
        try {
          tls::Context ctx = client_ctx(k.with_ca);
          co_await tls::Stream::connect(std::move(tcp), ctx, k.host);
        } catch (const tls::TlsError& e) {
          co_return e.what();
        }
        co_return "connected";
      };
      auto client = client_fn();
      auto [none, e] = co_await when_all(std::move(serving), std::move(client));
      (void)none;
      co_return e;
    }());
    EXPECT_NE(error.find(k.reason), std::string::npos) << error;
    EXPECT_EQ(server.served, 0);
    EXPECT_EQ(server.failures.size(), 1u);  // the server saw the client's alert
  }
}

TEST(Tls, PlainHttpAndGarbageAreRefused) {
  for (std::string bytes : {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                            std::string("\x16\x03\x01\x00\x05garbage-not-a-hello", 24)}) {
    Loop loop;
    HelloServer server(loop, server_ctx());
    std::string seen = run(loop, [&]() -> Task<std::string> {
      auto serving = server.serve_one();
      auto client_fn = [&]() -> Task<std::string> {
        net::Stream tcp = co_await net::connect(loop, "127.0.0.1", server.port());
        co_await tcp.write(bytes);
        std::string got;
        char buf[1024];
        for (;;) {  // an alert at most, then the close
          std::size_t n = 0;
          try {
            n = co_await tcp.read(buf);
          } catch (const Error&) {
            break;  // a reset is a close too
          }
          if (n == 0) break;
          got.append(buf, n);
        }
        co_return got;
      };
      auto client = client_fn();
      auto [none, got] = co_await when_all(std::move(serving), std::move(client));
      (void)none;
      co_return got;
    }());
    EXPECT_EQ(seen.find("HTTP/1.1"), std::string::npos);  // no handler answered
    ASSERT_EQ(server.failures.size(), 1u);
    EXPECT_NE(server.failures[0].find("tls handshake"), std::string::npos) << server.failures[0];
  }
}

TEST(Tls, StalledHandshakesAreFreedAtTheTimeout) {
  constexpr int kStalled = 1000;
  Loop loop;
  int before = open_fds();
  net::Listener listener = net::listen_tcp(loop, "127.0.0.1", 0);
  tls::Context ctx = server_ctx();
  int timed_out = 0;
  run(loop, [&]() -> Task<void> {
    std::vector<net::Stream> clients;  // connect, then say nothing
    std::vector<Task<void>> handshakes;
    for (int i = 0; i < kStalled; ++i) {
      clients.push_back(co_await net::connect(loop, "127.0.0.1", listener.port()));
      net::Stream tcp = co_await listener.accept();
      handshakes.push_back([](net::Stream t, tls::Context c, int& count) -> Task<void> {
        try {
          co_await tls::Stream::accept(std::move(t), c, 200);
        } catch (const TimeoutError&) {
          ++count;
        }
      }(std::move(tcp), ctx, timed_out));
    }
    co_await when_all(std::move(handshakes));
    for (auto& c : clients) c.close();
  }());
  EXPECT_EQ(timed_out, kStalled);
  listener.close();
  EXPECT_EQ(open_fds(), before);  // every server and client socket closed
}

TEST(Tls, SelfSignedCertificateIsTrustedThroughCaFile) {
  std::string dir = tls_test::certs().dir;
  std::string cert = dir + "/self.crt", key = dir + "/self.key";
  tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"}, 30);
  struct stat st {};
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // the private key is the owner's only
  tls::ServerOptions so;
  so.cert_file = cert;
  so.key_file = key;
  Loop loop;
  HelloServer server(loop, tls::Context::server(so));
  for (const char* host : {"localhost", "127.0.0.1", "other.example"}) {
    std::string result = run(loop, [&]() -> Task<std::string> {
      auto serving = server.serve_one();
      auto client_fn = [&]() -> Task<std::string> {
        net::Stream tcp = co_await net::connect(loop, "127.0.0.1", server.port());
        tls::ClientOptions co;
        co.ca_file = cert;
        tls::Context ctx = tls::Context::client(co);
        try {
          tls::Stream s = co_await tls::Stream::connect(std::move(tcp), ctx, host);
          co_await s.write("GET / HTTP/1.1\r\n\r\n");
          char buf[256];
          std::size_t n = co_await s.read(buf);
          co_return std::string(buf, n).substr(0, 15);
        } catch (const tls::TlsError& e) {
          co_return e.what();
        }
      };
      auto client = client_fn();
      auto [none, r] = co_await when_all(std::move(serving), std::move(client));
      (void)none;
      co_return r;
    }());
    if (std::string(host) == "other.example")
      EXPECT_NE(result.find("hostname mismatch"), std::string::npos) << result;
    else
      EXPECT_EQ(result, "HTTP/1.1 200 OK") << host;
  }
  EXPECT_THROW(tls::write_self_signed(dir + "/nodir/x.crt", dir + "/nodir/x.key", {"a"}),
               tls::TlsError);
}

// Several certificates on one listener (SNI), and a certificate reload: new connections get the
// new context, an open connection keeps the one it was accepted with.
TEST(Tls, SniChoosesTheCertificateAndReloadKeepsOpenConnections) {
  std::string dir = tls_test::certs().dir;
  auto make = [&](const std::string& stem, std::vector<std::string> names) {
    tls::write_self_signed(dir + "/" + stem + ".crt", dir + "/" + stem + ".key", names, 30);
    return std::pair(dir + "/" + stem + ".crt", dir + "/" + stem + ".key");
  };
  auto [main_crt, main_key] = make("main", {"localhost"});
  auto [api_crt, api_key] = make("api", {"api.example"});
  auto [wild_crt, wild_key] = make("wild", {"*.wild.example"});
  auto [next_crt, next_key] = make("next", {"localhost"});
  tls::ServerOptions so;
  so.cert_file = main_crt;
  so.key_file = main_key;
  so.sni = {{"api.example", api_crt, api_key}, {"*.wild.example", wild_crt, wild_key}};
  tls::Context ctx = tls::Context::server(so);

  Loop loop;
  net::Listener listener = net::listen_tcp(loop, "127.0.0.1", 0);
  // Each connection: handshake with whatever `ctx` is now, then echo until the client closes.
  listener.serve([&ctx](net::Stream tcp) -> Task<void> {
    tls::Context mine = ctx;
    try {
      tls::Stream s = co_await tls::Stream::accept(std::move(tcp), mine);
      char buf[256];
      for (;;) {
        std::size_t n = co_await s.read(buf);
        if (n == 0) break;
        co_await s.write(std::string_view(buf, n));
      }
    } catch (const std::exception&) {
    }
  });
  auto open = [&](std::string host, std::string ca) -> Task<tls::Stream> {
    net::Stream tcp = co_await net::connect(loop, "127.0.0.1", listener.port());
    tls::ClientOptions co;
    co.ca_file = ca;
    co.alpn = {"http/1.1"};
    tls::Context cctx = tls::Context::client(co);
    tls::Stream s = co_await tls::Stream::connect(std::move(tcp), cctx, host);
    co_return s;
  };
  auto echo = [](tls::Stream& s, std::string text) -> Task<std::string> {
    co_await s.write(text);
    char buf[256];
    std::size_t n = co_await s.read(buf);
    co_return std::string(buf, n);
  };
  run(loop, [&]() -> Task<void> {
    tls::Stream a = co_await open("localhost", main_crt);
    EXPECT_EQ(co_await echo(a, "main"), "main");
    tls::Stream b = co_await open("api.example", api_crt);
    EXPECT_EQ(b.alpn(), "http/1.1");  // the SNI context answers ALPN too
    EXPECT_EQ(co_await echo(b, "api"), "api");
    tls::Stream w = co_await open("x.wild.example", wild_crt);
    EXPECT_EQ(co_await echo(w, "wild"), "wild");
    bool refused = false;
    try {
      co_await open("other.example", api_crt);  // unknown name: the default certificate
    } catch (const tls::TlsError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);

    tls::ServerOptions next = so;  // reload: a new certificate for localhost
    next.cert_file = next_crt;
    next.key_file = next_key;
    ctx = tls::Context::server(next);
    bool old_refused = false;
    try {
      co_await open("localhost", main_crt);  // new connections: the new certificate
    } catch (const tls::TlsError&) {
      old_refused = true;
    }
    EXPECT_TRUE(old_refused);
    tls::Stream n = co_await open("localhost", next_crt);
    EXPECT_EQ(co_await echo(n, "next"), "next");
    EXPECT_EQ(co_await echo(a, "still open"), "still open");  // the reload dropped nothing
    for (tls::Stream* s : {&a, &b, &w, &n}) co_await s->shutdown();
  }());
  listener.close();
  loop.run();
}

// Session resumption both ways: openssl s_client keeps the server's ticket (-sess_out) and
// resumes with it (-sess_in); brigade's client context keeps tickets per host and address.
TEST(Tls, SessionsResumeWithTickets) {
  Loop loop;
  HelloServer server(loop, server_ctx());
  std::string port = std::to_string(server.port());
  if (tls_test::have("openssl")) {
    std::string session = tls_test::certs().dir + "/s_client.session";
    for (const char* flag : {"-sess_out", "-sess_in"}) {
      process::ExecOptions o;
      o.input = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
      o.timeout_ms = 10000;
      std::string out = run(loop, [&]() -> Task<std::string> {
        auto serving = server.serve_one();
        auto client = process::exec_file(
            loop, "openssl",
            {"s_client", "-connect", "127.0.0.1:" + port, "-servername", "localhost", "-CAfile",
             tls_test::certs().ca, flag, session, "-ign_eof"},
            o);
        auto [none, result] = co_await when_all(std::move(serving), std::move(client));
        (void)none;
        co_return result.out;
      }());
      EXPECT_NE(out.find("hello"), std::string::npos) << out;
      bool resumed = std::string(flag) == "-sess_in";
      EXPECT_NE(out.find(resumed ? "Reused, TLSv1.3" : "New, TLSv1.3"), std::string::npos)
          << flag << "\n"
          << out;
    }
  }
  tls::Context client = client_ctx();
  auto once = [&](tls::Context& ctx) -> Task<bool> {
    auto serving = server.serve_one();
    auto client_fn = [&]() -> Task<bool> {
      net::Stream tcp = co_await net::connect(loop, "127.0.0.1", server.port());
      tls::Stream s = co_await tls::Stream::connect(std::move(tcp), ctx, "localhost");
      co_await s.write("GET / HTTP/1.1\r\n\r\n");
      std::string all;
      char buf[512];
      for (std::size_t n; (n = co_await s.read(buf)) > 0;) all.append(buf, n);  // tickets too
      EXPECT_NE(all.find("hello"), std::string::npos);
      co_return s.session_reused();
    };
    auto c = client_fn();
    auto [none, reused] = co_await when_all(std::move(serving), std::move(c));
    (void)none;
    co_return reused;
  };
  EXPECT_FALSE(run(loop, once(client)));
  EXPECT_TRUE(run(loop, once(client)));  // the ticket from the first connection
  EXPECT_TRUE(run(loop, once(client)));  // and a fresh one from the second
  tls::ClientOptions no;
  no.ca_file = tls_test::certs().ca;
  no.resume_sessions = false;
  tls::Context fresh = tls::Context::client(no);
  EXPECT_FALSE(run(loop, once(fresh)));
  EXPECT_FALSE(run(loop, once(fresh)));
  EXPECT_EQ(server.served, 7) << (server.failures.empty() ? "" : server.failures[0]);
}

// Other TLS clients against brigade's server: Python's ssl + http.client and Node's https.get,
// both trusting the test CA and checking the name.
TEST(Tls, ServerAnswersPythonAndNodeClients) {
  const auto& c = tls_test::certs();
  struct Peer {
    const char* tool;
    std::string script;
  } peers[] = {
      {"python3",
       "import http.client, ssl, sys\n"
       "ctx = ssl.create_default_context(cafile='" +
           c.ca +
           "')\n"
           "conn = http.client.HTTPSConnection('localhost', int(sys.argv[1]), context=ctx)\n"
           "conn.connect()\n"
           "v = conn.sock.version()\n"
           "conn.request('GET', '/')\n"
           "r = conn.getresponse()\n"
           "print(r.status, r.read().decode(), v)\n"},
      {"node",
       "require('https').get({host: 'localhost', port: +process.argv[1], ca: "
       "require('fs').readFileSync('" +
           c.ca +
           "')}, r => { let b = ''; r.on('data', d => b += d); r.on('end', () => "
           "console.log(r.statusCode, b, r.socket.getProtocol())); });"},
  };
  for (const Peer& p : peers) {
    if (!tls_test::have(p.tool)) {
      ADD_FAILURE() << p.tool << " not installed";
      continue;
    }
    Loop loop;
    HelloServer server(loop, server_ctx());
    process::ExecOptions o;
    o.timeout_ms = 10000;
    std::string out = run(loop, [&]() -> Task<std::string> {
      auto serving = server.serve_one();
      std::vector<std::string> args = {"-c", p.script, std::to_string(server.port())};
      if (std::string(p.tool) == "node") args = {"-e", p.script, "--", args[2]};
      auto client_fn = [&]() -> Task<std::string> {
        try {
          process::ExecResult r = co_await process::exec_file(loop, p.tool, args, o);
          co_return r.out;
        } catch (const process::ExecError& e) {
          server.listener.close();  // the server's accept fails rather than waits
          co_return "failed: " + e.result().err;
        }
      };
      auto client = client_fn();
      auto [none, result] = co_await when_all(std::move(serving), std::move(client));
      (void)none;
      co_return result;
    }());
    EXPECT_EQ(out, "200 hello TLSv1.3\n") << p.tool;
    EXPECT_EQ(server.served, 1) << p.tool;
  }
}

// The non-suspending API (what the HTTP server's callback-driven connection uses): an echo
// driven by the read hook, reading until -EAGAIN, writing with write_nowait, ending with end().
TEST(Tls, ReadHookEchoWithoutCoroutines) {
  Loop loop;
  net::Listener listener = net::listen_tcp(loop, "127.0.0.1", 0);
  tls::Context sctx = server_ctx();
  struct Echo {
    tls::Stream s;
    std::size_t echoed = 0;
    bool ended = false;
    static void on_readable(void* self) {
      auto* e = static_cast<Echo*>(self);
      char buf[40000];  // more than a record: SSL_read's short reads must not stop us
      for (;;) {
        long n = e->s.try_read(buf);
        if (n == -EAGAIN) return;
        if (n <= 0) {
          e->s.end();
          e->ended = true;
          return;
        }
        EXPECT_EQ(e->s.write_nowait(std::string_view(buf, std::size_t(n))), 0);
        e->echoed += std::size_t(n);
      }
    }
  } echo;
  std::string big(300000, 'e');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = char('a' + i % 26);
  std::string back = run(loop, [&]() -> Task<std::string> {
    auto server_fn = [&]() -> Task<void> {
      net::Stream tcp = co_await listener.accept();
      echo.s = co_await tls::Stream::accept(std::move(tcp), sctx);
      echo.s.set_read_hook(&Echo::on_readable, &echo);
      Echo::on_readable(&echo);  // bytes may have come with the handshake
    };
    auto client_fn = [&]() -> Task<std::string> {
      net::Stream tcp = co_await net::connect(loop, "127.0.0.1", listener.port());
      tls::Context ctx = client_ctx();
      tls::Stream c = co_await tls::Stream::connect(std::move(tcp), ctx, "localhost");
      co_await c.write(big);
      std::string got;
      char buf[16384];
      while (got.size() < big.size()) {
        std::size_t n = co_await c.read(buf);
        if (n == 0) break;
        got.append(buf, n);
      }
      co_await c.shutdown();
      EXPECT_EQ(co_await c.read(buf), 0u);  // the server's end(): close_notify
      co_return got;
    };
    auto server = server_fn();
    auto client = client_fn();
    auto [none, got] = co_await when_all(std::move(server), std::move(client));
    (void)none;
    co_return got;
  }());
  EXPECT_TRUE(back == big) << back.size();
  EXPECT_EQ(echo.echoed, big.size());
  EXPECT_TRUE(echo.ended);
}

// split(): the socket and the TLS state apart (how the HTTP server keeps its own socket).
TEST(Tls, SplitSessionReadsAndWritesThroughItsSocket) {
  Loop loop;
  net::Listener listener = net::listen_tcp(loop, "127.0.0.1", 0);
  tls::Context sctx = server_ctx();
  std::string got = run(loop, [&]() -> Task<std::string> {
    auto server_fn = [&]() -> Task<void> {
      net::Stream tcp = co_await listener.accept();
      tls::Stream s = co_await tls::Stream::accept(std::move(tcp), sctx);
      tls::Stream::Parts parts = std::move(s).split();
      EXPECT_EQ(parts.session.alpn(), "http/1.1");
      char buf[256];
      long n;
      while ((n = parts.session.try_read(parts.socket, buf)) == -EAGAIN) co_await brigade::sleep(1);
      EXPECT_GT(n, 0);
      if (n <= 0) co_return;
      EXPECT_EQ(parts.session.try_peek(parts.socket, buf), -EAGAIN);  // nothing more yet
      std::string answer = "split " + std::string(buf, std::size_t(n));
      co_await parts.session.write(parts.socket, std::span<const char>(answer));
      parts.session.end(parts.socket);
      co_await parts.socket.flush();
    };
    auto client_fn = [&]() -> Task<std::string> {
      net::Stream tcp = co_await net::connect(loop, "127.0.0.1", listener.port());
      tls::Context ctx = client_ctx();
      tls::Stream c = co_await tls::Stream::connect(std::move(tcp), ctx, "localhost");
      co_await c.write("hi");
      std::string all;
      char buf[256];
      for (std::size_t n; (n = co_await c.read(buf)) > 0;) all.append(buf, n);
      co_return all;
    };
    auto server = server_fn();
    auto client = client_fn();
    auto [none, all] = co_await when_all(std::move(server), std::move(client));
    (void)none;
    co_return all;
  }());
  EXPECT_EQ(got, "split hi");
}
