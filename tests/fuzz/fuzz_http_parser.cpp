// libFuzzer target for the HTTP request parser. Beyond "no crash, no sanitizer report" it
// checks invariants: the same bytes cut at another place, or fed one byte at a time, give the
// same transcript; views stay inside the bytes given; errors carry a status we document.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http_parser/parser_driver.hpp"

namespace {

using brigade::http::ParserLimits;
namespace t = brigade::http::testing;

// The first input byte picks the limits, so small limits get exercised too.
ParserLimits limits_for(uint8_t selector) {
  ParserLimits limits;
  switch (selector % 4) {
    case 1:
      limits.max_head_bytes = 96;
      limits.max_request_line = 40;
      limits.max_headers = 3;
      limits.max_body_bytes = 16;
      limits.max_chunk_line = 10;
      break;
    case 2:
      limits.max_body_bytes = 100;
      limits.max_headers = 8;
      break;
    case 3:
      limits.max_headers = 1;
      limits.max_head_bytes = 300;
      break;
    default:
      break;
  }
  return limits;
}

void check(bool ok, const char* what, std::string_view a, std::string_view b = {}) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n--- first\n%.*s\n--- second\n%.*s\n", what,
               static_cast<int>(a.size()), a.data(), static_cast<int>(b.size()), b.data());
  std::abort();
}

bool documented_status(int status) {
  return status == 0 || status == 400 || status == 413 || status == 414 || status == 431 ||
         status == 501 || status == 505;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  ParserLimits limits = limits_for(data[0]);
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  t::Run whole = t::run_whole(input, limits);
  check(whole.bug.empty(), "contract broken", whole.bug, whole.transcript);
  check(documented_status(whole.error_status), "undocumented status", whole.transcript);

  size_t cut = (static_cast<size_t>(data[1]) * 131) % (input.size() + 1);
  t::Run split = t::run_split(input, cut, limits);
  check(split.bug.empty(), "contract broken", split.bug, split.transcript);
  check(split.transcript == whole.transcript, "two-way split differs", whole.transcript,
        split.transcript);

  if (input.size() <= 1024) {
    t::Run bytewise = t::run_bytewise(input, limits);
    check(bytewise.transcript == whole.transcript, "byte-at-a-time differs", whole.transcript,
          bytewise.transcript);
  }
  return 0;
}
