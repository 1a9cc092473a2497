// Config resolution (targeting/config_resolution.hpp) as data: which value and which
// source each device gets from defaults, variants and eligible config releases; the
// stored form of variants reads back; a device's versions are parsed once and still
// compare like the text (os_version that is not a version fails a version filter).
#include "server/targeting/config_resolution.hpp"

#include "server/targeting/evaluate.hpp"

#include <catch2/catch.hpp>

namespace targeting = mds::server::targeting;

namespace {

targeting::Device device_from(const std::string &text) {
  auto document = mds::core::json::parse(text);
  REQUIRE(document.ok());
  auto device = targeting::parse_device(document->root());
  REQUIRE(device.ok());
  return std::move(device.value());
}

targeting::ConfigVariant variant(const std::vector<std::string> &when, const std::string &value_json) {
  targeting::ConfigVariant made;
  for (const auto &expression : when) {
    auto filter = targeting::parse_filter(expression);
    REQUIRE(filter.ok());
    made.when.push_back(std::move(filter.value()));
  }
  made.value_json = value_json;
  return made;
}

const targeting::ResolvedValue *find(const targeting::ResolvedConfig &config, std::string_view key) {
  for (const auto &value : config) {
    if (value.key == key) {
      return &value;
    }
  }
  return nullptr;
}

} // namespace

TEST_CASE("config resolution: variants, first match, default, releases on top", "[targeting][config]") {
  targeting::AppConfig config;
  config.revision = 9;
  config.keys.push_back({"feed",
                         R"("f3")",
                         {variant({R"(app_version version_in "<5")"}, R"("f1")"),
                          variant({R"(app_version version_in ">=5")", R"(sdk.feed version_in "<2")"}, R"("f1b")"),
                          variant({R"(sdk.feed version_in ">=2 <3")"}, R"("f2")")}});
  config.keys.push_back({"plain", "1", {}});
  targeting::ConfigOverlay release_7{7, {{"plain", "2"}, {"extra", R"({"a":1})"}}};
  targeting::ConfigOverlay release_8{8, {{"plain", "3"}}};

  struct Case {
    const char *device;
    std::vector<const targeting::ConfigOverlay *> eligible;
    const char *feed;
    const char *feed_source;
    const char *plain;
    const char *plain_source;
    bool extra;
  };
  const std::vector<Case> cases = {
      {R"("app_version":"4.0","sdks":{"feed":"2.5"})", {}, R"("f1")", "variant/feed/0", "1", "default", false},
      {R"("app_version":"5.1","sdks":{"feed":"1.9"})", {}, R"("f1b")", "variant/feed/1", "1", "default", false},
      {R"("app_version":"5.1","sdks":{"feed":"2.0"})", {}, R"("f2")", "variant/feed/2", "1", "default", false},
      {R"("app_version":"5.1","sdks":{"feed":"3"})", {}, R"("f3")", "default", "1", "default", false},
      {R"("app_version":"5.1","sdks":{"other":"1.0"})", {}, R"("f3")", "default", "1", "default", false},
      {R"("app_version":"5.1")", {&release_7}, R"("f3")", "default", "2", "release/7", true},
      {R"("app_version":"5.1")", {&release_7, &release_8}, R"("f3")", "default", "3", "release/8", true},
  };
  for (const auto &c : cases) {
    INFO(c.device);
    const auto device =
        device_from(std::string(R"({"app":"a","platform":"ios","device":{"id":"d"},)") + c.device + "}");
    const auto resolved = targeting::resolve_config(config, device, c.eligible);
    const auto *feed = find(resolved, "feed");
    const auto *plain = find(resolved, "plain");
    REQUIRE(feed != nullptr);
    REQUIRE(plain != nullptr);
    CHECK(feed->json == c.feed);
    CHECK(feed->source.name(feed->key) == c.feed_source);
    CHECK(plain->json == c.plain);
    CHECK(plain->source.name(plain->key) == c.plain_source);
    CHECK((find(resolved, "extra") != nullptr) == c.extra);
    // Sorted by key, whatever the releases brought.
    CHECK(std::is_sorted(resolved.begin(), resolved.end(), [](const auto &a, const auto &b) { return a.key < b.key; }));
  }
}

TEST_CASE("config variants: the stored form reads back, bad stored text is storage_corrupt", "[targeting][config]") {
  const std::vector<targeting::ConfigVariant> variants = {
      variant({"channel eq beta", R"(app_version version_in ">=1 <2")"}, R"({"x":[1,2]})"),
      variant({"brand ci in huawei,honor"}, "null")};
  const auto json = targeting::variants_to_json(variants);
  auto read = targeting::variants_from_json(json);
  REQUIRE(read.ok());
  REQUIRE(read->size() == 2);
  CHECK((*read)[0].value_json == R"({"x":[1,2]})");
  CHECK((*read)[0].when.size() == 2);
  CHECK((*read)[0].when[1].to_expression() == variants[0].when[1].to_expression());
  CHECK((*read)[1].value_json == "null");
  CHECK(targeting::variants_to_json(*read) == json);
  CHECK(targeting::variants_to_json({}) == "[]");

  for (const char *bad : {"", "{}", "[1]", R"([{"when":[]}])", R"([{"when":[{"expression":"nope"}],"value":1}])"}) {
    INFO(bad);
    CHECK(targeting::variants_from_json(bad).code() == mds::ErrorCode::StorageCorrupt);
  }
}

TEST_CASE("a device's versions are parsed once and compare like their text", "[targeting][config]") {
  const auto device = device_from(R"json({"app":"a","platform":"android","app_version":"10.2.3",
    "sdks":{"feed":"2.0.1"},"device":{"id":"d","os_version":"14 (beta)"
}
})json");
  CHECK(device.versions.count("app_version") == 1);
  CHECK(device.versions.count("sdk.feed") == 1);
  CHECK(device.versions.count("os_version") == 0); // kept as text only
  struct Case {
    const char *expression;
    bool holds;
  };
  for (const auto &c : std::vector<Case>{{"app_version version_gte 10.2", true},
                                         {"app_version version_lt 10.2.3", false},
                                         {R"(sdk.feed version_in ">=2 <3")", true},
                                         {"sdk.feed not version_eq 2.0.1", false},
                                         {"os_version version_gte 1", false},
                                         {"os_version not version_gte 1", true},
                                         {"sdk.none version_gte 0", false}}) {
    INFO(c.expression);
    auto filter = targeting::parse_filter(c.expression);
    REQUIRE(filter.ok());
    CHECK(targeting::filter_holds(*filter, device) == c.holds);
  }
}
