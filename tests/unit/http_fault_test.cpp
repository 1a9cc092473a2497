// The libcurl transport against a loopback server that misbehaves on purpose
// (SECURITY.md #12, #13, #16). Time is asserted only as generous upper bounds.
#include "transport/http.hpp"

#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

using mds::ErrorCode;
using mds::test::LoopbackServer;
using mds::test::SeenRequest;
using mds::transport::DownloadRequest;
using mds::transport::Http;
using mds::transport::HttpRequest;
using mds::transport::HttpSettings;
using Clock = std::chrono::steady_clock;

namespace {

HttpSettings fast_settings() {
  HttpSettings settings;
  settings.connect_timeout = std::chrono::milliseconds(2000);
  settings.low_speed_bytes_per_second = 10;
  settings.low_speed_window = std::chrono::seconds(2);
  return settings;
}

std::string blob(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  unsigned state = seed;
  for (auto &c : out) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 16);
  }
  return out;
}

std::string read_all(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_all(const std::filesystem::path &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string head(int status, const std::string &reason, const std::string &extra) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nConnection: close\r\n" + extra + "\r\n";
}

// Answers a GET of `full` as a blob server that honours Range with If-Range.
void serve_ranges(int fd, const SeenRequest &request, const std::string &full, const std::string &etag) {
  const std::string range = request.header("range");
  if (!range.empty() && request.header("if-range") == etag) {
    const std::size_t start = std::strtoul(range.c_str() + 6, nullptr, 10);
    if (start >= full.size()) {
      LoopbackServer::send_all(fd, head(416, "Range Not Satisfiable", "Content-Length: 0\r\n"));
      return;
    }
    LoopbackServer::send_all(fd, head(206, "Partial Content",
                                      "ETag: " + etag + "\r\nContent-Range: bytes " + std::to_string(start) + "-" +
                                          std::to_string(full.size() - 1) + "/" + std::to_string(full.size()) +
                                          "\r\nContent-Length: " + std::to_string(full.size() - start) + "\r\n"));
    LoopbackServer::send_all(fd, std::string_view(full).substr(start));
    return;
  }
  LoopbackServer::send_all(
      fd, head(200, "OK", "ETag: " + etag + "\r\nContent-Length: " + std::to_string(full.size()) + "\r\n"));
  LoopbackServer::send_all(fd, full);
}

} // namespace

TEST_CASE("A server trickling 1 byte/s is aborted within the low-speed window", "[transport][faults]") {
  LoopbackServer server([](int fd, const SeenRequest &, const std::atomic<bool> &stop) {
    if (!LoopbackServer::send_all(fd, head(200, "OK", "Content-Length: 100000\r\n"))) {
      return;
    }
    while (!stop && LoopbackServer::send_all(fd, "x")) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });
  Http http(fast_settings());
  HttpRequest request;
  request.url = server.url() + "/slow";
  request.max_response_bytes = 1u << 20;
  const auto started = Clock::now();
  auto response = http.perform(request);
  const auto elapsed = Clock::now() - started;
  REQUIRE_FALSE(response);
  CHECK(response.code() == ErrorCode::NetworkTimeout);
  // Window is 2 s; 20 s is a bound no loaded machine should reach.
  CHECK(elapsed < std::chrono::seconds(20));
}

TEST_CASE("An endless chunked body is cut at the cap + 1 byte", "[transport][faults]") {
  std::atomic<std::uint64_t> sent{0};
  LoopbackServer server([&](int fd, const SeenRequest &, const std::atomic<bool> &stop) {
    if (!LoopbackServer::send_all(fd, head(200, "OK", "Transfer-Encoding: chunked\r\n"))) {
      return;
    }
    const std::string chunk = "4000\r\n" + std::string(0x4000, 'z') + "\r\n";
    while (!stop && LoopbackServer::send_all(fd, chunk)) {
      sent += 0x4000;
    }
  });
  Http http(fast_settings());
  HttpRequest request;
  request.url = server.url() + "/endless";
  request.max_response_bytes = 256u << 10;
  const auto started = Clock::now();
  auto response = http.perform(request);
  REQUIRE_FALSE(response);
  CHECK(response.code() == ErrorCode::ResponseTooLarge);
  CHECK(Clock::now() - started < std::chrono::seconds(20));
  // The client stopped reading at the cap: what the server got out is the cap plus what
  // the sockets buffer, nowhere near unbounded.
  CHECK(sent.load() < request.max_response_bytes + (32u << 20));
}

