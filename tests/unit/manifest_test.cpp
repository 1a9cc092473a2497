#include "core/manifest/manifest.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mds::ErrorCode;
using mds::core::decode;
using mds::core::encode;
using mds::core::Manifest;
using mds::core::ManifestFile;
using mds::core::PackageKind;

namespace {

const std::string kIndexHash = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const std::string kMainHash = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";

// What encode writes for example_manifest(): the canonical text.
const std::string kCanonical =
    R"({"schema":1,"app":"com.example.shop","kind":"offline","package":"checkout","version":"10.1.68.2",)"
    R"("created":"2024-05-01T12:00:00Z",)"
    R"("requires":{"app":">=10.1.0 <11.0.0","sdk":{"mds":">=0.1.0","webview-kit":"^2.3.0"}},)"
    R"("notes":"Faster checkout.\nFixes the coupon field.",)"
    R"("files":[{"path":"index.html","size":1234,"sha256":")" +
    kIndexHash + R"("},{"path":"static/js/main.3f2a.js","size":56789,"sha256":")" + kMainHash + R"("}]})";

Manifest example_manifest() {
  Manifest manifest;
  manifest.app = "com.example.shop";
  manifest.kind = PackageKind::Offline;
  manifest.package_id = "checkout";
  manifest.version = "10.1.68.2";
  manifest.created = "2024-05-01T12:00:00Z";
  manifest.requirements.app_version = ">=10.1.0 <11.0.0";
  manifest.requirements.sdk_versions = {{"webview-kit", "^2.3.0"}, {"mds", ">=0.1.0"}};
  manifest.notes = "Faster checkout.\nFixes the coupon field.";
  // Out of order on purpose: encode sorts.
  manifest.files = {{"static/js/main.3f2a.js", 56789, kMainHash}, {"index.html", 1234, kIndexHash}};
  return manifest;
}

// A valid range of exactly `length` characters: ">=1" padded with spaces before "<2".
std::string range_of_length(std::size_t length) {
  return ">=1" + std::string(length - 5, ' ') + "<2";
}

std::string minimal_with_files(const std::string &files_json) {
  return R"({"schema":1,"app":"a","kind":"hotpatch","package":"p","version":"1","created":"2024-05-01T12:00:00Z",)"
         R"("files":)" +
         files_json + "}";
}

std::string file_json(const std::string &path, const std::string &size = "1", const std::string &sha256 = kIndexHash) {
  return R"({"path":")" + path + R"(","size":)" + size + R"(,"sha256":")" + sha256 + R"("})";
}

// The canonical text with `find` (which must occur exactly once) replaced.
std::string mutate(const std::string &find, const std::string &replacement) {
  const auto at = kCanonical.find(find);
  REQUIRE(at != std::string::npos);
  REQUIRE(kCanonical.find(find, at + 1) == std::string::npos);
  std::string text = kCanonical;
  text.replace(at, find.size(), replacement);
  return text;
}

} // namespace

TEST_CASE("the payload type and kind names are the wire's", "[manifest]") {
  CHECK(mds::core::kManifestPayloadType == "application/vnd.openmds.manifest+json");
  struct Case {
    PackageKind kind;
    const char *name;
  };
  for (const auto &c : {Case{PackageKind::Offline, "offline"}, Case{PackageKind::Hotpatch, "hotpatch"},
                        Case{PackageKind::Upgrade, "upgrade"}}) {
    CHECK(std::string(mds::core::to_string(c.kind)) == c.name);
    CHECK(mds::core::package_kind_from_string(c.name) == c.kind);
  }
  for (const char *name : {"", "Offline", "OFFLINE", "offline ", "patch", "config", "unknown"}) {
    INFO(name);
    CHECK_FALSE(mds::core::package_kind_from_string(name).has_value());
  }
}

TEST_CASE("encode is deterministic and writes the canonical text", "[manifest]") {
  const Manifest manifest = example_manifest();
  CHECK(encode(manifest) == kCanonical);
  CHECK(encode(manifest) == encode(manifest));

  Manifest reordered = manifest;
  std::swap(reordered.files[0], reordered.files[1]);
  CHECK(encode(reordered) == kCanonical);
}

