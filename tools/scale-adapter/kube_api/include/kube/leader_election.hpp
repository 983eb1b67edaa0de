#pragma once
/// Leader election on a coordination.k8s.io/v1 Lease as client-go's tools/leaderelection does it
/// (cluster-adapter.md §6.5): a pure state machine (observe the lease + monotonic now → action) and a small
/// driver that does the GET / POST / PUT with an http_client.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <kube/api_status.hpp>
#include <kube/http_client.hpp>

namespace scale::kube {

/// Timings and identity; defaults are the controller-manager's (§6.5: 15 s / 10 s / 2 s).
struct leader_election_config {
  /// Who we are (unique per adapter replica, e.g. the pod name).
  std::string identity;
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};

  bool operator==(const leader_election_config&) const = default;
};

/// client-go's checks: identity set, all durations > 0, leaseDuration > renewDeadline > 1.2 × retryPeriod.
result<leader_election_config> validate_leader_election(leader_election_config config);

/// The Lease's spec (and resourceVersion) as a value.
struct lease_record {
  std::string holder_identity;
  std::int32_t lease_duration_seconds = 0;
  /// MicroTime text as the server holds it; compared, never parsed (times of other machines are not ours).
  std::string acquire_time;
  std::string renew_time;
  std::int32_t lease_transitions = 0;
  /// metadata.resourceVersion: a PUT with it is a compare-and-swap (409 = lost the race, §1.4/§6.5).
  std::string resource_version;

  bool operator==(const lease_record&) const = default;
  /// Equal apart from resource_version (what "the record changed" means).
  bool same_spec(const lease_record& o) const {
    return holder_identity == o.holder_identity && lease_duration_seconds == o.lease_duration_seconds &&
           acquire_time == o.acquire_time && renew_time == o.renew_time && lease_transitions == o.lease_transitions;
  }
};

/// Parses a Lease body; missing spec fields read as empty / 0.
result<lease_record> parse_lease(std::string_view json);

/// The Lease object to POST (create) or PUT (update; carries the record's resourceVersion when set).
nlohmann::json lease_body(std::string_view namespace_name, std::string_view name, const lease_record& record);

/// What to do after looking at the lease.
struct lease_action {
  enum class kind {
    /// Someone else holds a live lease: look again after retry_period.
    wait,
    /// No lease yet: POST `record`.
    create,
    /// Take or renew: PUT `record` (with the resourceVersion read).
    update,
  };
  kind what = kind::wait;
  lease_record record;

  bool operator==(const lease_action&) const = default;
};

/// client-go's tryAcquireOrRenew as a pure state machine. Another holder's lease counts as live while its
/// record was *seen by us to change* less than lease_duration ago, timed on our own monotonic clock (§6.5);
/// we lead until renew_deadline passes without a successful write.
class leader_election_state {
 public:
  /// `config` must have passed validate_leader_election.
  explicit leader_election_state(leader_election_config config) : config_(std::move(config)) {}

  /// The lease as just read (nullopt = 404) at monotonic `now`; `wall_now` only stamps acquireTime/renewTime.
  lease_action observe(const std::optional<lease_record>& lease, std::chrono::steady_clock::time_point now,
                       std::chrono::system_clock::time_point wall_now);
  /// The create/update succeeded; `stored` is the server's answer.
  void write_succeeded(const lease_record& stored, std::chrono::steady_clock::time_point now);
  /// Whether we may write scale at `now`: we hold the lease and renewed it less than renew_deadline ago.
  bool leading(std::chrono::steady_clock::time_point now) const;
  /// The record that gives the lease up on shutdown (holderIdentity cleared, as ReleaseOnCancel); nullopt when
  /// we do not hold it. Stops leading.
  std::optional<lease_record> release(std::chrono::system_clock::time_point wall_now);

  const leader_election_config& config() const { return config_; }

 private:
  leader_election_config config_;
  std::optional<lease_record> observed_;
  std::chrono::steady_clock::time_point observed_at_{};
  bool holder_ = false;
  std::chrono::steady_clock::time_point renewed_at_{};
};

/// Drives a leader_election_state against the API: one step() every retry_period.
class leader_elector {
 public:
  leader_elector(http_client& client, std::string namespace_name, std::string lease_name,
                 leader_election_config config);
  /// GET the lease, decide, write; returns whether we lead afterwards. API errors (409 lost race included)
  /// are kept in last_error() and count as a failed attempt.
  bool step(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now);
  bool leading(std::chrono::steady_clock::time_point now) const { return state_.leading(now); }
  /// Gives the lease up (PUT with holderIdentity cleared) when we hold it.
  api_result<std::monostate> release(std::chrono::system_clock::time_point wall_now);
  const std::optional<api_error>& last_error() const { return last_error_; }

 private:
  http_client& client_;
  std::string namespace_name_;
  std::string lease_name_;
  leader_election_state state_;
  std::optional<api_error> last_error_;
};

}  // namespace scale::kube
