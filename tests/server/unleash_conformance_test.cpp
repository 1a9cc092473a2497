// Runs the Unleash client specification (shared conformance vectors, read where they lie)
// against the targeting engine. Each Unleash strategy becomes one release's targeting and a
// feature is enabled when any of its strategies' releases is eligible:
//
//   default                        stage full, with the strategy's constraints as filters
//   userWithId                     stage gray, a user whitelist of the listed ids
//   gradualRollout{UserId,SessionId}, flexibleRollout
//                                  stage gray, the percentage door with modulus 100, the
//                                  group id as salt and the stickiness value as device id
//   gradualRolloutRandom, random stickiness at 0 or 100 %
//                                  the same door, which then does not depend on the id
//   constraints                    filters (IN, NOT_IN, STR_*, NUM_*, DATE_*, SEMVER_*,
//                                  caseInsensitive as ci, inverted as not), written as
//                                  expressions and read back by the filter grammar
//   segments                       rules (a filter set per segment)
//   enabled: false                 stage ended
//
// What the engine deliberately lacks is skipped, each skip counted under its reason.
#include "server/targeting/evaluate.hpp"
#include "server/util/time.hpp"
#include "support/conformance.hpp"

#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

namespace targeting = mds::server::targeting;
using mds::core::json::Value;
using mds::server::ReleaseStage;

namespace {

// Why a case cannot run here; nullopt when it can.
using Skip = std::optional<std::string>;

class Users final : public targeting::WhitelistLookup {
public:
  std::map<std::string, std::set<std::string>> lists;
  mds::Result<bool> contains(std::string_view list, const targeting::Device &device) override {
    const auto found = lists.find(std::string(list));
    return found != lists.end() && device.user_id && found->second.count(*device.user_id) > 0;
  }
};

class NoWindows final : public targeting::WindowGate {
public:
  mds::Result<targeting::WindowAnswer> admit(std::int64_t, const mds::server::TimeWindow &, std::string_view, bool,
                                             targeting::WindowMode) override {
    return targeting::WindowAnswer{};
  }
};

std::string text_of(const Value &value) {
  if (value.IsString()) {
    return std::string(mds::core::json::view(value));
  }
  return mds::core::json::serialize(value);
}

bool valid_name(const std::string &name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Unleash's dates carry milliseconds and offsets; ours are whole UTC seconds.
std::optional<std::string> utc_date(const std::string &text) {
  if (text.size() < 20) {
    return std::nullopt;
  }
  std::string rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      if (rest[digits] != '0') {
        return std::nullopt; // a fraction our whole seconds cannot say
      }
      ++digits;
    }
    rest = rest.substr(digits);
  }
  std::int64_t offset = 0;
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    const int hours = std::stoi(rest.substr(1, 2));
    const int minutes = std::stoi(rest.substr(4, 2));
    offset = (rest[0] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
  } else if (rest != "Z") {
    return std::nullopt;
  }
  auto local = mds::server::parse_utc(text.substr(0, 19) + "Z");
  if (!local) {
    return std::nullopt;
  }
  return mds::server::format_utc(*local - offset);
}

const std::map<std::string, targeting::Operator> kOperators = {
    {"IN", targeting::Operator::In},
    {"NOT_IN", targeting::Operator::NotIn},
    {"STR_STARTS_WITH", targeting::Operator::Prefix},
    {"STR_ENDS_WITH", targeting::Operator::Suffix},
    {"STR_CONTAINS", targeting::Operator::Contains},
    {"NUM_EQ", targeting::Operator::NumEq},
    {"NUM_LT", targeting::Operator::Lt},
    {"NUM_LTE", targeting::Operator::Lte},
    {"NUM_GT", targeting::Operator::Gt},
    {"NUM_GTE", targeting::Operator::Gte},
    {"DATE_BEFORE", targeting::Operator::DateBefore},
    {"DATE_AFTER", targeting::Operator::DateAfter},
    {"SEMVER_EQ", targeting::Operator::VersionEq},
    {"SEMVER_LT", targeting::Operator::VersionLt},
    {"SEMVER_GT", targeting::Operator::VersionGt},
    {"SEMVER_LTE", targeting::Operator::VersionLte},
    {"SEMVER_GTE", targeting::Operator::VersionGte},
};

