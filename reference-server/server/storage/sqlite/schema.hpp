// The database schema as an ordered list of migrations. A migration, once released, is
// never edited: a change to the schema is a new migration appended at the end.
#ifndef MDS_SERVER_STORAGE_SQLITE_SCHEMA_HPP
#define MDS_SERVER_STORAGE_SQLITE_SCHEMA_HPP

#include "server/storage/sqlite/sqlite.hpp"

namespace mds::server::sqlite {

// Brings the database to the newest schema (or to `target`, for tests of a migration), one
// transaction per migration. Refuses a database written by a newer server (its schema
// version is above ours).
Status migrate(Connection &connection);
Status migrate(Connection &connection, int target);

// The schema version this build writes.
int latest_schema_version();

} // namespace mds::server::sqlite

#endif
