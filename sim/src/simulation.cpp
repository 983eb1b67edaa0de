#include "sim/simulation.hpp"

#include "sim/event_queue.hpp"

#include <libscale/decider.hpp>
#include <libscale/kpa_policy.hpp>
#include <libscale/metric_collector.hpp>

#include <boost/random/uniform_int_distribution.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace scale::sim {

kpa_spec make_kpa_spec(const simulation_config& config) {
  kpa_spec s = scale::make_kpa_spec(config.revision);
  s.progress_deadline = config.progress_deadline;
  return s;
}

std::int32_t scale_floor(const revision_autoscaling& revision) {
  return revision.enable_scale_to_zero ? revision.min_scale : std::max<std::int32_t>(1, revision.min_scale);
}

namespace {

using namespace std::chrono_literals;

/// Queue-proxy and activator reporting period, scrape interval and metric bucket width.
constexpr duration one_second = 1s;
/// Requests one activator's breaker holds waiting per revision (Knative `throttler.go: breakerQueueDepth`).
constexpr std::size_t activator_queue_depth = 10000;
/// queue-proxy's breaker holds 10 × containerConcurrency waiting requests (`sharedmain/main.go: buildBreaker`).
constexpr std::int64_t queue_proxy_depth_per_slot = 10;
/// Bound on the immediate re-reconciles one trigger may cause (Knative re-enqueues the PA after each status
/// write; the state machine settles in two or three passes).
constexpr int max_reconcile_passes = 10;
/// Timers in a row that change nothing after the last request: the run is over even if the policy would
/// wake again (a policy that never stops its timer would otherwise never let a run end).
constexpr std::int64_t max_quiet_timers = 10'000;
constexpr time_point never = time_point::max();

double seconds_of(duration d) { return std::chrono::duration<double>(d).count(); }

/// The smallest whole second at or after `t`.
time_point ceil_to(time_point t, duration step) {
  const std::int64_t n = t.time_since_epoch().count();
  const std::int64_t s = step.count();
  const std::int64_t q = floor_div(n, s);
  return at(duration{(q * s == n ? q : q + 1) * s});
}

bool is_decider_tick(time_point t) { return t.time_since_epoch() % decider_tick_interval == duration::zero(); }

/// A FIFO of indices on a power-of-two ring that keeps its memory (no allocation per request once warm).
class index_fifo {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::uint32_t front() const { return ring_[head_]; }
  void push(std::uint32_t v) {
    if (size_ == ring_.size()) grow();
    ring_[(head_ + size_) & (ring_.size() - 1)] = v;
    ++size_;
  }
  std::uint32_t pop() {
    const std::uint32_t v = ring_[head_];
    head_ = (head_ + 1) & (ring_.size() - 1);
    --size_;
    return v;
  }