std::string field_for(const std::string &context_name) {
  return context_name == "userId" ? "user_id" : "attr." + context_name;
}

Skip to_filter(const Value &constraint, targeting::Filter &out) {
  const std::string op_name = constraint["operator"].GetString();
  if (op_name == "REGEX") {
    return "REGEX operator: not in the filter grammar";
  }
  if (op_name == "IN_CIDR") {
    return "IN_CIDR operator: not in the filter grammar";
  }
  const auto op = kOperators.find(op_name);
  if (op == kOperators.end()) {
    return "an operator Unleash itself does not know";
  }
  const std::string context_name = constraint["contextName"].GetString();
  if (context_name == "remoteAddress") {
    return "remote address: no such device field";
  }
  if (!valid_name(context_name)) {
    return "context field name outside the attribute name grammar";
  }
  targeting::Filter filter;
  filter.field = field_for(context_name);
  filter.op = op->second;
  filter.negated = constraint.HasMember("inverted") && constraint["inverted"].GetBool();
  filter.case_insensitive = constraint.HasMember("caseInsensitive") && constraint["caseInsensitive"].GetBool() &&
                            targeting::operand_kind(op->second) == targeting::OperandKind::String;
  if (constraint.HasMember("values") && constraint["values"].IsArray() && constraint["values"].Size() > 0 &&
      targeting::operand_kind(op->second) == targeting::OperandKind::String) {
    for (const auto &value : constraint["values"].GetArray()) {
      filter.values.push_back(text_of(value));
    }
  } else if (constraint.HasMember("value") && constraint["value"].IsString()) {
    filter.values.push_back(constraint["value"].GetString());
  } else {
    return "a constraint without values (the grammar needs at least one)";
  }
  if (targeting::operand_kind(op->second) == targeting::OperandKind::Version && !filter.values.front().empty() &&
      (filter.values.front()[0] == 'v' || filter.values.front()[0] == 'V')) {
    // docs/versions.md accepts "v2.0.0" as 2.0.0 (apps write it so); Unleash's semver
    // calls it invalid and the constraint false.
    return "a version with a leading v: a version here, invalid to Unleash";
  }
  if (targeting::operand_kind(op->second) == targeting::OperandKind::Date) {
    auto date = utc_date(filter.values.front());
    if (!date) {
      return "a date with a fraction of a second";
    }
    filter.values.front() = *date;
  }
  // Through the grammar, as an operator would write it.
  auto parsed = targeting::parse_filter(filter.to_expression());
  if (!parsed) {
    if (parsed.code() == mds::ErrorCode::VersionInvalid) {
      return "a constraint version core/version refuses";
    }
    return "a constraint the filter grammar refuses";
  }
  out = std::move(parsed.value());
  return std::nullopt;
}

struct Context {
  targeting::Device device;
  std::map<std::string, std::string> values; // Unleash context name -> value
};

Context context_of(const Value &context) {
  Context out;
  out.device.app = "unleash";
  out.device.platform = "android";
  out.device.app_version = "1";
  for (const auto &member : context.GetObject()) {
    const std::string name = member.name.GetString();
    if (name == "properties" && member.value.IsObject()) {
      for (const auto &property : member.value.GetObject()) {
        if (!property.value.IsNull()) {
          out.values[property.name.GetString()] = text_of(property.value);
        }
      }
    } else if (!member.value.IsNull()) {
      out.values[name] = text_of(member.value);
    }
  }
  if (out.values.count("currentTime") == 0) {
    out.values["currentTime"] = mds::server::format_utc(mds::server::unix_now_seconds());
  }
  for (const auto &[name, value] : out.values) {
    if (name == "userId") {
      out.device.user_id = value;
    } else {
      out.device.attributes[name] = value;
    }
  }
  return out;
}

