#include "admin_client.hpp"

#include "io/file_io.hpp"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>

namespace mds::mdsctl {
namespace {

constexpr std::uint64_t kMaxTokenFileBytes = 64 * 1024;
constexpr std::uint64_t kMaxAnswerBytes = 64ull << 20;
constexpr long kConnectTimeoutMs = 10'000;
constexpr long kLowSpeedSeconds = 120;
constexpr long kCallDeadlineMs = 600'000;
constexpr long kUploadBufferBytes = 512 * 1024;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<std::string> option_or_environment(const cli::CommandLine &line, const char *option,
                                                 const char *variable) {
  if (auto given = line.value(option)) {
    return given;
  }
  const char *from_environment = std::getenv(variable);
  if (from_environment != nullptr && *from_environment != '\0') {
    return std::string(from_environment);
  }
  return std::nullopt;
}

// The SDK's transport maps libcurl's failures the same way (sdk/src/transport/http.cpp).
Error transport_error(CURLcode code, const char *detail, bool answer_too_large) {
  std::string message = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
  case CURLE_WRITE_ERROR:
    if (answer_too_large) {
      return make_error(ErrorCode::ResponseTooLarge, "the server's answer is above 64 MiB");
    }
    return make_error(ErrorCode::Internal, message);
  case CURLE_ABORTED_BY_CALLBACK:
    return make_error(ErrorCode::Cancelled, message);
  case CURLE_OPERATION_TIMEDOUT:
    return make_error(ErrorCode::NetworkTimeout, message);
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
    return make_error(ErrorCode::InvalidArgument, "--server: " + message);
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

// A non-2xx answer: the error it carries, or HttpStatus with the start of its body.
Error answer_error(long status, const std::string &body) {
  core::json::Limits limits;
  limits.max_bytes = kMaxAnswerBytes;
  if (auto document = core::json::parse(body, limits); document.ok() && document->root().IsObject()) {
    const auto &root = document->root();
    const auto error = root.FindMember("error");
    if (error != root.MemberEnd() && error->value.IsObject()) {
      const auto &object = error->value;
      const auto code = object.FindMember("code");
      const auto name = object.FindMember("name");
      const auto message = object.FindMember("message");
      const std::string text = message != object.MemberEnd() && message->value.IsString()
                                   ? std::string(core::json::view(message->value))
                                   : std::string();
      if (code != object.MemberEnd() && code->value.IsUint() && is_known_error_code(code->value.GetUint())) {
        return make_error(static_cast<ErrorCode>(code->value.GetUint()), text);
      }
      // A code this mdsctl does not know (a newer server): keep the server's name.
      const std::string server_name =
          name != object.MemberEnd() && name->value.IsString() ? std::string(core::json::view(name->value)) : "?";
      return make_error(ErrorCode::HttpStatus, "HTTP " + std::to_string(status) + ", " + server_name + ": " + text);
    }
  }
  return make_error(ErrorCode::HttpStatus,
                    "HTTP " + std::to_string(status) + " without an error document: " + body.substr(0, 200));
}

} // namespace

Result<ServerSettings> server_settings(const cli::CommandLine &line) {
  auto server = option_or_environment(line, "server", "MDS_SERVER");
  if (!server) {
    return make_error(ErrorCode::InvalidArgument, "--server URL is required (or MDS_SERVER)");
  }
  auto token_file = option_or_environment(line, "token-file", "MDS_TOKEN_FILE");
  if (!token_file) {
    return make_error(ErrorCode::InvalidArgument, "--token-file FILE is required (or MDS_TOKEN_FILE)");
  }
  auto text = io::read_file(*token_file, kMaxTokenFileBytes);
  if (!text) {
    return std::move(text).error();
  }
  // Messages below never quote the file's content: it is a secret.
  const std::string_view first_line = std::string_view(*text).substr(0, text->find('\n'));
  const std::string_view token = trim(first_line);
  if (token.empty()) {
    return make_error(ErrorCode::InvalidArgument, *token_file + ": the first line must hold the admin token");
  }
  for (char c : token) {
    if (is_space(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error(ErrorCode::InvalidArgument,
                        *token_file +
                            ": the first line must hold the token alone (no name, spaces or control characters)");
    }
  }
  std::string base_url = *server;
  while (!base_url.empty() && base_url.back() == '/') {
    base_url.pop_back();
  }
  return ServerSettings{base_url, std::string(token)};
}

std::string url_encode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct AdminClient::Exchange {
  std::string body;
  bool too_large = false;
  const Upload *upload = nullptr;
  std::uint64_t sent = 0;
  std::optional<Error> read_error;

  static std::size_t on_write(char *data, std::size_t size, std::size_t count, void *self) {
    auto *exchange = static_cast<Exchange *>(self);
    const std::size_t bytes = size * count;
    if (exchange->body.size() + bytes > kMaxAnswerBytes) {
      exchange->too_large = true;
      return 0;
    }
    exchange->body.append(data, bytes);
    return bytes;
  }

  static std::size_t on_read(char *buffer, std::size_t size, std::size_t count, void *self) {
    auto *exchange = static_cast<Exchange *>(self);
    auto got = exchange->upload->read(buffer, size * count);
    if (!got) {
      exchange->read_error = std::move(got).error();
      return CURL_READFUNC_ABORT;
    }
    exchange->sent += *got;
    if (exchange->sent > exchange->upload->size) {
      exchange->read_error = make_error(ErrorCode::FileSizeMismatch, "the upload grew while it was sent");
      return CURL_READFUNC_ABORT;
    }
    if (*got == 0 && exchange->sent < exchange->upload->size) {
      exchange->read_error = make_error(ErrorCode::FileSizeMismatch, "the upload shrank while it was sent");
      return CURL_READFUNC_ABORT;
    }
    return *got;
  }

  static int on_progress(void *self, curl_off_t, curl_off_t, curl_off_t, curl_off_t uploaded) {
    auto *exchange = static_cast<Exchange *>(self);
    if (exchange->upload != nullptr && exchange->upload->on_progress) {
      exchange->upload->on_progress(static_cast<std::uint64_t>(uploaded));
    }
    return 0;
  }
};

AdminClient::AdminClient(ServerSettings settings) : settings_(std::move(settings)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

AdminClient::~AdminClient() {
  if (curl_ != nullptr) {
    curl_easy_cleanup(static_cast<CURL *>(curl_));
  }
}

Result<AdminAnswer> AdminClient::call(std::string_view method, const std::string &path, const std::string &body) {
  return perform(method, path, body.empty() ? nullptr : &body, nullptr);
}

Result<AdminAnswer> AdminClient::upload(std::string_view method, const std::string &path, const Upload &upload) {
  return perform(method, path, nullptr, &upload);
}

Result<AdminAnswer> AdminClient::perform(std::string_view method, const std::string &path, const std::string *body,
                                         const Upload *upload) {
  auto *easy = static_cast<CURL *>(curl_);
  if (easy == nullptr) {
    return make_error(ErrorCode::Internal, "curl_easy_init failed");
  }
  curl_easy_reset(easy); // keeps the connection cache
  Exchange exchange;
  exchange.upload = upload;
  char detail[CURL_ERROR_SIZE] = {};
  const std::string url = settings_.base_url + path;
  const std::string method_text(method);
  const std::string authorization = "Authorization: Bearer " + settings_.token;

  curl_slist *headers = nullptr;
  headers = curl_slist_append(headers, authorization.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string content_type;
  if (body != nullptr) {
    content_type = "Content-Type: application/json";
  } else if (upload != nullptr) {
    content_type = "Content-Type: " + upload->content_type;
  }
  if (!content_type.empty()) {
    headers = curl_slist_append(headers, content_type.c_str());
  }

  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "mdsctl");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Exchange::on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  if (body != nullptr) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else if (upload == nullptr && (method == "POST" || method == "PUT")) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, ""); // "Content-Length: 0", not a body of unknown length
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
  }
  if (upload != nullptr) {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Exchange::on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &exchange);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload->size));
    curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &Exchange::on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &exchange);
  } else {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, kCallDeadlineMs);
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

  const CURLcode code = curl_easy_perform(easy);
  curl_slist_free_all(headers);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  if (exchange.read_error) {
    return std::move(*exchange.read_error);
  }
  if (code != CURLE_OK) {
    return transport_error(code, detail, exchange.too_large);
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    return answer_error(status, exchange.body);
  }
  core::json::Limits limits;
  limits.max_bytes = kMaxAnswerBytes;
  auto document = core::json::parse(exchange.body, limits);
  if (!document) {
    return make_error(document.code(), "the server's answer to " + method_text + " " + path +
                                           " is not JSON: " + document.error().message);
  }
  if (!document->root().IsObject()) {
    return make_error(ErrorCode::JsonWrongType,
                      "the server's answer to " + method_text + " " + path + " is not a JSON object");
  }
  return AdminAnswer{status, std::move(*document)};
}

} // namespace mds::mdsctl