 private:
  void grow() {
    std::vector<std::uint32_t> bigger(std::max<std::size_t>(8, ring_.size() * 2));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<std::uint32_t> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

enum class event_kind : std::uint8_t {
  completion,         // id: request
  pod_ready,          // id: pod, generation: pod incarnation
  drain_timer,        // id: pod, generation: pod incarnation
  activator_timeout,  // the oldest request waiting in the activator may have timed out
  pod_timeout,        // id: pod, generation: pod incarnation
  reconcile,          // generation: requeue number
  pod_create,         // a creation token is available
  user_send,          // id: closed-loop user
  phase_change,       // id: closed-loop phase index (== phases.size() at the end)
};

struct event {
  event_kind kind = event_kind::completion;
  std::uint32_t id = 0;
  std::uint32_t generation = 0;
};

enum class request_place : std::uint8_t { activator, pod_queue, service };

struct request {
  time_point arrival{};
  time_point start{};
  duration service{};
  std::uint32_t pod = 0;
  std::int32_t user = -1;
  request_place place = request_place::activator;
  /// Entered through the activator (counted by its reporter; proxied at the pod).
  bool via_activator = false;
};

enum class pod_phase : std::uint8_t { starting, ready, draining, gone };

struct pod {
  pod_phase phase = pod_phase::gone;
  /// Incarnation of this slot; events carry it so those of a deleted pod are ignored.
  std::uint32_t generation = 0;
  time_point created{};
  time_point ready_at{};
  /// The queue-proxy's accounting, started when the pod became ready.
  request_stats stats{time_point{}};
  /// Requests at the pod: in service plus waiting in its queue-proxy.
  std::int32_t at_pod = 0;
  std::int32_t in_service = 0;
  index_fifo queue;
  bool timeout_pending = false;
  bool quiet_over = false;
  duration busy{};
  time_point busy_since{};
};

struct user {
  bool active = false;
  /// A request or a think pause of this user is pending.
  bool busy = false;
};

/// The cluster's pod-creation limit (Kubernetes' controllers share one API rate limit): a token bucket holding
/// one second's worth of tokens (at least one), full at time 0, refilled continuously — a generic cell-rate
/// algorithm on integer time, so exact and without drift — and one queue of the creations waiting for a token.
/// The queue is FIFO over the cluster: ordered by the time each creation was asked for, at the same instant by
/// function index. Only the function at its head may take a token; when the head passes to another function,
/// that function is told when its token is due (`wakes`), so the one waiting longest gets the next token.
class creation_bucket {
 public:
  // ask, cancel and take run only when a replica count changes; they are kept out of line so that they do not
  // take from this file's inlining budget, which the per-request path needs.

  /// Requires rate_per_s > 0.
  explicit creation_bucket(double rate_per_s) {
    // One token per emission interval, at least 1 ns (time is integer nanoseconds) and at most ~31 years (so
    // times cannot overflow); a second's worth of tokens is then at most 1e9.
    const double interval_ns = std::min(1e9 / rate_per_s, 1e18);
    emission_interval_ = std::max(duration{1}, duration{static_cast<std::int64_t>(interval_ns)});
    const double burst = std::clamp(std::floor(rate_per_s), 1.0, 1e9);
    burst_tolerance_ = emission_interval_ * static_cast<std::int64_t>(burst - 1);
  }

  /// A token handed to another function's engine: it should try to create a pod at `time`.
  struct wake {
    std::uint32_t function = 0;
    time_point time{};
  };

  /// Function `function` asks for `n` more pods at `now`.
  [[gnu::noinline]] void ask(std::uint32_t function, time_point now, std::int64_t n) {
    // Asks come in time order; at the same instant the lower function index goes first.
    std::size_t k = waiting_.size();
    while (k > head_ && (waiting_[k - 1].asked > now ||
                         (waiting_[k - 1].asked == now && waiting_[k - 1].function > function))) {
      --k;
    }
    if (k > head_ && waiting_[k - 1].asked == now && waiting_[k - 1].function == function) {
      waiting_[k - 1].count += n;
    } else {
      waiting_.insert(waiting_.begin() + static_cast<std::ptrdiff_t>(k), waiter{now, function, n});
    }
  }

  /// Function `function` no longer wants `n` of its waiting creations: its most recent asks are dropped.
  [[gnu::noinline]] void cancel(std::uint32_t function, std::int64_t n, time_point now) {
    if (empty()) return;
    const std::uint32_t head = waiting_[head_].function;
    for (std::size_t k = waiting_.size(); n > 0 && k > head_; --k) {
      waiter& w = waiting_[k - 1];
      if (w.function != function) continue;
      const std::int64_t dropped = std::min(n, w.count);
      w.count -= dropped;
      n -= dropped;
      if (w.count == 0) waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(k - 1));
    }
    if (!empty() && waiting_[head_].function != head) wake_head(now);
  }

  /// Tries to take a token for one of `function`'s waiting creations at `now`. Granted: the creation may go
  /// ahead. Otherwise `retry_at` is when the token is due if `function` is at the head of the queue, and empty
  /// if another function is ahead (this one is woken when its turn comes).
  struct take_result {
    bool granted = false;
    std::optional<time_point> retry_at;
  };
  [[gnu::noinline]] take_result take(std::uint32_t function, time_point now) {
    if (empty() || waiting_[head_].function != function) return {};
    const time_point allowed = creation_tat_ - burst_tolerance_;
    if (allowed > now) return {false, allowed};
    creation_tat_ = std::max(creation_tat_, now) + emission_interval_;
    if (--waiting_[head_].count == 0) {
      pop_head();
      if (!empty() && waiting_[head_].function != function) wake_head(now);
    }
    return {true, std::nullopt};
  }

  /// Wakes produced since the last call, for the driver to deliver; cleared by the caller.
  std::vector<wake>& wakes() { return wakes_; }

 private:
  struct waiter {
    time_point asked{};
    std::uint32_t function = 0;
    std::int64_t count = 0;
  };

  bool empty() const { return head_ == waiting_.size(); }

  /// The queue lives in waiting_[head_, end); the consumed prefix is dropped once it is half the vector.
  void pop_head() {
    ++head_;
    if (head_ == waiting_.size()) {
      waiting_.clear();
      head_ = 0;
    } else if (head_ * 2 >= waiting_.size()) {
      waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void wake_head(time_point now) {
    wakes_.push_back(wake{waiting_[head_].function, std::max(now, creation_tat_ - burst_tolerance_)});
  }

  duration emission_interval_{};
  duration burst_tolerance_{};
  /// Theoretical arrival time of the next token.
  time_point creation_tat_{};
  std::vector<waiter> waiting_;
  std::size_t head_ = 0;
  std::vector<wake> wakes_;
};

/// One function's service. A driver calls start(), then advance() until next_event_time() is `never`, then end().
class engine {
 public:
  /// `bucket` is the creation limit shared with the other engines of the run (null = unlimited); `index` is
  /// this function's place in the run, its rank at equal times.
  engine(const simulation_config& config, std::uint64_t seed, const timeline_sink& timeline,
         arrival_source* arrivals, const closed_loop_workload* closed, creation_bucket* bucket = nullptr,
         std::uint32_t index = 0, any_scaling_policy* policy = nullptr)
      : config_(config),
        timeline_(timeline),
        arrivals_(arrivals),
        closed_(closed),
        bucket_(bucket),
        index_(index),
        kpa_spec_(make_kpa_spec(config)),
        decider_spec_(make_decider_spec(config.revision)),
        decider_(decider_spec_, 0, at(0s)),
        collection_(config.revision.stable_window, config.revision.panic_window, config.revision.algorithm,
                    // Knative `kpa.go: resolveScrapeTarget`: no scraper when TBC is -1.
                    config.revision.target_burst_capacity != -1),
        cc_(std::max<std::int32_t>(0, config.container_concurrency)),
        floor_(static_cast<std::size_t>(std::max<std::int32_t>(0, scale_floor(config.revision)))),
        window_idle_buckets_(config.revision.stable_window / one_second),
        pod_rng_(function_seed(seed, 0)),
        sample_rng_(function_seed(seed, 1)),
        workload_rng_(function_seed(seed, 2)),
        policy_(policy),
        kpa_view_(policy != nullptr ? policy->get_if<kpa_policy>() : nullptr),
        policy_holds_(policy != nullptr && policy->decisions_hold_until_observed()),
        stats_used_(policy == nullptr || policy->uses_stats()) {}

  /// The whole run of a lone engine.
  function_result run() {
    start();
    advance(never);
    return end();
  }

  /// Time of the next thing to handle, `never` once the run is over (finished, or past `until`).
  time_point next_event_time() const {
    if (!until_ && finished()) return never;
    const time_point t = next_time();
    if (until_ && t > at(*until_)) return never;
    return t;
  }

  /// The model time reached: after a run to its natural end, that end.
  time_point now() const { return now_; }

  /// A run that stopped at its natural end goes on to `until` (then advance() and end()), exactly as a run with
  /// `until` from the start: before its natural end the two never differ, as only the stop test reads `until`.
  void run_on_to(duration until) { until_ = until; }

  /// Handles everything before `limit`, in time order, until the run is over; returns early, right after the
  /// event, when a creation token was handed to another function (the bucket has wakes to deliver). The one
  /// event loop: a lone engine's whole run, or one turn of an engine in a cluster.
  void advance(time_point limit) {
    for (;;) {
      // next_event_time(), written out: this loop is the simulator's hot path.
      if (!until_ && finished()) return;
      const time_point t = next_time();
      if (t >= limit || (until_ && t > at(*until_))) return;
      if (policy_ != nullptr && timeline_) emit_policy_rows(t, false);
      now_ = t;
      if (!queue_.empty() && queue_.top().time == t) {
        handle(queue_.pop().event);
      } else if (has_lookahead_ && lookahead_time_ == t) {
        handle_arrival();
      } else if (!skipping_ && next_tick_ == t) {
        tick();
      } else {
        policy_timer();
      }
      if (policy_ != nullptr) policy_step();
      if (bucket_ != nullptr && !bucket_->wakes().empty()) return;
    }
  }

  /// Closes the run and returns its result.
  function_result end() {
    if (until_) {
      now_ = std::max(now_, at(*until_));
      if (skipping_ && policy_ == nullptr) emit_skipped_rows(now_, true);
    }
    if (policy_ != nullptr && timeline_) emit_policy_rows(now_, true);
    return finish();
  }

  /// The shared bucket has a token for this function at `t` (not before now): try to create then.
  void wake_creation(time_point t) { schedule_creation(t); }

  // ---- run boundaries ---------------------------------------------------------------------------------------

  /// Time 0: the initial state, the first reconcile, the first arrival.
  void start() {
    now_ = at(0s);
    zero_since_ = now_;
    if (policy_ != nullptr) {
      start_policy();
    } else if (config_.start == start_state::idle) {
      // Scaled to zero long ago; the decider's last valid tick saw no pod and no load.
      kpa_state_ = idle_kpa_state(kpa_spec_, now_);
      status_ = decider_status{0, excess_burst_capacity_at_zero()};
    } else {
      kpa_state_ = initial_kpa_state(kpa_spec_, now_);
      status_ = initial_decider_status(decider_spec_);
      for (std::int32_t i = 0; i < config_.revision.initial_scale; ++i) add_pod(/*ready_now=*/true);
    }
    // The reconciler runs on creation; an idle start at its floor changes nothing.
    if (policy_ == nullptr) reconcile_now();
    next_tick_ = now_ + one_second;
    if (arrivals_ != nullptr) pull_arrival();
    if (closed_ != nullptr) {
      time_point t = now_;
      for (std::size_t i = 0; i < closed_->phases.size(); ++i) {
        queue_.push(t, event{event_kind::phase_change, static_cast<std::uint32_t>(i), 0});
        t += std::max(duration::zero(), closed_->phases[i].length);
      }
      queue_.push(t, event{event_kind::phase_change, static_cast<std::uint32_t>(closed_->phases.size()), 0});
    }
  }

 private:
  /// EBC of a decider tick with no ready pod and no load (`autoscaler.go: Scale`, step 11).
  std::int32_t excess_burst_capacity_at_zero() const {
    const double tbc = decider_spec_.target_burst_capacity;
    if (tbc == 0) return 0;
    if (tbc > 0) return detail::go_int32(std::floor(-tbc));
    return -1;
  }

  bool arrivals_exhausted() const {
    if (closed_ != nullptr) return closed_done_;
    return !has_lookahead_;
  }

  std::int64_t requests_in_system() const {
    return static_cast<std::int64_t>(activator_queue_.size()) + at_pods_total_;
  }

  /// Every arrival is done and the service sits at its floor with nothing starting or draining.
  bool finished() const {
    // The KPA, built in or as a policy, is done once back at its floor, whatever ticks it would still run.
    if (policy_ != nullptr && kpa_view_ == nullptr) {
      return arrivals_exhausted() && requests_in_system() == 0 && pending_creations_ == 0 && starting_.empty() &&
             draining_count_ == 0 && static_cast<std::int64_t>(ready_.size()) == policy_desired_ &&
             (!policy_wake_ || quiet_timers_ >= max_quiet_timers);
    }
    return arrivals_exhausted() && requests_in_system() == 0 && pending_creations_ == 0 && starting_.empty() &&
           draining_count_ == 0 && ready_.size() == floor_;
  }

  time_point next_time() const {
    time_point t = never;
    if (!queue_.empty()) t = queue_.top().time;
    if (has_lookahead_ && lookahead_time_ < t) t = lookahead_time_;
    if (!skipping_ && next_tick_ < t) t = next_tick_;
    if (policy_wake_ && *policy_wake_ < t) t = *policy_wake_;
    return t;
  }

  function_result finish() {
    for (std::size_t i = 0; i < pods_.size(); ++i) {
      if (pods_[i].phase != pod_phase::gone) account_pod(pods_[i]);
    }
    if (pods_existing_ == 0) time_at_zero_ += now_ - zero_since_;
    result_.time_at_zero_s = seconds_of(time_at_zero_);
    result_.simulated_s = seconds_of(now_.time_since_epoch());
    return std::move(result_);
  }

  // ---- events -----------------------------------------------------------------------------------------------

  void handle(const event& e) {
    switch (e.kind) {
      case event_kind::completion: complete(e.id); break;
      case event_kind::pod_ready: pod_became_ready(e.id, e.generation); break;
      case event_kind::drain_timer: drain_quiet_over(e.id, e.generation); break;
      case event_kind::activator_timeout:
        activator_timeout_pending_ = false;
        expire_activator_queue();
        arm_activator_timeout();
        break;
      case event_kind::pod_timeout: pod_timeout(e.id, e.generation); break;
      case event_kind::reconcile:
        if (e.generation == requeue_generation_ && requeue_at_ == now_) {
          requeue_at_.reset();
          reconcile_now();
        }
        break;
      case event_kind::pod_create:
        if (creation_event_at_ == now_) creation_event_at_.reset();
        create_pods();
        break;
      case event_kind::user_send: user_send(e.id); break;
      case event_kind::phase_change: phase_change(e.id); break;
    }
  }

  // ---- workload ---------------------------------------------------------------------------------------------

  void pull_arrival() {
    // Field by field, not as an optional<arrival>: see apply_policy on whole-struct copies.
    const std::optional<arrival> a = arrivals_->next();
    has_lookahead_ = a.has_value();
    if (!has_lookahead_) return;
    // A stream must not go back in time; a late arrival is taken as arriving now.
    lookahead_time_ = std::max(a->time, now_);
    lookahead_service_ = a->service_time;
  }

  void handle_arrival() {
    const duration service = lookahead_service_;
    pull_arrival();
    const std::uint32_t id = new_request();
    requests_[id].service = std::max(duration::zero(), service);
    admit(id);
  }

  void phase_change(std::uint32_t index) {
    const auto& phases = closed_->phases;
    const std::int64_t wanted = index < phases.size() ? std::max<std::int64_t>(0, phases[index].users) : 0;
    if (index >= phases.size()) closed_done_ = true;
    if (static_cast<std::int64_t>(users_.size()) < wanted) users_.resize(static_cast<std::size_t>(wanted));
    for (std::size_t k = 0; k < users_.size(); ++k) {
      user& u = users_[k];
      if (static_cast<std::int64_t>(k) < wanted) {
        if (!u.active) {
          u.active = true;
          if (!u.busy) {
            u.busy = true;
            queue_.push(now_, event{event_kind::user_send, static_cast<std::uint32_t>(k), 0});
          }
        }
      } else {
        // A removed user finishes what it has in flight and sends nothing more.
        u.active = false;
      }
    }
  }

  void user_send(std::uint32_t k) {
    if (!users_[k].active) {
      users_[k].busy = false;
      return;
    }
    const std::uint32_t id = new_request();
    request& r = requests_[id];
    r.user = static_cast<std::int32_t>(k);
    r.service = closed_->service_time ? std::max(duration::zero(), closed_->service_time(workload_rng_))
                                      : duration::zero();
    admit(id);
  }

  /// A closed-loop user's request ended: think (after a failure at least the backoff), then send again if
  /// still wanted.
  void user_done(std::int32_t k, bool failed) {
    if (k < 0) return;
    user& u = users_[static_cast<std::size_t>(k)];
    if (!u.active) {
      u.busy = false;
      return;
    }
    duration pause =
        closed_->think_time ? std::max(duration::zero(), closed_->think_time(workload_rng_)) : duration::zero();
    if (failed) pause = std::max({pause, closed_->failure_backoff, duration{std::chrono::milliseconds{1}}});
    queue_.push(now_ + pause, event{event_kind::user_send, static_cast<std::uint32_t>(k), 0});
  }

  // ---- requests ---------------------------------------------------------------------------------------------

  std::uint32_t new_request() {
    std::uint32_t id = 0;
    if (!free_requests_.empty()) {
      id = free_requests_.back();
      free_requests_.pop_back();
      requests_[id] = request{};
    } else {
      id = static_cast<std::uint32_t>(requests_.size());
      requests_.emplace_back();
    }
    requests_[id].arrival = now_;
    return id;
  }

  bool activator_in_path() const {
    // Other policies have no SKS: the activator (a request buffer) always stays in the path.
    if (policy_ != nullptr && kpa_view_ == nullptr) return true;
    const kpa_state& state = kpa_view_ != nullptr ? kpa_view_->state() : kpa_state_;
    // The SKS keeps the activator endpoints while it has no ready pod, whatever its mode (kpa.hpp `reconcile`).
    return state.mode == sks_mode::proxy || ready_.empty();
  }

  void admit(std::uint32_t id) {
    if (policy_ != nullptr) {
      policy_->on_arrival(now_);
      policy_current_ = false;
      if (skipping_ && stats_used_) {
        skipping_ = false;
        next_tick_ = ceil_to(now_, one_second);
      }
    } else if (skipping_) {
      resume_ticks();
    }
    ++result_.requests;
    if (activator_in_path()) {
      to_activator(id);
    } else {
      to_pod_directly(id);
    }
  }

  /// The activator: report, then forward at once if a pod has room and nobody waits ahead, else hold.
  void to_activator(std::uint32_t id) {
    requests_[id].via_activator = true;
    if (policy_ != nullptr) {
      if (stats_used_) {
        if (const auto push = reporter_.request_arrived(now_)) {
          policy_->on_stat(now_, *push, true);
          policy_current_ = false;
        }
      }
    } else if (const auto push = reporter_.request_arrived(now_)) {
      record(*push);
      // Knative `MultiScaler.Poke`: scale from zero without waiting for the next tick.
      if (should_poke(status_, push->average_concurrency)) run_decider();
    }
    if (activator_queue_.empty() && has_free_slot()) {
      enter_pod(id, pick_free_pod());
      return;
    }
    // Each activator's breaker holds at most 10 000 waiting requests; with CC 0 it is unbounded.
    if (cc_ > 0 && activator_queue_.size() >=
                       activator_queue_depth * static_cast<std::size_t>(std::max(1, kpa_state_.num_activators))) {
      fail(id);
      return;
    }
    requests_[id].place = request_place::activator;
    activator_queue_.push(id);
    arm_activator_timeout();
  }

  /// Serve mode: the Kubernetes service spreads requests over the ready pods (round robin here); a full pod
  /// queues them in its queue-proxy, and rejects them once that queue is full too.
  void to_pod_directly(std::uint32_t id) {
    const std::uint32_t p = ready_[next_round_robin() % ready_.size()];
    if (cc_ > 0 && pods_[p].at_pod >= (queue_proxy_depth_per_slot + 1) * cc_) {
      fail(id);
      return;
    }
    enter_pod(id, p);
  }

  std::size_t next_round_robin() { return round_robin_++; }

  bool has_free_slot() const { return !ready_.empty() && (cc_ == 0 || free_slots_ > 0); }

  /// A ready pod with room, round robin from where the last pick stopped. Requires has_free_slot().
  std::uint32_t pick_free_pod() {
    const std::size_t n = ready_.size();
    if (cc_ == 0) return ready_[next_round_robin() % n];
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (round_robin_ + k) % n;
      if (pods_[ready_[i]].at_pod < cc_) {
        round_robin_ = i + 1;
        return ready_[i];
      }
    }
    return ready_[round_robin_ % n];  // unreachable while free_slots_ > 0
  }

  void enter_pod(std::uint32_t id, std::uint32_t p) {
    request& r = requests_[id];
    r.pod = p;
    pod& pd = pods_[p];
    if (stats_used_) pd.stats.handle(now_, r.via_activator ? request_event::proxied_in : request_event::in);
    change_at_pod(p, +1);
    if (cc_ == 0 || pd.in_service < cc_) {
      begin_service(id, p);
    } else {
      r.place = request_place::pod_queue;
      pd.queue.push(id);
      arm_pod_timeout(p);
    }
  }

  // Flattened: it runs once per request, and its event push must stay inlined whatever inlining budget the
  // rest of this file leaves (with callgrind: about 7 % more instructions per request when GCC calls it).
  [[gnu::flatten]] void begin_service(std::uint32_t id, std::uint32_t p) {
    request& r = requests_[id];
    pod& pd = pods_[p];
    ++pd.in_service;
    r.place = request_place::service;
    r.start = now_;
    // It waited for a pod that was not ready yet when it arrived.
    if (pd.ready_at > r.arrival) ++result_.cold_starts;
    queue_.push(now_ + r.service, event{event_kind::completion, id, 0});
    if (config_.service_observer) config_.service_observer(service_event{now_, p, pd.in_service, true});
  }

  void complete(std::uint32_t id) {
    const request r = requests_[id];
    pod& pd = pods_[r.pod];
    --pd.in_service;
    if (config_.service_observer) config_.service_observer(service_event{now_, r.pod, pd.in_service, false});
    if (stats_used_) {
      pd.stats.handle(now_, r.via_activator ? request_event::proxied_out : request_event::out);
      if (r.via_activator) reporter_.request_finished(now_);
    }
    result_.latency.record(now_ - r.arrival);
    result_.queueing.record(r.start - r.arrival);
    ++result_.completed;
    if (policy_ != nullptr) {
      policy_->on_completion(now_);
      policy_current_ = false;
    }
    free_requests_.push_back(id);
    change_at_pod(r.pod, -1);
    slot_freed(r.pod);
    user_done(r.user, false);
  }

  /// A request fails: it waited past the revision timeout, or a full queue rejected it.
  void fail(std::uint32_t id) {
    const request r = requests_[id];
    if (r.place == request_place::pod_queue) {
      if (stats_used_) {
        pods_[r.pod].stats.handle(now_, r.via_activator ? request_event::proxied_out : request_event::out);
      }
      change_at_pod(r.pod, -1);
    }
    if (stats_used_ && r.via_activator) reporter_.request_finished(now_);
    ++result_.failed;
    if (policy_ != nullptr) {
      policy_->on_completion(now_);
      policy_current_ = false;
    }
    free_requests_.push_back(id);
    user_done(r.user, true);
  }

  /// A slot of pod `p` came free: its own queue first, then (if still ready) the activator's.
  void slot_freed(std::uint32_t p) {
    expire_pod_queue(p);
    pod& pd = pods_[p];
    if (!pd.queue.empty() && (cc_ == 0 || pd.in_service < cc_)) begin_service(pd.queue.pop(), p);
    if (pods_[p].phase == pod_phase::ready) {
      dispatch_activator();
    } else {
      maybe_remove(p);
    }
  }

  void dispatch_activator() {
    while (!activator_queue_.empty() && has_free_slot()) {
      expire_activator_queue();
      if (activator_queue_.empty()) break;
      enter_pod(activator_queue_.pop(), pick_free_pod());
    }
  }

  time_point deadline(std::uint32_t id) const { return requests_[id].arrival + config_.revision_timeout; }

  void expire_activator_queue() {
    while (!activator_queue_.empty() && deadline(activator_queue_.front()) <= now_) fail(activator_queue_.pop());
  }

  void arm_activator_timeout() {
    if (activator_timeout_pending_ || activator_queue_.empty()) return;
    activator_timeout_pending_ = true;
    queue_.push(deadline(activator_queue_.front()), event{event_kind::activator_timeout, 0, 0});
  }

  void expire_pod_queue(std::uint32_t p) {
    while (!pods_[p].queue.empty() && deadline(pods_[p].queue.front()) <= now_) fail(pods_[p].queue.pop());
  }

  void arm_pod_timeout(std::uint32_t p) {
    pod& pd = pods_[p];
    if (pd.timeout_pending || pd.queue.empty()) return;
    pd.timeout_pending = true;
    queue_.push(deadline(pd.queue.front()), event{event_kind::pod_timeout, p, pd.generation});
  }

  void pod_timeout(std::uint32_t p, std::uint32_t generation) {
    if (pods_[p].generation != generation) return;
    pods_[p].timeout_pending = false;
    expire_pod_queue(p);
    arm_pod_timeout(p);
    maybe_remove(p);
  }

  // ---- pods -------------------------------------------------------------------------------------------------

  /// Requests at pod `p` change by `delta`: keeps the free-slot count, the busy time and the total in step.
  void change_at_pod(std::uint32_t p, std::int32_t delta) {
    pod& pd = pods_[p];
    const std::int32_t before = pd.at_pod;
    pd.at_pod += delta;
    if (pd.phase == pod_phase::ready && cc_ > 0) {
      free_slots_ += std::max(0, cc_ - pd.at_pod) - std::max(0, cc_ - before);
    }
    if (before == 0 && pd.at_pod > 0) {
      pd.busy_since = now_;
    } else if (before > 0 && pd.at_pod == 0) {
      pd.busy += now_ - pd.busy_since;
    }
    at_pods_total_ += delta;
  }

  /// Creates a pod now: ready at once (a deployed start) or after a sampled cold start.
  void add_pod(bool ready_now) {
    std::uint32_t p = 0;
    if (!free_pods_.empty()) {
      p = free_pods_.back();
      free_pods_.pop_back();
    } else {
      p = static_cast<std::uint32_t>(pods_.size());
      pods_.emplace_back();
    }
    pod& pd = pods_[p];
    const std::uint32_t generation = pd.generation;
    pd = pod{};
    pd.generation = generation;
    pd.created = now_;
    if (pods_existing_ == 0) time_at_zero_ += now_ - zero_since_;
    ++pods_existing_;
    result_.peak_pods = std::max(result_.peak_pods, static_cast<std::int32_t>(pods_existing_));
    if (ready_now) {
      make_ready(p);
      return;
    }
    pd.phase = pod_phase::starting;
    starting_.push_back(p);
    const duration cold = config_.cold_start ? std::max(duration::zero(), config_.cold_start(pod_rng_))
                                             : default_cold_start;
    queue_.push(now_ + cold, event{event_kind::pod_ready, p, generation});
  }

  void make_ready(std::uint32_t p) {
    pod& pd = pods_[p];
    pd.phase = pod_phase::ready;
    pd.ready_at = now_;
    pd.stats = request_stats(now_);
    ready_.push_back(p);
    if (cc_ > 0) free_slots_ += cc_;
  }

  void pod_became_ready(std::uint32_t p, std::uint32_t generation) {
    if (pods_[p].generation != generation || pods_[p].phase != pod_phase::starting) return;
    starting_.erase(std::find(starting_.begin(), starting_.end(), p));
    make_ready(p);
    // The activator's throttler sees the new endpoint; the PA is reconciled on the readiness change.
    dispatch_activator();
    if (policy_ == nullptr) reconcile_now();
  }

  /// The ReplicaSet controller moves the pod count to `target` at once (creations subject to the rate limit).
  void set_replicas(std::int32_t target_replicas) {
    const std::int64_t target = std::max<std::int32_t>(0, target_replicas);
    const std::int64_t alive =
        static_cast<std::int64_t>(starting_.size() + ready_.size()) + pending_creations_;
    if (target > alive) {
      pending_creations_ += target - alive;
      if (bucket_ != nullptr) bucket_->ask(index_, now_, target - alive);
      create_pods();
      return;
    }
    std::int64_t excess = alive - target;
    // Pods not yet created are cancelled first, then Kubernetes' ReplicaSet ranking (`controller_utils.go:
    // ActivePodsWithRanks`): not-ready pods before ready ones, newest created first; among ready pods the one
    // ready for the shortest time first.
    const std::int64_t cancelled = std::min(excess, pending_creations_);
    pending_creations_ -= cancelled;
    if (bucket_ != nullptr && cancelled > 0) bucket_->cancel(index_, cancelled, now_);
    excess -= cancelled;
    while (excess > 0 && !starting_.empty()) {
      const std::uint32_t p = starting_.back();
      starting_.pop_back();
      remove_pod(p);
      --excess;
    }
    if (policy_ != nullptr && kpa_view_ == nullptr) {
      // Other policies release idle pods first (a keep-alive expiry is an idle pod's), newest ready first.
      for (std::size_t k = ready_.size(); excess > 0 && k > 0; --k) {
        if (pods_[ready_[k - 1]].at_pod != 0) continue;
        start_drain(ready_[k - 1]);
        --excess;
      }
    }
    while (excess > 0 && !ready_.empty()) {
      start_drain(ready_.back());
      --excess;
    }
  }

  /// Creates the pending pods the creation limit allows now; the rest wait for a token.
  void create_pods() {
    while (pending_creations_ > 0) {
      if (bucket_ != nullptr) {
        const creation_bucket::take_result token = bucket_->take(index_, now_);
        if (!token.granted) {
          // At the head of the cluster's queue: try again when the token is due. Behind another function:
          // the bucket wakes this one when its turn comes.
          if (token.retry_at) schedule_creation(*token.retry_at);
          return;
        }
      }
      --pending_creations_;
      add_pod(/*ready_now=*/false);
    }
  }

  /// A pod_create event at `t`, unless one is already due by then. Out of line, as the bucket's methods are.
  [[gnu::noinline]] void schedule_creation(time_point t) {
    if (creation_event_at_ && *creation_event_at_ <= t) return;
    creation_event_at_ = t;
    queue_.push(t, event{event_kind::pod_create, 0, 0});
  }

  /// Deletion of a ready pod: it leaves the endpoints at once, finishes what it holds, and is gone after
  /// queue-proxy's drain quiet period.
  void start_drain(std::uint32_t p) {
    pod& pd = pods_[p];
    ready_.erase(std::find(ready_.begin(), ready_.end(), p));
    if (cc_ > 0) free_slots_ -= std::max(0, cc_ - pd.at_pod);
    pd.phase = pod_phase::draining;
    ++draining_count_;
    if (config_.drain_quiet_period > duration::zero()) {
      pd.quiet_over = false;
      queue_.push(now_ + config_.drain_quiet_period, event{event_kind::drain_timer, p, pd.generation});
    } else {
      pd.quiet_over = true;
    }
    maybe_remove(p);
  }

  void drain_quiet_over(std::uint32_t p, std::uint32_t generation) {
    if (pods_[p].generation != generation) return;
    pods_[p].quiet_over = true;
    maybe_remove(p);
  }

  void maybe_remove(std::uint32_t p) {
    const pod& pd = pods_[p];
    if (pd.phase == pod_phase::draining && pd.quiet_over && pd.at_pod == 0) {
      --draining_count_;
      remove_pod(p);
    }
  }

  /// Adds a pod's life so far to pod-seconds and idle pod-seconds.
  void account_pod(const pod& pd) {
    const duration life = now_ - pd.created;
    duration busy = pd.busy;
    if (pd.at_pod > 0) busy += now_ - pd.busy_since;
    result_.pod_seconds += seconds_of(life);
    result_.idle_pod_seconds += seconds_of(life - busy);
  }

  void remove_pod(std::uint32_t p) {
    pod& pd = pods_[p];
    account_pod(pd);
    pd.phase = pod_phase::gone;
    ++pd.generation;
    pd.timeout_pending = false;
    free_pods_.push_back(p);
    if (--pods_existing_ == 0) zero_since_ = now_;
  }

  // ---- autoscaler -------------------------------------------------------------------------------------------

  void record(const pod_stat& stat) {
    if (policy_ != nullptr) {
      policy_->on_stat(now_, stat, false);
      policy_current_ = false;
      return;
    }
    collection_.record(now_, stat);
    last_record_ = now_;
  }

  /// Every second: the activator's report, the scrape; every 2 s the decider (then the KPA if told).
  void tick() {
    if (const auto stat = reporter_.report(now_)) record(*stat);
    if (collection_.has_scrape_target() && !ready_.empty()) scrape();
    if (policy_ != nullptr) {
      next_tick_ = now_ + one_second;
      // Nothing to report or scrape until the next arrival: a tick would do nothing.
      if (pods_existing_ == 0 && requests_in_system() == 0 && !reporter_.tracking()) skipping_ = true;
      return;
    }
    if (is_decider_tick(now_)) {
      const auto ready = static_cast<std::int32_t>(ready_.size());
      const auto observed = run_decider();
      emit_row(ready, observed);
    }
    next_tick_ = now_ + one_second;
    if (config_.skip_idle_ticks && idle()) skipping_ = true;
  }

  /// Knative `serviceScraper.scrapePods`: every queue-proxy closes its 1 s period; a sample of them (old pods
  /// first, the group drawn from shuffled) is read and extrapolated to all ready pods.
  void scrape() {
    const std::size_t n = ready_.size();
    scrape_stats_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      scrape_stats_[i] = queue_proxy_stat(pods_[ready_[i]].stats.report(now_), one_second);
    }
    const duration window = config_.revision.stable_window;
    scrape_order_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (now_ - pods_[ready_[i]].created >= window) scrape_order_.push_back(i);
    }
    const std::size_t old_pods = scrape_order_.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (now_ - pods_[ready_[i]].created < window) scrape_order_.push_back(i);
    }
    const std::size_t wanted = population_mean_sample_size(n);
    if (old_pods < wanted) {
      if (n - old_pods > wanted - old_pods) shuffle(old_pods, n);
    } else if (old_pods > wanted) {
      shuffle(0, old_pods);
    }
    scrape_ages_.resize(n);
    for (std::size_t k = 0; k < n; ++k) scrape_ages_[k] = now_ - pods_[ready_[scrape_order_[k]]].created;
    pick_sample(scrape_ages_, window, scrape_picked_);
    scrape_sample_.clear();
    for (const std::size_t k : scrape_picked_) scrape_sample_.push_back(scrape_stats_[scrape_order_[k]]);
    if (const auto total = extrapolate(scrape_sample_, n)) record(*total);
  }

