// Credential sources: static values, cached token files and exec plugins (cluster-adapter.md §2, §3).
#include <kube/credentials.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace scale::kube {
namespace {

constexpr std::string_view whitespace = " \t\r\n\v\f";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(whitespace);
  return s.substr(first, last - first + 1);
}

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

std::string errno_text(int code) { return std::generic_category().message(code); }

/// Standard base64 with padding, as Go encodes []byte in JSON.
std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                   std::uint32_t(std::uint8_t(bytes[i + 2]));
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

/// The file's whole content, or an errno-based message.
result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{errno_text(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return error{"read failed"};
  return text.str();
}

/// Replaces every occurrence of `secret` in `text`: a plugin may echo a token on stderr.
std::string redact(std::string text, std::string_view secret) {
  if (secret.size() < 4) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "[redacted]");
  }
  return text;
}

}  // namespace

// ---- token_file_source ----

token_file_source::token_file_source(std::string path, credential_options options, credentials base)
    : path_(std::move(path)), options_(std::move(options)), base_(std::move(base)) {}

result<credentials> token_file_source::read_locked() {
  auto text = read_file(path_);
  if (!text) return error{"token file " + path_ + ": cannot read: " + text.error_value().message};
  const std::string_view token = trim(*text);
  if (token.empty()) return error{"token file " + path_ + ": empty"};
  credentials out = base_;
  out.bearer_token = std::string(token);
  cached_ = out;
  read_at_ = options_.steady_now();
  return out;
}

result<credentials> token_file_source::current() {
  std::lock_guard lock(mutex_);
  // client-go cachingTokenSource: the cached token is served until `period` has passed since the last read.
  if (cached_ && options_.steady_now() - read_at_ < options_.token_file_period) return *cached_;
  auto fresh = read_locked();
  // As client-go ("Unable to rotate token"): a failed re-read keeps serving the last good token; the next
  // call tries again because read_at_ was not moved.
  if (!fresh && cached_) return *cached_;
  return fresh;
}

result<credentials> token_file_source::refresh_after_unauthorized() {
  std::lock_guard lock(mutex_);
  // The server refused the cached token: it must not be served again, so a failed read is an error.
  cached_.reset();
  return read_locked();
}

// ---- exec plugins ----

result<bool> validate_exec_config(const exec_config& config, const std::string& where) {
  if (config.api_version != exec_api_v1 && config.api_version != exec_api_v1beta1) {
    return error{where + ".apiVersion: " + in_quotes(config.api_version) + " is not supported, expected " +
                 std::string(exec_api_v1) + " or " + std::string(exec_api_v1beta1)};
  }
  if (config.command.empty()) return error{where + ".command: missing"};
  for (std::size_t i = 0; i < config.env.size(); ++i) {
    if (config.env[i].name.empty() || config.env[i].name.find('=') != std::string::npos) {
      return error{where + ".env[" + std::to_string(i) + "].name: must be a non-empty name without '='"};
    }
  }
  const std::string& mode = config.interactive_mode;
  if (mode.empty()) {
    // client-go validation: interactiveMode is required from v1 on.
    if (config.api_version == exec_api_v1) return error{where + ".interactiveMode: required in " + config.api_version};
  } else if (mode == "Always") {
    // We run the plugin with stdin from /dev/null (cluster-adapter.md §2: never read stdin).
    return error{where + ".interactiveMode: Always needs a terminal, but the adapter is not interactive"};
  } else if (mode != "Never" && mode != "IfAvailable") {
    return error{where + ".interactiveMode: " + in_quotes(mode) + " is not one of Never, IfAvailable, Always"};
  }
  return true;
}

