// Which earlier versions a new package version gets deltas from, when a delta is kept,
// and which download a device is offered first.
#include "server/packages/delta_bases.hpp"

#include <catch2/catch.hpp>

using mds::server::Package;
using mds::server::PackageDownload;
using namespace mds::server::packages;

TEST_CASE("delta bases: the highest versions below the target, highest first", "[packages]") {
  struct Case {
    const char *what;
    std::vector<std::string> published;
    std::string target;
    std::size_t count;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"nothing published", {}, "1.0.0", 5, {}},
      {"fewer than K", {"1.0.0", "1.1.0"}, "2.0.0", 5, {"1.1.0", "1.0.0"}},
      {"the last K of many", {"1", "2", "3", "4", "5", "6", "7"}, "8", 3, {"7", "6", "5"}},
      {"compared as versions, not text", {"1.9", "1.10", "1.2"}, "1.11", 2, {"1.10", "1.9"}},
      {"versions above the target are no base", {"1.0", "3.0", "2.5"}, "2.0", 5, {"1.0"}},
      {"the target itself is no base", {"2.0", "1.0"}, "2.0", 5, {"1.0"}},
      {"K of zero builds no delta", {"1.0"}, "2.0", 0, {}},
      {"listed in any order", {"1.2", "1.0", "1.3", "1.1"}, "2", 2, {"1.3", "1.2"}},
      {"an unreadable version is skipped", {"1.0", "x.y", "01.5"}, "2", 5, {"1.0"}},
      {"a bad target has no bases", {"1.0"}, "latest", 5, {}},
  };
  for (const auto &c : cases) {
    INFO(c.what);
    CHECK(select_delta_bases(c.published, c.target, c.count) == c.expected);
  }
}

TEST_CASE("a delta is kept when at most half the full download", "[packages]") {
  CHECK(delta_worth_keeping(0, 0));
  CHECK(delta_worth_keeping(50, 100));
  CHECK_FALSE(delta_worth_keeping(51, 100));
  CHECK(delta_worth_keeping(50, 101));
  CHECK_FALSE(delta_worth_keeping(51, 101));
  CHECK_FALSE(delta_worth_keeping(1, 1));
}

TEST_CASE("downloads: the delta from the installed version first, then the full", "[packages]") {
  Package package;
  package.version = "3.0";
  package.full = {"", std::string(64, 'f'), 1000};
  package.deltas = {{"2.0", std::string(64, '2'), 100}, {"1.0", std::string(64, '1'), 300}};
  auto bases = [&](const std::optional<std::string> &installed) {
    std::vector<std::string> order;
    for (const auto &download : downloads_for(package, installed)) {
      order.push_back(download.base_version.empty() ? "full" : download.base_version);
    }
    return order;
  };
  CHECK(bases(std::nullopt) == std::vector<std::string>{"full"});
  CHECK(bases(std::string("2.0")) == std::vector<std::string>{"2.0", "full"});
  CHECK(bases(std::string("1.0")) == std::vector<std::string>{"1.0", "full"});
  // A delta names its base exactly: "2" is not "2.0".
  CHECK(bases(std::string("2")) == std::vector<std::string>{"full"});
  CHECK(bases(std::string("1.5")) == std::vector<std::string>{"full"});
}

TEST_CASE("version_above compares versions, and text that is none is above nothing", "[packages]") {
  CHECK(version_above("1.10", "1.9"));
  CHECK_FALSE(version_above("1.9", "1.10"));
  CHECK_FALSE(version_above("1.0", "1.0"));
  CHECK_FALSE(version_above("x", "1.0"));
  CHECK_FALSE(version_above("1.0", "x"));
}