  /// Fisher–Yates over scrape_order_[begin, end) with Boost.Random (portable draws).
  void shuffle(std::size_t begin, std::size_t end) {
    for (std::size_t i = end - 1; i > begin; --i) {
      boost::random::uniform_int_distribution<std::size_t> pick(begin, i);
      std::swap(scrape_order_[i], scrape_order_[pick(sample_rng_)]);
    }
  }

  /// One decider tick (periodic or Poke), the multiscaler's bookkeeping, and the KPA when it must be told.
  std::optional<observed_values> run_decider() {
    const auto observed = collection_.stable_and_panic(now_, decider_spec_.metric);
    const scale_result decision = decider_.scale(now_, static_cast<int>(ready_.size()), observed);
    if (apply_result(status_, decision)) reconcile_now();
    return observed;
  }

  /// The KPA reconciler, re-run at once while it changes its own status or the pods' readiness.
  void reconcile_now() {
    for (int pass = 0; pass < max_reconcile_passes; ++pass) {
      const std::size_t ready = ready_.size();
      const kpa_observation observation{.decider_desired_scale = status_.desired_scale,
                                        .excess_burst_capacity = status_.excess_burst_capacity,
                                        .ready_pods = static_cast<std::int32_t>(ready)};
      const kpa_action action = reconcile(kpa_spec_, kpa_state_, observation, now_);
      if (action.requeue_after) requeue_at(now_ + *action.requeue_after);
      if (action.apply_replicas) {
        ++result_.scale_events;
        set_replicas(*action.apply_replicas);
      }
      if (!action.triggers_reconcile && ready_.size() == ready) break;
    }
  }