TEST_CASE("decode and encode round-trip", "[manifest]") {
  auto decoded = decode(kCanonical);
  REQUIRE(decoded.ok());
  CHECK(decoded->app == "com.example.shop");
  CHECK(decoded->kind == PackageKind::Offline);
  CHECK(decoded->package_id == "checkout");
  CHECK(decoded->version == "10.1.68.2");
  CHECK(decoded->created == "2024-05-01T12:00:00Z");
  CHECK(decoded->requirements.app_version == std::optional<std::string>(">=10.1.0 <11.0.0"));
  CHECK(decoded->requirements.sdk_versions.at("mds") == ">=0.1.0");
  CHECK(decoded->requirements.sdk_versions.at("webview-kit") == "^2.3.0");
  CHECK(decoded->notes == std::optional<std::string>("Faster checkout.\nFixes the coupon field."));
  REQUIRE(decoded->files.size() == 2);
  CHECK(decoded->files[0] == ManifestFile{"index.html", 1234, kIndexHash});
  CHECK(decoded->files[1] == ManifestFile{"static/js/main.3f2a.js", 56789, kMainHash});

  CHECK(encode(*decoded) == kCanonical);
  auto again = decode(encode(*decoded));
  REQUIRE(again.ok());
  CHECK(*again == *decoded);

  // decode returns files sorted, so a manifest built in any order equals its decoding
  // once sorted.
  Manifest sorted = example_manifest();
  std::swap(sorted.files[0], sorted.files[1]);
  CHECK(*decoded == sorted);
  CHECK(*decoded != example_manifest());
}

TEST_CASE("optional fields are left out when absent and stay absent", "[manifest]") {
  Manifest manifest = example_manifest();
  manifest.kind = PackageKind::Upgrade;
  manifest.requirements = {};
  manifest.notes.reset();
  manifest.files = {{"app-release.apk", 73400320, kMainHash}};
  const std::string text = encode(manifest);
  CHECK(text.find("requires") == std::string::npos);
  CHECK(text.find("notes") == std::string::npos);
  auto decoded = decode(text);
  REQUIRE(decoded.ok());
  CHECK(*decoded == manifest);
  CHECK(encode(*decoded) == text);

  manifest.requirements.sdk_versions = {{"mds", ">=1.0.0"}}; // sdk without app
  auto only_sdk = decode(encode(manifest));
  REQUIRE(only_sdk.ok());
  CHECK(*only_sdk == manifest);
  CHECK(encode(manifest).find(R"("requires":{"sdk":)") != std::string::npos);
}

TEST_CASE("non-canonical but valid text decodes to the same manifest", "[manifest]") {
  const std::string spaced = R"({ "files": [ {"sha256": ")" + kIndexHash +
                             R"(", "size": 1, "path": "b.js"}, {"path": "a.js", "size": 2, "sha256": ")" + kMainHash +
                             R"("} ], "created": "2024-05-01T12:00:00Z", "version": "1", "package": "p",
      "kind": "hotpatch", "app": "a", "requires": {}, "schema": 1 })";
  auto decoded = decode(spaced);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->files.size() == 2);
  CHECK(decoded->files[0].path == "a.js"); // sorted by path
  CHECK(decoded->requirements.empty());
  CHECK(encode(*decoded) ==
        minimal_with_files("[" + file_json("a.js", "2", kMainHash) + "," + file_json("b.js") + "]"));
}

