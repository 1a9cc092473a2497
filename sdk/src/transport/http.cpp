#include "transport/http.hpp"

#include "io/file_io.hpp"
#include "transport/protocol.hpp"

#include <curl/curl.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace mds::transport {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL *easy) const { curl_easy_cleanup(easy); }
};
struct ListDeleter {
  void operator()(curl_slist *list) const { curl_slist_free_all(list); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

std::string lower(std::string text) {
  for (char &c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// What the callbacks see of one exchange.
struct Exchange {
  const std::atomic<bool> *cancel = nullptr;
  std::uint64_t cap = 0;
  std::uint64_t received = 0; // body bytes of the final answer
  bool too_large = false;
  long status = 0;
  std::string etag;
  std::string retry_after;
  std::string content_range;
  // perform(): the body in memory. download(): the file.
  std::string body;
  int fd = -1;
  const std::filesystem::path *path = nullptr; // of the file behind fd
  std::uint64_t resume_from = 0;               // bytes in the file the answer should continue
  bool file_positioned = false;
  std::uint64_t file_size = 0;
  bool restart = false; // 200 / 416 / bad Content-Range: start over
  std::optional<Error> file_error;
  const std::function<void(const std::string &)> *on_body_start = nullptr;

  std::string if_range;         // the validator a resumed request sent
  std::uint64_t total_size = 0; // the whole file's size when known

  // A 206 continues the part only when it is the representation the part came from (its
  // ETag is the If-Range validator) and its Content-Range, "bytes first-last/total",
  // starts where the part ends and runs to the end of a file of the expected size.
  bool partial_continues() const {
    if (resume_from == 0 || if_range.empty() || etag != if_range) {
      return false;
    }
    const std::string text = lower(content_range);
    if (text.rfind("bytes ", 0) != 0) {
      return false;
    }
    std::size_t position = 6;
    auto number = [&](std::uint64_t &value) {
      const std::size_t begin = position;
      value = 0;
      while (position < text.size() && text[position] >= '0' && text[position] <= '9' && position - begin < 19) {
        value = value * 10 + static_cast<std::uint64_t>(text[position] - '0');
        ++position;
      }
      return position > begin;
    };
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t total = 0;
    if (!number(first) || position >= text.size() || text[position++] != '-' || !number(last) ||
        position >= text.size() || text[position++] != '/' || !number(total) || position != text.size()) {
      return false;
    }
    if (first != resume_from || last + 1 != total || (total_size != 0 && total != total_size) ||
        (cap != 0 && total > cap)) {
      return false;
    }
    return true;
  }
};

std::size_t on_header(char *data, std::size_t size, std::size_t count, void *user) {
  auto &exchange = *static_cast<Exchange *>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new answer (after 100 Continue, or a redirect): forget the previous headers.
    exchange.etag.clear();
    exchange.retry_after.clear();
    exchange.content_range.clear();
    const auto space = line.find(' ');
    exchange.status =
        space == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    const std::string name = lower(std::string(line.substr(0, colon)));
    const std::string value = trim(line.substr(colon + 1));
    if (name == "etag") {
      exchange.etag = value;
    } else if (name == "retry-after") {
      exchange.retry_after = value;
    } else if (name == "content-range") {
      exchange.content_range = value;
    }
  }
  return size * count;
}

// How many of `bytes` fit under the cap; counts them. Fewer than `bytes` means the byte
// at cap + 1 arrived: the caller keeps the ones that fit and aborts.
std::size_t within_cap(Exchange &exchange, std::size_t bytes) {
  std::size_t allowed = bytes;
  if (exchange.cap != 0 && exchange.received + bytes > exchange.cap) {
    allowed = static_cast<std::size_t>(exchange.cap - exchange.received);
    exchange.too_large = true;
  }
  exchange.received += allowed;
  return allowed;
}

std::size_t on_body(char *data, std::size_t size, std::size_t count, void *user) {
  auto &exchange = *static_cast<Exchange *>(user);
  const std::size_t bytes = size * count;
  const std::size_t allowed = within_cap(exchange, bytes);
  exchange.body.append(data, allowed);
  return allowed == bytes ? bytes : 0; // 0 aborts with CURLE_WRITE_ERROR
}

// Error answers of a download are kept in memory (small), never in the file.
constexpr std::uint64_t kErrorBodyCap = 64u << 10;

std::size_t on_download_body(char *data, std::size_t size, std::size_t count, void *user) {
  auto &exchange = *static_cast<Exchange *>(user);
  const std::size_t bytes = size * count;
  if (exchange.status < 200 || exchange.status >= 300) {
    if (exchange.body.size() + bytes > kErrorBodyCap) {
      return bytes; // drop the rest of an error body
    }
    exchange.body.append(data, bytes);
    return bytes;
  }
  if (!exchange.file_positioned) {
    std::uint64_t offset = 0;
    if (exchange.status == 206) {
      if (!exchange.partial_continues()) {
        exchange.restart = true;
        return 0;
      }
      offset = exchange.resume_from;
    }
    // 200 (or a 206 we did not ask for a range in): the whole body from byte 0.
    if (auto truncated = io::truncate_file(exchange.fd, offset, *exchange.path); !truncated) {
      exchange.file_error = std::move(truncated).error();
      return 0;
    }
    if (::lseek(exchange.fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      exchange.file_error = io::error_from_errno(errno, "seek", *exchange.path);
      return 0;
    }
    exchange.file_size = offset;
    exchange.received = offset;
    exchange.file_positioned = true;
    if (exchange.on_body_start != nullptr && *exchange.on_body_start) {
      (*exchange.on_body_start)(exchange.etag);
    }
  }
  const std::size_t allowed = within_cap(exchange, bytes);
  if (auto written = io::write_all(exchange.fd, data, allowed, *exchange.path); !written) {
    exchange.file_error = std::move(written).error();
    return 0;
  }
  exchange.file_size += allowed;
  return allowed == bytes ? bytes : 0;
}

int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto &exchange = *static_cast<Exchange *>(user);
  return exchange.cancel != nullptr && exchange.cancel->load() ? 1 : 0;
}

Error map_curl_error(CURLcode code, const Exchange &exchange, const char *detail, const std::string &url) {
  std::string message = url + ": " + (detail[0] != '\0' ? std::string(detail) : std::string(curl_easy_strerror(code)));
  switch (code) {
  case CURLE_WRITE_ERROR:
  case CURLE_FILESIZE_EXCEEDED:
    if (exchange.file_error) {
      return *exchange.file_error;
    }
    if (exchange.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      return make_error(ErrorCode::ResponseTooLarge,
                        url + ": answer larger than " + std::to_string(exchange.cap) + " bytes");
    }
    return make_error(ErrorCode::Internal, message);
  case CURLE_OPERATION_TIMEDOUT:
    return make_error(ErrorCode::NetworkTimeout, message);
  case CURLE_ABORTED_BY_CALLBACK:
    return make_error(ErrorCode::Cancelled, message);
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    return make_error(ErrorCode::TlsPinMismatch, message);
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_USE_SSL_FAILED:
    return make_error(ErrorCode::TlsFailure, message);
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return make_error(ErrorCode::InvalidArgument, message);
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return make_error(ErrorCode::NetworkInterrupted, message);
  default:
    return make_error(ErrorCode::NetworkUnreachable, message);
  }
}

} // namespace

Http::Http(HttpSettings settings, const std::atomic<bool> *cancel) : settings_(std::move(settings)), cancel_(cancel) {
  global_init();
}

namespace {

// The options every exchange shares.
Result<Easy> make_easy(const HttpSettings &settings, const std::string &url, std::chrono::milliseconds deadline,
                       std::uint64_t cap, Exchange &exchange, char *error_buffer) {
  Easy easy(curl_easy_init());
  if (!easy) {
    return make_error(ErrorCode::Internal, "curl_easy_init failed");
  }
  CURL *e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(settings.low_speed_bytes_per_second));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(settings.low_speed_window.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(deadline.count()));
  if (cap != 0) {
    // Refuses a declared Content-Length above the cap before any byte; bodies of
    // unknown length are counted in the write callback.
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(cap));
  }
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!settings.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, settings.ca_file.c_str());
  }
  std::string pins;
  for (const auto &pin : settings.pins) {
    pins += (pins.empty() ? "" : ";") + pin;
  }
  if (!pins.empty() && curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, pins.c_str()) != CURLE_OK) {
    return make_error(ErrorCode::Unsupported, "this libcurl cannot pin public keys");
  }
  curl_easy_setopt(e, CURLOPT_USERAGENT, settings.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &exchange);
  return easy;
}

} // namespace

