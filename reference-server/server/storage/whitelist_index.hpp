// A whitelist as the check path consults it: in memory, built once per import.
//
// An id list keeps a table of keyed 64-bit fingerprints of its ids (about 16 bytes per
// id): a lookup is O(1) and answers "no" for certain; a "yes" is confirmed against the
// store, so an answer is always exact. A regex list keeps its patterns compiled into one
// RE2 set: RE2 matches in time linear in the id whatever the pattern, so a device id
// cannot make a pattern backtrack for long.
#ifndef MDS_SERVER_STORAGE_WHITELIST_INDEX_HPP
#define MDS_SERVER_STORAGE_WHITELIST_INDEX_HPP

#include "server/storage/storage.hpp"

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace mds::server {

inline constexpr std::size_t kMaxWhitelistPatterns = 1000;
inline constexpr std::size_t kMaxPatternLength = 1024;

class IdFingerprints {
public:
  // Sized for `expected_ids`; grows if more arrive.
  explicit IdFingerprints(std::uint64_t expected_ids);
  void add(std::string_view id);
  // False: the id is certainly not in the list. True: it probably is; confirm it.
  bool may_hold(std::string_view id) const;

private:
  std::uint64_t fingerprint(std::string_view id) const;
  void insert(std::uint64_t print);
  std::uint64_t seed_;
  std::vector<std::uint64_t> slots_; // 0: empty; a power of two, at most half full
  std::size_t used_ = 0;
};

class PatternSet {
public:
  // Refuses a pattern RE2 cannot compile, with the pattern and RE2's reason, and sets
  // above kMaxWhitelistPatterns patterns or kMaxPatternLength bytes per pattern.
  static Result<std::unique_ptr<PatternSet>> compile(const std::vector<std::string_view> &patterns);
  ~PatternSet();
  PatternSet(const PatternSet &) = delete;
  PatternSet &operator=(const PatternSet &) = delete;

  // Whether one pattern matches the whole id.
  bool matches(std::string_view id) const;

private:
  PatternSet();
  struct Compiled; // RE2::Set, which cannot be declared ahead (a nested class)
  std::unique_ptr<Compiled> compiled_;
  bool empty_ = true;
};

} // namespace mds::server

#endif
