#include <adapter/target_controller.hpp>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace scale::adapter {

namespace {

std::string_view activity_name(pa_activity a) {
  switch (a) {
    case pa_activity::activating: return "activating";
    case pa_activity::active: return "active";
    case pa_activity::inactive: return "inactive";
  }
  return "?";
}

/// The steady-clock instant the event limiter keys on: the controller's timeline is already monotonic.
std::chrono::steady_clock::time_point limiter_time(time_point now) {
  return std::chrono::steady_clock::time_point{
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(now.time_since_epoch())};
}

}  // namespace

std::int32_t bounded_replicas(const revision_autoscaling& revision, std::int32_t desired) {
  // kpa-spec.md §8 step 4 and §9: below min → min, above max (max ≠ 0) → max; scale to zero disabled → at least 1.
  const std::int32_t floor = revision.enable_scale_to_zero ? revision.min_scale
                                                            : std::max<std::int32_t>(1, revision.min_scale);
  return apply_bounds(floor, revision.max_scale, std::max<std::int32_t>(0, desired));
}

target_controller::target_controller(target_config target, scale_api api, log_sink log, bool dry_run)
    : target_(std::move(target)),
      api_(std::move(api)),
      log_(std::move(log)),
      dry_run_(dry_run),
      key_(target_key(target_)) {}

void target_controller::log(log_level level, const std::string& line) const {
  if (log_) log_(level, key_ + ": " + line);
}

void target_controller::on_stat(time_point now, const pod_stat& stat, bool pushed) {
  if (policy_) policy_->on_stat(policy_time(now), stat, pushed);
}

void target_controller::on_requests(time_point now) {
  if (!policy_) return;
  // The load itself reaches the policy through the stats; the pair only wakes its ticks after an idle stretch
  // and leaves its in-flight count balanced.
  policy_->on_arrival(policy_time(now));
  policy_->on_completion(policy_time(now));
}

std::optional<time_point> target_controller::wake_at() const {
  if (!wake_) return std::nullopt;
  return *wake_;
}

bool target_controller::read_scale(time_point now) {
  const auto r = api_.get_scale();
  if (!r) {
    api_failed(now, "get", r.error_value());
    return false;
  }
  if (current_ && *current_ != r->replicas && status_.scale_known) {
    log(log_level::info, fmt::format("spec.replicas changed to {} by another writer", r->replicas));
  }
  current_ = r->replicas;
  status_.current = r->replicas;
  if (!status_.scale_known) {
    status_.scale_known = true;
    // The policy starts as the Deployment is: at zero it has been idle long ago (kpa_start::idle); otherwise it
    // is treated as freshly deployed and holds the current scale until the decider has data.
    epoch_ = now;
    policy_.emplace(make_policy_config(target_, r->replicas == 0 ? kpa_start::idle : kpa_start::deployed));
    log(log_level::info, fmt::format("scale read: spec.replicas {}, selector {:?}; policy started {}", r->replicas,
                                     r->selector, r->replicas == 0 ? "idle" : "as deployed"));
  }
  last_error_logged_.clear();
  return true;
}

std::string target_controller::describe(const step_input& input) const {
  if (!policy_) return "no policy";
  const auto& observed = policy_->last_observed();
  return fmt::format("ready {}, stable {:.3f}, panic {:.3f}, panic mode {}, decider {}, PA {}", input.pods.ready,
                     observed ? observed->stable : 0.0, observed ? observed->panic : 0.0,
                     policy_->scaler().in_panic() ? "on" : "off", policy_->status().desired_scale,
                     activity_name(policy_->state().active.activity));
}

