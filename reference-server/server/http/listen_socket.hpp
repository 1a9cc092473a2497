// Binding the listening socket ourselves (rather than letting libmicrohttpd do it) gives
// a precise error for "address in use" and lets --listen HOST:0 report the port the
// kernel picked.
#ifndef MDS_SERVER_HTTP_LISTEN_SOCKET_HPP
#define MDS_SERVER_HTTP_LISTEN_SOCKET_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace mds::server::http {

struct ListenAddress {
  std::string host; // "127.0.0.1", "::1", "0.0.0.0"
  std::uint16_t port = 0;
};

// "127.0.0.1:8080", "[::1]:0", "0.0.0.0:443".
Result<ListenAddress> parse_listen_address(std::string_view text);

// Owns a bound, listening socket until released to the HTTP daemon.
class ListenSocket {
public:
  static Result<ListenSocket> bind_and_listen(const ListenAddress &address);

  ListenSocket(ListenSocket &&other) noexcept;
  ListenSocket &operator=(ListenSocket &&other) noexcept;
  ListenSocket(const ListenSocket &) = delete;
  ListenSocket &operator=(const ListenSocket &) = delete;
  ~ListenSocket();

  int fd() const { return fd_; }
  // "127.0.0.1:41234": the address actually bound, with the kernel's port for port 0.
  const std::string &bound_address() const { return bound_address_; }
  // Hands the descriptor over; the caller closes it from now on.
  int release();

private:
  ListenSocket(int fd, std::string bound_address) : fd_(fd), bound_address_(std::move(bound_address)) {}
  int fd_ = -1;
  std::string bound_address_;
};

} // namespace mds::server::http

#endif
