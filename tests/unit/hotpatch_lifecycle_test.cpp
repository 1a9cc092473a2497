// The hotpatch lifecycle (hotpatch/lifecycle.hpp): every transition of the pure state
// machine as data, then its record in the real store: staging in the install
// transaction, a revert written whole (package row, refusal, event), and the versions the
// lifecycle names kept.
#include "hotpatch/hotpatches.hpp"
#include "hotpatch/lifecycle.hpp"
#include "packages/client_packages.hpp"
#include "state/store.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <iterator>

using mds::ErrorCode;
using mds::HotpatchState;
using mds::hotpatch::plan_confirm;
using mds::hotpatch::plan_launch;
using mds::state::HotpatchRecord;
using mds::state::HotpatchRef;

namespace {

HotpatchRef patch(const std::string &version) {
  return HotpatchRef{"r" + version, "patch", version};
}

std::optional<HotpatchRef> opt(const char *version) {
  if (version == nullptr) {
    return std::nullopt;
  }
  return patch(version);
}

HotpatchRecord record(const char *staged, const char *active, bool confirmed, const char *fallback,
                      std::int64_t launches) {
  HotpatchRecord r;
  r.staged = opt(staged);
  r.active = opt(active);
  r.active_confirmed = confirmed;
  r.fallback = opt(fallback);
  r.launches = launches;
  return r;
}

std::string name(const std::optional<HotpatchRef> &ref) {
  return ref ? ref->version : "-";
}

std::string show(const HotpatchRecord &r) {
  return "staged " + name(r.staged) + ", active " + name(r.active) + (r.active_confirmed ? " confirmed" : "") +
         ", fallback " + name(r.fallback) + ", launches " + std::to_string(r.launches);
}

} // namespace

TEST_CASE("hotpatch lifecycle: every launch transition", "[hotpatch]") {
  struct Case {
    const char *what;
    HotpatchRecord now;
    HotpatchRecord next;
    const char *load;
    const char *reverted;
  };
  const Case cases[] = {
      {"nothing installed: nothing to load", record(nullptr, nullptr, false, nullptr, 0),
       record(nullptr, nullptr, false, nullptr, 0), nullptr, nullptr},
      {"a staged patch becomes active, pending, first launch counted", record("1", nullptr, false, nullptr, 0),
       record(nullptr, "1", false, nullptr, 1), "1", nullptr},
      {"a pending patch counts the launch", record(nullptr, "1", false, nullptr, 1),
       record(nullptr, "1", false, nullptr, 2), "1", nullptr},
      {"the last launch allowed still loads it", record(nullptr, "1", false, nullptr, 2),
       record(nullptr, "1", false, nullptr, 3), "1", nullptr},
      {"after N unconfirmed launches: reverted to none", record(nullptr, "1", false, nullptr, 3),
       record(nullptr, nullptr, false, nullptr, 0), nullptr, "1"},
      {"after N unconfirmed launches: reverted to the confirmed one", record(nullptr, "2", false, "1", 3),
       record(nullptr, "1", true, "1", 0), "1", "2"},
      {"a confirmed patch loads without counting", record(nullptr, "1", true, "1", 0),
       record(nullptr, "1", true, "1", 0), "1", nullptr},
      {"a newer staged patch replaces a confirmed one, which stays the fallback", record("2", "1", true, "1", 0),
       record(nullptr, "2", false, "1", 1), "2", nullptr},
      {"a newer staged patch replaces a pending one that has not failed yet", record("3", "2", false, "1", 1),
       record(nullptr, "3", false, "1", 1), "3", nullptr},
      {"a crash-looping patch is reverted even when a newer one is staged", record("3", "2", false, "1", 3),
       record(nullptr, "3", false, "1", 1), "3", "2"},
  };
  for (const auto &c : cases) {
    INFO(c.what << ": from " << show(c.now));
    const auto plan = plan_launch(c.now, 3);
    INFO("got " << show(plan.next));
    CHECK(plan.next == c.next);
    CHECK(name(plan.load) == (c.load ? c.load : "-"));
    CHECK(name(plan.reverted) == (c.reverted ? c.reverted : "-"));
  }
}

