#pragma once
// Response compression (Express's `compression` package): gzip and deflate (zlib), brotli and
// zstd, chosen from the request's Accept-Encoding.
//
//   app.use(http::compression());                         // app.use(compression())
//   app.use(http::compression({.threshold = 0, .encodings = {http::Coding::kGzip}}));
//
// A response is compressed when the filter passes (by default: its Content-Type is a
// compressible one, as Express's `compressible`), it has no Cache-Control: no-transform, its
// body is at least `threshold` bytes (a streamed one: its Content-Length, when set), it has no
// Content-Encoding yet, the request is not HEAD, the status has a body and is not 206, and the
// client accepts one of `encodings`. Such answers say `Vary: Accept-Encoding` (even when this
// client gets them uncompressed); compressed ones lose Content-Length (a buffered body gets its
// new length, a streamed one is chunked) and a strong ETag becomes weak (W/"..."), as a
// transformed body is no longer byte-for-byte the tagged one.
// Buffered answers are compressed after the route (on ThreadPool::shared() from
// `pool_threshold` bytes on); streamed ones (res.write, event streams, send_file and
// serve_static bodies) as they are written, each write flushed so a reader sees it at once.
// Request bodies sent with Content-Encoding are decoded by the body parsers (body.hpp), not here.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "brigade/http/router.hpp"

namespace brigade::http {

// A content coding (RFC 9110 section 8.4.1; brotli is "br", RFC 7932; zstd RFC 8878).
enum class Coding : uint8_t { kIdentity, kGzip, kDeflate, kBrotli, kZstd };

// "identity", "gzip", "deflate", "br", "zstd".
std::string_view coding_name(Coding coding) noexcept;
// The coding a token names (case-insensitive; "x-gzip" is gzip); nullopt for an unknown one.
std::optional<Coding> coding_from_name(std::string_view name) noexcept;

// Accept-Encoding negotiation (RFC 9110 section 12.5.3): the coding among `offered` (and
// identity) with the highest q-value; a tie goes to the earlier of `offered`, and identity
// wins only with a strictly higher q. A coding the header does not name takes the q of `*`, or
// is refused; identity is acceptable unless "identity;q=0", or "*;q=0" without an identity
// entry, refuses it, and when not named it ranks with the lowest q listed (as Express's
// negotiator: "gzip;q=0.5" still means gzip). Malformed elements are ignored. No header:
// identity. nullopt: nothing offered is acceptable (identity refused too: a server may answer
// 406, or send identity anyway, as Express does).
std::optional<Coding> negotiate_encoding(std::string_view accept_encoding,
                                         std::span<const Coding> offered);

// Whether a Content-Type is worth compressing: text/*, JSON, XML, JavaScript, SVG, fonts that
// are not compressed already...; false for images, audio, video, archives, octet-stream, woff
// and any type not known to compress (Express's default filter, mime-db's "compressible").
bool compressible(std::string_view content_type) noexcept;

struct CompressionOptions {
  // Bodies smaller than this go as they are (Express's threshold: 1 KiB).
  uint64_t threshold = 1024;
  // The codings offered, the server's preference first: it breaks ties of equal q-values.
  std::vector<Coding> encodings = {Coding::kBrotli, Coding::kZstd, Coding::kGzip, Coding::kDeflate};
  // A buffered body, or one write of a streamed one, of at least this many bytes is
  // compressed on ThreadPool::shared() (the loop goes on meanwhile); smaller ones inline.
  uint64_t pool_threshold = 64 * 1024;
  int gzip_level = 6;      // zlib's 1 (fast) to 9, for gzip and deflate
  int brotli_quality = 4;  // 0 to 11 (11 is for assets compressed once, far too slow per request)
  int zstd_level = 3;      // 1 to 19
  // Express's `filter`: whether to consider compressing this answer (its headers are set).
  // Empty: compressible(Content-Type).
  std::function<bool(const ServerRequest&, const ServerResponse&)> filter;
};

// An around middleware: negotiates before the route, compresses after it (buffered) or as the
// body is written (streamed).
struct Compression {
  std::shared_ptr<const CompressionOptions> options;
  Task<void> operator()(Req& req, Res& res, Next next) const;
};

// Throws std::invalid_argument for a level out of its range.
Compression compression(CompressionOptions options = {});

}  // namespace brigade::http
