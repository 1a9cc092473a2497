// The memo of /v1/check answers by decision key: kept per app and per inputs, bounded.
#include "server/client/answer_memo.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using mds::server::client::AnswerMemo;
using mds::server::client::CheckAnswer;
using mds::server::client::DecisionKey;
using mds::server::targeting::AppInputs;

namespace {

std::shared_ptr<const CheckAnswer> answer(const std::string &text) {
  auto made = std::make_shared<CheckAnswer>();
  made->with_config = std::make_shared<const std::string>(text);
  made->without_config = std::make_shared<const std::string>(text.substr(0, text.size() / 2));
  made->etag = "\"" + text + "\"";
  made->offered_packages = {1, 2};
  return made;
}

std::string key_of(const std::vector<std::string> &texts) {
  DecisionKey key;
  for (const auto &text : texts) {
    key.add(text);
  }
  return key.release();
}

} // namespace

TEST_CASE("decision keys of different fields never collide", "[client][memo]") {
  // Cases as data: pairs of field sequences that a plain concatenation would confuse.
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"ab", "c"}, {"a", "bc"}},
      {{"", "x"}, {"x", ""}},
      {{"abc"}, {"abc", ""}},
      {{"1.0.0"}, {"1.0.00"}},
  };
  for (const auto &[a, b] : cases) {
    CHECK(key_of(a) != key_of(b));
  }
  DecisionKey numbers;
  numbers.add(std::int64_t{1});
  numbers.add(std::int64_t{256});
  DecisionKey other;
  other.add(std::int64_t{256});
  other.add(std::int64_t{1});
  CHECK(numbers.bytes() != other.bytes());
  CHECK(key_of({"same", "fields"}) == key_of({"same", "fields"}));
}

TEST_CASE("an answer is found under its own key and inputs only", "[client][memo]") {
  AnswerMemo memo;
  auto inputs = std::make_shared<const AppInputs>();
  auto newer = std::make_shared<const AppInputs>();
  CHECK(memo.find("demo", inputs, "k1") == nullptr);

  memo.remember("demo", inputs, "k1", answer("one"));
  memo.remember("demo", inputs, "k2", answer("two"));
  REQUIRE(memo.find("demo", inputs, "k1") != nullptr);
  CHECK(*memo.find("demo", inputs, "k1")->with_config == "one");
  CHECK(*memo.find("demo", inputs, "k2")->with_config == "two");
  CHECK(memo.find("demo", inputs, "k3") == nullptr);
  CHECK(memo.find("other", inputs, "k1") == nullptr);
  CHECK(memo.size() == 2);

  // Newer inputs (an operator change): nothing written from the older ones is answered,
  // and the first answer under the newer inputs drops them.
  CHECK(memo.find("demo", newer, "k1") == nullptr);
  memo.remember("demo", newer, "k1", answer("one, changed"));
  CHECK(*memo.find("demo", newer, "k1")->with_config == "one, changed");
  CHECK(memo.find("demo", inputs, "k1") == nullptr);
  CHECK(memo.find("demo", newer, "k2") == nullptr);
  CHECK(memo.size() == 1);

  // Apps keep their answers apart.
  memo.remember("other", inputs, "k1", answer("other app"));
  CHECK(*memo.find("other", inputs, "k1")->with_config == "other app");
  CHECK(*memo.find("demo", newer, "k1")->with_config == "one, changed");
}

TEST_CASE("the memo stays within its byte bound", "[client][memo]") {
  const std::string text(100, 'x');
  AnswerMemo memo(1000);
  auto inputs = std::make_shared<const AppInputs>();
  for (int i = 0; i < 50; ++i) {
    memo.remember("demo", inputs, "key-" + std::to_string(i), answer(text));
    CHECK(memo.bytes() <= 1000);
  }
  CHECK(memo.size() > 0);
  CHECK(memo.size() < 50);
  // The latest answer is always kept.
  CHECK(memo.find("demo", inputs, "key-49") != nullptr);

  // An answer larger than the whole bound is not kept at all.
  memo.remember("demo", inputs, "huge", answer(std::string(2000, 'y')));
  CHECK(memo.find("demo", inputs, "huge") == nullptr);
  CHECK(memo.bytes() <= 1000);
}
