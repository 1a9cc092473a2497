#include "transport/protocol.hpp"

#include "core/json/json.hpp"

#include <curl/curl.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <random>

namespace mds::transport {
namespace {

using core::json::ObjectReader;
using core::json::Value;

// Unwraps a Result into `var` or returns its error from the enclosing function.
#define MDS_ASSIGN(var, expr)                                                                                          \
  auto var##_result = (expr);                                                                                          \
  if (!var##_result) {                                                                                                 \
    return std::move(var##_result).error();                                                                            \
  }                                                                                                                    \
  auto var = std::move(var##_result).value()

#define MDS_CHECK(expr)                                                                                                \
  do {                                                                                                                 \
    auto mds_status_ = (expr);                                                                                         \
    if (!mds_status_) {                                                                                                \
      return std::move(mds_status_).error();                                                                           \
    }                                                                                                                  \
  } while (false)

void write_string_member(core::json::Writer &writer, const char *key, const std::string &value) {
  if (!value.empty()) {
    writer.Key(key);
    writer.String(value);
  }
}

void write_map(core::json::Writer &writer, const std::map<std::string, std::string> &map) {
  writer.StartObject();
  for (const auto &[key, value] : map) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(value);
  }
  writer.EndObject();
}

bool is_sha256_hex(const std::string &text) {
  if (text.size() != 64) {
    return false;
  }
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

Result<std::string> nonempty_string(const ObjectReader &reader, std::string_view key) {
  MDS_ASSIGN(text, reader.string(key));
  if (text.empty()) {
    return make_error(ErrorCode::JsonValueOutOfRange, reader.where() + "." + std::string(key) + " is empty");
  }
  return text;
}

Result<Download> parse_download(const Value &value, const std::string &where) {
  MDS_ASSIGN(reader, ObjectReader::of(value, where));
  Download download;
  MDS_ASSIGN(kind, reader.string("kind"));
  if (kind != "full" && kind != "delta") {
    return make_error(ErrorCode::JsonValueOutOfRange, where + ".kind must be \"full\" or \"delta\"");
  }
  download.kind = kind;
  MDS_ASSIGN(base, reader.optional_string("base"));
  if (kind == "delta" && (!base || base->empty())) {
    return make_error(ErrorCode::JsonMissingField, where + ".base is required for a delta");
  }
  download.base = base;
  MDS_ASSIGN(url, nonempty_string(reader, "url"));
  download.url = url;
  MDS_ASSIGN(size, reader.uint64("size"));
  download.size = size;
  MDS_ASSIGN(sha256, reader.string("sha256"));
  if (!is_sha256_hex(sha256)) {
    return make_error(ErrorCode::InvalidHex, where + ".sha256 must be 64 lower-case hex digits");
  }
  download.sha256 = sha256;
  return download;
}

Result<PackageOffer> parse_package(const ObjectReader &reader) {
  PackageOffer offer;
  MDS_ASSIGN(release, nonempty_string(reader, "release"));
  MDS_ASSIGN(package, nonempty_string(reader, "package"));
  MDS_ASSIGN(version, nonempty_string(reader, "version"));
  MDS_ASSIGN(group, reader.optional_string("group"));
  MDS_ASSIGN(envelope, nonempty_string(reader, "envelope"));
  MDS_ASSIGN(downloads, reader.array("downloads"));
  offer.release = release;
  offer.package = package;
  offer.version = version;
  offer.group = group;
  offer.envelope = envelope;
  std::size_t index = 0;
  for (const auto &entry : downloads->GetArray()) {
    MDS_ASSIGN(download, parse_download(entry, reader.where() + ".downloads[" + std::to_string(index++) + "]"));
    offer.downloads.push_back(std::move(download));
  }
  return offer;
}

Result<UpgradeOffer> parse_upgrade(const Value &value) {
  MDS_ASSIGN(reader, ObjectReader::of(value, "upgrade"));
  UpgradeOffer offer;
  MDS_ASSIGN(package, parse_package(reader));
  offer.package = std::move(package);
  MDS_ASSIGN(mode_name, reader.string("mode"));
  auto mode = upgrade_mode_from_string(mode_name);
  if (!mode) {
    return make_error(ErrorCode::JsonValueOutOfRange, "upgrade.mode \"" + mode_name + "\" is not a known mode");
  }
  offer.mode = *mode;
  if (reader.has("remind_days")) {
    MDS_ASSIGN(days, reader.uint64("remind_days"));
    if (days < 1 || days > 365) {
      return make_error(ErrorCode::JsonValueOutOfRange, "upgrade.remind_days must be 1..365");
    }
    offer.remind_days = static_cast<std::uint32_t>(days);
  }
  MDS_ASSIGN(notes, reader.optional_string("notes"));
  offer.notes = notes.value_or("");
  return offer;
}

Result<HotpatchOffer> parse_hotpatch(const Value &value) {
  MDS_ASSIGN(reader, ObjectReader::of(value, "hotpatch"));
  HotpatchOffer offer;
  MDS_ASSIGN(action, reader.string("action"));
  if (action != "install" && action != "rollback") {
    return make_error(ErrorCode::JsonValueOutOfRange, "hotpatch.action must be \"install\" or \"rollback\"");
  }
  offer.action = action;
  MDS_ASSIGN(package, parse_package(reader));
  offer.package = std::move(package);
  return offer;
}

Result<ConfigUpdate> parse_config(const Value &value) {
  MDS_ASSIGN(reader, ObjectReader::of(value, "config"));
  ConfigUpdate update;
  MDS_ASSIGN(revision, reader.int64("revision"));
  if (revision < 0) {
    return make_error(ErrorCode::JsonValueOutOfRange, "config.revision is negative");
  }
  update.revision = revision;
  MDS_ASSIGN(values, reader.object("values"));
  if (values->MemberCount() > kMaxConfigKeys) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      "config.values has more than " + std::to_string(kMaxConfigKeys) + " keys");
  }
  for (const auto &member : values->GetObject()) {
    const std::string key(core::json::view(member.name));
    if (key.empty()) {
      return make_error(ErrorCode::JsonValueOutOfRange, "config.values has an empty key");
    }
    update.values[key] = core::json::serialize(member.value);
  }
  return update;
}

} // namespace

std::string build_check_request(const ClientOptions &options, const CheckInput &input) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("app");
  writer.String(options.app_id);
  writer.Key("platform");
  writer.String(options.platform);
  writer.Key("app_version");
  writer.String(options.app_version);
  if (!options.sdk_versions.empty()) {
    writer.Key("sdks");
    write_map(writer, options.sdk_versions);
  }
  writer.Key("device");
  writer.StartObject();
  writer.Key("id");
  writer.String(input.device_id);
  const DeviceInfo &device = options.device;
  write_string_member(writer, "user_id", options.user_id);
  write_string_member(writer, "model", device.model);
  write_string_member(writer, "brand", device.brand);
  write_string_member(writer, "os_version", device.os_version);
  write_string_member(writer, "network", device.network);
  write_string_member(writer, "region", device.region);
  write_string_member(writer, "city", device.city);
  write_string_member(writer, "language", device.language);
  write_string_member(writer, "channel", device.channel);
  writer.EndObject();
  if (!options.attributes.empty()) {
    writer.Key("attributes");
    write_map(writer, options.attributes);
  }
  writer.Key("installed");
  writer.StartObject();
  writer.Key("offline");
  write_map(writer, input.offline);
  writer.Key("hotpatch");
  if (input.hotpatch) {
    writer.StartObject();
    writer.Key("id");
    writer.String(input.hotpatch->id);
    writer.Key("version");
    writer.String(input.hotpatch->version);
    writer.Key("state");
    writer.String(input.hotpatch->state);
    writer.EndObject();
  } else {
    writer.Null();
  }
  writer.Key("upgrade");
  if (input.upgrade) {
    writer.String(*input.upgrade);
  } else {
    writer.Null();
  }
  writer.EndObject();
  writer.Key("config_revision");
  writer.Int64(input.config_revision);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Result<CheckAnswer> parse_check_answer(std::string_view body, std::size_t max_bytes) {
  core::json::Limits limits;
  limits.max_bytes = max_bytes;
  MDS_ASSIGN(doc, core::json::parse(body, limits));
  MDS_ASSIGN(reader, ObjectReader::of(doc.root(), "answer"));
  MDS_CHECK(reader.allow_only({"poll_interval", "upgrade", "offline", "hotpatch", "config"}));
  CheckAnswer answer;
  if (reader.has("poll_interval")) {
    MDS_ASSIGN(seconds, reader.uint64("poll_interval"));
    if (seconds < 1 || seconds > kMaxPollIntervalSeconds) {
      return make_error(ErrorCode::JsonValueOutOfRange,
                        "answer.poll_interval must be 1.." + std::to_string(kMaxPollIntervalSeconds) + " seconds");
    }
    answer.poll_interval_seconds = static_cast<std::uint32_t>(seconds);
  }
  if (const Value *upgrade = reader.find("upgrade"); upgrade != nullptr && !upgrade->IsNull()) {
    MDS_ASSIGN(offer, parse_upgrade(*upgrade));
    answer.upgrade = std::move(offer);
  }
  if (const Value *offline = reader.find("offline"); offline != nullptr && !offline->IsNull()) {
    if (!offline->IsArray()) {
      return make_error(ErrorCode::JsonWrongType, "answer.offline must be an array");
    }
    std::size_t index = 0;
    for (const auto &entry : offline->GetArray()) {
      MDS_ASSIGN(entry_reader, ObjectReader::of(entry, "offline[" + std::to_string(index++) + "]"));
      MDS_ASSIGN(package, parse_package(entry_reader));
      answer.offline.push_back(std::move(package));
    }
  }
  if (const Value *hotpatch = reader.find("hotpatch"); hotpatch != nullptr && !hotpatch->IsNull()) {
    MDS_ASSIGN(offer, parse_hotpatch(*hotpatch));
    answer.hotpatch = std::move(offer);
  }
  if (const Value *config = reader.find("config"); config != nullptr && !config->IsNull()) {
    MDS_ASSIGN(update, parse_config(*config));
    answer.config = std::move(update);
  }
  return answer;
}

std::string describe_error_body(std::string_view body) {
  auto shortened = [&] {
    std::string text(body.substr(0, 200));
    for (char &c : text) {
      if (static_cast<unsigned char>(c) < 0x20) {
        c = ' ';
      }
    }
    return text;
  };
  core::json::Limits limits;
  limits.max_bytes = 64u << 10;
  auto doc = core::json::parse(body, limits);
  if (!doc || !doc->root().IsObject()) {
    return shortened();
  }
  auto reader = ObjectReader::of(doc->root(), "answer");
  auto error = reader->object("error");
  if (!error) {
    return shortened();
  }
  auto inner = ObjectReader::of(**error, "error");
  auto code = inner->uint64("code");
  auto name = inner->string("name");
  auto message = inner->optional_string("message");
  if (!code || !name || !message) {
    return shortened();
  }
  return *name + " (" + std::to_string(*code) + ")" + (message->has_value() ? ": " + **message : std::string());
}

std::string event_json(const Event &event) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("id");
  writer.String(event.id);
  writer.Key("type");
  writer.String(event.type);
  writer.Key("time");
  writer.String(event.time);
  write_string_member(writer, "release", event.release);
  write_string_member(writer, "package", event.package);
  write_string_member(writer, "version", event.version);
  if (event.code) {
    writer.Key("code");
    writer.Uint(*event.code);
  }
  write_string_member(writer, "detail", event.detail);
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string build_events_request(std::string_view app, std::string_view device_id,
                                 const std::vector<std::string> &event_objects) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("app");
  writer.String(app.data(), static_cast<rapidjson::SizeType>(app.size()));
  writer.Key("device_id");
  writer.String(device_id.data(), static_cast<rapidjson::SizeType>(device_id.size()));
  writer.Key("events");
  writer.StartArray();
  for (const auto &object : event_objects) {
    writer.RawValue(object.data(), object.size(), rapidjson::kObjectType);
  }
  writer.EndArray();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Result<std::vector<std::string>> parse_events_answer(std::string_view body, std::size_t max_bytes) {
  core::json::Limits limits;
  limits.max_bytes = max_bytes;
  MDS_ASSIGN(doc, core::json::parse(body, limits));
  MDS_ASSIGN(reader, ObjectReader::of(doc.root(), "answer"));
  MDS_CHECK(reader.allow_only({"accepted"}));
  MDS_ASSIGN(accepted, reader.array("accepted"));
  std::vector<std::string> ids;
  for (const auto &id : accepted->GetArray()) {
    if (!id.IsString()) {
      return make_error(ErrorCode::JsonWrongType, "answer.accepted must hold strings");
    }
    ids.emplace_back(core::json::view(id));
  }
  return ids;
}

std::string random_uuid() {
  static thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
  std::array<unsigned char, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    const std::uint64_t word = generator();
    for (std::size_t j = 0; j < 8; ++j) {
      bytes[i + j] = static_cast<unsigned char>(word >> (8 * j));
    }
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0f];
  }
  return out;
}

std::string iso8601_utc(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  constexpr std::int64_t kMaxSeconds = 24 * 3600;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() &&
         (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  if (value.empty()) {
    return std::nullopt;
  }
  bool digits = true;
  for (char c : value) {
    digits = digits && c >= '0' && c <= '9';
  }
  if (digits) {
    if (value.size() > 9) {
      return std::chrono::seconds(kMaxSeconds);
    }
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
    }
    return std::chrono::seconds(std::min(seconds, kMaxSeconds));
  }
  const std::string text(value);
  const std::time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) {
    return std::nullopt;
  }
  const std::int64_t delta =
      static_cast<std::int64_t>(when) - static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(now));
  return std::chrono::seconds(std::clamp<std::int64_t>(delta, 0, kMaxSeconds));
}

std::string resolve_url(std::string_view server_url, std::string_view path) {
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
    return std::string(path);
  }
  std::string base(server_url);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if (path.empty() || path.front() != '/') {
    base += '/';
  }
  return base + std::string(path);
}

} // namespace mds::transport
