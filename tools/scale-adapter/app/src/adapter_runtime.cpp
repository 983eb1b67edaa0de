#include <adapter/adapter_runtime.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include <adapter/pod_scraper.hpp>
#include <adapter/request_proxy.hpp>
#include <kube/events.hpp>
#include <kube/leader_election.hpp>
#include <kube/pods.hpp>
#include <kube/scale.hpp>

namespace scale::adapter {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Per-target state: the controller and what feeds it.
struct target_runner {
  target_config target;
  std::unique_ptr<kube::http_client> client;
  std::unique_ptr<kube::pod_list_watch> watch;
  std::unique_ptr<request_proxy> proxy;
  std::optional<pod_scraper> scraper;
  std::unique_ptr<target_controller> controller;
  std::uint16_t proxy_port = 0;

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<demand_signal> signals;
  bool pods_changed = false;
  bool stop = false;

  mutable std::mutex snapshot_mutex;
  target_metrics snapshot;

  std::thread thread;
};

}  // namespace

struct adapter_runtime::impl {
  runtime_options options;
  steady::time_point start = steady::now();
  std::vector<std::unique_ptr<target_runner>> targets;
  std::unique_ptr<admin_server> admin;

  // Leader election: writes are allowed until this steady-clock instant (ns since `start`).
  std::atomic<std::int64_t> lead_until_ns{0};
  std::atomic<bool> role_known{false};
  std::thread election;
  std::mutex election_mutex;
  std::condition_variable election_cv;
  bool election_stop = false;
  bool stopped = false;

  time_point now() const { return time_point{std::chrono::duration_cast<duration>(steady::now() - start)}; }
  steady::time_point to_steady(time_point t) const {
    return start + std::chrono::duration_cast<steady::duration>(t.time_since_epoch());
  }
  void log(log_level level, const std::string& line) const {
    if (options.log) options.log(level, line);
  }
  bool leading() const {
    if (!options.config.leader_election.enabled) return true;
    return now().time_since_epoch().count() < lead_until_ns.load();
  }

  void run_target(target_runner& r);
  void run_election();
};

namespace {

/// The controller's client: few retries, so a tick never blocks long (the next tick retries, §6.4).
kube::client_options controller_client_options(kube::client_options base) {
  base.max_retries = 1;
  base.max_connection_retries = 1;
  base.backoff_cap = std::chrono::milliseconds{1000};
  base.retry_after_cap = std::chrono::seconds{2};
  return base;
}

}  // namespace

