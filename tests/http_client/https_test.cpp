// fetch over HTTPS against brigade's own TLS layer (a responder on tls::Stream, same loop):
// trust through ca_file, and the failures a client must see.
#include <gtest/gtest.h>

#include <string>

#include "brigade/http/client.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/task.hpp"
#include "brigade/tls.hpp"

using namespace brigade;
using namespace brigade::http;

namespace {

// Answers every request on a connection with its target, until the client closes.
Task<void> respond(net::Stream tcp, tls::Context ctx) {
  try {
    tls::Stream s = co_await tls::Stream::accept(std::move(tcp), ctx);
    std::string pending;
    char buf[4096];
    for (;;) {
      std::size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        std::size_t n = co_await s.read(buf);
        if (n == 0) co_return;
        pending.append(buf, n);
      }
      std::string target = pending.substr(pending.find(' ') + 1);
      target = target.substr(0, target.find(' '));
      pending.erase(0, end + 4);
      std::string body = "tls " + target;
      co_await s.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n\r\n" + body);
    }
  } catch (const std::exception&) {  // a client that refused our certificate
  }
}

struct HttpsFixture {
  std::string dir = ::testing::TempDir() + "brigade_fetch_tls_" + std::to_string(getpid());
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  Loop loop;
  net::Listener listener;
  HttpsFixture() {
    std::string mk = "mkdir -p " + dir;
    EXPECT_EQ(std::system(mk.c_str()), 0);
    tls::write_self_signed(cert, key, {"localhost"});  // no IP address in it
    tls::ServerOptions so;
    so.cert_file = cert;
    so.key_file = key;
    listener = net::listen_tcp(loop, "127.0.0.1", 0);
    listener.serve(
        [ctx = tls::Context::server(so)](net::Stream tcp) { return respond(std::move(tcp), ctx); });
  }
  ~HttpsFixture() {
    listener.close();
    loop.run();
    std::string rm = "rm -rf " + dir;
    std::system(rm.c_str());
  }
  std::string url(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(listener.port()) + path;
  }
};

}  // namespace

TEST(FetchHttps, TrustedThroughCaFileAndKeptAlive) {
  HttpsFixture f;
  ClientOptions co;
  co.ca_file = f.cert;
  Client client(f.loop, co);
  std::vector<std::string> bodies = run(f.loop, [&]() -> Task<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const char* path : {"/a", "/b", "/c"}) {
      // "localhost" goes through curl's threaded resolver: the loop never waits on it.
      Response r = co_await client.fetch(f.url("localhost", path));
      EXPECT_EQ(r.status(), 200);
      out.push_back(co_await r.text());
    }
    co_return out;
  }());
  EXPECT_EQ(bodies, (std::vector<std::string>{"tls /a", "tls /b", "tls /c"}));
  EXPECT_EQ(f.listener.accepted(), 1u);  // one TLS connection for the three
}

TEST(FetchHttps, UntrustedOrWrongNameFails) {
  HttpsFixture f;
  ClientOptions trusting;
  trusting.ca_file = f.cert;
  Client system_store(f.loop), with_ca(f.loop, trusting);
  run(f.loop, [&]() -> Task<void> {
    struct Case {
      Client* client;
      std::string url;
      const char* says;
    } cases[] = {
        {&system_store, f.url("localhost", "/"), "certificate"},  // self-signed: not in the store
        {&with_ca, f.url("127.0.0.1", "/"), "127.0.0.1"},         // the name does not match
    };
    for (auto& c : cases) {
      try {
        Response r = co_await c.client->fetch(c.url);
        ADD_FAILURE() << c.url << ": answered " << r.status();
      } catch (const FetchError& e) {
        EXPECT_EQ(e.kind(), FetchError::Kind::kNetwork);
        EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
      }
    }
  }());
}
