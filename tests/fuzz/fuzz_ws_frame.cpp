// libFuzzer target for the WebSocket frame parser (with permessage-deflate and UTF-8 checks).
// Beyond "no crash, no sanitizer report" it checks that the same bytes fed whole, or cut into
// pieces of another size, give the same events (errors: an error both ways), and that every error
// carries a close code the parser documents.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/ws/frame.hpp"

namespace {

namespace ws = brigade::ws;

std::vector<ws::Event> run(const ws::ParserOptions& o, std::string_view bytes, std::size_t step) {
  ws::Parser p(o);
  std::vector<ws::Event> events;
  while (!bytes.empty()) {
    std::string_view piece = bytes.substr(0, step ? step : bytes.size());
    bytes.remove_prefix(piece.size());
    while (!piece.empty()) {
      ws::Event ev;
      std::size_t used = p.parse(piece, ev);
      if (used > piece.size()) std::abort();
      if (ev.kind != ws::Event::Kind::kNone) events.push_back(std::move(ev));
      if (used == 0) {
        if (events.empty() || (events.back().kind != ws::Event::Kind::kError &&
                               events.back().kind != ws::Event::Kind::kClose))
          std::abort();  // stuck without having failed or closed
        return events;
      }
      piece.remove_prefix(used);
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ws::ParserOptions o;
  o.role = (data[0] & 1) ? ws::Role::kClient : ws::Role::kServer;
  o.deflate = data[0] & 2;
  o.inflate_no_context_takeover = data[0] & 4;
  o.max_message_size = (data[0] & 8) ? 64 : 1 << 20;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = run(o, bytes, 0);
  auto pieces = run(o, bytes, 1 + data[0] % 7);
  if (whole.size() != pieces.size()) std::abort();
  for (std::size_t i = 0; i < whole.size(); ++i) {
    const ws::Event& a = whole[i];
    if (a.kind != pieces[i].kind) std::abort();
    // Which check trips first in a bad message may depend on where the input was cut (a
    // compressed piece's UTF-8 before the next piece's bad deflate data): errors only agree.
    if (a.kind != ws::Event::Kind::kError && (a.code != pieces[i].code || a.data != pieces[i].data))
      std::abort();
    if (a.kind == ws::Event::Kind::kError && a.code != 1002 && a.code != 1007 && a.code != 1009)
      std::abort();
    if (a.kind == ws::Event::Kind::kText && !ws::is_valid_utf8(a.data)) std::abort();
    bool message = a.kind == ws::Event::Kind::kText || a.kind == ws::Event::Kind::kBinary;
    if (message && a.data.size() > o.max_message_size) std::abort();
    if (!message && a.kind != ws::Event::Kind::kError && a.data.size() > 125) std::abort();
  }
  return 0;
}
