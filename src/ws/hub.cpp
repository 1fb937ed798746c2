#include "brigade/ws/hub.hpp"

#include <algorithm>

namespace brigade::ws {

std::shared_ptr<const std::string> make_frame(std::string_view data, bool binary) {
  return std::make_shared<const std::string>(
      encode_frame(binary ? Opcode::kBinary : Opcode::kText, data));
}

std::size_t broadcast(std::span<const WebSocket> sockets, std::string_view data, bool binary) {
  auto frame = make_frame(data, binary);
  std::size_t n = 0;
  for (const WebSocket& ws : sockets) {
    WebSocket s = ws;
    n += s.send_frame(frame);
  }
  return n;
}

Hub::Hub() = default;
Hub::~Hub() = default;

void Hub::link(std::string channel) {
  channel_ = std::make_unique<BroadcastChannel>(std::move(channel));
  channel_->on_message([this](brigade::Message m) {
    if (!m.is<Publication>()) return;
    const Publication& p = m.get<Publication>();
    publish_here(p.topic, p.data, p.binary);
  });
  channel_->unref();
}

void Hub::subscribe(const WebSocket& ws, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.emplace(std::string(topic), std::vector<WebSocket>()).first;
  if (std::find(it->second.begin(), it->second.end(), ws) == it->second.end())
    it->second.push_back(ws);
}

void Hub::unsubscribe(const WebSocket& ws, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  std::erase(it->second, ws);
  if (it->second.empty()) topics_.erase(it);
}

std::size_t Hub::publish(std::string_view topic, std::string_view data, bool binary) {
  if (channel_) channel_->post_message(Publication{std::string(topic), std::string(data), binary});
  return publish_here(topic, data, binary);
}

std::size_t Hub::publish_here(std::string_view topic, std::string_view data, bool binary) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return 0;
  auto frame = make_frame(data, binary);
  std::size_t n = 0;
  std::vector<WebSocket>& subs = it->second;
  for (std::size_t i = 0; i < subs.size();) {
    if (!subs[i].is_open()) {  // closed or closing: leaves the topic
      subs[i] = std::move(subs.back());
      subs.pop_back();
      continue;
    }
    n += subs[i].send_frame(frame);
    ++i;
  }
  if (subs.empty()) topics_.erase(it);
  return n;
}

std::size_t Hub::subscribers(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : it->second.size();
}

}  // namespace brigade::ws
