#pragma once
// Broadcasting: one encoded frame shared by every receiver, and topics (uWebSockets' publish).
//
//   ws::Hub hub;
//   hub.subscribe(ws, "room:42");
//   hub.publish("room:42", text);   // encoded once; each socket queues the same bytes
//
// A socket that cannot keep up (its queue past Options::max_buffered) is closed with 1008
// rather than buffered without bound. Closed sockets leave their topics at the next publish.
// Loop thread only: one Hub per loop. Hubs on several threads (a server per worker thread) share
// their publications with link("name"): every publish also goes, through a BroadcastChannel of
// that name, to the linked hubs of the other threads, which publish it to their own sockets.
// Hubs in cluster worker processes do the same with link(worker): a publish goes to the primary,
// which relays it to the other workers (cluster::Worker::broadcast); each publishes it to its own
// subscribers. Delivery across workers is in order per publisher, at most once, and skips a
// worker that is not ready yet. One hub per worker takes the link (it owns on_broadcast).
//
//   hub.link(worker);                      // in the worker main (cluster::run)
//   hub.publish("room:42", text);          // this worker's subscribers now, the others' soon
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "brigade/process/cluster.hpp"
#include "brigade/worker/broadcast_channel.hpp"
#include "brigade/ws/websocket.hpp"

namespace brigade::ws {

// An unmasked, uncompressed final frame, to share between server sockets.
std::shared_ptr<const std::string> make_frame(std::string_view data, bool binary = false);

// Sends one message to every open socket of `sockets`, encoded once; returns how many queued it.
std::size_t broadcast(std::span<const WebSocket> sockets, std::string_view data,
                      bool binary = false);

class Hub {
 public:
  Hub();
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  void subscribe(const WebSocket& ws, std::string_view topic);
  void unsubscribe(const WebSocket& ws, std::string_view topic);
  // Returns how many sockets queued the message.
  std::size_t publish(std::string_view topic, std::string_view data, bool binary = false);
  std::size_t subscribers(std::string_view topic) const;
  // Joins the hubs linked to `channel` on other threads (see the header comment). Call on the
  // hub's loop thread; the channel does not keep the loop alive.
  void link(std::string channel);
  // Joins the hubs of the cluster's other workers, through the primary (see the header
  // comment). The worker must outlive the hub.
  void link(cluster::Worker& worker);

  struct Publication {  // what goes between linked hubs
    std::string topic;
    std::string data;
    bool binary = false;
  };

 private:
  std::size_t publish_here(std::string_view topic, std::string_view data, bool binary);
  std::unique_ptr<BroadcastChannel> channel_;
  cluster::Worker* worker_ = nullptr;
  std::shared_ptr<Hub*> self_;  // the worker's receiver holds it weakly: it may outlive the hub
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  // A topic's sockets, and where each sits (by id): subscribe, unsubscribe and the removal of
  // closed sockets are O(1), so 100,000 subscribers cost no quadratic set-up. The index is open
  // addressing (linear probing, at most half full) over positions in `sockets`: 8-16 bytes per
  // subscriber where a hash map's node and bucket take 40.
  struct Topic {
    std::vector<WebSocket> sockets;
    std::vector<uint32_t> slots;  // a position in `sockets` + 1, or 0 for an empty slot
    std::size_t slot_of(uint64_t id) const noexcept;  // its slot, or the empty one it would take
    std::size_t home(uint64_t id) const noexcept;
    bool add(const WebSocket& ws);  // false if already there
    void remove_at(std::size_t i);
    void clear_slot(std::size_t slot) noexcept;
  };
  std::unordered_map<std::string, Topic, Hash, std::equal_to<>> topics_;
};

}  // namespace brigade::ws
