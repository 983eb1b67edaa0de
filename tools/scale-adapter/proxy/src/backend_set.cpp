#include "adapter/backend_set.hpp"

#include <algorithm>
#include <utility>

namespace scale::adapter {

std::string to_string(const backend& b) {
  const bool v6 = b.address.find(':') != std::string::npos;
  std::string out = v6 ? "[" + b.address + "]" : b.address;
  out += ':';
  out += std::to_string(b.port);
  return out;
}

void backend_set::assign(std::span<const backend> backends, std::size_t capacity) {
  std::vector<entry> next;
  next.reserve(backends.size() + entries_.size());
  for (const backend& b : backends) {
    const bool duplicate =
        std::any_of(next.begin(), next.end(), [&b](const entry& e) { return e.where == b; });
    if (duplicate) continue;
    entry e{.where = b};
    if (const entry* old = find(b)) {
      e.in_flight = old->in_flight;
      e.refused = old->refused;
    }
    next.push_back(std::move(e));
  }
  // Requests still running on a removed pod hold their slot until they finish.
  for (entry& old : entries_) {
    const bool kept = std::any_of(next.begin(), next.end(), [&old](const entry& e) { return e.where == old.where; });
    if (!kept && old.in_flight > 0) {
      old.draining = true;
      next.push_back(std::move(old));
    }
  }
  entries_ = std::move(next);
  capacity_ = capacity;
  if (cursor_ >= entries_.size()) cursor_ = 0;
}

pick_result backend_set::acquire(std::span<const backend> exclude) {
  const auto excluded = [exclude](const entry& e) {
    return std::find(exclude.begin(), exclude.end(), e.where) != exclude.end();
  };
  std::size_t candidates = 0;
  std::size_t best = entries_.size();
  const auto better = [](const entry& a, const entry& b) {
    if (a.refused != b.refused) return !a.refused;
    return a.in_flight < b.in_flight;
  };
  // Scanning from the cursor and keeping the first best gives the rotating tie-break.
  for (std::size_t k = 0; k < entries_.size(); ++k) {
    const std::size_t i = (cursor_ + k) % entries_.size();
    const entry& e = entries_[i];
    if (e.draining || excluded(e)) continue;
    ++candidates;
    if (!has_room(e)) continue;
    if (best == entries_.size() || better(e, entries_[best])) best = i;
  }
  if (best == entries_.size()) {
    // With nothing to choose from at all, the request waits for pods; only a request that has tried
    // every existing backend gives up.
    const bool any_active =
        std::any_of(entries_.begin(), entries_.end(), [](const entry& e) { return !e.draining; });
    return {.outcome = candidates == 0 && any_active ? pick_outcome::exhausted : pick_outcome::wait, .chosen = {}};
  }
  entry& chosen = entries_[best];
  ++chosen.in_flight;
  cursor_ = (best + 1) % entries_.size();
  return {.outcome = pick_outcome::chosen, .chosen = chosen.where};
}

void backend_set::release(const backend& b) {
  entry* e = find(b);
  if (e == nullptr || e->in_flight == 0) return;
  --e->in_flight;
  if (e->draining && e->in_flight == 0) {
    const auto at = entries_.begin() + (e - entries_.data());
    entries_.erase(at);
    if (cursor_ >= entries_.size()) cursor_ = 0;
  }
}

void backend_set::mark_refused(const backend& b) {
  if (entry* e = find(b)) e->refused = true;
}

void backend_set::mark_healthy(const backend& b) {
  if (entry* e = find(b)) e->refused = false;
}

bool backend_set::contains(const backend& b) const {
  const entry* e = find(b);
  return e != nullptr && !e->draining;
}

std::size_t backend_set::size() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const entry& e) { return !e.draining; }));
}

bool backend_set::has_free_capacity() const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [this](const entry& e) { return !e.draining && has_room(e); });
}

std::size_t backend_set::in_flight(const backend& b) const {
  const entry* e = find(b);
  return e == nullptr ? 0 : e->in_flight;
}

std::size_t backend_set::total_in_flight() const {
  std::size_t total = 0;
  for (const entry& e : entries_) total += e.in_flight;
  return total;
}

bool backend_set::refused(const backend& b) const {
  const entry* e = find(b);
  return e != nullptr && e->refused;
}

backend_set::entry* backend_set::find(const backend& b) {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&b](const entry& e) { return e.where == b; });
  return it == entries_.end() ? nullptr : &*it;
}

const backend_set::entry* backend_set::find(const backend& b) const {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&b](const entry& e) { return e.where == b; });
  return it == entries_.end() ? nullptr : &*it;
}

bool backend_set::has_room(const entry& e) const { return capacity_ == 0 || e.in_flight < capacity_; }

}  // namespace scale::adapter
