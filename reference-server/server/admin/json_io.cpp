#include "server/admin/json_io.hpp"

#include "server/util/time.hpp"

#include <cmath>

namespace mds::server::admin {

Result<core::json::Document> parse_object_body(const http::Request &request, std::size_t limit, bool empty_is_object) {
  std::string_view body = request.body;
  if (body.empty() && empty_is_object) {
    body = "{}";
  }
  core::json::Limits limits;
  limits.max_bytes = limit;
  limits.max_depth = 16;
  auto document = core::json::parse(body, limits);
  if (!document) {
    return document.error();
  }
  if (!document->root().IsObject()) {
    return make_error(ErrorCode::JsonWrongType, "the request body must be a JSON object");
  }
  return document;
}

Status check_name(std::string_view what, std::string_view name) {
  auto refuse = [&] {
    return make_error(ErrorCode::InvalidArgument, std::string(what) + " name \"" + std::string(name) +
                                                      "\": use 1 to 128 of A-Z a-z 0-9 . _ -, starting and "
                                                      "ending with a letter or digit");
  };
  if (name.empty() || name.size() > 128) {
    return refuse();
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    const bool at_edge = i == 0 || i + 1 == name.size();
    if (!alnum && (at_edge || (c != '.' && c != '_' && c != '-'))) {
      return refuse();
    }
  }
  return {};
}

Result<std::vector<std::string>> string_list(const core::json::ObjectReader &object, std::string_view key,
                                             std::size_t max_items, std::size_t max_length) {
  std::vector<std::string> items;
  if (!object.has(key)) {
    return items;
  }
  auto array = object.array(key);
  if (!array) {
    return array.error();
  }
  const auto where = object.where() + "." + std::string(key);
  if ((*array)->Size() > max_items) {
    return make_error(ErrorCode::JsonValueOutOfRange, where + ": at most " + std::to_string(max_items) + " entries");
  }
  for (const auto &item : (*array)->GetArray()) {
    if (!item.IsString()) {
      return make_error(ErrorCode::JsonWrongType, where + ": every entry must be a string");
    }
    if (item.GetStringLength() == 0 || item.GetStringLength() > max_length) {
      return make_error(ErrorCode::JsonValueOutOfRange,
                        where + ": entries are 1 to " + std::to_string(max_length) + " bytes");
    }
    items.emplace_back(core::json::view(item));
  }
  return items;
}

Result<std::uint32_t> percent_basis_points(const core::json::Value &value, std::string_view where) {
  if (!value.IsNumber()) {
    return make_error(ErrorCode::JsonWrongType, std::string(where) + " must be a number");
  }
  const double percent = value.GetDouble();
  const double basis_points = percent * 100.0;
  const double rounded = std::round(basis_points);
  if (!(percent >= 0.0 && percent <= 100.0) || std::fabs(basis_points - rounded) > 1e-6) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      std::string(where) + " must be from 0 to 100 with at most two decimals");
  }
  return static_cast<std::uint32_t>(rounded);
}

void put(core::json::Writer &writer, const char *key, std::string_view value) {
  writer.Key(key);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put(core::json::Writer &writer, const char *key, std::int64_t value) {
  writer.Key(key);
  writer.Int64(value);
}

void put_time(core::json::Writer &writer, const char *key, std::int64_t unix_seconds) {
  put(writer, key, format_utc(unix_seconds));
}

void put_raw(core::json::Writer &writer, const char *key, std::string_view json) {
  writer.Key(key);
  writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void put_percent(core::json::Writer &writer, const char *key, std::uint32_t basis_points) {
  writer.Key(key);
  if (basis_points % 100 == 0) {
    writer.Uint(basis_points / 100);
  } else {
    writer.Double(basis_points / 100.0);
  }
}

http::Response json_answer(unsigned status, const rapidjson::StringBuffer &buffer) {
  return http::Response::json(status, buffer.GetString());
}

} // namespace mds::server::admin