TEST_CASE("hotpatch lifecycle: N launches without confirmation revert at launch N + 1, for any N", "[hotpatch]") {
  for (std::uint32_t n : {1u, 2u, 3u, 7u}) {
    INFO("N = " << n);
    HotpatchRecord now = record("2", "1", true, "1", 0);
    for (std::uint32_t launch = 1; launch <= n; ++launch) {
      auto plan = plan_launch(now, n);
      REQUIRE(name(plan.load) == "2");
      REQUIRE(!plan.reverted);
      now = plan.next;
    }
    auto plan = plan_launch(now, n);
    CHECK(name(plan.reverted) == "2");
    CHECK(name(plan.load) == "1");
    CHECK(plan.next == record(nullptr, "1", true, "1", 0));
  }
}

TEST_CASE("hotpatch lifecycle: confirming", "[hotpatch]") {
  SECTION("a pending patch becomes confirmed and the fallback") {
    auto next = plan_confirm(record(nullptr, "2", false, "1", 2));
    REQUIRE(next);
    CHECK(*next == record(nullptr, "2", true, "2", 0));
  }
  SECTION("confirming again changes nothing") {
    auto next = plan_confirm(record(nullptr, "2", true, "2", 0));
    REQUIRE(next);
    CHECK(*next == record(nullptr, "2", true, "2", 0));
  }
  SECTION("nothing active: hotpatch_not_active, also with a patch only staged") {
    for (const auto &now : {record(nullptr, nullptr, false, nullptr, 0), record("1", nullptr, false, nullptr, 0)}) {
      auto next = plan_confirm(now);
      REQUIRE(!next);
      CHECK(next.code() == ErrorCode::HotpatchNotActive);
      CHECK(!next.error().message.empty());
    }
  }
}

TEST_CASE("hotpatch lifecycle: the current patch is the staged one, else the active one", "[hotpatch]") {
  CHECK(!mds::hotpatch::current(record(nullptr, nullptr, false, nullptr, 0)));
  auto staged = mds::hotpatch::current(record("2", "1", true, "1", 0));
  REQUIRE(staged);
  CHECK((staged->ref.version == "2" && staged->state == HotpatchState::Staged));
  auto pending = mds::hotpatch::current(record(nullptr, "2", false, "1", 1));
  REQUIRE(pending);
  CHECK((pending->ref.version == "2" && pending->state == HotpatchState::Pending));
  auto confirmed = mds::hotpatch::current(record(nullptr, "1", true, "1", 0));
  REQUIRE(confirmed);
  CHECK((confirmed->ref.version == "1" && confirmed->state == HotpatchState::Confirmed));
  CHECK(std::string(mds::to_string(HotpatchState::Staged)) == "staged");
  CHECK(std::string(mds::to_string(HotpatchState::Pending)) == "pending");
  CHECK(std::string(mds::to_string(HotpatchState::Confirmed)) == "confirmed");
}

namespace {

std::unique_ptr<mds::state::Store> open_store(const std::filesystem::path &dir) {
  auto store = mds::state::Store::open(dir);
  REQUIRE(store);
  return std::move(*store);
}

void install(mds::state::Store &store, const std::string &version) {
  REQUIRE(store.commit_installs({{"hotpatch", "patch", version, "{\"v\":\"" + version + "\"}", "r" + version}}));
}

} // namespace

TEST_CASE("hotpatch store: an install stages the patch in the install transaction", "[hotpatch][state]") {
  mds::test::TempDir dir;
  auto store = open_store(dir.path());
  auto empty = store->hotpatch();
  REQUIRE(empty);
  CHECK(*empty == HotpatchRecord{});
  install(*store, "1");
  auto staged = store->hotpatch();
  REQUIRE(staged);
  CHECK(*staged == record("1", nullptr, false, nullptr, 0));
  CHECK(staged->staged->release == "r1");
}

