// POST /v1/check: everything one device should have, in one answer.
//
// Config: each key's default or first matching variant, overridden by every config
// release the device is eligible for (the rule simulate shows, resolved in
// targeting/config_resolution.hpp), sent only when the device's config_revision is not
// the app's current one. The app's releases and config come from an AppInputsCache, read
// again only after an operator change. Releases are decided with
// WindowMode::Admit, so a check takes time-window places. Package releases the device is
// eligible for offer their packages (packages/offers.hpp): the envelope and the
// downloads, the delta from the installed version first. The written answer and its ETag
// are kept by decision key (answer_memo.hpp), so devices the rules treat alike share them;
// every check still decides every release for its device and counts what it offers.
#include "server/admin/json_io.hpp"
#include "server/client/answer_memo.hpp"
#include "server/client/client_api.hpp"
#include "server/packages/offers.hpp"
#include "server/targeting/config_resolution.hpp"
#include "server/targeting/device.hpp"
#include "server/targeting/release_targeting.hpp"
#include "server/util/time.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"

#include <atomic>
#include <memory>
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

// Counts one check in progress for as long as it lives.
struct PendingCheck {
  explicit PendingCheck(std::atomic<std::uint32_t> &checks) : counter(checks), count(checks.fetch_add(1) + 1) {}
  ~PendingCheck() { counter.fetch_sub(1); }
  PendingCheck(const PendingCheck &) = delete;
  PendingCheck &operator=(const PendingCheck &) = delete;
  std::atomic<std::uint32_t> &counter;
  const std::uint32_t count; // this one included
};

Response shed(const ClientApiOptions &options) {
  Response busy = Response::error(make_error(ErrorCode::RateLimited, "the server is busy: retry after " +
                                                                         std::to_string(options.retry_after) + " s"));
  busy.status = 503;
  busy.headers.emplace_back("Retry-After", std::to_string(options.retry_after));
  busy.headers.emplace_back("Cache-Control", "no-store");
  return busy;
}

// The decision key of one device's check (answer_memo.hpp): everything besides the app's
// inputs that its answer is written from.
std::string decision_key(const targeting::Device &device, const CheckExtras &extras,
                         const std::vector<std::int64_t> &eligible, const targeting::AppConfig &config,
                         targeting::FilterVerdicts &verdicts) {
  DecisionKey key;
  key.reserve(256 + (eligible.size() + config.keys.size()) * sizeof(std::int64_t));
  key.add(device.app_version); // an upgrade is offered above it
  key.add(static_cast<std::int64_t>(extras.installed.offline.size()));
  for (const auto &[id, version] : extras.installed.offline) {
    key.add(id);
    key.add(version);
  }
  key.add(extras.installed.hotpatch ? 1 : 0);
  if (extras.installed.hotpatch) {
    key.add(extras.installed.hotpatch->id);
    key.add(extras.installed.hotpatch->version);
  }
  key.add(eligible);
  // Config resolution starts from each key's first matching variant (config_resolution.hpp).
  for (const auto &config_key : config.keys) {
    if (!config_key.variants.empty()) {
      key.add(static_cast<std::int64_t>(targeting::matching_variant(config_key, device, &verdicts)));
    }
  }
  return key.release();
}

// Writes the answer of a decision key that has none kept yet.
Result<std::shared_ptr<const CheckAnswer>> write_answer(
    Storage &storage, const targeting::AppInputs &inputs, const ClientApiOptions &options,
    const targeting::Device &device, const CheckExtras &extras, const std::vector<const Release *> &eligible_packages,
    const std::vector<const targeting::ConfigOverlay *> &eligible_config, targeting::FilterVerdicts &verdicts) {
  packages::OfferBuilder offer_builder(storage, device.app, device.app_version, extras.installed, &inputs.packages);
  for (const auto *release : eligible_packages) {
    if (auto offered = offer_builder.add(*release); !offered) {
      return offered.error();
    }
  }
  auto offers = offer_builder.finish();
  if (!offers) {
    return offers.error();
  }
  const auto &config = inputs.config;
  const auto values = targeting::resolve_config(config, device, eligible_config, &verdicts);
  auto write = [&](bool with_config) {
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
      targeting::write_values(writer, values);
      writer.EndObject();
    }
    writer.EndObject();
    return std::make_shared<const std::string>(buffer.GetString(), buffer.GetSize());
  };
  auto answer = std::make_shared<CheckAnswer>();
  answer->with_config = write(true);
  answer->without_config = write(false);
  // The ETag names this device's whole delivery state: the answer with its config. An
  // answer that leaves config out (the device's revision is current) carries the same
  // ETag, so a device that stored either gets 304 while nothing changes for it.
  const auto digest = core::crypto::sha256(core::crypto::ByteView(*answer->with_config));
  answer->etag = "\"" + core::crypto::hex_encode(digest) + "\"";
  answer->offered_packages = offers->release_ids();
  return std::shared_ptr<const CheckAnswer>(std::move(answer));
}

