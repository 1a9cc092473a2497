// A loopback front for the real mds-server, to drive the SDK's package pipeline against
// blob answers the server would never give: everything but GET /v1/blobs/ (check,
// events) is forwarded to the server and its answer relayed; a blob request goes to the
// test's BlobAnswer, which gets the real blob (bytes and ETag, fetched from the server)
// and may answer however badly it wants. Without a BlobAnswer blobs are relayed too,
// Range and If-Range included, so the proxy is then a well-behaved server.
//
// The proxy serves one connection at a time on its own thread (tests/support's
// LoopbackServer) and closes each after one answer.
#ifndef MDS_TESTS_INTEGRATION_FAULT_PROXY_HPP
#define MDS_TESTS_INTEGRATION_FAULT_PROXY_HPP

#include "server_process.hpp"
#include "support/loopback_server.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mds::test {

// The status line and headers of an answer that closes its connection; `extra` holds
// further header lines, each ending in CRLF.
inline std::string http_head(int status, const std::string &reason, const std::string &extra) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nConnection: close\r\n" + extra + "\r\n";
}

struct RealBlob {
  std::string bytes;
  std::string etag; // as the server sends it, quotes included
};

class FaultProxy {
public:
  using BlobAnswer =
      std::function<void(int fd, const SeenRequest &request, const RealBlob &blob, const std::atomic<bool> &stop)>;

  explicit FaultProxy(std::string upstream)
      : upstream_(std::move(upstream)), server_([this](int fd, const SeenRequest &request,
                                                       const std::atomic<bool> &stop) { answer(fd, request, stop); }) {}

  std::string url() const { return server_.url(); }

  // How blob requests are answered from now on; empty: relayed faithfully.
  void set_blob_answer(BlobAnswer answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    blob_answer_ = std::move(answer);
  }

  // Every request the proxy saw, in order.
  std::vector<SeenRequest> requests() const { return server_.requests(); }

  std::vector<SeenRequest> blob_requests(std::size_t from = 0) const {
    std::vector<SeenRequest> blobs;
    const auto all = requests();
    for (std::size_t i = from; i < all.size(); ++i) {
      if (all[i].target.rfind("/v1/blobs/", 0) == 0) {
        blobs.push_back(all[i]);
      }
    }
    return blobs;
  }

  // The bodies of the POST /v1/events the device sent (and the server received).
  std::vector<std::string> event_bodies() const {
    std::vector<std::string> bodies;
    for (const auto &request : requests()) {
      if (request.target == "/v1/events") {
        bodies.push_back(request.body);
      }
    }
    return bodies;
  }

private:
  void answer(int fd, const SeenRequest &request, const std::atomic<bool> &stop) {
    BlobAnswer blob_answer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blob_answer = blob_answer_;
    }
    if (!upstream_client_) {
      upstream_client_ = std::make_unique<HttpClient>(upstream_);
    }
    if (request.method == "GET" && request.target.rfind("/v1/blobs/", 0) == 0 && blob_answer) {
      const auto whole = upstream_client_->request("GET", request.target);
      RealBlob blob;
      blob.bytes = whole.body;
      auto etag = whole.headers.find("etag");
      blob.etag = etag == whole.headers.end() ? std::string() : etag->second;
      if (whole.status != 200) {
        relay(fd, whole);
        return;
      }
      blob_answer(fd, request, blob, stop);
      return;
    }
    std::vector<std::string> headers;
    for (const char *name : {"if-none-match", "range", "if-range"}) {
      if (!request.header(name).empty()) {
        headers.push_back(std::string(name) + ": " + request.header(name));
      }
    }
    relay(fd, upstream_client_->request(request.method, request.target, request.body, headers));
  }

  static void relay(int fd, const HttpResponse &response) {
    if (response.status == 0) {
      LoopbackServer::send_all(fd, http_head(502, "Bad Gateway", "Content-Length: 0\r\n"));
      return;
    }
    std::string extra;
    for (const char *name : {"content-type", "etag", "content-range", "retry-after", "accept-ranges"}) {
      auto found = response.headers.find(name);
      if (found != response.headers.end()) {
        extra += std::string(name) + ": " + found->second + "\r\n";
      }
    }
    if (response.status != 304) {
      extra += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    }
    LoopbackServer::send_all(fd, http_head(static_cast<int>(response.status), "Relayed", extra) + response.body);
  }

  const std::string upstream_;
  std::unique_ptr<HttpClient> upstream_client_; // used on the proxy's thread only
  mutable std::mutex mutex_;
  BlobAnswer blob_answer_;
  LoopbackServer server_; // last: its thread stops before the members it uses go
};

} // namespace mds::test

#endif
