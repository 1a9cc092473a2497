#include "core/manifest/manifest.hpp"

#include "core/json/json.hpp"
#include "core/manifest/path.hpp"
#include "core/version/range.hpp"
#include "core/version/version.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include <algorithm>
#include <array>

namespace mds::core {
namespace {

// The deepest valid manifest: manifest > files > one file, or manifest > requires > sdk.
constexpr unsigned kManifestJsonDepth = 3;

struct KindName {
  PackageKind kind;
  const char *name;
};
constexpr std::array<KindName, 3> kKindNames = {{
    {PackageKind::Offline, "offline"},
    {PackageKind::Hotpatch, "hotpatch"},
    {PackageKind::Upgrade, "upgrade"},
}};

Error invalid(std::string message) {
  return make_error(ErrorCode::ManifestInvalid, std::move(message));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z');
}
bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

// [alnum]([alnum._-]*[alnum])?, at most max_length characters.
bool is_identifier(std::string_view text, std::size_t max_length, bool (*is_letter_or_digit)(char)) {
  if (text.empty() || text.size() > max_length || !is_letter_or_digit(text.front()) ||
      !is_letter_or_digit(text.back())) {
    return false;
  }
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return is_letter_or_digit(c) || c == '.' || c == '_' || c == '-'; });
}

Status check_app_id(std::string_view app, const std::string &where) {
  if (!is_identifier(app, kMaxAppIdLength, is_alnum)) {
    return invalid(where + " must be 1 to " + std::to_string(kMaxAppIdLength) +
                   " of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit");
  }
  return {};
}

// Package ids and SDK names.
Status check_lower_identifier(std::string_view id, const std::string &where) {
  if (!is_identifier(id, kMaxPackageIdLength, is_lower_alnum)) {
    return invalid(where + " must be 1 to " + std::to_string(kMaxPackageIdLength) +
                   " of a-z 0-9 . _ -, starting and ending with a letter or digit");
  }
  return {};
}

Status check_version_syntax(std::string_view version, const std::string &where) {
  auto parsed = Version::parse_dotted(version);
  if (!parsed) {
    return make_error(ErrorCode::VersionInvalid, where + ": " + parsed.error().message);
  }
  return {};
}

