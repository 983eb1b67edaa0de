#include <kube/pods.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace scale::kube {
namespace {

using json = nlohmann::json;

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string string_member(const json& object, const char* key) {
  const json* v = member(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string{};
}

int port_value(const json* v) {
  if (v == nullptr) return 0;
  std::int64_t port = 0;
  if (v->is_number_integer()) {
    port = v->get<std::int64_t>();
  } else if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    if (ec != std::errc{} || end != s.data() + s.size()) return 0;
  }
  return port >= 1 && port <= 65535 ? static_cast<int>(port) : 0;
}

int pod_port(const json& pod, const pod_port_rule& rule) {
  if (rule.fixed_port > 0) return rule.fixed_port;
  const json* metadata = member(pod, "metadata");
  if (!rule.annotation.empty() && metadata != nullptr) {
    if (const json* annotations = member(*metadata, "annotations"))
      if (const int port = port_value(member(*annotations, rule.annotation.c_str())); port > 0) return port;
  }
  const json* spec = member(pod, "spec");
  const json* containers = spec != nullptr ? member(*spec, "containers") : nullptr;
  if (containers == nullptr || !containers->is_array() || containers->empty()) return 0;
  const json* ports = member((*containers)[0], "ports");
  if (ports == nullptr || !ports->is_array() || ports->empty()) return 0;
  return port_value(member((*ports)[0], "containerPort"));
}

}  // namespace

bool pod_is_ready(const json& pod) {
  const json* metadata = member(pod, "metadata");
  const json* status = member(pod, "status");
  if (metadata == nullptr || status == nullptr) return false;
  // Terminating pods stay Running for a while: a deletionTimestamp means "not ready" (§4.3).
  if (member(*metadata, "deletionTimestamp") != nullptr) return false;
  if (string_member(*status, "phase") != "Running") return false;
  const json* conditions = member(*status, "conditions");
  if (conditions == nullptr || !conditions->is_array()) return false;
  for (const json& c : *conditions)
    if (string_member(c, "type") == "Ready") return string_member(c, "status") == "True";
  return false;
}

result<pod_info> parse_pod(const json& pod, const pod_port_rule& port) {
  if (!pod.is_object()) return error{"pod: object is not a JSON object"};
  const json* metadata = member(pod, "metadata");
  if (metadata == nullptr || !metadata->is_object()) return error{"pod: metadata is missing or not an object"};
  pod_info out;
  out.name = string_member(*metadata, "name");
  if (out.name.empty()) return error{"pod: metadata.name is missing or not a string"};
  if (const json* status = member(pod, "status")) out.ip = string_member(*status, "podIP");
  out.port = pod_port(pod, port);
  out.ready = pod_is_ready(pod);
  return out;
}

result<pod_list> parse_pod_list(std::string_view text, const pod_port_rule& port) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return error{"pod list: body is not valid JSON"};
  if (!doc.is_object()) return error{"pod list: body is not a JSON object"};
  pod_list out;
  if (const json* metadata = member(doc, "metadata")) {
    out.resource_version = string_member(*metadata, "resourceVersion");
    out.continue_token = string_member(*metadata, "continue");
  }
  if (out.resource_version.empty()) return error{"pod list: metadata.resourceVersion is missing"};
  const json* items = member(doc, "items");
  if (items == nullptr) return out;  // an empty list may omit items
  if (!items->is_array()) return error{"pod list: items is not an array"};
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto pod = parse_pod((*items)[i], port);
    if (!pod) return error{fmt::format("pod list: items[{}]: {}", i, pod.error_value().message)};
    out.pods.push_back(std::move(*pod));
  }
  return out;
}

