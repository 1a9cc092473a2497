// mds-delta-bench: measures package deltas on real directories with the real encoder and
// the real streaming reader (docs/benchmarks.md, "Package deltas").
//
//   mds-delta-bench run OLD NEW --work DIR [--level N] [--max-window-log N] [--json]
//       manifests of both trees, the delta OLD -> NEW and the full download of NEW, each
//       applied in a child process into DIR and verified; sizes, times, peak memory.
//   mds-delta-bench apply --base DIR [--base-manifest F] --target-manifest F --delta F
//       --out DIR [--max-window-log N]
//       the child: applies one delta from disk and prints its measurements as JSON.
//   mds-delta-bench synth --old DIR --new DIR [--megabytes N] [--seed N]
//       writes two versions of a synthetic H5 package (synthetic_package.hpp).
#include "directory_sink.hpp"
#include "synthetic_package.hpp"

#include "cli/command_line.hpp"
#include "core/delta/delta.hpp"
#include "core/json/json.hpp"
#include "core/manifest/manifest.hpp"
#include "io/file_io.hpp"
#include "io/mapped_file.hpp"
#include "io/package_tree.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

extern char **environ;

namespace mds::bench {
namespace {

namespace delta = core::delta;
using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Result<std::uint64_t> parse_number(const cli::CommandLine &line, const std::string &name, std::uint64_t fallback) {
  const auto text = line.value(name);
  if (!text) {
    return fallback;
  }
  std::uint64_t value = 0;
  const char *end = text->data() + text->size();
  if (const auto [at, error] = std::from_chars(text->data(), end, value); error == std::errc() && at == end) {
    return value;
  }
  return make_error(ErrorCode::InvalidArgument, "--" + name + " takes a number, not \"" + *text + "\"");
}

// A line of /proc/self/status ("VmHWM:    1234 kB") in KiB; 0 when absent.
std::uint64_t proc_status_kib(const std::string &status, const std::string &key) {
  const std::size_t at = status.find("\n" + key + ":");
  if (at == std::string::npos) {
    return 0;
  }
  return std::strtoull(status.c_str() + at + key.size() + 2, nullptr, 10);
}

std::string proc_status() {
  auto text = io::read_file("/proc/self/status", 1 << 20);
  return text ? "\n" + *text : std::string();
}

core::Manifest manifest_of(std::vector<core::ManifestFile> files, const std::string &version) {
  core::Manifest manifest;
  manifest.app = "bench.delta";
  manifest.kind = core::PackageKind::Offline;
  manifest.package_id = "bench";
  manifest.version = version;
  manifest.created = "2026-01-01T00:00:00Z";
  manifest.files = std::move(files);
  return manifest;
}

Result<core::Manifest> read_manifest(const std::string &path) {
  auto text = io::read_file(path, core::kMaxManifestBytes);
  if (!text) {
    return std::move(text).error();
  }
  return core::decode(*text);
}

// Every file of a tree, mapped on first use and kept until the encoder is done.
class TreeBytes {
public:
  explicit TreeBytes(std::filesystem::path root) : root_(std::move(root)) {}
  delta::FileBytesFn function() {
    return [this](const core::ManifestFile &file) -> Result<core::crypto::ByteView> {
      auto found = mapped_.find(file.path);
      if (found == mapped_.end()) {
        auto mapped = io::MappedFile::open(root_ / file.path);
        if (!mapped) {
          return std::move(mapped).error();
        }
        found = mapped_.emplace(file.path, std::move(*mapped)).first;
      }
      return found->second.bytes();
    };
  }

private:
  std::filesystem::path root_;
  std::map<std::string, io::MappedFile> mapped_;
};

// ---- apply (the child) ----

const cli::OptionSpec kApplyOptions{{"base", "base-manifest", "target-manifest", "delta", "out", "max-window-log"}, {}};

Result<std::string> apply_command(const cli::CommandLine &line) {
  if (Status s = line.require({"base", "target-manifest", "delta", "out"}); !s) {
    return std::move(s).error();
  }
  const std::uint64_t start_rss_kib = proc_status_kib(proc_status(), "VmRSS");
  auto window = parse_number(line, "max-window-log", delta::kDefaultMaxWindowLog);
  if (!window) {
    return std::move(window).error();
  }
  core::Manifest base; // no files: the empty base, a full download
  if (const auto path = line.value("base-manifest")) {
    auto read = read_manifest(*path);
    if (!read) {
      return std::move(read).error();
    }
    base = std::move(*read);
  }
  auto target = read_manifest(*line.value("target-manifest"));
  if (!target) {
    return std::move(target).error();
  }

  const std::string delta_path = *line.value("delta");
  const int fd = ::open(delta_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return io::error_from_errno(errno, "open", delta_path);
  }
  DirectorySink sink(*line.value("base"), *line.value("out"));
  delta::DecodeOptions options;
  options.max_window_log = static_cast<unsigned>(*window);
  delta::DeltaReader reader(base, *target, sink, options);
  std::size_t codec_peak = 0;
  sink.on_write([&] { codec_peak = std::max(codec_peak, reader.codec_memory()); });

  const Clock::time_point started = Clock::now();
  std::uint64_t delta_bytes = 0;
  std::vector<std::uint8_t> buffer(64 * 1024); // a download arrives in pieces like these
  Status status;
  for (;;) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      status = io::error_from_errno(errno, "read", delta_path);
      break;
    }
    if (got == 0) {
      status = reader.finish();
      break;
    }
    delta_bytes += static_cast<std::uint64_t>(got);
    status = reader.feed(core::crypto::ByteView(buffer.data(), static_cast<std::size_t>(got)));
    if (!status) {
      break;
    }
  }
  ::close(fd);
  const double apply_ms = milliseconds_since(started);
  const std::string status_text = proc_status();
  if (!status) {
    return std::move(status).error();
  }