TEST_CASE("valid variants of each field are accepted", "[manifest]") {
  struct Case {
    std::string find;
    std::string replacement;
  };
  const std::vector<Case> accepted = {
      {R"("app":"com.example.shop")", R"("app":"com.Example.Shop-App_2")"},
      {R"("app":"com.example.shop")", R"("app":"a")"},
      {R"("app":"com.example.shop")", R"("app":")" + std::string(128, 'x') + "\""},
      {R"("package":"checkout")", R"("package":"a.b_c-d0")"},
      {R"("package":"checkout")", R"("package":")" + std::string(64, 'p') + "\""},
      {R"("kind":"offline")", R"("kind":"hotpatch")"},
      {R"("kind":"offline")", R"("kind":"upgrade")"},
      {R"("version":"10.1.68.2")", R"("version":"0")"},
      {R"("version":"10.1.68.2")", R"("version":"9007199254740991")"},
      {R"("version":"10.1.68.2")", R"("version":"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16")"},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-02-29T23:59:59Z")"},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2000-02-29T00:00:00Z")"},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"1970-01-01T00:00:00Z")"},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"9999-12-31T23:59:59Z")"},
      {R"("app":">=10.1.0 <11.0.0")", R"("app":")" + range_of_length(256) + "\""},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":"tab\there, caf\u00e9, 日本語")"},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":")" + std::string(4096, 'n') + "\""},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":"")"},
      {R"("size":1234)", R"("size":0)"},
      {R"("size":1234)", R"("size":4294910507)"}, // with 56789 more: exactly 4 GiB
  };
  for (const auto &c : accepted) {
    const std::string text = mutate(c.find, c.replacement);
    INFO(text);
    auto decoded = decode(text);
    INFO((decoded ? std::string() : mds::describe(decoded.error())));
    REQUIRE(decoded.ok());
    auto again = decode(encode(*decoded));
    REQUIRE(again.ok());
    CHECK(*again == *decoded);
  }
}