  /// Knative's work queue keeps the earliest of several delayed enqueues of the same PA.
  void requeue_at(time_point t) {
    if (requeue_at_ && *requeue_at_ <= t) return;
    requeue_at_ = t;
    ++requeue_generation_;
    queue_.push(t, event{event_kind::reconcile, 0, requeue_generation_});
  }

  // ---- other policies ---------------------------------------------------------------------------------------

  pod_counts current_pods() const {
    const auto pending = static_cast<std::int32_t>(pending_creations_);
    return pod_counts{.ready = static_cast<std::int32_t>(ready_.size()),
                      .starting = static_cast<std::int32_t>(starting_.size()) + pending,
                      .existing = static_cast<std::int32_t>(pods_existing_) + pending};
  }

  /// Time 0 with a policy: the replicas of its first decision are running and ready, as a Deployment created
  /// before the trace began; per-second statistics ticks only for a policy that reads them.
  void start_policy() {
    skipping_ = !stats_used_;
    const policy_decision d = policy_->decide(now_, current_pods());
    for (std::int32_t i = 0; i < d.desired_pods; ++i) add_pod(/*ready_now=*/true);
    apply_policy(d);
  }

  /// The policy's timer fell due (after every other event of the instant).
  void policy_timer() {
    policy_wake_.reset();
    const std::int32_t before = policy_desired_;
    apply_policy(policy_->on_timer(now_, current_pods()));
    // A policy that keeps waking without changing anything once all is done would never let the run end.
    quiet_timers_ = policy_desired_ == before && arrivals_exhausted() && requests_in_system() == 0
                        ? quiet_timers_ + 1
                        : 0;
  }

