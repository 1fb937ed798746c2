#include "brigade/ws/hub.hpp"

#include <algorithm>
#include <cstdint>

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

namespace {

// A publication between worker processes: the topic's length (4 bytes, little-endian), a binary
// flag byte, the topic, then the data.
std::string encode_publication(std::string_view topic, std::string_view data, bool binary) {
  std::string out;
  out.reserve(5 + topic.size() + data.size());
  uint32_t n = static_cast<uint32_t>(topic.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.push_back(binary ? '\1' : '\0');
  out.append(topic);
  out.append(data);
  return out;
}

bool decode_publication(std::string_view in, std::string_view& topic, std::string_view& data,
                        bool& binary) {
  if (in.size() < 5) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t(static_cast<unsigned char>(in[i])) << (8 * i);
  if (in.size() - 5 < n) return false;
  binary = in[4] != 0;
  topic = in.substr(5, n);
  data = in.substr(5 + n);
  return true;
}

}  // namespace

Hub::Hub() = default;
Hub::~Hub() = default;

void Hub::link(cluster::Worker& worker) {
  worker_ = &worker;
  self_ = std::make_shared<Hub*>(this);
  worker.on_broadcast([self = std::weak_ptr<Hub*>(self_)](std::string m) {
    std::shared_ptr<Hub*> hub = self.lock();
    std::string_view topic, data;
    bool binary = false;
    if (hub && decode_publication(m, topic, data, binary))
      (*hub)->publish_here(topic, data, binary);
  });
}

void Hub::link(std::string channel) {
  channel_ = std::make_unique<BroadcastChannel>(std::move(channel));
  channel_->on_message([this](brigade::Message m) {
    if (!m.is<Publication>()) return;
    const Publication& p = m.get<Publication>();
    publish_here(p.topic, p.data, p.binary);
  });
  channel_->unref();
}

void Hub::Topic::remove_at(std::size_t i) {
  at.erase(sockets[i].id());
  if (i + 1 != sockets.size()) {  // the last one fills the hole
    sockets[i] = std::move(sockets.back());
    at[sockets[i].id()] = i;
  }
  sockets.pop_back();
}

void Hub::subscribe(const WebSocket& ws, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.emplace(std::string(topic), Topic()).first;
  Topic& t = it->second;
  if (t.at.try_emplace(ws.id(), t.sockets.size()).second) t.sockets.push_back(ws);
}

void Hub::unsubscribe(const WebSocket& ws, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  auto found = it->second.at.find(ws.id());
  if (found == it->second.at.end()) return;
  it->second.remove_at(found->second);
  if (it->second.sockets.empty()) topics_.erase(it);
}

std::size_t Hub::publish(std::string_view topic, std::string_view data, bool binary) {
  if (channel_) channel_->post_message(Publication{std::string(topic), std::string(data), binary});
  if (worker_) worker_->broadcast(encode_publication(topic, data, binary));
  return publish_here(topic, data, binary);
}

std::size_t Hub::publish_here(std::string_view topic, std::string_view data, bool binary) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return 0;
  auto frame = make_frame(data, binary);
  std::size_t n = 0;
  Topic& t = it->second;
  for (std::size_t i = 0; i < t.sockets.size();) {
    if (!t.sockets[i].is_open()) {  // closed or closing: leaves the topic
      t.remove_at(i);
      continue;
    }
    n += t.sockets[i].send_frame(frame);
    ++i;
  }
  if (t.sockets.empty()) topics_.erase(it);
  return n;
}

std::size_t Hub::subscribers(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : it->second.sockets.size();
}

}  // namespace brigade::ws
