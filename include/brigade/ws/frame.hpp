#pragma once
// The WebSocket wire format (RFC 6455 section 5), without I/O: frame headers, masking, and
// Parser, which turns bytes into whole messages and control frames and enforces every rule a
// peer must check:
//   - masking: a server requires masked frames, a client refuses them            (1002)
//   - reserved bits (RSV1 only for a message compressed with permessage-deflate) (1002)
//   - reserved opcodes, a continuation with no message, a new message inside one (1002)
//   - control frames: at most 125 bytes, never fragmented; a close frame's code  (1002)
//   - a 64-bit length with the top bit set                                       (1002)
//   - a message (after decompression) longer than max_message_size              (1009)
//   - text that is not UTF-8, checked as fragments arrive; a close reason too    (1007)
// After an error the parser stays failed: the caller sends a close frame with the event's code
// and closes. Control frames between a message's fragments are delivered at once.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "brigade/ws/deflate.hpp"
#include "brigade/ws/utf8.hpp"

namespace brigade::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes (RFC 6455 7.4.1).
namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kNoStatus = 1005;  // never sent: the close frame had no code
inline constexpr uint16_t kAbnormal = 1006;  // never sent: the connection dropped without one
inline constexpr uint16_t kInvalidData = 1007;
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kTooBig = 1009;
inline constexpr uint16_t kMandatoryExtension = 1010;
inline constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

// Whether `code` may be sent in a close frame (1000-1003, 1007-1014, 3000-4999).
bool is_valid_close_code(uint16_t code) noexcept;

inline constexpr std::size_t kMaxFrameHeader = 14;
inline constexpr std::size_t kMaxControlPayload = 125;

// Writes a frame header into `out` (room for kMaxFrameHeader bytes); returns its size.
// `mask` is the 4-byte masking key (a client's frames), or null.
std::size_t write_frame_header(char* out, Opcode opcode, bool fin, bool rsv1, uint64_t length,
                               const uint8_t* mask) noexcept;
// XORs bytes with the key, `offset` bytes into the frame's payload.
void apply_mask(char* bytes, std::size_t n, const uint8_t mask[4], std::size_t offset = 0) noexcept;
// A whole frame: header then payload (masked when `mask` is given).
std::string encode_frame(Opcode opcode, std::string_view payload, bool fin = true,
                         const uint8_t* mask = nullptr, bool rsv1 = false);
// A close frame's payload: the code (big-endian) then the reason, cut to fit 125 bytes on a
// character boundary. No code (1005) gives an empty payload.
std::string close_payload(uint16_t code, std::string_view reason);

enum class Role : uint8_t { kServer, kClient };

struct ParserOptions {
  Role role = Role::kServer;
  std::size_t max_message_size = 16 * 1024 * 1024;  // 0: unlimited
  bool deflate = false;  // permessage-deflate was negotiated: RSV1 marks compressed messages
  bool inflate_no_context_takeover = false;  // the peer resets its compressor per message
};

struct Event {
  enum class Kind : uint8_t {
    kNone,    // more bytes needed
    kText,    // data: a whole text message (valid UTF-8)
    kBinary,  // data: a whole binary message
    kPing,    // data: the payload (answer with a pong carrying it)
    kPong,
    kClose,  // code (kNoStatus if none) and data: the reason
    kError,  // code: the close code to send; data: what was wrong
  };
  Kind kind = Kind::kNone;
  uint16_t code = 0;
  std::string data;
};

class Parser {
 public:
  explicit Parser(ParserOptions options = {});
  ~Parser();
  Parser(Parser&&) noexcept;
  Parser& operator=(Parser&&) noexcept;

  // Consumes bytes from `in` up to the end of the next event, or all of them. Returns how many
  // were consumed; `ev` is that event, or kNone when everything was consumed without one.
  // Call again with the rest. After kError (or kClose) it consumes nothing more.
  std::size_t parse(std::string_view in, Event& ev);

  bool failed() const noexcept { return failed_; }
  // Between messages (no frame or fragmented message partly read): nothing to keep but options.
  bool idle() const noexcept {
    return in_header_ && header_len_ == 0 && message_opcode_ == Opcode::kContinuation;
  }
  // Bytes held for a message not yet complete (the memory a slow sender costs).
  std::size_t buffered() const noexcept { return message_.capacity() + control_.capacity(); }

 private:
  bool header_complete(Event& ev);
  bool frame_payload(std::string_view bytes, Event& ev);
  bool frame_end(Event& ev);
  bool fail(Event& ev, uint16_t code, const char* why);
  bool inflate(Event& ev, std::string_view input, bool final);  // true: failed (ev says why)

  ParserOptions options_;
  std::unique_ptr<Inflater> inflater_;
  Utf8Validator utf8_;
  std::string message_;  // the data message being assembled
  std::string control_;  // the control frame being read
  uint8_t header_[kMaxFrameHeader];
  uint8_t header_len_ = 0;
  uint8_t header_need_ = 2;
  uint8_t mask_[4] = {};
  bool masked_ = false;
  bool fin_ = false;
  bool in_header_ = true;
  Opcode opcode_ = Opcode::kContinuation;
  Opcode message_opcode_ = Opcode::kContinuation;  // kContinuation: no message in progress
  bool compressed_ = false;                        // the message in progress is compressed
  uint64_t remaining_ = 0;                         // payload bytes of the frame still to come
  uint64_t payload_pos_ = 0;                       // payload bytes of the frame seen
  bool failed_ = false;
  bool closed_ = false;
};

}  // namespace brigade::ws
