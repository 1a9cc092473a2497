#include "server/http/message.hpp"

#include "core/json/json.hpp"

namespace mds::server::http {

std::optional<std::string> Request::query_param(const std::string &name) const {
  const auto found = query.find(name);
  if (found == query.end()) {
    return std::nullopt;
  }
  return found->second;
}

std::optional<std::string> Request::header(const std::string &name) const {
  const auto found = headers.find(name);
  if (found == headers.end()) {
    return std::nullopt;
  }
  return found->second;
}

Response Response::json(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response Response::text(unsigned status, std::string content_type, std::string body) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

Response Response::error(const Error &error) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("code");
  writer.Uint(static_cast<unsigned>(error.code));
  writer.Key("name");
  writer.String(to_string(error.code));
  writer.Key("message");
  writer.String(error.message.c_str(), static_cast<rapidjson::SizeType>(error.message.size()));
  writer.EndObject();
  writer.EndObject();
  return json(http_status_for(error.code), buffer.GetString());
}

unsigned http_status_for(ErrorCode code) {
  switch (code) {
  case ErrorCode::Ok:
    return 200;
  case ErrorCode::Unauthorized:
    return 401;
  case ErrorCode::NotFound:
    return 404;
  case ErrorCode::Unsupported:
    return 405;
  case ErrorCode::AlreadyExists:
  case ErrorCode::Conflict:
  case ErrorCode::ReleaseStateInvalid:
  case ErrorCode::Locked:
    return 409;
  case ErrorCode::PayloadTooLarge:
  case ErrorCode::JsonTooLarge:
    return 413;
  case ErrorCode::RangeNotSatisfiable:
    return 416;
  case ErrorCode::RateLimited:
    return 429;
  case ErrorCode::ShutDown:
  case ErrorCode::Timeout:
    return 503;
  case ErrorCode::DiskFull:
    return 507;
  case ErrorCode::Internal:
  case ErrorCode::IoError:
  case ErrorCode::StorageCorrupt:
  case ErrorCode::StorageFailure:
  case ErrorCode::CryptoFailure:
    return 500;
  default:
    break;
  }
  // Everything else describes input the client sent: JSON, versions, keys, manifests.
  return 400;
}

} // namespace mds::server::http
