#pragma once
// Message: any movable C++ value on its way between threads (a move-only std::any).
// Moving a value in is the transfer: a std::vector or std::string moves its buffer, nothing is
// copied and the sender is left without it. A type that must let go of its thread before it
// travels (a MessagePort) defines detach_for_transfer(), which the constructor calls.
//
// get<T>() wants the type the message holds, with one allowance: integer types of the same size
// and signedness are one value (a uint64_t sent, unsigned long long or unsigned long asked: which
// of them a typedef names differs between platforms). Such a get re-labels the value as a T; a
// reference from an earlier get of the other type then no longer refers to it. Any other
// mismatch throws MessageTypeError (a std::bad_cast) naming the type held and the type asked.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace brigade {

class MessageTypeError : public std::bad_cast {
 public:
  MessageTypeError(const std::type_info& held, const std::type_info& wanted);
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

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
  // Whether get<T>() succeeds: a T, or an integer of T's size and signedness.
  template <typename T>
  bool is() const noexcept {
    if (!holder_) return false;
    if (holder_->type() == typeid(T)) return true;
    return int_kind<T>() != 0 && holder_->int_kind() == int_kind<T>();
  }
  // The value, which must be a T (see the header comment; MessageTypeError otherwise).
  template <typename T>
  T& get() {
    return as<T>();
  }
  template <typename T>
  const T& get() const {
    return as<T>();
  }
  template <typename T>
  T take() {
    T value = std::move(get<T>());
    holder_.reset();
    return value;
  }

 private:
  // Nonzero for the standard integer types (not bool, not the character types): size and sign.
  template <typename T>
  static constexpr int int_kind() noexcept {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_integral_v<U> && !std::is_same_v<U, bool> && !std::is_same_v<U, char> &&
                  !std::is_same_v<U, wchar_t> && !std::is_same_v<U, char8_t> &&
                  !std::is_same_v<U, char16_t> && !std::is_same_v<U, char32_t>)
      return static_cast<int>(sizeof(U)) * 2 + (std::is_signed_v<U> ? 1 : 0);
    else
      return 0;
  }

  struct HolderBase {
    virtual ~HolderBase() = default;
    virtual const std::type_info& type() const noexcept = 0;
    virtual int int_kind() const noexcept = 0;
    virtual std::uint64_t int_bits() const noexcept = 0;  // the integer's two's complement bits
  };
  template <typename T>
  struct Holder final : HolderBase {
    template <typename U>
    explicit Holder(U&& v) : value(std::forward<U>(v)) {}
    const std::type_info& type() const noexcept override { return typeid(T); }
    int int_kind() const noexcept override { return Message::int_kind<T>(); }
    std::uint64_t int_bits() const noexcept override {
      if constexpr (Message::int_kind<T>() != 0)
        return static_cast<std::uint64_t>(value);
      else
        return 0;
    }
    T value;
  };

  template <typename T>
  T& as() const {
    if (!holder_ || holder_->type() != typeid(T)) {
      if (!is<T>()) throw MessageTypeError(type(), typeid(T));
      // The same integer under another name: the same value, now held as a T.
      if constexpr (int_kind<T>() != 0)
        holder_ = std::make_unique<Holder<T>>(static_cast<T>(holder_->int_bits()));
    }
    return static_cast<Holder<T>*>(holder_.get())->value;
  }

  // Mutable for get() const's re-labelling; a Message belongs to one thread at a time.
  mutable std::unique_ptr<HolderBase> holder_;
};

}  // namespace brigade
