// ByteQueue: a stream's unsent bytes; the buffers an idle queue sheds serve the next queue.
#include "../../src/net/byte_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace brigade::net::detail::byte_queue_test {

std::span<const char> bytes(const std::string& s) { return {s.data(), s.size()}; }

// What one answer does to a stream's queue: filled, sent whole, shed; returns its buffer.
const char* answer_cycle(std::size_t size) {
  ByteQueue q;
  std::string text(size, 'a');
  q.append(bytes(text));
  const char* at = q.front().data();
  EXPECT_EQ(std::string(q.front().data(), q.size()), text);
  q.consume(q.size());
  q.shed();
  return at;
}

// A keep-alive connection answering small requests allocates nothing in the steady state: each
// answer's buffer is the one the last answer shed, for small answers (under 256 bytes) too.
TEST(ByteQueue, SteadySmallAndLargerAnswersReuseTheShedBuffer) {
  // Blocks of the buffers' sizes allocated between answers: a buffer freed and allocated again
  // would come back elsewhere, since these take the freed memory first.
  std::vector<std::unique_ptr<char[]>> others;
  const char* small = answer_cycle(130);
  for (int i = 0; i < 100; ++i) {
    others.push_back(std::make_unique<char[]>(256));
    ASSERT_EQ(answer_cycle(130), small) << i;
  }
  const char* regular = answer_cycle(1500);
  for (int i = 0; i < 100; ++i) {
    others.push_back(std::make_unique<char[]>(4096));
    ASSERT_EQ(answer_cycle(1500), regular) << i;
  }
  EXPECT_EQ(answer_cycle(100), small);  // the small one was kept meanwhile
}

// A small first buffer outgrown by a bigger write keeps its bytes, and goes to the spares.
TEST(ByteQueue, AnOutgrownSmallBufferKeepsTheBytesAndIsReused) {
  const char* small = answer_cycle(64);
  ByteQueue q;
  std::string head(100, 'h'), body(3000, 'b');
  q.append(bytes(head));
  EXPECT_EQ(q.front().data(), small);
  q.append(bytes(body));
  EXPECT_EQ(std::string(q.front().data(), q.size()), head + body);
  q.consume(50);
  EXPECT_EQ(std::string(q.front().data(), q.size()), head.substr(50) + body);
  EXPECT_EQ(answer_cycle(64), small);  // freed from q by the growth, taken by the next queue
  q.consume(q.size());
  q.shed();
}

// Many queues filled at once (a broadcast) each take a small buffer, and idle ones keep none.
TEST(ByteQueue, ManyQueuesAtOnceTakeSmallBuffersAndShedThemAll) {
  std::vector<ByteQueue> queues(1000);
  std::string frame(40, 'f');
  for (ByteQueue& q : queues) q.append(bytes(frame));
  for (ByteQueue& q : queues) {
    ASSERT_EQ(q.size(), frame.size());
    q.consume(q.size());
    q.shed();
    ASSERT_TRUE(q.empty());
  }
}

}  // namespace brigade::net::detail::byte_queue_test
