#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"

#include "core/crypto/ecdsa.hpp"

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxPublisherKeys = 8;
constexpr std::size_t kMaxPemLength = 4096;

// Only ECDSA P-256 keys in SubjectPublicKeyInfo PEM: what devices and mdsctl verify with.
Result<PublisherKey> read_publisher_key(const std::string &pem, std::size_t index) {
  auto key = core::crypto::PublicKey::from_pem(pem);
  if (!key) {
    return make_error(ErrorCode::KeyInvalid, "publisher_keys[" + std::to_string(index) +
                                                 "] is not an ECDSA P-256 public key in PEM: " + key.error().message);
  }
  return PublisherKey{key->key_id(), key->to_pem()};
}

void write_app(core::json::Writer &writer, const App &app) {
  writer.StartObject();
  put(writer, "name", app.name);
  put(writer, "platform", to_string(app.platform));
  writer.Key("publisher_keys");
  writer.StartArray();
  for (const auto &key : app.publisher_keys) {
    writer.StartObject();
    put(writer, "key_id", key.key_id);
    put(writer, "pem", key.pem);
    writer.EndObject();
  }
  writer.EndArray();
  put_time(writer, "created_at", app.created_at);
  writer.EndObject();
}

Response app_answer(unsigned status, const App &app) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  write_app(writer, app);
  return json_answer(status, buffer);
}

Response create_app(Storage &storage, const AdminLimits &limits, const Request &request) {
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto object = core::json::ObjectReader::of(body->root(), "app");
  if (auto allowed = object->allow_only({"name", "platform", "publisher_keys"}); !allowed) {
    return Response::error(allowed.error());
  }
  auto name = object->string("name");
  if (!name) {
    return Response::error(name.error());
  }
  if (auto valid = check_name("app", *name); !valid) {
    return Response::error(valid.error());
  }
  auto platform_name = object->string("platform");
  if (!platform_name) {
    return Response::error(platform_name.error());
  }
  const auto platform = platform_from_string(*platform_name);
  if (!platform) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange, "app.platform must be android or ios"));
  }
  if (!object->has("publisher_keys")) {
    return Response::error(make_error(ErrorCode::JsonMissingField, "app.publisher_keys is required"));
  }
  auto keys = string_list(*object, "publisher_keys", kMaxPublisherKeys, kMaxPemLength);
  if (!keys) {
    return Response::error(keys.error());
  }
  if (keys->empty()) {
    return Response::error(
        make_error(ErrorCode::JsonValueOutOfRange, "app.publisher_keys needs at least one publisher key"));
  }
  NewApp app;
  app.name = *name;
  app.platform = *platform;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    auto key = read_publisher_key((*keys)[i], i);
    if (!key) {
      return Response::error(key.error());
    }
    app.publisher_keys.push_back(std::move(key.value()));
  }
  auto created = storage.create_app(app, request.actor);
  if (!created) {
    return Response::error(created.error());
  }
  return app_answer(201, *created);
}

Response list_apps(Storage &storage) {
  auto apps = storage.list_apps();
  if (!apps) {
    return Response::error(apps.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("apps");
  writer.StartArray();
  for (const auto &app : *apps) {
    write_app(writer, app);
  }
  writer.EndArray();
  writer.EndObject();
  return json_answer(200, buffer);
}

Response get_app(Storage &storage, const Request &request) {
  auto app = storage.get_app(request.path_params.at("name"));
  if (!app) {
    return Response::error(app.error());
  }
  return app_answer(200, *app);
}

} // namespace

void add_app_routes(http::Router &router, Storage &storage, const AdminLimits &limits) {
  router.add({"POST", "/v1/admin/apps", http::Access::Admin, http::BodyMode::Buffered, limits.json_body,
              [&storage, limits](const Request &request) { return create_app(storage, limits, request); }});
  router.add({"GET", "/v1/admin/apps", http::Access::Admin, http::BodyMode::None, 0,
              [&storage](const Request &) { return list_apps(storage); }});
  router.add({"GET", "/v1/admin/apps/{name}", http::Access::Admin, http::BodyMode::None, 0,
              [&storage](const Request &request) { return get_app(storage, request); }});
}

} // namespace mds::server::admin
