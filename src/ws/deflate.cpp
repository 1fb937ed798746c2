#include "brigade/ws/deflate.hpp"

#include <zlib.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "text.hpp"

namespace brigade::ws {

using detail::iequals;
using detail::trim;

namespace {

// One `permessage-deflate` element's parameters, as sent. Nothing: malformed or repeated.
struct Offer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 0;  // 0: absent
  int client_max_window_bits = 0;  // 0: absent; -1: present without a value
};

// "15" or "\"15\"" in 8..15.
int window_bits(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2) return 0;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n >= 8 && n <= 15 ? n : 0;
}

std::optional<Offer> parse_params(std::string_view params) {
  Offer o;
  bool seen[4] = {};
  while (!params.empty()) {
    std::size_t semi = params.find(';');
    std::string_view item = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (item.empty()) return std::nullopt;
    std::size_t eq = item.find('=');
    std::string_view key = trim(item.substr(0, eq));
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = item.substr(eq + 1);
    int which;
    if (iequals(key, "server_no_context_takeover")) {
      if (value) return std::nullopt;
      o.server_no_context_takeover = true;
      which = 0;
    } else if (iequals(key, "client_no_context_takeover")) {
      if (value) return std::nullopt;
      o.client_no_context_takeover = true;
      which = 1;
    } else if (iequals(key, "server_max_window_bits")) {
      if (!value || !(o.server_max_window_bits = window_bits(*value))) return std::nullopt;
      which = 2;
    } else if (iequals(key, "client_max_window_bits")) {
      o.client_max_window_bits = value ? window_bits(*value) : -1;
      if (!o.client_max_window_bits) return std::nullopt;
      which = 3;
    } else {
      return std::nullopt;  // an unknown parameter: decline this offer
    }
    if (seen[which]) return std::nullopt;
    seen[which] = true;
  }
  return o;
}

// Calls f(params) for every permessage-deflate element of the header, in order.
template <typename F>
void each_deflate_element(std::string_view header, F f) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view element = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    std::size_t semi = element.find(';');
    std::string_view name = trim(element.substr(0, semi));
    std::string_view params =
        semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
    if (iequals(name, "permessage-deflate") && f(params)) return;
  }
}

int clamp_bits(int bits) { return bits < 9 ? 9 : bits > 15 ? 15 : bits; }

}  // namespace

std::optional<DeflateAgreement> negotiate_deflate(std::string_view header,
                                                  const DeflateOptions& options) {
  std::optional<DeflateAgreement> result;
  if (!options.enabled) return result;
  each_deflate_element(header, [&](std::string_view params) {
    std::optional<Offer> offer = parse_params(params);
    if (!offer) return false;
    DeflateAgreement a;
    int server_bits = clamp_bits(options.server_max_window_bits);
    if (offer->server_max_window_bits) {
      if (offer->server_max_window_bits == 8) return false;  // zlib cannot honour it
      if (offer->server_max_window_bits < server_bits) server_bits = offer->server_max_window_bits;
    }
    a.params.server_max_window_bits = server_bits;
    a.params.server_no_context_takeover =
        offer->server_no_context_takeover || options.server_no_context_takeover;
    a.params.client_no_context_takeover =
        offer->client_no_context_takeover || options.client_no_context_takeover;
    a.response = "permessage-deflate";
    if (a.params.server_no_context_takeover) a.response += "; server_no_context_takeover";
    if (a.params.client_no_context_takeover) a.response += "; client_no_context_takeover";
    if (offer->server_max_window_bits || server_bits < 15)
      a.response += "; server_max_window_bits=" + std::to_string(server_bits);
    int client_bits = 15;
    if (offer->client_max_window_bits != 0) {
      // The client allows a limit on its window: ask for ours, within what it offered.
      client_bits = clamp_bits(options.client_max_window_bits);
      if (offer->client_max_window_bits > 0 && offer->client_max_window_bits < client_bits)
        client_bits = offer->client_max_window_bits;
      if (client_bits < 15 || offer->client_max_window_bits > 0)
        a.response += "; client_max_window_bits=" + std::to_string(client_bits);
    }
    a.params.client_max_window_bits = client_bits;
    result = std::move(a);
    return true;
  });
  return result;
}

std::string deflate_offer(const DeflateOptions& options) {
  std::string offer = "permessage-deflate";
  if (options.client_no_context_takeover) offer += "; client_no_context_takeover";
  if (options.server_no_context_takeover) offer += "; server_no_context_takeover";
  if (options.server_max_window_bits < 15)
    offer +=
        "; server_max_window_bits=" + std::to_string(clamp_bits(options.server_max_window_bits));
  offer += "; client_max_window_bits";
  if (options.client_max_window_bits < 15)
    offer += "=" + std::to_string(clamp_bits(options.client_max_window_bits));
  return offer;
}

