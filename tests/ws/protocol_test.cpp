// The protocol core without I/O: frames, masking, the parser's rules, UTF-8, the handshake's
// keys and permessage-deflate's negotiation and codec.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "brigade/ws/deflate.hpp"
#include "brigade/ws/frame.hpp"
#include "brigade/ws/handshake.hpp"
#include "brigade/ws/utf8.hpp"

namespace ws = brigade::ws;
using Kind = ws::Event::Kind;

namespace {

const uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// Every event the parser gives for `bytes`, fed in pieces of `step` bytes (0: all at once).
std::vector<ws::Event> parse_all(ws::Parser& p, std::string_view bytes, std::size_t step = 0) {
  std::vector<ws::Event> events;
  while (!bytes.empty()) {
    std::size_t n = step ? std::min(step, bytes.size()) : bytes.size();
    std::string_view piece = bytes.substr(0, n);
    while (!piece.empty()) {
      ws::Event ev;
      std::size_t used = p.parse(piece, ev);
      if (ev.kind != Kind::kNone) events.push_back(ev);
      if (used == 0 && ev.kind == Kind::kNone) return events;  // failed or closed: stuck
      piece.remove_prefix(used);
      if (p.failed()) return events;
    }
    bytes.remove_prefix(n);
  }
  return events;
}

std::string client_frame(ws::Opcode op, std::string_view payload, bool fin = true) {
  return ws::encode_frame(op, payload, fin, kMask);
}

ws::Event only_event(std::string_view bytes, ws::ParserOptions o = {}) {
  ws::Parser p(o);
  auto events = parse_all(p, bytes);
  EXPECT_EQ(events.size(), 1u);
  return events.empty() ? ws::Event{} : events[0];
}

}  // namespace

TEST(WsProtocol, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string k = ws::make_key();
  EXPECT_EQ(k.size(), 24u);
  EXPECT_NE(k, ws::make_key());
}

TEST(WsProtocol, RoundTripsEveryLengthEncoding) {
  for (std::size_t n : {0, 1, 125, 126, 127, 65535, 65536, 200000}) {
    std::string payload(n, 'x');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string frame = client_frame(ws::Opcode::kBinary, payload);
    std::size_t header = n < 126 ? 6 : n <= 65535 ? 8 : 14;
    EXPECT_EQ(frame.size(), header + n);
    ws::Event ev = only_event(frame);
    EXPECT_EQ(ev.kind, Kind::kBinary);
    EXPECT_EQ(ev.data, payload) << n;
  }
}

TEST(WsProtocol, ByteAtATimeGivesTheSameEvents) {
  std::string stream = client_frame(ws::Opcode::kText, "hel", false) +
                       client_frame(ws::Opcode::kPing, "p") +
                       client_frame(ws::Opcode::kContinuation, "lo \xc3\xa9", true) +
                       client_frame(ws::Opcode::kBinary, std::string(300, 'b')) +
                       client_frame(ws::Opcode::kClose, ws::close_payload(1000, "bye"));
  for (std::size_t step : {0, 1, 2, 3, 7}) {
    ws::Parser p;
    auto events = parse_all(p, stream, step);
    ASSERT_EQ(events.size(), 4u) << step;
    EXPECT_EQ(events[0].kind, Kind::kPing);  // the control frame between the fragments
    EXPECT_EQ(events[0].data, "p");
    EXPECT_EQ(events[1].kind, Kind::kText);
    EXPECT_EQ(events[1].data, "hello \xc3\xa9");
    EXPECT_EQ(events[2].data, std::string(300, 'b'));
    EXPECT_EQ(events[3].kind, Kind::kClose);
    EXPECT_EQ(events[3].code, 1000);
    EXPECT_EQ(events[3].data, "bye");
  }
}

TEST(WsProtocol, ServerRefusesUnmaskedAndClientRefusesMasked) {
  ws::Event ev = only_event(ws::encode_frame(ws::Opcode::kText, "hi"));
  EXPECT_EQ(ev.kind, Kind::kError);
  EXPECT_EQ(ev.code, ws::close_code::kProtocolError);
  ws::ParserOptions client;
  client.role = ws::Role::kClient;
  EXPECT_EQ(only_event(ws::encode_frame(ws::Opcode::kText, "hi"), client).kind, Kind::kText);
  EXPECT_EQ(only_event(client_frame(ws::Opcode::kText, "hi"), client).code, 1002);
}

