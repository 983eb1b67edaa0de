// A tiny HTTP/1.1 server for scale-adapter's end-to-end test: one "pod". Listens on 127.0.0.1 on a free port,
// prints the port on stdout, answers every request with "hello from PORT\n" after `?sleep_ms=N` milliseconds,
// keeps connections alive, and exits on SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

int listen_port = 0;

void serve(int fd) {
  std::string buffer;
  char chunk[4096];
  for (;;) {
    const auto end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    const std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    // Request bodies are not expected (GET); a Content-Length body would be skipped here.
    if (const auto cl = head.find("Content-Length: "); cl != std::string::npos) {
      const std::size_t len = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
      while (buffer.size() < len) {
        const ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      buffer.erase(0, std::min(len, buffer.size()));
    }
    const auto first_line = head.substr(0, head.find("\r\n"));
    if (const auto s = first_line.find("sleep_ms="); s != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds{std::strtol(first_line.c_str() + s + 9, nullptr, 10)});
    }
    const std::string body = "hello from " + std::to_string(listen_port) + "\n";
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
    if (write(fd, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) break;
  }
  close(fd);
}

}  // namespace

int main() {
  // Drop every descriptor inherited from the test process (its API server's listening socket among them):
  // a copy kept open here would keep that port listening after the test closed it.
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(s, 128) != 0) {
    std::perror("hello_backend: listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  listen_port = ntohs(addr.sin_port);
  std::printf("%d\n", listen_port);
  std::fflush(stdout);
  for (;;) {
    const int c = accept(s, nullptr, nullptr);
    if (c < 0) continue;
    std::thread(serve, c).detach();
  }
}