  /// After an event: the policy sees the new state and decides, unless it promised that its last answer
  /// still holds (no observation since, before its wake time).
  void policy_step() {
    if (policy_current_ && (!policy_wake_ || now_ < *policy_wake_)) return;
    apply_policy(policy_->decide(now_, current_pods()));
  }

  /// Applies a decision, and decides again at once while the policy asks to or the pods changed under it.
  // The decision is read field by field and never copied whole: a 32-byte copy of a struct the policy has just
  // written piecewise stalls on store forwarding, and that was the most expensive instruction per event.
  void apply_policy(const policy_decision& d, int pass = 1) {
    if (d.wake_at) {
      policy_wake_ = std::max(*d.wake_at, now_);
    } else {
      policy_wake_.reset();
    }
    const std::int32_t desired = std::max<std::int32_t>(0, d.desired_pods);
    // Pods alive (starting, ready, to create) change only in set_replicas, which leaves them at its target:
    // set_replicas(policy_desired_) would change nothing, so the pass would end here.
    if (desired == policy_desired_ && !d.call_again) {
      policy_current_ = policy_holds_;
      return;
    }
    if (desired != policy_desired_) {
      ++result_.scale_events;
      policy_desired_ = desired;
    }
    const pod_counts before = current_pods();
    set_replicas(desired);
    if (pass >= max_reconcile_passes || (!d.call_again && current_pods() == before)) {
      policy_current_ = policy_holds_;
      return;
    }
    apply_policy(policy_->decide(now_, current_pods()), pass + 1);
  }

