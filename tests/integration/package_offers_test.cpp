// /v1/check offering published packages (docs/protocol.md, POST /v1/check): the delta
// from the installed version first, then the full download; nothing a device already has;
// groups, upgrades and hotpatches; and simulate showing the same offers.
#include "fixture.hpp"
#include "package_support.hpp"

using namespace mds::test;
using mds::ErrorCode;
namespace core = mds::core;

namespace {

std::string check_body(const std::string &device_id, const std::string &installed = "",
                       const std::string &app_version = "10.2.3") {
  return R"({"app":"shop","platform":"android","app_version":")" + app_version + R"(","device":{"id":")" + device_id +
         "\"}" + (installed.empty() ? "" : R"(,"installed":)" + installed) + "}";
}

mds::core::json::Document check(HttpClient &client, const std::string &body, std::string *etag = nullptr) {
  auto answer = client.request("POST", "/v1/check", body);
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  if (etag != nullptr) {
    *etag = answer.headers.at("etag");
  }
  return parse_json(answer);
}

std::int64_t create_release(HttpClient &client, const std::string &body) {
  auto created = client.admin("POST", "/v1/admin/releases", body);
  INFO(created.body);
  REQUIRE(created.status == 201);
  return parse_json(created).root()["id"].GetInt64();
}

PackageFiles site(const std::string &version) {
  std::string bundle;
  for (int i = 0; i < 4000; ++i) {
    bundle += "function part" + std::to_string(i) + "() { return " + std::to_string(i * 7) + "; }\n";
  }
  bundle += "// " + version + "\n";
  return {{"index.html", "<html>" + version + "</html>"}, {"main.js", bundle}};
}

std::string kinds_of(const mds::core::json::Value &downloads) {
  std::string kinds;
  for (const auto &download : downloads.GetArray()) {
    kinds += std::string(kinds.empty() ? "" : ",") + download["kind"].GetString();
  }
  return kinds;
}

} // namespace

TEST_CASE("check offers the delta from the installed version, then the full download", "[integration][offers]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  const auto v1 = signed_package("shop", core::PackageKind::Offline, "web", "1.0.0", site("1.0.0"));
  const auto v2 = signed_package("shop", core::PackageKind::Offline, "web", "1.1.0", site("1.1.0"));
  publish_ok(client, v1);
  auto published = publish_ok(client, v2);
  REQUIRE(published.root()["deltas"].Size() == 1);

  std::string etag_before;
  auto nothing = check(client, check_body("d-1"), &etag_before);
  CHECK(nothing.root()["offline"].Size() == 0);

  const auto release =
      create_release(client, R"({"app":"shop","package":{"id":"web","version":"1.1.0"},"stage":"full"})");
  // An older version in another release loses to the higher one.
  create_release(client, R"({"app":"shop","package":{"id":"web","version":"1.0.0"},"stage":"full"})");

  SECTION("a device with the base installed: delta, then full") {
    std::string etag;
    auto answer = check(client, check_body("d-1", R"({"offline":{"web":"1.0.0"}})"), &etag);
    CHECK(etag != etag_before);
    REQUIRE(answer.root()["offline"].Size() == 1);
    const auto &offer = answer.root()["offline"][0];
    CHECK(std::string(offer["release"].GetString()) == std::to_string(release));
    CHECK(std::string(offer["package"].GetString()) == "web");
    CHECK(std::string(offer["version"].GetString()) == "1.1.0");
    CHECK_FALSE(offer.HasMember("group"));
    CHECK(std::string(offer["envelope"].GetString()) == v2.envelope);
    CHECK(kinds_of(offer["downloads"]) == "delta,full");
    const auto &delta = offer["downloads"][0];
    CHECK(std::string(delta["base"].GetString()) == "1.0.0");
    CHECK(std::string(delta["sha256"].GetString()) == published.root()["deltas"][0]["sha256"].GetString());
    CHECK(std::string(delta["url"].GetString()) == std::string("/v1/blobs/") + delta["sha256"].GetString());
    CHECK(client.request("GET", delta["url"].GetString()).body.size() == delta["size"].GetUint64());
    const auto &full = offer["downloads"][1];
    CHECK(std::string(full["sha256"].GetString()) == published.root()["full"]["sha256"].GetString());
    CHECK(full["size"].GetUint64() == published.root()["full"]["size"].GetUint64());

    // The same state again: 304.
    auto repeat = client.request("POST", "/v1/check", check_body("d-1", R"({"offline":{"web":"1.0.0"}})"),
                                 {"If-None-Match: " + etag});
    CHECK(repeat.status == 304);
    CHECK(parse_json(client.admin("GET", "/v1/admin/releases/" + std::to_string(release) + "/counters"))
              .root()["offered"]
              .GetUint() == 1);
  }
  SECTION("a fresh device: the full download only") {
    auto answer = check(client, check_body("d-2"));
    REQUIRE(answer.root()["offline"].Size() == 1);
    CHECK(kinds_of(answer.root()["offline"][0]["downloads"]) == "full");
  }
  SECTION("a device with a version no delta starts from: the full download only") {
    auto answer = check(client, check_body("d-3", R"({"offline":{"web":"0.9.0"}})"));
    REQUIRE(answer.root()["offline"].Size() == 1);
    CHECK(kinds_of(answer.root()["offline"][0]["downloads"]) == "full");
  }
  SECTION("a device already at that version, or above: nothing") {
    CHECK(check(client, check_body("d-4", R"({"offline":{"web":"1.1.0"}})")).root()["offline"].Size() == 0);
    CHECK(check(client, check_body("d-5", R"({"offline":{"web":"2.0"}})")).root()["offline"].Size() == 0);
  }
  SECTION("simulate shows the same offers") {
    auto simulated = client.admin("POST", "/v1/admin/simulate", check_body("d-1", R"({"offline":{"web":"1.0.0"}})"));
    INFO(simulated.body);
    REQUIRE(simulated.status == 200);
    auto answer = check(client, check_body("d-1", R"({"offline":{"web":"1.0.0"}})"));
    const auto offers = parse_json(simulated);
    CHECK(mds::core::json::serialize(offers.root()["offers"]["offline"]) ==
          mds::core::json::serialize(answer.root()["offline"]));
  }
}

