// How a whitelist's ids are stored: sorted, in chunks of up to kIdsPerChunk ids joined by
// newlines, each chunk keyed by its smallest id (schema migration 7). Pure functions over
// bytes; the SQL lives in sqlite_storage.cpp.
#ifndef MDS_SERVER_STORAGE_SQLITE_WHITELIST_CHUNKS_HPP
#define MDS_SERVER_STORAGE_SQLITE_WHITELIST_CHUNKS_HPP

#include "server/storage/storage.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::sqlite {

inline constexpr std::size_t kIdsPerChunk = 256;

// Every id an import read, sorted in byte order (SQLite's BINARY collation, so chunk keys
// compare in SQL as they do here) and without repeats. The ids share one buffer: a million
// ids of 20 bytes take about 36 MB while the import runs.
class SortedIds {
public:
  static Result<SortedIds> read(IdSource &ids);

  std::uint64_t ids_read() const { return ids_read_; }
  std::size_t size() const { return ids_.size(); }
  std::string_view operator[](std::size_t index) const {
    return std::string_view(buffer_).substr(ids_[index].offset, ids_[index].length);
  }

  // Ids [begin, end) as a chunk's stored text, into `out`.
  void join(std::size_t begin, std::size_t end, std::string &out) const;

private:
  struct Span {
    std::uint64_t prefix; // the first 8 bytes, big-endian, zero-padded: most comparisons end here
    std::uint32_t offset;
    std::uint32_t length;
  };
  std::string buffer_;
  std::vector<Span> ids_;
  std::uint64_t ids_read_ = 0;
};

// Calls `visit` with each entry of a chunk's stored text.
template <typename Visit> void for_each_chunk_entry(std::string_view entries, Visit &&visit) {
  while (!entries.empty()) {
    const auto end = entries.find('\n');
    visit(entries.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    entries.remove_prefix(end + 1);
  }
}

// Whether a chunk's stored text holds `id` as one of its lines.
bool chunk_holds(std::string_view entries, std::string_view id);

// A chunk's ids in byte order. Chunks written by an import are sorted already; those
// converted by migration 7 may not be (group_concat promises no order).
std::vector<std::string> chunk_ids(std::string_view entries);

} // namespace mds::server::sqlite

#endif
