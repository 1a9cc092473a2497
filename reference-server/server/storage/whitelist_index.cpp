#include "server/storage/whitelist_index.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <cstring>
#include <random>

namespace mds::server {
namespace {

std::uint64_t mix(std::uint64_t value) {
  value ^= value >> 32;
  value *= 0xd6e8feb86659fd93ULL;
  value ^= value >> 32;
  value *= 0xd6e8feb86659fd93ULL;
  value ^= value >> 32;
  return value;
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

// RE2 refuses a set whose compiled program would exceed this.
constexpr std::int64_t kPatternSetMemory = 64 << 20;

} // namespace

IdFingerprints::IdFingerprints(std::uint64_t expected_ids) : seed_(random_seed()) {
  std::size_t capacity = 16;
  while (capacity < expected_ids * 2) {
    capacity *= 2;
  }
  slots_.assign(capacity, 0);
}

// Keyed with a seed drawn per process, so ids chosen to collide cannot pile up in one run
// of slots; a collision only costs a confirmation, never a wrong answer.
std::uint64_t IdFingerprints::fingerprint(std::string_view id) const {
  std::uint64_t hash = mix(seed_ ^ (id.size() * 0x9e3779b97f4a7c15ULL));
  while (id.size() >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, id.data(), 8);
    hash = mix(hash ^ word);
    id.remove_prefix(8);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, id.data(), id.size());
  hash = mix(hash ^ tail ^ 0xa0761d6478bd642fULL);
  return hash == 0 ? 1 : hash;
}

void IdFingerprints::add(std::string_view id) {
  if ((used_ + 1) * 2 > slots_.size()) {
    std::vector<std::uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    used_ = 0;
    for (const auto print : old) {
      if (print != 0) {
        insert(print);
      }
    }
  }
  insert(fingerprint(id));
}

void IdFingerprints::insert(std::uint64_t print) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = print & mask;; slot = (slot + 1) & mask) {
    if (slots_[slot] == print) {
      return;
    }
    if (slots_[slot] == 0) {
      slots_[slot] = print;
      ++used_;
      return;
    }
  }
}

bool IdFingerprints::may_hold(std::string_view id) const {
  const std::uint64_t print = fingerprint(id);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = print & mask;; slot = (slot + 1) & mask) {
    if (slots_[slot] == print) {
      return true;
    }
    if (slots_[slot] == 0) {
      return false;
    }
  }
}

struct PatternSet::Compiled {
  explicit Compiled(const RE2::Options &options) : set(options, RE2::ANCHOR_BOTH) {}
  RE2::Set set;
};

PatternSet::PatternSet() = default;
PatternSet::~PatternSet() = default;

Result<std::unique_ptr<PatternSet>> PatternSet::compile(const std::vector<std::string_view> &patterns) {
  if (patterns.size() > kMaxWhitelistPatterns) {
    return make_error(ErrorCode::InvalidArgument,
                      "a regex list holds at most " + std::to_string(kMaxWhitelistPatterns) + " patterns");
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kPatternSetMemory);
  std::unique_ptr<PatternSet> compiled(new PatternSet());
  compiled->compiled_ = std::make_unique<Compiled>(options);
  for (const auto pattern : patterns) {
    if (pattern.size() > kMaxPatternLength) {
      return make_error(ErrorCode::InvalidArgument,
                        "a pattern is longer than " + std::to_string(kMaxPatternLength) + " bytes");
    }
    std::string reason;
    if (compiled->compiled_->set.Add(re2::StringPiece(pattern.data(), pattern.size()), &reason) < 0) {
      return make_error(ErrorCode::InvalidArgument,
                        "pattern \"" + std::string(pattern) + "\" does not compile: " + reason);
    }
  }
  compiled->empty_ = patterns.empty();
  if (!compiled->compiled_->set.Compile()) {
    return make_error(ErrorCode::InvalidArgument,
                      "the patterns need more than " + std::to_string(kPatternSetMemory >> 20) + " MiB once compiled");
  }
  return compiled;
}

bool PatternSet::matches(std::string_view id) const {
  return !empty_ && compiled_->set.Match(re2::StringPiece(id.data(), id.size()), nullptr);
}

} // namespace mds::server