TEST_CASE("every bad field is refused with its own code", "[manifest]") {
  struct Case {
    std::string find;
    std::string replacement;
    ErrorCode code;
  };
  const std::string bad_hash = kIndexHash;
  const std::vector<Case> refused = {
      // missing fields
      {R"("schema":1,)", "", ErrorCode::JsonMissingField},
      {R"("app":"com.example.shop",)", "", ErrorCode::JsonMissingField},
      {R"("kind":"offline",)", "", ErrorCode::JsonMissingField},
      {R"("package":"checkout",)", "", ErrorCode::JsonMissingField},
      {R"("version":"10.1.68.2",)", "", ErrorCode::JsonMissingField},
      {R"("created":"2024-05-01T12:00:00Z",)", "", ErrorCode::JsonMissingField},
      {R"("path":"index.html",)", "", ErrorCode::JsonMissingField},
      {R"("size":1234,)", "", ErrorCode::JsonMissingField},
      {R"(,"sha256":")" + kIndexHash + "\"", "", ErrorCode::JsonMissingField},
      // wrong JSON types, nulls included
      {R"("schema":1)", R"("schema":"1")", ErrorCode::JsonWrongType},
      {R"("schema":1)", R"("schema":1.0)", ErrorCode::JsonWrongType},
      {R"("app":"com.example.shop")", R"("app":7)", ErrorCode::JsonWrongType},
      {R"("app":"com.example.shop")", R"("app":null)", ErrorCode::JsonWrongType},
      {R"("kind":"offline")", R"("kind":["offline"])", ErrorCode::JsonWrongType},
      {R"("version":"10.1.68.2")", R"("version":10.1)", ErrorCode::JsonWrongType},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":1714564800)", ErrorCode::JsonWrongType},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":null)", ErrorCode::JsonWrongType},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":false)", ErrorCode::JsonWrongType},
      {R"("requires":{"app")", R"("requires":[],"ignored":{"app")", ErrorCode::JsonUnknownField},
      {R"({"app":">=10.1.0 <11.0.0","sdk":{"mds":">=0.1.0","webview-kit":"^2.3.0"}})", "[]", ErrorCode::JsonWrongType},
      {R"({"app":">=10.1.0 <11.0.0","sdk":{"mds":">=0.1.0","webview-kit":"^2.3.0"}})", "null",
       ErrorCode::JsonWrongType},
      {R"({"mds":">=0.1.0","webview-kit":"^2.3.0"})", R"(">=0.1.0")", ErrorCode::JsonWrongType},
      {R"("app":">=10.1.0 <11.0.0",)", R"("app":null,)", ErrorCode::JsonWrongType},
      {R"("sdk":{"mds":">=0.1.0",)", R"("sdk":{"mds":1,)", ErrorCode::JsonWrongType},
      {R"("path":"index.html")", R"("path":7)", ErrorCode::JsonWrongType},
      {R"("size":1234)", R"("size":-1)", ErrorCode::JsonWrongType},
      {R"("size":1234)", R"("size":-0.0)", ErrorCode::JsonWrongType},
      {R"("size":1234)", R"("size":1.5)", ErrorCode::JsonWrongType},
      {R"("size":1234)", R"("size":1e3)", ErrorCode::JsonWrongType},
      {R"("size":1234)", R"("size":"1234")", ErrorCode::JsonWrongType},
      {R"("size":1234)", R"("size":18446744073709551616)", ErrorCode::JsonWrongType}, // 2^64
      {R"("sha256":")" + kIndexHash + "\"", R"("sha256":null)", ErrorCode::JsonWrongType},
      // unknown fields, at every level
      {R"({"schema":1,)", R"({"schema":1,"signature":"x",)", ErrorCode::JsonUnknownField},
      {R"("requires":{)", R"("requires":{"os":"android",)", ErrorCode::JsonUnknownField},
      {R"({"path":"index.html",)", R"({"path":"index.html","mode":"0755",)", ErrorCode::JsonUnknownField},
      // duplicate keys
      {R"("app":"com.example.shop")", R"("app":"com.example.shop","app":"com.evil.shop")", ErrorCode::JsonDuplicateKey},
      {R"({"path":"index.html",)", R"({"path":"index.html","path":"x.html",)", ErrorCode::JsonDuplicateKey},
      {R"("sdk":{"mds":">=0.1.0",)", R"("sdk":{"mds":">=0.1.0","mds":"*",)", ErrorCode::JsonDuplicateKey},
      // schema
      {R"("schema":1)", R"("schema":2)", ErrorCode::Unsupported},
      {R"("schema":1)", R"("schema":0)", ErrorCode::Unsupported},
      {R"("schema":1)", R"("schema":-1)", ErrorCode::Unsupported},
      // kind
      {R"("kind":"offline")", R"("kind":"Offline")", ErrorCode::ManifestInvalid},
      {R"("kind":"offline")", R"("kind":"patch")", ErrorCode::ManifestInvalid},
      {R"("kind":"offline")", R"("kind":"")", ErrorCode::ManifestInvalid},
      // app id
      {R"("app":"com.example.shop")", R"("app":"")", ErrorCode::ManifestInvalid},
      {R"("app":"com.example.shop")", R"("app":".shop")", ErrorCode::ManifestInvalid},
      {R"("app":"com.example.shop")", R"("app":"shop.")", ErrorCode::ManifestInvalid},
      {R"("app":"com.example.shop")", R"("app":"com example")", ErrorCode::ManifestInvalid},
      {R"("app":"com.example.shop")", R"("app":"com/example")", ErrorCode::ManifestInvalid},
      {R"("app":"com.example.shop")", R"("app":"caf\u00e9")", ErrorCode::ManifestInvalid},
      {R"("app":"com.example.shop")", R"("app":")" + std::string(129, 'x') + "\"", ErrorCode::ManifestInvalid},
      // package id
      {R"("package":"checkout")", R"("package":"Checkout")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":"")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":"-checkout")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":"checkout.")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":"..")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":"a/b")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":"check\u0000out")", ErrorCode::ManifestInvalid},
      {R"("package":"checkout")", R"("package":")" + std::string(65, 'p') + "\"", ErrorCode::ManifestInvalid},
      // version
      {R"("version":"10.1.68.2")", R"("version":"")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"1.")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":".1")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"1..2")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"01.2")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"1.2.x")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"v1.2")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"1.2.3-beta")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":" 1.2")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"+1")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"9007199254740992")", ErrorCode::VersionInvalid}, // 2^53
      {R"("version":"10.1.68.2")", R"("version":"99999999999999999999999")", ErrorCode::VersionInvalid},
      {R"("version":"10.1.68.2")", R"("version":"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17")",
       ErrorCode::VersionInvalid},
      // requirement ranges
      {R"("app":">=10.1.0 <11.0.0")", R"("app":"")", ErrorCode::VersionRangeInvalid},
      {R"("app":">=10.1.0 <11.0.0")", R"("app":")" + range_of_length(257) + "\"", ErrorCode::VersionRangeInvalid},
      {R"("app":">=10.1.0 <11.0.0")", R"("app":">=1\u0000")", ErrorCode::VersionRangeInvalid},
      {R"("app":">=10.1.0 <11.0.0")", R"("app":"\u22651.0")", ErrorCode::VersionRangeInvalid},
      {R"("webview-kit":"^2.3.0")", R"("webview-kit":"\n")", ErrorCode::VersionRangeInvalid},
      {R"("webview-kit":"^2.3.0")", R"("WebView":"^2.3.0")", ErrorCode::ManifestInvalid},
      {R"("webview-kit":"^2.3.0")", R"("":"^2.3.0")", ErrorCode::ManifestInvalid},
      // created
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01 12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01T12:00:00")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01T12:00:00+00:00")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01T12:00:00.000Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01t12:00:00z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-5-01T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-13-01T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-00-01T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-04-31T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-00T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2023-02-29T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2100-02-29T12:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01T24:00:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-05-01T12:60:00Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"2024-12-31T23:59:60Z")", ErrorCode::ManifestInvalid},
      {R"("created":"2024-05-01T12:00:00Z")", R"("created":"1969-12-31T23:59:59Z")", ErrorCode::ManifestInvalid},
      // notes
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":")" + std::string(4097, 'n') + "\"",
       ErrorCode::ManifestInvalid},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":"a\u0000b")", ErrorCode::ManifestInvalid},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":"\u001b[31mred")",
       ErrorCode::ManifestInvalid},
      {R"("notes":"Faster checkout.\nFixes the coupon field.")", R"("notes":"a\rb")", ErrorCode::ManifestInvalid},
      // sha256
      {kIndexHash, kIndexHash.substr(1), ErrorCode::InvalidHex},
      {kIndexHash, kIndexHash + "0", ErrorCode::InvalidHex},
      {kIndexHash, "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE", ErrorCode::InvalidHex},
      {kIndexHash, "g" + kIndexHash.substr(1), ErrorCode::InvalidHex},
      {kIndexHash, "", ErrorCode::InvalidHex},
      // sizes
      {R"("size":1234)", R"("size":18446744073709551615)", ErrorCode::PackageTooLarge}, // 2^64 - 1
      {R"("size":1234)", R"("size":4294967297)", ErrorCode::PackageTooLarge},           // one file above 4 GiB
      {R"("size":1234)", R"("size":4294910508)", ErrorCode::PackageTooLarge},           // total 4 GiB + 1
      // paths, alone and as a set
      {R"("path":"index.html")", R"("path":"../index.html")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"/index.html")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"a\\index.html")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"index\u0000.html")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"caf\u00e9.html")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"STATIC/js/main.3f2a.js")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"static/js/main.3f2a.js")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"static/js")", ErrorCode::PathUnsafe},
      {R"("path":"index.html")", R"("path":"static/JS/other.js")", ErrorCode::PathUnsafe},
  };
  for (const auto &c : refused) {
    const std::string text = mutate(c.find, c.replacement);
    INFO(text.substr(0, 600));
    auto decoded = decode(text);
    REQUIRE_FALSE(decoded.ok());
    INFO(mds::describe(decoded.error()));
    CHECK(decoded.code() == c.code);
    CHECK_FALSE(decoded.error().message.empty());
  }
}

