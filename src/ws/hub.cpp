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

std::size_t Hub::Topic::home(uint64_t id) const noexcept {
  return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ull) >> 32) & (slots.size() - 1);
}

std::size_t Hub::Topic::slot_of(uint64_t id) const noexcept {
  std::size_t mask = slots.size() - 1;
  std::size_t s = home(id);
  while (slots[s] != 0 && sockets[slots[s] - 1].id() != id) s = (s + 1) & mask;
  return s;
}

bool Hub::Topic::add(const WebSocket& ws) {
  if ((sockets.size() + 1) * 2 > slots.size()) {  // grow: rebuild the index at twice the size
    slots.assign(std::max<std::size_t>(16, slots.size() * 2), 0);
    for (std::size_t i = 0; i < sockets.size(); ++i)
      slots[slot_of(sockets[i].id())] = static_cast<uint32_t>(i + 1);
  }
  std::size_t s = slot_of(ws.id());
  if (slots[s] != 0) return false;
  sockets.push_back(ws);
  slots[s] = static_cast<uint32_t>(sockets.size());
  return true;
}

// Backward-shift deletion: the entries after the hole that would not be found past it move in.
void Hub::Topic::clear_slot(std::size_t hole) noexcept {
  std::size_t mask = slots.size() - 1;
  slots[hole] = 0;
  for (std::size_t j = (hole + 1) & mask; slots[j] != 0; j = (j + 1) & mask) {
    std::size_t want = home(sockets[slots[j] - 1].id());
    bool stays = hole <= j ? (hole < want && want <= j) : (hole < want || want <= j);
    if (stays) continue;
    slots[hole] = slots[j];
    slots[j] = 0;
    hole = j;
  }
}

void Hub::Topic::remove_at(std::size_t i) {
  clear_slot(slot_of(sockets[i].id()));
  std::size_t last = sockets.size() - 1;
  if (i != last) {  // the last one fills the hole
    std::size_t s = slot_of(sockets[last].id());
    sockets[i] = std::move(sockets[last]);
    slots[s] = static_cast<uint32_t>(i + 1);
  }
  sockets.pop_back();
}

void Hub::subscribe(const WebSocket& ws, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.emplace(std::string(topic), Topic()).first;
  it->second.add(ws);
}

void Hub::unsubscribe(const WebSocket& ws, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  Topic& t = it->second;
  std::size_t s = t.slot_of(ws.id());
  if (t.slots[s] == 0) return;
  t.remove_at(t.slots[s] - 1);
  if (t.sockets.empty()) topics_.erase(it);
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
