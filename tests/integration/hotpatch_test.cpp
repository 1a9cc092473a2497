// Hotpatches end to end (DESIGN.md "On the device", SECURITY.md #22): published and
// released with the real mdsctl, offered by the real mds-server, installed (staged) by the
// real SDK through mds-client sync, then launched and confirmed with `mds-client hotpatch
// launch|confirm`; a crash loop made of child processes that launch the patch through the
// public API and abort before confirming, reverted to the confirmed patch, reported to the
// server, and not installed again.
#include "fixture.hpp"

// Built only where the samples and the tools are.
#if defined(MDS_CLIENT_BINARY) && defined(MDS_MDSCTL_BINARY)

#include <mds/client.hpp>

#include "core/json/json.hpp"
#include "support/files.hpp"

#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace mds::test;

namespace {

using Run = CommandRun;

Run run_shell(const std::filesystem::path &scratch, const std::string &command) {
  auto run = run_command(scratch, command);
  REQUIRE(run.status != -1);
  return run;
}

// One app on a real server, a publisher key made by mdsctl, and one device.
class World {
public:
  World() {
    write_text(token_path(), kAdminToken + "\n");
    must(mdsctl("keygen --out " + quote(key().string())));
    must(mdsctl("app create demo --platform android --publisher-key " + quote(key().string() + ".pub")));
  }

  std::filesystem::path state() const { return running.temp / "device"; }
  std::filesystem::path key() const { return running.temp / "publisher.key"; }
  std::filesystem::path token_path() const { return running.temp / "admin-token"; }

  Run mdsctl(const std::string &arguments) {
    return run_shell(running.temp.path(), std::string(MDS_MDSCTL_BINARY) + " --server " +
                                              quote(running.server->base_url()) + " --token-file " +
                                              quote(token_path().string()) + " " + arguments);
  }

  Run client(const std::string &subcommand) {
    return run_shell(running.temp.path(), std::string(MDS_CLIENT_BINARY) + " --server " +
                                              quote(running.server->base_url()) + " --app demo --state " +
                                              quote(state().string()) +
                                              " --device-id d1 --app-version 10.2.3 --trusted-key " +
                                              quote(key().string() + ".pub") + " --timeout 60 --json " + subcommand);
  }

  static Run must(Run run) {
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    REQUIRE(run.status == 0);
    return run;
  }

  // Publishes hotpatch `version` (one file, patch.js) and releases it to every device;
  // the release id.
  std::string release_patch(const std::string &version) {
    const auto dir = running.temp / ("patch-" + version);
    write_text(dir / "patch.js", content(version));
    must(mdsctl("package publish --app demo --kind hotpatch --id patch --version " + version + " --key " +
                quote(key().string()) + " " + quote(dir.string())));
    const Run created =
        must(mdsctl("--json release create --app demo --package patch --version " + version + " --stage full"));
    auto doc = mds::core::json::parse(created.out);
    REQUIRE(doc);
    return std::to_string(doc->root()["id"].GetInt64());
  }

  static std::string content(const std::string &version) { return "fix(" + version + ");\n"; }

  // mds-client sync, which must succeed with no error; its JSON.
  mds::core::json::Document sync() {
    const Run run = must(client("sync"));
    auto doc = mds::core::json::parse(run.out);
    REQUIRE(doc);
    INFO(run.out);
    REQUIRE(doc->root()["errors"].Size() == 0);
    return std::move(*doc);
  }

  // mds-client hotpatch launch: the patch object, or a null document.
  mds::core::json::Document launch() {
    const Run run = must(client("hotpatch launch"));
    auto doc = mds::core::json::parse(run.out);
    INFO(run.out);
    REQUIRE(doc);
    return std::move(*doc);
  }