TEST_CASE("A body of exactly the cap passes, one byte more does not", "[transport][faults]") {
  const std::uint64_t cap = 10000;
  struct Case {
    std::uint64_t size;
    bool chunked;
    bool ok;
  };
  const Case cases[] = {
      {cap, true, true},  {cap + 1, true, false},
      {cap, false, true}, {cap + 1, false, false}, // refused from Content-Length before any byte
      {0, true, true},
  };
  for (const auto &c : cases) {
    INFO("size " << c.size << (c.chunked ? " chunked" : " with length"));
    LoopbackServer server([&](int fd, const SeenRequest &, const std::atomic<bool> &) {
      const std::string body(c.size, 'b');
      if (c.chunked) {
        std::ostringstream hex;
        hex << std::hex << body.size();
        LoopbackServer::send_all(fd, head(200, "OK", "Transfer-Encoding: chunked\r\n"));
        if (!body.empty()) {
          LoopbackServer::send_all(fd, hex.str() + "\r\n" + body + "\r\n");
        }
        LoopbackServer::send_all(fd, "0\r\n\r\n");
      } else {
        LoopbackServer::send_all(fd, head(200, "OK", "Content-Length: " + std::to_string(body.size()) + "\r\n"));
        LoopbackServer::send_all(fd, body);
      }
    });
    Http http(fast_settings());
    HttpRequest request;
    request.url = server.url() + "/sized";
    request.max_response_bytes = cap;
    auto response = http.perform(request);
    CHECK(response.ok() == c.ok);
    if (response) {
      CHECK(response->body.size() == c.size);
    } else {
      CHECK(response.code() == ErrorCode::ResponseTooLarge);
    }
  }
}

TEST_CASE("perform() reports status, ETag and Retry-After and sends the POST body", "[transport]") {
  LoopbackServer server([](int fd, const SeenRequest &request, const std::atomic<bool> &) {
    if (request.header("if-none-match") == "\"v1\"") {
      LoopbackServer::send_all(fd, head(304, "Not Modified", "ETag: \"v1\"\r\n"));
    } else if (request.target == "/busy") {
      LoopbackServer::send_all(fd, head(503, "Busy", "Retry-After: 7\r\nContent-Length: 2\r\n") + "{}");
    } else {
      const std::string body = "echo:" + request.header("content-type") + ":" + request.body;
      LoopbackServer::send_all(
          fd, head(200, "OK", "ETag: \"v1\"\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") + body);
    }
  });
  Http http(fast_settings());
  HttpRequest request;
  request.method = "POST";
  request.url = server.url() + "/v1/check";
  request.body = "{\"a\":1}";
  auto first = http.perform(request);
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->etag == "\"v1\"");
  CHECK(first->body == "echo:application/json:{\"a\":1}");
  CHECK_FALSE(first->retry_after);

  request.headers.push_back("If-None-Match: \"v1\"");
  auto second = http.perform(request);
  REQUIRE(second);
  CHECK(second->status == 304);
  CHECK(second->body.empty());

  HttpRequest busy;
  busy.url = server.url() + "/busy";
  auto third = http.perform(busy);
  REQUIRE(third);
  CHECK(third->status == 503);
  REQUIRE(third->retry_after);
  CHECK(third->retry_after->count() == 7);
}

