// Compressing response bodies: streaming encoders over zlib, brotli and zstd, and whole-body
// compression with per-thread codec state.
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <new>
#include <stdexcept>

#include "content_coding.hpp"

namespace brigade::http::detail {

namespace {

// zlib counts in 32-bit units: longer input goes in slices.
constexpr std::size_t kZlibSlice = std::size_t{1} << 30;
// compress_whole's per-thread output room is kept up to this size.
constexpr std::size_t kKeptRoom = 2 << 20;

int zlib_window_bits(Coding coding) { return coding == Coding::kGzip ? 15 + 16 : 15; }

// One deflate call over `in` with `mode`, growing `out` until every input byte went in and the
// output stopped filling the room given.
void run_deflate(z_stream& s, std::string_view in, int mode, std::string& out) {
  do {
    std::size_t slice = std::min(in.size(), kZlibSlice);
    bool last = slice == in.size();
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    s.avail_in = static_cast<uInt>(slice);
    int slice_mode = last ? mode : Z_NO_FLUSH;
    for (;;) {
      std::size_t at = out.size();
      std::size_t room = deflateBound(&s, s.avail_in) + 64;
      out.resize(at + room);
      s.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      s.avail_out = static_cast<uInt>(room);
      int rc = deflate(&s, slice_mode);
      out.resize(at + room - s.avail_out);
      if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate: stream error");
      if (s.avail_in == 0 && s.avail_out != 0) break;
    }
    in.remove_prefix(slice);
  } while (!in.empty());
}

class ZlibEncoder final : public Encoder {
 public:
  ZlibEncoder(Coding coding, int level) {
    if (deflateInit2(&s_, level, Z_DEFLATED, zlib_window_bits(coding), 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
      throw std::bad_alloc();
  }
  ~ZlibEncoder() override { deflateEnd(&s_); }
  void write(std::string_view in, bool flush, std::string& out) override {
    run_deflate(s_, in, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH, out);
  }
  void finish(std::string& out) override { run_deflate(s_, {}, Z_FINISH, out); }

 private:
  z_stream s_{};
};

class BrotliEncoder final : public Encoder {
 public:
  explicit BrotliEncoder(int quality) : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (!s_) throw std::bad_alloc();
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(quality));
  }
  ~BrotliEncoder() override { BrotliEncoderDestroyInstance(s_); }
  void write(std::string_view in, bool flush, std::string& out) override {
    run(in, flush ? BROTLI_OPERATION_FLUSH : BROTLI_OPERATION_PROCESS, out);
  }
  void finish(std::string& out) override { run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  void run(std::string_view in, BrotliEncoderOperation op, std::string& out) {
    auto next_in = reinterpret_cast<const uint8_t*>(in.data());
    std::size_t avail_in = in.size();
    for (;;) {
      std::size_t avail_out = 0;
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, nullptr, nullptr))
        throw std::runtime_error("brotli: encoder error");
      std::size_t n = 0;
      const uint8_t* produced = BrotliEncoderTakeOutput(s_, &n);
      if (n) out.append(reinterpret_cast<const char*>(produced), n);
      if (avail_in == 0 && !BrotliEncoderHasMoreOutput(s_) &&
          (op != BROTLI_OPERATION_FINISH || BrotliEncoderIsFinished(s_)))
        break;
    }
  }
  BrotliEncoderState* s_;
};

class ZstdEncoder final : public Encoder {
 public:
  explicit ZstdEncoder(int level) : c_(ZSTD_createCCtx()) {
    if (!c_) throw std::bad_alloc();
    ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, level);
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(c_); }
  void write(std::string_view in, bool flush, std::string& out) override {
    run(in, flush ? ZSTD_e_flush : ZSTD_e_continue, out);
  }
  void finish(std::string& out) override { run({}, ZSTD_e_end, out); }

 private:
  void run(std::string_view in, ZSTD_EndDirective mode, std::string& out) {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (;;) {
      std::size_t at = out.size();
      std::size_t room = ZSTD_CStreamOutSize();
      out.resize(at + room);
      ZSTD_outBuffer ob{out.data() + at, room, 0};
      std::size_t left = ZSTD_compressStream2(c_, &ob, &ib, mode);
      out.resize(at + ob.pos);
      if (ZSTD_isError(left)) throw std::runtime_error(ZSTD_getErrorName(left));
      if (mode == ZSTD_e_continue ? ib.pos == ib.size : left == 0) break;
    }
  }
  ZSTD_CCtx* c_;
};

