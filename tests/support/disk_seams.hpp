// Two uses of the SDK's file-system seam (sdk/io/seam.hpp) for tests:
//
//   FailingDisk       fails operation number k with ENOSPC or EIO (SECURITY.md #20)
//   PowerCutRecorder  follows what is durable and what is not, and keeps an image of what
//                     a power cut would leave on disk before every operation (#19)
//
// Both note every operation on a path outside the root they watch, so a test also proves
// that nothing was written outside the state directory. Install one with SeamInstalled.
#ifndef MDS_TESTS_SUPPORT_DISK_SEAMS_HPP
#define MDS_TESTS_SUPPORT_DISK_SEAMS_HPP

#include "io/seam.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mds::test {

// Installs a seam for its lifetime.
class SeamInstalled {
public:
  explicit SeamInstalled(io::FileSystemSeam &seam) { io::set_file_system_seam(&seam); }
  ~SeamInstalled() { io::set_file_system_seam(nullptr); }
  SeamInstalled(const SeamInstalled &) = delete;
  SeamInstalled &operator=(const SeamInstalled &) = delete;
};

// `path` relative to `root` ("" for the root itself), or nullopt when it lies outside.
inline std::optional<std::string> path_below(const std::filesystem::path &root, const std::filesystem::path &path) {
  const auto relative = path.lexically_normal().lexically_relative(root.lexically_normal());
  const std::string text = relative.generic_string();
  if (relative.empty() || text == ".." || text.rfind("../", 0) == 0) {
    return std::nullopt;
  }
  return text == "." ? std::string() : text;
}

inline std::string describe_event(const io::FileEvent &event) {
  std::string text = std::string(io::to_string(event.operation)) + " " + event.path.string();
  if (event.target != nullptr) {
    text += " -> " + event.target->string();
  }
  return text;
}

class FailingDisk final : public io::FileSystemSeam {
public:
  // Fails the `fail_at`-th operation (1-based) with `error_number`; 0 fails none.
  FailingDisk(std::filesystem::path root, std::uint64_t fail_at, int error_number)
      : root_(std::move(root)), fail_at_(fail_at), error_number_(error_number) {}

  int before(const io::FileEvent &event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    note_outside(event);
    if (++count_ == fail_at_) {
      failed_ = describe_event(event);
      failed_operation_ = event.operation;
      return error_number_;
    }
    return 0;
  }
  void after(const io::FileEvent &) override {}

  std::uint64_t operations() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  // The operation that was failed, once it was reached.
  std::optional<std::string> failed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
  }
  std::optional<io::FileOperation> failed_operation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_operation_;
  }
  std::vector<std::string> outside() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return outside_;
  }

private:
  void note_outside(const io::FileEvent &event) {
    if (!path_below(root_, event.path) || (event.target != nullptr && !path_below(root_, *event.target))) {
      outside_.push_back(describe_event(event));
    }
  }

  const std::filesystem::path root_;
  const std::uint64_t fail_at_;
  const int error_number_;
  mutable std::mutex mutex_;
  std::uint64_t count_ = 0;
  std::optional<std::string> failed_;
  std::optional<io::FileOperation> failed_operation_;
  std::vector<std::string> outside_;
};

// The model (POSIX's promises, taken at their weakest):
//   - a file's bytes are durable as they were at its last fsync; never fsynced: empty;
//   - a change of a directory's entries (create, mkdir, rename, remove) is durable once
//     that directory is fsynced; a rename, one atomic step, once either directory is.
// Before every operation, and at capture(), the recorder keeps the disk as a power cut
// would leave it under two readings of that model:
//   - Dropped: every entry change and every byte not yet durable is lost;
//   - MetadataFirst: every entry change reached the disk, in order, but bytes only where
//     fsynced (renames and creations reordered ahead of the data they name).
// An image equal to the one before it (of the same reading) is not kept again, so the
// images are the distinct states: one per sync point and per SQLite commit in between.
// Files the seam never sees (`raw`: SQLite's database and WAL, which SQLite makes durable
// itself at each commit) are copied as they are at that instant.
class PowerCutRecorder final : public io::FileSystemSeam {
public:
  enum class Reading { Dropped, MetadataFirst };

  struct Image {
    Reading reading = Reading::Dropped;
    std::string label; // the operation it precedes
    std::set<std::string> directories;
    std::map<std::string, std::shared_ptr<const std::string>> files; // relative path -> bytes
  };