void adapter_runtime::impl::run_target(target_runner& r) {
  const duration interval = options.config.decision_interval;
  time_point last = now();
  time_point next_second = detail::ceil_to(last, 1s);
  time_point next_refresh = last;
  bool metrics_missing = false;
  std::uint64_t scrape_failures = 0;
  std::vector<backend> backends;
  std::map<std::string, time_point> first_seen;
  std::string last_scrape_error;
  // Give the pod watch its first LIST (bounded) so the first steps do not hold for lack of pods.
  for (int i = 0; i < 100 && !r.watch->synced(); ++i) {
    std::unique_lock lock(r.mutex);
    if (r.cv.wait_for(lock, 20ms, [&] { return r.stop; })) return;
  }
  for (;;) {
    std::vector<demand_signal> signals;
    {
      std::unique_lock lock(r.mutex);
      time_point deadline = std::min(next_second, next_refresh);
      if (const auto wake = r.controller->wake_at()) deadline = std::min(deadline, *wake);
      r.cv.wait_until(lock, to_steady(deadline), [&] { return r.stop || !r.signals.empty() || r.pods_changed; });
      if (r.stop) return;
      signals.swap(r.signals);
      r.pods_changed = false;
    }
    const time_point t = std::max(now(), last);
    // 1. The proxy's pushes (first request of an idle stretch) at their own time, never before what was fed.
    for (const auto& s : signals) {
      const time_point at = std::clamp(s.at, last, t);
      r.controller->on_requests(at);
      if (s.first_request_stat) r.controller->on_stat(at, *s.first_request_stat, true);
      last = at;
    }
    last = t;
    // 2. Ready pods from the watch; until its first LIST the pods are unknown, so nothing may be decided on them.
    const bool synced = r.watch->synced();
    const auto ready = r.watch->ready_pods();
    const auto all = r.watch->pods();
    if (r.proxy) {
      std::vector<backend> now_backends;
      for (const auto& p : ready) {
        if (!p.ip.empty() && p.port > 0) now_backends.push_back({p.ip, static_cast<std::uint16_t>(p.port)});
      }
      if (now_backends != backends) {
        backends = now_backends;
        r.proxy->set_backends(backends, static_cast<std::size_t>(r.target.container_concurrency));
      }
    }
    // 3. Once a second: the proxy's report (Knative's activator report) or a scrape of the ready pods.
    if (t >= next_second) {
      next_second = detail::ceil_to(t, 1s);
      if (next_second == t) next_second += 1s;
      if (r.proxy) {
        if (const auto stat = r.proxy->take_stat(t)) {
          r.controller->on_stat(t, *stat, false);
          if (stat->request_count > 0 || stat->average_concurrency > 0) r.controller->on_requests(t);
        }
      } else if (r.scraper && !ready.empty()) {
        std::vector<scrape_pod> pods;
        for (const auto& p : ready) {
          const auto [it, inserted] = first_seen.emplace(p.name, t);
          pods.push_back({p.name,
                          metrics_url(p.ip, r.target.scrape.port, r.target.scrape.path), it->second});
        }
        const auto outcome = r.scraper->scrape(pods, t, r.target.revision.stable_window);
        if (!outcome) {
          ++scrape_failures;
          metrics_missing = true;
          if (outcome.error_value().message != last_scrape_error) {
            last_scrape_error = outcome.error_value().message;
            log(log_level::warning, target_key(r.target) + ": scrape failed: " + last_scrape_error);
          }
        } else {
          metrics_missing = false;
          last_scrape_error.clear();
          if (outcome->total) r.controller->on_stat(t, *outcome->total, false);
        }
      } else {
        metrics_missing = false;
      }
    }
    // 4. The decision.
    step_input in;
    in.pods = pod_counts{.ready = static_cast<std::int32_t>(ready.size()),
                         .starting = static_cast<std::int32_t>(all.size() - ready.size()),
                         .existing = static_cast<std::int32_t>(all.size())};
    in.metrics_missing = metrics_missing || !synced;
    in.leading = leading();
    in.refresh_scale = t >= next_refresh;
    if (in.refresh_scale) next_refresh = t + interval;
    r.controller->step(t, in);
    {
      std::lock_guard lock(r.snapshot_mutex);
      r.snapshot.status = r.controller->status();
      r.snapshot.scrape_failures = scrape_failures;
      if (r.proxy) r.snapshot.proxy = r.proxy->counters();
    }
  }
}

void adapter_runtime::impl::run_election() {
  const auto& le = options.config.leader_election;
  auto client = kube::http_client::create(options.rest, controller_client_options(options.client));
  if (!client) {
    log(log_level::error, "leader election: " + client.error_value().message);
    return;
  }
  kube::leader_election_config cfg;
  cfg.identity = le.identity.empty() ? options.default_identity : le.identity;
  const std::string ns = le.lease_namespace.empty() ? options.rest.namespace_name : le.lease_namespace;
  kube::leader_elector elector(**client, ns, le.lease_name, cfg);
  bool was_leading = false;
  for (;;) {
    const bool leads = elector.step(steady::now(), std::chrono::system_clock::now());
    if (leads) {
      // Leading until renew_deadline after this renewal (client-go: stop writing when a renewal is overdue).
      lead_until_ns = (now() + cfg.renew_deadline).time_since_epoch().count();
    }
    if (leads != was_leading || !role_known) {
      log(log_level::info, fmt::format("leader election: {} lease {}/{} as {}", leads ? "holding" : "not holding",
                                       ns, le.lease_name, cfg.identity));
    }
    if (!leads) lead_until_ns = 0;
    was_leading = leads;
    role_known = true;
    std::unique_lock lock(election_mutex);
    if (election_cv.wait_for(lock, cfg.retry_period, [&] { return election_stop; })) break;
  }
  if (was_leading) {
    lead_until_ns = 0;
    (void)elector.release(std::chrono::system_clock::now());
  }
}

