#include <adapter/adapter_config.hpp>

#include <cerrno>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include <libscale/configmap_yaml.hpp>
#include <yaml-cpp/yaml.h>

namespace scale::adapter {

namespace {

/// A parse failure carried out of the nested readers (caught in parse_adapter_config, never escapes).
struct config_failure {
  std::string message;
};

/// Where a node is: "source:line: " (1-based line) or "source: ".
std::string where(std::string_view source, const YAML::Node& node) {
  std::string w(source);
  const YAML::Mark mark = node.Mark();
  if (!mark.is_null()) {
    w += ':';
    w += std::to_string(mark.line + 1);
  }
  w += ": ";
  return w;
}

/// Reads one map with a known set of keys; the context ("targets[0] (hello)") prefixes every message.
class map_reader {
 public:
  map_reader(std::string_view source, YAML::Node node, std::string context)
      : source_(source), node_(std::move(node)), context_(std::move(context)) {
    if (!node_.IsMap()) fail(node_, "must be a map");
  }

  /// Fails on the first key not in `known`.
  void only(std::initializer_list<std::string_view> known) const {
    for (const auto& entry : node_) {
      const YAML::Node key = entry.first;
      const std::string name = key.IsScalar() ? key.Scalar() : std::string("?");
      bool ok = false;
      for (const auto k : known) ok = ok || k == name;
      if (!ok) fail(key, "unknown key " + detail::go_quote(name));
    }
  }

  YAML::Node get(std::string_view key) const { return node_[std::string(key)]; }

  std::optional<std::string> text(std::string_view key) const {
    const YAML::Node n = get(key);
    if (!n || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) fail(n, std::string(key) + " must be a string");
    return n.Scalar();
  }

  std::optional<bool> boolean(std::string_view key) const {
    const auto t = text(key);
    if (!t) return std::nullopt;
    if (*t == "true") return true;
    if (*t == "false") return false;
    fail(get(key), std::string(key) + " = " + *t + ", must be true or false");
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const auto t = text(key);
    if (!t) return std::nullopt;
    const auto [status, value] = detail::parse_go_int(*t, 64);
    if (status != detail::int_parse_status::ok || value < lo || value > hi) {
      fail(get(key), std::string(key) + " = " + *t + ", must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "] range");
    }
    return value;
  }

  std::optional<duration> positive_duration(std::string_view key) const {
    const auto t = text(key);
    if (!t) return std::nullopt;
    const auto d = parse_go_duration(*t);
    if (!d) fail(get(key), std::string(key) + ": " + d.error_value().message);
    if (*d <= duration::zero()) fail(get(key), std::string(key) + " = " + *t + ", must be positive");
    return *d;
  }

  /// A map of scalar values (config:, annotations:, labels:).
  std::optional<string_map> strings(std::string_view key) const {
    const YAML::Node n = get(key);
    if (!n || n.IsNull()) return std::nullopt;
    if (!n.IsMap()) fail(n, std::string(key) + " must be a map of strings");
    string_map out;
    for (const auto& entry : n) {
      const YAML::Node k = entry.first;
      const YAML::Node v = entry.second;
      if (!k.IsScalar() || !v.IsScalar()) {
        fail(k, std::string(key) + ": value of " + (k.IsScalar() ? detail::go_quote(k.Scalar()) : "?") +
                    " must be a string");
      }
      if (!out.emplace(k.Scalar(), v.Scalar()).second) {
        fail(k, std::string(key) + ": duplicate key " + detail::go_quote(k.Scalar()));
      }
    }
    return out;
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    throw config_failure{where(source_, at) + context_ + (context_.empty() ? "" : ": ") + what};
  }
  [[noreturn]] void fail(const std::string& what) const { fail(node_, what); }

  const std::string& context() const { return context_; }

