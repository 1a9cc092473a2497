#include "server/storage/sqlite/whitelist_chunks.hpp"

#include <algorithm>
#include <limits>

namespace mds::server::sqlite {
namespace {

// Ids hold no NUL byte, so zero padding orders a short id before its extensions, as byte
// order does.
std::uint64_t prefix_of(std::string_view id) {
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    prefix = (prefix << 8) | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
  }
  return prefix;
}

} // namespace

Result<SortedIds> SortedIds::read(IdSource &ids) {
  SortedIds sorted;
  for (;;) {
    auto id = ids.next();
    if (!id) {
      return id.error();
    }
    if (!*id) {
      break;
    }
    const std::string_view text = **id;
    if (sorted.buffer_.size() + text.size() > std::numeric_limits<std::uint32_t>::max()) {
      return make_error(ErrorCode::PayloadTooLarge, "a whitelist import holds at most 4 GiB of ids");
    }
    sorted.ids_.push_back(
        {prefix_of(text), static_cast<std::uint32_t>(sorted.buffer_.size()), static_cast<std::uint32_t>(text.size())});
    sorted.buffer_.append(text);
    ++sorted.ids_read_;
  }
  const std::string_view buffer(sorted.buffer_);
  auto view = [buffer](const Span &span) { return buffer.substr(span.offset, span.length); };
  std::sort(sorted.ids_.begin(), sorted.ids_.end(), [&](const Span &a, const Span &b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : view(a) < view(b);
  });
  sorted.ids_.erase(
      std::unique(sorted.ids_.begin(), sorted.ids_.end(),
                  [&](const Span &a, const Span &b) { return a.prefix == b.prefix && view(a) == view(b); }),
      sorted.ids_.end());
  return sorted;
}

void SortedIds::join(std::size_t begin, std::size_t end, std::string &out) const {
  out.clear();
  for (std::size_t index = begin; index < end; ++index) {
    if (index != begin) {
      out.push_back('\n');
    }
    out.append((*this)[index]);
  }
}

bool chunk_holds(std::string_view entries, std::string_view id) {
  bool held = false;
  for_each_chunk_entry(entries, [&](std::string_view entry) { held = held || entry == id; });
  return held;
}

std::vector<std::string> chunk_ids(std::string_view entries) {
  std::vector<std::string> ids;
  for_each_chunk_entry(entries, [&](std::string_view entry) { ids.emplace_back(entry); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

} // namespace mds::server::sqlite