result<watch_event> parse_watch_event(std::string_view line, const pod_port_rule& port) {
  const json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return error{"watch event: line is not valid JSON"};
  if (!doc.is_object()) return error{"watch event: line is not a JSON object"};
  const std::string type = string_member(doc, "type");
  const json* object = member(doc, "object");
  if (object == nullptr || !object->is_object()) return error{"watch event: object is missing or not an object"};
  watch_event out;
  if (const json* metadata = member(*object, "metadata")) out.resource_version = string_member(*metadata, "resourceVersion");
  if (type == "ERROR") {
    out.type = watch_event::kind::error;
    auto status = parse_status(object->dump());
    if (!status) return error{"watch event: ERROR object: " + status.error_value().message};
    out.status = std::move(*status);
    return out;
  }
  if (type == "BOOKMARK") {
    out.type = watch_event::kind::bookmark;
    if (out.resource_version.empty()) return error{"watch event: BOOKMARK without metadata.resourceVersion"};
    return out;
  }
  if (type == "ADDED") {
    out.type = watch_event::kind::added;
  } else if (type == "MODIFIED") {
    out.type = watch_event::kind::modified;
  } else if (type == "DELETED") {
    out.type = watch_event::kind::deleted;
  } else {
    return error{"watch event: type must be ADDED, MODIFIED, DELETED, BOOKMARK or ERROR"};
  }
  auto pod = parse_pod(*object, port);
  if (!pod) return error{"watch event: " + pod.error_value().message};
  out.pod = std::move(*pod);
  return out;
}