TEST_CASE("check offers a group together, and an upgrade with its prompt", "[integration][offers]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  publish_offline(client, "shop", "cart", "1.0.0");
  publish_offline(client, "shop", "pay", "2.0.0");
  publish_ok(client, signed_package("shop", core::PackageKind::Upgrade, "app", "10.3.0",
                                    {{"app.apk", std::string(5000, 'a') + "apk"}}, "Faster checkout."));
  // Patch 5 changes one line of patch 4: a delta well below half the full download.
  const auto patch_v4 = site("4").at("main.js");
  const auto patch_v5 = site("5").at("main.js");
  publish_ok(client, signed_package("shop", core::PackageKind::Hotpatch, "patch", "4", {{"patch.js", patch_v4}}));
  publish_ok(client, signed_package("shop", core::PackageKind::Hotpatch, "patch", "5", {{"patch.js", patch_v5}}));

  // Refusals first: a group of an upgrade, a prompt of an offline package.
  check_error(
      client.admin("POST", "/v1/admin/releases",
                   R"({"app":"shop","packages":[{"id":"cart","version":"1.0.0"},{"id":"app","version":"10.3.0"}]})"),
      400, ErrorCode::InvalidArgument);

  const auto group = create_release(
      client,
      R"({"app":"shop","packages":[{"id":"cart","version":"1.0.0"},{"id":"pay","version":"2.0.0"}],"stage":"full"})");
  const auto upgrade = create_release(
      client, R"({"app":"shop","package":{"id":"app","version":"10.3.0"},"upgrade":{"mode":"force","remind_days":7},)"
              R"("stage":"full"})");
  const auto hotpatch =
      create_release(client, R"({"app":"shop","package":{"id":"patch","version":"5"},"stage":"full"})");
  auto release = parse_json(client.admin("GET", "/v1/admin/releases/" + std::to_string(group)));
  REQUIRE(release.root()["packages"].Size() == 2);

  auto answer = check(client, check_body("d-1", R"({"hotpatch":{"id":"patch","version":"4","state":"confirmed"}})"));
  const auto &offline = answer.root()["offline"];
  REQUIRE(offline.Size() == 2);
  for (const auto &entry : offline.GetArray()) {
    CHECK(std::string(entry["group"].GetString()) == std::to_string(group));
    CHECK(std::string(entry["release"].GetString()) == std::to_string(group));
  }
  CHECK(std::string(offline[0]["package"].GetString()) == "cart");
  CHECK(std::string(offline[1]["package"].GetString()) == "pay");

  const auto &offered_upgrade = answer.root()["upgrade"];
  REQUIRE(offered_upgrade.IsObject());
  CHECK(std::string(offered_upgrade["release"].GetString()) == std::to_string(upgrade));
  CHECK(std::string(offered_upgrade["version"].GetString()) == "10.3.0");
  CHECK(std::string(offered_upgrade["mode"].GetString()) == "force");
  CHECK(offered_upgrade["remind_days"].GetUint() == 7);
  CHECK(std::string(offered_upgrade["notes"].GetString()) == "Faster checkout.");
  CHECK(kinds_of(offered_upgrade["downloads"]) == "full");

  const auto &offered_patch = answer.root()["hotpatch"];
  REQUIRE(offered_patch.IsObject());
  CHECK(std::string(offered_patch["action"].GetString()) == "install");
  CHECK(std::string(offered_patch["release"].GetString()) == std::to_string(hotpatch));
  CHECK(std::string(offered_patch["version"].GetString()) == "5");
  CHECK(kinds_of(offered_patch["downloads"]) == "delta,full");

  // An app already at the upgrade's version, with the patch and the group installed.
  auto current = check(client, check_body("d-2",
                                          R"({"offline":{"cart":"1.0.0","pay":"2.0.0"},)"
                                          R"("hotpatch":{"id":"patch","version":"5","state":"confirmed"}})",
                                          "10.3.0"));
  CHECK(current.root()["upgrade"].IsNull());
  CHECK(current.root()["hotpatch"].IsNull());
  CHECK(current.root()["offline"].Size() == 0);
}
