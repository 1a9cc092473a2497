// Moves bytes over HTTP(S) with libcurl and nothing else: what to send and what an
// answer means is protocol.hpp's business.
//
// Every exchange is bounded: connect timeout, a low-speed window, an overall deadline and a
// size cap counted in the write callback (libcurl 7.88 does not stop a body of unknown
// length at CURLOPT_MAXFILESIZE), so an endless body is cut at cap + 1 byte with memory
// flat. TLS verification is always on; public-key pins are optional. Proxies come from
// the environment, as libcurl reads them.
//
// Failures: NetworkUnreachable (no connection), NetworkInterrupted (the connection broke
// mid-answer), NetworkTimeout, TlsFailure, TlsPinMismatch, ResponseTooLarge, Cancelled,
// InvalidArgument (a URL libcurl refuses), IoError / DiskFull (download file), and for
// downloads HttpStatus and RangeMismatch. Non-2xx answers of perform() are not errors:
// the caller reads the status.
//
// Thread-safety: an Http object is used by one thread at a time; `cancel` may be set from
// any thread and aborts the exchange in flight within about a second.
#ifndef MDS_SRC_TRANSPORT_HTTP_HPP
#define MDS_SRC_TRANSPORT_HTTP_HPP

#include <mds/error.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mds::transport {

struct HttpSettings {
  std::chrono::milliseconds connect_timeout{10'000};
  std::uint32_t low_speed_bytes_per_second = 32;
  std::chrono::seconds low_speed_window{30};
  std::string ca_file;           // empty: the system's store
  std::vector<std::string> pins; // "sha256//..." each; empty: no pinning
  std::string user_agent = "openmds-sdk";
};

struct HttpRequest {
  std::string method = "GET"; // "GET" or "POST"
  std::string url;
  std::string body;                 // POST only, sent as application/json
  std::vector<std::string> headers; // "Name: value"
  std::uint64_t max_response_bytes = 1u << 20;
  std::chrono::milliseconds deadline{60'000}; // zero: none
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string etag; // as sent, quotes included
  std::optional<std::chrono::seconds> retry_after;
};

struct DownloadRequest {
  std::string url;
  std::filesystem::path part_path; // bytes so far; resumed when if_range is given
  std::string if_range;            // the strong ETag the part was fetched under
  std::uint64_t max_bytes = 0;     // the whole file; 0: no cap beyond HttpSettings
  std::uint64_t total_size = 0;    // the whole file's size when known (a 206 must name it)
  std::chrono::milliseconds deadline{0};
  // Called once a 2xx answer's first body bytes are about to be written, with its ETag,
  // so the caller can record the validator before the part grows (a process killed
  // mid-download then resumes with If-Range). Optional.
  std::function<void(const std::string &etag)> on_body_start;
};

struct DownloadResult {
  std::uint64_t size = 0;         // bytes in part_path now
  std::uint64_t resumed_from = 0; // bytes kept from before; 0 when started from scratch
  bool restarted = false;         // a resume was refused (200, 416, wrong Content-Range)
  std::string etag;
};

class Http {
public:
  explicit Http(HttpSettings settings, const std::atomic<bool> *cancel = nullptr);

  Result<HttpResponse> perform(const HttpRequest &request);

  // Fetches `url` into part_path: resumes with Range + If-Range when part_path has bytes
  // and if_range is set; restarts from zero when the server answers 200 (it ignored or
  // refused the range) or 416. A 206 is taken only when its ETag is the If-Range
  // validator and its Content-Range is "bytes <part size>-<total - 1>/<total>" with the
  // expected total (total_size, when given, and never above max_bytes); any other 206
  // restarts from zero once, and a 206 to that request too is RangeMismatch. Never
  // splices bytes of two different answers. Non-2xx: HttpStatus, the part is kept.
  Result<DownloadResult> download(const DownloadRequest &request);

private:
  Result<DownloadResult> download_once(const DownloadRequest &request, bool allow_resume);

  HttpSettings settings_;
  const std::atomic<bool> *cancel_;
};

} // namespace mds::transport

#endif