std::optional<DeflateParams> accept_deflate_response(std::string_view header,
                                                     const DeflateOptions& options) {
  if (trim(header).empty()) return std::nullopt;
  std::optional<DeflateParams> result;
  int elements = 0;
  bool bad = false;
  each_deflate_element(header, [&](std::string_view params) {
    ++elements;
    std::optional<Offer> answer = parse_params(params);
    if (!answer || answer->client_max_window_bits == -1) {
      bad = true;
      return true;
    }
    DeflateParams p;
    p.server_no_context_takeover = answer->server_no_context_takeover;
    p.client_no_context_takeover = answer->client_no_context_takeover;
    p.server_max_window_bits = answer->server_max_window_bits ? answer->server_max_window_bits : 15;
    p.client_max_window_bits = answer->client_max_window_bits ? answer->client_max_window_bits : 15;
    if (options.server_no_context_takeover && !p.server_no_context_takeover) bad = true;
    if (options.server_max_window_bits < 15 &&
        p.server_max_window_bits > clamp_bits(options.server_max_window_bits))
      bad = true;
    if (options.client_max_window_bits < 15 &&
        p.client_max_window_bits > clamp_bits(options.client_max_window_bits))
      bad = true;
    if (p.client_max_window_bits == 8) p.client_max_window_bits = 9;  // zlib's least
    result = p;
    return true;
  });
  if (bad || elements != 1 || trim(header).find(',') != std::string_view::npos)
    throw std::invalid_argument("invalid Sec-WebSocket-Extensions in the server's answer");
  return result;
}

// ---- zlib ------------------------------------------------------------------------------------

struct Deflater::State {
  z_stream z{};
};

Deflater::Deflater(int window_bits, bool no_context_takeover, int level)
    : state_(std::make_unique<State>()), no_context_takeover_(no_context_takeover) {
  if (deflateInit2(&state_->z, level, Z_DEFLATED, -clamp_bits(window_bits), 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
}
Deflater::~Deflater() {
  if (state_) deflateEnd(&state_->z);
}
Deflater::Deflater(Deflater&&) noexcept = default;
Deflater& Deflater::operator=(Deflater&& o) noexcept {
  if (this != &o) {
    if (state_) deflateEnd(&state_->z);
    state_ = std::move(o.state_);
    no_context_takeover_ = o.no_context_takeover_;
  }
  return *this;
}

void Deflater::compress(std::string_view message, std::string& out) {
  z_stream& z = state_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  std::size_t start = out.size();
  do {
    std::size_t have = out.size();
    std::size_t room = message.size() / 2 + 64;
    out.resize(have + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(room);
    deflate(&z, Z_SYNC_FLUSH);
    out.resize(have + room - z.avail_out);
  } while (z.avail_out == 0 || z.avail_in != 0);
  // Z_SYNC_FLUSH ends with 00 00 FF FF: the extension leaves it out on the wire.
  if (out.size() - start >= 4 && std::memcmp(out.data() + out.size() - 4, "\0\0\xff\xff", 4) == 0)
    out.resize(out.size() - 4);
  if (no_context_takeover_) deflateReset(&z);
}

struct Inflater::State {
  z_stream z{};
  bool ended = false;  // the message's data held a final block: nothing may follow it
};

Inflater::Inflater(bool no_context_takeover)
    : state_(std::make_unique<State>()), no_context_takeover_(no_context_takeover) {
  // A 32 KiB window reads whatever window the peer wrote with.
  if (inflateInit2(&state_->z, -15) != Z_OK) throw std::bad_alloc();
}
Inflater::~Inflater() {
  if (state_) inflateEnd(&state_->z);
}
Inflater::Inflater(Inflater&&) noexcept = default;
Inflater& Inflater::operator=(Inflater&& o) noexcept {
  if (this != &o) {
    if (state_) inflateEnd(&state_->z);
    state_ = std::move(o.state_);
    no_context_takeover_ = o.no_context_takeover_;
  }
  return *this;
}

Inflater::Result Inflater::inflate(std::string_view compressed, bool last, std::string& out,
                                   std::size_t limit) {
  static const char kTail[4] = {0, 0, '\xff', '\xff'};
  z_stream& z = state_->z;
  for (int part = 0; part < (last ? 2 : 1); ++part) {
    std::string_view in = part == 0 ? compressed : std::string_view(kTail, 4);
    if (state_->ended) {
      if (part == 0 && !in.empty()) return Result::kBadData;
      continue;
    }
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    // Until the input is used up and a call leaves output room: a call that fills its room may
    // hold more output back, which the checks on the message so far must see now, not later.
    for (;;) {
      std::size_t have = out.size();
      std::size_t room = in.size() * 4 + 256;
      if (limit && room > limit - have + 1) room = limit - have + 1;  // one byte past: too big
      out.resize(have + room);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
      z.avail_out = static_cast<uInt>(room);
      int rc = ::inflate(&z, Z_SYNC_FLUSH);
      out.resize(have + room - z.avail_out);
      if (limit && out.size() > limit) return Result::kTooBig;
      if (rc == Z_STREAM_END) {  // a final block: what follows (if anything) is not deflate
        inflateReset(&z);
        if (z.avail_in > 0 && part == 0) return Result::kBadData;
        state_->ended = part == 0;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return Result::kBadData;
      if (z.avail_out != 0) break;  // room left: every byte the input so far gives is out
    }
  }
  if (last) {
    if (no_context_takeover_) inflateReset(&z);
    state_->ended = false;
  }
  return Result::kOk;
}

}  // namespace brigade::ws