 private:
  std::string_view source_;
  YAML::Node node_;
  std::string context_;
};

std::string dns_name_error(std::string_view value) {
  if (value.empty()) return "must not be empty";
  for (const char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return "= " + std::string(value) + ", must be a lowercase DNS name";
    }
  }
  return {};
}

/// The scale path's own check of the names (no '/', '?', '%' in a path segment).
std::optional<std::string> scale_path_check(const target_config& t) {
  const auto path = kube::scale_path(t.namespace_name.empty() ? "default" : t.namespace_name, t.ref);
  if (!path) return path.error_value().message;
  return std::nullopt;
}

target_config read_target(std::string_view source, const YAML::Node& node, std::size_t index) {
  std::string context = "targets[" + std::to_string(index) + "]";
  if (node.IsMap() && node["name"] && node["name"].IsScalar()) context += " (" + node["name"].Scalar() + ")";
  const map_reader r(source, node, context);
  r.only({"namespace", "apiVersion", "kind", "resource", "name", "port", "mode", "containerConcurrency", "proxy",
          "scrape", "config", "annotations"});
  target_config t;
  const auto name = r.text("name");
  if (!name) r.fail("name is required");
  if (const auto e = dns_name_error(*name); !e.empty()) r.fail(r.get("name"), "name " + e);
  t.ref.name = *name;
  if (const auto ns = r.text("namespace")) {
    if (const auto e = dns_name_error(*ns); !e.empty()) r.fail(r.get("namespace"), "namespace " + e);
    t.namespace_name = *ns;
  }
  t.api_version = r.text("apiVersion").value_or("apps/v1");
  t.kind = r.text("kind").value_or("Deployment");
  t.ref.api_version = t.api_version;
  if (const auto res = r.text("resource")) {
    t.ref.resource = *res;
  } else {
    const auto res_of_kind = kube::resource_for_kind(t.kind);
    if (!res_of_kind) r.fail(r.get("kind"), "kind: " + res_of_kind.error_value().message);
    t.ref.resource = *res_of_kind;
  }
  if (const auto p = scale_path_check(t)) r.fail(*p);
  t.port = static_cast<int>(r.integer("port", 0, 65535).value_or(0));
  if (const auto mode = r.text("mode")) {
    if (*mode == "proxy") {
      t.mode = metrics_mode::proxy;
    } else if (*mode == "scrape") {
      t.mode = metrics_mode::scrape;
    } else {
      r.fail(r.get("mode"), "mode = " + *mode + ", must be proxy or scrape");
    }
  }
  t.container_concurrency =
      static_cast<std::int32_t>(r.integer("containerConcurrency", 0, 1000).value_or(0));
  if (const YAML::Node p = r.get("proxy"); p && !p.IsNull()) {
    const map_reader pr(source, p, context + ": proxy");
    pr.only({"listenAddress", "listenPort", "queueLimit", "timeout"});
    t.proxy.listen_address = pr.text("listenAddress").value_or(t.proxy.listen_address);
    t.proxy.listen_port = static_cast<std::uint16_t>(pr.integer("listenPort", 0, 65535).value_or(8080));
    t.proxy.queue_limit = static_cast<std::size_t>(pr.integer("queueLimit", 1, 1'000'000).value_or(10'000));
    if (const auto d = pr.positive_duration("timeout")) {
      t.proxy.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    }
  }
  if (const YAML::Node s = r.get("scrape"); s && !s.IsNull()) {
    const map_reader sr(source, s, context + ": scrape");
    sr.only({"port", "path", "gauge"});
    t.scrape.port = static_cast<std::uint16_t>(sr.integer("port", 1, 65535).value_or(9090));
    t.scrape.path = sr.text("path").value_or("/metrics");
    if (t.scrape.path.empty() || t.scrape.path.front() != '/') sr.fail(sr.get("path"), "path must start with /");
    if (const YAML::Node g = sr.get("gauge"); g && !g.IsNull()) {
      const map_reader gr(source, g, context + ": scrape.gauge");
      gr.only({"metric", "labels", "meaning"});
      app_gauge gauge;
      const auto metric = gr.text("metric");
      if (!metric || metric->empty()) gr.fail("metric is required");
      gauge.metric = *metric;
      for (const auto& [k, v] : gr.strings("labels").value_or(string_map{})) gauge.labels.push_back({k, v});
      const std::string meaning = gr.text("meaning").value_or("concurrency");
      if (meaning == "concurrency") {
        gauge.meaning = gauge_meaning::concurrency;
      } else if (meaning == "rps") {
        gauge.meaning = gauge_meaning::rps;
      } else {
        gr.fail(gr.get("meaning"), "meaning = " + meaning + ", must be concurrency or rps");
      }
      t.scrape.gauge = std::move(gauge);
    }
  }
  t.config = r.strings("config").value_or(string_map{});
  t.annotations = r.strings("annotations").value_or(string_map{});

  // Knative's own reader and validation; its messages are kept as they are, prefixed with where they apply.
  auto autoscaler = parse_autoscaler_config(t.config);
  if (!autoscaler) r.fail(r.get("config"), "config: " + autoscaler.error_value().message);
  t.autoscaler = *autoscaler;
  string_map annotations = t.annotations;
  const std::string tbc_key = "autoscaling.knative.dev/target-burst-capacity";
  if (t.mode == metrics_mode::proxy) {
    // Proxy mode is Knative with target-burst-capacity -1: the activator (the adapter) stays in the path, its
    // pushed stats are the whole load and there is no scraper (kpa-spec.md §6.4).
    const bool annotated = annotations.contains(tbc_key);
    const double tbc = t.autoscaler.target_burst_capacity;
    if (!annotated && t.config.contains("target-burst-capacity") && tbc != -1) {
      r.fail(r.get("config"), "config: target-burst-capacity = " + t.config.at("target-burst-capacity") +
                                  ", must be -1 in proxy mode (the proxy is always in the request path)");
    }
    if (!annotated) annotations[tbc_key] = "-1";
  }
  auto revision = resolve_revision(t.autoscaler, annotations, t.container_concurrency);
  if (!revision) r.fail(r.get("annotations"), "annotations: " + revision.error_value().message);
  t.revision = *revision;
  if (t.mode == metrics_mode::proxy && t.revision.target_burst_capacity != -1) {
    r.fail(r.get("annotations"), "annotations: " + tbc_key + " = " + annotations.at(tbc_key) +
                                     ", must be -1 in proxy mode (the proxy is always in the request path)");
  }
  if (t.mode == metrics_mode::scrape && t.revision.target_burst_capacity == -1) {
    // With -1 libscale reads an empty window as zeros (no scraper), so a failed scrape would look like no load.
    r.fail("target-burst-capacity -1 is not allowed in scrape mode (a failed scrape would read as zero load)");
  }
  return t;
}

}  // namespace

std::string target_key(const target_config& target) {
  return (target.namespace_name.empty() ? std::string("default") : target.namespace_name) + "/" + target.ref.name;
}

result<adapter_config> parse_adapter_config(std::string_view yaml_text, std::string_view source_name) {
  try {
    const std::string text(yaml_text);
    {
      // Counted with a bounded loop first: yaml-cpp 0.7's LoadAll never returns on some malformed input (as
      // libscale's configmap_yaml.hpp does).
      std::istringstream in(text);
      YAML::Parser parser(in);
      scale::detail::ignore_yaml_events ignore;
      int documents = 0;
      while (documents < 2 && parser.HandleNextDocument(ignore)) ++documents;
      if (documents != 1) {
        return error{std::string(source_name) + ": expected one YAML document, found " +
                     (documents == 0 ? std::string("0") : std::string("2 or more"))};
      }
    }
    const YAML::Node root = YAML::Load(text);
    const map_reader r(source_name, root, "");
    r.only({"decisionInterval", "dryRun", "patchType", "adminPort", "leaderElection", "targets"});
    adapter_config c;
    if (const auto d = r.positive_duration("decisionInterval")) {
      c.decision_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      if (c.decision_interval < std::chrono::milliseconds{100}) {
        r.fail(r.get("decisionInterval"), "decisionInterval = " + *r.text("decisionInterval") +
                                              ", must be at least 100ms");
      }
    }
    c.dry_run = r.boolean("dryRun").value_or(false);
    if (const auto p = r.text("patchType")) {
      if (*p == "json") {
        c.patch = kube::patch_kind::json_patch;
      } else if (*p == "merge") {
        c.patch = kube::patch_kind::merge_patch;
      } else {
        r.fail(r.get("patchType"), "patchType = " + *p + ", must be json or merge");
      }
    }
    c.admin_port = static_cast<std::uint16_t>(r.integer("adminPort", 0, 65535).value_or(9095));
    if (const YAML::Node le = r.get("leaderElection"); le && !le.IsNull()) {
      const map_reader lr(source_name, le, "leaderElection");
      lr.only({"enabled", "leaseName", "leaseNamespace", "identity"});
      c.leader_election.enabled = lr.boolean("enabled").value_or(false);
      c.leader_election.lease_name = lr.text("leaseName").value_or("scale-adapter");
      if (const auto e = dns_name_error(c.leader_election.lease_name); !e.empty()) {
        lr.fail(lr.get("leaseName"), "leaseName " + e);
      }
      c.leader_election.lease_namespace = lr.text("leaseNamespace").value_or("");
      c.leader_election.identity = lr.text("identity").value_or("");
    }
    const YAML::Node targets = r.get("targets");
    if (!targets || !targets.IsSequence() || targets.size() == 0) {
      r.fail(targets ? targets : root, "targets must be a non-empty list");
    }
    std::set<std::string> seen;
    std::set<std::pair<std::string, std::uint16_t>> ports;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      target_config t = read_target(source_name, targets[i], i);
      const std::string key = t.namespace_name + "/" + t.ref.resource + "/" + t.ref.name;
      if (!seen.insert(key).second) {
        throw config_failure{where(source_name, targets[i]) + "targets[" + std::to_string(i) + "] (" + t.ref.name +
                             "): the same target is listed twice"};
      }
      if (t.mode == metrics_mode::proxy && t.proxy.listen_port != 0 &&
          !ports.insert({t.proxy.listen_address, t.proxy.listen_port}).second) {
        throw config_failure{where(source_name, targets[i]) + "targets[" + std::to_string(i) + "] (" + t.ref.name +
                             "): proxy listenPort " + std::to_string(t.proxy.listen_port) +
                             " is used by another target"};
      }
      c.targets.push_back(std::move(t));
    }
    return c;
  } catch (const config_failure& f) {
    return error{f.message};
  } catch (const YAML::Exception& e) {
    std::string w(source_name);
    if (!e.mark.is_null()) w += ":" + std::to_string(e.mark.line + 1);
    return error{w + ": " + e.msg};
  } catch (const std::exception& e) {
    return error{std::string(source_name) + ": " + e.what()};
  }
}

result<adapter_config> read_adapter_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int code = errno;
    return error{"cannot read " + file.string() + ": " + std::generic_category().message(code)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_adapter_config(text.str(), file.string());
}

kpa_policy_config make_policy_config(const target_config& target, kpa_start start) {
  // The adapter's target takes traffic (through the proxy, or directly in scrape mode): reachable.
  return make_kpa_policy_config(target.revision, start);
}

}  // namespace scale::adapter
