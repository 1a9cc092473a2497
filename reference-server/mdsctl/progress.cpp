#include "progress.hpp"

#include "text_output.hpp"

#include <unistd.h>

#include <cstdio>

namespace mds::mdsctl {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kFirstDraw = std::chrono::seconds(1);
constexpr auto kBarInterval = std::chrono::milliseconds(200);
constexpr auto kLineInterval = std::chrono::seconds(5);
constexpr int kBarWidth = 30;

} // namespace

Progress::Style Progress::style_for_stderr(bool quiet) {
  if (quiet) {
    return Style::None;
  }
  return ::isatty(STDERR_FILENO) == 1 ? Style::Bar : Style::Lines;
}

Progress::Progress(Style style, std::string label, std::uint64_t total_bytes)
    : style_(style), label_(std::move(label)), total_(total_bytes), started_(Clock::now()), last_drawn_(started_) {}

Progress::~Progress() {
  if (drawn_) {
    draw(last_done_, true);
  }
}

void Progress::update(std::uint64_t done) {
  last_done_ = done;
  if (style_ == Style::None) {
    return;
  }
  const auto now = Clock::now();
  if (now - started_ < kFirstDraw) {
    return;
  }
  const auto interval = style_ == Style::Bar ? std::chrono::duration_cast<Clock::duration>(kBarInterval)
                                             : std::chrono::duration_cast<Clock::duration>(kLineInterval);
  if (drawn_ && now - last_drawn_ < interval) {
    return;
  }
  last_drawn_ = now;
  draw(done, false);
}

void Progress::draw(std::uint64_t done, bool final) {
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  const std::string amounts = human_bytes(done) + " of " + human_bytes(total_);
  if (style_ == Style::Bar) {
    const int filled = static_cast<int>(fraction * kBarWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kBarWidth - filled), ' ');
    std::fprintf(stderr, "\r%s [%s] %3d%% %s\033[K%s", label_.c_str(), bar.c_str(), static_cast<int>(fraction * 100),
                 amounts.c_str(), final ? "\n" : "");
  } else if (!final) {
    std::fprintf(stderr, "%s: %d%% (%s)\n", label_.c_str(), static_cast<int>(fraction * 100), amounts.c_str());
  }
  std::fflush(stderr);
  drawn_ = true;
}

} // namespace mds::mdsctl