TEST_CASE("the whole document's shape is checked", "[manifest]") {
  struct Case {
    std::string text;
    ErrorCode code;
  };
  const std::vector<Case> refused = {
      {"", ErrorCode::JsonSyntax},
      {"[]", ErrorCode::JsonWrongType},
      {"\"manifest\"", ErrorCode::JsonWrongType},
      {"{}", ErrorCode::JsonMissingField},
      {kCanonical + " {}", ErrorCode::JsonSyntax},
      {kCanonical.substr(0, kCanonical.size() - 1), ErrorCode::JsonSyntax},
      {kCanonical + std::string(1, '\0'), ErrorCode::JsonSyntax},
      {minimal_with_files("[]"), ErrorCode::ManifestInvalid},
      {minimal_with_files("{}"), ErrorCode::JsonWrongType},
      {minimal_with_files("7"), ErrorCode::JsonWrongType},
      {minimal_with_files("null"), ErrorCode::JsonWrongType},
      {minimal_with_files("[7]"), ErrorCode::JsonWrongType},
      {minimal_with_files("[[]]"), ErrorCode::JsonWrongType},
      {minimal_with_files("[{\"path\":{}}]"), ErrorCode::JsonTooDeep},
      {minimal_with_files("[" + file_json("a") + "," + file_json("a") + "]"), ErrorCode::PathUnsafe},
      {minimal_with_files("[" + file_json("a") + "," + file_json("A") + "]"), ErrorCode::PathUnsafe},
      {minimal_with_files("[" + file_json("a") + "," + file_json("a/b") + "]"), ErrorCode::PathUnsafe},
      {kCanonical + std::string(mds::core::kMaxManifestBytes, ' '), ErrorCode::JsonTooLarge},
  };
  for (const auto &c : refused) {
    INFO(c.text.substr(0, 300));
    auto decoded = decode(c.text);
    REQUIRE_FALSE(decoded.ok());
    INFO(mds::describe(decoded.error()));
    CHECK(decoded.code() == c.code);
  }
}

