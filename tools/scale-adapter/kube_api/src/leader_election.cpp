#include <kube/leader_election.hpp>

#include <kube/events.hpp>

#include <fmt/format.h>

#include <limits>

namespace scale::kube {
namespace {

using json = nlohmann::json;

}  // namespace

result<leader_election_config> validate_leader_election(leader_election_config config) {
  using std::chrono::seconds;
  if (config.identity.empty()) return error{"leader election: identity must not be empty"};
  if (config.lease_duration <= seconds{0} || config.renew_deadline <= seconds{0} || config.retry_period <= seconds{0})
    return error{"leader election: lease duration, renew deadline and retry period must be > 0"};
  // client-go leaderelection.go NewLeaderElector; JitterFactor = 1.2.
  if (config.lease_duration <= config.renew_deadline)
    return error{fmt::format("leader election: lease duration = {}s, must be greater than renew deadline = {}s",
                             config.lease_duration.count(), config.renew_deadline.count())};
  if (static_cast<double>(config.renew_deadline.count()) <= 1.2 * static_cast<double>(config.retry_period.count()))
    return error{fmt::format("leader election: renew deadline = {}s, must be greater than 1.2 x retry period = {}s",
                             config.renew_deadline.count(), config.retry_period.count())};
  return config;
}

result<lease_record> parse_lease(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return error{"lease: body is not valid JSON"};
  if (!doc.is_object()) return error{"lease: body is not a JSON object"};
  lease_record out;
  const auto metadata = doc.find("metadata");
  if (metadata != doc.end() && metadata->is_object()) {
    const auto rv = metadata->find("resourceVersion");
    if (rv != metadata->end() && rv->is_string()) out.resource_version = rv->get<std::string>();
  }
  const auto spec = doc.find("spec");
  if (spec == doc.end() || spec->is_null()) return out;
  if (!spec->is_object()) return error{"lease: spec is not an object"};
  const auto text_field = [&](const char* key, std::string& into) -> bool {
    const auto it = spec->find(key);
    if (it == spec->end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    into = it->get<std::string>();
    return true;
  };
  const auto int_field = [&](const char* key, std::int32_t& into) -> bool {
    const auto it = spec->find(key);
    if (it == spec->end() || it->is_null()) return true;
    if (!it->is_number_integer()) return false;
    const auto v = it->get<std::int64_t>();
    if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) return false;
    into = static_cast<std::int32_t>(v);
    return true;
  };
  if (!text_field("holderIdentity", out.holder_identity)) return error{"lease: spec.holderIdentity is not a string"};
  if (!text_field("acquireTime", out.acquire_time)) return error{"lease: spec.acquireTime is not a string"};
  if (!text_field("renewTime", out.renew_time)) return error{"lease: spec.renewTime is not a string"};
  if (!int_field("leaseDurationSeconds", out.lease_duration_seconds))
    return error{"lease: spec.leaseDurationSeconds is not an integer in [0, 2147483647]"};
  if (!int_field("leaseTransitions", out.lease_transitions))
    return error{"lease: spec.leaseTransitions is not an integer in [0, 2147483647]"};
  return out;
}

json lease_body(std::string_view namespace_name, std::string_view name, const lease_record& record) {
  json metadata = {{"name", name}, {"namespace", namespace_name}};
  if (!record.resource_version.empty()) metadata["resourceVersion"] = record.resource_version;
  json spec = {{"holderIdentity", record.holder_identity},
               {"leaseDurationSeconds", record.lease_duration_seconds},
               {"leaseTransitions", record.lease_transitions}};
  if (!record.acquire_time.empty()) spec["acquireTime"] = record.acquire_time;
  if (!record.renew_time.empty()) spec["renewTime"] = record.renew_time;
  return {{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}, {"metadata", metadata}, {"spec", spec}};
}

lease_action leader_election_state::observe(const std::optional<lease_record>& lease,
                                            std::chrono::steady_clock::time_point now,
                                            std::chrono::system_clock::time_point wall_now) {
  const std::string stamp = format_micro_time(wall_now);
  lease_record mine;
  mine.holder_identity = config_.identity;
  mine.lease_duration_seconds = static_cast<std::int32_t>(config_.lease_duration.count());
  mine.acquire_time = stamp;
  mine.renew_time = stamp;
  // 1. No lease yet: create it.
  if (!lease) return {lease_action::kind::create, mine};
  // 2. Note when *we* saw the record change: our monotonic clock, never the holder's timestamps (§6.5).
  if (!observed_ || !observed_->same_spec(*lease)) {
    observed_ = *lease;
    observed_at_ = now;
  }
  observed_->resource_version = lease->resource_version;
  // 3. Someone else holds it and we saw it renewed less than lease_duration ago: wait.
  if (!lease->holder_identity.empty() && lease->holder_identity != config_.identity &&
      now < observed_at_ + config_.lease_duration) {
    holder_ = false;
    return {lease_action::kind::wait, {}};
  }
  // 4. Take it or renew it, with the resourceVersion read (a PUT is a compare-and-swap).
  if (lease->holder_identity == config_.identity) {
    mine.acquire_time = lease->acquire_time;
    mine.lease_transitions = lease->lease_transitions;
  } else {
    mine.lease_transitions = lease->lease_transitions + 1;
  }
  mine.resource_version = lease->resource_version;
  return {lease_action::kind::update, mine};
}

void leader_election_state::write_succeeded(const lease_record& stored, std::chrono::steady_clock::time_point now) {
  observed_ = stored;
  observed_at_ = now;
  holder_ = stored.holder_identity == config_.identity;
  if (holder_) renewed_at_ = now;
}

bool leader_election_state::leading(std::chrono::steady_clock::time_point now) const {
  // §6.5: a leader that could not renew within renew_deadline must stop writing at once.
  return holder_ && now < renewed_at_ + config_.renew_deadline;
}

std::optional<lease_record> leader_election_state::release(std::chrono::system_clock::time_point wall_now) {
  if (!holder_ || !observed_) return std::nullopt;
  holder_ = false;
  lease_record out = *observed_;
  // As client-go's release: no holder, 1 s lease, so the next candidate need not wait a full lease duration.
  out.holder_identity.clear();
  out.lease_duration_seconds = 1;
  out.renew_time = format_micro_time(wall_now);
  out.acquire_time = out.renew_time;
  return out;
}

leader_elector::leader_elector(http_client& client, std::string namespace_name, std::string lease_name,
                               leader_election_config config)
    : client_(client),
      namespace_name_(std::move(namespace_name)),
      lease_name_(std::move(lease_name)),
      state_(std::move(config)) {}

bool leader_elector::step(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now) {
  const std::string collection = fmt::format("/apis/coordination.k8s.io/v1/namespaces/{}/leases", namespace_name_);
  const std::string path = collection + "/" + lease_name_;
  request get;
  get.path = path;
  auto got = client_.send(get);
  if (!got) {
    last_error_ = got.error_value();
    return state_.leading(now);
  }
  std::optional<lease_record> lease;
  if (got->status == 200) {
    auto parsed = parse_lease(got->body);
    if (!parsed) {
      last_error_ = local_error(fmt::format("GET {}: {}", path, parsed.error_value().message));
      return state_.leading(now);
    }
    lease = std::move(parsed).value();
  } else if (got->status != 404) {
    last_error_ = make_api_error("GET " + path, got->status, got->body, got->audit_id);
    return state_.leading(now);
  }
  const lease_action action = state_.observe(lease, now, wall_now);
  if (action.what == lease_action::kind::wait) {
    last_error_.reset();
    return state_.leading(now);
  }
  request write;
  write.method = action.what == lease_action::kind::create ? "POST" : "PUT";
  write.path = action.what == lease_action::kind::create ? collection : path;
  write.content_type = "application/json";
  write.body = lease_body(namespace_name_, lease_name_, action.record).dump();
  auto written = client_.call(write);
  if (!written) {
    last_error_ = written.error_value();  // 409: someone else won the race; look again next period
    return state_.leading(now);
  }
  auto stored = parse_lease(written->body);
  if (!stored) {
    last_error_ = local_error(fmt::format("{} {}: {}", write.method, write.path, stored.error_value().message));
    return state_.leading(now);
  }
  last_error_.reset();
  state_.write_succeeded(*stored, now);
  return state_.leading(now);
}

api_result<std::monostate> leader_elector::release(std::chrono::system_clock::time_point wall_now) {
  auto record = state_.release(wall_now);
  if (!record) return std::monostate{};
  request write;
  write.method = "PUT";
  write.path = fmt::format("/apis/coordination.k8s.io/v1/namespaces/{}/leases/{}", namespace_name_, lease_name_);
  write.content_type = "application/json";
  write.body = lease_body(namespace_name_, lease_name_, *record).dump();
  auto r = client_.call(write);
  if (!r) return r.error_value();
  return std::monostate{};
}

}  // namespace scale::kube
