// POST /v1/admin/simulate: what a device would get and why, release by release, without
// changing anything (time-window places are looked at, never taken).
#include "server/admin/admin_api.hpp"
#include "server/admin/json_io.hpp"
#include "server/packages/offers.hpp"
#include "server/targeting/config_resolution.hpp"
#include "server/targeting/release_targeting.hpp"
#include "server/util/time.hpp"

#include <map>
#include <memory>
#include <vector>

namespace mds::server::admin {
namespace {

using http::Request;
using http::Response;

void write_decision(core::json::Writer &writer, const Release &release, const targeting::Decision &decision) {
  writer.StartObject();
  put(writer, "id", release.id);
  put(writer, "kind", to_string(release.kind));
  write_release_package(writer, release);
  put(writer, "stage", to_string(release.progress.stage));
  put_percent(writer, "percent", release.progress.percent_bp);
  writer.Key("eligible");
  writer.Bool(decision.eligible);
  put(writer, "door", decision.door_name());
  writer.Key("failed_filter");
  if (decision.failed_filter) {
    const auto &failure = *decision.failed_filter;
    writer.StartObject();
    put(writer, "source", failure.source);
    put(writer, "index", static_cast<std::int64_t>(failure.index));
    put(writer, "expression", failure.expression);
    writer.Key("device_value");
    if (failure.device_value) {
      writer.String(failure.device_value->c_str(), static_cast<rapidjson::SizeType>(failure.device_value->size()));
    } else {
      writer.Null();
    }
    writer.EndObject();
  } else {
    writer.Null();
  }
  writer.Key("bucket");
  if (decision.bucket) {
    writer.Uint(*decision.bucket);
  } else {
    writer.Null();
  }
  writer.Key("window");
  if (decision.window) {
    writer.StartObject();
    writer.Key("admitted");
    writer.Bool(decision.window->admitted);
    writer.Key("already");
    writer.Bool(decision.window->already);
    put(writer, "admitted_count", static_cast<std::int64_t>(decision.window->admitted_count));
    writer.EndObject();
  } else {
    writer.Null();
  }
  put(writer, "explanation", decision.explanation());
  writer.EndObject();
}

Response simulate(Storage &storage, targeting::AppInputsCache &cache, const AdminLimits &limits,
                  const Request &request) {
  auto body = parse_object_body(request, limits.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto device = targeting::parse_device(body->root());
  if (!device) {
    return Response::error(device.error());
  }
  auto inputs = cache.get(device->app);
  if (!inputs) {
    return Response::error(inputs.error());
  }
  auto installed = packages::parse_installed(body->root());
  if (!installed) {
    return Response::error(installed.error());
  }
  const auto &config = (*inputs)->config;
  // The packages a check would offer now, decided as the check decides them.
  packages::OfferBuilder offer_builder(storage, device->app, device->app_version, std::move(installed.value()),
                                       &(*inputs)->packages);

  const auto now = unix_now_seconds();
  targeting::ReleaseDecider decider(storage, inputs->get());
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  put(writer, "app", device->app);
  put(writer, "device_id", device->device_id);
  put_time(writer, "at", now);
  writer.Key("releases");
  writer.StartArray();
  std::vector<const targeting::ConfigOverlay *> eligible_config;
  for (const auto &prepared : (*inputs)->releases) {
    const auto &release = prepared.release;
    auto decision = decider.decide(prepared.targeting, *device, now, targeting::WindowMode::Peek);
    if (!decision) {
      return Response::error(decision.error());
    }
    write_decision(writer, release, *decision);
    if (decision->eligible && prepared.config) {
      eligible_config.push_back(&*prepared.config);
    } else if (decision->eligible) {
      if (auto offered = offer_builder.add(release); !offered) {
        return Response::error(offered.error());
      }
    }
  }
  writer.EndArray();
  auto offers = offer_builder.finish();
  if (!offers) {
    return Response::error(offers.error());
  }
  writer.Key("offers");
  writer.StartObject();
  packages::write_offers(writer, *offers);
  writer.EndObject();
  // The config exactly as /v1/check resolves it (config_resolution.hpp), with sources.
  const auto values = targeting::resolve_config(config, *device, eligible_config, &decider.verdicts());
  writer.Key("config");
  writer.StartObject();
  put(writer, "revision", config.revision);
  writer.Key("values");
  targeting::write_values(writer, values);
  writer.Key("sources");
  writer.StartObject();
  for (const auto &value : values) {
    writer.Key(value.key.data(), static_cast<rapidjson::SizeType>(value.key.size()));
    const auto source = value.source.name(value.key);
    writer.String(source.c_str(), static_cast<rapidjson::SizeType>(source.size()));
  }
  writer.EndObject();
  writer.EndObject();
  writer.EndObject();
  return json_answer(200, buffer);
}

} // namespace

void add_simulate_routes(http::Router &router, Storage &storage, const AdminLimits &limits) {
  auto cache = std::make_shared<targeting::AppInputsCache>(storage);
  router.add(
      {"POST", "/v1/admin/simulate", http::Access::Admin, http::BodyMode::Buffered, limits.json_body,
       [&storage, cache, limits](const Request &request) { return simulate(storage, *cache, limits, request); }});
}

} // namespace mds::server::admin
