// Request bodies with a Content-Encoding: the coding checked (415), decoded incrementally with
// a bounded output per step, so a body over its limit (a zip bomb) is refused (413) having cost
// at most one step past the limit; corrupt or truncated data is 400.
#include "body_decoding.hpp"

#include <algorithm>

#include "brigade/http/body.hpp"
#include "brigade/http/parser_syntax.hpp"
#include "brigade/task/sleep.hpp"

namespace brigade::http::detail {

namespace {
constexpr std::size_t kStep = 64 * 1024;       // decoded bytes per step at most
constexpr uint64_t kYieldEvery = 1024 * 1024;  // decoded bytes between two loop turns

std::string decoded_too_large(uint64_t limit) {
  return "Payload Too Large: the body is over the limit of " + std::to_string(limit) +
         " bytes once decoded";
}
}  // namespace

Coding request_coding(const ServerRequest& req, bool inflate) {
  std::string_view header = req.header("content-encoding");
  Coding found = Coding::kIdentity;
  int codings = 0;
  syntax::for_each_list_element(header, [&](std::string_view name) {
    std::optional<Coding> c = coding_from_name(name);
    if (!c)
      throw HttpError(415, "Unsupported Media Type: unsupported Content-Encoding '" +
                               std::string(name) + "' (gzip, deflate, br and zstd are decoded)");
    if (*c == Coding::kIdentity) return;
    found = *c;
    ++codings;
  });
  if (codings > 1)
    throw HttpError(415, "Unsupported Media Type: more than one content coding ('" +
                             std::string(header) + "')");
  if (found != Coding::kIdentity && !inflate)
    throw HttpError(415, "Unsupported Media Type: Content-Encoding '" +
                             std::string(coding_name(found)) + "' is not accepted here");
  return found;
}

BodyPieces::BodyPieces(ServerRequest& req, Coding coding, uint64_t max_bytes)
    : req_(req), coding_(coding), decoder_(Decoder::make(coding)), limit_(max_bytes) {}

Task<std::string_view> BodyPieces::raw() {
  if (req_.streamed()) {
    auto next = req_.read_chunk();
    std::string_view piece = co_await next;
    co_return piece;
  }
  if (buffered_taken_) co_return std::string_view{};
  buffered_taken_ = true;
  co_return std::string_view(req_.body());
}

Task<std::string_view> BodyPieces::next() {
  if (!decoder_) {  // identity: the pieces as they come
    std::string_view piece = co_await raw();
    decoded_ += piece.size();
    co_return piece;
  }
  if (decoded_ >= next_yield_) {  // a MiB decoded per loop turn: a big body never holds the loop
    next_yield_ = decoded_ + kYieldEvery;
    co_await yield_now();
  }
  for (;;) {
    if (pending_.empty() && !output_left_) {
      if (input_done_) co_return std::string_view{};
      std::string_view piece = co_await raw();
      if (piece.empty()) {
        input_done_ = true;
        if (decoder_->finish() == Decoder::Status::kError) break;
        co_return std::string_view{};
      }
      coded_ += piece.size();
      // Compressed data may be a little larger than its content (stored blocks), never more.
      if (limit_ && coded_ > limit_ + limit_ / 64 + 1024)
        throw HttpError(413, decoded_too_large(limit_));
      pending_ = piece;
    }
    out_.clear();
    std::size_t step = kStep;
    if (limit_) step = static_cast<std::size_t>(std::min<uint64_t>(kStep, limit_ - decoded_ + 1));
    if (decoder_->decode(pending_, out_, step) == Decoder::Status::kError) break;
    output_left_ = out_.size() == step;  // the decoder may hold more for an empty input
    decoded_ += out_.size();
    if (limit_ && decoded_ > limit_) throw HttpError(413, decoded_too_large(limit_));
    if (!out_.empty()) co_return std::string_view(out_);
  }
  throw HttpError(400, "Bad Request: the " + std::string(coding_name(coding_)) +
                           " body cannot be decoded: " + decoder_->error());
}

}  // namespace brigade::http::detail
