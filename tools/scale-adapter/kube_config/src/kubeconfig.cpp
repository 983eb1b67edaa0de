// kubeconfig parsing, merging and resolution (cluster-adapter.md §2), in-cluster configuration (§3).
#include <kube/kubeconfig.hpp>

#include <libscale/configmap_yaml.hpp>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace scale::kube {
namespace {

namespace fs = std::filesystem;

// Nesting kept when converting free-form values (JSON input, exec extensions); deeper input is an error, so
// no recursion here can exhaust the stack.
constexpr int max_depth = 64;
// Values kept from one exec extension.
constexpr std::size_t max_extension_nodes = 10000;

std::string in_quotes(std::string_view s) { return scale::detail::go_quote(s); }

std::string errno_text(int code) { return std::generic_category().message(code); }

/// Strict standard base64 as Go's encoding/json reads []byte: padding required, CR and LF ignored.
std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t accumulator = 0;
  int bits = 0;
  std::size_t symbols = 0, padding = 0;
  for (const char c : text) {
    if (c == '\r' || c == '\n') continue;
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    else if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    else if (c >= '0' && c <= '9') value = c - '0' + 52;
    else if (c == '+') value = 62;
    else if (c == '/') value = 63;
    else if (c == '=') {
      ++padding;
      ++symbols;
      continue;
    }
    if (value < 0 || padding > 0) return std::nullopt;
    ++symbols;
    accumulator = (accumulator << 6) | std::uint32_t(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  if (symbols % 4 != 0 || padding > 2) return std::nullopt;
  // Leftover bits must be zero padding of the last byte (Go rejects non-canonical endings too).
  if ((accumulator & ((1u << bits) - 1)) != 0) return std::nullopt;
  if ((padding == 1 && bits != 2) || (padding == 2 && bits != 4) || (padding == 0 && bits != 0)) return std::nullopt;
  return out;
}

result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{errno_text(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return error{"read failed"};
  return text.str();
}

/// JSON converted to a YAML node, so both inputs go through one field reader.
result<YAML::Node> json_to_yaml(const nlohmann::json& value, int depth) {
  if (depth > max_depth) return error{"nested more than " + std::to_string(max_depth) + " levels deep"};
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, item] : value.items()) {
        auto converted = json_to_yaml(item, depth + 1);
        if (!converted) return converted;
        map[key] = *converted;
      }
      return map;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node sequence(YAML::NodeType::Sequence);
      for (const auto& item : value) {
        auto converted = json_to_yaml(item, depth + 1);
        if (!converted) return converted;
        sequence.push_back(*converted);
      }
      return sequence;
    }
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded: return YAML::Node(YAML::NodeType::Null);
    case nlohmann::json::value_t::string: return YAML::Node(value.get<std::string>());
    default: return YAML::Node(value.dump());
  }
}

/// A YAML node as JSON (for exec extensions, handed to the plugin verbatim). `budget` bounds the nodes
/// visited: YAML aliases can make a short text expand exponentially ("billion laughs").
result<nlohmann::json> yaml_to_json(const YAML::Node& node, int depth, std::size_t& budget) {
  if (depth > max_depth) return error{"nested more than " + std::to_string(max_depth) + " levels deep"};
  if (budget == 0) return error{"more than " + std::to_string(max_extension_nodes) + " values"};
  --budget;
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) {
        const YAML::Node key = entry.first;
        const YAML::Node value = entry.second;
        if (!key.IsScalar()) return error{"keys must be strings"};
        auto converted = yaml_to_json(value, depth + 1, budget);
        if (!converted) return converted;
        object[key.Scalar()] = std::move(*converted);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node) {
        auto converted = yaml_to_json(item, depth + 1, budget);
        if (!converted) return converted;
        array.push_back(std::move(*converted));
      }
      return array;
    }
    case YAML::NodeType::Scalar: {
      // Plain scalars that read as JSON literals (numbers, booleans) keep their type; quoted ones are strings.
      if (node.Tag() != "!") {
        auto literal = nlohmann::json::parse(node.Scalar(), nullptr, false);
        if (!literal.is_discarded() && !literal.is_structured() && !literal.is_string()) return literal;
      }
      return nlohmann::json(node.Scalar());
    }
    default: return nlohmann::json(nullptr);
  }
}

