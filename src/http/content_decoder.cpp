// Decoding request bodies: streaming decoders over zlib, brotli and zstd whose output is
// bounded per call, so a caller that stops at its limit never allocated past it.
#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <new>

#include "content_coding.hpp"

namespace brigade::http::detail {

namespace {

constexpr std::size_t kZlibSlice = std::size_t{1} << 30;  // zlib counts in 32-bit units
constexpr int kZstdWindowLogMax = 23;                     // 8 MiB (RFC 9659)

// Appends room for at most `max` bytes to `out`; the caller trims it to what was written.
char* grow(std::string& out, std::size_t max) {
  std::size_t at = out.size();
  out.resize(at + max);
  return out.data() + at;
}

class ZlibDecoder final : public Decoder {
 public:
  explicit ZlibDecoder(Coding coding) : gzip_(coding == Coding::kGzip) {
    if (inflateInit2(&s_, gzip_ ? 15 + 16 : 15) != Z_OK) throw std::bad_alloc();
  }
  ~ZlibDecoder() override { inflateEnd(&s_); }

  Status decode(std::string_view& in, std::string& out, std::size_t max_out) override {
    if (ended_) return in.empty() ? Status::kEnd : trailing();
    std::size_t at = out.size();
    std::size_t slice = std::min(in.size(), kZlibSlice);
    s_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    s_.avail_in = static_cast<uInt>(slice);
    s_.next_out = reinterpret_cast<Bytef*>(grow(out, max_out));
    s_.avail_out = static_cast<uInt>(std::min(max_out, kZlibSlice));
    int rc = inflate(&s_, Z_NO_FLUSH);
    out.resize(at + (std::min(max_out, kZlibSlice) - s_.avail_out));
    in.remove_prefix(slice - s_.avail_in);
    switch (rc) {
      case Z_OK:
      case Z_BUF_ERROR:  // no progress possible: more input (or room) needed
        return Status::kMore;
      case Z_STREAM_END:
        // gzip: another member may follow (RFC 1952 allows several, as Node's gunzip reads).
        if (gzip_ && !in.empty()) {
          inflateReset(&s_);
          return Status::kMore;
        }
        ended_ = true;
        return in.empty() ? Status::kEnd : trailing();
      case Z_NEED_DICT:
        return fail("a preset dictionary is required");
      default:
        return fail(s_.msg ? s_.msg : "corrupt data");
    }
  }

 private:
  Status trailing() { return fail("bytes after the end of the compressed data"); }
  z_stream s_{};
  bool gzip_;
};

class BrotliDecoder final : public Decoder {
 public:
  BrotliDecoder() : s_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (!s_) throw std::bad_alloc();
  }
  ~BrotliDecoder() override { BrotliDecoderDestroyInstance(s_); }

  Status decode(std::string_view& in, std::string& out, std::size_t max_out) override {
    if (ended_) return in.empty() ? Status::kEnd : trailing();
    std::size_t at = out.size();
    auto next_in = reinterpret_cast<const uint8_t*>(in.data());
    std::size_t avail_in = in.size();
    auto next_out = reinterpret_cast<uint8_t*>(grow(out, max_out));
    std::size_t avail_out = max_out;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.resize(at + (max_out - avail_out));
    in.remove_prefix(in.size() - avail_in);
    switch (r) {
      case BROTLI_DECODER_RESULT_SUCCESS:
        ended_ = true;
        return in.empty() ? Status::kEnd : trailing();
      case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
      case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        return Status::kMore;
      case BROTLI_DECODER_RESULT_ERROR:
        break;
    }
    return fail(BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s_)));
  }

 private:
  Status trailing() { return fail("bytes after the end of the compressed data"); }
  BrotliDecoderState* s_;
};

class ZstdDecoder final : public Decoder {
 public:
  ZstdDecoder() : d_(ZSTD_createDCtx()) {
    if (!d_) throw std::bad_alloc();
    ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, kZstdWindowLogMax);
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(d_); }

  Status decode(std::string_view& in, std::string& out, std::size_t max_out) override {
    if (ended_ && in.empty()) return Status::kEnd;  // asked again after the last frame
    std::size_t at = out.size();
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{grow(out, max_out), max_out, 0};
    std::size_t hint = ZSTD_decompressStream(d_, &ob, &ib);
    out.resize(at + ob.pos);
    in.remove_prefix(ib.pos);
    if (ZSTD_isError(hint)) return fail(ZSTD_getErrorName(hint));
    // 0: a frame ended and is flushed. Frames may follow one another (RFC 8878), so the
    // stream is complete whenever the input ends right after one.
    ended_ = hint == 0;
    if (ended_ && in.empty()) return Status::kEnd;
    return Status::kMore;
  }

 private:
  ZSTD_DCtx* d_;
};

}  // namespace

std::unique_ptr<Decoder> Decoder::make(Coding coding) {
  switch (coding) {
    case Coding::kGzip:
    case Coding::kDeflate:
      return std::make_unique<ZlibDecoder>(coding);
    case Coding::kBrotli:
      return std::make_unique<BrotliDecoder>();
    case Coding::kZstd:
      return std::make_unique<ZstdDecoder>();
    case Coding::kIdentity:
      break;
  }
  return nullptr;
}

Decoder::Status Decoder::finish() {
  if (!error_.empty()) return Status::kError;
  return ended_ ? Status::kEnd : fail("the compressed data ends too early");
}

Decoder::Status Decoder::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return Status::kError;
}

}  // namespace brigade::http::detail