TEST(WsProtocol, ProtocolErrorsAre1002) {
  auto code_of = [](std::string bytes) { return only_event(bytes).code; };
  EXPECT_EQ(code_of(client_frame(ws::Opcode::kPing, "x", false)), 1002);  // fragmented control
  EXPECT_EQ(code_of(client_frame(ws::Opcode::kPing, std::string(126, 'x'))), 1002);
  EXPECT_EQ(code_of(client_frame(static_cast<ws::Opcode>(3), "x")), 1002);   // reserved opcode
  EXPECT_EQ(code_of(client_frame(static_cast<ws::Opcode>(0xB), "")), 1002);  // reserved control
  EXPECT_EQ(code_of(client_frame(ws::Opcode::kContinuation, "x")), 1002);    // no message
  EXPECT_EQ(
      code_of(client_frame(ws::Opcode::kText, "a", false) + client_frame(ws::Opcode::kText, "b")),
      1002);  // message inside one
  std::string rsv = client_frame(ws::Opcode::kText, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x20);  // RSV2
  EXPECT_EQ(code_of(rsv), 1002);
  std::string rsv1 = client_frame(ws::Opcode::kText, "x");
  rsv1[0] = static_cast<char>(rsv1[0] | 0x40);  // RSV1 without permessage-deflate
  EXPECT_EQ(code_of(rsv1), 1002);
  // A 2^63 length: the top bit of a 64-bit length must be 0.
  std::string huge("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\0\0\0\0", 14);
  EXPECT_EQ(code_of(huge), 1002);
  // Close codes: 1 byte of payload, a reserved code, a code out of range.
  EXPECT_EQ(code_of(client_frame(ws::Opcode::kClose, "\x03")), 1002);
  for (uint16_t bad : {999, 1004, 1005, 1006, 1015, 2000, 5000}) {
    std::string payload{static_cast<char>(bad >> 8), static_cast<char>(bad & 0xff)};
    EXPECT_EQ(code_of(client_frame(ws::Opcode::kClose, payload)), 1002) << bad;
  }
  ws::Event empty_close = only_event(client_frame(ws::Opcode::kClose, ""));
  EXPECT_EQ(empty_close.kind, Kind::kClose);
  EXPECT_EQ(empty_close.code, ws::close_code::kNoStatus);
}

TEST(WsProtocol, InvalidUtf8SplitAcrossFragmentsFailsAtItsFragment) {
  // "\xce\xba" is valid split across frames; "\xed\xa0" (a surrogate) fails in the first frame,
  // before the message's end arrives.
  ws::Parser ok;
  auto good = parse_all(ok, client_frame(ws::Opcode::kText, "a\xce", false) +
                                client_frame(ws::Opcode::kContinuation, "\xba"));
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0].data, "a\xce\xba");

  ws::Parser p;
  auto events = parse_all(p, client_frame(ws::Opcode::kText, "ok\xed\xa0", false));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, ws::close_code::kInvalidData);
  // A message that ends inside a sequence.
  EXPECT_EQ(only_event(client_frame(ws::Opcode::kText, "a\xce")).code, 1007);
  // A close reason that is not UTF-8.
  EXPECT_EQ(only_event(client_frame(ws::Opcode::kClose, ws::close_payload(1000, "\xff"))).code,
            1007);
}

TEST(WsProtocol, MessageOneByteOverTheLimitIs1009) {
  ws::ParserOptions o;
  o.max_message_size = 1000;
  EXPECT_EQ(only_event(client_frame(ws::Opcode::kBinary, std::string(1000, 'x')), o).kind,
            Kind::kBinary);
  EXPECT_EQ(only_event(client_frame(ws::Opcode::kBinary, std::string(1001, 'x')), o).code, 1009);
  // Across fragments: the header of the frame that passes the limit fails, before its payload.
  ws::Parser p(o);
  auto events =
      parse_all(p, client_frame(ws::Opcode::kBinary, std::string(600, 'x'), false) +
                       client_frame(ws::Opcode::kContinuation, std::string(401, 'x')).substr(0, 8));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 1009);
}