  /// Timeline rows every 2 s with a policy, written lazily: the state between two events is the state after
  /// the earlier one. Rows before `limit` (or up to it, when inclusive).
  void emit_policy_rows(time_point limit, bool inclusive) {
    for (; next_row_ < limit || (inclusive && next_row_ == limit); next_row_ += decider_tick_interval) {
      timeline_(timeline_row{.time = next_row_,
                             .ready_pods = static_cast<std::int32_t>(ready_.size()),
                             .desired_pods = policy_desired_,
                             .panic_mode = kpa_view_ != nullptr && kpa_view_->scaler().in_panic(),
                             .observed_stable = 0,
                             .observed_panic = 0,
                             .in_flight = at_pods_total_,
                             .activator_queue = static_cast<std::int64_t>(activator_queue_.size()),
                             .excess_burst_capacity = 0,
                             .activator_in_path = activator_in_path()});
    }
  }

  // ---- idle shortcut and timeline ---------------------------------------------------------------------------

  /// Nothing can change before the next arrival: no pod, no request, no pending event, the activator not
  /// tracking, and metric windows empty so every decider tick is invalid (or, without a scraper, reads zeros
  /// and repeats a desired 0 outside panic).
  bool idle() const {
    if (!queue_.empty() || pods_existing_ != 0 || pending_creations_ != 0 || requests_in_system() != 0 ||
        reporter_.tracking()) {
      return false;
    }
    if (last_record_) {
      const std::int64_t since = bucket_index(now_, one_second) - bucket_index(*last_record_, one_second);
      if (since <= window_idle_buckets_) return false;
    }
    return collection_.has_scrape_target() || (!decider_.in_panic() && status_.desired_scale == 0);
  }