result<std::unique_ptr<adapter_runtime>> adapter_runtime::start(runtime_options options) {
  auto state = std::make_unique<impl>();
  state->options = std::move(options);
  impl& s = *state;
  const adapter_config& config = s.options.config;
  if (config.leader_election.enabled) {
    kube::leader_election_config le;
    le.identity = config.leader_election.identity.empty() ? s.options.default_identity : config.leader_election.identity;
    if (const auto v = kube::validate_leader_election(le); !v) return error{"leaderElection: " + v.error_value().message};
  }
  // 1. Every target: its client and one Scale read, bounded in time, so a bad server or target fails the start.
  kube::client_options startup = controller_client_options(s.options.client);
  startup.connect_timeout = std::min<std::chrono::milliseconds>(startup.connect_timeout, s.options.startup_timeout);
  for (const auto& t : config.targets) {
    auto r = std::make_unique<target_runner>();
    r->target = t;
    if (r->target.namespace_name.empty()) r->target.namespace_name = s.options.rest.namespace_name;
    auto client = kube::http_client::create(s.options.rest, startup);
    if (!client) return error{target_key(r->target) + ": " + client.error_value().message};
    const auto scale = kube::get_scale(**client, r->target.namespace_name, r->target.ref);
    if (!scale) {
      const auto& e = scale.error_value();
      if (e.code == 0) {
        return error{fmt::format("cannot reach the API server {}: {}", s.options.rest.server, e.message)};
      }
      return error{fmt::format("target {} ({} {}): {}", target_key(r->target), r->target.kind, r->target.ref.name,
                               e.message)};
    }
    if (scale->selector.empty()) {
      // The HPA refuses such a target too (cluster-adapter.md §1.2): without a selector there are no pods to see.
      return error{"target " + target_key(r->target) + ": its Scale has no status.selector"};
    }
    auto controller_client = kube::http_client::create(s.options.rest, controller_client_options(s.options.client));
    if (!controller_client) return error{controller_client.error_value().message};
    r->client = std::move(controller_client).value();
    // 2. The pod watch on the Scale's selector (§4).
    kube::pod_watch_options wo;
    wo.namespace_name = r->target.namespace_name;
    wo.label_selector = scale->selector;
    wo.port.fixed_port = r->target.port;
    target_runner* raw = r.get();
    wo.on_change = [raw] {
      {
        std::lock_guard lock(raw->mutex);
        raw->pods_changed = true;
      }
      raw->cv.notify_one();
    };
    auto watch = kube::pod_list_watch::start(s.options.rest, wo, s.options.client);
    if (!watch) return error{target_key(r->target) + ": pod watch: " + watch.error_value().message};
    r->watch = std::move(watch).value();
    // 3. Proxy or scraper.
    if (r->target.mode == metrics_mode::proxy) {
      proxy_options po;
      po.listen_address = r->target.proxy.listen_address;
      po.listen_port = r->target.proxy.listen_port;
      po.queue_limit = r->target.proxy.queue_limit;
      po.revision_timeout = r->target.proxy.timeout;
      impl* runtime = &s;
      po.clock = [runtime] { return runtime->now(); };
      po.on_demand = [raw](const demand_signal& d) {
        {
          std::lock_guard lock(raw->mutex);
          raw->signals.push_back(d);
        }
        raw->cv.notify_one();
      };
      auto proxy = request_proxy::start(std::move(po));
      if (!proxy) return error{target_key(r->target) + ": " + proxy.error_value().message};
      r->proxy = std::move(proxy).value();
      r->proxy_port = r->proxy->port();
    } else {
      metrics_source source;
      source.app = r->target.scrape.gauge;
      r->scraper.emplace(source);
    }
    // 4. The controller, on the target's own client.
    const std::string ns = r->target.namespace_name;
    const kube::target_ref ref = r->target.ref;
    const kube::patch_kind patch = config.patch;
    const bool dry_run = config.dry_run;
    kube::http_client* c = r->client.get();
    impl* runtime = &s;
    scale_api api{
        .get_scale = [c, ns, ref] { return kube::get_scale(*c, ns, ref); },
        .set_replicas = [c, ns, ref, patch, dry_run](std::int32_t n) {
          return kube::set_replicas(*c, ns, ref, n, patch, dry_run);
        },
        .record_event =
            [c, ns, runtime](const kube::event_record& ev) {
              const auto done = kube::record_event(*c, ns, ev);
              if (!done) runtime->log(log_level::debug, "event not recorded: " + done.error_value().message);
            },
    };
    r->controller = std::make_unique<target_controller>(r->target, std::move(api), s.options.log, dry_run);
    r->snapshot.namespace_name = r->target.namespace_name;
    r->snapshot.name = r->target.ref.name;
    r->snapshot.mode = r->target.mode == metrics_mode::proxy ? "proxy" : "scrape";
    s.log(log_level::info,
          fmt::format("{}: {} mode, spec.replicas {}, selector {}{}", target_key(r->target), r->snapshot.mode,
                      scale->replicas, scale->selector,
                      r->proxy ? fmt::format(", proxy on port {}", r->proxy_port) : std::string()));
    s.targets.push_back(std::move(r));
  }
  // 5. Threads: leader election, one per target, then the admin server.
  if (config.leader_election.enabled) s.election = std::thread([&s] { s.run_election(); });
  for (auto& r : s.targets) {
    target_runner* raw = r.get();
    r->thread = std::thread([&s, raw] { s.run_target(*raw); });
  }
  auto runtime = std::unique_ptr<adapter_runtime>(new adapter_runtime(std::move(state)));
  adapter_runtime* self = runtime.get();
  auto admin = admin_server::start(runtime->impl_->options.admin_address, config.admin_port,
                                   [self] { return self->metrics(); });
  if (!admin) {
    runtime->stop();
    return admin.error_value();
  }
  runtime->impl_->admin = std::move(admin).value();
  return runtime;
}