TEST_CASE("Transport failures map to their error codes", "[transport][faults]") {
  // A port with nobody listening.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr *>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(probe, reinterpret_cast<sockaddr *>(&address), &length);
  const std::string closed = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  ::close(probe);

  LoopbackServer dropper([](int fd, const SeenRequest &request, const std::atomic<bool> &) {
    if (request.target == "/drop-mid-body") {
      LoopbackServer::send_all(fd, head(200, "OK", "Content-Length: 1000\r\n") + std::string(10, 'x'));
    } else if (request.target == "/plain-for-tls") {
      LoopbackServer::send_all(fd, head(200, "OK", "Content-Length: 0\r\n"));
    }
    // "/nothing": close without a byte
  });
  const std::string tls_url = "https://127.0.0.1:" + std::to_string(dropper.port()) + "/plain-for-tls";

  struct Case {
    std::string url;
    ErrorCode expected;
  };
  const Case cases[] = {
      {closed + "/v1/check", ErrorCode::NetworkUnreachable},
      {dropper.url() + "/drop-mid-body", ErrorCode::NetworkInterrupted},
      {dropper.url() + "/nothing", ErrorCode::NetworkInterrupted},
      {tls_url, ErrorCode::TlsFailure},
      {"ftp://127.0.0.1/x", ErrorCode::InvalidArgument},
      {"http://[::1", ErrorCode::InvalidArgument},
  };
  for (const auto &c : cases) {
    INFO(c.url);
    Http http(fast_settings());
    HttpRequest request;
    request.url = c.url;
    auto response = http.perform(request);
    REQUIRE_FALSE(response);
    CHECK(response.code() == c.expected);
  }
}