  // The rows of one column the device's database answers (the client has exited).
  std::vector<std::string> query(const char *sql) const {
    sqlite3 *db = nullptr;
    REQUIRE(sqlite3_open_v2((state() / "mds.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt *stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto *text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text == nullptr ? "" : reinterpret_cast<const char *>(text));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  // What the last full check answer offered as the hotpatch ("null" when nothing).
  std::string offered_hotpatch() const {
    const auto answers = query("SELECT value FROM meta WHERE key = 'check_answer'");
    REQUIRE(answers.size() == 1);
    auto doc = mds::core::json::parse(answers.front());
    REQUIRE(doc);
    const auto &hotpatch = doc->root()["hotpatch"];
    return hotpatch.IsNull() ? "null" : std::string(hotpatch["version"].GetString());
  }

  RunningServer running;
};

std::string field(const mds::core::json::Value &object, const char *name) {
  REQUIRE(object.IsObject());
  REQUIRE(object.HasMember(name));
  return object[name].IsNull() ? "null" : std::string(object[name].GetString());
}

// A launch of the app in a child process through the public API: it loads what
// launch_started() returns and aborts before mark_launch_succeeded(). The child's exit
// says what it saw: killed by SIGABRT after loading `expected`, else a code.
int crashing_launch(World &world, const std::string &expected) {
  const std::string url = world.running.server->base_url();
  const std::string pem = read_text(world.key().string() + ".pub");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    mds::ClientOptions options;
    options.server_url = url;
    options.app_id = "demo";
    options.platform = "android";
    options.app_version = "10.2.3";
    options.device.id = "d1";
    options.state_directory = world.state().string();
    options.trusted_public_keys = {pem};
    auto client = mds::Client::create(options);
    if (!client) {
      _exit(3);
    }
    auto launched = (*client)->launch_started();
    if (!launched || !*launched || (**launched).version != expected) {
      _exit(4);
    }
    if (read_text(std::filesystem::path((**launched).directory) / "patch.js") != World::content(expected)) {
      _exit(5);
    }
    ::signal(SIGABRT, SIG_DFL); // the test framework's handler would report a failure
    std::abort();               // the patch "crashes" the app before it could confirm
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  return status;
}

} // namespace

TEST_CASE("hotpatch: before any sync, launch loads nothing and confirm is refused", "[integration][hotpatch]") {
  World world;
  const auto launched = world.launch();
  CHECK(launched.root().IsNull());
  const Run confirm = world.client("hotpatch confirm");
  INFO(confirm.out << confirm.err);
  CHECK(confirm.status != 0);
  CHECK(confirm.err.find("\"code\": 416") != std::string::npos);
  CHECK(confirm.err.find("hotpatch_not_active") != std::string::npos);
  const Run bad = world.client("hotpatch restart");
  CHECK(bad.status != 0);
  CHECK(bad.err.find("invalid_argument") != std::string::npos);
}

TEST_CASE("hotpatch: installed staged by a sync, pending at launch, confirmed, no longer offered",
          "[integration][hotpatch]") {
  World world;
  world.release_patch("1");
  auto synced = world.sync();
  CHECK(field(synced.root()["hotpatch"], "version") == "1");
  CHECK(field(synced.root()["hotpatch"], "state") == "staged");
  REQUIRE(synced.root()["installed"].Size() == 1);
  CHECK(field(synced.root()["installed"][0], "kind") == "hotpatch");
  CHECK(world.offered_hotpatch() == "1");

  // The app's next start loads it.
  const auto launched = world.launch();
  CHECK(field(launched.root(), "id") == "patch");
  CHECK(field(launched.root(), "version") == "1");
  CHECK(field(launched.root(), "state") == "pending");
  const std::string path = field(launched.root(), "path");
  CHECK(path.rfind(world.state().string(), 0) == 0);
  CHECK(read_text(std::filesystem::path(path) / "patch.js") == World::content("1"));

  // The device reports it, and the server stops offering it.
  synced = world.sync();
  CHECK(field(synced.root()["hotpatch"], "state") == "pending");
  CHECK(synced.root()["installed"].Size() == 0);
  CHECK(world.offered_hotpatch() == "null");

  const Run confirmed = World::must(world.client("hotpatch confirm"));
  auto doc = mds::core::json::parse(confirmed.out);
  REQUIRE(doc);
  CHECK(field(doc->root(), "version") == "1");
  CHECK(field(doc->root(), "state") == "confirmed");
  synced = world.sync();
  CHECK(field(synced.root()["hotpatch"], "state") == "confirmed");
  const auto again = world.launch();
  CHECK(field(again.root(), "state") == "confirmed");
}

TEST_CASE("hotpatch: a crash loop reverts to the confirmed patch, is reported, and is not reinstalled",
          "[integration][hotpatch]") {
  World world;
  world.release_patch("1");
  world.sync();
  world.launch();
  World::must(world.client("hotpatch confirm"));

  const std::string bad_release = world.release_patch("2");
  auto synced = world.sync();
  CHECK(field(synced.root()["hotpatch"], "version") == "2");
  CHECK(field(synced.root()["hotpatch"], "state") == "staged");

  // Three launches (the default) load the new patch and crash before confirming.
  for (int launch = 1; launch <= 3; ++launch) {
    INFO("launch " << launch);
    const int status = crashing_launch(world, "2");
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
    CHECK(world.query("SELECT launches FROM hotpatch WHERE role = 'active'") ==
          std::vector<std::string>{std::to_string(launch)});
  }

  // The fourth reverts to the confirmed patch.
  const auto reverted = world.launch();
  CHECK(field(reverted.root(), "version") == "1");
  CHECK(field(reverted.root(), "state") == "confirmed");
  CHECK(read_text(std::filesystem::path(field(reverted.root(), "path")) / "patch.js") == World::content("1"));
  CHECK_FALSE(std::filesystem::exists(world.state() / "hotpatches" / "patch" / "2"));
  const auto events = world.query("SELECT body FROM events WHERE body LIKE '%rolled_back%'");
  REQUIRE(events.size() == 1);
  INFO(events.front());
  CHECK(events.front().find("\"code\":415") != std::string::npos);
  CHECK(events.front().find("\"release\":\"" + bad_release + "\"") != std::string::npos);

  // The next sync sends the event; the server still offers 2, the device does not take it.
  synced = world.sync();
  CHECK(field(synced.root()["hotpatch"], "version") == "1");
  CHECK(field(synced.root()["hotpatch"], "state") == "confirmed");
  CHECK(synced.root()["installed"].Size() == 0);
  CHECK(world.offered_hotpatch() == "2");
  CHECK(world.query("SELECT body FROM events WHERE body LIKE '%rolled_back%'").empty());
  const Run stats = World::must(world.mdsctl("--json stats " + bad_release));
  INFO(stats.out);
  CHECK(stats.out.find("\"rolled_back\":1") != std::string::npos);
  synced = world.sync();
  CHECK(synced.root()["installed"].Size() == 0);
  CHECK(field(world.launch().root(), "version") == "1");
  CHECK_FALSE(std::filesystem::exists(world.state() / "hotpatches" / "patch" / "2"));

  // A fixed patch is taken again.
  world.release_patch("3");
  synced = world.sync();
  CHECK(field(synced.root()["hotpatch"], "version") == "3");
  CHECK(field(synced.root()["hotpatch"], "state") == "staged");
  const auto fixed = world.launch();
  CHECK(field(fixed.root(), "version") == "3");
}

#endif
