// libFuzzer target: Accept-Encoding negotiation and the compressible-type check on arbitrary
// bytes. The answer is always one of the codings offered (or identity), and a coding the
// header refuses by name is never chosen.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "brigade/http/compression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brigade::http;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static constexpr Coding kAll[] = {Coding::kBrotli, Coding::kZstd, Coding::kGzip,
                                    Coding::kDeflate};
  static constexpr Coding kGzip[] = {Coding::kGzip};
  for (std::span<const Coding> offered :
       {std::span<const Coding>(kAll), std::span<const Coding>(kGzip)}) {
    std::optional<Coding> c = negotiate_encoding(text, offered);
    if (!c) continue;
    bool allowed = *c == Coding::kIdentity;
    for (Coding o : offered) allowed = allowed || o == *c;
    if (!allowed) __builtin_trap();
    // Only gzip, refused in every form: never gzip.
    if (*c == Coding::kGzip && text == "gzip;q=0") __builtin_trap();
  }
  (void)compressible(text);
  if (auto c = coding_from_name(text); c && coding_from_name(coding_name(*c)) != c)
    __builtin_trap();
  return 0;
}
