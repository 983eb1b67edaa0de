/// `fake-apiserver`: the loopback test API server as a standalone process, for manual checks with kubectl and for
/// end-to-end tests that need it out of process. Prints its URL on stdout and serves until SIGTERM or SIGINT.
///
///   fake-apiserver [--port N] [--tls --cert F --key F [--client-ca F]] [--token TOKEN=USER]...
///                  [--deployment ns/name=replicas[:label=value[,label=value]...]]...

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "fake_apiserver.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct deployment_flag {
  std::string ns, name;
  int replicas = 0;
  std::map<std::string, std::string> labels;
};

// "ns/name=replicas:label=value,label=value"; the labels default to app=<name>.
deployment_flag parse_deployment(const std::string& text) {
  const auto slash = text.find('/');
  const auto eq = text.find('=');
  if (slash == std::string::npos || eq == std::string::npos || eq < slash) {
    throw std::runtime_error("--deployment " + text + ": expected ns/name=replicas[:label=value,...]");
  }
  deployment_flag d;
  d.ns = text.substr(0, slash);
  d.name = text.substr(slash + 1, eq - slash - 1);
  const std::string rest = text.substr(eq + 1);
  const auto colon = rest.find(':');
  try {
    std::size_t used = 0;
    d.replicas = std::stoi(rest.substr(0, colon), &used);
    if (used != rest.substr(0, colon).size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw std::runtime_error("--deployment " + text + ": replicas must be an integer");
  }
  if (colon != std::string::npos) {
    std::stringstream labels(rest.substr(colon + 1));
    for (std::string item; std::getline(labels, item, ',');) {
      const auto leq = item.find('=');
      if (leq == std::string::npos) throw std::runtime_error("--deployment " + text + ": label " + item + " needs =");
      d.labels[item.substr(0, leq)] = item.substr(leq + 1);
    }
  }
  if (d.labels.empty()) d.labels["app"] = d.name;
  return d;
}

int usage(const std::string& message) {
  std::cerr << "fake-apiserver: " << message << "\n"
            << "usage: fake-apiserver [--port N] [--tls --cert FILE --key FILE [--client-ca FILE]] "
               "[--token TOKEN=USER]... [--deployment ns/name=replicas[:label=value,...]]...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts so that only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  scale::fake_k8s::server_options options;
  std::vector<deployment_flag> deployments;
  std::string cert_file, key_file, client_ca_file;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      const auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--port") {
        options.port = static_cast<std::uint16_t>(std::stoi(value()));
      } else if (arg == "--tls") {
        options.tls = true;
      } else if (arg == "--cert") {
        cert_file = value();
      } else if (arg == "--key") {
        key_file = value();
      } else if (arg == "--client-ca") {
        client_ca_file = value();
      } else if (arg == "--token") {
        const std::string t = value();
        const auto eq = t.find('=');
        if (eq == std::string::npos || eq == 0) throw std::runtime_error("--token expects TOKEN=USER");
        options.tokens[t.substr(0, eq)] = t.substr(eq + 1);
      } else if (arg == "--deployment") {
        deployments.push_back(parse_deployment(value()));
      } else if (arg == "--help" || arg == "-h") {
        usage("help");
        return 0;
      } else {
        return usage("unknown flag " + arg);
      }
    }
    if (options.tls) {
      if (cert_file.empty() || key_file.empty()) return usage("--tls needs --cert and --key");
      options.cert_pem = read_file(cert_file);
      options.key_pem = read_file(key_file);
      if (!client_ca_file.empty()) options.client_ca_pem = read_file(client_ca_file);
    }
    scale::fake_k8s::fake_apiserver server(options);
    for (const auto& d : deployments) server.add_deployment(d.ns, d.name, d.replicas, d.labels);
    std::cout << server.url() << std::endl;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fake-apiserver: " << e.what() << "\n";
    return 1;
  }
}
