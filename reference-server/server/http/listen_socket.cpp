#include "server/http/listen_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mds::server::http {
namespace {

std::string describe_sockaddr(const sockaddr_storage &address) {
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (address.ss_family == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    port = ntohs(v6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto *v4 = reinterpret_cast<const sockaddr_in *>(&address);
  inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
  port = ntohs(v4->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

} // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto invalid = [&] {
    return make_error(ErrorCode::InvalidArgument,
                      "--listen expects HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:0), got \"" + std::string(text) + "\"");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return invalid();
  }
  ListenAddress address;
  auto host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return invalid();
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return invalid(); // an IPv6 address needs brackets
  }
  address.host = std::string(host);
  unsigned long port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      return invalid();
    }
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port > 65535) {
    return invalid();
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

Result<ListenSocket> ListenSocket::bind_and_listen(const ListenAddress &address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo *resolved = nullptr;
  const auto port_text = std::to_string(address.port);
  const int lookup = getaddrinfo(address.host.c_str(), port_text.c_str(), &hints, &resolved);
  if (lookup != 0 || resolved == nullptr) {
    return make_error(ErrorCode::InvalidArgument,
                      "cannot resolve listen host \"" + address.host + "\": " + gai_strerror(lookup));
  }
  const auto where = address.host + ":" + port_text;
  const int fd = socket(resolved->ai_family, resolved->ai_socktype | SOCK_CLOEXEC, resolved->ai_protocol);
  if (fd < 0) {
    const int error = errno;
    freeaddrinfo(resolved);
    return make_error(ErrorCode::IoError, "cannot create a socket for " + where + ": " + std::strerror(error));
  }
  // Lets a restarted server bind while old connections sit in TIME_WAIT; it does not let
  // two servers share a port (that needs SO_REUSEPORT).
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, resolved->ai_addr, resolved->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
    const int error = errno;
    freeaddrinfo(resolved);
    close(fd);
    if (error == EADDRINUSE) {
      return make_error(ErrorCode::AlreadyExists, "cannot listen on " + where + ": address already in use");
    }
    return make_error(ErrorCode::IoError, "cannot listen on " + where + ": " + std::strerror(error));
  }
  freeaddrinfo(resolved);

  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &bound_length);
  return ListenSocket(fd, describe_sockaddr(bound));
}

ListenSocket::ListenSocket(ListenSocket &&other) noexcept
    : fd_(other.release()), bound_address_(std::move(other.bound_address_)) {}

ListenSocket &ListenSocket::operator=(ListenSocket &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = other.release();
    bound_address_ = std::move(other.bound_address_);
  }
  return *this;
}

ListenSocket::~ListenSocket() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

int ListenSocket::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

} // namespace mds::server::http
