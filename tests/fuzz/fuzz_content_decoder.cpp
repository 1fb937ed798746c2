// libFuzzer target: the request-body decoders (gzip, deflate, br, zstd) on arbitrary bytes, fed
// in pieces with a bounded output per call. Each call appends at most what it was allowed,
// and what one of our encoders made from the input decodes back to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../src/http/content_coding.hpp"

namespace {
using brigade::http::Coding;
using brigade::http::detail::Decoder;

constexpr Coding kCodings[] = {Coding::kGzip, Coding::kDeflate, Coding::kBrotli, Coding::kZstd};
constexpr std::size_t kLimit = 4 << 20;  // as a body limit: stop there

// Decodes `coded` in `piece`-byte pieces, `step` bytes of output at most per call; false on a
// decoding error (corrupt input is expected), traps on a broken promise.
bool decode(Coding coding, std::string_view coded, std::size_t piece, std::size_t step,
            std::string& out) {
  auto d = Decoder::make(coding);
  while (!coded.empty()) {
    std::string_view in = coded.substr(0, piece);
    coded.remove_prefix(in.size());
    for (;;) {
      std::size_t before = out.size(), left = in.size();
      Decoder::Status st = d->decode(in, out, step);
      if (out.size() - before > step || in.size() > left) __builtin_trap();
      if (st == Decoder::Status::kError) {
        if (d->error().empty()) __builtin_trap();  // every failure says why
        return false;
      }
      if (out.size() > kLimit) return false;  // the caller's 413
      if (in.empty() && out.size() - before < step) break;
    }
  }
  return d->finish() == Decoder::Status::kEnd;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  Coding coding = kCodings[data[0] % 4];
  std::size_t piece = 1 + data[1] * 16;
  std::size_t step = 1 + data[2] * 64;
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::string out;
  decode(coding, rest, piece, step, out);
  // The same bytes as plain content: encoded whole and streamed, both must decode back.
  std::string coded;
  brigade::http::detail::compress_whole(coding, 1, rest, coded);
  out.clear();
  if (!decode(coding, coded, piece, step, out) || out != rest) __builtin_trap();
  auto enc = brigade::http::detail::Encoder::make(coding, 1);
  coded.clear();
  enc->write(rest.substr(0, rest.size() / 2), true, coded);
  enc->write(rest.substr(rest.size() / 2), false, coded);
  enc->finish(coded);
  out.clear();
  if (!decode(coding, coded, piece, step, out) || out != rest) __builtin_trap();
  return 0;
}
