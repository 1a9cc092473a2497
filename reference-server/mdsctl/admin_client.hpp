// mdsctl's side of the admin API (docs/protocol-admin.md): where the server is, the bearer
// token, and HTTP(S) exchanges through libcurl. Commands build request bodies and read
// answers; this module only moves bytes and turns failures into errors.
//
// Every exchange is bounded: a 10 s connect timeout, a low-speed limit (less than 1 byte/s
// for 120 s aborts), an overall deadline of 10 minutes for JSON calls (none for uploads,
// which the low-speed limit still guards), and answers capped at 64 MiB. TLS
// verification is always on (proxies and CA bundles come from the environment, as libcurl
// reads them). The token is sent in the Authorization header and never printed.
//
// Failures: a server answer outside 2xx becomes the error it carries
// ({"error": {"code", "name", "message"}}), or HttpStatus when it carries none; transport
// failures get the SDK's network codes: NetworkUnreachable, NetworkTimeout,
// NetworkInterrupted, TlsFailure, ResponseTooLarge, InvalidArgument (a URL libcurl refuses).
#ifndef MDS_MDSCTL_ADMIN_CLIENT_HPP
#define MDS_MDSCTL_ADMIN_CLIENT_HPP

#include "cli/command_line.hpp"
#include "core/json/json.hpp"

#include <mds/error.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mds::mdsctl {

struct ServerSettings {
  std::string base_url; // "https://mds.example.com", no trailing '/'
  std::string token;
};

// --server and --token-file, each falling back to the environment (MDS_SERVER,
// MDS_TOKEN_FILE). The token is the token file's first line without surrounding
// whitespace. InvalidArgument when either is missing or the token line is empty or holds
// spaces; the token file's own read errors (NotFound, IoError) otherwise.
Result<ServerSettings> server_settings(const cli::CommandLine &line);

// The body of an upload, read piece by piece: fills up to `capacity` bytes of `buffer` and
// returns how many it wrote, 0 at the end.
using BodyReader = std::function<Result<std::size_t>(char *buffer, std::size_t capacity)>;

struct Upload {
  std::string content_type;
  std::uint64_t size = 0; // sent as Content-Length; the reader must give exactly this many bytes
  BodyReader read;
  std::function<void(std::uint64_t sent)> on_progress; // optional
};

struct AdminAnswer {
  long status = 0;
  core::json::Document document;
};

class AdminClient {
public:
  explicit AdminClient(ServerSettings settings);
  ~AdminClient();
  AdminClient(const AdminClient &) = delete;
  AdminClient &operator=(const AdminClient &) = delete;

  // `path` starts with "/v1/admin/..." (query included). An empty body sends none; any
  // other is sent as application/json. A 2xx answer must be a JSON object.
  Result<AdminAnswer> call(std::string_view method, const std::string &path, const std::string &body = {});

  // Streams upload.read as the body of a PUT or POST.
  Result<AdminAnswer> upload(std::string_view method, const std::string &path, const Upload &upload);

private:
  struct Exchange;
  Result<AdminAnswer> perform(std::string_view method, const std::string &path, const std::string *body,
                              const Upload *upload);

  ServerSettings settings_;
  void *curl_; // one easy handle, so consecutive calls reuse the connection
};

// One path segment or query value, percent-encoded (everything but A-Z a-z 0-9 - . _ ~).
std::string url_encode(std::string_view text);

} // namespace mds::mdsctl

#endif
