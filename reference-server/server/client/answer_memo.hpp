// /v1/check answers kept per decision key, so that devices the rules treat alike share one
// serialized answer and its ETag instead of writing and hashing 10 KiB of JSON each.
//
// An answer is a function of the app's inputs (releases, config, packages: AppInputs,
// replaced whenever Storage::change_count() moves) and of what one device's check decided
// under them: which releases it is eligible for, which variant each config key with
// variants chose, and what the offers depend on (the device's app version and installed
// packages). The decision key is exactly that second part; the inputs are the generation
// the kept answers belong to. A check still decides every release for its device (so
// time-window places are taken and the decisions are the device's own) and still counts
// what it offers: only the writing of the answer and its hash are shared.
#ifndef MDS_SERVER_CLIENT_ANSWER_MEMO_HPP
#define MDS_SERVER_CLIENT_ANSWER_MEMO_HPP

#include "server/targeting/release_targeting.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mds::server::client {

// The bytes of a decision key, written field by field; every field is length-prefixed
// or of fixed size, so two different sequences of fields never give the same bytes.
class DecisionKey {
public:
  void add(std::int64_t number);
  void add(std::string_view text);
  void add(const std::vector<std::int64_t> &numbers); // the count, then each number
  void reserve(std::size_t bytes) { bytes_.reserve(bytes); }
  const std::string &bytes() const { return bytes_; }
  std::string release() { return std::move(bytes_); }

private:
  std::string bytes_;
};

// One answer as every device with its decision key gets it.
struct CheckAnswer {
  std::shared_ptr<const std::string> with_config;    // the whole answer, hashed for the ETag
  std::shared_ptr<const std::string> without_config; // for a device whose config_revision is current
  std::string etag;                                  // quoted SHA-256 of with_config
  std::vector<std::int64_t> offered_packages;        // the package releases the answer offers
};

// Thread-safe and bounded: the answers of every app together stay under `max_bytes`
// (past that, everything kept is dropped and filling starts again), and an app's answers
// are dropped as soon as a check sees newer inputs for it.
class AnswerMemo {
public:
  static constexpr std::size_t kDefaultMaxBytes = 32u << 20;
  explicit AnswerMemo(std::size_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}

  // The answer kept for `key` under these inputs of `app`, or null.
  std::shared_ptr<const CheckAnswer>
  find(const std::string &app, const std::shared_ptr<const targeting::AppInputs> &inputs, const std::string &key) const;
  // Keeps `answer` for `key` under these inputs (replacing what older inputs left).
  void remember(const std::string &app, const std::shared_ptr<const targeting::AppInputs> &inputs, std::string key,
                std::shared_ptr<const CheckAnswer> answer);

  std::size_t size() const; // answers kept, all apps
  std::size_t bytes() const;

private:
  struct AppAnswers {
    // Held, not only compared: the inputs stay alive, so their address names this
    // generation and no later one.
    std::shared_ptr<const targeting::AppInputs> inputs;
    std::unordered_map<std::string, std::shared_ptr<const CheckAnswer>> answers;
  };
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::map<std::string, AppAnswers, std::less<>> apps_;
  std::size_t bytes_ = 0;
  std::size_t count_ = 0;
};

} // namespace mds::server::client

#endif
