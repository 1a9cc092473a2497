#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxValueBytes = 64 * 1024;
constexpr std::size_t kMaxDescription = 1024;

void write_value(core::json::Writer &writer, const ConfigValue &value) {
  writer.StartObject();
  put(writer, "key", value.key);
  put_raw(writer, "value", value.value_json);
  put(writer, "description", value.description);
  put(writer, "revision", value.revision);
  put_time(writer, "updated_at", value.updated_at);
  writer.EndObject();
}

Response set_value(Storage &storage, const AdminLimits &limits, const Request &request) {
  const auto &app = request.path_params.at("app");
  const auto &key = request.path_params.at("key");
  if (auto valid = check_name("config key", key); !valid) {
    return Response::error(valid.error());
  }
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto object = core::json::ObjectReader::of(body->root(), "config");
  if (auto allowed = object->allow_only({"value", "description"}); !allowed) {
    return Response::error(allowed.error());
  }
  const auto *value = object->find("value");
  if (value == nullptr) {
    return Response::error(make_error(ErrorCode::JsonMissingField, "config.value is required"));
  }
  const auto value_json = core::json::serialize(*value);
  if (value_json.size() > kMaxValueBytes) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "config.value is above 64 KiB"));
  }
  auto description = object->optional_string("description");
  if (!description) {
    return Response::error(description.error());
  }
  if (description->value_or("").size() > kMaxDescription) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "config.description is at most 1024 bytes"));
  }
  auto stored = storage.set_config_value(app, key, value_json, *description, request.actor);
  if (!stored) {
    return Response::error(stored.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_value(writer, *stored);
  return json_answer(200, buffer);
}

Response list_values(Storage &storage, const Request &request) {
  const auto &app = request.path_params.at("app");
  auto values = storage.list_config_values(app);
  if (!values) {
    return Response::error(values.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  put(writer, "app", app);
  put(writer, "revision", values->revision);
  writer.Key("keys");
  writer.StartArray();
  for (const auto &value : values->values) {
    write_value(writer, value);
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response get_value(Storage &storage, const Request &request) {
  auto value = storage.get_config_value(request.path_params.at("app"), request.path_params.at("key"));
  if (!value) {
    return Response::error(value.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_value(writer, *value);
  return json_answer(200, buffer);
}

} // namespace

void add_config_routes(http::Router &router, Storage &storage, const AdminLimits &limits) {
  using http::Access;
  using http::BodyMode;
  router.add({"PUT", "/v1/admin/apps/{app}/config/{key}", Access::Admin, BodyMode::Buffered, limits.json_body,
              [&storage, limits](const Request &request) { return set_value(storage, limits, request); }});
  router.add({"GET", "/v1/admin/apps/{app}/config", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return list_values(storage, request); }});
  router.add({"GET", "/v1/admin/apps/{app}/config/{key}", Access::Admin, BodyMode::None, 0,
              [&storage](const Request &request) { return get_value(storage, request); }});
}

} // namespace mds::server::admin
