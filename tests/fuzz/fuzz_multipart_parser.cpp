// libFuzzer target: MultipartParser on arbitrary bytes after a fixed boundary, fed whole and in
// pieces the first byte picks: cutting the input anywhere must not change what is parsed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "brigade/http/multipart.hpp"

namespace {
// The events as text: part heads, each part's body, and how it ended.
std::string run(std::string_view bytes, std::size_t piece) {
  brigade::http::MultipartParser p("XyZ", 512);
  using E = brigade::http::MultipartEvent;
  std::string log;
  std::size_t at = 0;
  for (;;) {
    E e = p.next();
    switch (e.kind) {
      case E::kNeedMore:
        if (at >= bytes.size()) {
          p.end();
        } else {
          p.push(bytes.substr(at, piece));
          at += piece;
        }
        break;
      case E::kPartBegin:
        log += "\nbegin " + p.part().name + "|" + p.part().filename + "|" + p.part().content_type +
               (p.part().is_file ? "|file\n" : "\n");
        break;
      case E::kData:
        if (e.data.empty()) __builtin_trap();  // no empty data events
        log += e.data;
        break;
      case E::kPartEnd:
        log += "\nend\n";
        break;
      case E::kDone:
        return log + "\ndone";
      case E::kError:
        if (p.error().empty()) __builtin_trap();
        return log + "\nerror " + (p.too_large() ? "large" : "bad");
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::size_t piece = 1 + data[0] % 16;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string whole = run(bytes, bytes.size() + 1), split = run(bytes, piece);
  if (whole != split) __builtin_trap();
  (void)brigade::http::multipart_boundary(bytes);
  return 0;
}