/// Reads the fields of one file; every error starts with "kubeconfig <file>: <field path>: ".
class field_reader {
 public:
  field_reader(std::string file, fs::path dir) : file_(std::move(file)), dir_(std::move(dir)) {}

  error fail(const std::string& path, const std::string& what) const {
    return error{"kubeconfig " + file_ + ": " + path + ": " + what};
  }

  /// A string field; absent or null is empty. Messages never quote a value: it may be a token or a key.
  result<std::string> string(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    if (!node || node.IsNull()) return std::string{};
    if (!node.IsScalar()) return fail(join(path, key), "expected a string, got " + kind(node));
    return node.Scalar();
  }

  result<bool> boolean(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    if (!node || node.IsNull()) return false;
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      return fail(join(path, key), "expected true or false");
    }
    return value;
  }

  result<std::vector<std::string>> strings(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    std::vector<std::string> out;
    if (!node || node.IsNull()) return out;
    if (!node.IsSequence()) return fail(join(path, key), "expected a list of strings, got " + kind(node));
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      if (!item.IsScalar()) {
        return fail(join(path, key) + "[" + std::to_string(i) + "]", "expected a string, got " + kind(item));
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  /// A `*-data` field: base64 of PEM, decoded.
  result<std::string> base64(const YAML::Node& parent, const char* key, const std::string& path) const {
    auto text = string(parent, key, path);
    if (!text || text->empty()) return text;
    auto decoded = base64_decode(*text);
    if (!decoded) return fail(join(path, key), "not valid base64");
    return std::move(*decoded);
  }

  /// A path field, resolved against the file's directory (clientcmd loader.go ResolveLocalPaths).
  result<std::string> file_path(const YAML::Node& parent, const char* key, const std::string& path) const {
    auto text = string(parent, key, path);
    if (!text || text->empty()) return text;
    return resolve(*text);
  }

  std::string resolve(const std::string& path) const {
    const fs::path p(path);
    if (p.is_absolute()) return path;
    return (dir_ / p).lexically_normal().string();
  }

  /// A map field; absent or null gives a null node, anything but a map is an error.
  result<YAML::Node> map(const YAML::Node& parent, const char* key, const std::string& path) const {
    const YAML::Node node = parent[key];
    if (!node || node.IsNull()) return YAML::Node(YAML::NodeType::Null);
    if (!node.IsMap()) return fail(join(path, key), "expected a map, got " + kind(node));
    return node;
  }

  /// `path.key`, or `key` at the top level.
  static std::string join(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

  static std::string kind(const YAML::Node& node) { return std::string(scale::detail::yaml_kind_name(node)); }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  fs::path dir_;
};

#define LIBSCALE_KUBE_TRY(variable, expression)      \
  auto variable##_result = (expression);   \
  if (!variable##_result) return variable##_result.error_value(); \
  auto variable = std::move(variable##_result).value()

result<kubeconfig_cluster> parse_cluster(const field_reader& r, const YAML::Node& c, const std::string& path) {
  kubeconfig_cluster out;
  LIBSCALE_KUBE_TRY(server, r.string(c, "server", path));
  LIBSCALE_KUBE_TRY(ca, r.file_path(c, "certificate-authority", path));
  LIBSCALE_KUBE_TRY(ca_data, r.base64(c, "certificate-authority-data", path));
  LIBSCALE_KUBE_TRY(insecure, r.boolean(c, "insecure-skip-tls-verify", path));
  LIBSCALE_KUBE_TRY(server_name, r.string(c, "tls-server-name", path));
  LIBSCALE_KUBE_TRY(proxy, r.string(c, "proxy-url", path));
  out.server = std::move(server);
  out.certificate_authority = std::move(ca);
  out.certificate_authority_data = std::move(ca_data);
  out.insecure_skip_tls_verify = insecure;
  out.tls_server_name = std::move(server_name);
  out.proxy_url = std::move(proxy);
  // The one cluster extension we read: the exec plugin's per-cluster config (client-go exec.go clusterConfig).
  const YAML::Node extensions = c["extensions"];
  if (extensions && extensions.IsSequence()) {
    for (std::size_t i = 0; i < extensions.size(); ++i) {
      const YAML::Node item = extensions[i];
      if (!item.IsMap()) continue;
      const YAML::Node name = item["name"];
      if (!name || !name.IsScalar() || name.Scalar() != "client.authentication.k8s.io/exec") continue;
      std::size_t budget = max_extension_nodes;
      auto json = yaml_to_json(item["extension"], 0, budget);
      if (!json) return r.fail(path + ".extensions[" + std::to_string(i) + "].extension", json.error_value().message);
      out.exec_extension_json = json->dump();
    }
  }
  return out;
}

result<exec_config> parse_exec(const field_reader& r, const YAML::Node& e, const std::string& path) {
  exec_config out;
  LIBSCALE_KUBE_TRY(api_version, r.string(e, "apiVersion", path));
  LIBSCALE_KUBE_TRY(command, r.string(e, "command", path));
  LIBSCALE_KUBE_TRY(args, r.strings(e, "args", path));
  LIBSCALE_KUBE_TRY(hint, r.string(e, "installHint", path));
  LIBSCALE_KUBE_TRY(provide, r.boolean(e, "provideClusterInfo", path));
  LIBSCALE_KUBE_TRY(mode, r.string(e, "interactiveMode", path));
  out.api_version = std::move(api_version);
  // clientcmd ResolveLocalPaths: a command naming a path is relative to the file; a bare name goes via PATH.
  out.command = command.find('/') != std::string::npos ? r.resolve(command) : command;
  out.args = std::move(args);
  out.install_hint = std::move(hint);
  out.provide_cluster_info = provide;
  out.interactive_mode = std::move(mode);
  const YAML::Node env = e["env"];
  if (env && !env.IsNull()) {
    if (!env.IsSequence()) return r.fail(path + ".env", "expected a list, got " + field_reader::kind(env));
    for (std::size_t i = 0; i < env.size(); ++i) {
      const std::string item_path = path + ".env[" + std::to_string(i) + "]";
      const YAML::Node item = env[i];
      if (!item.IsMap()) return r.fail(item_path, "expected a map with name and value");
      LIBSCALE_KUBE_TRY(name, r.string(item, "name", item_path));
      LIBSCALE_KUBE_TRY(value, r.string(item, "value", item_path));
      if (name.empty()) return r.fail(item_path + ".name", "missing");
      out.env.push_back({std::move(name), std::move(value)});
    }
  }
  return out;
}

result<kubeconfig_user> parse_user(const field_reader& r, const YAML::Node& u, const std::string& path) {
  kubeconfig_user out;
  LIBSCALE_KUBE_TRY(token, r.string(u, "token", path));
  LIBSCALE_KUBE_TRY(token_file, r.file_path(u, "tokenFile", path));
  LIBSCALE_KUBE_TRY(cert, r.file_path(u, "client-certificate", path));
  LIBSCALE_KUBE_TRY(cert_data, r.base64(u, "client-certificate-data", path));
  LIBSCALE_KUBE_TRY(key, r.file_path(u, "client-key", path));
  LIBSCALE_KUBE_TRY(key_data, r.base64(u, "client-key-data", path));
  LIBSCALE_KUBE_TRY(username, r.string(u, "username", path));
  LIBSCALE_KUBE_TRY(password, r.string(u, "password", path));
  LIBSCALE_KUBE_TRY(as, r.string(u, "as", path));
  LIBSCALE_KUBE_TRY(as_groups, r.strings(u, "as-groups", path));
  LIBSCALE_KUBE_TRY(as_uid, r.string(u, "as-uid", path));
  LIBSCALE_KUBE_TRY(auth_provider, r.map(u, "auth-provider", path));
  LIBSCALE_KUBE_TRY(exec, r.map(u, "exec", path));
  out.token = std::move(token);
  out.token_file = std::move(token_file);
  out.client_certificate = std::move(cert);
  out.client_certificate_data = std::move(cert_data);
  out.client_key = std::move(key);
  out.client_key_data = std::move(key_data);
  out.username = std::move(username);
  out.password = std::move(password);
  out.impersonate = impersonation{std::move(as), std::move(as_groups), std::move(as_uid)};
  const YAML::Node extra = u["as-user-extra"];
  out.has_impersonate_extra = extra && !extra.IsNull() && !(extra.IsMap() && extra.size() == 0);
  if (auth_provider.IsMap()) {
    LIBSCALE_KUBE_TRY(name, r.string(auth_provider, "name", path + ".auth-provider"));
    out.auth_provider = std::move(name);
  }
  if (exec.IsMap()) {
    LIBSCALE_KUBE_TRY(parsed, parse_exec(r, exec, path + ".exec"));
    out.exec = std::move(parsed);
  }
  return out;
}

result<kubeconfig_context> parse_context(const field_reader& r, const YAML::Node& c, const std::string& path) {
  kubeconfig_context out;
  LIBSCALE_KUBE_TRY(cluster, r.string(c, "cluster", path));
  LIBSCALE_KUBE_TRY(user, r.string(c, "user", path));
  LIBSCALE_KUBE_TRY(ns, r.string(c, "namespace", path));
  out.cluster = std::move(cluster);
  out.user = std::move(user);
  out.namespace_name = std::move(ns);
  return out;
}

/// Walks one of `clusters`, `users`, `contexts`: a list of {name, <body_key>: map}.
template <class Entry, class Parse>
result<std::vector<Entry>> parse_list(const field_reader& r, const YAML::Node& root, const char* list_key,
                                      const char* body_key, Parse parse) {
  std::vector<Entry> out;
  const YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) return r.fail(list_key, "expected a list, got " + field_reader::kind(list));
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = std::string(list_key) + "[" + std::to_string(i) + "]";
    const YAML::Node item = list[i];
    if (!item.IsMap()) return r.fail(path, "expected a map, got " + field_reader::kind(item));
    LIBSCALE_KUBE_TRY(name, r.string(item, "name", path));
    if (name.empty()) return r.fail(path + ".name", "missing");
    if (!seen.insert(name).second) return r.fail(path + ".name", "duplicate name " + in_quotes(name));
    LIBSCALE_KUBE_TRY(body, r.map(item, body_key, path));
    auto entry = body.IsMap() ? parse(r, body, path + "." + body_key) : result<Entry>(Entry{});
    if (!entry) return entry.error_value();
    Entry& parsed = entry.value();
    parsed.name = std::move(name);
    parsed.source_file = r.file();
    parsed.index = i;
    out.push_back(std::move(parsed));
  }
  return out;
}

result<kubeconfig> parse_root(const field_reader& r, const YAML::Node& root) {
  kubeconfig out;
  if (!root || root.IsNull()) return out;  // An empty file is an empty config, as in client-go.
  if (!root.IsMap()) return error{"kubeconfig " + r.file() + ": expected a map, got " + field_reader::kind(root)};
  LIBSCALE_KUBE_TRY(kind, r.string(root, "kind", ""));
  if (!kind.empty() && kind != "Config") return r.fail("kind", in_quotes(kind) + ", expected Config");
  LIBSCALE_KUBE_TRY(api_version, r.string(root, "apiVersion", ""));
  if (!api_version.empty() && api_version != "v1") return r.fail("apiVersion", in_quotes(api_version) + ", expected v1");
  LIBSCALE_KUBE_TRY(current, r.string(root, "current-context", ""));
  LIBSCALE_KUBE_TRY(clusters, parse_list<kubeconfig_cluster>(r, root, "clusters", "cluster", parse_cluster));
  LIBSCALE_KUBE_TRY(users, parse_list<kubeconfig_user>(r, root, "users", "user", parse_user));
  LIBSCALE_KUBE_TRY(contexts, parse_list<kubeconfig_context>(r, root, "contexts", "context", parse_context));
  out.clusters = std::move(clusters);
  out.users = std::move(users);
  out.contexts = std::move(contexts);
  out.current_context = std::move(current);
  if (!out.current_context.empty()) out.current_context_file = r.file();
  return out;
}

template <class Entry>
const Entry* find_named(const std::vector<Entry>& entries, std::string_view name) {
  for (const auto& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

/// The contents of a `*-data` field, else of the file its path field names.
result<std::string> data_or_file(const std::string& data, const std::string& path, const std::string& where,
                                 const char* field) {
  if (!data.empty()) return data;
  if (path.empty()) return std::string{};
  auto text = read_whole_file(path);
  if (!text) return error{where + ": " + field + " " + path + ": cannot read: " + text.error_value().message};
  if (text->empty()) return error{where + ": " + field + " " + path + ": empty file"};
  return text;
}

/// `host:port` as Go's net.JoinHostPort: an IPv6 host in brackets.
std::string join_host_port(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos && !host.starts_with('[')) return "[" + host + "]:" + port;
  return host + ":" + port;
}

std::string trimmed(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n\v\f";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(ws) - first + 1));
}

}  // namespace

const kubeconfig_cluster* kubeconfig::find_cluster(std::string_view name) const { return find_named(clusters, name); }
const kubeconfig_user* kubeconfig::find_user(std::string_view name) const { return find_named(users, name); }
const kubeconfig_context* kubeconfig::find_context(std::string_view name) const { return find_named(contexts, name); }

result<kubeconfig> parse_kubeconfig(std::string_view yaml_text, const std::string& file_path) {
  const field_reader reader(file_path, fs::path(file_path).parent_path());
  const std::string prefix = "kubeconfig " + file_path + ": ";
  try {
    const std::string text(yaml_text);
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') {
      const auto json = nlohmann::json::parse(text, nullptr, false);
      if (json.is_discarded()) return error{prefix + "not valid JSON"};
      auto root = json_to_yaml(json, 0);
      if (!root) return error{prefix + root.error_value().message};
      return parse_root(reader, *root);
    }
    // Count documents with a bounded loop first: yaml-cpp 0.7's LoadAll can loop forever on malformed input
    // (yaml-cpp issue #1040), as libscale's ConfigMap reader found.
    {
      std::istringstream in(text);
      YAML::Parser parser(in);
      scale::detail::ignore_yaml_events ignore;
      int documents = 0;
      while (documents < 2 && parser.HandleNextDocument(ignore)) ++documents;
      if (documents > 1) return error{prefix + "expected one YAML document, found 2 or more"};
      if (documents == 0) return kubeconfig{};
    }
    return parse_root(reader, YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return error{"kubeconfig " + scale::detail::yaml_where(file_path, e.mark) + "not valid YAML: " + e.msg};
  } catch (const std::exception& e) {
    return error{prefix + e.what()};
  }
}

result<kubeconfig> read_kubeconfig_file(const std::string& file_path) {
  auto text = read_whole_file(file_path);
  if (!text) return error{"kubeconfig " + file_path + ": cannot read: " + text.error_value().message};
  return parse_kubeconfig(*text, file_path);
}

void merge_kubeconfig(kubeconfig& into, const kubeconfig& next) {
  // clientcmd loader.go: the first file to set a name (or current-context) wins; later ones never change it.
  for (const auto& c : next.clusters) {
    if (!into.find_cluster(c.name)) into.clusters.push_back(c);
  }
  for (const auto& u : next.users) {
    if (!into.find_user(u.name)) into.users.push_back(u);
  }
  for (const auto& c : next.contexts) {
    if (!into.find_context(c.name)) into.contexts.push_back(c);
  }
  if (into.current_context.empty() && !next.current_context.empty()) {
    into.current_context = next.current_context;
    into.current_context_file = next.current_context_file;
  }
}

result<rest_config> rest_config_for_context(const kubeconfig& config, const std::string& files,
                                            const std::string& context_override,
                                            const std::string& namespace_override,
                                            const credential_options& options) {
  const std::string prefix = "kubeconfig " + files + ": ";
  // 1. The context: --context, else current-context.
  const std::string& context_name = context_override.empty() ? config.current_context : context_override;
  if (context_name.empty()) return error{prefix + "current-context is not set and no context was given"};
  const kubeconfig_context* context = config.find_context(context_name);
  if (context == nullptr) {
    if (!context_override.empty()) return error{prefix + "context " + in_quotes(context_name) + " does not exist"};
    return error{prefix + "current-context " + in_quotes(context_name) + " does not exist"};
  }
  // 2. Its cluster and user (client-go validation: both must exist when named; no user = anonymous).
  if (context->cluster.empty()) return error{prefix + "context " + in_quotes(context_name) + " names no cluster"};
  const kubeconfig_cluster* cluster = config.find_cluster(context->cluster);
  if (cluster == nullptr) {
    return error{prefix + "cluster " + in_quotes(context->cluster) + " was not found for context " +
                 in_quotes(context_name)};
  }
  const kubeconfig_user* user = nullptr;
  if (!context->user.empty()) {
    user = config.find_user(context->user);
    if (user == nullptr) {
      return error{prefix + "user " + in_quotes(context->user) + " was not found for context " +
                   in_quotes(context_name)};
    }
  }

  // 3. The cluster: server URL and TLS.
  const std::string cluster_where = "kubeconfig " + cluster->source_file + ": cluster " + in_quotes(cluster->name);
  rest_config out;
  out.server = cluster->server;
  if (out.server.empty()) return error{cluster_where + ": server is missing"};
  if (!out.server.starts_with("https://") && !out.server.starts_with("http://")) {
    return error{cluster_where + ": server " + in_quotes(out.server) + " is not an http:// or https:// URL"};
  }
  while (out.server.ends_with('/')) out.server.pop_back();
  const bool has_ca = !cluster->certificate_authority.empty() || !cluster->certificate_authority_data.empty();
  if (has_ca && cluster->insecure_skip_tls_verify) {
    // client-go transport/transport.go, cluster-adapter.md §2.
    return error{cluster_where + ": specifying a root certificates file with the insecure flag is not allowed"};
  }
  LIBSCALE_KUBE_TRY(ca_pem, data_or_file(cluster->certificate_authority_data, cluster->certificate_authority, cluster_where,
                                "certificate-authority"));
  out.tls.ca_pem = std::move(ca_pem);
  out.tls.insecure_skip_verify = cluster->insecure_skip_tls_verify;
  out.tls.server_name = cluster->tls_server_name;
  if (!cluster->proxy_url.empty()) {
    // client-go rest.Config.Proxy via kubeconfig's proxy-url accepts these schemes only.
    const std::string& p = cluster->proxy_url;
    if (!p.starts_with("http://") && !p.starts_with("https://") && !p.starts_with("socks5://")) {
      return error{cluster_where + ": proxy-url " + in_quotes(p) + " is not an http://, https:// or socks5:// URL"};
    }
    out.proxy_url = p;
  }

  // 4. The namespace: --namespace, else the context's, else "default".
  out.namespace_name = !namespace_override.empty()         ? namespace_override
                       : !context->namespace_name.empty() ? context->namespace_name
                                                          : "default";
  out.origin = "kubeconfig " + context->source_file + " (context " + context_name + ")";
  if (user == nullptr) return out;

  // 5. The user: refuse what we do not support, then pick the credential source.
  const std::string user_where = "kubeconfig " + user->source_file + ": user " + in_quotes(user->name);
  if (!user->username.empty() || !user->password.empty()) {
    return error{user_where + ": username/password (basic auth) is not supported; the API server removed it in 1.19"};
  }
  if (user->auth_provider) {
    return error{user_where + ": auth-provider " + in_quotes(*user->auth_provider) + " is unsupported; use exec"};
  }
  if (user->has_impersonate_extra) return error{user_where + ": as-user-extra is not supported"};
  const bool has_cert = !user->client_certificate.empty() || !user->client_certificate_data.empty();
  const bool has_key = !user->client_key.empty() || !user->client_key_data.empty();
  if (has_cert && !has_key) return error{user_where + ": client-certificate is given without client-key"};
  if (has_key && !has_cert) return error{user_where + ": client-key is given without client-certificate"};
  out.impersonate = user->impersonate;
  credentials base;
  LIBSCALE_KUBE_TRY(cert, data_or_file(user->client_certificate_data, user->client_certificate, user_where, "client-certificate"));
  LIBSCALE_KUBE_TRY(key, data_or_file(user->client_key_data, user->client_key, user_where, "client-key"));
  base.client_cert_pem = std::move(cert);
  base.client_key_pem = std::move(key);
  if (!user->token_file.empty()) {
    // client-go reads tokenFile over token whenever it can; we read it now so a bad path fails at startup.
    auto source = std::make_shared<token_file_source>(user->token_file, options, base);
    if (auto first = source->current(); !first) return error{user_where + ": " + first.error_value().message};
    out.auth = std::move(source);
  } else if (!user->token.empty() || has_cert) {
    base.bearer_token = user->token;
    out.auth = std::make_shared<static_credentials>(std::move(base));
  } else if (user->exec) {
    // client-go exec.go UpdateTransportConfig: a static token or certificate wins, so exec is used only here.
    const std::string exec_where = "kubeconfig " + user->source_file + ": users[" + std::to_string(user->index) +
                                   "].user.exec";
    if (auto valid = validate_exec_config(*user->exec, exec_where); !valid) return valid.error_value();
    exec_cluster_info info{out.server,          out.tls.ca_pem,     out.tls.server_name, out.tls.insecure_skip_verify,
                           cluster->proxy_url, cluster->exec_extension_json};
    out.auth = std::make_shared<exec_credential_source>(*user->exec, std::move(info), options);
  }
  return out;
}

result<rest_config> in_cluster_config(const in_cluster_inputs& inputs, const credential_options& options) {
  // client-go rest.InClusterConfig, cluster-adapter.md §3.
  if (inputs.service_host.empty() || inputs.service_port.empty()) {
    return error{"not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"};
  }
  const fs::path dir(inputs.service_account_dir);
  rest_config out;
  out.server = "https://" + join_host_port(inputs.service_host, inputs.service_port);
  const std::string ca_path = (dir / "ca.crt").string();
  auto ca = read_whole_file(ca_path);
  if (!ca) return error{"in-cluster: " + ca_path + ": cannot read: " + ca.error_value().message};
  if (ca->empty()) return error{"in-cluster: " + ca_path + ": empty file"};
  out.tls.ca_pem = std::move(*ca);
  // Never read once and kept: the kubelet rotates the projected token (§3).
  auto source = std::make_shared<token_file_source>((dir / "token").string(), options);
  if (auto first = source->current(); !first) return error{"in-cluster: " + first.error_value().message};
  out.auth = std::move(source);
  if (!inputs.pod_namespace.empty()) {
    out.namespace_name = inputs.pod_namespace;
  } else if (auto ns = read_whole_file((dir / "namespace").string()); ns && !trimmed(*ns).empty()) {
    out.namespace_name = trimmed(*ns);
  }
  out.origin = "in-cluster";
  return out;
}

load_options load_options_from_environment() {
  const auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string{} : std::string(value);
  };
  load_options out;
  if (const char* kubeconfig_env = std::getenv("KUBECONFIG"); kubeconfig_env != nullptr) {
    out.kubeconfig_env = kubeconfig_env;
  }
  out.home = env("HOME");
  out.in_cluster_fallback = true;
  out.in_cluster.service_host = env("KUBERNETES_SERVICE_HOST");
  out.in_cluster.service_port = env("KUBERNETES_SERVICE_PORT");
  out.in_cluster.pod_namespace = env("POD_NAMESPACE");
  return out;
}

result<rest_config> load_rest_config(const load_options& options) {
  // 1. Which files: --kubeconfig (must exist), else each existing file of KUBECONFIG, else ~/.kube/config.
  std::vector<std::string> candidates;
  bool must_exist = false;
  if (!options.explicit_path.empty()) {
    candidates.push_back(options.explicit_path);
    must_exist = true;
  } else if (options.kubeconfig_env && !options.kubeconfig_env->empty()) {
    std::string_view list = *options.kubeconfig_env;
    while (!list.empty()) {
      const auto colon = list.find(':');
      const std::string file(list.substr(0, colon));
      list = colon == std::string_view::npos ? std::string_view{} : list.substr(colon + 1);
      // clientcmd deduplicates the list and skips empty entries.
      if (!file.empty() && std::find(candidates.begin(), candidates.end(), file) == candidates.end()) {
        candidates.push_back(file);
      }
    }
  } else if (!options.home.empty()) {
    candidates.push_back((fs::path(options.home) / ".kube" / "config").string());
  }

  // 2. Read and merge them in order.
  kubeconfig merged;
  std::string found;
  for (const auto& file : candidates) {
    std::error_code ec;
    if (!must_exist && !fs::exists(file, ec)) continue;  // clientcmd: missing files in the list are skipped.
    auto parsed = read_kubeconfig_file(file);
    if (!parsed) return parsed.error_value();
    merge_kubeconfig(merged, *parsed);
    if (!found.empty()) found += ':';
    found += file;
  }

  // 3. No file at all: the in-cluster configuration, when allowed (client-go's deferred loading).
  if (found.empty()) {
    std::string looked;
    if (candidates.empty()) looked = "no KUBECONFIG and no HOME";
    if (candidates.size() == 1) looked = candidates[0] + " does not exist";
    if (candidates.size() > 1) {
      looked = "none of ";
      for (std::size_t i = 0; i < candidates.size(); ++i) looked += (i == 0 ? "" : ", ") + candidates[i];
      looked += " exists";
    }
    if (!options.in_cluster_fallback) return error{"no kubeconfig: " + looked};
    auto in_cluster = in_cluster_config(options.in_cluster, options.credential);
    if (!in_cluster) return error{"no kubeconfig (" + looked + ") and " + in_cluster.error_value().message};
    if (!options.namespace_name.empty()) in_cluster.value().namespace_name = options.namespace_name;
    return in_cluster;
  }
  return rest_config_for_context(merged, found, options.context, options.namespace_name, options.credential);
}

}  // namespace scale::kube

#undef LIBSCALE_KUBE_TRY
