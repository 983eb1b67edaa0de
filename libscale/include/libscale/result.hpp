#pragma once
/// A small expected-like result for fallible parsing (std::expected is not in C++20).

#include <string>
#include <utility>
#include <variant>

namespace scale {

/// What went wrong, as one lowercase line that names the key (or field) and the value.
struct error {
  std::string message;
  bool operator==(const error&) const = default;
};

/// Either a value or an error; the core returns these instead of throwing.
template <class T>
class result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : state_(std::in_place_index<1>, std::move(e)) {}      // NOLINT: implicit by design

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  /// The value; only valid when has_value().
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  /// The error; only valid when !has_value().
  const error& error_value() const { return std::get<1>(state_); }

 private:
  std::variant<T, error> state_;
};

}  // namespace scale
