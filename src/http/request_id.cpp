// Request ids: the incoming header when sane, else a UUID v4 from a per-thread generator.
#include "brigade/http/request_id.hpp"

#include <cstdint>
#include <random>

#include "brigade/log/log.hpp"

namespace brigade::http {

namespace {
bool sane_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}
}  // namespace

std::string_view current_request_id() noexcept {
  const std::string* id = log::request_id.get();
  return id ? std::string_view(*id) : std::string_view{};
}

std::string random_uuid() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  uint64_t hi = gen(), lo = gen();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                  // version 4
  lo = (lo & ~(uint64_t{3} << 62)) | (uint64_t{2} << 62);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(36, '-');
  std::size_t at = 0;
  for (int i = 0; i < 32; ++i) {
    if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
    uint64_t word = i < 16 ? hi : lo;
    s[at++] = kHex[(word >> (60 - 4 * (i % 16))) & 15];
  }
  return s;
}

Task<void> RequestId::operator()(Req& req, Res& res, Next next) const {
  std::string_view incoming = options.trust_incoming ? req.header(options.header) : "";
  std::string id = sane_id(incoming) ? std::string(incoming) : random_uuid();
  res.set(options.header, id);
  co_await log::request_id.run(std::move(id), next());
}

}  // namespace brigade::http