std::string exec_info_json(const exec_config& config, const exec_cluster_info& cluster) {
  nlohmann::json spec = {{"interactive", false}};
  if (config.provide_cluster_info) {
    // client.authentication.k8s.io Cluster: everything but `server` is omitempty.
    nlohmann::json c = {{"server", cluster.server}};
    if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
    if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    if (!cluster.ca_pem.empty()) c["certificate-authority-data"] = base64_encode(cluster.ca_pem);
    if (!cluster.proxy_url.empty()) c["proxy-url"] = cluster.proxy_url;
    if (!cluster.config_json.empty()) {
      auto extension = nlohmann::json::parse(cluster.config_json, nullptr, false);
      if (!extension.is_discarded()) c["config"] = std::move(extension);
    }
    spec["cluster"] = std::move(c);
  }
  const nlohmann::json info = {{"apiVersion", config.api_version}, {"kind", "ExecCredential"}, {"spec", spec}};
  return info.dump();
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm), Go's time.RFC3339 (which also reads fractions).
  const auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
    if (at + count > s.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      value = value * 10 + (s[i] - '0');
    }
    return value;
  };
  const auto at_is = [&](std::size_t at, std::string_view chars) {
    return at < s.size() && chars.find(s[at]) != std::string_view::npos;
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !at_is(4, "-") || !at_is(7, "-") ||
      !at_is(10, "Tt") || !at_is(13, ":") || !at_is(16, ":")) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{*year}, std::chrono::month{unsigned(*month)},
                                         std::chrono::day{unsigned(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  std::size_t at = 19;
  std::chrono::nanoseconds fraction{0};
  if (at_is(at, ".")) {
    ++at;
    std::int64_t scale_ns = 100'000'000;
    const std::size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      fraction += std::chrono::nanoseconds((s[at] - '0') * scale_ns);
      scale_ns /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (at_is(at, "Zz")) {
    ++at;
  } else if (at_is(at, "+-")) {
    const bool negative = s[at] == '-';
    const auto oh = digits(at + 1, 2), om = digits(at + 4, 2);
    if (!oh || !om || !at_is(at + 3, ":") || *oh > 23 || *om > 59) return std::nullopt;
    offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
    if (negative) offset = -offset;
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  const auto local = std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
                     std::chrono::seconds(*second);
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(local - offset + fraction);
}

result<credentials> parse_exec_credential(std::string_view stdout_text, std::string_view api_version,
                                          const std::string& where) {
  // The output is never quoted: it holds the token.
  const auto reply = nlohmann::json::parse(stdout_text, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) return error{where + ": stdout is not a JSON ExecCredential object"};
  const auto string_field = [&](const nlohmann::json& object, const char* key,
                                const std::string& path) -> result<std::string> {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::string{};
    if (!it->is_string()) return error{where + ": " + path + ": expected a string"};
    return it->get<std::string>();
  };
  auto kind = string_field(reply, "kind", "kind");
  if (!kind) return kind.error_value();
  if (*kind != "ExecCredential") return error{where + ": kind is " + in_quotes(kind->substr(0, 64)) + ", expected ExecCredential"};
  auto version = string_field(reply, "apiVersion", "apiVersion");
  if (!version) return version.error_value();
  if (*version != api_version) {
    return error{where + ": apiVersion " + in_quotes(version->substr(0, 64)) + " does not match the configured " +
                 in_quotes(api_version)};
  }
  const auto status = reply.find("status");
  if (status == reply.end() || !status->is_object()) return error{where + ": status: missing"};
  auto token = string_field(*status, "token", "status.token");
  if (!token) return token.error_value();
  auto cert = string_field(*status, "clientCertificateData", "status.clientCertificateData");
  if (!cert) return cert.error_value();
  auto key = string_field(*status, "clientKeyData", "status.clientKeyData");
  if (!key) return key.error_value();
  if (cert->empty() != key->empty()) {
    return error{where + ": status: clientCertificateData and clientKeyData must be given together"};
  }
  if (token->empty() && cert->empty()) return error{where + ": status: neither a token nor a client certificate"};
  auto expiry = string_field(*status, "expirationTimestamp", "status.expirationTimestamp");
  if (!expiry) return expiry.error_value();
  credentials out;
  out.bearer_token = std::move(*token);
  out.client_cert_pem = std::move(*cert);
  out.client_key_pem = std::move(*key);
  if (!expiry->empty()) {
    out.expires_at = parse_rfc3339(*expiry);
    if (!out.expires_at) {
      return error{where + ": status.expirationTimestamp: " + in_quotes(expiry->substr(0, 64)) + " is not RFC 3339"};
    }
  }
  return out;
}

namespace {

/// What a finished plugin left behind.
struct plugin_run {
  std::string out;
  std::string err;
  int wait_status = 0;
};

/// Closes a descriptor once.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

/// Runs the plugin: stdin from /dev/null, stdout and stderr captured, its own process group so a timeout
/// kills whatever it started too. At most 1 MiB of each stream is kept.
result<plugin_run> run_plugin(const exec_config& config, const std::string& exec_info,
                              std::chrono::milliseconds timeout) {
  constexpr std::size_t keep_bytes = 1 << 20;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return error{"pipe: " + errno_text(errno)};
  fd_guard out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return error{"pipe: " + errno_text(errno)};
  fd_guard err_read(err_pipe[0]), err_write(err_pipe[1]);

  // Environment: ours, then the kubeconfig's `env` (which overrides), then KUBERNETES_EXEC_INFO.
  std::vector<std::string> env;
  const auto set_env = [&](const std::string& name, const std::string& value) {
    const std::string prefix = name + "=";
    std::erase_if(env, [&](const std::string& entry) { return entry.starts_with(prefix); });
    env.push_back(prefix + value);
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& var : config.env) set_env(var.name, var.value);
  set_env("KUBERNETES_EXEC_INFO", exec_info);
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> args{config.command};
  args.insert(args.end(), config.args.begin(), config.args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  // A command with a '/' is a path (already resolved against the kubeconfig's directory); a bare name is
  // looked up in our PATH, as client-go's exec.LookPath does.
  const int spawned = config.command.find('/') != std::string::npos
                          ? ::posix_spawn(&pid, config.command.c_str(), &actions, &attr, argv.data(), envp.data())
                          : ::posix_spawnp(&pid, config.command.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) return error{"cannot start: " + errno_text(spawned)};
  out_write.reset();
  err_write.reset();

  plugin_run run;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto remaining_ms = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
  };
  const auto kill_plugin = [&] {
    ::kill(-pid, SIGKILL);
    int ignored = 0;
    while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
  };
  const auto timed_out = [&] {
    return error{"no answer after " + std::to_string(timeout.count()) + " ms; killed"};
  };
  bool out_open = true, err_open = true;
  char buffer[4096];
  while (out_open || err_open) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill_plugin();
      return timed_out();
    }
    pollfd fds[2] = {{out_open ? out_read.get() : -1, POLLIN, 0}, {err_open ? err_read.get() : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, remaining_ms());
    if (ready < 0 && errno != EINTR) {
      kill_plugin();
      return error{"poll: " + errno_text(errno)};
    }
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& sink = i == 0 ? run.out : run.err;
      if (sink.size() < keep_bytes) sink.append(buffer, std::min<std::size_t>(std::size_t(n), keep_bytes - sink.size()));
    }
  }
  // Both streams are closed; the plugin may still linger before exiting.
  while (true) {
    const pid_t done = ::waitpid(pid, &run.wait_status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return error{"waitpid: " + errno_text(errno)};
    if (std::chrono::steady_clock::now() >= deadline) {
      kill_plugin();
      return timed_out();
    }
    ::usleep(2000);
  }
  return run;
}

/// The first line of a plugin's stderr, at most 200 bytes.
std::string first_line(std::string_view text) {
  text = trim(text);
  text = text.substr(0, text.find('\n'));
  text = trim(text);
  if (text.size() > 200) return std::string(text.substr(0, 200)) + "...";
  return std::string(text);
}

}  // namespace

exec_credential_source::exec_credential_source(exec_config config, exec_cluster_info cluster,
                                               credential_options options)
    : config_(std::move(config)), cluster_(std::move(cluster)), options_(std::move(options)) {}

result<credentials> exec_credential_source::run_locked() {
  const std::string where = "exec plugin " + in_quotes(config_.command);
  const auto with_hint = [&](std::string message) {
    if (!config_.install_hint.empty()) message += " (install hint: " + first_line(config_.install_hint) + ")";
    return error{std::move(message)};
  };
  if (auto valid = validate_exec_config(config_, where); !valid) return valid.error_value();
  auto run = run_plugin(config_, exec_info_json(config_, cluster_), options_.exec_timeout);
  if (!run) return with_hint(where + ": " + run.error_value().message);
  const std::string secret = cached_ ? cached_->bearer_token : std::string{};
  const std::string said = redact(first_line(run->err), secret);
  const std::string said_part = said.empty() ? std::string{} : ": " + said;
  if (WIFSIGNALED(run->wait_status)) {
    return with_hint(where + ": killed by signal " + std::to_string(WTERMSIG(run->wait_status)) + said_part);
  }
  const int code = WIFEXITED(run->wait_status) ? WEXITSTATUS(run->wait_status) : -1;
  if (code != 0) return with_hint(where + ": exited with code " + std::to_string(code) + said_part);
  auto parsed = parse_exec_credential(run->out, config_.api_version, where);
  if (!parsed) return parsed.error_value();
  cached_ = *parsed;
  return parsed;
}

result<credentials> exec_credential_source::current() {
  std::lock_guard lock(mutex_);
  // Cached until expirationTimestamp; no timestamp = valid until the server says 401 (client-go exec.go).
  if (cached_ && (!cached_->expires_at || options_.system_now() < *cached_->expires_at)) return *cached_;
  return run_locked();
}

result<credentials> exec_credential_source::refresh_after_unauthorized() {
  std::lock_guard lock(mutex_);
  auto fresh = run_locked();
  if (!fresh) cached_.reset();
  return fresh;
}

}  // namespace scale::kube