TEST_CASE("hotpatch store: launches, confirmation, a crash loop and its revert", "[hotpatch][state]") {
  mds::test::TempDir dir;
  auto store = open_store(dir.path());
  mds::hotpatch::Hotpatches hotpatches(*store, dir.path(), 2, 100);
  std::filesystem::create_directories(dir.path() / "hotpatches/patch/1");
  std::filesystem::create_directories(dir.path() / "hotpatches/patch/2");

  SECTION("before any install: nothing to load, nothing to confirm, nothing reported") {
    auto launched = hotpatches.launch();
    REQUIRE(launched);
    CHECK(!launched->load);
    CHECK(hotpatches.confirm().code() == ErrorCode::HotpatchNotActive);
    auto reported = hotpatches.installed();
    REQUIRE(reported);
    CHECK(!*reported);
    auto events = store->event_count();
    REQUIRE(events);
    CHECK(*events == 0);
  }

  SECTION("v1 confirmed, v2 crash-loops: back to v1, v2 refused for every offer, one event") {
    install(*store, "1");
    auto first = hotpatches.launch();
    REQUIRE(first);
    REQUIRE(first->load);
    CHECK(first->load->version == "1");
    CHECK(first->load->state == HotpatchState::Pending);
    CHECK(first->load->directory == (dir.path() / "hotpatches/patch/1").string());
    REQUIRE(hotpatches.confirm());
    REQUIRE(hotpatches.confirm()); // again: harmless

    install(*store, "2");
    auto reported = hotpatches.installed();
    REQUIRE((reported && *reported));
    CHECK(((*reported)->version == "2" && (*reported)->state == "staged"));
    for (int launch = 0; launch < 2; ++launch) {
      auto crashing = hotpatches.launch();
      REQUIRE((crashing && crashing->load));
      CHECK(crashing->load->version == "2");
      CHECK(!crashing->reverted);
    }
    auto record_before = store->hotpatch();
    REQUIRE(record_before);
    CHECK(record_before->launches == 2);

    auto reverted = hotpatches.launch();
    REQUIRE(reverted);
    REQUIRE(reverted->reverted);
    CHECK(reverted->reverted->code == ErrorCode::HotpatchCrashLoop);
    REQUIRE(reverted->load);
    CHECK(reverted->load->version == "1");
    CHECK(reverted->load->state == HotpatchState::Confirmed);
    CHECK(!std::filesystem::exists(dir.path() / "hotpatches/patch/2"));
    CHECK(std::filesystem::exists(dir.path() / "hotpatches/patch/1"));

    auto versions = store->installed_versions("hotpatch", "patch");
    REQUIRE(versions);
    CHECK(versions->current == std::optional<std::string>("1"));
    CHECK(!versions->previous);
    auto envelope = store->version_envelope("hotpatch", "patch", "1");
    REQUIRE((envelope && *envelope));
    auto refused = store->refused_offer("hotpatch", "patch", "2", "any digest at all");
    REQUIRE((refused && *refused));
    CHECK((*refused)->code == ErrorCode::HotpatchCrashLoop);
    auto other = store->refused_offer("hotpatch", "patch", "3", "any digest at all");
    REQUIRE(other);
    CHECK(!*other);
    auto floor = store->floor("hotpatch", "patch");
    REQUIRE(floor);
    CHECK(floor->value_or("") == "2"); // never lowered

    auto events = store->oldest_events(10);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    const std::string &event = events->front().json;
    INFO(event);
    CHECK(event.find("\"type\":\"rolled_back\"") != std::string::npos);
    CHECK(event.find("\"code\":415") != std::string::npos);
    CHECK(event.find("\"release\":\"r2\"") != std::string::npos);
    CHECK(event.find("\"version\":\"2\"") != std::string::npos);

    auto next = hotpatches.launch(); // the confirmed one again, nothing more reverted
    REQUIRE((next && next->load && !next->reverted));
    CHECK(next->load->version == "1");
    auto count = store->event_count();
    REQUIRE(count);
    CHECK(*count == 1);
  }

  SECTION("the record survives reopening the store") {
    install(*store, "1");
    REQUIRE(hotpatches.launch());
    store.reset();
    auto reopened = open_store(dir.path());
    auto kept = reopened->hotpatch();
    REQUIRE(kept);
    CHECK(*kept == record(nullptr, "1", false, nullptr, 1));
  }
}