  // The reader verified every file as it closed it; check the tree as a whole once more
  // (nothing missing, nothing extra) the way a device checks an installed tree.
  auto written = io::describe_tree(*line.value("out"));
  if (!written) {
    return std::move(written).error();
  }
  if (*written != target->files) {
    return make_error(ErrorCode::FileHashMismatch, "the applied tree differs from the target manifest");
  }
  return core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("delta_bytes");
    w.Uint64(delta_bytes);
    w.Key("apply_ms");
    w.Double(apply_ms);
    w.Key("start_rss_kib");
    w.Uint64(start_rss_kib);
    w.Key("peak_rss_kib");
    w.Uint64(proc_status_kib(status_text, "VmHWM"));
    w.Key("codec_peak_bytes");
    w.Uint64(codec_peak);
    w.Key("references_held_max");
    w.Uint64(sink.most_references_held());
    w.Key("files");
    w.Uint64(written->size());
    w.EndObject();
  });
}

// ---- run (the parent) ----

struct ApplyReport {
  double apply_ms = 0;
  std::uint64_t start_rss_kib = 0;
  // VmHWM, read by the child itself. Not the parent's getrusage: posix_spawn runs the
  // child in the parent's memory until exec, and Linux then counts the parent's peak as
  // the child's ru_maxrss.
  std::uint64_t peak_rss_kib = 0;
  std::uint64_t codec_peak_bytes = 0;
};

Result<std::string> self_path() {
  std::string path(4096, '\0');
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length < 0) {
    return io::error_from_errno(errno, "readlink", "/proc/self/exe");
  }
  path.resize(static_cast<std::size_t>(length));
  return path;
}

