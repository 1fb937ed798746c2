#include "brigade/ws/client.hpp"

#include <charconv>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/net/dns.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/ws/handshake.hpp"
#include "text.hpp"

namespace brigade::ws {

using detail::iequals;
using detail::trim;

namespace {

struct Url {
  bool secure = false;
  std::string host;  // without brackets
  uint16_t port = 0;
  std::string target;  // path and query
};

Url parse_url(std::string_view url) {
  Url u;
  if (url.starts_with("ws://")) {
    url.remove_prefix(5);
    u.port = 80;
  } else if (url.starts_with("wss://")) {
    url.remove_prefix(6);
    u.secure = true;
    u.port = 443;
  } else {
    throw std::invalid_argument("ws::connect: the URL must start with ws:// or wss://");
  }
  std::size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("ws::connect: bad IPv6 host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) throw std::invalid_argument("ws::connect: no host in the URL");
  u.host = std::string(host);
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
      throw std::invalid_argument("ws::connect: bad port in the URL");
    u.port = static_cast<uint16_t>(p);
  }
  return u;
}

struct ResponseHead {
  int status = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view get(std::string_view name) const {
    for (auto& [k, v] : headers)
      if (iequals(k, name)) return v;
    return {};
  }
};

ResponseHead parse_head(std::string_view head) {
  ResponseHead r;
  std::size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
    throw HandshakeError(0, "ws::connect: not an HTTP response");
  std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
  head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return r;
}

// Reads until the end of the response head; returns the head and what came after it.
template <typename Read>
Task<std::pair<std::string, std::string>> read_head(Read read, std::size_t limit) {
  std::string got;
  char buf[4096];
  for (;;) {
    std::size_t n = co_await read(std::span<char>(buf, sizeof buf));
    if (n == 0) throw HandshakeError(0, "ws::connect: the server closed during the handshake");
    std::size_t from = got.size() >= 3 ? got.size() - 3 : 0;
    got.append(buf, n);
    std::size_t end = got.find("\r\n\r\n", from);
    if (end != std::string::npos) {
      std::string rest = got.substr(end + 4);
      got.resize(end + 2);
      co_return std::make_pair(std::move(got), std::move(rest));
    }
    if (got.size() > limit) throw HandshakeError(0, "ws::connect: response head too large");
  }
}

}  // namespace

Task<WebSocket> connect(std::string url_text, ClientOptions options) {
  Url url = parse_url(url_text);
  Loop& loop = *Loop::current();
  bool timed_out = false;
  net::Stream* socket = nullptr;  // what the timer closes
  Timer timer(loop);
  timer.start(options.handshake_timeout_ms, [&] {
    timed_out = true;
    if (socket) socket->close();
  });

  try {
    auto lookup = dns::lookup(url.host);
    std::vector<dns::Address> addresses = co_await lookup;
    if (timed_out) throw TimeoutError("ws::connect");
    auto connecting = net::connect(loop, addresses.at(0).address, url.port);
    net::Stream tcp = co_await connecting;
    if (timed_out) throw TimeoutError("ws::connect");
    tcp.set_no_delay(true);

    std::unique_ptr<tls::Stream> secure;
    if (url.secure) {
      tls::Context ctx = tls::Context::client(options.tls);
      auto handshake =
          tls::Stream::connect(std::move(tcp), ctx, url.host, options.handshake_timeout_ms);
      secure = std::make_unique<tls::Stream>(co_await handshake);
      socket = &secure->socket();
    } else {
      socket = &tcp;
    }

    std::string key = make_key();
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    if (url.port != (url.secure ? 443 : 80)) host += ":" + std::to_string(url.port);
    std::string request =
        "GET " + url.target + " HTTP/1.1\r\nHost: " + host +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
        "\r\nSec-WebSocket-Version: 13\r\n";
    if (!options.protocols.empty()) {
      request += "Sec-WebSocket-Protocol: ";
      for (std::size_t i = 0; i < options.protocols.size(); ++i)
        request += (i ? ", " : "") + options.protocols[i];
      request += "\r\n";
    }
    if (options.deflate.enabled)
      request += "Sec-WebSocket-Extensions: " + deflate_offer(options.deflate) + "\r\n";
    for (auto& [name, value] : options.headers) request += name + ": " + value + "\r\n";
    request += "\r\n";

    std::pair<std::string, std::string> head_and_rest;
    if (secure) {
      auto w = secure->write(request);
      co_await w;
      auto r =
          read_head([&](std::span<char> b) { return secure->read(b); }, options.max_response_head);
      head_and_rest = co_await r;
    } else {
      co_await tcp.write(request);
      auto r =
          read_head([&](std::span<char> b) -> Task<std::size_t> { co_return co_await tcp.read(b); },
                    options.max_response_head);
      head_and_rest = co_await r;
    }
    if (timed_out) throw TimeoutError("ws::connect");
    timer.clear();

    ResponseHead head = parse_head(head_and_rest.first);
    if (head.status != 101)
      throw HandshakeError(head.status, "ws::connect: the server answered " +
                                            std::to_string(head.status) + " instead of 101");
    if (!header_has_token(head.get("Upgrade"), "websocket") ||
        !header_has_token(head.get("Connection"), "upgrade"))
      throw HandshakeError(101, "ws::connect: the answer lacks Upgrade: websocket");
    if (head.get("Sec-WebSocket-Accept") != accept_key(key))
      throw HandshakeError(101, "ws::connect: wrong Sec-WebSocket-Accept");
    Negotiated negotiated;
    negotiated.protocol = std::string(head.get("Sec-WebSocket-Protocol"));
    if (!negotiated.protocol.empty()) {
      bool offered = false;
      for (auto& p : options.protocols) offered |= p == negotiated.protocol;
      if (!offered)
        throw HandshakeError(101, "ws::connect: the server chose a protocol not offered");
    }
    std::string_view extensions = head.get("Sec-WebSocket-Extensions");
    if (!extensions.empty()) {
      if (!options.deflate.enabled)
        throw HandshakeError(101, "ws::connect: the server chose an extension not offered");
      try {
        negotiated.deflate = accept_deflate_response(extensions, options.deflate);
      } catch (const std::invalid_argument& e) {
        throw HandshakeError(101, std::string("ws::connect: ") + e.what());
      }
    }
    if (secure)
      co_return WebSocket::open_tls(std::move(*secure), std::move(head_and_rest.second),
                                    Role::kClient, std::move(options), std::move(negotiated));
    co_return WebSocket::open(std::move(tcp), std::move(head_and_rest.second), Role::kClient,
                              std::move(options), std::move(negotiated));
  } catch (const brigade::Error&) {
    if (timed_out) throw TimeoutError("ws::connect");
    throw;
  }
}

}  // namespace brigade::ws
