// POST /v1/events: what devices report after a check, idempotent on event id.
#include "server/admin/json_io.hpp"
#include "server/client/client_api.hpp"
#include "server/util/time.hpp"

#include <set>

namespace mds::server::client {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxEvents = 100;
constexpr std::size_t kMaxText = 256;    // ids, names, versions
constexpr std::size_t kMaxDetail = 1024; // free text

bool known_type(std::string_view type) {
  static const std::set<std::string_view> kTypes = {"offered",     "downloaded",   "installed", "failed",
                                                    "rolled_back", "prompt_shown", "stale"};
  return kTypes.count(type) != 0;
}

Result<std::string> bounded_string(const core::json::ObjectReader &reader, std::string_view key, bool required,
                                   std::size_t max) {
  std::string text;
  if (required) {
    auto value = reader.string(key);
    if (!value) {
      return value.error();
    }
    text = std::move(value.value());
    if (text.empty()) {
      return make_error(ErrorCode::JsonValueOutOfRange, reader.where() + "." + std::string(key) + " is empty");
    }
  } else {
    auto value = reader.optional_string(key);
    if (!value) {
      return value.error();
    }
    text = value->value_or("");
  }
  if (text.size() > max) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      reader.where() + "." + std::string(key) + " is above " + std::to_string(max) + " bytes");
  }
  return text;
}

Result<DeviceEvent> parse_event(const core::json::Value &value, const std::string &where) {
  auto reader = core::json::ObjectReader::of(value, where);
  if (!reader) {
    return reader.error();
  }
  if (auto allowed = reader->allow_only({"id", "type", "time", "release", "package", "version", "code", "detail"});
      !allowed) {
    return allowed.error();
  }
  DeviceEvent event;
  auto id = bounded_string(*reader, "id", true, kMaxText);
  auto type = bounded_string(*reader, "type", true, kMaxText);
  auto time = bounded_string(*reader, "time", true, kMaxText);
  auto release = bounded_string(*reader, "release", false, kMaxText);
  auto package = bounded_string(*reader, "package", false, kMaxText);
  auto version = bounded_string(*reader, "version", false, kMaxText);
  auto detail = bounded_string(*reader, "detail", false, kMaxDetail);
  for (const auto *field : {&id, &type, &time, &release, &package, &version, &detail}) {
    if (!*field) {
      return field->error();
    }
  }
  if (!known_type(*type)) {
    return make_error(ErrorCode::JsonValueOutOfRange, where + ".type \"" + *type + "\" is not a known event type");
  }
  auto at = parse_utc(*time);
  if (!at) {
    return make_error(at.code(), where + ".time: " + at.error().message);
  }
  if (const auto *code = reader->find("code"); code != nullptr && !code->IsNull()) {
    if (!code->IsUint()) {
      return make_error(ErrorCode::JsonWrongType, where + ".code must be an unsigned integer");
    }
    event.code = static_cast<std::int64_t>(code->GetUint());
  }
  event.id = std::move(id.value());
  event.type = std::move(type.value());
  event.time = *at;
  event.release = std::move(release.value());
  event.package = std::move(package.value());
  event.version = std::move(version.value());
  event.detail = std::move(detail.value());
  return event;
}

Response post_events(Storage &storage, const ClientApiOptions &options, const Request &request) {
  auto body = admin::parse_object_body(request, options.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto reader = core::json::ObjectReader::of(body->root(), "request");
  if (auto allowed = reader->allow_only({"app", "device_id", "events"}); !allowed) {
    return Response::error(allowed.error());
  }
  auto app = bounded_string(*reader, "app", true, kMaxText);
  if (!app) {
    return Response::error(app.error());
  }
  auto device_id = bounded_string(*reader, "device_id", true, kMaxText);
  if (!device_id) {
    return Response::error(device_id.error());
  }
  auto list = reader->array("events");
  if (!list) {
    return Response::error(list.error());
  }
  if ((*list)->Size() > kMaxEvents) {
    return Response::error(make_error(ErrorCode::JsonValueOutOfRange,
                                      "request.events holds more than " + std::to_string(kMaxEvents) + " events"));
  }
  std::vector<DeviceEvent> events;
  std::size_t index = 0;
  for (const auto &item : (*list)->GetArray()) {
    auto event = parse_event(item, "request.events[" + std::to_string(index++) + "]");
    if (!event) {
      return Response::error(event.error());
    }
    events.push_back(std::move(event.value()));
  }
  auto held = storage.record_events(*app, *device_id, events);
  if (!held) {
    return Response::error(held.error());
  }
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("accepted");
  writer.StartArray();
  for (const auto &id : *held) {
    writer.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
  }
  writer.EndArray();
  writer.EndObject();
  return admin::json_answer(200, buffer);
}

} // namespace

void add_events_route(http::Router &router, Storage &storage, const ClientApiOptions &options) {
  router.add({"POST", "/v1/events", http::Access::Public, http::BodyMode::Buffered, options.json_body,
              [&storage, options](const Request &request) { return post_events(storage, options, request); }});
}

} // namespace mds::server::client
