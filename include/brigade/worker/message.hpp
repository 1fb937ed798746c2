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
// Values of up to 24 bytes that move without throwing are held inline, the rest on the heap; a
// reference from get() refers into the Message, so it lasts while the Message is not moved.
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
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
  Message(T&& value) {
    emplace<D>(std::forward<T>(value));
    if constexpr (requires(D & d) { d.detach_for_transfer(); }) get<D>().detach_for_transfer();
  }
  Message(Message&& o) noexcept { take_from(o); }
  Message& operator=(Message&& o) noexcept {
    if (this != &o) {
      reset();
      take_from(o);
    }
    return *this;
  }
  ~Message() { reset(); }

  bool empty() const noexcept { return !ops_; }
  const std::type_info& type() const noexcept { return ops_ ? ops_->type() : typeid(void); }
  // Whether get<T>() succeeds: a T, or an integer of T's size and signedness.
  template <typename T>
  bool is() const noexcept {
    if (!ops_) return false;
    if (ops_->type() == typeid(T)) return true;
    return int_kind<T>() != 0 && ops_->int_kind == int_kind<T>();
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
    reset();
    return value;
  }

 private:
  // Small values that move without throwing live in the Message itself: no allocation, and no
  // free on the receiving thread of memory the sending thread allocated.
  static constexpr std::size_t kInline = 24;
  template <typename T>
  static constexpr bool kFitsInline =
      sizeof(T) <= kInline &&
      alignof(T) <= alignof(void*) && std::is_nothrow_move_constructible_v<T>;

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

  // What a Message needs to know of the type it holds; one constant table per type.
  struct Ops {
    const std::type_info& (*type)() noexcept;
    int int_kind;
    std::uint64_t (*int_bits)(const void* value) noexcept;  // the integer's two's complement bits
    void (*destroy)(void* storage) noexcept;                // null: nothing to do
    void (*relocate)(void* from, void* to) noexcept;        // null: copy the bytes
  };
  template <typename T>
  static constexpr Ops kOps{
      [] () noexcept -> const std::type_info& { return typeid(T); },
      int_kind<T>(),
      [](const void* v) noexcept -> std::uint64_t {
        if constexpr (int_kind<T>() != 0)
          return static_cast<std::uint64_t>(*static_cast<const T*>(v));
        else
          return 0;
      },
      kFitsInline<T> && std::is_trivially_destructible_v<T>
          ? nullptr
          : +[](void* storage) noexcept {
              if constexpr (kFitsInline<T>)
                static_cast<T*>(storage)->~T();
              else
                delete *static_cast<T**>(storage);
            },
      !kFitsInline<T> || std::is_trivially_copyable_v<T>
          ? nullptr
          : +[](void* from, void* to) noexcept {
              ::new (to) T(std::move(*static_cast<T*>(from)));
              static_cast<T*>(from)->~T();
            },
  };

  template <typename T, typename... Args>
  void emplace(Args&&... args) {
    if constexpr (kFitsInline<T>)
      ::new (static_cast<void*>(storage_)) T(std::forward<Args>(args)...);
    else
      *reinterpret_cast<T**>(storage_) = new T(std::forward<Args>(args)...);
    ops_ = &kOps<T>;
  }
  template <typename T>
  T* value() const noexcept {
    void* s = storage_;
    if constexpr (kFitsInline<T>)
      return std::launder(static_cast<T*>(s));
    else
      return *static_cast<T**>(s);
  }
  void reset() noexcept {
    if (ops_ && ops_->destroy) ops_->destroy(storage_);
    ops_ = nullptr;
  }
  void take_from(Message& o) noexcept {
    if (!o.ops_) return;
    if (o.ops_->relocate)
      o.ops_->relocate(o.storage_, storage_);
    else
      std::memcpy(storage_, o.storage_, kInline);
    ops_ = std::exchange(o.ops_, nullptr);
  }

  template <typename T>
  T& as() const {
    if (!ops_ || ops_->type() != typeid(T)) {
      if (!is<T>()) throw MessageTypeError(type(), typeid(T));
      // The same integer under another name: the same value, now held as a T.
      if constexpr (int_kind<T>() != 0) {
        std::uint64_t bits = ops_->int_bits(storage_);
        if (ops_->destroy) ops_->destroy(storage_);
        ::new (static_cast<void*>(storage_)) T(static_cast<T>(bits));  // integers are inline
        ops_ = &kOps<T>;
      }
    }
    return *value<T>();
  }

  // Mutable for get() const's re-labelling; a Message belongs to one thread at a time.
  mutable const Ops* ops_ = nullptr;
  alignas(void*) mutable unsigned char storage_[kInline];
};

}  // namespace brigade
