// Cookies, redirects and the client's address behind proxies (trust proxy), unit and end to end
// with curl.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "brigade/http/app.hpp"
#include "brigade/http/cookie.hpp"
#include "brigade/http/trust_proxy.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace {

using testing::RawClient;
using testing::run_command;
using testing::TestServer;

TEST(TrustProxy, RangesNamesAndHops) {
  TrustProxy none;
  EXPECT_FALSE(none.trusts("127.0.0.1", 0));
  EXPECT_TRUE(TrustProxy::all().trusts("8.8.8.8", 5));
  TrustProxy one = TrustProxy::hops(1);
  EXPECT_TRUE(one.trusts("8.8.8.8", 0));
  EXPECT_FALSE(one.trusts("8.8.8.8", 1));
  TrustProxy r = TrustProxy::addresses({"loopback", "10.0.0.0/8", "2001:db8::/32", "192.0.2.7"});
  EXPECT_TRUE(r.trusts("127.0.0.1", 0));
  EXPECT_TRUE(r.trusts("127.200.1.1", 3));
  EXPECT_TRUE(r.trusts("::1", 0));
  EXPECT_TRUE(r.trusts("::ffff:127.0.0.1", 0));  // IPv4 mapped, as a dual-stack socket says
  EXPECT_TRUE(r.trusts("10.255.0.1", 0));
  EXPECT_FALSE(r.trusts("11.0.0.1", 0));
  EXPECT_TRUE(r.trusts("2001:db8:1::5", 0));
  EXPECT_FALSE(r.trusts("2001:db9::5", 0));
  EXPECT_TRUE(r.trusts("192.0.2.7", 0));
  EXPECT_FALSE(r.trusts("192.0.2.8", 0));
  EXPECT_FALSE(r.trusts("not-an-ip", 0));
  TrustProxy u = TrustProxy::addresses({"uniquelocal"});
  EXPECT_TRUE(u.trusts("172.16.3.4", 0));
  EXPECT_FALSE(u.trusts("172.32.0.1", 0));
  EXPECT_TRUE(u.trusts("fd12::1", 0));
  EXPECT_THROW(TrustProxy::addresses({"10.0.0.0/33"}), std::invalid_argument);
  EXPECT_THROW(TrustProxy::addresses({"10.0.0"}), std::invalid_argument);
  EXPECT_THROW(TrustProxy::addresses({"::1/"}), std::invalid_argument);
}

TEST(Cookie, ParsesHeader) {
  EXPECT_EQ(find_cookie("a=1; b=2", "b").value(), "2");
  EXPECT_EQ(find_cookie("a=1;b=2", "b").value(), "2");
  EXPECT_EQ(find_cookie("a=1; a=2", "a").value(), "1");  // the first wins
  EXPECT_EQ(find_cookie("  sid = \"x y\" ", "sid").value(), "x y");
  EXPECT_EQ(find_cookie("n=J%C3%BCrgen%3B", "n").value(), "J\xC3\xBCrgen;");
  EXPECT_EQ(find_cookie("junk; k=v", "k").value(), "v");  // a bare word is skipped
  EXPECT_EQ(find_cookie("k=", "k").value(), "");
  EXPECT_FALSE(find_cookie("ab=1", "a").has_value());
  EXPECT_FALSE(find_cookie("", "a").has_value());
}

