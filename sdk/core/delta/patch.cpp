#include "core/delta/patch.hpp"

#include "core/delta/wire.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace mds::core::delta::patch {
namespace {

// Matches are found from 8-byte seeds: shorter ones would cost more instructions than
// the bytes they save.
constexpr std::size_t kSeedBytes = 8;
// Candidates examined per seed, the most recent (highest) reference positions first.
constexpr int kChainLimit = 32;
// A new exact match replaces the current alignment only when it is this much better.
constexpr std::int64_t kSwitchMargin = 8;
constexpr std::uint32_t kNoPosition = UINT32_MAX;

std::uint64_t load64(const std::uint8_t *bytes) {
  std::uint64_t value = 0;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

// How many leading bytes of a and b are equal, up to `limit`.
std::size_t common_prefix(const std::uint8_t *a, const std::uint8_t *b, std::size_t limit) {
  std::size_t length = 0;
  while (length + 8 <= limit && load64(a + length) == load64(b + length)) {
    length += 8;
  }
  while (length < limit && a[length] == b[length]) {
    ++length;
  }
  return length;
}

// Every reference position, chained by the hash of the 8 bytes starting there.
class SeedIndex {
public:
  explicit SeedIndex(ByteView reference) : reference_(reference) {
    bits_ = 12;
    while (bits_ < 24 && (std::size_t{1} << bits_) < reference.size()) {
      ++bits_;
    }
    heads_.assign(std::size_t{1} << bits_, kNoPosition);
    if (reference.size() >= kSeedBytes) {
      next_.assign(reference.size() - kSeedBytes + 1, kNoPosition);
      for (std::size_t at = 0; at < next_.size(); ++at) {
        std::uint32_t &head = heads_[slot(load64(reference.data() + at))];
        next_[at] = head;
        head = static_cast<std::uint32_t>(at);
      }
    }
  }

  // The longest exact match of target[at..] in the reference (at least kSeedBytes), or 0.
  // `preferred` (the current alignment) wins ties, so that equal matches elsewhere do not
  // cost a seek.
  std::size_t longest(ByteView target, std::size_t at, std::int64_t preferred, std::size_t &position) const {
    if (target.size() - at < kSeedBytes) {
      return 0;
    }
    const std::uint64_t seed = load64(target.data() + at);
    std::size_t best = 0;
    if (preferred >= 0 && static_cast<std::size_t>(preferred) + kSeedBytes <= reference_.size()) {
      const auto from = static_cast<std::size_t>(preferred);
      const std::size_t limit = std::min(reference_.size() - from, target.size() - at);
      const std::size_t length = common_prefix(reference_.data() + from, target.data() + at, limit);
      if (length >= kSeedBytes) {
        best = length;
        position = from;
      }
    }
    std::uint32_t candidate = heads_[slot(seed)];
    for (int visited = 0; candidate != kNoPosition && visited < kChainLimit; candidate = next_[candidate], ++visited) {
      if (load64(reference_.data() + candidate) != seed) {
        continue;
      }
      const std::size_t limit = std::min(reference_.size() - candidate, target.size() - at);
      const std::size_t length = common_prefix(reference_.data() + candidate, target.data() + at, limit);
      if (length > best) {
        best = length;
        position = candidate;
        if (at + length == target.size()) {
          break;
        }
      }
    }
    return best;
  }

private:
  std::size_t slot(std::uint64_t seed) const {
    return static_cast<std::size_t>((seed * 0x9E3779B97F4A7C15ull) >> (64 - bits_));
  }

  ByteView reference_;
  unsigned bits_ = 12;
  std::vector<std::uint32_t> heads_;
  std::vector<std::uint32_t> next_;
};

// The diff stream's form: the runs of non-zero bytes of the dense diff (docs/delta.md).
Bytes sparse(const Bytes &dense) {
  Bytes gaps;
  Bytes lengths;
  Bytes bytes;
  std::uint64_t count = 0;
  std::size_t end = 0; // of the previous run
  for (std::size_t at = 0; at < dense.size();) {
    if (dense[at] == 0) {
      ++at;
      continue;
    }
    std::size_t stop = at;
    while (stop < dense.size() && dense[stop] != 0) {
      ++stop;
    }
    wire::put_varint(gaps, at - end);
    wire::put_varint(lengths, stop - at);
    bytes.insert(bytes.end(), dense.begin() + static_cast<std::ptrdiff_t>(at),
                 dense.begin() + static_cast<std::ptrdiff_t>(stop));
    ++count;
    end = at = stop;
  }
  Bytes out;
  if (count == 0) {
    return out;
  }
  wire::put_varint(out, count);
  wire::put_bytes(out, gaps);
  wire::put_bytes(out, lengths);
  wire::put_bytes(out, bytes);
  return out;
}

} // namespace

Streams make_patch(ByteView reference, ByteView target) {
  Streams out;
  Bytes dense_diff; // one byte per copied byte, mostly zeros
  const SeedIndex index(reference);
  const auto n = static_cast<std::int64_t>(reference.size());
  const auto m = static_cast<std::int64_t>(target.size());
  const auto ref = [&](std::int64_t at) { return reference[static_cast<std::size_t>(at)]; };
  const auto tgt = [&](std::int64_t at) { return target[static_cast<std::size_t>(at)]; };

  // The current alignment: target position t continues at reference position t + offset.
  std::int64_t last_scan = 0;
  std::int64_t last_pos = 0;
  std::int64_t offset = 0;
  const auto aligned = [&](std::int64_t t) {
    const std::int64_t r = t + offset;
    return r >= 0 && r < n && ref(r) == tgt(t);
  };

  std::int64_t scan = 0;
  std::int64_t length = 0;
  std::int64_t pos = 0;
  while (scan < m) {
    // Look for an exact match that beats the current alignment: old_score counts the
    // aligned bytes in [scan, scored).
    std::int64_t old_score = 0;
    scan += length;
    std::int64_t scored = scan;
    length = 0;
    for (; scan < m; ++scan) {
      std::size_t found = 0;
      length = static_cast<std::int64_t>(index.longest(target, static_cast<std::size_t>(scan), scan + offset, found));
      if (length > 0) {
        pos = static_cast<std::int64_t>(found);
      }
      scored = std::max(scored, scan);
      for (; scored < scan + length; ++scored) {
        old_score += aligned(scored) ? 1 : 0;
      }
      if ((length == old_score && length != 0) || length > old_score + kSwitchMargin) {
        break;
      }
      if (scored > scan) {
        old_score -= aligned(scan) ? 1 : 0;
      } else {
        scored = scan + 1;
      }
    }
    if (length == old_score && scan != m) {
      continue; // the current alignment covers the match: keep going with it
    }
    // Close the current approximate match: extend it forward from where it began, extend
    // the new one backward, as far as more than half the bytes agree.
    std::int64_t forward = 0;
    {
      std::int64_t agree = 0;
      std::int64_t best = 0;
      for (std::int64_t i = 0; last_scan + i < scan && last_pos + i < n;) {
        agree += ref(last_pos + i) == tgt(last_scan + i) ? 1 : 0;
        ++i;
        if (agree * 2 - i > best * 2 - forward) {
          best = agree;
          forward = i;
        }
      }
    }
    std::int64_t backward = 0;
    if (scan < m) {
      std::int64_t agree = 0;
      std::int64_t best = 0;
      for (std::int64_t i = 1; scan >= last_scan + i && pos >= i; ++i) {
        agree += ref(pos - i) == tgt(scan - i) ? 1 : 0;
        if (agree * 2 - i > best * 2 - backward) {
          best = agree;
          backward = i;
        }
      }
    }
    if (last_scan + forward > scan - backward) {
      // The two extensions overlap: split the overlap where the bytes agree best.
      const std::int64_t overlap = last_scan + forward - (scan - backward);
      std::int64_t score = 0;
      std::int64_t best = 0;
      std::int64_t split = 0;
      for (std::int64_t i = 0; i < overlap; ++i) {
        score += tgt(last_scan + forward - overlap + i) == ref(last_pos + forward - overlap + i) ? 1 : 0;
        score -= tgt(scan - backward + i) == ref(pos - backward + i) ? 1 : 0;
        if (score > best) {
          best = score;
          split = i + 1;
        }
      }
      forward += split - overlap;
      backward -= split;
    }
    for (std::int64_t i = 0; i < forward; ++i) {
      dense_diff.push_back(static_cast<std::uint8_t>(tgt(last_scan + i) - ref(last_pos + i)));
    }
    const std::int64_t extra_start = last_scan + forward;
    const std::int64_t extra_end = scan - backward;
    out.extra.insert(out.extra.end(), target.begin() + extra_start, target.begin() + extra_end);
    const std::int64_t seek = scan < m ? (pos - backward) - (last_pos + forward) : 0;
    wire::put_varint(out.control, static_cast<std::uint64_t>(forward));
    wire::put_varint(out.control, static_cast<std::uint64_t>(extra_end - extra_start));
    wire::put_varint(out.control, zigzag(seek));
    last_scan = scan - backward;
    last_pos = pos - backward;
    offset = pos - scan;
  }
  out.diff = sparse(dense_diff);
  return out;
}

} // namespace mds::core::delta::patch
