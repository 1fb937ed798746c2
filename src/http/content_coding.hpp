#pragma once
// The codecs behind http::compression and the body parsers' decoding: streaming encoders and
// decoders for gzip, deflate (zlib), br (brotli) and zstd, and whole-body compression that
// reuses per-thread state. No I/O, no loop: usable from the pool and from fuzz targets.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "brigade/http/compression.hpp"

namespace brigade::http::detail {

// One compressed stream (a response body written piece by piece).
class Encoder {
 public:
  // `level` is the coding's own scale (zlib 1-9, brotli 0-11, zstd 1-19). Identity: nullptr.
  static std::unique_ptr<Encoder> make(Coding coding, int level);
  virtual ~Encoder() = default;
  // Compresses `in`, appending what comes out to `out`. `flush`: everything given so far comes
  // out now, decodable by the reader (a sync flush: a few bytes of cost per call).
  virtual void write(std::string_view in, bool flush, std::string& out) = 0;
  // Ends the stream (trailer, checksum) into `out`.
  virtual void finish(std::string& out) = 0;
};

// `in` compressed whole into `out` (replaced). The codec's state is kept per thread and reset
// between bodies, so a busy server does not allocate a window per response.
void compress_whole(Coding coding, int level, std::string_view in, std::string& out);

// One coded stream being decoded (a request body as it arrives).
class Decoder {
 public:
  enum class Status {
    kMore,   // call again: with more input once `in` is empty, else with the rest of `in`
    kEnd,    // the coded stream ended (bytes after it are an error: kError instead)
    kError,  // corrupt or truncated: error() says why
  };
  // Identity: nullptr. Windows are bounded: zlib's 32 KiB, brotli's 16 MiB, zstd's 8 MiB (RFC
  // 9659's limit for HTTP; a frame asking for more is an error), so a decoder's own memory is
  // bounded whatever the input says.
  static std::unique_ptr<Decoder> make(Coding coding);
  virtual ~Decoder() = default;
  // Decodes from the front of `in` (advancing it), appending at most `max_out` bytes to `out`:
  // a caller that stops at its limit has allocated no more than that.
  virtual Status decode(std::string_view& in, std::string& out, std::size_t max_out) = 0;
  // The input is over: kError if the stream had not ended (a truncated body).
  Status finish();
  const std::string& error() const noexcept { return error_; }

 protected:
  Status fail(std::string why);
  std::string error_;
  bool ended_ = false;
};

}  // namespace brigade::http::detail