TEST(Cookie, SerializesSetCookie) {
  EXPECT_EQ(set_cookie_value("a", "b", {}), "a=b; Path=/");
  CookieOptions o;
  o.max_age_s = 60;
  o.domain = "example.com";
  o.path = "/app";
  o.http_only = true;
  o.secure = true;
  o.same_site = SameSite::kStrict;
  std::string v = set_cookie_value("sid", "x y;z\"%", o);
  EXPECT_EQ(v.substr(0, v.find(';')), "sid=x%20y%3Bz%22%25");
  EXPECT_NE(v.find("; Max-Age=60; Expires="), std::string::npos);
  EXPECT_NE(v.find(" GMT; Domain=example.com; Path=/app; HttpOnly; Secure; SameSite=Strict"),
            std::string::npos);
  EXPECT_EQ(find_cookie(v.substr(0, v.find(';')), "sid").value(), "x y;z\"%");  // round trip
  CookieOptions gone;
  gone.max_age_s = -5;
  EXPECT_NE(
      set_cookie_value("a", "", gone).find("Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
      std::string::npos);
  EXPECT_THROW(set_cookie_value("a b", "v", {}), std::invalid_argument);
  EXPECT_THROW(set_cookie_value("", "v", {}), std::invalid_argument);
  CookieOptions bad_path;
  bad_path.path = "/x; Domain=evil";
  EXPECT_THROW(set_cookie_value("a", "v", bad_path), std::invalid_argument);
  CookieOptions none;
  none.same_site = SameSite::kNone;
  EXPECT_THROW(set_cookie_value("a", "v", none), std::invalid_argument);
  none.secure = true;
  EXPECT_NE(set_cookie_value("a", "v", none).find("SameSite=None"), std::string::npos);
}

void add_client_routes(App& app) {
  app.get("/who", [](Req& req, Res& res) {
    res.json({{"ip", req.ip()},
              {"ips", req.ips()},
              {"host", std::string(req.hostname())},
              {"proto", std::string(req.protocol())}});
  });
  app.get("/login", [](Req&, Res& res) {
    CookieOptions o;
    o.http_only = true;
    o.max_age_s = 3600;
    o.same_site = SameSite::kLax;
    res.cookie("sid", "abc 123").cookie("theme", "dark", o).send("in");
  });
  app.get("/me", [](Req& req, Res& res) {
    res.send(req.cookie("sid") + "|" + req.cookie("theme") + "|" +
             (req.find_cookie("none") ? "?" : "-"));
  });
  app.get("/logout", [](Req&, Res& res) { res.clear_cookie("sid").send("out"); });
  app.get("/old", [](Req&, Res& res) { res.redirect("/me?x=a b"); });
  app.get("/moved", [](Req&, Res& res) { res.redirect(301, "http://example.com/ü%41%zz"); });
}

nlohmann::json who(const TestServer& s, const std::string& headers = "") {
  int st = -1;
  std::string out = run_command("curl -s " + headers + " " + s.url("/who"), &st);
  EXPECT_EQ(st, 0);
  return nlohmann::json::parse(out, nullptr, false);
}

TEST(ClientInfo, NoTrustIgnoresForwardedHeaders) {
  TestServer s(add_client_routes);
  auto j = who(s,
               "-H 'X-Forwarded-For: 1.2.3.4' -H 'X-Forwarded-Proto: https' "
               "-H 'X-Forwarded-Host: evil.example'");
  EXPECT_EQ(j["ip"], "127.0.0.1");
  EXPECT_TRUE(j["ips"].empty());
  EXPECT_EQ(j["host"], "127.0.0.1");
  EXPECT_EQ(j["proto"], "http");
}

TEST(ClientInfo, TrustedHopsAreBelieved) {
  TestServer s([](App& app) {
    app.trust_proxy(TrustProxy::addresses({"loopback", "10.0.0.0/8"}));
    add_client_routes(app);
  });
  // 127.0.0.1 (trusted) forwarded for 10.1.1.1 (trusted) forwarded for 203.0.113.9: the client.
  auto j = who(s,
               "-H 'X-Forwarded-For: 6.6.6.6, 203.0.113.9, 10.1.1.1' "
               "-H 'X-Forwarded-Proto: https, http' -H 'X-Forwarded-Host: api.example:8443'");
  EXPECT_EQ(j["ip"], "203.0.113.9");  // 6.6.6.6 came from an untrusted hop: not believed
  EXPECT_EQ(j["ips"], nlohmann::json({"203.0.113.9", "10.1.1.1"}));
  EXPECT_EQ(j["host"], "api.example");
  EXPECT_EQ(j["proto"], "https");
  auto plain = who(s, "-H 'Host: [::1]:9000'");
  EXPECT_EQ(plain["ip"], "127.0.0.1");
  EXPECT_EQ(plain["host"], "[::1]");
}

TEST(ClientInfo, HopCount) {
  TestServer s([](App& app) {
    app.trust_proxy(TrustProxy::hops(2));
    add_client_routes(app);
  });
  auto j = who(s, "-H 'X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3'");
  EXPECT_EQ(j["ip"], "2.2.2.2");  // the peer and 3.3.3.3 are the two trusted hops
  EXPECT_EQ(j["ips"], nlohmann::json({"2.2.2.2", "3.3.3.3"}));
}

TEST(Cookies, CurlJarRoundTrip) {
  TestServer s(add_client_routes);
  char dir[] = "/tmp/brigade-cookies-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string jar = std::string(dir) + "/jar";
  int st = -1;
  std::string head =
      run_command("curl -s -D - -o /dev/null -c " + jar + " " + s.url("/login"), &st);
  ASSERT_EQ(st, 0);
  EXPECT_NE(head.find("Set-Cookie: sid=abc%20123; Path=/\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Set-Cookie: theme=dark; Max-Age=3600; Expires="), std::string::npos);
  EXPECT_NE(head.find("; Path=/; HttpOnly; SameSite=Lax\r\n"), std::string::npos);
  EXPECT_EQ(run_command("curl -s -b " + jar + " " + s.url("/me")), "abc 123|dark|-");
  run_command("curl -s -b " + jar + " -c " + jar + " " + s.url("/logout"));
  EXPECT_EQ(run_command("curl -s -b " + jar + " " + s.url("/me")), "|dark|-");
  run_command("rm -rf " + std::string(dir));
}

TEST(Redirect, LocationAndBody) {
  TestServer s(add_client_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send("GET /moved HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_NE(c.buffer().find("HTTP/1.1 301 Moved Permanently\r\n"), std::string::npos);
  EXPECT_NE(c.buffer().find("Location: http://example.com/%C3%BC%41%25zz\r\n"), std::string::npos)
      << c.buffer();
  // curl follows: the cookie-less /me answers.
  EXPECT_EQ(run_command("curl -s -L " + s.url("/old")), "||-");
  std::string head = run_command("curl -s -D - -o /dev/null " + s.url("/old"));
  EXPECT_NE(head.find("HTTP/1.1 302 Found"), std::string::npos);
  EXPECT_NE(head.find("Location: /me?x=a%20b\r\n"), std::string::npos);
}

}  // namespace
}  // namespace brigade::http