  /// Back from an idle stretch: the rows the skipped decider ticks would have written, then ticks from the next
  /// whole second on (a tick at this very instant runs after the event, as it would have).
  void resume_ticks() {
    emit_skipped_rows(now_, false);
    skipping_ = false;
    next_tick_ = ceil_to(now_, one_second);
  }

  /// Rows for the skipped decider ticks from next_tick_ up to `limit` (inclusive or not).
  void emit_skipped_rows(time_point limit, bool inclusive) {
    if (!timeline_) return;
    for (time_point t = ceil_to(next_tick_, decider_tick_interval); t < limit || (inclusive && t == limit);
         t += decider_tick_interval) {
      timeline_(timeline_row{.time = t,
                             .ready_pods = 0,
                             .desired_pods = status_.desired_scale,
                             .panic_mode = decider_.in_panic(),
                             .observed_stable = 0,
                             .observed_panic = 0,
                             .in_flight = 0,
                             .activator_queue = 0,
                             .excess_burst_capacity = status_.excess_burst_capacity,
                             .activator_in_path = true});
    }
  }

  void emit_row(std::int32_t ready, const std::optional<observed_values>& observed) {
    if (!timeline_) return;
    timeline_(timeline_row{.time = now_,
                           .ready_pods = ready,
                           .desired_pods = status_.desired_scale,
                           .panic_mode = decider_.in_panic(),
                           .observed_stable = observed ? observed->stable : 0,
                           .observed_panic = observed ? observed->panic : 0,
                           .in_flight = at_pods_total_,
                           .activator_queue = static_cast<std::int64_t>(activator_queue_.size()),
                           .excess_burst_capacity = status_.excess_burst_capacity,
                           .activator_in_path = activator_in_path()});
  }

  // ---- state ------------------------------------------------------------------------------------------------

  const simulation_config& config_;
  std::optional<duration> until_ = config_.until;
  const timeline_sink& timeline_;
  arrival_source* arrivals_;
  const closed_loop_workload* closed_;
  creation_bucket* bucket_;
  std::uint32_t index_;

  kpa_spec kpa_spec_;
  decider_spec decider_spec_;
  decider decider_;
  decider_status status_;
  kpa_state kpa_state_;
  metric_collection collection_;
  activator_reporter reporter_;
  std::int32_t cc_;
  std::size_t floor_;
  std::int64_t window_idle_buckets_;

  std::mt19937_64 pod_rng_;
  std::mt19937_64 sample_rng_;
  std::mt19937_64 workload_rng_;

  event_queue<event> queue_;
  time_point now_{};
  time_point next_tick_{};
  bool skipping_ = false;
  std::optional<time_point> last_record_;
  std::optional<time_point> requeue_at_;
  std::uint32_t requeue_generation_ = 0;

  /// The next arrival, read ahead (time, service time).
  bool has_lookahead_ = false;
  time_point lookahead_time_{};
  duration lookahead_service_{};
  std::vector<user> users_;
  bool closed_done_ = false;

  std::vector<request> requests_;
  std::vector<std::uint32_t> free_requests_;
  index_fifo activator_queue_;
  bool activator_timeout_pending_ = false;

  std::vector<pod> pods_;
  std::vector<std::uint32_t> free_pods_;
  std::vector<std::uint32_t> starting_;  // creation order
  std::vector<std::uint32_t> ready_;     // readiness order
  std::size_t draining_count_ = 0;
  std::size_t pods_existing_ = 0;
  std::int64_t pending_creations_ = 0;
  std::int64_t free_slots_ = 0;
  std::int64_t at_pods_total_ = 0;
  std::size_t round_robin_ = 0;

  /// The earliest pod_create event pending, if any.
  std::optional<time_point> creation_event_at_;

  std::vector<pod_stat> scrape_stats_;
  std::vector<std::size_t> scrape_order_;
  std::vector<duration> scrape_ages_;
  std::vector<pod_stat> scrape_sample_;
  std::vector<std::size_t> scrape_picked_;

  duration time_at_zero_{};
  time_point zero_since_{};
  function_result result_;

  /// Null = the simulator's own KPA loop; else the policy that sizes the service (owned by the caller).
  any_scaling_policy* policy_;
  /// The policy when it is libscale's KPA (its SKS mode routes requests).
  const kpa_policy* kpa_view_;
  std::optional<time_point> policy_wake_;
  /// The policy promised its answers hold until it observes something (`decisions_hold_until_observed_v`).
  bool policy_holds_;
  /// The last decision applied is still the policy's answer (it holds, and nothing was observed since).
  bool policy_current_ = false;
  /// Someone reads the queue-proxies' and the activator's statistics: the built-in KPA, or a policy that
  /// `uses_stats()`. Without a reader their per-request accounting is skipped (ticks never run then).
  bool stats_used_;
  std::int32_t policy_desired_ = 0;
  std::int64_t quiet_timers_ = 0;
  time_point next_row_ = time_point{} + decider_tick_interval;
};

/// The earliest of several engines' next times, ties to the lowest index: a tournament tree over (time, index),
/// O(log n) per update.
class earliest_engine {
 public:
  explicit earliest_engine(std::size_t n) : times_(n + 1, never) {
    while (leaves_ < n) leaves_ *= 2;
    // Unused leaves point at the sentinel n, whose time is `never`.
    tree_.assign(2 * leaves_, static_cast<std::uint32_t>(n));
    for (std::size_t i = 0; i < n; ++i) tree_[leaves_ + i] = static_cast<std::uint32_t>(i);
    for (std::size_t k = leaves_ - 1; k >= 1; --k) tree_[k] = earlier(tree_[2 * k], tree_[2 * k + 1]);
  }