TEST_CASE("Cancelling aborts an exchange in flight", "[transport][faults]") {
  LoopbackServer server([](int fd, const SeenRequest &, const std::atomic<bool> &stop) {
    LoopbackServer::send_all(fd, head(200, "OK", "Content-Length: 100000\r\n"));
    while (!stop && LoopbackServer::send_all(fd, std::string(100, 'x'))) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::atomic<bool> cancel{false};
  HttpSettings settings = fast_settings();
  settings.low_speed_window = std::chrono::seconds(60);
  Http http(settings, &cancel);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  HttpRequest request;
  request.url = server.url() + "/long";
  const auto started = Clock::now();
  auto response = http.perform(request);
  canceller.join();
  REQUIRE_FALSE(response);
  CHECK(response.code() == ErrorCode::Cancelled);
  CHECK(Clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("A download dropped mid-body resumes with Range and ends with the right bytes", "[transport][faults]") {
  const std::string full = blob(300000, 7);
  const std::string etag = "\"blob-7\"";
  std::atomic<int> calls{0};
  LoopbackServer server([&](int fd, const SeenRequest &request, const std::atomic<bool> &) {
    if (calls++ == 0) {
      // First answer: the whole length announced, a third sent, then the connection dies.
      LoopbackServer::send_all(
          fd, head(200, "OK", "ETag: " + etag + "\r\nContent-Length: " + std::to_string(full.size()) + "\r\n"));
      LoopbackServer::send_all(fd, std::string_view(full).substr(0, 100000));
      return;
    }
    serve_ranges(fd, request, full, etag);
  });
  mds::test::TempDir dir;
  Http http(fast_settings());
  DownloadRequest request;
  request.url = server.url() + "/v1/blobs/x";
  request.part_path = dir / "blob.part";
  request.max_bytes = full.size();
  auto first = http.download(request);
  REQUIRE_FALSE(first);
  CHECK(first.code() == ErrorCode::NetworkInterrupted);
  const auto kept = std::filesystem::file_size(request.part_path);
  CHECK(kept > 0);
  CHECK(kept <= 100000);

  request.if_range = etag;
  auto second = http.download(request);
  REQUIRE(second);
  CHECK(second->resumed_from == kept);
  CHECK_FALSE(second->restarted);
  CHECK(second->size == full.size());
  CHECK(read_all(request.part_path) == full);
  const auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].header("range") == "bytes=" + std::to_string(kept) + "-");
  CHECK(seen[1].header("if-range") == etag);
}

TEST_CASE("A server that ignores, refuses or lies about Range never gets bytes spliced", "[transport][faults]") {
  const std::string old_part = blob(50000, 1); // what an earlier answer left
  const std::string current = blob(120000, 2); // what the server has now
  const std::string etag = "\"e\"";
  struct Case {
    std::string name;
    std::function<void(int, const SeenRequest &)> answer;
  };
  std::vector<Case> cases = {
      {"ignores Range (200 with the whole, different, blob)",
       [&](int fd, const SeenRequest &) {
         LoopbackServer::send_all(fd, head(200, "OK", "Content-Length: " + std::to_string(current.size()) + "\r\n"));
         LoopbackServer::send_all(fd, current);
       }},
      {"answers 416",
       [&](int fd, const SeenRequest &request) {
         if (!request.header("range").empty()) {
           LoopbackServer::send_all(fd, head(416, "Range Not Satisfiable", "Content-Length: 0\r\n"));
           return;
         }
         serve_ranges(fd, request, current, etag);
       }},
      {"206 starting elsewhere than asked",
       [&](int fd, const SeenRequest &request) {
         if (!request.header("range").empty()) {
           LoopbackServer::send_all(fd, head(206, "Partial Content",
                                             "Content-Range: bytes 0-" + std::to_string(current.size() - 1) + "/" +
                                                 std::to_string(current.size()) +
                                                 "\r\nContent-Length: " + std::to_string(current.size()) + "\r\n"));
           LoopbackServer::send_all(fd, current);
           return;
         }
         serve_ranges(fd, request, current, etag);
       }},
      {"206 without Content-Range",
       [&](int fd, const SeenRequest &request) {
         if (!request.header("range").empty()) {
           LoopbackServer::send_all(fd, head(206, "Partial Content", "Content-Length: 10\r\n") + "0123456789");
           return;
         }
         serve_ranges(fd, request, current, etag);
       }},
  };
  // A 206 that starts where the part ends but is not the rest of the same file.
  const auto partial = [&](const std::string &extra, const std::string &bytes) {
    return [&current, &etag, extra, bytes](int fd, const SeenRequest &request) {
      if (!request.header("range").empty()) {
        LoopbackServer::send_all(
            fd,
            head(206, "Partial Content", extra + "Content-Length: " + std::to_string(bytes.size()) + "\r\n") + bytes);
        return;
      }
      serve_ranges(fd, request, current, etag);
    };
  };
  const std::string from = std::to_string(old_part.size());
  const std::string tail = current.substr(old_part.size());
  const std::string end = std::to_string(current.size() - 1);
  const std::string total = std::to_string(current.size());
  cases.push_back(
      {"206 under another ETag",
       partial("ETag: \"other\"\r\nContent-Range: bytes " + from + "-" + end + "/" + total + "\r\n", tail)});
  cases.push_back(
      {"206 without an ETag", partial("Content-Range: bytes " + from + "-" + end + "/" + total + "\r\n", tail)});
  cases.push_back({"206 naming another total", partial("ETag: " + etag + "\r\nContent-Range: bytes " + from + "-" +
                                                           end + "/" + std::to_string(current.size() + 1) + "\r\n",
                                                       tail)});
  cases.push_back({"206 ending before its total", partial("ETag: " + etag + "\r\nContent-Range: bytes " + from + "-" +
                                                              std::to_string(current.size() - 2) + "/" + total + "\r\n",
                                                          tail.substr(0, tail.size() - 1))});
  cases.push_back({"206 with an unknown total",
                   partial("ETag: " + etag + "\r\nContent-Range: bytes " + from + "-" + end + "/*\r\n", tail)});
  cases.push_back(
      {"206 with trailing junk in Content-Range",
       partial("ETag: " + etag + "\r\nContent-Range: bytes " + from + "-" + end + "/" + total + "x\r\n", tail)});
  for (const auto &c : cases) {
    INFO(c.name);
    LoopbackServer server(
        [&](int fd, const SeenRequest &request, const std::atomic<bool> &) { c.answer(fd, request); });
    mds::test::TempDir dir;
    DownloadRequest request;
    request.url = server.url() + "/v1/blobs/y";
    request.part_path = dir / "y.part";
    request.if_range = etag;
    request.max_bytes = 1u << 20;
    request.total_size = current.size();
    write_all(request.part_path, old_part);
    Http http(fast_settings());
    auto result = http.download(request);
    REQUIRE(result);
    CHECK(result->restarted);
    CHECK(result->resumed_from == 0);
    CHECK(read_all(request.part_path) == current);
  }
}

TEST_CASE("Downloads: error statuses keep the part, the cap counts the whole file", "[transport][faults]") {
  const std::string full = blob(40000, 3);
  const std::string etag = "\"c\"";
  LoopbackServer server([&](int fd, const SeenRequest &request, const std::atomic<bool> &) {
    if (request.target == "/missing") {
      LoopbackServer::send_all(fd, head(404, "Not Found", "Content-Length: 2\r\n") + "{}");
      return;
    }
    serve_ranges(fd, request, full, etag);
  });
  mds::test::TempDir dir;
  Http http(fast_settings());

  DownloadRequest missing;
  missing.url = server.url() + "/missing";
  missing.part_path = dir / "m.part";
  missing.if_range = etag;
  write_all(missing.part_path, "keep");
  auto refused = http.download(missing);
  REQUIRE_FALSE(refused);
  CHECK(refused.code() == ErrorCode::HttpStatus);
  CHECK(read_all(missing.part_path) == "keep");

  // Resumed at 30000 of 40000 with a cap of 35000: the cap is on the file, not the answer.
  DownloadRequest capped;
  capped.url = server.url() + "/blob";
  capped.part_path = dir / "c.part";
  capped.if_range = etag;
  capped.max_bytes = 35000;
  write_all(capped.part_path, full.substr(0, 30000));
  auto too_large = http.download(capped);
  REQUIRE_FALSE(too_large);
  CHECK(too_large.code() == ErrorCode::ResponseTooLarge);
  CHECK(std::filesystem::file_size(capped.part_path) <= 35000);

  // Whole file under a cap it fits exactly.
  DownloadRequest exact;
  exact.url = server.url() + "/blob";
  exact.part_path = dir / "e.part";
  exact.max_bytes = full.size();
  auto fits = http.download(exact);
  REQUIRE(fits);
  CHECK(read_all(exact.part_path) == full);
}

TEST_CASE("An endless download stops with exactly the cap on disk", "[transport][faults]") {
  LoopbackServer server([](int fd, const SeenRequest &, const std::atomic<bool> &stop) {
    if (!LoopbackServer::send_all(fd, head(200, "OK", "Transfer-Encoding: chunked\r\n"))) {
      return;
    }
    const std::string chunk = "1000\r\n" + std::string(0x1000, 'q') + "\r\n";
    while (!stop && LoopbackServer::send_all(fd, chunk)) {
    }
  });
  mds::test::TempDir dir;
  Http http(fast_settings());
  DownloadRequest request;
  request.url = server.url() + "/v1/blobs/endless";
  request.part_path = dir / "endless.part";
  request.max_bytes = (1u << 20) + 3; // not a multiple of the chunk size
  auto result = http.download(request);
  REQUIRE_FALSE(result);
  CHECK(result.code() == ErrorCode::ResponseTooLarge);
  // Every byte up to the cap is kept; the one after it ended the transfer.
  CHECK(std::filesystem::file_size(request.part_path) == request.max_bytes);
}
