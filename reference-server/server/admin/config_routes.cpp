#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"
#include "server/targeting/config_resolution.hpp"

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
  put_raw(writer, "variants", value.variants_json);
  put(writer, "description", value.description);
  put(writer, "revision", value.revision);
  put_time(writer, "updated_at", value.updated_at);
  writer.EndObject();
}

// A value of at most 64 KiB as compact JSON.
Result<std::string> bounded_value(const core::json::Value &value, const std::string &where) {
  auto json = core::json::serialize(value);
  if (json.size() > kMaxValueBytes) {
    return make_error(ErrorCode::JsonValueOutOfRange, where + " is above 64 KiB");
  }
  return json;
}

// "variants": [{"when": [filter expression, ...], "value": any}, ...] (protocol-admin.md,
// "Targeted config values"), read into the stored form.
Result<std::string> read_variants(const core::json::Value &array) {
  if (!array.IsArray()) {
    return make_error(ErrorCode::JsonWrongType, "config.variants must be an array");
  }
  if (array.Size() > targeting::kMaxConfigVariants) {
    return make_error(ErrorCode::JsonValueOutOfRange, "config.variants holds more than 100 variants");
  }
  std::vector<targeting::ConfigVariant> variants;
  for (rapidjson::SizeType index = 0; index < array.Size(); ++index) {
    const std::string where = "config.variants[" + std::to_string(index) + "]";
    auto object = core::json::ObjectReader::of(array[index], where);
    if (!object) {
      return object.error();
    }
    if (auto allowed = object->allow_only({"when", "value"}); !allowed) {
      return allowed.error();
    }
    const auto *when = object->find("when");
    const auto *value = object->find("value");
    if (when == nullptr || value == nullptr) {
      return make_error(ErrorCode::JsonMissingField, where + (when == nullptr ? ".when" : ".value") + " is required");
    }
    if (!when->IsArray()) {
      return make_error(ErrorCode::JsonWrongType, where + ".when must be an array of filter expressions");
    }
    if (when->Empty() || when->Size() > targeting::kMaxVariantFilters) {
      return make_error(ErrorCode::JsonValueOutOfRange, where + ".when holds 1 to 32 filters");
    }
    targeting::ConfigVariant variant;
    for (rapidjson::SizeType position = 0; position < when->Size(); ++position) {
      const auto &expression = (*when)[position];
      const std::string filter_where = where + ".when[" + std::to_string(position) + "]";
      if (!expression.IsString()) {
        return make_error(ErrorCode::JsonWrongType, filter_where + " must be a string");
      }
      auto filter = targeting::parse_filter(core::json::view(expression));
      if (!filter) {
        return make_error(filter.code(), filter_where + ": " + filter.error().message);
      }
      variant.when.push_back(std::move(filter.value()));
    }
    auto json = bounded_value(*value, where + ".value");
    if (!json) {
      return json.error();
    }
    variant.value_json = std::move(json.value());
    variants.push_back(std::move(variant));
  }
  return targeting::variants_to_json(variants);
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
  if (auto allowed = object->allow_only({"value", "description", "variants"}); !allowed) {
    return Response::error(allowed.error());
  }
  const auto *value = object->find("value");
  if (value == nullptr) {
    return Response::error(make_error(ErrorCode::JsonMissingField, "config.value is required"));
  }
  auto value_json = bounded_value(*value, "config.value");
  if (!value_json) {
    return Response::error(value_json.error());
  }
  auto description = object->optional_string("description");
  if (!description) {
    return Response::error(description.error());
  }
  if (description->value_or("").size() > kMaxDescription) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "config.description is at most 1024 bytes"));
  }
  std::optional<std::string> variants; // absent: keep the current ones
  if (const auto *given = object->find("variants"); given != nullptr) {
    auto read = read_variants(*given);
    if (!read) {
      return Response::error(read.error());
    }
    variants = std::move(read.value());
  }
  auto stored = storage.set_config_value(app, key, *value_json, *description, variants, request.actor);
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
