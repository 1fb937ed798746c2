// http::compression: which answers are compressed, the headers a compressed answer carries, and
// the two paths: buffered bodies after the route, streamed ones through the connection's
// BodyEncoder as they are written.
#include "brigade/http/compression.hpp"

#include <stdexcept>
#include <string>

#include "access.hpp"
#include "brigade/http/parser_syntax.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "connection.hpp"
#include "content_coding.hpp"

namespace brigade::http {

namespace {
using detail::ResponseAccess;
using syntax::equals_ignore_case;

// Calls fn(name, value) for each of the response's header lines ("Name: value\r\n").
template <typename Fn>
void for_each_header(std::string_view lines, Fn&& fn) {
  while (!lines.empty()) {
    std::size_t eol = lines.find("\r\n");
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fn(line.substr(0, colon), syntax::trim_ows(line.substr(colon + 1)));
  }
}

// Whether any `name` header's list holds `token` (case-insensitive).
bool header_lists(const Res& res, std::string_view name, std::string_view token) {
  bool found = false;
  for_each_header(ResponseAccess::header_lines(res), [&](std::string_view n, std::string_view v) {
    if (!equals_ignore_case(n, name)) return;
    syntax::for_each_list_element(v, [&](std::string_view element) {
      std::string_view directive = element.substr(0, element.find('='));
      found = found || equals_ignore_case(syntax::trim_ows(directive), token);
    });
  });
  return found;
}

void remove_header(Res& res, std::string_view name) {
  std::string& lines = ResponseAccess::header_buffer(res);
  std::size_t at = 0;
  while (at < lines.size()) {
    std::size_t eol = lines.find("\r\n", at);
    std::size_t end = eol == std::string::npos ? lines.size() : eol + 2;
    std::size_t colon = lines.find(':', at);
    if (colon < end && equals_ignore_case(std::string_view(lines).substr(at, colon - at), name))
      lines.erase(at, end - at);
    else
      at = end;
  }
}

void add_vary(Res& res) {
  if (header_lists(res, "Vary", "*") || header_lists(res, "Vary", "Accept-Encoding")) return;
  res.set("Vary", "Accept-Encoding");
}

int level_for(const CompressionOptions& o, Coding coding) {
  switch (coding) {
    case Coding::kBrotli:
      return o.brotli_quality;
    case Coding::kZstd:
      return o.zstd_level;
    default:
      return o.gzip_level;
  }
}

// Express's order of checks: the filter and no-transform decide whether the answer depends on
// Accept-Encoding at all (Vary), then size, an existing coding, HEAD and the negotiation
// whether this one is compressed. `length`: the body's size, when known.
bool should_compress(const CompressionOptions& o, const Req& req, Res& res, Coding coding,
                     std::optional<uint64_t> length) {
  int status = res.status();
  if (status < 200 || status == 204 || status == 206 || status == 304) return false;
  bool wanted = o.filter ? o.filter(req, res) : compressible(res.get("Content-Type"));
  if (!wanted || header_lists(res, "Cache-Control", "no-transform")) return false;
  add_vary(res);
  if (length && *length < o.threshold) return false;
  std::string_view existing = syntax::trim_ows(res.get("Content-Encoding"));
  if (!existing.empty() && !equals_ignore_case(existing, "identity")) return false;
  if (req.method() == Method::kHead) return false;
  return coding != Coding::kIdentity;
}

// The headers of a body about to be transformed: its coding, no Content-Length (a buffered body
// gets its new one, a streamed one goes chunked), and a weak ETag (RFC 9110 section 8.8.1: the
// bytes are no longer the tagged ones, the content is).
void mark_encoded(Res& res, Coding coding) {
  remove_header(res, "Content-Encoding");  // an "identity" one
  std::string etag(res.get("ETag"));
  if (etag.starts_with('"')) {
    remove_header(res, "ETag");
    res.set("ETag", "W/" + etag);
  }
  res.set("Content-Encoding", coding_name(coding));
  ResponseAccess::drop_content_length(res);
}

// A streamed body's encoder (the connection asks it at head time, then hands it each write).
class StreamCompressor final : public detail::BodyEncoder {
 public:
  StreamCompressor(const CompressionOptions& o, const Req& req, Coding coding)
      : options_(o), req_(req), coding_(coding) {}

  bool begin(Res& res) override {
    std::optional<uint64_t> length;
    if (ResponseAccess::has_content_length(res)) length = ResponseAccess::content_length(res);
    if (!should_compress(options_, req_, res, coding_, length)) return false;
    mark_encoded(res, coding_);
    encoder_ = detail::Encoder::make(coding_, level_for(options_, coding_));
    return true;
  }

  Task<std::string_view> encode(std::string_view bytes) override {
    out_.clear();
    if (bytes.size() < options_.pool_threshold) {
      encoder_->write(bytes, true, out_);
      co_return out_;
    }
    auto work = [this, bytes] { encoder_->write(bytes, true, out_); };
    auto job = ThreadPool::shared().run(std::move(work));  // named: see the g++ 12 note
    co_await job;
    co_return out_;
  }

  std::string_view finish() override {
    out_.clear();
    encoder_->finish(out_);
    return out_;
  }

 private:
  const CompressionOptions& options_;
  const Req& req_;
  Coding coding_;
  std::unique_ptr<detail::Encoder> encoder_;
  std::string out_;
};

void check_level(int level, int low, int high, const char* what) {
  if (level < low || level > high)
    throw std::invalid_argument(std::string("compression: ") + what + " out of range");
}

}  // namespace

Compression compression(CompressionOptions options) {
  check_level(options.gzip_level, 1, 9, "gzip_level");
  check_level(options.brotli_quality, 0, 11, "brotli_quality");
  check_level(options.zstd_level, 1, 19, "zstd_level");
  return Compression{std::make_shared<const CompressionOptions>(std::move(options))};
}

Task<void> Compression::operator()(Req& req, Res& res, Next next) const {
  const CompressionOptions& o = *options;
  detail::Connection* conn = ResponseAccess::connection(res);
  if (!conn || !conn->ex) {  // not served by a connection: nothing to hook
    co_await next();
    co_return;
  }
  Coding coding =
      negotiate_encoding(req.header("Accept-Encoding"), o.encodings).value_or(Coding::kIdentity);
  detail::Exchange& ex = *conn->ex;
  ex.encoder = std::make_unique<StreamCompressor>(o, req, coding);
  co_await next();
  // A stream that began is the encoder's to end (Connection::finish_stream); else it goes, so
  // an outer middleware's own stream is not transformed.
  if (!ex.encoding) ex.encoder.reset();
  if (res.headers_sent() || !res.ended()) co_return;

  std::string& body = ResponseAccess::body_buffer(res);
  if (!should_compress(o, req, res, coding, body.size())) co_return;
  mark_encoded(res, coding);
  int level = level_for(o, coding);
  // The body is replaced by a copy of the (small) result: it keeps its capacity for the next
  // answer on this exchange.
  std::string compressed;
  if (body.size() < o.pool_threshold) {
    detail::compress_whole(coding, level, body, compressed);
  } else {
    auto work = [coding, level, &body, &compressed] {
      detail::compress_whole(coding, level, body, compressed);
    };
    auto job = ThreadPool::shared().run(std::move(work));  // named: see the g++ 12 note
    co_await job;
  }
  body.assign(compressed);
}

}  // namespace brigade::http