TEST(WsProtocol, Utf8Validator) {
  EXPECT_TRUE(ws::is_valid_utf8("plain ascii text, long enough for the word loop"));
  EXPECT_TRUE(ws::is_valid_utf8("\xf0\x9f\x98\x80 \xe2\x82\xac \xc2\xa9"));
  EXPECT_TRUE(ws::is_valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(ws::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(ws::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(ws::is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(ws::is_valid_utf8("\xed\xbf\xbf"));      // surrogate
  EXPECT_FALSE(ws::is_valid_utf8("\x80"));
  EXPECT_FALSE(ws::is_valid_utf8("\xe2\x82"));  // truncated
  ws::Utf8Validator v;
  EXPECT_TRUE(v.feed("\xf0\x9f"));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\x98"));
  EXPECT_TRUE(v.feed("\x80"));
  EXPECT_TRUE(v.complete());
}

TEST(WsProtocol, MaskIsItsOwnInverseAtAnyOffset) {
  std::string data(37, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::string masked = data;
  ws::apply_mask(masked.data(), 5, kMask, 0);  // in two pieces, the second at offset 5
  ws::apply_mask(masked.data() + 5, masked.size() - 5, kMask, 5);
  for (std::size_t i = 0; i < data.size(); ++i)
    EXPECT_EQ(static_cast<uint8_t>(masked[i]), static_cast<uint8_t>(data[i] ^ kMask[i % 4]));
  ws::apply_mask(masked.data(), masked.size(), kMask, 0);
  EXPECT_EQ(masked, data);
}

TEST(WsProtocol, ClosePayloadCutsOnACharacterBoundary) {
  std::string reason;
  for (int i = 0; i < 70; ++i) reason += "\xc3\xa9";  // 140 bytes
  std::string p = ws::close_payload(1001, reason);
  EXPECT_LE(p.size(), 125u);
  EXPECT_TRUE(ws::is_valid_utf8(p.substr(2)));
  EXPECT_EQ(ws::close_payload(ws::close_code::kNoStatus, "x"), "");
}

TEST(WsProtocol, CheckUpgrade) {
  ws::UpgradeRequest r{
      "GET", true, "websocket", "keep-alive, Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ=="};
  EXPECT_EQ(ws::check_upgrade(r).status, 0);
  auto with = [&](auto change) {
    ws::UpgradeRequest c = r;
    change(c);
    return ws::check_upgrade(c).status;
  };
  EXPECT_EQ(with([](auto& c) { c.method = "POST"; }), 405);
  EXPECT_EQ(with([](auto& c) { c.version = "8"; }), 426);
  EXPECT_EQ(with([](auto& c) { c.key = "short"; }), 400);
  EXPECT_EQ(with([](auto& c) { c.connection = "keep-alive"; }), 400);
  EXPECT_EQ(with([](auto& c) { c.upgrade = "h2c"; }), 426);
  std::vector<std::string> mine{"v2.chat", "chat"};
  EXPECT_EQ(ws::choose_protocol("chat, v2.chat", mine), "v2.chat");
  EXPECT_EQ(ws::choose_protocol("superchat", mine), "");
}

TEST(WsProtocol, DeflateNegotiation) {
  ws::DeflateOptions server;
  server.enabled = true;
  auto a = ws::negotiate_deflate("permessage-deflate; client_max_window_bits", server);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response, "permessage-deflate");  // no limit asked: none answered
  // The first acceptable offer wins; an unknown parameter declines its offer only.
  a = ws::negotiate_deflate(
      "permessage-deflate; foo=1, permessage-deflate; server_no_context_takeover; "
      "server_max_window_bits=10",
      server);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->params.server_no_context_takeover);
  EXPECT_EQ(a->params.server_max_window_bits, 10);
  EXPECT_EQ(a->response,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
  EXPECT_FALSE(ws::negotiate_deflate("permessage-deflate; server_max_window_bits=8", server));
  EXPECT_FALSE(ws::negotiate_deflate("permessage-deflate; server_max_window_bits=16", server));
  EXPECT_FALSE(ws::negotiate_deflate(
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover", server));
  EXPECT_FALSE(ws::negotiate_deflate("x-webkit-deflate-frame", server));
  server.enabled = false;
  EXPECT_FALSE(ws::negotiate_deflate("permessage-deflate", server));

  ws::DeflateOptions client;
  client.enabled = true;
  EXPECT_EQ(ws::deflate_offer(client), "permessage-deflate; client_max_window_bits");
  auto p = ws::accept_deflate_response("permessage-deflate; client_max_window_bits=12", client);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->client_max_window_bits, 12);
  EXPECT_FALSE(ws::accept_deflate_response("", client));
  EXPECT_THROW(ws::accept_deflate_response("permessage-deflate; bogus", client),
               std::invalid_argument);
}

TEST(WsProtocol, DeflateRoundTripWithAndWithoutContextTakeover) {
  for (bool reset : {false, true}) {
    ws::Deflater d(15, reset, 6);
    ws::ParserOptions o;
    o.role = ws::Role::kClient;
    o.deflate = true;
    o.inflate_no_context_takeover = reset;
    ws::Parser p(o);
    std::size_t sizes[2];
    for (int i = 0; i < 2; ++i) {
      std::string text = "the same sentence, compressed twice over one window. ";
      for (int k = 0; k < 5; ++k) text += text;
      std::string z;
      d.compress(text, z);
      sizes[i] = z.size();
      // Split into two frames: RSV1 on the first only.
      std::string frames =
          ws::encode_frame(ws::Opcode::kText, std::string_view(z).substr(0, 5), false, nullptr,
                           true) +
          ws::encode_frame(ws::Opcode::kContinuation, std::string_view(z).substr(5));
      auto events = parse_all(p, frames, 3);
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].kind, Kind::kText);
      EXPECT_EQ(events[0].data, text);
    }
    if (reset)
      EXPECT_EQ(sizes[0], sizes[1]);
    else
      EXPECT_LT(sizes[1], sizes[0]);  // the second message refers to the first
  }
}

TEST(WsProtocol, InflatedSizeIsLimited) {
  ws::Deflater d(15, false, 9);
  std::string bomb(10 * 1024 * 1024, 'a');
  std::string z;
  d.compress(bomb, z);
  EXPECT_LT(z.size(), 64u * 1024);
  ws::ParserOptions o;
  o.deflate = true;
  o.max_message_size = 1024 * 1024;
  ws::Event ev = only_event(ws::encode_frame(ws::Opcode::kBinary, z, true, kMask, true), o);
  EXPECT_EQ(ev.kind, Kind::kError);
  EXPECT_EQ(ev.code, ws::close_code::kTooBig);
  // Garbage marked compressed.
  EXPECT_EQ(
      only_event(ws::encode_frame(ws::Opcode::kBinary, "\xff\xff\xff\xff", true, kMask, true), o)
          .code,
      ws::close_code::kInvalidData);
}

// Found by fuzz_ws_frame: a compressed text frame cut short, whose inflated start is not UTF-8,
// failed with 1007 when fed in pieces but waited for more bytes when fed whole.
TEST(WsProtocol, InvalidInflatedTextFailsFedWholeOrInPieces) {
  const unsigned char frame[] = {0xc1, 0xd1, 0x5d, 0xd1, 0xce, 0xce, 0xce, 0xce, 0xce,
                                 0xce, 0xce, 0xce, 0xce, 0xce, 0xce, 0xce, 0xce, 0xce,
                                 0xce, 0xce, 0xce, 0xce, 0xce, 0xce, 0xce, 0xce, 0xce,
                                 0xce, 0xce, 0xce, 0xff, 0xff, 0xfe, 0x21};
  const std::string_view bytes(reinterpret_cast<const char*>(frame), sizeof frame);
  ws::ParserOptions o;
  o.deflate = true;
  for (std::size_t step : {0, 1, 3}) {
    ws::Parser p(o);
    auto events = parse_all(p, bytes, step);
    ASSERT_EQ(events.size(), 1u) << "step " << step;
    EXPECT_EQ(events[0].kind, Kind::kError);
    EXPECT_EQ(events[0].code, ws::close_code::kInvalidData);
  }
}