// The per-thread deflate state of compress_whole: reset between bodies (deflateInit allocates
// ~256 KiB, as much as a small response's whole cost).
struct DeflateCache {
  z_stream s{};
  bool ready = false;
  int level = 0;
  int bits = 0;
  ~DeflateCache() {
    if (ready) deflateEnd(&s);
  }
  z_stream& get(int want_level, int want_bits) {
    if (ready && level == want_level && bits == want_bits) {
      deflateReset(&s);
      return s;
    }
    if (ready) deflateEnd(&s);
    ready = false;
    s = z_stream{};
    if (deflateInit2(&s, want_level, Z_DEFLATED, want_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::bad_alloc();
    ready = true;
    level = want_level;
    bits = want_bits;
    return s;
  }
};

struct ZstdCache {
  ZSTD_CCtx* c = nullptr;
  ~ZstdCache() { ZSTD_freeCCtx(c); }
};

}  // namespace

std::unique_ptr<Encoder> Encoder::make(Coding coding, int level) {
  switch (coding) {
    case Coding::kGzip:
    case Coding::kDeflate:
      return std::make_unique<ZlibEncoder>(coding, level);
    case Coding::kBrotli:
      return std::make_unique<BrotliEncoder>(level);
    case Coding::kZstd:
      return std::make_unique<ZstdEncoder>(level);
    case Coding::kIdentity:
      break;
  }
  return nullptr;
}

void compress_whole(Coding coding, int level, std::string_view in, std::string& out) {
  out.clear();
  // The codecs write into a per-thread buffer that keeps its size: growing a fresh string to
  // the bound zero-fills (and page-faults) ~the body's size per response; `out` gets a copy of
  // the few bytes made.
  thread_local std::string room;
  auto reserve_room = [](std::size_t bound) {
    if (room.size() < bound) room.resize(bound);
    return room.data();
  };
  auto take = [&out](std::size_t n) {
    out.assign(room.data(), n);
    if (room.size() > kKeptRoom) std::string().swap(room);  // a rare big body: not kept
  };
  switch (coding) {
    case Coding::kIdentity:
      out.assign(in);
      return;
    case Coding::kGzip:
    case Coding::kDeflate: {
      thread_local DeflateCache cache;
      z_stream& s = cache.get(level, zlib_window_bits(coding));
      uLong bound = deflateBound(&s, static_cast<uLong>(in.size()));
      if (in.size() >= kZlibSlice || bound >= kZlibSlice) break;  // streamed below
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      s.avail_in = static_cast<uInt>(in.size());
      s.next_out = reinterpret_cast<Bytef*>(reserve_room(bound));
      s.avail_out = static_cast<uInt>(bound);
      if (deflate(&s, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate: stream error");
      take(bound - s.avail_out);
      return;
    }
    case Coding::kBrotli: {
      std::size_t size = BrotliEncoderMaxCompressedSize(in.size());
      if (size == 0) break;  // too large for one call: streamed below
      if (!BrotliEncoderCompress(level, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                                 reinterpret_cast<const uint8_t*>(in.data()), &size,
                                 reinterpret_cast<uint8_t*>(reserve_room(size))))
        throw std::runtime_error("brotli: encoder error");
      take(size);
      return;
    }
    case Coding::kZstd: {
      thread_local ZstdCache cache;
      if (!cache.c && !(cache.c = ZSTD_createCCtx())) throw std::bad_alloc();
      ZSTD_CCtx_reset(cache.c, ZSTD_reset_session_and_parameters);
      ZSTD_CCtx_setParameter(cache.c, ZSTD_c_compressionLevel, level);
      std::size_t bound = ZSTD_compressBound(in.size());
      std::size_t n = ZSTD_compress2(cache.c, reserve_room(bound), bound, in.data(), in.size());
      if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
      take(n);
      return;
    }
  }
  std::unique_ptr<Encoder> encoder = Encoder::make(coding, level);
  encoder->write(in, false, out);
  encoder->finish(out);
}

}  // namespace brigade::http::detail