  /// Sets engine i's next time.
  void update(std::uint32_t i, time_point t) {
    times_[i] = t;
    for (std::size_t k = (leaves_ + i) / 2; k >= 1; k /= 2) tree_[k] = earlier(tree_[2 * k], tree_[2 * k + 1]);
  }

  std::uint32_t index() const { return tree_[1]; }
  time_point time() const { return times_[tree_[1]]; }

 private:
  std::uint32_t earlier(std::uint32_t a, std::uint32_t b) const {
    return times_[b] < times_[a] || (times_[b] == times_[a] && b < a) ? b : a;
  }

  std::vector<time_point> times_;
  std::size_t leaves_ = 1;
  std::vector<std::uint32_t> tree_;
};

/// Replays arrivals read ahead, for a policy that must know them all first.
class recorded_arrivals final : public arrival_source {
 public:
  explicit recorded_arrivals(const std::vector<arrival>& arrivals) : arrivals_(arrivals) {}
  std::optional<arrival> next() override {
    if (next_ == arrivals_.size()) return std::nullopt;
    return arrivals_[next_++];
  }

 private:
  const std::vector<arrival>& arrivals_;
  std::size_t next_ = 0;
};

/// One function's policy (when the config names one) and the arrival stream the engine should read.
struct function_policy {
  std::vector<arrival> recorded;
  std::unique_ptr<recorded_arrivals> replay;
  std::optional<any_scaling_policy> policy;
  arrival_source* arrivals = nullptr;

  any_scaling_policy* get() { return policy ? &*policy : nullptr; }
};

std::unique_ptr<function_policy> prepare_policy(const simulation_config& config, arrival_source* arrivals) {
  auto fp = std::make_unique<function_policy>();
  fp->arrivals = arrivals;
  if (!config.policy) return fp;
  std::vector<known_request> future;
  if (config.policy->needs_future && arrivals != nullptr) {
    while (auto a = arrivals->next()) fp->recorded.push_back(*a);
    future.reserve(fp->recorded.size());
    for (const arrival& a : fp->recorded) future.push_back(known_request{a.time, a.service_time});
    fp->replay = std::make_unique<recorded_arrivals>(fp->recorded);
    fp->arrivals = fp->replay.get();
  }
  fp->policy.emplace(config.policy->make(future));
  return fp;
}

}  // namespace

function_result simulate(arrival_source& arrivals, const simulation_config& config, std::uint64_t seed,
                         const timeline_sink& timeline) {
  std::optional<creation_bucket> bucket;
  if (config.pod_creation_rate_per_s > 0) bucket.emplace(config.pod_creation_rate_per_s);
  const auto fp = prepare_policy(config, &arrivals);
  engine e(config, seed, timeline, fp->arrivals, nullptr, bucket ? &*bucket : nullptr, 0, fp->get());
  return e.run();
}

function_result simulate_closed_loop(const closed_loop_workload& workload, const simulation_config& config,
                                     std::uint64_t seed, const timeline_sink& timeline) {
  std::optional<creation_bucket> bucket;
  if (config.pod_creation_rate_per_s > 0) bucket.emplace(config.pod_creation_rate_per_s);
  const auto fp = prepare_policy(config, nullptr);
  engine e(config, seed, timeline, nullptr, &workload, bucket ? &*bucket : nullptr, 0, fp->get());
  return e.run();
}

std::vector<function_result> simulate_to_common_end(const std::function<std::unique_ptr<arrival_source>()>& open,
                                                    std::span<const simulation_config> configs, std::uint64_t seed) {
  const std::size_t n = configs.size();
  std::vector<std::unique_ptr<arrival_source>> sources(n);
  std::vector<std::unique_ptr<function_policy>> policies(n);
  std::vector<std::unique_ptr<creation_bucket>> buckets(n);  // as simulate: each service alone in its cluster
  std::vector<std::unique_ptr<engine>> engines(n);
  const timeline_sink no_timeline;  // the engines keep a reference
  double latest_s = 0;
  for (std::size_t k = 0; k < n; ++k) {
    sources[k] = open();
    policies[k] = prepare_policy(configs[k], sources[k].get());
    if (configs[k].pod_creation_rate_per_s > 0) {
      buckets[k] = std::make_unique<creation_bucket>(configs[k].pod_creation_rate_per_s);
    }
    engines[k] = std::make_unique<engine>(configs[k], seed, no_timeline, policies[k]->arrivals, nullptr,
                                          buckets[k].get(), 0, policies[k]->get());
    engines[k]->start();
    engines[k]->advance(never);
    latest_s = std::max(latest_s, seconds_of(engines[k]->now().time_since_epoch()));
  }
  // The common end as a run's `until` would be given it: seconds, truncated to whole nanoseconds.
  const auto until = std::chrono::duration_cast<duration>(std::chrono::duration<double>(latest_s));
  std::vector<function_result> results;
  results.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    if (!configs[k].until && seconds_of(engines[k]->now().time_since_epoch()) < latest_s) {
      engines[k]->run_on_to(until);
      engines[k]->advance(never);
    }
    results.push_back(engines[k]->end());
  }
  return results;
}

std::vector<function_result> simulate_cluster(std::span<const cluster_function> functions,
                                              const simulation_config& config) {
  const std::size_t n = functions.size();
  std::optional<creation_bucket> bucket;
  if (config.pod_creation_rate_per_s > 0) bucket.emplace(config.pod_creation_rate_per_s);
  creation_bucket* shared = bucket ? &*bucket : nullptr;
  std::vector<std::unique_ptr<engine>> engines(n);
  std::vector<std::unique_ptr<function_policy>> policies(n);
  for (std::size_t i = 0; i < n; ++i) {
    policies[i] = prepare_policy(config, functions[i].arrivals);
    engines[i] = std::make_unique<engine>(config, functions[i].seed, functions[i].timeline, policies[i]->arrivals,
                                          nullptr, shared, static_cast<std::uint32_t>(i), policies[i]->get());
  }
  earliest_engine next(n);
  // Tokens the bucket handed to a function other than the one that acted: that engine's next time moves.
  const auto deliver_wakes = [&] {
    if (shared == nullptr) return;
    for (const creation_bucket::wake& w : shared->wakes()) {
      engines[w.function]->wake_creation(w.time);
      next.update(w.function, engines[w.function]->next_event_time());
    }
    shared->wakes().clear();
  };
  for (std::size_t i = 0; i < n; ++i) {
    engines[i]->start();
    next.update(static_cast<std::uint32_t>(i), engines[i]->next_event_time());
    deliver_wakes();
  }
  // The engine with the earliest next event (ties: the lowest index) runs until it would pass the runner-up,
  // or hands a token to another engine: the same order as one event at a time, in batches.
  while (next.time() != never) {
    const std::uint32_t i = next.index();
    next.update(i, never);
    const std::uint32_t j = next.index();
    const time_point runner_up = next.time();
    // Events of i at the runner-up's time come first when i has the lower index.
    const time_point limit = runner_up == never ? never : i < j ? runner_up + duration{1} : runner_up;
    engines[i]->advance(limit);
    next.update(i, engines[i]->next_event_time());
    deliver_wakes();
  }
  std::vector<function_result> results;
  results.reserve(n);
  for (auto& e : engines) results.push_back(e->end());
  return results;
}

}  // namespace scale::sim