void target_controller::step(time_point now, const step_input& input) {
  if (status_.stopped) return;
  status_.ready = input.pods.ready;
  if (!policy_ || input.refresh_scale || !current_) {
    if (!read_scale(now) && !policy_) return;
    if (status_.stopped) return;
  }
  const time_point pt = policy_time(now);
  policy_decision d = policy_->decide(pt, input.pods);
  // The KPA re-enqueues its PA after a status write; the simulator decides again at once (bounded).
  for (int pass = 0; d.call_again && pass < kpa_max_reconcile_passes; ++pass) d = policy_->decide(pt, input.pods);
  if (d.wake_at && *d.wake_at <= pt) {
    d = policy_->on_timer(pt, input.pods);
    for (int pass = 0; d.call_again && pass < kpa_max_reconcile_passes; ++pass) {
      d = policy_->decide(pt, input.pods);
    }
  }
  wake_.reset();
  if (d.wake_at) wake_ = epoch_ + (*d.wake_at - time_point{});

  const std::int32_t desired = bounded_replicas(target_.revision, d.desired_pods);
  status_.desired = desired;
  status_.panic_mode = policy_->scaler().in_panic();
  if (const auto& observed = policy_->last_observed()) {
    status_.stable_average = observed->stable;
    status_.panic_average = observed->panic;
  }
  if (desired != last_logged_desired_) {
    log(log_level::info, fmt::format("desired {} -> {} ({})", last_logged_desired_, desired, describe(input)));
    last_logged_desired_ = desired;
  }
  write_if_needed(now, input, desired);
}

void target_controller::write_if_needed(time_point now, const step_input& input, std::int32_t desired) {
  // Missing metrics: hold whatever runs now, never scale (to zero or otherwise) on a failed scrape.
  if (input.metrics_missing) {
    if (!status_.holding) log(log_level::warning, "metrics missing: holding the current scale");
    status_.holding = true;
    return;
  }
  if (status_.holding) log(log_level::info, "metrics back");
  status_.holding = false;
  if (!input.leading) return;
  // The decider has made no valid decision yet (a fresh deployment without data): hold the current scale.
  if (policy_->status().desired_scale < 0) return;
  if (!current_ && !read_scale(now)) return;
  if (status_.stopped || desired == *current_) return;
  const std::int32_t from = *current_;
  const auto r = api_.set_replicas(desired);
  if (!r) {
    // 409/429/5xx or no answer: re-read and decide again next tick (cluster-adapter.md §6.4), never resend blindly.
    current_.reset();
    api_failed(now, "patch", r.error_value());
    if (!status_.stopped) {
      emit_event(now, kube::event_type::warning, "FailedRescale",
                 fmt::format("New size: {}; error: {}", desired, r.error_value().message));
    }
    return;
  }
  ++status_.writes;
  current_ = r->replicas;
  status_.current = r->replicas;
  last_error_logged_.clear();
  log(log_level::info, fmt::format("scaled {} -> {}{} ({})", from, desired, dry_run_ ? " (dry run)" : "",
                                   describe(input)));
  if (!dry_run_) {
    emit_event(now, kube::event_type::normal, "SuccessfulRescale",
               fmt::format("New size: {}; reason: {}", desired, describe(input)));
  }
}

void target_controller::api_failed(time_point, const std::string& verb, const kube::api_error& e) {
  ++status_.api_errors;
  const std::string what = fmt::format("{} {}/scale failed: {}", verb, target_.ref.resource, e.message);
  if (e.code == 404) {
    // The target is gone: stop and drop state (cluster-adapter.md §6.4).
    log(log_level::error, what + "; target deleted, controller stopped");
    status_.stopped = true;
    policy_.reset();
    current_.reset();
    wake_.reset();
    return;
  }
  if (what == last_error_logged_) return;
  last_error_logged_ = what;
  if (e.code == 403) {
    // A configuration error: loud, with the verb and resource, so the Role can be fixed (§6.4, §6.6).
    log(log_level::error, fmt::format("FORBIDDEN: the adapter may not {} {}/scale in namespace {}: {}", verb,
                                      target_.ref.resource, target_.namespace_name, e.message));
    return;
  }
  // The api_error message already carries the Audit-Id (cluster-adapter.md §1.5).
  log(log_level::warning, what + "; retrying next tick");
}

void target_controller::emit_event(time_point now, kube::event_type type, const std::string& reason,
                                   const std::string& note) {
  if (!api_.record_event) return;
  if (!events_.allow(key_, reason, limiter_time(now))) return;
  kube::event_record ev;
  ev.regarding.api_version = target_.api_version;
  ev.regarding.kind = target_.kind;
  ev.regarding.name = target_.ref.name;
  ev.type = type;
  ev.reason = reason;
  ev.note = note;
  api_.record_event(ev);
}

}  // namespace scale::adapter