adapter_runtime::adapter_runtime(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
adapter_runtime::~adapter_runtime() { stop(); }

std::uint16_t adapter_runtime::proxy_port(std::size_t index) const {
  return index < impl_->targets.size() ? impl_->targets[index]->proxy_port : 0;
}

std::uint16_t adapter_runtime::admin_port() const { return impl_->admin ? impl_->admin->port() : 0; }

adapter_metrics adapter_runtime::metrics() const {
  adapter_metrics m;
  m.leader = impl_->leading();
  bool ready = !impl_->options.config.leader_election.enabled || impl_->role_known.load();
  for (const auto& r : impl_->targets) {
    std::lock_guard lock(r->snapshot_mutex);
    m.targets.push_back(r->snapshot);
    // The proxy's counters are read live (thread-safe); the controller's figures are as of its last step.
    if (r->proxy) m.targets.back().proxy = r->proxy->counters();
    ready = ready && r->snapshot.status.scale_known;
  }
  m.ready = ready;
  return m;
}

void adapter_runtime::stop() {
  impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (s.admin) s.admin->stop();
  for (auto& r : s.targets) {
    {
      std::lock_guard lock(r->mutex);
      r->stop = true;
    }
    r->cv.notify_one();
  }
  for (auto& r : s.targets) {
    if (r->thread.joinable()) r->thread.join();
    if (r->proxy) r->proxy->stop();
    if (r->watch) r->watch->stop();
  }
  {
    std::lock_guard lock(s.election_mutex);
    s.election_stop = true;
  }
  s.election_cv.notify_one();
  if (s.election.joinable()) s.election.join();
}

}  // namespace scale::adapter
