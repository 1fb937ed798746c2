#pragma once
// Message: any movable C++ value on its way between threads (a move-only std::any).
// Moving a value in is the transfer: a std::vector or std::string moves its buffer, nothing is
// copied and the sender is left without it. A type that must let go of its thread before it
// travels (a MessagePort) defines detach_for_transfer(), which the constructor calls.
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace brigade {

class Message {
 public:
  Message() noexcept = default;
  template <typename T, typename D = std::decay_t<T>,
            typename = std::enable_if_t<!std::is_same_v<D, Message>>>
  Message(T&& value) : holder_(std::make_unique<Holder<D>>(std::forward<T>(value))) {
    if constexpr (requires(D & d) { d.detach_for_transfer(); })
      static_cast<Holder<D>*>(holder_.get())->value.detach_for_transfer();
  }
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;

  bool empty() const noexcept { return !holder_; }
  const std::type_info& type() const noexcept { return holder_ ? holder_->type() : typeid(void); }
  template <typename T>
  bool is() const noexcept {
    return holder_ && holder_->type() == typeid(T);
  }
  // The value, which must be a T (std::bad_cast otherwise).
  template <typename T>
  T& get() {
    if (!is<T>()) throw std::bad_cast();
    return static_cast<Holder<T>*>(holder_.get())->value;
  }
  template <typename T>
  const T& get() const {
    if (!is<T>()) throw std::bad_cast();
    return static_cast<const Holder<T>*>(holder_.get())->value;
  }
  template <typename T>
  T take() {
    T value = std::move(get<T>());
    holder_.reset();
    return value;
  }

 private:
  struct HolderBase {
    virtual ~HolderBase() = default;
    virtual const std::type_info& type() const noexcept = 0;
  };
  template <typename T>
  struct Holder final : HolderBase {
    template <typename U>
    explicit Holder(U&& v) : value(std::forward<U>(v)) {}
    const std::type_info& type() const noexcept override { return typeid(T); }
    T value;
  };
  std::unique_ptr<HolderBase> holder_;
};

}  // namespace brigade
