#include "server/client/answer_memo.hpp"

namespace mds::server::client {

namespace {

void put_number(char *at, std::int64_t number) {
  for (std::size_t i = 0; i < sizeof number; ++i) {
    at[i] = static_cast<char>(static_cast<std::uint64_t>(number) >> (8 * i));
  }
}

} // namespace

void DecisionKey::add(std::int64_t number) {
  char bytes[sizeof number];
  put_number(bytes, number);
  bytes_.append(bytes, sizeof bytes);
}

void DecisionKey::add(const std::vector<std::int64_t> &numbers) {
  add(static_cast<std::int64_t>(numbers.size()));
  // Written in place: a check adds the ids of every release its device is eligible for.
  auto at = bytes_.size();
  bytes_.resize(at + numbers.size() * sizeof(std::int64_t));
  for (const auto number : numbers) {
    put_number(&bytes_[at], number);
    at += sizeof number;
  }
}

void DecisionKey::add(std::string_view text) {
  add(static_cast<std::int64_t>(text.size()));
  bytes_.append(text.data(), text.size());
}

namespace {

std::size_t cost(const std::string &key, const CheckAnswer &answer) {
  return key.size() + answer.with_config->size() + answer.without_config->size() + answer.etag.size() +
         answer.offered_packages.size() * sizeof(std::int64_t);
}

} // namespace

std::shared_ptr<const CheckAnswer> AnswerMemo::find(const std::string &app,
                                                    const std::shared_ptr<const targeting::AppInputs> &inputs,
                                                    const std::string &key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = apps_.find(app);
  if (found == apps_.end() || found->second.inputs != inputs) {
    return nullptr;
  }
  auto answer = found->second.answers.find(key);
  return answer != found->second.answers.end() ? answer->second : nullptr;
}

void AnswerMemo::remember(const std::string &app, const std::shared_ptr<const targeting::AppInputs> &inputs,
                          std::string key, std::shared_ptr<const CheckAnswer> answer) {
  const auto added = cost(key, *answer);
  if (added > max_bytes_) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto &slot = apps_[app];
  if (slot.inputs != inputs) {
    // Other inputs replace the kept ones. A check that read its inputs just before a
    // change may bring the older ones back for a moment: find() only ever answers under
    // the very inputs an answer was written from, so that costs a rewrite, never a wrong
    // answer.
    for (const auto &[old_key, old_answer] : slot.answers) {
      bytes_ -= cost(old_key, *old_answer);
    }
    count_ -= slot.answers.size();
    slot.answers.clear();
    slot.inputs = inputs;
  }
  if (bytes_ + added > max_bytes_) {
    for (auto &[name, other] : apps_) {
      other.answers.clear();
    }
    bytes_ = 0;
    count_ = 0;
  }
  if (slot.answers.emplace(std::move(key), std::move(answer)).second) {
    bytes_ += added;
    ++count_;
  }
}

std::size_t AnswerMemo::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_;
}

std::size_t AnswerMemo::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

} // namespace mds::server::client