Status check_range_syntax(std::string_view range, const std::string &where) {
  // Manifests keep ranges short, though the range grammar allows far longer ones; and an
  // empty requirement, which the grammar reads as "any", is more likely a mistake here.
  if (range.empty() || range.size() > kMaxVersionRangeLength) {
    return make_error(ErrorCode::VersionRangeInvalid,
                      where + " must be 1 to " + std::to_string(kMaxVersionRangeLength) + " characters");
  }
  auto parsed = VersionRange::parse(range);
  if (!parsed) {
    return make_error(ErrorCode::VersionRangeInvalid, where + ": " + parsed.error().message);
  }
  return {};
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

Status check_created(std::string_view created, const std::string &where) {
  // Positions of the fixed characters in "YYYY-MM-DDTHH:MM:SSZ"; every other one is a digit.
  static constexpr std::string_view kShape = "0000-00-00T00:00:00Z";
  bool shaped = created.size() == kShape.size();
  for (std::size_t i = 0; shaped && i < kShape.size(); ++i) {
    shaped = kShape[i] == '0' ? is_digit(created[i]) : created[i] == kShape[i];
  }
  if (!shaped) {
    return invalid(where + " must be UTC in the form YYYY-MM-DDTHH:MM:SSZ");
  }
  auto number = [&](std::size_t at, std::size_t length) {
    int value = 0;
    for (std::size_t i = at; i < at + length; ++i) {
      value = value * 10 + (created[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4);
  const int month = number(5, 2);
  const int day = number(8, 2);
  // Leap seconds (":60") are refused: no publisher's clock needs them to name a build.
  const bool in_range = year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month) &&
                        number(11, 2) <= 23 && number(14, 2) <= 59 && number(17, 2) <= 59;
  if (!in_range) {
    return invalid(where + " is not a real UTC time from 1970 on");
  }
  return {};
}

// RapidJSON's own validator, so that validate() and decode agree on what UTF-8 is.
bool is_valid_utf8(std::string_view text) {
  struct Discard {
    void Put(char) {}
  } discard;
  rapidjson::MemoryStream stream(text.data(), text.size());
  while (stream.Tell() < text.size()) {
    if (!rapidjson::UTF8<>::Validate(stream, discard)) {
      return false;
    }
  }
  return true;
}

Status check_notes(std::string_view notes, const std::string &where) {
  if (notes.size() > kMaxNotesBytes) {
    return invalid(where + " is longer than " + std::to_string(kMaxNotesBytes) + " bytes");
  }
  const bool has_control = std::any_of(notes.begin(), notes.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t' && c != '\n') || byte == 0x7f;
  });
  if (has_control || !is_valid_utf8(notes)) {
    return invalid(where + " must be UTF-8 without control characters other than tab and newline");
  }
  return {};
}

Status check_sha256(std::string_view hex, const std::string &where) {
  const bool lower_hex =
      std::all_of(hex.begin(), hex.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
  if (hex.size() != 64 || !lower_hex) {
    return make_error(ErrorCode::InvalidHex, where + " must be 64 lower-case hex characters");
  }
  return {};
}

Status check_requirements(const Requirements &requirements) {
  if (requirements.app_version) {
    auto checked = check_range_syntax(*requirements.app_version, "manifest.requires.app");
    if (!checked) {
      return checked;
    }
  }
  if (requirements.sdk_versions.size() > kMaxSdkRequirements) {
    return invalid("manifest.requires.sdk names more than " + std::to_string(kMaxSdkRequirements) + " SDKs");
  }
  for (const auto &[name, range] : requirements.sdk_versions) {
    auto checked = check_lower_identifier(name, "an SDK name in manifest.requires.sdk");
    if (checked) {
      checked = check_range_syntax(range, "manifest.requires.sdk." + name);
    }
    if (!checked) {
      return checked;
    }
  }
  return {};
}

Status check_files(const std::vector<ManifestFile> &files) {
  if (files.empty()) {
    return invalid("manifest.files is empty");
  }
  if (files.size() > kMaxManifestFiles) {
    return make_error(ErrorCode::PackageTooLarge, "manifest.files has " + std::to_string(files.size()) +
                                                      " entries, limit " + std::to_string(kMaxManifestFiles));
  }
  // Each size is at most kMaxPackageBytes (2^32), so 10000 of them cannot overflow the sum.
  std::uint64_t total = 0;
  std::vector<std::string_view> paths;
  paths.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const ManifestFile &file = files[i];
    const std::string where = "manifest.files[" + std::to_string(i) + "]";
    auto path_ok = validate_package_path(file.path);
    if (!path_ok) {
      return make_error(ErrorCode::PathUnsafe, where + ".path: " + path_ok.error().message);
    }
    if (file.size > kMaxPackageBytes) {
      return make_error(ErrorCode::PackageTooLarge,
                        where + ".size is above the package limit of " + std::to_string(kMaxPackageBytes));
    }
    auto hash_ok = check_sha256(file.sha256, where + ".sha256");
    if (!hash_ok) {
      return hash_ok;
    }
    total += file.size;
    paths.push_back(file.path);
  }
  if (total > kMaxPackageBytes) {
    return make_error(ErrorCode::PackageTooLarge, "manifest.files add up to " + std::to_string(total) +
                                                      " bytes, limit " + std::to_string(kMaxPackageBytes));
  }
  auto set_ok = validate_package_path_set(paths);
  if (!set_ok) {
    return make_error(ErrorCode::PathUnsafe, "manifest.files: " + set_ok.error().message);
  }
  return {};
}

// ---- decoding ----

// An optional member must be absent or of its type: null is refused, so that a field
// has one way to be absent.
Result<const json::Value *> optional_member(const json::ObjectReader &reader, std::string_view key,
                                            bool (json::Value::*has_type)() const, const char *type_name) {
  const json::Value *found = reader.find(key);
  if (found != nullptr && !(found->*has_type)()) {
    return make_error(ErrorCode::JsonWrongType, reader.where() + "." + std::string(key) + " must be " + type_name);
  }
  return found;
}

Result<Requirements> read_requirements(const json::Value &value) {
  auto reader = json::ObjectReader::of(value, "manifest.requires");
  if (!reader) {
    return std::move(reader).error();
  }
  if (auto allowed = reader->allow_only({"app", "sdk"}); !allowed) {
    return std::move(allowed).error();
  }
  Requirements requirements;
  auto app = optional_member(*reader, "app", &json::Value::IsString, "a string");
  if (!app) {
    return std::move(app).error();
  }
  if (*app != nullptr) {
    requirements.app_version = std::string(json::view(**app));
  }
  auto sdk = optional_member(*reader, "sdk", &json::Value::IsObject, "an object");
  if (!sdk) {
    return std::move(sdk).error();
  }
  if (*sdk != nullptr) {
    for (auto it = (*sdk)->MemberBegin(); it != (*sdk)->MemberEnd(); ++it) {
      if (!it->value.IsString()) {
        return make_error(ErrorCode::JsonWrongType, "manifest.requires.sdk values must be strings");
      }
      // Keys are unique: the JSON layer refuses duplicates.
      requirements.sdk_versions.emplace(json::view(it->name), json::view(it->value));
    }
  }
  return requirements;
}

Result<ManifestFile> read_file(const json::Value &value, std::size_t index) {
  auto reader = json::ObjectReader::of(value, "manifest.files[" + std::to_string(index) + "]");
  if (!reader) {
    return std::move(reader).error();
  }
  if (auto allowed = reader->allow_only({"path", "size", "sha256"}); !allowed) {
    return std::move(allowed).error();
  }
  auto path = reader->string("path");
  if (!path) {
    return std::move(path).error();
  }
  auto size = reader->uint64("size");
  if (!size) {
    return std::move(size).error();
  }
  auto sha256 = reader->string("sha256");
  if (!sha256) {
    return std::move(sha256).error();
  }
  return ManifestFile{std::move(*path), *size, std::move(*sha256)};
}

Status read_schema(const json::ObjectReader &reader) {
  auto schema = reader.int64("schema");
  if (!schema) {
    return std::move(schema).error();
  }
  if (*schema != kManifestSchema) {
    return make_error(ErrorCode::Unsupported, "manifest.schema is " + std::to_string(*schema) + "; this reader knows " +
                                                  std::to_string(kManifestSchema));
  }
  return {};
}

// The structure and JSON types of a manifest; values are checked afterwards by validate().
Result<Manifest> read_manifest(const json::Value &root) {
  auto reader = json::ObjectReader::of(root, "manifest");
  if (!reader) {
    return std::move(reader).error();
  }
  // The schema comes first: a later schema's new fields must not be reported as unknown.
  if (auto schema = read_schema(*reader); !schema) {
    return std::move(schema).error();
  }
  if (auto allowed =
          reader->allow_only({"schema", "app", "kind", "package", "version", "created", "requires", "notes", "files"});
      !allowed) {
    return std::move(allowed).error();
  }

  Manifest manifest;
  for (auto [key, target] : {std::pair{"app", &manifest.app}, std::pair{"package", &manifest.package_id},
                             std::pair{"version", &manifest.version}, std::pair{"created", &manifest.created}}) {
    auto text = reader->string(key);
    if (!text) {
      return std::move(text).error();
    }
    *target = std::move(*text);
  }

  auto kind_name = reader->string("kind");
  if (!kind_name) {
    return std::move(kind_name).error();
  }
  auto kind = package_kind_from_string(*kind_name);
  if (!kind) {
    return invalid("manifest.kind must be \"offline\", \"hotpatch\" or \"upgrade\"");
  }
  manifest.kind = *kind;

  auto requirements = optional_member(*reader, "requires", &json::Value::IsObject, "an object");
  if (!requirements) {
    return std::move(requirements).error();
  }
  if (*requirements != nullptr) {
    auto read = read_requirements(**requirements);
    if (!read) {
      return std::move(read).error();
    }
    manifest.requirements = std::move(*read);
  }

  auto notes = optional_member(*reader, "notes", &json::Value::IsString, "a string");
  if (!notes) {
    return std::move(notes).error();
  }
  if (*notes != nullptr) {
    manifest.notes = std::string(json::view(**notes));
  }

  auto files = reader->array("files");
  if (!files) {
    return std::move(files).error();
  }
  manifest.files.reserve((*files)->Size());
  for (rapidjson::SizeType i = 0; i < (*files)->Size(); ++i) {
    auto file = read_file((**files)[i], i);
    if (!file) {
      return std::move(file).error();
    }
    manifest.files.push_back(std::move(*file));
  }
  return manifest;
}

std::vector<const ManifestFile *> sorted_by_path(const std::vector<ManifestFile> &files) {
  std::vector<const ManifestFile *> sorted;
  sorted.reserve(files.size());
  for (const ManifestFile &file : files) {
    sorted.push_back(&file);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const ManifestFile *a, const ManifestFile *b) { return a->path < b->path; });
  return sorted;
}

} // namespace

