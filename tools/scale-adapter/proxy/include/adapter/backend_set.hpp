#pragma once
/// The ready pods a proxy may forward to, with per-pod capacity and in-flight accounting (Knative's
/// activator throttler, `pkg/activator/net/throttler.go`, reduced to one proxy in front of all pods).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scale::adapter {

/// One ready pod as the proxy reaches it: an IP address (v4 or v6, no host name) and a port.
struct backend {
  std::string address;
  std::uint16_t port = 0;

  bool operator==(const backend&) const = default;
};

/// "address:port", or "[address]:port" for IPv6, for messages.
std::string to_string(const backend& b);

/// What `backend_set::acquire` found.
enum class pick_outcome {
  /// A backend with free capacity was reserved: forward to `pick_result::chosen`.
  chosen,
  /// No eligible backend has free capacity, or there are no backends at all: hold the request.
  wait,
  /// Backends exist but every one is excluded (already tried by this request): give up.
  exhausted,
};

/// The outcome of `backend_set::acquire` and, when `chosen`, the reserved backend.
struct pick_result {
  pick_outcome outcome = pick_outcome::wait;
  backend chosen;

  bool operator==(const pick_result&) const = default;
};

/// The backends in the caller's order with their in-flight counts. Not thread-safe: the proxy guards
/// it with its own lock.
///
/// Choice rule (a deterministic stand-in for Knative's first-available / round-robin load balancers):
///  1. eligible = active backends not in `exclude` with in-flight < capacity (capacity 0: unlimited);
///  2. backends not marked as refusing come first, marked ones only when no unmarked one is eligible;
///  3. least in-flight wins;
///  4. ties go to the first backend at or after a cursor that moves past each chosen backend, so
///     sequential requests rotate over idle backends instead of always hitting the first.
class backend_set {
 public:
  /// Replaces the list, in this order, each with `capacity` concurrent requests (container
  /// concurrency; 0 = unlimited). Backends that stay keep their in-flight count and refusal mark;
  /// removed ones with requests in flight are kept as draining (never chosen) until released.
  /// Duplicates are kept once.
  void assign(std::span<const backend> backends, std::size_t capacity);

  /// Reserves one slot on the backend the choice rule picks, skipping those in `exclude`.
  pick_result acquire(std::span<const backend> exclude = {});

  /// Frees a slot reserved by `acquire`; unknown backends are ignored.
  void release(const backend& b);

  /// Marks `b` as refusing connections: it is chosen only when nothing unmarked is free.
  void mark_refused(const backend& b);

  /// Clears the refusal mark (a connection to `b` succeeded).
  void mark_healthy(const backend& b);

  /// Whether `b` is an active (not draining) backend.
  bool contains(const backend& b) const;

  /// Active (not draining) backends.
  std::size_t size() const;

  /// True when an active backend has free capacity now.
  bool has_free_capacity() const;

  /// Requests in flight on `b` (0 when unknown).
  std::size_t in_flight(const backend& b) const;

  /// Requests in flight on all backends, draining ones included.
  std::size_t total_in_flight() const;

  /// Whether `b` is marked as refusing.
  bool refused(const backend& b) const;

 private:
  struct entry {
    backend where;
    std::size_t in_flight = 0;
    bool refused = false;
    bool draining = false;
  };

  entry* find(const backend& b);
  const entry* find(const backend& b) const;
  bool has_room(const entry& e) const;

  std::vector<entry> entries_;
  std::size_t capacity_ = 0;
  std::size_t cursor_ = 0;
};

}  // namespace scale::adapter
