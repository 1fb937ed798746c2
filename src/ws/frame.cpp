#include "brigade/ws/frame.hpp"

#include <algorithm>
#include <cstring>

namespace brigade::ws {

bool is_valid_close_code(uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

std::size_t write_frame_header(char* out, Opcode opcode, bool fin, bool rsv1, uint64_t length,
                               const uint8_t* mask) noexcept {
  auto* o = reinterpret_cast<uint8_t*>(out);
  o[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(opcode));
  uint8_t m = mask ? 0x80 : 0;
  std::size_t n;
  if (length < 126) {
    o[1] = static_cast<uint8_t>(m | length);
    n = 2;
  } else if (length <= 0xFFFF) {
    o[1] = m | 126;
    o[2] = static_cast<uint8_t>(length >> 8);
    o[3] = static_cast<uint8_t>(length);
    n = 4;
  } else {
    o[1] = m | 127;
    for (int i = 0; i < 8; ++i) o[2 + i] = static_cast<uint8_t>(length >> (56 - 8 * i));
    n = 10;
  }
  if (mask) {
    std::memcpy(o + n, mask, 4);
    n += 4;
  }
  return n;
}

void apply_mask(char* bytes, std::size_t n, const uint8_t mask[4], std::size_t offset) noexcept {
  uint8_t key[8];
  for (int j = 0; j < 8; ++j) key[j] = mask[(offset + j) & 3];
  uint64_t k;
  std::memcpy(&k, key, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {  // 8 is a multiple of the key's period: the pattern holds
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    w ^= k;
    std::memcpy(bytes + i, &w, 8);
  }
  for (; i < n; ++i) bytes[i] = static_cast<char>(bytes[i] ^ key[i & 7]);
}

std::string encode_frame(Opcode opcode, std::string_view payload, bool fin, const uint8_t* mask,
                         bool rsv1) {
  std::string out(kMaxFrameHeader + payload.size(), '\0');
  std::size_t h = write_frame_header(out.data(), opcode, fin, rsv1, payload.size(), mask);
  if (!payload.empty()) std::memcpy(out.data() + h, payload.data(), payload.size());
  if (mask) apply_mask(out.data() + h, payload.size(), mask);
  out.resize(h + payload.size());
  return out;
}

std::string close_payload(uint16_t code, std::string_view reason) {
  if (code == 0 || code == close_code::kNoStatus) return {};
  std::size_t n = std::min(reason.size(), kMaxControlPayload - 2);
  // Cut on a character boundary: never leave half a UTF-8 sequence.
  if (n < reason.size())
    while (n > 0 && (static_cast<uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
  std::string p;
  p.reserve(2 + n);
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p.append(reason.substr(0, n));
  return p;
}

Parser::Parser(ParserOptions options) : options_(options) {
  if (options_.deflate)
    inflater_ = std::make_unique<Inflater>(options_.inflate_no_context_takeover);
}
Parser::~Parser() = default;
Parser::Parser(Parser&&) noexcept = default;
Parser& Parser::operator=(Parser&&) noexcept = default;

bool Parser::fail(Event& ev, uint16_t code, const char* why) {
  failed_ = true;
  ev.kind = Event::Kind::kError;
  ev.code = code;
  ev.data = why;
  message_ = {};
  control_ = {};
  return true;
}

std::size_t Parser::parse(std::string_view in, Event& ev) {
  ev.kind = Event::Kind::kNone;
  std::size_t used = 0;
  while (used < in.size() && !failed_ && !closed_) {
    if (in_header_) {
      while (header_len_ < header_need_ && used < in.size())
        header_[header_len_++] = static_cast<uint8_t>(in[used++]);
      if (header_len_ < header_need_) break;
      if (header_need_ == 2) {  // the first two bytes tell the header's size
        uint8_t len7 = header_[1] & 0x7F;
        header_need_ = static_cast<uint8_t>(2 +
                                            (len7 == 126   ? 2
                                             : len7 == 127 ? 8
                                                           : 0) +
                                            ((header_[1] & 0x80) ? 4 : 0));
        if (header_len_ < header_need_) continue;
      }
      if (header_complete(ev)) return used;
      continue;
    }
    std::size_t n = static_cast<std::size_t>(
        std::min<uint64_t>(remaining_, static_cast<uint64_t>(in.size() - used)));
    if (frame_payload(in.substr(used, n), ev)) return used + n;
    used += n;
    remaining_ -= n;
    if (remaining_ == 0) {
      in_header_ = true;
      if (frame_end(ev)) return used;
    }
  }
  return used;
}

// True when it produced an event (an error, or a frame with an empty payload that ended one).
bool Parser::header_complete(Event& ev) {
  uint8_t b0 = header_[0], b1 = header_[1];
  fin_ = b0 & 0x80;
  bool rsv1 = b0 & 0x40;
  uint8_t op = b0 & 0x0F;
  masked_ = b1 & 0x80;
  uint8_t len7 = b1 & 0x7F;
  header_len_ = 0;
  header_need_ = 2;
  if (b0 & 0x30) return fail(ev, close_code::kProtocolError, "reserved bits RSV2/RSV3 set");
  if (!(op <= 2 || (op >= 8 && op <= 10)))
    return fail(ev, close_code::kProtocolError, "reserved opcode");
  if (options_.role == Role::kServer && !masked_)
    return fail(ev, close_code::kProtocolError, "a client frame must be masked");
  if (options_.role == Role::kClient && masked_)
    return fail(ev, close_code::kProtocolError, "a server frame must not be masked");
  uint64_t length = len7;
  std::size_t pos = 2;
  if (len7 == 126) {
    length = (uint64_t(header_[2]) << 8) | header_[3];
    pos = 4;
  } else if (len7 == 127) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | header_[2 + i];
    pos = 10;
    if (length >> 63)
      return fail(ev, close_code::kProtocolError, "frame length with the top bit set");
  }
  if (masked_) std::memcpy(mask_, header_ + pos, 4);
  opcode_ = static_cast<Opcode>(op);
  if (op >= 8) {
    if (!fin_) return fail(ev, close_code::kProtocolError, "fragmented control frame");
    if (length > kMaxControlPayload)
      return fail(ev, close_code::kProtocolError, "control frame longer than 125 bytes");
    if (rsv1) return fail(ev, close_code::kProtocolError, "RSV1 on a control frame");
    control_.clear();
  } else if (op == 0) {
    if (message_opcode_ == Opcode::kContinuation)
      return fail(ev, close_code::kProtocolError, "continuation frame without a message");
    if (rsv1) return fail(ev, close_code::kProtocolError, "RSV1 on a continuation frame");
  } else {
    if (message_opcode_ != Opcode::kContinuation)
      return fail(ev, close_code::kProtocolError, "new message inside a fragmented one");
    if (rsv1 && !options_.deflate)
      return fail(ev, close_code::kProtocolError, "RSV1 set without permessage-deflate");
    message_opcode_ = opcode_;
    compressed_ = rsv1;
    message_.clear();
    utf8_.reset();
  }
  if (op < 8 && !compressed_ && options_.max_message_size &&
      length > options_.max_message_size -
                   std::min<uint64_t>(message_.size(), options_.max_message_size))
    return fail(ev, close_code::kTooBig, "message larger than the limit");
  if (op < 8 && !compressed_)  // grow with the bytes that come, not with what the header claims
    message_.reserve(message_.size() +
                     static_cast<std::size_t>(std::min<uint64_t>(length, 64 * 1024)));
  remaining_ = length;
  payload_pos_ = 0;
  if (length == 0) return frame_end(ev);
  in_header_ = false;
  return false;
}

// Inflates into message_ under the size limit; a failure closes with the code the RFC gives.
bool Parser::inflate(Event& ev, std::string_view input, bool final) {
  switch (inflater_->inflate(input, final, message_, options_.max_message_size)) {
    case Inflater::Result::kOk:
      return false;
    case Inflater::Result::kTooBig:
      return fail(ev, close_code::kTooBig, "message larger than the limit once inflated");
    case Inflater::Result::kBadData:
      return fail(ev, close_code::kInvalidData, "invalid deflate data");
  }
  return false;
}

bool Parser::frame_payload(std::string_view bytes, Event& ev) {
  if (bytes.empty()) return false;
  std::size_t offset = static_cast<std::size_t>(payload_pos_);
  payload_pos_ += bytes.size();
  if (static_cast<uint8_t>(opcode_) >= 8) {
    std::size_t at = control_.size();
    control_.append(bytes);
    if (masked_) apply_mask(control_.data() + at, bytes.size(), mask_, offset);
    return false;
  }
  std::size_t at = message_.size();
  if (!compressed_) {
    message_.append(bytes);
    if (masked_) apply_mask(message_.data() + at, bytes.size(), mask_, offset);
  } else {
    std::string_view input = bytes;
    std::string unmasked;
    if (masked_) {
      unmasked.assign(bytes);
      apply_mask(unmasked.data(), unmasked.size(), mask_, offset);
      input = unmasked;
    }
    if (inflate(ev, input, false)) return true;
  }
  if (message_opcode_ == Opcode::kText && !utf8_.feed(std::string_view(message_).substr(at)))
    return fail(ev, close_code::kInvalidData, "text message is not UTF-8");
  return false;
}

bool Parser::frame_end(Event& ev) {
  in_header_ = true;
  switch (opcode_) {
    case Opcode::kPing:
    case Opcode::kPong:
      ev.kind = opcode_ == Opcode::kPing ? Event::Kind::kPing : Event::Kind::kPong;
      ev.code = 0;
      ev.data.assign(control_);
      return true;
    case Opcode::kClose: {
      if (control_.size() == 1)
        return fail(ev, close_code::kProtocolError, "close payload of 1 byte");
      uint16_t code = close_code::kNoStatus;
      std::string_view reason;
      if (control_.size() >= 2) {
        code = static_cast<uint16_t>((uint8_t(control_[0]) << 8) | uint8_t(control_[1]));
        if (!is_valid_close_code(code))
          return fail(ev, close_code::kProtocolError, "invalid close code");
        reason = std::string_view(control_).substr(2);
        if (!is_valid_utf8(reason))
          return fail(ev, close_code::kInvalidData, "close reason is not UTF-8");
      }
      ev.kind = Event::Kind::kClose;
      ev.code = code;
      ev.data.assign(reason);
      closed_ = true;
      return true;
    }
    default:
      break;
  }
  if (!fin_) return false;
  if (compressed_) {
    std::size_t at = message_.size();
    if (inflate(ev, {}, true)) return true;
    if (message_opcode_ == Opcode::kText && !utf8_.feed(std::string_view(message_).substr(at)))
      return fail(ev, close_code::kInvalidData, "text message is not UTF-8");
  }
  if (message_opcode_ == Opcode::kText && !utf8_.complete())
    return fail(ev, close_code::kInvalidData, "text message ends inside a UTF-8 sequence");
  ev.kind = message_opcode_ == Opcode::kText ? Event::Kind::kText : Event::Kind::kBinary;
  ev.code = 0;
  ev.data = std::move(message_);
  message_ = std::string();
  message_opcode_ = Opcode::kContinuation;
  compressed_ = false;
  return true;
}

}  // namespace brigade::ws