const char *to_string(PackageKind kind) noexcept {
  for (const auto &entry : kKindNames) {
    if (entry.kind == kind) {
      return entry.name;
    }
  }
  return "unknown";
}

std::optional<PackageKind> package_kind_from_string(std::string_view name) noexcept {
  for (const auto &entry : kKindNames) {
    if (name == entry.name) {
      return entry.kind;
    }
  }
  return std::nullopt;
}

Status validate(const Manifest &manifest) {
  // A PackageKind cast from an arbitrary number would encode as "unknown".
  if (package_kind_from_string(to_string(manifest.kind)) != manifest.kind) {
    return invalid("manifest.kind is not a known kind");
  }
  if (auto checked = check_app_id(manifest.app, "manifest.app"); !checked) {
    return checked;
  }
  if (auto checked = check_lower_identifier(manifest.package_id, "manifest.package"); !checked) {
    return checked;
  }
  if (auto checked = check_version_syntax(manifest.version, "manifest.version"); !checked) {
    return checked;
  }
  if (auto checked = check_created(manifest.created, "manifest.created"); !checked) {
    return checked;
  }
  if (auto checked = check_requirements(manifest.requirements); !checked) {
    return checked;
  }
  if (manifest.notes) {
    if (auto checked = check_notes(*manifest.notes, "manifest.notes"); !checked) {
      return checked;
    }
  }
  return check_files(manifest.files);
}

