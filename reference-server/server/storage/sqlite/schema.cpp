#include "server/storage/sqlite/schema.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace mds::server::sqlite {
namespace {

// Index i holds the migration to schema version i + 1.
constexpr const char *kMigrations[] = {
    // 1: apps, whitelists, release rules, releases, audit log.
    R"sql(
CREATE TABLE apps (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  platform    TEXT NOT NULL CHECK (platform IN ('android', 'ios')),
  created_at  INTEGER NOT NULL
);
CREATE TABLE app_publisher_keys (
  app_id    INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  position  INTEGER NOT NULL,
  key_id    TEXT NOT NULL,
  pem       TEXT NOT NULL,
  PRIMARY KEY (app_id, position),
  UNIQUE (app_id, key_id)
);
CREATE TABLE whitelists (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  type         TEXT NOT NULL CHECK (type IN ('user', 'device')),
  entry_count  INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE whitelist_entries (
  whitelist_id  INTEGER NOT NULL REFERENCES whitelists (id) ON DELETE CASCADE,
  entry         TEXT NOT NULL,
  PRIMARY KEY (whitelist_id, entry)
) WITHOUT ROWID;
CREATE TABLE release_rules (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT NOT NULL,
  filters      TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE TABLE releases (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id           INTEGER NOT NULL REFERENCES apps (id),
  kind             TEXT NOT NULL CHECK (kind IN ('package', 'config')),
  package_id       TEXT,
  package_version  TEXT,
  config           TEXT,
  stage            TEXT NOT NULL,
  paused_from      TEXT,
  percent_bp       INTEGER NOT NULL CHECK (percent_bp BETWEEN 0 AND 10000),
  window_start     INTEGER,
  window_end       INTEGER,
  window_cap       INTEGER,
  filters          TEXT NOT NULL,
  salt             TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX releases_by_app ON releases (app_id);
CREATE TABLE release_whitelists (
  release_id    INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  whitelist_id  INTEGER NOT NULL REFERENCES whitelists (id),
  position      INTEGER NOT NULL,
  PRIMARY KEY (release_id, whitelist_id)
);
CREATE INDEX release_whitelists_by_list ON release_whitelists (whitelist_id);
CREATE TABLE release_rule_uses (
  release_id  INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  rule_id     INTEGER NOT NULL REFERENCES release_rules (id),
  position    INTEGER NOT NULL,
  PRIMARY KEY (release_id, rule_id)
);
CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT NOT NULL,
  detail  TEXT NOT NULL
);
CREATE INDEX audit_by_target ON audit_log (target, id);
)sql",

    // 2: config keys with their default values, and a per-app config revision that rises
    // with every change so devices can tell they are up to date.
    R"sql(
ALTER TABLE apps ADD COLUMN config_revision INTEGER NOT NULL DEFAULT 0;
CREATE TABLE config_values (
  app_id       INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  value        TEXT NOT NULL,
  description  TEXT NOT NULL,
  revision     INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (app_id, key)
);
)sql",

    // 3: time-window admissions: one row per (release, device) that took a place, and the
    // number of places taken kept on the release, so the cap check reads one row.
    R"sql(
ALTER TABLE releases ADD COLUMN window_admitted INTEGER NOT NULL DEFAULT 0;
CREATE TABLE window_admissions (
  release_id   INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL,
  admitted_at  INTEGER NOT NULL,
  PRIMARY KEY (release_id, device_id)
) WITHOUT ROWID;
)sql",

    // 4: device events, kept once per event id, and per-release delivery counters.
    R"sql(
CREATE TABLE device_events (
  id           TEXT PRIMARY KEY,
  app_id       INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  device_id    TEXT NOT NULL,
  type         TEXT NOT NULL,
  at           INTEGER NOT NULL,
  release      TEXT NOT NULL,
  package      TEXT NOT NULL,
  version      TEXT NOT NULL,
  code         INTEGER,
  detail       TEXT NOT NULL,
  received_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE release_counters (
  release_id   INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
  offered      INTEGER NOT NULL DEFAULT 0,
  downloaded   INTEGER NOT NULL DEFAULT 0,
  installed    INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0,
  rolled_back  INTEGER NOT NULL DEFAULT 0
);
)sql",

