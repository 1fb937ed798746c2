#pragma once
// A request body as the body parsers read it: piece by piece, from the buffer or the socket,
// with its Content-Encoding (gzip, deflate, br, zstd) decoded as it arrives. Private to
// src/http (body.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "brigade/http/compression.hpp"
#include "brigade/http/server_request.hpp"
#include "brigade/task/task.hpp"
#include "content_coding.hpp"

namespace brigade::http::detail {

// The coding of the request's Content-Encoding. HttpError 415 for a coding not decoded here
// (or more than one), or any coding when `inflate` is off (body-parser's inflate: false).
Coding request_coding(const ServerRequest& req, bool inflate);

class BodyPieces {
 public:
  // `max_bytes`: the decoded body's limit (0: none); past it, HttpError 413 before more than
  // one step (64 KiB) beyond it was ever decoded. The coded bytes are bounded too (a stream of
  // empty blocks decodes to nothing forever).
  BodyPieces(ServerRequest& req, Coding coding, uint64_t max_bytes);
  // The next piece (a view valid until the next call); empty at the body's end. Throws
  // HttpError 400 for corrupt or truncated coded data, 413 past the limit, and what the
  // request's reads throw (brigade::Error: EFBIG past a route's limit, ECONNRESET...).
  Task<std::string_view> next();

 private:
  Task<std::string_view> raw();  // the next piece as it came, empty at the end
  ServerRequest& req_;
  Coding coding_;
  std::unique_ptr<Decoder> decoder_;
  std::string_view pending_;  // coded bytes not decoded yet (a view into the request's piece)
  std::string out_;           // the piece handed out
  uint64_t limit_;
  uint64_t coded_ = 0;
  uint64_t decoded_ = 0;
  uint64_t next_yield_ = 1024 * 1024;
  bool output_left_ = false;  // the last step filled its room: the decoder may hold more
  bool buffered_taken_ = false;
  bool input_done_ = false;
};

}  // namespace brigade::http::detail