// One strategy as the targeting of one release.
Skip strategy_targeting(const Value &strategy, const std::map<std::int64_t, const Value *> &segments,
                        const Context &context, Users &users, targeting::Targeting &out, std::string &stickiness_id) {
  const std::string name = strategy["name"].GetString();
  const Value empty(rapidjson::kObjectType);
  const Value &parameters = strategy.HasMember("parameters") ? strategy["parameters"] : empty;
  auto parameter = [&](const char *key) -> std::optional<std::string> {
    if (!parameters.IsObject() || !parameters.HasMember(key)) {
      return std::nullopt;
    }
    return text_of(parameters[key]);
  };
  auto context_value = [&](const std::string &key) -> std::optional<std::string> {
    const auto found = context.values.find(key);
    return found == context.values.end() ? std::nullopt : std::optional<std::string>(found->second);
  };

  targeting::FilterSet own{"release", {}};
  if (strategy.HasMember("constraints")) {
    for (const auto &constraint : strategy["constraints"].GetArray()) {
      targeting::Filter filter;
      if (auto skip = to_filter(constraint, filter)) {
        return skip;
      }
      own.filters.push_back(std::move(filter));
    }
  }
  out.filter_sets.push_back(std::move(own));
  if (strategy.HasMember("segments")) {
    for (const auto &id : strategy["segments"].GetArray()) {
      const auto segment = segments.find(id.GetInt64());
      if (segment == segments.end()) {
        return "a segment the state does not define";
      }
      targeting::FilterSet rule{"rule:segment-" + std::to_string(id.GetInt64()), {}};
      for (const auto &constraint : (*segment->second)["constraints"].GetArray()) {
        targeting::Filter filter;
        if (auto skip = to_filter(constraint, filter)) {
          return skip;
        }
        rule.filters.push_back(std::move(filter));
      }
      out.filter_sets.push_back(std::move(rule));
    }
  }

  if (name == "default") {
    out.stage = ReleaseStage::Full;
    return std::nullopt;
  }
  out.stage = ReleaseStage::Gray;
  if (name == "userWithId") {
    const auto list = "users-" + std::to_string(users.lists.size());
    auto &ids = users.lists[list];
    const auto written = parameter("userIds").value_or("");
    std::size_t start = 0;
    while (start <= written.size()) {
      auto end = written.find(',', start);
      if (end == std::string::npos) {
        end = written.size();
      }
      auto id = written.substr(start, end - start);
      id.erase(0, id.find_first_not_of(' '));
      id.erase(id.find_last_not_of(' ') + 1);
      if (!id.empty()) {
        ids.insert(id);
      }
      start = end + 1;
    }
    out.whitelists.push_back(list);
    return std::nullopt;
  }

  std::optional<std::string> percent_text;
  std::string stickiness;
  if (name == "gradualRolloutUserId") {
    percent_text = parameter("percentage");
    stickiness = "userId";
  } else if (name == "gradualRolloutSessionId") {
    percent_text = parameter("percentage");
    stickiness = "sessionId";
  } else if (name == "gradualRolloutRandom") {
    percent_text = parameter("percentage");
    stickiness = "random";
  } else if (name == "flexibleRollout") {
    percent_text = parameter("rollout");
    stickiness = parameter("stickiness").value_or("default");
    if (stickiness == "default") {
      stickiness = context_value("userId") ? "userId" : context_value("sessionId") ? "sessionId" : "random";
    }
  } else if (name == "remoteAddress") {
    return "remoteAddress strategy: no such device field";
  } else if (name == "applicationHostname") {
    return "applicationHostname strategy: a server-side notion";
  } else {
    return "a custom strategy";
  }
  const auto percent = std::stoi(percent_text.value_or("0"));
  if (percent < 0 || percent > 100) {
    return "a percentage outside 0..100";
  }
  out.percent_bp = static_cast<std::uint32_t>(percent) * 100;
  out.modulus = 100;
  out.salt = parameter("groupId").value_or("");
  if (stickiness == "random") {
    if (percent != 0 && percent != 100) {
      return "random stickiness: not deterministic";
    }
    stickiness_id = "any-device"; // at 0 or 100 % the bucket does not matter
    return std::nullopt;
  }
  stickiness_id = context_value(stickiness).value_or("");
  return std::nullopt;
}