  // What is under `root` now is taken as durable (so the state before the install
  // should be synced); `raw` names files directly under it that are copied, not followed.
  PowerCutRecorder(std::filesystem::path root, std::set<std::string> raw)
      : root_(std::move(root)), raw_(std::move(raw)), empty_(std::make_shared<const std::string>()) {
    nodes_.push_back({true, nullptr}); // the root
    live_[""] = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const std::string relative = *path_below(root_, it->path());
      if (raw_.count(relative) != 0) {
        continue;
      }
      const bool directory = it->is_directory();
      const Id id = add_node(directory);
      if (!directory) {
        nodes_[id].synced = std::make_shared<const std::string>(read(it->path()));
      }
      live_[relative] = id;
      start_[live_.at(parent_of(relative))][name_of(relative)] = id;
    }
  }

  int before(const io::FileEvent &event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    if (!path_below(root_, event.path) || (event.target != nullptr && !path_below(root_, *event.target))) {
      outside_.push_back(describe_event(event));
    }
    capture_locked("before " + describe_event(event) + " (operation " + std::to_string(count_) + ")");
    return 0;
  }

  void after(const io::FileEvent &event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto relative = path_below(root_, event.path);
    if (!relative) {
      return;
    }
    switch (event.operation) {
    case io::FileOperation::CreateFile:
    case io::FileOperation::MakeDirectory:
      if (live_.count(*relative) == 0) {
        const Id parent = lookup(parent_of(*relative), event);
        if (parent != kNone) {
          const Id id = add_node(event.operation == io::FileOperation::MakeDirectory);
          live_[*relative] = id;
          changes_.push_back({Change::Link, id, kNone, "", parent, name_of(*relative), false});
        }
      }
      break;
    case io::FileOperation::SyncFile:
      if (const Id id = lookup(*relative, event); id != kNone) {
        nodes_[id].synced = std::make_shared<const std::string>(read(event.path));
      }
      break;
    case io::FileOperation::SyncDirectory:
      if (const Id id = lookup(*relative, event); id != kNone) {
        for (auto &change : changes_) {
          change.pinned = change.pinned || change.from == id || change.to == id;
        }
      }
      break;
    case io::FileOperation::Rename: {
      const auto target = path_below(root_, *event.target);
      const Id id = lookup(*relative, event);
      const Id from = lookup(parent_of(*relative), event);
      const Id to = target ? lookup(parent_of(*target), event) : kNone;
      if (id == kNone || from == kNone || to == kNone) {
        break;
      }
      forget(*target);
      std::map<std::string, Id> moved;
      for (auto it = live_.begin(); it != live_.end();) {
        if (it->first == *relative || it->first.rfind(*relative + "/", 0) == 0) {
          moved[*target + it->first.substr(relative->size())] = it->second;
          it = live_.erase(it);
        } else {
          ++it;
        }
      }
      live_.insert(moved.begin(), moved.end());
      changes_.push_back({Change::Move, id, from, name_of(*relative), to, name_of(*target), false});
      break;
    }
    case io::FileOperation::Remove: {
      const Id id = lookup(*relative, event);
      const Id from = lookup(parent_of(*relative), event);
      if (id != kNone && from != kNone) {
        forget(*relative);
        changes_.push_back({Change::Unlink, id, from, name_of(*relative), kNone, "", false});
      }
      break;
    }
    case io::FileOperation::Write:
    case io::FileOperation::Truncate:
      break; // bytes count only once fsynced
    }
  }

  // Images of the disk now; call it while no operation runs (the final state).
  void capture(const std::string &label) {
    std::lock_guard<std::mutex> lock(mutex_);
    capture_locked(label);
  }

  std::vector<Image> images() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return images_;
  }
  std::uint64_t operations() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  std::vector<std::string> outside() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return outside_;
  }
  // Operations on a path below the root whose directory the recorder never saw made:
  // something wrote there without the seam. A test requires none.
  std::vector<std::string> unmodelled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return unmodelled_;
  }

  // Lays `image` out in `directory` (created).
  static void write_image(const Image &image, const std::filesystem::path &directory) {
    std::filesystem::create_directories(directory);
    for (const auto &relative : image.directories) {
      std::filesystem::create_directories(directory / relative);
    }
    for (const auto &[relative, bytes] : image.files) {
      std::ofstream(directory / relative, std::ios::binary)
          .write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    }
  }

