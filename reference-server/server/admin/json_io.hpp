// Reading admin request bodies strictly and writing answers, shared by the admin routes.
#ifndef MDS_SERVER_ADMIN_JSON_IO_HPP
#define MDS_SERVER_ADMIN_JSON_IO_HPP

#include "server/http/message.hpp"

#include "core/json/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::admin {

// The body as one JSON object: JsonSyntax, JsonTooLarge, JsonTooDeep, JsonDuplicateKey,
// JsonInvalidUtf8, or JsonWrongType when the top level is not an object. An empty body
// reads as {} when `empty_is_object`.
Result<core::json::Document> parse_object_body(const http::Request &request, std::size_t limit,
                                               bool empty_is_object = false);

// Names of apps, whitelists, rules and config keys: 1 to 128 of [A-Za-z0-9._-],
// starting and ending with a letter or digit (the manifest's app grammar).
// InvalidArgument otherwise.
Status check_name(std::string_view what, std::string_view name);

// An optional array of strings under `key`, each non-empty and at most `max_length`
// bytes, at most `max_items` of them.
Result<std::vector<std::string>> string_list(const core::json::ObjectReader &object, std::string_view key,
                                             std::size_t max_items, std::size_t max_length);

// A JSON number in [0, 100] with at most two decimals, as basis points.
Result<std::uint32_t> percent_basis_points(const core::json::Value &value, std::string_view where);

// Writing answers.
void put(core::json::Writer &writer, const char *key, std::string_view value);
void put(core::json::Writer &writer, const char *key, std::int64_t value);
void put_time(core::json::Writer &writer, const char *key, std::int64_t unix_seconds);
// Embeds JSON the server wrote itself (stored filters, audit details) without re-parsing.
void put_raw(core::json::Writer &writer, const char *key, std::string_view json);
void put_percent(core::json::Writer &writer, const char *key, std::uint32_t basis_points);

// A 200/201 answer from a finished writer buffer.
http::Response json_answer(unsigned status, const rapidjson::StringBuffer &buffer);

} // namespace mds::server::admin

#endif