Result<HttpResponse> Http::perform(const HttpRequest &request) {
  if (request.method != "GET" && request.method != "POST") {
    return make_error(ErrorCode::InvalidArgument, "method " + request.method);
  }
  Exchange exchange;
  exchange.cancel = cancel_;
  exchange.cap = request.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto easy = make_easy(settings_, request.url, request.deadline, request.max_response_bytes, exchange, error_buffer);
  if (!easy) {
    return std::move(easy).error();
  }
  CURL *e = easy->get();
  curl_slist *raw_headers = nullptr;
  for (const auto &header : request.headers) {
    raw_headers = curl_slist_append(raw_headers, header.c_str());
  }
  if (request.method == "POST") {
    raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
    raw_headers = curl_slist_append(raw_headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  List headers(raw_headers);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &exchange);
  const CURLcode code = curl_easy_perform(e);
  if (code != CURLE_OK) {
    return map_curl_error(code, exchange, error_buffer, request.url);
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  HttpResponse response;
  response.status = status;
  response.body = std::move(exchange.body);
  response.etag = exchange.etag;
  if (!exchange.retry_after.empty()) {
    response.retry_after = parse_retry_after(exchange.retry_after, std::chrono::system_clock::now());
  }
  return response;
}

Result<DownloadResult> Http::download(const DownloadRequest &request) {
  auto first = download_once(request, true);
  if (!first && first.code() == ErrorCode::RangeMismatch) {
    auto second = download_once(request, false);
    if (second) {
      second->restarted = true;
    }
    return second;
  }
  return first;
}

Result<DownloadResult> Http::download_once(const DownloadRequest &request, bool allow_resume) {
  auto opened = io::open_for_writing(AT_FDCWD, request.part_path.c_str(), O_RDWR, 0600, request.part_path);
  if (!opened) {
    return std::move(opened).error();
  }
  const int fd = *opened;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return io::error_from_errno(errno, "stat", request.part_path);
  }
  std::uint64_t existing = static_cast<std::uint64_t>(info.st_size);
  const bool resume = allow_resume && existing > 0 && !request.if_range.empty() &&
                      (request.max_bytes == 0 || existing < request.max_bytes);
  if (!resume && existing > 0) {
    if (auto truncated = io::truncate_file(fd, 0, request.part_path); !truncated) {
      return std::move(truncated).error();
    }
    existing = 0;
  }

  Exchange exchange;
  exchange.cancel = cancel_;
  exchange.cap = request.max_bytes;
  exchange.fd = fd;
  exchange.path = &request.part_path;
  exchange.resume_from = existing;
  exchange.if_range = resume ? request.if_range : std::string();
  exchange.total_size = request.total_size;
  exchange.on_body_start = &request.on_body_start;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  // The size cap applies to the whole file, so a resumed answer's Content-Length is
  // checked in the write callback, not by libcurl.
  auto easy =
      make_easy(settings_, request.url, request.deadline, resume ? 0 : request.max_bytes, exchange, error_buffer);
  if (!easy) {
    return std::move(easy).error();
  }
  CURL *e = easy->get();
  curl_slist *raw_headers = nullptr;
  if (resume) {
    raw_headers = curl_slist_append(raw_headers, ("Range: bytes=" + std::to_string(existing) + "-").c_str());
    raw_headers = curl_slist_append(raw_headers, ("If-Range: " + request.if_range).c_str());
  }
  List headers(raw_headers);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_download_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &exchange);
  const CURLcode code = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (exchange.restart || (code == CURLE_OK && status == 416)) {
    if (auto truncated = io::truncate_file(fd, 0, request.part_path); !truncated) {
      return std::move(truncated).error();
    }
    return make_error(ErrorCode::RangeMismatch, request.url + ": the server did not continue the partial download (" +
                                                    std::to_string(status) + " " + exchange.content_range + ")");
  }
  if (code != CURLE_OK) {
    return map_curl_error(code, exchange, error_buffer, request.url);
  }
  if (status < 200 || status >= 300) {
    return make_error(ErrorCode::HttpStatus,
                      request.url + ": HTTP " + std::to_string(status) + ": " + describe_error_body(exchange.body));
  }
  if (!exchange.file_positioned) {
    // An empty body: a 200 means an empty file; a 206 cannot be empty.
    if (status == 206) {
      return make_error(ErrorCode::RangeMismatch, request.url + ": empty partial answer");
    }
    if (auto truncated = io::truncate_file(fd, 0, request.part_path); !truncated) {
      return std::move(truncated).error();
    }
  }
  if (auto synced = io::sync_file(fd, request.part_path); !synced) {
    return std::move(synced).error();
  }
  DownloadResult result;
  result.size = exchange.file_positioned ? exchange.file_size : 0;
  result.resumed_from = status == 206 ? existing : 0;
  result.restarted = resume && status == 200;
  result.etag = exchange.etag;
  return result;
}

} // namespace mds::transport
