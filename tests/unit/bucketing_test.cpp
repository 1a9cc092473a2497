#include "core/bucketing/bucketing.hpp"
#include "core/json/json.hpp"
#include "support/conformance.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using mds::core::bucket;
using mds::core::kUnleashVariantSeed;
using mds::core::murmur3_x86_32;
using mds::core::SaltedBucketing;
namespace json = mds::core::json;

using mds::test::repeat;

namespace {

// "abcd...zabc...": a long id both this test and the vector generator can rebuild.
std::string alphabet_run(std::size_t length) {
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    out += static_cast<char>('a' + i % 26);
  }
  return out;
}

} // namespace

TEST_CASE("murmur3_x86_32 matches the published vectors", "[bucketing]") {
  struct Case {
    std::string data;
    std::uint32_t seed;
    std::uint32_t hash;
  };
  const Case cases[] = {
      {"", 0, 0},
      {"", 1, 0x514e28b7},
      {"", 0xffffffff, 0x81f16f39},
      {std::string("\0", 1), 0, 0x514e28b7},
      {std::string("\0\0", 2), 0, 0x30f4c306},
      {std::string("\0\0\0", 3), 0, 0x85f0b427},
      {std::string("\0\0\0\0", 4), 0, 0x2362f9de},
      {"\xff\xff\xff\xff", 0, 0x76293b50},
      {"\x21\x43\x65\x87", 0, 0xf55b516b},
      {"\x21\x43\x65\x87", 0x5082edee, 0x2362f9de},
      {"\x21\x43\x65", 0, 0x7e4a8634},
      {"\x21\x43", 0, 0xa0f7b07a},
      {"\x21", 0, 0x72661cf4},
      {"a", 0x9747b28c, 0x7fa09ea6},
      {"aa", 0x9747b28c, 0x5d211726},
      {"aaa", 0x9747b28c, 0x283e0130},
      {"aaaa", 0x9747b28c, 0x5a97808a},
      {"ab", 0x9747b28c, 0x74875592},
      {"abc", 0x9747b28c, 0xc84a62dd},
      {"abcd", 0x9747b28c, 0xf0478627},
      {"Hello, world!", 0x9747b28c, 0x24884cba},
      {"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
  };
  for (const auto &c : cases) {
    INFO("'" << c.data << "' (" << c.data.size() << " bytes), seed " << c.seed);
    CHECK(murmur3_x86_32(c.data, c.seed) == c.hash);
  }
}

TEST_CASE("murmur3_x86_32 of UTF-8 and long inputs", "[bucketing]") {
  // Expected values from an independent implementation, over the UTF-8 bytes.
  struct Case {
    std::string data;
    std::uint32_t seed;
    std::uint32_t hash;
  };
  const Case cases[] = {
      {"设备", 0, 0xc8f67ea5},                  // 6 bytes
      {"📱", 1, 0x06467cf1},                     // one 4-byte code point
      {"ü", 0x9747b28c, 0x47aae830},            // 2 bytes
      {alphabet_run(1000), 0, 0x2d16013d},      // 250 whole blocks
      {std::string(1023, 'x'), 42, 0xcd668c1c}, // a 3-byte tail
  };
  for (const auto &c : cases) {
    INFO(c.data.size() << " bytes, seed " << c.seed);
    CHECK(murmur3_x86_32(c.data, c.seed) == c.hash);
  }
}

TEST_CASE("bucket is Unleash's normalised value of salt:id", "[bucketing]") {
  struct Case {
    std::string salt;
    std::string id;
    std::uint32_t modulus;
    std::uint32_t seed;
    std::uint32_t expected;
  };
  const Case cases[] = {
      // from the Unleash specification's gradual rollout cases (03)
      {"AB12A", "122", 100, 0, 23},
      {"AB12A", "155", 100, 0, 100},
      // non-ASCII ids and salts: hashed as UTF-8 bytes
      {"release-7", "设备-42", 100, 0, 73},
      {"grün", "Ärger", 100, 0, 75},
      {"rollout", "📱device", 100, 0, 93},
      {"rollout", "📱device", 1000, kUnleashVariantSeed, 194},
      // precomposed and decomposed "é" are different bytes, so different buckets
      {"Feature.B3", "\u00e9", 100, 0, 13},
      {"Feature.B3", "e\u0301", 100, 0, 21},
      {"", "", 100, 0, 31},
      {"salt", "", 100, 0, 54},
      // very long ids
      {"long", alphabet_run(100000), 100, 0, 47},
      {"long", alphabet_run(100001), 10000, 0, 4506},
      {"long", alphabet_run(100002), 100, kUnleashVariantSeed, 42},
      {"long", alphabet_run(100003), 4294967295u, 0, 3700035686u},
      {"é-long", repeat("é", 5000), 100, 0, 15},
  };
  for (const auto &c : cases) {
    INFO("salt '" << c.salt << "', id of " << c.id.size() << " bytes, modulus " << c.modulus << ", seed " << c.seed);
    CHECK(bucket(c.salt, c.id, c.modulus, c.seed) == c.expected);
  }
}

TEST_CASE("bucket hashes salt, ':' and id as one byte string", "[bucketing]") {
  // The hasher is fed in three pieces; every split of a block across them must give the
  // hash of the joined bytes.
  const std::string bytes = "0123456789abcdef";
  for (std::size_t salt_length = 0; salt_length <= 9; ++salt_length) {
    for (std::size_t id_length = 0; id_length <= 9; ++id_length) {
      const std::string salt = bytes.substr(0, salt_length);
      const std::string id = bytes.substr(16 - id_length);
      for (std::uint32_t seed : {0u, 1u, kUnleashVariantSeed}) {
        INFO("salt '" << salt << "', id '" << id << "', seed " << seed);
        CHECK(bucket(salt, id, 0xffffffff, seed) == murmur3_x86_32(salt + ":" + id, seed) % 0xffffffff + 1);
      }
    }
  }
  // So a ':' in a salt is indistinguishable from one in the id (as in every Unleash SDK).
  CHECK(bucket("a:b", "c", 100) == bucket("a", "b:c", 100));
}

TEST_CASE("SaltedBucketing gives bucket() with the salt hashed once", "[bucketing]") {
  const std::string bytes = "0123456789abcdef0123456789abcdef:x";
  for (std::size_t salt_length = 0; salt_length <= 34; ++salt_length) {
    const std::string salt = bytes.substr(0, salt_length);
    for (std::uint32_t seed : {0u, kUnleashVariantSeed}) {
      const SaltedBucketing salted(salt, seed);
      for (std::size_t id_length = 0; id_length <= 9; ++id_length) {
        const std::string id = bytes.substr(bytes.size() - id_length);
        for (std::uint32_t modulus : {0u, 1u, 100u, 10000u, 4294967295u}) {
          INFO("salt '" << salt << "', id '" << id << "', seed " << seed << ", modulus " << modulus);
          CHECK(salted.bucket(id, modulus) == bucket(salt, id, modulus, seed));
        }
      }
    }
  }
}

TEST_CASE("buckets lie in 1..modulus and modulus 0 gives 0", "[bucketing]") {
  for (std::uint32_t modulus : {1u, 2u, 7u, 100u, 10000u, 4294967295u}) {
    for (int i = 0; i < 500; ++i) {
      const auto value = bucket("salt", "device-" + std::to_string(i), modulus);
      CHECK(value >= 1);
      CHECK(value <= modulus);
    }
  }
  CHECK(bucket("salt", "id", 1) == 1);
  CHECK(bucket("salt", "id", 0) == 0);
}

TEST_CASE("buckets spread evenly and raising a percentage keeps everyone in", "[bucketing]") {
  constexpr int kDevices = 20000;
  std::vector<int> counts(101, 0);
  std::vector<std::uint32_t> buckets;
  for (int i = 0; i < kDevices; ++i) {
    buckets.push_back(bucket("release-42", "device-" + std::to_string(i), 100));
    ++counts[buckets.back()];
  }
  // 200 expected per bucket; 120..280 is over five standard deviations either side.
  for (int b = 1; b <= 100; ++b) {
    INFO("bucket " << b);
    CHECK(counts[b] > 120);
    CHECK(counts[b] < 280);
  }
  // A device in at p% is in at every q >= p: the bucket does not depend on the percentage.
  for (int i = 0; i < kDevices; i += 97) {
    CHECK(bucket("release-42", "device-" + std::to_string(i), 100) == buckets[static_cast<std::size_t>(i)]);
  }
  // A different salt reshuffles: the same devices do not lead every release.
  int same = 0;
  for (int i = 0; i < 1000; ++i) {
    same += bucket("release-43", "device-" + std::to_string(i), 100) == buckets[static_cast<std::size_t>(i)];
  }
  CHECK(same < 50);
}

// ---------------------------------------------------------------------------------------
// The Unleash client specification, run where an outcome follows from bucketing alone.

namespace {

constexpr const char *kNoFeatureState = "no feature list in the state (delta API events)";
constexpr const char *kUnknownToggle = "the toggle is not in the state";
constexpr const char *kFeatureDisabled = "the feature is disabled (no bucketing involved)";
constexpr const char *kDependencies = "the feature depends on other features";
constexpr const char *kNotOneStrategy = "not exactly one strategy";
constexpr const char *kNotARollout = "the strategy is not a percentage rollout";
constexpr const char *kConstraints = "constraints or segments decide too";
constexpr const char *kNoStickinessValue = "no stickiness value in the context (random or absent: not bucketing)";
constexpr const char *kFewVariants = "fewer than two variants (no bucketing involved)";
constexpr const char *kOverride = "a variant override matches the context";

class Tally {
public:
  void ran(const std::string &file) { ++ran_[file]; }
  void skip(const char *reason) { ++skipped_[reason]; }
  std::size_t ran_in(const std::string &file) const {
    const auto it = ran_.find(file);
    return it == ran_.end() ? 0 : it->second;
  }
  std::size_t ran_count() const {
    std::size_t total = 0;
    for (const auto &entry : ran_) {
      total += entry.second;
    }
    return total;
  }
  std::string summary(const std::string &what) const {
    std::ostringstream out;
    out << what << ": " << ran_count() << " ran";
    for (const auto &[file, count] : ran_) {
      out << "\n  ran " << count << " from " << file;
    }
    for (const auto &[reason, count] : skipped_) {
      out << "\n  skipped " << count << ": " << reason;
    }
    return out.str();
  }

private:
  std::map<std::string, std::size_t> ran_;
  std::map<std::string, std::size_t> skipped_;
};

std::string text(const json::Value &value) {
  return std::string(json::view(value));
}

bool non_empty_array(const json::Value &object, const char *name) {
  return object.HasMember(name) && object[name].IsArray() && !object[name].Empty();
}

const json::Value *find_feature(const json::Value &features, const std::string &name) {
  for (const auto &feature : features.GetArray()) {
    if (text(feature["name"]) == name) {
      return &feature;
    }
  }
  return nullptr;
}

// The context field Unleash reads for a stickiness setting, or nullopt.
std::optional<std::string> stickiness_value(const json::Value &context, const std::string &stickiness) {
  if (stickiness == "default") {
    for (const char *field : {"userId", "sessionId"}) {
      if (context.HasMember(field) && context[field].IsString()) {
        return text(context[field]);
      }
    }
    return std::nullopt; // Unleash would pick a random number
  }
  if (context.HasMember(stickiness.c_str()) && context[stickiness.c_str()].IsString()) {
    return text(context[stickiness.c_str()]);
  }
  if (context.HasMember("properties") && context["properties"].HasMember(stickiness.c_str())) {
    return text(context["properties"][stickiness.c_str()]);
  }
  return std::nullopt;
}

std::string parameter(const json::Value &strategy, const char *name, const std::string &fallback) {
  if (strategy.HasMember("parameters") && strategy["parameters"].HasMember(name)) {
    return text(strategy["parameters"][name]);
  }
  return fallback;
}

struct Rollout {
  const json::Value *strategy = nullptr; // the single strategy, if there is one
  std::optional<bool> enabled;           // nullopt: not decided by bucketing (the reason is in `skip`)
  const char *skip = nullptr;
};

// Whether `feature` is on for `context`, when a single percentage rollout decides it.
Rollout evaluate_rollout(const json::Value &feature, const json::Value &context) {
  Rollout out;
  if (!feature["enabled"].GetBool()) {
    out.skip = kFeatureDisabled;
    return out;
  }
  if (non_empty_array(feature, "dependencies")) {
    out.skip = kDependencies;
    return out;
  }
  if (feature["strategies"].IsArray() && feature["strategies"].Empty()) {
    out.enabled = true; // an enabled feature without strategies is on for everyone
    return out;
  }
  if (!feature["strategies"].IsArray() || feature["strategies"].Size() != 1) {
    out.skip = kNotOneStrategy;
    return out;
  }
  const auto &strategy = feature["strategies"][0];
  out.strategy = &strategy;
  if (non_empty_array(strategy, "constraints") || non_empty_array(strategy, "segments")) {
    out.skip = kConstraints;
    return out;
  }
  const std::string name = text(strategy["name"]);
  if (name == "default") {
    out.enabled = true; // only variant cases get here
    return out;
  }
  std::string stickiness;
  std::string percentage;
  if (name == "gradualRolloutUserId" || name == "gradualRolloutSessionId") {
    stickiness = name == "gradualRolloutUserId" ? "userId" : "sessionId";
    percentage = parameter(strategy, "percentage", "");
  } else if (name == "flexibleRollout") {
    stickiness = parameter(strategy, "stickiness", "default");
    percentage = parameter(strategy, "rollout", "");
  } else {
    out.skip = kNotARollout;
    return out;
  }
  const auto id = stickiness_value(context, stickiness);
  if (!id) {
    out.skip = kNoStickinessValue;
    return out;
  }
  const std::string group_id = parameter(strategy, "groupId", text(feature["name"]));
  out.enabled = bucket(group_id, *id, 100) <= std::stoul(percentage);
  return out;
}

struct Spec {
  std::string file;
  json::Document doc;
};

std::vector<Spec> load_specification() {
  std::vector<Spec> specs;
  const auto dir = mds::test::conformance_dir("unleash-client-specification");
  if (!dir) {
    return specs;
  }
  json::Limits limits;
  limits.max_bytes = 8u << 20;
  auto index = json::parse(mds::test::read_file(*dir / "index.json"), limits);
  REQUIRE(index.ok());
  for (const auto &name : index->root().GetArray()) {
    const std::string file = text(name);
    auto doc = json::parse(mds::test::read_file(*dir / file), limits);
    INFO(file);
    REQUIRE(doc.ok());
    specs.push_back({file, std::move(doc).value()});
  }
  return specs;
}

const json::Value *features_of(const json::Value &root) {
  if (root.HasMember("state") && root["state"].IsObject() && root["state"].HasMember("features")) {
    return &root["state"]["features"];
  }
  return nullptr;
}

} // namespace

TEST_CASE("Unleash specification: rollouts decided by bucketing", "[bucketing][unleash]") {
  const auto specs = load_specification();
  if (specs.empty()) {
    WARN("unleash-client-specification not found (set MDS_CONFORMANCE_DIR): skipped");
    return;
  }
  Tally tally;
  for (const auto &spec : specs) {
    const auto &root = spec.doc.root();
    if (!root.HasMember("tests")) {
      continue;
    }
    const json::Value *features = features_of(root);
    for (const auto &test : root["tests"].GetArray()) {
      if (!features) {
        tally.skip(kNoFeatureState);
        continue;
      }
      const json::Value *feature = find_feature(*features, text(test["toggleName"]));
      if (!feature) {
        tally.skip(kUnknownToggle);
        continue;
      }
      const auto rollout = evaluate_rollout(*feature, test["context"]);
      if (!rollout.enabled || !rollout.strategy || text((*rollout.strategy)["name"]) == "default") {
        tally.skip(rollout.skip ? rollout.skip : kNotARollout);
        continue;
      }
      tally.ran(spec.file);
      INFO(spec.file << ": " << text(test["description"]));
      CHECK(*rollout.enabled == test["expectedResult"].GetBool());
    }
  }
  WARN(tally.summary("Unleash rollout cases"));
  CHECK(tally.ran_in("03-gradual-rollout-user-id-strategy.json") >= 4);
  CHECK(tally.ran_in("04-gradual-rollout-session-id-strategy.json") >= 4);
  CHECK(tally.ran_in("10-flexible-rollout-strategy.json") >= 7);
  CHECK(tally.ran_count() >= 15);
}

TEST_CASE("Unleash specification: variants chosen by bucketing with the variant seed", "[bucketing][unleash]") {
  const auto specs = load_specification();
  if (specs.empty()) {
    WARN("unleash-client-specification not found (set MDS_CONFORMANCE_DIR): skipped");
    return;
  }
  Tally tally;
  for (const auto &spec : specs) {
    const auto &root = spec.doc.root();
    if (!root.HasMember("variantTests")) {
      continue;
    }
    const json::Value *features = features_of(root);
    for (const auto &test : root["variantTests"].GetArray()) {
      if (!features) {
        tally.skip(kNoFeatureState);
        continue;
      }
      const json::Value *feature = find_feature(*features, text(test["toggleName"]));
      if (!feature) {
        tally.skip(kUnknownToggle);
        continue;
      }
      const auto &context = test["context"];
      const std::string expected = text(test["expectedResult"]["name"]);
      const auto rollout = evaluate_rollout(*feature, context);
      if (!rollout.enabled) {
        tally.skip(rollout.skip);
        continue;
      }
      INFO(spec.file << ": " << text(test["description"]));
      if (!*rollout.enabled) {
        tally.ran(spec.file);
        CHECK(expected == "disabled");
        continue;
      }
      // Strategy variants win over feature variants; each kind has its own group id and
      // stickiness.
      const json::Value *strategy = rollout.strategy;
      const bool from_strategy = strategy && non_empty_array(*strategy, "variants");
      const auto &variants = from_strategy ? (*strategy)["variants"] : (*feature)["variants"];
      if (!variants.IsArray() || variants.Size() < 2) {
        tally.skip(kFewVariants);
        continue;
      }
      bool overridden = false;
      for (const auto &variant : variants.GetArray()) {
        if (!variant.HasMember("overrides")) {
          continue;
        }
        for (const auto &override_rule : variant["overrides"].GetArray()) {
          const auto value = stickiness_value(context, text(override_rule["contextName"]));
          for (const auto &listed : override_rule["values"].GetArray()) {
            overridden = overridden || (value && *value == text(listed));
          }
        }
      }
      if (overridden) {
        tally.skip(kOverride);
        continue;
      }
      const std::string group_id =
          from_strategy ? parameter(*strategy, "groupId", text((*feature)["name"])) : text((*feature)["name"]);
      const std::string stickiness =
          from_strategy ? parameter(*strategy, "stickiness", "default")
                        : (variants[0].HasMember("stickiness") ? text(variants[0]["stickiness"]) : "default");
      const auto id = stickiness_value(context, stickiness);
      if (!id) {
        tally.skip(kNoStickinessValue);
        continue;
      }
      std::uint32_t total_weight = 0;
      for (const auto &variant : variants.GetArray()) {
        total_weight += variant["weight"].GetUint();
      }
      const std::uint32_t target = bucket(group_id, *id, total_weight, kUnleashVariantSeed);
      std::string chosen;
      std::uint32_t cumulative = 0;
      for (const auto &variant : variants.GetArray()) {
        cumulative += variant["weight"].GetUint();
        if (variant["weight"].GetUint() > 0 && cumulative >= target) {
          chosen = text(variant["name"]);
          break;
        }
      }
      tally.ran(spec.file);
      CHECK(chosen == expected);
    }
  }
  WARN(tally.summary("Unleash variant cases"));
  CHECK(tally.ran_in("08-variants.json") >= 9);
  CHECK(tally.ran_in("12-custom-stickiness.json") >= 4);
  CHECK(tally.ran_count() >= 15);
}