// Runs `apply` in a fresh process, so that its peak memory is the apply's alone.
Result<ApplyReport> spawn_apply(const std::vector<std::string> &arguments, const std::filesystem::path &report) {
  auto exe = self_path();
  if (!exe) {
    return std::move(exe).error();
  }
  std::vector<std::string> all = {*exe, "apply"};
  all.insert(all.end(), arguments.begin(), arguments.end());
  std::vector<char *> argv;
  for (std::string &argument : all) {
    argv.push_back(argument.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, report.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t child = 0;
  const int spawned = ::posix_spawn(&child, exe->c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return io::error_from_errno(spawned, "posix_spawn", *exe);
  }
  int wait_status = 0;
  while (::waitpid(child, &wait_status, 0) < 0) {
    if (errno != EINTR) {
      return io::error_from_errno(errno, "waitpid", *exe);
    }
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return make_error(ErrorCode::Internal, "the apply process failed (its error is above)");
  }
  auto text = io::read_file(report, 1 << 20);
  if (!text) {
    return std::move(text).error();
  }
  auto document = core::json::parse(*text);
  if (!document) {
    return std::move(document).error();
  }
  auto object = core::json::ObjectReader::of(document->root(), "apply report");
  if (!object) {
    return std::move(object).error();
  }
  ApplyReport parsed;
  const core::json::Value *ms = object->find("apply_ms");
  parsed.apply_ms = ms != nullptr && ms->IsNumber() ? ms->GetDouble() : 0;
  auto start = object->uint64("start_rss_kib");
  auto peak = object->uint64("peak_rss_kib");
  auto codec = object->uint64("codec_peak_bytes");
  if (!start || !peak || !codec) {
    return make_error(ErrorCode::Internal, "the apply report lacks a field: " + *text);
  }
  parsed.start_rss_kib = *start;
  parsed.peak_rss_kib = *peak;
  parsed.codec_peak_bytes = *codec;
  return parsed;
}

struct Encoded {
  std::uint64_t bytes = 0;
  double encode_ms = 0;
  ApplyReport apply;
};

std::uint64_t total_size(const core::Manifest &manifest) {
  std::uint64_t total = 0;
  for (const auto &file : manifest.files) {
    total += file.size;
  }
  return total;
}

const cli::OptionSpec kRunOptions{{"work", "level", "max-window-log"}, {"json"}};

Result<std::string> run_command(const cli::CommandLine &line) {
  if (line.positionals.size() != 3) {
    return make_error(ErrorCode::InvalidArgument, "run takes OLD and NEW directories");
  }
  if (Status s = line.require({"work"}); !s) {
    return std::move(s).error();
  }
  auto level = parse_number(line, "level", 19);
  auto window = parse_number(line, "max-window-log", delta::kDefaultMaxWindowLog);
  if (!level || !window) {
    return make_error(ErrorCode::InvalidArgument, "--level and --max-window-log take numbers");
  }
  const std::filesystem::path old_root = line.positionals[1];
  const std::filesystem::path new_root = line.positionals[2];
  const std::filesystem::path work = *line.value("work");
  std::error_code error;
  std::filesystem::create_directories(work, error);
  if (error) {
    return io::error_from_errno(error.value(), "mkdir", work);
  }

  auto old_files = io::describe_tree(old_root);
  if (!old_files) {
    return std::move(old_files).error();
  }
  auto new_files = io::describe_tree(new_root);
  if (!new_files) {
    return std::move(new_files).error();
  }
  const core::Manifest base = manifest_of(std::move(*old_files), "1");
  const core::Manifest target = manifest_of(std::move(*new_files), "2");
  for (const auto &[path, manifest] :
       {std::pair{work / "base.json", &base}, std::pair{work / "target.json", &target}}) {
    if (Status s = core::validate(*manifest); !s) {
      return std::move(s).error();
    }
    if (Status s = io::write_file_atomically(path, core::encode(*manifest)); !s) {
      return std::move(s).error();
    }
  }

  // What the plan chose.
  std::map<std::string, std::uint64_t> plan_counts;
  for (const delta::PlanEntry &entry : delta::plan_delta(base, target)) {
    const char *kind = entry.implied()                                  ? "implied_copy"
                       : entry.source == delta::PlanEntry::Source::Copy ? "copy"
                       : !entry.base                                    ? "frame_no_reference"
                       : entry.base->path == entry.target.path          ? "frame_same_path"
                                                                        : "frame_other_path";
    ++plan_counts[kind];
  }

  delta::EncodeOptions options;
  options.compression_level = static_cast<int>(*level);
  options.max_window_log = static_cast<unsigned>(*window);
  Encoded results[2];
  // What the delta spends on its header and entry heads (docs/delta.md) rather than frames.
  delta::EncodeStats stats;
  const core::Manifest empty;
  const char *const names[2] = {"delta", "full"};
  for (int i = 0; i < 2; ++i) {
    const core::Manifest &from = i == 0 ? base : empty;
    TreeBytes base_bytes(old_root);
    TreeBytes target_bytes(new_root);
    options.stats = i == 0 ? &stats : nullptr;
    const Clock::time_point started = Clock::now();
    auto encoded = delta::encode_delta(from, base_bytes.function(), target, target_bytes.function(), options);
    if (!encoded) {
      return std::move(encoded).error();
    }
    results[i].encode_ms = milliseconds_since(started);
    results[i].bytes = encoded->size();
    const std::filesystem::path file = work / (std::string(names[i]) + ".bin");
    if (Status s = io::write_file_atomically(
            file, std::string_view(reinterpret_cast<const char *>(encoded->data()), encoded->size()));
        !s) {
      return std::move(s).error();
    }
  }
  for (int i = 0; i < 2; ++i) {
    const std::filesystem::path out = work / (std::string("out-") + names[i]);
    std::filesystem::remove_all(out, error);
    std::vector<std::string> arguments = {"--base",
                                          old_root.string(),
                                          "--target-manifest",
                                          (work / "target.json").string(),
                                          "--delta",
                                          (work / (std::string(names[i]) + ".bin")).string(),
                                          "--out",
                                          out.string(),
                                          "--max-window-log",
                                          std::to_string(*window)};
    if (i == 0) {
      arguments.push_back("--base-manifest");
      arguments.push_back((work / "base.json").string());
    }
    auto report = spawn_apply(arguments, work / (std::string("apply-") + names[i] + ".json"));
    if (!report) {
      return std::move(report).error();
    }
    results[i].apply = *report;
    std::filesystem::remove_all(out, error);
  }

  if (line.has_switch("json")) {
    return core::json::write([&](core::json::Writer &w) {
      w.StartObject();
      w.Key("old_files");
      w.Uint64(base.files.size());
      w.Key("old_bytes");
      w.Uint64(total_size(base));
      w.Key("new_files");
      w.Uint64(target.files.size());
      w.Key("new_bytes");
      w.Uint64(total_size(target));
      w.Key("level");
      w.Uint64(*level);
      w.Key("header_bytes");
      w.Uint64(stats.header_bytes);
      w.Key("entry_head_bytes");
      w.Uint64(stats.entry_head_bytes);
      w.Key("frame_entries");
      w.Uint64(stats.frame_entries);
      w.Key("frame_bytes");
      w.Uint64(stats.frame_bytes);
      w.Key("patch_entries");
      w.Uint64(stats.patch_entries);
      w.Key("patch_bytes");
      w.Uint64(stats.patch_bytes);
      w.Key("plan");
      w.StartObject();
      for (const auto &[kind, count] : plan_counts) {
        w.Key(kind.c_str());
        w.Uint64(count);
      }
      w.EndObject();
      for (int i = 0; i < 2; ++i) {
        w.Key(names[i]);
        w.StartObject();
        w.Key("bytes");
        w.Uint64(results[i].bytes);
        w.Key("encode_ms");
        w.Double(results[i].encode_ms);
        w.Key("apply_ms");
        w.Double(results[i].apply.apply_ms);
        w.Key("start_rss_kib");
        w.Uint64(results[i].apply.start_rss_kib);
        w.Key("peak_rss_kib");
        w.Uint64(results[i].apply.peak_rss_kib);
        w.Key("codec_peak_bytes");
        w.Uint64(results[i].apply.codec_peak_bytes);
        w.EndObject();
      }
      w.EndObject();
    });
  }
  std::ostringstream text;
  text << "old: " << base.files.size() << " files, " << total_size(base) << " B\n"
       << "new: " << target.files.size() << " files, " << total_size(target) << " B\n"
       << "plan:";
  for (const auto &[kind, count] : plan_counts) {
    text << " " << kind << "=" << count;
  }
  text << "\ndelta header " << stats.header_bytes << " B, entry heads " << stats.entry_head_bytes << " B, "
       << stats.frame_entries << " frames " << stats.frame_bytes << " B, " << stats.patch_entries << " patches "
       << stats.patch_bytes << " B\n";
  for (int i = 0; i < 2; ++i) {
    const Encoded &r = results[i];
    text << names[i] << ": " << r.bytes << " B, encode " << r.encode_ms << " ms, apply " << r.apply.apply_ms
         << " ms, peak RSS " << r.apply.peak_rss_kib << " KiB (at start " << r.apply.start_rss_kib
         << " KiB), zstd decoder heap peak " << r.apply.codec_peak_bytes << " B\n";
  }
  return text.str();
}

// ---- synth ----

const cli::OptionSpec kSynthOptions{{"old", "new", "megabytes", "seed"}, {}};

Result<std::string> synth_command(const cli::CommandLine &line) {
  if (Status s = line.require({"old", "new"}); !s) {
    return std::move(s).error();
  }
  auto megabytes = parse_number(line, "megabytes", 100);
  auto seed = parse_number(line, "seed", 1);
  if (!megabytes || !seed) {
    return make_error(ErrorCode::InvalidArgument, "--megabytes and --seed take numbers");
  }
  if (Status s = write_synthetic_package_pair(*line.value("old"), *line.value("new"), *megabytes * 1000 * 1000, *seed);
      !s) {
    return std::move(s).error();
  }
  return std::string("wrote ") + *line.value("old") + " and " + *line.value("new") + "\n";
}

int main_with(const std::vector<std::string> &args) {
  const std::string command = args.empty() ? "" : args[0];
  const cli::OptionSpec *spec = command == "run"     ? &kRunOptions
                                : command == "apply" ? &kApplyOptions
                                : command == "synth" ? &kSynthOptions
                                                     : nullptr;
  if (spec == nullptr) {
    std::cerr << "usage: mds-delta-bench run OLD NEW --work DIR [--level N] [--max-window-log N] [--json]\n"
                 "       mds-delta-bench synth --old DIR --new DIR [--megabytes N] [--seed N]\n"
                 "       mds-delta-bench apply --base DIR [--base-manifest F] --target-manifest F --delta F "
                 "--out DIR [--max-window-log N]\n";
    return 2;
  }
  auto line = cli::parse_command_line(args, *spec);
  Result<std::string> output = line ? (command == "run"     ? run_command(*line)
                                       : command == "apply" ? apply_command(*line)
                                                            : synth_command(*line))
                                    : Result<std::string>(line.error());
  if (!output) {
    std::cerr << "mds-delta-bench " << command << ": " << describe(output.error()) << "\n";
    return 1;
  }
  std::cout << *output << (output->empty() || output->back() == '\n' ? "" : "\n");
  return 0;
}

} // namespace
} // namespace mds::bench

int main(int argc, char **argv) {
  return mds::bench::main_with(std::vector<std::string>(argv + 1, argv + argc));
}