bool line_splitter::append(std::string_view bytes) {
  if (start_ > 0 && start_ * 2 > buffer_.size()) {  // drop consumed lines now and then, not on every call
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
  const auto newline = buffer_.find('\n', start_);
  const std::size_t pending = (newline == std::string::npos ? buffer_.size() : newline) - start_;
  return pending <= max_;
}

std::optional<std::string> line_splitter::next_line() {
  const auto newline = buffer_.find('\n', start_);
  if (newline == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(start_, newline - start_);
  start_ = newline + 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void detail::stop_signal::sleep(std::chrono::nanoseconds d) {
  std::unique_lock lock(mutex);
  cv.wait_for(lock, d, [this] { return stopped.load(); });
}

void detail::stop_signal::raise() {
  {
    std::lock_guard lock(mutex);
    stopped = true;
  }
  cv.notify_all();
}

result<std::unique_ptr<pod_list_watch>> pod_list_watch::start(rest_config config, pod_watch_options options,
                                                             client_options client) {
  const std::string ns = options.namespace_name;
  if (ns.empty() || ns.find_first_of("/?%#") != std::string::npos)
    return error{fmt::format("namespace = \"{}\", must be a DNS name", ns)};
  auto stop = std::make_shared<detail::stop_signal>();
  if (!client.time.sleep) client.time.sleep = [stop](std::chrono::nanoseconds d) { stop->sleep(d); };
  auto http = http_client::create(std::move(config), std::move(client));
  if (!http) return http.error_value();
  std::unique_ptr<pod_list_watch> watcher(new pod_list_watch(std::move(options), stop));
  watcher->client_ = std::move(http).value();
  watcher->path_ = fmt::format("/api/v1/namespaces/{}/pods", ns);
  watcher->thread_ = std::thread([w = watcher.get()] { w->run(); });
  return watcher;
}

pod_list_watch::pod_list_watch(pod_watch_options options, std::shared_ptr<detail::stop_signal> stop)
    : options_(std::move(options)), stop_(std::move(stop)) {}

pod_list_watch::~pod_list_watch() { stop(); }

void pod_list_watch::stop() {
  stop_->raise();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::vector<pod_info> pod_list_watch::ready_pods() const {
  std::lock_guard lock(mutex_);
  std::vector<pod_info> out;
  for (const auto& [name, pod] : cache_)
    if (pod.ready) out.push_back(pod);
  return out;
}

std::vector<pod_info> pod_list_watch::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<pod_info> out;
  for (const auto& [name, pod] : cache_) out.push_back(pod);
  return out;
}

bool pod_list_watch::synced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

std::optional<api_error> pod_list_watch::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::uint64_t pod_list_watch::list_count() const {
  std::lock_guard lock(mutex_);
  return lists_;
}

bool pod_list_watch::wait_until(const std::function<bool(const std::vector<pod_info>&)>& done,
                                std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] {
    std::vector<pod_info> ready;
    for (const auto& [name, pod] : cache_)
      if (pod.ready) ready.push_back(pod);
    return done(ready);
  });
}

void pod_list_watch::changed() {
  cv_.notify_all();
  if (options_.on_change) options_.on_change();
}

void pod_list_watch::fail(api_error e) {
  {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(e);
  }
  cv_.notify_all();
}

bool pod_list_watch::list() {
  std::map<std::string, pod_info> fresh;
  std::string continue_token;
  std::string rv;
  do {
    request req;
    req.path = path_;
    if (!options_.label_selector.empty()) req.query.emplace_back("labelSelector", options_.label_selector);
    req.query.emplace_back("limit", "500");  // §4.5: large lists come in pages
    if (!continue_token.empty()) req.query.emplace_back("continue", continue_token);
    req.cancel = &stop_->stopped;
    auto r = client_->call(req);
    if (!r) {
      fail(r.error_value());
      return false;
    }
    auto page = parse_pod_list(r->body, options_.port);
    if (!page) {
      fail(local_error(fmt::format("GET {}: {}", path_, page.error_value().message)));
      return false;
    }
    for (auto& pod : page->pods) fresh[pod.name] = std::move(pod);
    continue_token = page->continue_token;
    rv = page->resource_version;
  } while (!continue_token.empty() && !stop_->stopped);
  {
    // The relist result replaces the cache wholesale: nothing from before a 410 survives (§4.5).
    std::lock_guard lock(mutex_);
    cache_ = std::move(fresh);
    rv_ = rv;
    synced_ = true;
    last_error_.reset();
    ++lists_;
  }
  changed();
  return true;
}

pod_list_watch::watch_end pod_list_watch::watch() {
  request req;
  req.path = path_;
  if (!options_.label_selector.empty()) req.query.emplace_back("labelSelector", options_.label_selector);
  req.query.emplace_back("watch", "1");
  req.query.emplace_back("resourceVersion", rv_);
  req.query.emplace_back("allowWatchBookmarks", "true");
  req.query.emplace_back("timeoutSeconds", std::to_string(options_.watch_timeout.count()));
  req.timeout = options_.watch_timeout + std::chrono::seconds{30};
  req.cancel = &stop_->stopped;
  line_splitter lines;
  std::optional<watch_end> end;
  const std::function<bool(std::string_view)> on_data = [&](std::string_view chunk) {
    if (!lines.append(chunk)) {
      fail(local_error(fmt::format("watch {}: an event line is longer than 16 MiB", path_)));
      end = watch_end::failed;
      return false;
    }
    while (auto line = lines.next_line()) {
      if (line->empty()) continue;
      auto event = parse_watch_event(*line, options_.port);
      if (!event) {
        fail(local_error(fmt::format("watch {}: {}", path_, event.error_value().message)));
        end = watch_end::failed;
        return false;
      }
      if (event->type == watch_event::kind::error) {
        // §4.5: a too-old watch fails inside the 200 stream as ERROR with a 410 Status (Gone / Expired).
        const auto& s = event->status;
        if (s.code == 410 || s.reason == "Gone" || s.reason == "Expired") {
          end = watch_end::gone;
        } else {
          fail(api_error{s.code, s.reason,
                         fmt::format("watch {}: ERROR event {} {}: {}", path_, s.code, s.reason, s.message), "",
                         s.causes});
          end = watch_end::failed;
        }
        return false;
      }
      {
        std::lock_guard lock(mutex_);
        if (!event->resource_version.empty()) rv_ = event->resource_version;
        if (event->type == watch_event::kind::added || event->type == watch_event::kind::modified) {
          cache_[event->pod.name] = event->pod;
        } else if (event->type == watch_event::kind::deleted) {
          cache_.erase(event->pod.name);
        }
      }
      if (event->type != watch_event::kind::bookmark) changed();
    }
    return !stop_->stopped;
  };
  auto r = client_->stream(req, on_data);
  if (end) return *end;
  if (!r) {
    if (stop_->stopped) return watch_end::eof;
    fail(r.error_value());
    return watch_end::failed;
  }
  if (r->status == 410) return watch_end::gone;
  if (r->status < 200 || r->status > 299) {
    fail(make_api_error("GET " + path_ + " (watch)", r->status, r->body, r->audit_id));
    return watch_end::failed;
  }
  return watch_end::eof;  // the server ended the watch (timeoutSeconds): resume from rv_
}

void pod_list_watch::run() {
  int failures = 0;
  const auto backoff = [&] {
    const auto wait = std::min<std::chrono::milliseconds>(options_.retry_max, options_.retry_min * (1LL << std::min(failures, 20)));
    ++failures;
    stop_->sleep(wait);
  };
  while (!stop_->stopped) {
    if (!list()) {
      backoff();
      continue;
    }
    while (!stop_->stopped) {
      const watch_end end = watch();
      if (end == watch_end::eof) {
        failures = 0;
        continue;
      }
      if (end == watch_end::failed) backoff();
      break;  // gone: LIST again at once; failed: LIST again after the backoff
    }
  }
}

}  // namespace scale::kube