private:
  using Id = std::size_t;
  static constexpr Id kNone = static_cast<Id>(-1);

  struct Node {
    bool directory = false;
    std::shared_ptr<const std::string> synced; // bytes at the last fsync; null: empty
  };
  struct Change {
    enum Kind { Link, Unlink, Move } kind;
    Id node;
    Id from; // Unlink, Move: the directory it left
    std::string from_name;
    Id to; // Link, Move: the directory it entered
    std::string to_name;
    bool pinned; // made durable by an fsync of `from` or `to`
  };

  static std::string parent_of(const std::string &relative) {
    const auto slash = relative.rfind('/');
    return slash == std::string::npos ? std::string() : relative.substr(0, slash);
  }
  static std::string name_of(const std::string &relative) {
    const auto slash = relative.rfind('/');
    return slash == std::string::npos ? relative : relative.substr(slash + 1);
  }
  static std::string read(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  Id add_node(bool directory) {
    nodes_.push_back({directory, nullptr});
    return nodes_.size() - 1;
  }

  Id lookup(const std::string &relative, const io::FileEvent &event) {
    auto found = live_.find(relative);
    if (found == live_.end()) {
      unmodelled_.push_back(describe_event(event));
      return kNone;
    }
    return found->second;
  }

  // Drops `relative` and everything below it from the live names.
  void forget(const std::string &relative) {
    for (auto it = live_.begin(); it != live_.end();) {
      if (it->first == relative || it->first.rfind(relative + "/", 0) == 0) {
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
  }

  Image build(Reading reading, const std::string &label) {
    auto entries = start_;
    for (const auto &change : changes_) {
      if (reading == Reading::Dropped && !change.pinned) {
        continue;
      }
      if (change.kind != Change::Link) {
        auto &from = entries[change.from];
        if (auto found = from.find(change.from_name); found != from.end() && found->second == change.node) {
          from.erase(found);
        }
      }
      if (change.kind != Change::Unlink) {
        entries[change.to][change.to_name] = change.node;
      }
    }
    Image image;
    image.reading = reading;
    image.label = label;
    std::set<Id> seen{0};
    std::vector<std::pair<Id, std::string>> pending{{0, ""}};
    while (!pending.empty()) {
      const auto [directory, prefix] = pending.back();
      pending.pop_back();
      for (const auto &[name, id] : entries[directory]) {
        if (!seen.insert(id).second) {
          continue; // one inode, one name
        }
        const std::string relative = prefix.empty() ? name : prefix + "/" + name;
        if (nodes_[id].directory) {
          image.directories.insert(relative);
          pending.emplace_back(id, relative);
        } else {
          image.files[relative] = nodes_[id].synced ? nodes_[id].synced : empty_;
        }
      }
    }
    for (const auto &name : raw_) {
      std::error_code ec;
      if (!std::filesystem::exists(root_ / name, ec)) {
        continue;
      }
      auto bytes = read(root_ / name);
      auto &last = raw_bytes_[name];
      if (!last || *last != bytes) {
        last = std::make_shared<const std::string>(std::move(bytes));
      }
      image.files[name] = last;
    }
    return image;
  }

  static bool same(const Image &a, const Image &b) {
    if (a.directories != b.directories || a.files.size() != b.files.size()) {
      return false;
    }
    for (auto x = a.files.begin(), y = b.files.begin(); x != a.files.end(); ++x, ++y) {
      if (x->first != y->first || (x->second != y->second && *x->second != *y->second)) {
        return false;
      }
    }
    return true;
  }

  void capture_locked(const std::string &label) {
    for (const auto reading : {Reading::Dropped, Reading::MetadataFirst}) {
      Image image = build(reading, label);
      auto &last = last_[reading == Reading::Dropped ? 0 : 1];
      if (last && same(images_[*last], image)) {
        continue;
      }
      last = images_.size();
      images_.push_back(std::move(image));
    }
  }

  const std::filesystem::path root_;
  const std::set<std::string> raw_;
  const std::shared_ptr<const std::string> empty_;
  mutable std::mutex mutex_;
  std::vector<Node> nodes_;
  std::map<std::string, Id> live_;                // the names as the kernel sees them now
  std::map<Id, std::map<std::string, Id>> start_; // the durable entries at the start
  std::vector<Change> changes_;
  std::map<std::string, std::shared_ptr<const std::string>> raw_bytes_;
  std::vector<Image> images_;
  std::optional<std::size_t> last_[2];
  std::uint64_t count_ = 0;
  std::vector<std::string> outside_;
  std::vector<std::string> unmodelled_;
};

} // namespace mds::test

#endif
