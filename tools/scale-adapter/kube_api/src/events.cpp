#include <kube/events.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <ctime>

namespace scale::kube {

std::string event_name(std::string_view object_name, std::uint64_t unique) {
  // A name is at most 253 characters; keep room for ".{16 hex}".
  return fmt::format("{}.{:016x}", object_name.substr(0, 253 - 17), unique);
}

std::string format_micro_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto micros = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::int64_t seconds = micros / 1'000'000;
  std::int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    seconds -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, fraction);
}

nlohmann::json make_event(std::string_view namespace_name, const event_record& event, const event_source& source,
                          std::chrono::system_clock::time_point now, std::uint64_t unique) {
  nlohmann::json regarding = {{"apiVersion", event.regarding.api_version},
                              {"kind", event.regarding.kind},
                              {"name", event.regarding.name},
                              {"namespace", namespace_name}};
  if (!event.regarding.uid.empty()) regarding["uid"] = event.regarding.uid;
  std::string note = event.note.substr(0, 1024);
  // Do not cut a UTF-8 sequence in half: drop continuation bytes left at the end, then their lead byte.
  if (note.size() < event.note.size()) {
    while (!note.empty() && (static_cast<unsigned char>(note.back()) & 0xC0) == 0x80) note.pop_back();
    if (!note.empty() && (static_cast<unsigned char>(note.back()) & 0x80) != 0) note.pop_back();
  }
  return {{"apiVersion", "events.k8s.io/v1"},
          {"kind", "Event"},
          {"metadata", {{"name", event_name(event.regarding.name, unique)}, {"namespace", namespace_name}}},
          {"eventTime", format_micro_time(now)},
          {"reportingController", source.controller},
          {"reportingInstance", source.instance},
          {"action", event.action},
          {"reason", event.reason},
          {"note", note},
          {"type", event.type == event_type::normal ? "Normal" : "Warning"},
          {"regarding", regarding}};
}

api_result<std::monostate> record_event(http_client& client, std::string_view namespace_name,
                                        const event_record& event, const event_source& source) {
  if (namespace_name.empty() || namespace_name.find_first_of("/?%#") != std::string_view::npos)
    return local_error(fmt::format("namespace = \"{}\", must be a DNS name", namespace_name));
  static std::atomic<std::uint64_t> counter{0};
  const auto now = std::chrono::system_clock::now();
  // Unique per process and call: nanoseconds (as client-go's "%x" of UnixNano) mixed with a counter.
  const auto nanos = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  const std::uint64_t unique = nanos + (counter.fetch_add(1) << 48);
  request req;
  req.method = "POST";
  req.path = fmt::format("/apis/events.k8s.io/v1/namespaces/{}/events", namespace_name);
  req.content_type = "application/json";
  req.body = make_event(namespace_name, event, source, now, unique).dump();
  auto r = client.call(req);
  if (!r) return r.error_value();
  return std::monostate{};
}

bool event_rate_limiter::allow(std::string_view object, std::string_view reason,
                               std::chrono::steady_clock::time_point now) {
  auto key = std::pair<std::string, std::string>(object, reason);
  auto [it, inserted] = buckets_.try_emplace(std::move(key));
  bucket& b = it->second;
  if (inserted) {
    b.tokens = burst_;
    b.last = now;
  } else if (now > b.last) {
    const double per_second = 1.0 / std::chrono::duration<double>(refill_).count();
    b.tokens = std::min<double>(burst_, b.tokens + std::chrono::duration<double>(now - b.last).count() * per_second);
    b.last = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace scale::kube