TEST_CASE("file count and total size limits hold at their bounds", "[manifest]") {
  Manifest manifest = example_manifest();
  manifest.files.clear();
  for (std::size_t i = 0; i < mds::core::kMaxManifestFiles; ++i) {
    manifest.files.push_back({"f/" + std::to_string(100000 + i) + ".js", 1, kIndexHash});
  }
  auto at_limit = decode(encode(manifest));
  REQUIRE(at_limit.ok());
  CHECK(at_limit->files.size() == mds::core::kMaxManifestFiles);

  manifest.files.push_back({"g.js", 1, kIndexHash});
  CHECK(decode(encode(manifest)).code() == ErrorCode::PackageTooLarge);
  CHECK(mds::core::validate(manifest).code() == ErrorCode::PackageTooLarge);

  manifest.files = {{"a.bin", mds::core::kMaxPackageBytes / 2, kIndexHash},
                    {"b.bin", mds::core::kMaxPackageBytes / 2, kMainHash}};
  CHECK(decode(encode(manifest)).ok());
  manifest.files[1].size += 1;
  CHECK(decode(encode(manifest)).code() == ErrorCode::PackageTooLarge);
  // Sizes whose sum wraps around 2^64 must not slip under the limit.
  manifest.files = {{"a.bin", 1ull << 63, kIndexHash}, {"b.bin", 1ull << 63, kMainHash}};
  CHECK(decode(encode(manifest)).code() == ErrorCode::PackageTooLarge);
}

TEST_CASE("validate checks a manifest built in code as decode would", "[manifest]") {
  CHECK(mds::core::validate(example_manifest()).ok());

  struct Case {
    const char *what;
    void (*spoil)(Manifest &);
    ErrorCode code;
  };
  const Case cases[] = {
      {"kind out of the enum", [](Manifest &m) { m.kind = static_cast<PackageKind>(7); }, ErrorCode::ManifestInvalid},
      {"no files", [](Manifest &m) { m.files.clear(); }, ErrorCode::ManifestInvalid},
      {"notes not UTF-8", [](Manifest &m) { m.notes = std::string("caf\xe9"); }, ErrorCode::ManifestInvalid},
      {"notes overlong UTF-8", [](Manifest &m) { m.notes = std::string("\xc0\xaf"); }, ErrorCode::ManifestInvalid},
      {"notes truncated UTF-8", [](Manifest &m) { m.notes = std::string("\xe6\x97"); }, ErrorCode::ManifestInvalid},
      {"range not UTF-8", [](Manifest &m) { m.requirements.app_version = std::string("\xff"); },
       ErrorCode::VersionRangeInvalid},
      {"too many SDKs",
       [](Manifest &m) {
         for (int i = 0; i < 33; ++i) {
           m.requirements.sdk_versions["sdk" + std::to_string(i)] = "*";
         }
       },
       ErrorCode::ManifestInvalid},
      {"duplicate path", [](Manifest &m) { m.files.push_back(m.files[0]); }, ErrorCode::PathUnsafe},
  };
  for (const auto &c : cases) {
    INFO(c.what);
    Manifest manifest = example_manifest();
    c.spoil(manifest);
    auto status = mds::core::validate(manifest);
    CHECK(status.code() == c.code);
    // What validate refuses, decode refuses too.
    CHECK_FALSE(decode(encode(manifest)).ok());
  }

  Manifest many_sdks = example_manifest();
  many_sdks.requirements.sdk_versions.clear();
  for (std::size_t i = 0; i < mds::core::kMaxSdkRequirements; ++i) {
    many_sdks.requirements.sdk_versions["sdk" + std::to_string(i)] = "*";
  }
  CHECK(mds::core::validate(many_sdks).ok());
}