std::string encode(const Manifest &manifest) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("schema");
  writer.Int(kManifestSchema);
  writer.Key("app");
  writer.String(manifest.app);
  writer.Key("kind");
  writer.String(to_string(manifest.kind));
  writer.Key("package");
  writer.String(manifest.package_id);
  writer.Key("version");
  writer.String(manifest.version);
  writer.Key("created");
  writer.String(manifest.created);
  if (!manifest.requirements.empty()) {
    writer.Key("requires");
    writer.StartObject();
    if (manifest.requirements.app_version) {
      writer.Key("app");
      writer.String(*manifest.requirements.app_version);
    }
    if (!manifest.requirements.sdk_versions.empty()) {
      writer.Key("sdk");
      writer.StartObject();
      for (const auto &[name, range] : manifest.requirements.sdk_versions) { // std::map: sorted by name
        writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        writer.String(range);
      }
      writer.EndObject();
    }
    writer.EndObject();
  }
  if (manifest.notes) {
    writer.Key("notes");
    writer.String(*manifest.notes);
  }
  writer.Key("files");
  writer.StartArray();
  for (const ManifestFile *file : sorted_by_path(manifest.files)) {
    writer.StartObject();
    writer.Key("path");
    writer.String(file->path);
    writer.Key("size");
    writer.Uint64(file->size);
    writer.Key("sha256");
    writer.String(file->sha256);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Result<Manifest> decode(std::string_view text) {
  json::Limits limits;
  limits.max_bytes = kMaxManifestBytes;
  limits.max_depth = kManifestJsonDepth;
  auto document = json::parse(text, limits);
  if (!document) {
    return std::move(document).error();
  }
  auto manifest = read_manifest(document->root());
  if (!manifest) {
    return manifest;
  }
  if (auto valid = validate(*manifest); !valid) {
    return std::move(valid).error();
  }
  std::sort(manifest->files.begin(), manifest->files.end(),
            [](const ManifestFile &a, const ManifestFile &b) { return a.path < b.path; });
  return manifest;
}

Status check_identity(const Manifest &manifest, std::string_view app, PackageKind kind, std::string_view package_id) {
  auto quoted = [](std::string_view text) { return "\"" + std::string(text) + "\""; };
  if (manifest.app != app) {
    return make_error(ErrorCode::ManifestAppMismatch,
                      "manifest is for app " + quoted(manifest.app) + ", expected " + quoted(app));
  }
  if (manifest.kind != kind) {
    return make_error(ErrorCode::ManifestKindMismatch, std::string("manifest is for kind ") + to_string(manifest.kind) +
                                                           ", expected " + to_string(kind));
  }
  if (manifest.package_id != package_id) {
    return make_error(ErrorCode::ManifestPackageMismatch,
                      "manifest is for package " + quoted(manifest.package_id) + ", expected " + quoted(package_id));
  }
  return {};
}

Status check_version(const Manifest &manifest, std::string_view version) {
  if (manifest.version != version) {
    return make_error(ErrorCode::ManifestVersionMismatch,
                      "manifest is for version " + manifest.version + ", expected " + std::string(version));
  }
  return {};
}

Status check_requirements_met(const Manifest &manifest, const Version &app_version,
                              const std::map<std::string, Version> &sdk_versions) {
  const auto &requirements = manifest.requirements;
  if (requirements.app_version) {
    auto range = VersionRange::parse(*requirements.app_version);
    if (!range || !range->contains(app_version)) {
      return make_error(ErrorCode::AppVersionUnsupported, "package requires app version " +
                                                             *requirements.app_version + ", this is " +
                                                             app_version.to_string());
    }
  }
  for (const auto &[name, wanted] : requirements.sdk_versions) {
    auto have = sdk_versions.find(name);
    if (have == sdk_versions.end()) {
      return make_error(ErrorCode::SdkVersionUnsupported, "package requires SDK " + name + " " + wanted +
                                                             ", which this app does not carry");
    }
    auto range = VersionRange::parse(wanted);
    if (!range || !range->contains(have->second)) {
      return make_error(ErrorCode::SdkVersionUnsupported, "package requires SDK " + name + " " + wanted +
                                                             ", this app carries " + have->second.to_string());
    }
  }
  return {};
}

} // namespace mds::core
