#include "core/manifest/path.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mds::ErrorCode;
using mds::core::validate_package_path;
using mds::core::validate_package_path_set;

namespace {

std::string deep_path(std::size_t segments) {
  std::string path = "d";
  for (std::size_t i = 1; i < segments; ++i) {
    path += "/d";
  }
  return path;
}

} // namespace

TEST_CASE("paths that real H5 bundles and patches use are accepted", "[path]") {
  const std::vector<std::string> accepted = {
      "index.html",
      "static/js/main.3f2a.js",
      "static/js/main.3f2a.js.map",
      "static/css/app-4b1c.chunk.css",
      "img/logo@2x.png",
      "fonts/x-y_z.woff2",
      "node_modules/@scope/pkg/index.js",
      "assets/IMG_0042.JPG",
      ".well-known/assetlinks.json",
      "a",
      "1/2/3",
      "CONFIG.json",    // a device name only when the stem is exactly one
      "com10.js",       // COM ports are COM0 to COM9
      "lpt.txt",        // no digit
      "console.log",    // starts with "con" but is not CON
      "nul_handler.js", // stem is "nul_handler"
      "a.b.c.d",        // dots inside a segment are fine
      ".a",             // a hidden file
      "-leading-dash",  // no shell is involved
      std::string(255, 'x'),
      deep_path(32),
      std::string(255, 'a') + "/" + std::string(255, 'b') + "/" + std::string(255, 'c') + "/" + std::string(255, 'd'),
  };
  for (const auto &path : accepted) {
    INFO(path);
    auto status = validate_package_path(path);
    INFO((status ? std::string() : status.error().message));
    CHECK(status.ok());
  }
}

TEST_CASE("paths that escape, alias or confuse are refused, each by its own rule", "[path]") {
  struct Case {
    std::string path;
    std::string rule; // a fragment of the message: proves which rule fired
  };
  const std::string segment256(256, 'x');
  const std::string long_path = "a/" + std::string(4096, 'x');
  const std::vector<Case> refused = {
      {"../x", "is \"..\""},
      {"a/../../x", "is \"..\""},
      {"a/..", "is \"..\""},
      {"/abs", "absolute"},
      {"/", "absolute"},
      {"a\\..\\x", "backslash"},
      {"\\abs", "backslash"},
      {"", "empty"},
      {std::string("a\0b", 3), "NUL"},
      {std::string("a.js\0.png", 9), "NUL"},
      {"./a", "is \".\""},
      {"a/./b", "is \".\""},
      {".", "is \".\""},
      {"a//b", "segment 2 is empty"},
      {"a/", "segment 2 is empty"},
      {"a\x01", "control character"},
      {"a\nb", "control character"},
      {"a\tb", "control character"},
      {"a\x7f", "control character"},
      {"C:/x", "drive letter"},
      {"C:x", "drive letter"},
      {"c:", "drive letter"},
      {"a/b:c", "':'"},
      {"file.txt:stream", "':'"},
      {"con", "device name"},
      {"CON", "device name"},
      {"nul.txt", "device name"},
      {"Aux.tar.gz", "device name"},
      {"dir/prn.html", "device name"},
      {"com1", "device name"},
      {"LPT9.log", "device name"},
      {"com0.js", "device name"},
      {"a.", "ends with a dot or space"},
      {"a ", "ends with a dot or space"},
      {"dir./b", "ends with a dot or space"},
      {"...", "starts with \"..\""},
      {"f/..namedfork/rsrc", "starts with \"..\""},
      {"..a", "starts with \"..\""},
      {long_path, "longer than 1024 bytes"},
      {std::string(4096, 'x'), "longer than 1024 bytes"},
      {segment256, "longer than 255 bytes"},
      {"a/" + segment256, "segment 2 is longer than 255 bytes"},
      {deep_path(33), "deeper than 32"},
      {"caf\xc3\xa9.js", "non-ASCII"},             // NFC
      {"cafe\xcc\x81.js", "non-ASCII"},            // NFD: the same name to a person and to APFS
      {"\xef\xbc\x8e\xef\xbc\x8e/x", "non-ASCII"}, // fullwidth dots
      {"a\xc0\xaf"
       "b",
       "non-ASCII"}, // overlong '/'
      {"%2e%2e/x", "'%'"},
      {"a%2fb", "'%'"},
      {"%00", "'%'"},
      {"PROGRA~1/x", "'~'"},
      {"a b", "outside"},
      {"a?b", "outside"},
      {"a#b", "outside"},
      {"a*b", "outside"},
      {"a\"b", "outside"},
      {"a<b>", "outside"},
      {"a|b", "outside"},
      {"a+b", "outside"},
  };
  for (const auto &c : refused) {
    INFO("path \"" << c.path << "\" (" << c.path.size() << " bytes)");
    auto status = validate_package_path(c.path);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == ErrorCode::PathUnsafe);
    INFO("message: " << status.error().message);
    CHECK(status.error().message.find(c.rule) != std::string::npos);
  }
}