Response check(Storage &storage, targeting::AppInputsCache &cache, AnswerMemo &memo, const ClientApiOptions &options,
               const Request &request) {
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
  auto inputs = cache.get(device->app);
  if (!inputs) {
    return Response::error(inputs.error());
  }
  const auto &config = (*inputs)->config;

  // Every release is decided for this device on every check: window places are taken
  // here, whether or not its answer is already written.
  const auto now = unix_now_seconds();
  targeting::ReleaseDecider decider(storage, inputs->get());
  std::vector<std::int64_t> eligible;                            // every eligible release
  std::vector<const targeting::ConfigOverlay *> eligible_config; // eligible config releases
  std::vector<std::int64_t> config_sources;
  std::vector<const Release *> eligible_packages;
  eligible.reserve((*inputs)->releases.size());
  eligible_config.reserve((*inputs)->releases.size());
  config_sources.reserve((*inputs)->releases.size());
  for (const auto &step : (*inputs)->check_plan) {
    auto eligible_now = decider.eligible(**inputs, step, *device, now, targeting::WindowMode::Admit);
    if (!eligible_now) {
      return Response::error(eligible_now.error());
    }
    if (!*eligible_now) {
      continue;
    }
    const auto &prepared = *step.release;
    const auto &release = prepared.release;
    eligible.push_back(release.id);
    if (prepared.config) {
      eligible_config.push_back(&*prepared.config);
      config_sources.push_back(release.id);
    } else {
      eligible_packages.push_back(&release);
    }
  }

  auto key = decision_key(*device, *extras, eligible, config, decider.verdicts());
  auto answer = memo.find(device->app, *inputs, key);
  if (!answer) {
    auto written = write_answer(storage, **inputs, options, *device, *extras, eligible_packages, eligible_config,
                                decider.verdicts());
    if (!written) {
      return Response::error(written.error());
    }
    answer = std::move(written.value());
    memo.remember(device->app, *inputs, std::move(key), answer);
  }

  if (auto if_none_match = request.header("if-none-match");
      if_none_match && etag_matches(*if_none_match, answer->etag)) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.content_type.clear();
    not_modified.headers.emplace_back("ETag", answer->etag);
    return not_modified;
  }

  // Offers are counted once the answer carries them; a 304 offers nothing new.
  const bool send_config = extras->config_revision != config.revision;
  std::vector<std::int64_t> offered = answer->offered_packages;
  if (send_config) {
    offered.insert(offered.end(), config_sources.begin(), config_sources.end());
  }
  if (auto counted = storage.count_offered(offered); !counted) {
    return Response::error(counted.error());
  }
  Response response;
  response.shared_body = send_config ? answer->with_config : answer->without_config;
  response.headers.emplace_back("ETag", answer->etag);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

} // namespace

void add_check_route(http::Router &router, Storage &storage, const ClientApiOptions &options) {
  auto cache = std::make_shared<targeting::AppInputsCache>(storage);
  auto memo = std::make_shared<AnswerMemo>();
  auto pending = std::make_shared<std::atomic<std::uint32_t>>(0);
  router.add({"POST", "/v1/check", http::Access::Public, http::BodyMode::Buffered, options.json_body,
              [&storage, cache, memo, pending, options](const Request &request) {
                // Load shedding: beyond max_pending_checks checks at once, answer at once
                // rather than queue behind the others (docs/protocol.md, Retry-After).
                PendingCheck admitted(*pending);
                if (admitted.count > options.max_pending_checks) {
                  return shed(options);
                }
                return check(storage, *cache, *memo, options, request);
              }});
}

} // namespace mds::server::client
