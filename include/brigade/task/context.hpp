#pragma once
// Task-local context: values that flow through co_await and spawn, as Node's AsyncLocalStorage
// carries a request id through every await of that request.
#include <atomic>
#include <memory>
#include <utility>

#include "brigade/loop/activity.hpp"

namespace brigade {

// An immutable link of the context chain: one key bound to one value, then the outer context.
// It also carries the name of the spawned task it belongs to (its own, or its parent's).
class ContextNode {
 public:
  // `activity`: a task's name that is never freed (spawn interns it), or null to inherit.
  ContextNode(const void* key, std::shared_ptr<void> value, const ContextNode* parent,
              const char* activity = nullptr)
      : key_(key),
        value_(std::move(value)),
        parent_(parent),
        activity_(activity ? activity
                  : parent ? parent->activity_
                           : nullptr) {
    if (parent_) parent_->acquire();
  }
  ~ContextNode() {
    if (parent_) parent_->release();
  }
  // A reference count (contexts travel with tasks across threads): taking one needs no order,
  // dropping the last must see every other owner's writes before the delete (acq_rel).
  void acquire() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void* find(const void* key) const noexcept {
    for (const ContextNode* n = this; n; n = n->parent_)
      if (n->key_ == key) return n->value_.get();
    return nullptr;
  }
  const char* activity() const noexcept { return activity_; }

 private:
  const void* key_;
  std::shared_ptr<void> value_;
  const ContextNode* parent_;
  const char* activity_;
  mutable std::atomic<long> refs_{1};
};

// A counted reference to a context (null: the empty context).
class ContextRef {
 public:
  ContextRef() noexcept = default;
  static ContextRef adopt(const ContextNode* n) noexcept {
    ContextRef r;
    r.node_ = n;
    return r;
  }
  static ContextRef share(const ContextNode* n) noexcept {
    if (n) n->acquire();
    return adopt(n);
  }
  ContextRef(const ContextRef& o) noexcept : node_(o.node_) {
    if (node_) node_->acquire();
  }
  ContextRef(ContextRef&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
  ContextRef& operator=(ContextRef o) noexcept {
    std::swap(node_, o.node_);
    return *this;
  }
  ~ContextRef() {
    if (node_) node_->release();
  }
  const ContextNode* get() const noexcept { return node_; }

 private:
  const ContextNode* node_ = nullptr;
};

namespace detail {
// The context of the code running now on this thread; a Task sets it each time it resumes.
inline thread_local const ContextNode* t_context = nullptr;

// Switches the current context, and shows the loop which task now runs (blocked-loop report).
// Every chain of coroutines that ends (rather than suspends) sets it back to null: a context
// left behind would dangle once its task is freed.
inline void set_context(const ContextNode* n) noexcept {
  t_context = n;
  publish_task_activity(n ? n->activity() : nullptr);
}
}  // namespace detail

inline const ContextNode* current_context() noexcept { return detail::t_context; }

}  // namespace brigade