TEST_CASE("a manifest for another app, kind, package or version is refused with its own code", "[manifest]") {
  const Manifest manifest = example_manifest();
  CHECK(mds::core::check_identity(manifest, "com.example.shop", PackageKind::Offline, "checkout").ok());
  CHECK(mds::core::check_version(manifest, "10.1.68.2").ok());

  struct Case {
    std::string app;
    PackageKind kind;
    std::string package_id;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"com.example.bank", PackageKind::Offline, "checkout", ErrorCode::ManifestAppMismatch},
      {"com.example.Shop", PackageKind::Offline, "checkout", ErrorCode::ManifestAppMismatch},
      {"", PackageKind::Offline, "checkout", ErrorCode::ManifestAppMismatch},
      {"com.example.shop", PackageKind::Hotpatch, "checkout", ErrorCode::ManifestKindMismatch},
      {"com.example.shop", PackageKind::Upgrade, "checkout", ErrorCode::ManifestKindMismatch},
      {"com.example.shop", PackageKind::Offline, "cart", ErrorCode::ManifestPackageMismatch},
      {"com.example.shop", PackageKind::Offline, "checkout ", ErrorCode::ManifestPackageMismatch},
      {"com.example.bank", PackageKind::Upgrade, "cart", ErrorCode::ManifestAppMismatch}, // app first
  };
  for (const auto &c : cases) {
    INFO(c.app << " " << mds::core::to_string(c.kind) << " " << c.package_id);
    auto status = mds::core::check_identity(manifest, c.app, c.kind, c.package_id);
    CHECK(status.code() == c.code);
  }

  for (const char *version : {"10.1.68.3", "10.1.68", "10.1.68.2.0", "", "10.01.68.2"}) {
    INFO(version);
    CHECK(mds::core::check_version(manifest, version).code() == ErrorCode::ManifestVersionMismatch);
  }
}

TEST_CASE("the app and SDK versions must satisfy the manifest's requirements", "[manifest]") {
  using mds::core::Version;
  const Manifest manifest = example_manifest(); // app >=10.1.0 <11.0.0, mds >=0.1.0, webview-kit ^2.3.0
  auto version = [](const char *text) { return *Version::parse(text); };
  const std::map<std::string, Version> sdks = {{"mds", version("0.2.0")}, {"webview-kit", version("2.9.1")}};

  struct Case {
    const char *app;
    std::map<std::string, Version> sdks;
    ErrorCode code;
  };
  const Case cases[] = {
      {"10.1.68.2", sdks, ErrorCode::Ok},
      {"10.1", sdks, ErrorCode::Ok},
      {"10.0.9", sdks, ErrorCode::AppVersionUnsupported},
      {"11.0.0", sdks, ErrorCode::AppVersionUnsupported},
      {"10.2.0", {{"mds", version("0.2.0")}}, ErrorCode::SdkVersionUnsupported},
      {"10.2.0", {{"mds", version("0.2.0")}, {"webview-kit", version("3.0.0")}}, ErrorCode::SdkVersionUnsupported},
      {"10.2.0", {{"mds", version("0.0.9")}, {"webview-kit", version("2.3.0")}}, ErrorCode::SdkVersionUnsupported},
  };
  for (const auto &c : cases) {
    INFO(c.app);
    CHECK(mds::core::check_requirements_met(manifest, version(c.app), c.sdks).code() == c.code);
  }

  Manifest unconstrained = example_manifest();
  unconstrained.requirements = {};
  CHECK(mds::core::check_requirements_met(unconstrained, version("1"), {}).ok());
}
