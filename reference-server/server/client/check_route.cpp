// POST /v1/check: everything one device should have, in one answer.
//
// Config: the app's defaults overridden by every config release the device is eligible
// for (the rule simulate shows, targeting/config_resolution.hpp), sent only when the
// device's config_revision is not the app's current one. Releases are decided with
// WindowMode::Admit, so a check takes time-window places. Package releases the device is
// eligible for offer their packages (packages/offers.hpp): the envelope and the
// downloads, the delta from the installed version first.
#include "server/admin/json_io.hpp"
#include "server/client/client_api.hpp"
#include "server/packages/offers.hpp"
#include "server/targeting/config_resolution.hpp"
#include "server/targeting/device.hpp"
#include "server/targeting/release_targeting.hpp"
#include "server/util/time.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"

#include <optional>
#include <vector>

namespace mds::server::client {
namespace {

using http::Request;
using http::Response;

// The members of the request parse_device leaves to the check: "config_revision" and
// "installed". A null member is absent.
struct CheckExtras {
  std::int64_t config_revision = -1; // -1: the device has no configuration yet
  packages::Installed installed;
};

Result<CheckExtras> parse_extras(const core::json::Value &root) {
  auto request = core::json::ObjectReader::of(root, "request");
  if (!request) {
    return request.error();
  }
  CheckExtras extras;
  if (const auto *revision = request->find("config_revision"); revision != nullptr && !revision->IsNull()) {
    if (!revision->IsInt64()) {
      return make_error(ErrorCode::JsonWrongType, "request.config_revision must be an integer");
    }
    if (revision->GetInt64() < 0) {
      return make_error(ErrorCode::JsonValueOutOfRange, "request.config_revision is negative");
    }
    extras.config_revision = revision->GetInt64();
  }
  auto installed = packages::parse_installed(root);
  if (!installed) {
    return installed.error();
  }
  extras.installed = std::move(installed.value());
  return extras;
}

bool stage_is_live(ReleaseStage stage) {
  return stage == ReleaseStage::Gray || stage == ReleaseStage::Full;
}

Response check(Storage &storage, const ClientApiOptions &options, const Request &request) {
  auto body = admin::parse_object_body(request, options.json_body);
  if (!body) {
    return Response::error(body.error());
  }
  auto device = targeting::parse_device(body->root());
  if (!device) {
    return Response::error(device.error());
  }
  auto extras = parse_extras(body->root());
  if (!extras) {
    return Response::error(extras.error());
  }
  auto inputs = targeting::load_app_inputs(storage, device->app);
  if (!inputs) {
    return Response::error(inputs.error());
  }
  const auto &releases = inputs->releases;
  const auto &config = inputs->config;

  const auto now = unix_now_seconds();
  targeting::ReleaseDecider decider(storage);
  auto values = targeting::config_defaults(config);
  std::vector<std::int64_t> config_sources; // eligible config releases
  packages::OfferBuilder offer_builder(storage, device->app, device->app_version, extras->installed);
  for (const auto &release : releases) {
    if (!stage_is_live(release.progress.stage)) {
      continue;
    }
    auto decision = decider.decide(release, *device, now, targeting::WindowMode::Admit);
    if (!decision) {
      return Response::error(decision.error());
    }
    if (!decision->eligible) {
      continue;
    }
    if (release.kind == ReleaseKind::Config) {
      if (auto applied = targeting::overlay_config_release(release, values); !applied) {
        return Response::error(applied.error());
      }
      config_sources.push_back(release.id);
    } else if (auto offered = offer_builder.add(release); !offered) {
      return Response::error(offered.error());
    }
  }
  auto offers = offer_builder.finish();
  if (!offers) {
    return Response::error(offers.error());
  }
  const bool send_config = extras->config_revision != config.revision;

  auto write_answer = [&](bool with_config) {
    rapidjson::StringBuffer buffer;
    core::json::Writer writer(buffer);
    writer.StartObject();
    writer.Key("poll_interval");
    writer.Uint(options.poll_interval);
    packages::write_offers(writer, *offers);
    if (with_config) {
      writer.Key("config");
      writer.StartObject();
      admin::put(writer, "revision", config.revision);
      writer.Key("values");
      writer.StartObject();
      for (const auto &[key, value] : values) {
        writer.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
        writer.RawValue(value.json.c_str(), value.json.size(), rapidjson::kObjectType);
      }
      writer.EndObject();
      writer.EndObject();
    }
    writer.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  };

  // The ETag names this device's whole delivery state: the answer with its config. An
  // answer that leaves config out (the device's revision is current) carries the same
  // ETag, so a device that stored either gets 304 while nothing changes for it.
  std::string answer = write_answer(true);
  const auto digest = core::crypto::sha256(core::crypto::ByteView(answer));
  const std::string etag = "\"" + core::crypto::hex_encode(digest) + "\"";
  if (auto if_none_match = request.header("if-none-match"); if_none_match && etag_matches(*if_none_match, etag)) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.content_type.clear();
    not_modified.headers.emplace_back("ETag", etag);
    return not_modified;
  }

  // Offers are counted once the answer carries them; a 304 offers nothing new.
  std::vector<std::int64_t> offered = offers->release_ids();
  if (send_config) {
    offered.insert(offered.end(), config_sources.begin(), config_sources.end());
  }
  if (auto counted = storage.count_offered(offered); !counted) {
    return Response::error(counted.error());
  }
  if (!send_config) {
    answer = write_answer(false);
  }
  Response response = Response::json(200, std::move(answer));
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

} // namespace

void add_check_route(http::Router &router, Storage &storage, const ClientApiOptions &options) {
  router.add({"POST", "/v1/check", http::Access::Public, http::BodyMode::Buffered, options.json_body,
              [&storage, options](const Request &request) { return check(storage, options, request); }});
}

} // namespace mds::server::client