TEST_CASE("limits hold exactly at their bounds", "[path]") {
  const std::string exactly = std::string(255, 'a') + "/" + std::string(255, 'b') + "/" + std::string(255, 'c') + "/" +
                              std::string(254, 'd') + "/e";
  REQUIRE(exactly.size() == mds::core::kMaxPathBytes);
  CHECK(validate_package_path(exactly).ok());
  CHECK(validate_package_path(exactly + "d").code() == ErrorCode::PathUnsafe);
  CHECK(validate_package_path(deep_path(mds::core::kMaxPathDepth)).ok());
  CHECK(validate_package_path(deep_path(mds::core::kMaxPathDepth + 1)).code() == ErrorCode::PathUnsafe);
}

TEST_CASE("a file list must be one tree on every filesystem", "[path]") {
  struct Case {
    std::vector<std::string_view> paths;
    std::string rule; // empty: accepted
  };
  const std::vector<Case> cases = {
      {{}, ""},
      {{"index.html"}, ""},
      {{"index.html", "static/js/main.js", "static/css/main.css", "img/logo@2x.png"}, ""},
      {{"a", "a-b", "a.b", "a_b/c"}, ""}, // siblings that sort between "a" and "a/..."
      {{"a/b", "a/c", "a/d/e", "b"}, ""}, // shared directories spelt alike
      {{"a.js", "a.js"}, "listed twice"},
      {{"x", "y/z", "x"}, "listed twice"},
      {{"A.js", "a.js"}, "differ only in letter case"},
      {{"README", "readme"}, "differ only in letter case"},
      {{"a", "a/b"}, "is a file and also a directory"},
      {{"a/b", "a"}, "is a file and also a directory"},
      {{"a", "a-b", "a.b", "a/b"}, "is a file and also a directory"},
      {{"x/y", "x/y/z/w"}, "is a file and also a directory"},
      {{"A", "a/b"}, "is a file and also a directory"}, // case-insensitive too
      {{"Img/a.png", "img/b.png"}, "directories of"},
      {{"s/Js/a.js", "s/js/b.js", "s/x"}, "directories of"},
      {{"d/a", "d/b", "D/c"}, "directories of"},
      {{"ok.js", "../x"}, "is \"..\""},                     // each path is checked too
      {{"caf\xc3\xa9.js", "cafe\xcc\x81.js"}, "non-ASCII"}, // normalisation twins
  };
  for (const auto &c : cases) {
    std::string listing;
    for (auto path : c.paths) {
      listing += std::string(path) + " ";
    }
    INFO("paths: " << listing);
    auto status = validate_package_path_set(c.paths);
    if (c.rule.empty()) {
      CHECK(status.ok());
    } else {
      REQUIRE_FALSE(status.ok());
      CHECK(status.code() == ErrorCode::PathUnsafe);
      INFO("message: " << status.error().message);
      CHECK(status.error().message.find(c.rule) != std::string::npos);
    }
  }
}