    // 5: published packages with their downloads, and releases of packages: groups of
    // offline packages installed together and upgrade prompts.
    R"sql(
CREATE TABLE packages (
  id               INTEGER PRIMARY KEY,
  app_id           INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  kind             TEXT NOT NULL CHECK (kind IN ('offline', 'hotpatch', 'upgrade')),
  package_id       TEXT NOT NULL,
  version          TEXT NOT NULL,
  manifest_sha256  TEXT NOT NULL,
  manifest         TEXT NOT NULL,
  envelope         TEXT NOT NULL,
  file_count       INTEGER NOT NULL,
  size             INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  UNIQUE (app_id, package_id, version)
);
CREATE TABLE package_downloads (
  package_row   INTEGER NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
  base_version  TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  size          INTEGER NOT NULL,
  PRIMARY KEY (package_row, base_version)
);
CREATE TABLE release_packages (
  release_id  INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  package_id  TEXT NOT NULL,
  version     TEXT NOT NULL,
  PRIMARY KEY (release_id, position),
  UNIQUE (release_id, package_id)
);
ALTER TABLE releases ADD COLUMN upgrade_mode TEXT;
ALTER TABLE releases ADD COLUMN upgrade_remind_days INTEGER;
ALTER TABLE releases ADD COLUMN upgrade_notes TEXT;
)sql",

    // 6: targeted config values: a key's variants (first match wins over the default), as
    // a JSON array of {"when": [parsed filters], "value"}.
    R"sql(
ALTER TABLE config_values ADD COLUMN variants TEXT NOT NULL DEFAULT '[]';
)sql",

    // 7: whitelist ids stored in chunks of up to 256 ids joined by newlines (an id never
    // holds one), keyed by their smallest id: importing or replacing a million ids writes
    // or deletes four thousand rows instead of a million. A chunk holds every id of its
    // list from its first_entry up to the next chunk's, so a lookup reads one chunk.
    R"sql(
CREATE TABLE whitelist_chunks (
  id            INTEGER PRIMARY KEY,
  whitelist_id  INTEGER NOT NULL REFERENCES whitelists (id) ON DELETE CASCADE,
  first_entry   TEXT NOT NULL,
  entries       TEXT NOT NULL,
  UNIQUE (whitelist_id, first_entry)
);
INSERT INTO whitelist_chunks (whitelist_id, first_entry, entries)
  SELECT whitelist_id, min(entry), group_concat(entry, char(10))
  FROM (SELECT whitelist_id, entry,
               (row_number() OVER (PARTITION BY whitelist_id ORDER BY entry) - 1) / 256 AS chunk
        FROM whitelist_entries ORDER BY whitelist_id, entry)
  GROUP BY whitelist_id, chunk;
DROP TABLE whitelist_entries;
)sql",

    // 8: regex lists: a list's entries are either ids or RE2 patterns a whole id matches.
    R"sql(
ALTER TABLE whitelists ADD COLUMN matching TEXT NOT NULL DEFAULT 'id' CHECK (matching IN ('id', 'regex'));
)sql",
};

Result<int> current_version(Connection &connection) {
  if (auto created = connection.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      !created) {
    return created.error();
  }
  auto query = Statement::prepare(connection, "SELECT version FROM schema_version");
  if (!query) {
    return query.error();
  }
  auto row = query->step();
  if (!row) {
    return row.error();
  }
  return *row ? static_cast<int>(query->integer(0)) : 0;
}

} // namespace

int latest_schema_version() {
  return static_cast<int>(std::size(kMigrations));
}

Status migrate(Connection &connection) {
  return migrate(connection, latest_schema_version());
}

Status migrate(Connection &connection, int target) {
  auto version = current_version(connection);
  if (!version) {
    return version.error();
  }
  if (*version > latest_schema_version()) {
    return make_error(ErrorCode::Unsupported, "the database has schema version " + std::to_string(*version) +
                                                  ", newer than this server's " +
                                                  std::to_string(latest_schema_version()));
  }
  for (int next = *version + 1; next <= std::min(target, latest_schema_version()); ++next) {
    auto transaction = Transaction::begin(connection);
    if (!transaction) {
      return transaction.error();
    }
    if (auto applied = connection.exec(kMigrations[next - 1]); !applied) {
      return make_error(applied.code(), "migration " + std::to_string(next) + ": " + applied.error().message);
    }
    auto record = Statement::prepare(connection, next == 1 ? "INSERT INTO schema_version (version) VALUES (?1)"
                                                           : "UPDATE schema_version SET version = ?1");
    if (!record) {
      return record.error();
    }
    if (auto recorded = record->bind(1, std::int64_t{next}).run(); !recorded) {
      return recorded;
    }
    if (auto committed = transaction->commit(); !committed) {
      return committed;
    }
  }
  return {};
}

} // namespace mds::server::sqlite
