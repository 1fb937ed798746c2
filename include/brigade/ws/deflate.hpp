#pragma once
// permessage-deflate (RFC 7692): the extension's negotiation and the per-message compressor and
// decompressor (zlib's raw deflate; a message ends with an empty sync block, whose 4 trailing
// bytes 00 00 FF FF are not sent).
//
// Negotiation, server side: the client offers `permessage-deflate` with parameters in
// Sec-WebSocket-Extensions; negotiate_deflate() takes the first offer it can accept under the
// server's DeflateOptions and returns the agreed parameters and the response header's text. An
// offer with an unknown, repeated or malformed parameter is declined (no compression), as is a
// server_max_window_bits of 8 (zlib's raw deflate cannot write with a 256-byte window).
// Client side: deflate_offer() writes the offer and accept_deflate_response() checks the answer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace brigade::ws {

struct DeflateOptions {
  bool enabled = false;
  bool server_no_context_takeover = false;  // the server resets its compressor per message
  bool client_no_context_takeover = false;  // asks the client to reset its compressor
  int server_max_window_bits = 15;          // 9..15
  int client_max_window_bits = 15;          // 9..15 (asked only if the client offers it)
  std::size_t threshold = 64;               // smaller messages are sent uncompressed
  int level = 6;                            // zlib's compression level
};

// What both sides agreed on.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

struct DeflateAgreement {
  DeflateParams params;
  std::string response;  // the Sec-WebSocket-Extensions value to answer with
};

// Server: the agreement for the client's Sec-WebSocket-Extensions header, or nothing.
std::optional<DeflateAgreement> negotiate_deflate(std::string_view extensions_header,
                                                  const DeflateOptions& options);
// Client: the Sec-WebSocket-Extensions value to send for `options`.
std::string deflate_offer(const DeflateOptions& options);
// Client: the server's answer. Nothing when the server declined (an empty header); throws
// std::invalid_argument for an answer the offer did not allow (the client must fail).
std::optional<DeflateParams> accept_deflate_response(std::string_view extensions_header,
                                                     const DeflateOptions& options);

// Compresses whole messages. With context takeover the window carries over between messages.
class Deflater {
 public:
  Deflater(int window_bits, bool no_context_takeover, int level);
  ~Deflater();
  Deflater(Deflater&&) noexcept;
  Deflater& operator=(Deflater&&) noexcept;
  // Appends the compressed message (without the 00 00 FF FF tail) to `out`.
  void compress(std::string_view message, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool no_context_takeover_;
};

// Decompresses a message's frames as they arrive, bounded by a limit on the output.
class Inflater {
 public:
  explicit Inflater(bool no_context_takeover);
  ~Inflater();
  Inflater(Inflater&&) noexcept;
  Inflater& operator=(Inflater&&) noexcept;
  enum class Result : uint8_t { kOk, kTooBig, kBadData };
  // Appends what `compressed` decodes to onto `out`; kTooBig once `out` would pass `limit`
  // (0: no limit). `last` ends the message (the 00 00 FF FF tail is added here).
  Result inflate(std::string_view compressed, bool last, std::string& out, std::size_t limit);

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool no_context_takeover_;
};

}  // namespace brigade::ws
