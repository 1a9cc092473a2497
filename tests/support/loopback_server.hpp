// A small HTTP/1.1 server on 127.0.0.1 for transport fault tests: it reads one request per
// connection and hands the socket to a handler that answers however the test wants,
// including badly (trickling, endless, dropping the connection, ignoring Range). It is a
// fault injector for the real libcurl transport, not a stand-in for the OpenMDS server.
#ifndef MDS_TESTS_SUPPORT_LOOPBACK_SERVER_HPP
#define MDS_TESTS_SUPPORT_LOOPBACK_SERVER_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mds::test {

struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers; // names in lower case
  std::string body;

  std::string header(const std::string &name) const {
    auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

class LoopbackServer {
public:
  // Called on the server's thread for each request; `stop` turns true when the server is
  // being destroyed, so endless handlers can end.
  using Handler = std::function<void(int fd, const SeenRequest &request, const std::atomic<bool> &stop)>;

  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int yes = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      std::abort();
    }
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  LoopbackServer(const LoopbackServer &) = delete;
  LoopbackServer &operator=(const LoopbackServer &) = delete;

  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  std::vector<SeenRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  // Sends everything or returns false (the peer went away, or 5 s without progress).
  static bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

private:
  void serve() {
    while (!stop_) {
      pollfd waiting{listen_fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) {
        continue;
      }
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      timeval timeout{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
      SeenRequest request;
      if (read_request(fd, request)) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          requests_.push_back(request);
        }
        handler_(fd, request, stop_);
      }
      ::close(fd);
    }
  }

  static bool read_request(int fd, SeenRequest &request) {
    std::string data;
    char buffer[4096];
    std::size_t end = std::string::npos;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0 || data.size() > (1u << 20)) {
        return false;
      }
      data.append(buffer, static_cast<std::size_t>(got));
      if (data[0] == 0x16) {
        // A TLS ClientHello on this plain-text port: answer in plain text, as a server
        // without TLS would, so the client's handshake fails at once.
        send_all(fd, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        return false;
      }
    }
    std::size_t line_end = data.find("\r\n");
    const std::string first = data.substr(0, line_end);
    const auto space = first.find(' ');
    request.method = first.substr(0, space);
    request.target = first.substr(space + 1, first.rfind(' ') - space - 1);
    std::size_t position = line_end + 2;
    while (position < end) {
      const std::size_t next = data.find("\r\n", position);
      const std::string line = data.substr(position, next - position);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char &c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
          value.erase(0, 1);
        }
        request.headers[name] = value;
      }
      position = next + 2;
    }
    request.body = data.substr(end + 4);
    const std::size_t length = std::strtoul(request.header("content-length").c_str(), nullptr, 10);
    while (request.body.size() < length) {
      const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        return false;
      }
      request.body.append(buffer, static_cast<std::size_t>(got));
    }
    return true;
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<SeenRequest> requests_;
  std::thread thread_;
};

} // namespace mds::test

#endif