struct Tally {
  std::size_t ran = 0;
  std::size_t passed = 0;
  std::map<std::string, std::size_t> skipped;
  std::vector<std::string> failures;
};

void run_file(const std::filesystem::path &file, Tally &tally) {
  auto document = mds::core::json::parse(mds::test::read_file(file), {16u << 20, 64});
  REQUIRE(document.ok());
  const auto &root = document->root();
  if (root.HasMember("variantTests")) {
    tally.skipped["variants: configs have no Unleash-style variants"] += root["variantTests"].Size();
  }
  if (!root.HasMember("tests")) {
    return;
  }
  const auto &state = root["state"];
  if (!state.HasMember("features")) {
    tally.skipped["delta API (events) format: a transport, not targeting"] += root["tests"].Size();
    return;
  }
  std::map<std::string, const Value *> features;
  for (const auto &feature : state["features"].GetArray()) {
    features[feature["name"].GetString()] = &feature;
  }
  std::map<std::int64_t, const Value *> segments;
  if (state.HasMember("segments")) {
    for (const auto &segment : state["segments"].GetArray()) {
      segments[segment["id"].GetInt64()] = &segment;
    }
  }
  for (const auto &test : root["tests"].GetArray()) {
    const std::string description = test["description"].GetString();
    const bool expected = test["expectedResult"].GetBool();
    const auto found = features.find(test["toggleName"].GetString());
    const Value *feature = found == features.end() ? nullptr : found->second;
    if (feature != nullptr && feature->HasMember("dependencies")) {
      ++tally.skipped["dependent features: releases do not depend on each other"];
      continue;
    }
    const auto context = context_of(test["context"]);
    Users users;
    NoWindows windows;
    Skip skip;
    bool enabled = false;
    if (feature != nullptr) {
      const bool on = (*feature)["enabled"].GetBool();
      const bool has_strategies = feature->HasMember("strategies") && (*feature)["strategies"].Size() > 0;
      std::vector<std::pair<targeting::Targeting, std::string>> releases;
      if (!has_strategies) {
        targeting::Targeting release;
        release.stage = ReleaseStage::Full;
        releases.emplace_back(release, "");
      } else {
        for (const auto &strategy : (*feature)["strategies"].GetArray()) {
          targeting::Targeting release;
          std::string id;
          skip = strategy_targeting(strategy, segments, context, users, release, id);
          if (skip) {
            break;
          }
          releases.emplace_back(std::move(release), id);
        }
      }
      if (skip) {
        ++tally.skipped[*skip];
        continue;
      }
      for (auto &[release, id] : releases) {
        if (!on) {
          release.stage = ReleaseStage::Ended;
        }
        auto device = context.device;
        device.device_id = id;
        auto decision = targeting::evaluate(release, device, users, windows, mds::server::unix_now_seconds(),
                                            targeting::WindowMode::Peek);
        REQUIRE(decision.ok());
        enabled = enabled || decision->eligible;
      }
    }
    ++tally.ran;
    if (enabled == expected) {
      ++tally.passed;
    } else {
      tally.failures.push_back(file.filename().string() + ": " + description);
    }
  }
}

} // namespace

TEST_CASE("the Unleash client specification, as far as the engine can express it", "[targeting][unleash]") {
  const auto dir = mds::test::conformance_dir("unleash-client-specification");
  if (!dir) {
    WARN("unleash-client-specification not found: skipped");
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto &entry : std::filesystem::directory_iterator(*dir)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name != "index.json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  Tally tally;
  for (const auto &file : files) {
    INFO(file.filename().string());
    run_file(file, tally);
  }
  std::size_t skipped = 0;
  std::cout << "Unleash client specification: " << files.size() << " files, " << tally.ran << " cases ran, "
            << tally.passed << " passed\n";
  for (const auto &[reason, count] : tally.skipped) {
    std::cout << "  skipped " << count << ": " << reason << "\n";
    skipped += count;
  }
  std::cout << "  skipped in all: " << skipped << "\n";
  for (const auto &failure : tally.failures) {
    std::cout << "  FAILED " << failure << "\n";
  }
  CHECK(tally.failures.empty());
  CHECK(tally.ran >= 130); // 138 when written: every case but the skips
}
