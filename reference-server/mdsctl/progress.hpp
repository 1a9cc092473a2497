// Upload progress on stderr: a bar redrawn in place when stderr is a terminal, a plain
// line every few seconds otherwise (logs of CI jobs), nothing at all with --json (whose
// callers parse the output) or for transfers that finish within a second.
#ifndef MDS_MDSCTL_PROGRESS_HPP
#define MDS_MDSCTL_PROGRESS_HPP

#include <chrono>
#include <cstdint>
#include <string>

namespace mds::mdsctl {

class Progress {
public:
  enum class Style { None, Bar, Lines };

  // Bar when stderr is a terminal, Lines otherwise; None when `quiet`.
  static Style style_for_stderr(bool quiet);

  Progress(Style style, std::string label, std::uint64_t total_bytes);
  ~Progress(); // ends a bar's line

  // `done` bytes of total_bytes so far.
  void update(std::uint64_t done);

private:
  void draw(std::uint64_t done, bool final);

  Style style_;
  std::string label_;
  std::uint64_t total_;
  std::uint64_t last_done_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_drawn_;
  bool drawn_ = false;
};

} // namespace mds::mdsctl

#endif
