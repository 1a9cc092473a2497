// Strict JSON for everything OpenMDS reads from outside: RapidJSON behind limits on size
// and depth, UTF-8 validation, and a refusal of duplicate keys (two parsers that pick
// different duplicates are a classic way to make a signed document say two things).
#ifndef MDS_CORE_JSON_JSON_HPP
#define MDS_CORE_JSON_JSON_HPP

#include <mds/error.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mds::core::json {

using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct Limits {
  std::size_t max_bytes = 1u << 20;
  unsigned max_depth = 32;
};

// A parsed document. Movable; values borrowed from it live as long as it does.
class Document {
public:
  Document();
  const Value &root() const { return *doc_; }
  Value &root() { return *doc_; }
  rapidjson::Document::AllocatorType &allocator() { return doc_->GetAllocator(); }
  rapidjson::Document &raw() { return *doc_; }

private:
  friend Result<Document> parse(std::string_view text, const Limits &limits);
  // `pool_chunk_bytes`: how much the document's memory pool takes from the heap at a time.
  explicit Document(std::size_t pool_chunk_bytes);

  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool_; // declared first: outlives doc_
  std::unique_ptr<rapidjson::Document> doc_;
};

Result<Document> parse(std::string_view text, const Limits &limits = {});

// Compact serialisation of a value.
std::string serialize(const Value &value);

// The text that `write` produces with a fresh writer.
std::string write(const std::function<void(Writer &)> &write);

// {"error": {"code": N, "name": "...", "message": "..."}}: how every OpenMDS component
// reports an error in JSON (server answers, --json output of the tools).
std::string error_document(const Error &error);

// Typed, error-reporting access to one JSON object. `where` names the object in
// messages ("manifest", "files[3]").
class ObjectReader {
public:
  static Result<ObjectReader> of(const Value &value, std::string where);

  const Value *find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  Result<std::string> string(std::string_view key) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<std::uint64_t> uint64(std::string_view key) const;
  Result<std::int64_t> int64(std::string_view key) const;
  Result<bool> boolean(std::string_view key) const;
  Result<const Value *> array(std::string_view key) const;
  Result<const Value *> object(std::string_view key) const;

  // Refuses any member not named in `allowed`.
  Status allow_only(std::initializer_list<std::string_view> allowed) const;

  const std::string &where() const { return where_; }

private:
  ObjectReader(const Value &value, std::string where) : value_(&value), where_(std::move(where)) {}
  Result<const Value *> required(std::string_view key) const;
  Error wrong_type(std::string_view key, const char *expected) const;

  const Value *value_;
  std::string where_;
};

inline std::string_view view(const Value &string_value) {
  return {string_value.GetString(), string_value.GetStringLength()};
}

} // namespace mds::core::json

#endif