TEST_CASE("hotpatch store: a newer install keeps the confirmed patch's envelope", "[hotpatch][state]") {
  mds::test::TempDir dir;
  auto store = open_store(dir.path());
  mds::hotpatch::Hotpatches hotpatches(*store, dir.path(), 3, 100);
  install(*store, "1");
  REQUIRE(hotpatches.launch());
  REQUIRE(hotpatches.confirm());
  install(*store, "2");
  REQUIRE(hotpatches.launch()); // 2 pending, 1 the fallback
  install(*store, "3");         // current 3, previous 2: 1 is neither
  for (const char *version : {"1", "2", "3"}) {
    INFO(version);
    auto envelope = store->version_envelope("hotpatch", "patch", version);
    REQUIRE(envelope);
    CHECK(envelope->has_value());
  }
}

namespace {

mds::ClientOptions client_options(const std::filesystem::path &state) {
  std::ifstream in(std::string(MDS_TEST_DATA_DIR) + "/keys/p256-public.pem");
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  mds::ClientOptions options;
  options.server_url = "https://mds.example.com";
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.state_directory = state.string();
  options.trusted_public_keys = {pem};
  options.schedule.sync_on_start = false;
  return options;
}

} // namespace

TEST_CASE("hotpatch: a rollback offer is refused once with rollback_unsupported, then skipped", "[hotpatch]") {
  mds::test::TempDir dir;
  auto store = open_store(dir.path());
  const auto options = client_options(dir.path());
  std::atomic<bool> cancel{false};
  auto packages = mds::packages::ClientPackages::create(options, *store, &cancel);
  REQUIRE(packages);
  mds::transport::HotpatchOffer offer;
  offer.action = "rollback";
  offer.package.release = "11";
  offer.package.package = "patch";
  offer.package.version = "3";
  offer.package.envelope = "{}";

  auto first = (*packages)->install_hotpatch(offer);
  REQUIRE(first.failed.size() == 1);
  CHECK(first.failed.front().error.code == ErrorCode::RollbackUnsupported);
  CHECK(first.installed.empty());
  auto events = store->oldest_events(10);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK(events->front().json.find("\"code\":417") != std::string::npos);

  auto again = (*packages)->install_hotpatch(offer);
  CHECK(again.failed.empty());
  CHECK(again.skipped.size() == 1);
  auto count = store->event_count();
  REQUIRE(count);
  CHECK(*count == 1);
  auto record = store->hotpatch();
  REQUIRE(record);
  CHECK(*record == HotpatchRecord{}); // nothing changed
}

TEST_CASE("hotpatch: the public calls before start(), after shutdown() and with bad options", "[hotpatch][client]") {
  mds::test::TempDir dir;
  SECTION("hotpatch_max_launches outside 1..100 is refused") {
    for (std::uint32_t bad : {0u, 101u}) {
      auto options = client_options(dir.path());
      options.hotpatch_max_launches = bad;
      auto client = mds::Client::create(options);
      REQUIRE(!client);
      CHECK(client.code() == ErrorCode::InvalidArgument);
      CHECK(client.error().message.find("hotpatch_max_launches") != std::string::npos);
    }
  }
  SECTION("with nothing installed: no patch, nothing to confirm, before start and after shutdown") {
    auto client = mds::Client::create(client_options(dir.path()));
    REQUIRE(client);
    for (int round = 0; round < 2; ++round) {
      auto launched = (*client)->launch_started();
      REQUIRE(launched);
      CHECK(!*launched);
      CHECK((*client)->mark_launch_succeeded().code() == ErrorCode::HotpatchNotActive);
      auto current = (*client)->current_hotpatch();
      REQUIRE(current);
      CHECK(!*current);
      (void)(*client)->shutdown(std::chrono::seconds(1));
    }
  }
}
