#include "core/json/json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <locale>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

namespace mds::core::json {
namespace {

// RapidJSON 1.1.0 converts decimal text to double wrongly in corners that later releases
// fixed: "0e93" becomes a value that differs between compilers, "9e308" becomes -2.8e-308,
// "0.000184467440737095516156" overflows its 64-bit significand, "2<300 digits>.5e97"
// reads past its table of powers of ten. So numbers reach the handler as text: RapidJSON
// still reads those that fit a 64-bit integer, and the C++ library converts the rest.

// Fits int64 (when negative) or uint64, so RapidJSON reads it as an integer.
bool is_64bit_integer(std::string_view number) {
  if (number.find_first_of(".eE") != std::string_view::npos) {
    return false;
  }
  const bool negative = number.front() == '-';
  const std::string_view digits = number.substr(negative ? 1 : 0);
  const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
  // JSON integers have no leading zeros, so longer means larger.
  return digits.size() < limit.size() || (digits.size() == limit.size() && digits <= limit);
}

// The correctly rounded double, read in the classic locale whatever locale the host app
// set. Only zero and normal doubles: the C++ libraries disagree on how to report overflow
// and underflow (libc++ fails on a subnormal result, libstdc++ returns it), so both are
// refused rather than read differently on different devices.
std::optional<double> to_double(std::string_view number) {
  std::istringstream stream{std::string(number)};
  stream.imbue(std::locale::classic());
  double value = 0;
  stream >> value;
  const bool zero_digits =
      number.substr(0, number.find_first_of("eE")).find_first_of("123456789") == std::string_view::npos;
  if (stream.fail() || !(std::isnormal(value) || (value == 0 && zero_digits))) {
    return std::nullopt;
  }
  return value;
}

// Forwards SAX events into a Document while enforcing depth and key uniqueness.
class LimitingHandler {
public:
  LimitingHandler(rapidjson::Document &target, unsigned max_depth) : target_(target), max_depth_(max_depth) {}

  bool Null() { return target_.Null(); }
  bool Bool(bool b) { return target_.Bool(b); }
  bool Int(int i) { return target_.Int(i); }
  bool Uint(unsigned u) { return target_.Uint(u); }
  bool Int64(int64_t i) { return target_.Int64(i); }
  bool Uint64(uint64_t u) { return target_.Uint64(u); }
  bool Double(double d) { return target_.Double(d); }
  // Numbers arrive as text: see is_64bit_integer.
  bool RawNumber(const char *str, rapidjson::SizeType length, bool) {
    const std::string_view text(str, length);
    if (is_64bit_integer(text)) {
      rapidjson::MemoryStream memory(str, length);
      rapidjson::Reader reader;
      return !reader.Parse(memory, target_).IsError();
    }
    const auto value = to_double(text);
    if (!value) {
      failure_ = make_error(ErrorCode::JsonValueOutOfRange, "number beyond the normal range of a double");
      return false;
    }
    return target_.Double(*value);
  }
  bool String(const char *str, rapidjson::SizeType length, bool copy) {
    return valid_utf8(str, length) && target_.String(str, length, copy);
  }

  bool StartObject() {
    if (!enter()) {
      return false;
    }
    if (frames_.size() == open_frames_) {
      frames_.emplace_back();
    }
    auto &frame = frames_[open_frames_++];
    frame.keys.clear();
    frame.spans.clear();
    return target_.StartObject();
  }
  bool Key(const char *str, rapidjson::SizeType length, bool copy) {
    if (!valid_utf8(str, length)) {
      return false;
    }
    auto &frame = frames_[open_frames_ - 1];
    const std::string_view key(str, length);
    if (frame.spans.size() < kKeysComparedAtOnce) {
      for (const auto &span : frame.spans) {
        if (frame.key(span) == key) {
          return duplicate(key);
        }
      }
    }
    frame.spans.emplace_back(frame.keys.size(), length);
    frame.keys.append(str, length);
    return target_.Key(str, length, copy);
  }
  bool EndObject(rapidjson::SizeType count) {
    auto &frame = frames_[open_frames_ - 1];
    if (frame.spans.size() > kKeysComparedAtOnce) {
      // The keys past the first few were not compared as they came: compare them all now,
      // sorted, so a large object costs n log n rather than n squared.
      auto by_text = [&frame](const KeySpan &a, const KeySpan &b) { return frame.key(a) < frame.key(b); };
      std::sort(frame.spans.begin(), frame.spans.end(), by_text);
      auto same = [&frame](const KeySpan &a, const KeySpan &b) { return frame.key(a) == frame.key(b); };
      if (auto twin = std::adjacent_find(frame.spans.begin(), frame.spans.end(), same); twin != frame.spans.end()) {
        return duplicate(frame.key(*twin));
      }
    }
    --open_frames_;
    --depth_;
    return target_.EndObject(count);
  }
  bool StartArray() { return enter() && target_.StartArray(); }
  bool EndArray(rapidjson::SizeType count) {
    --depth_;
    return target_.EndArray(count);
  }

  const std::optional<Error> &failure() const { return failure_; }

private:
  // kParseValidateEncodingFlag checks the raw bytes only. RapidJSON 1.1.0 decodes a lone
  // low-surrogate escape ("\udc00") into bytes that are not UTF-8, so decoded strings are
  // checked again; ASCII, the common case, at a glance.
  bool valid_utf8(const char *str, rapidjson::SizeType length) {
    bool ascii = true;
    for (rapidjson::SizeType i = 0; i < length; ++i) {
      ascii &= static_cast<unsigned char>(str[i]) < 0x80;
    }
    if (ascii) {
      return true;
    }
    struct Discard {
      void Put(char) {}
    } sink;
    rapidjson::MemoryStream stream(str, length);
    while (stream.Tell() < length) {
      if (!rapidjson::UTF8<>::Validate(stream, sink)) {
        failure_ = make_error(ErrorCode::JsonInvalidUtf8, "a \\u escape decodes to invalid UTF-8 (lone surrogate)");
        return false;
      }
    }
    return true;
  }

  bool duplicate(std::string_view key) {
    failure_ = make_error(ErrorCode::JsonDuplicateKey, "duplicate key \"" + std::string(key) + "\"");
    return false;
  }

  bool enter() {
    if (++depth_ > max_depth_) {
      failure_ = make_error(ErrorCode::JsonTooDeep, "nesting deeper than " + std::to_string(max_depth_));
      return false;
    }
    return true;
  }

  rapidjson::Document &target_;
  unsigned max_depth_;
  unsigned depth_ = 0;
  // The keys of each open object, in one buffer per nesting level, reused by the objects
  // that later open at that level: no allocation per key.
  using KeySpan = std::pair<std::size_t, std::size_t>; // offset and length in `keys`
  struct KeyFrame {
    std::string keys;
    std::vector<KeySpan> spans;
    std::string_view key(const KeySpan &span) const { return std::string_view(keys).substr(span.first, span.second); }
  };
  // Up to this many keys, each new key is compared with those before it as it arrives.
  static constexpr std::size_t kKeysComparedAtOnce = 32;
  std::vector<KeyFrame> frames_;
  std::size_t open_frames_ = 0;
  std::optional<Error> failure_;
};

} // namespace

Document::Document() : Document(64 * 1024) {}

Document::Document(std::size_t pool_chunk_bytes)
    : pool_(std::make_unique<rapidjson::MemoryPoolAllocator<>>(pool_chunk_bytes)),
      doc_(std::make_unique<rapidjson::Document>(pool_.get())) {}

Result<Document> parse(std::string_view text, const Limits &limits) {
  if (text.size() > limits.max_bytes) {
    return make_error(ErrorCode::JsonTooLarge,
                      std::to_string(text.size()) + " bytes, limit " + std::to_string(limits.max_bytes));
  }
  // RapidJSON treats NUL as the end of input, which would accept "{}\0anything".
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
    return make_error(ErrorCode::JsonSyntax, "NUL byte in input");
  }
  // Text that is all ASCII is valid UTF-8 as it stands: RapidJSON's check of every byte
  // is needed only for the rest (decoded escapes are checked by the handler either way).
  bool ascii = true;
  for (const char c : text) {
    ascii &= static_cast<unsigned char>(c) < 0x80;
  }

  // A parsed document takes a few times its text in memory: a pool sized to that, rather
  // than RapidJSON's 64 KiB, keeps a small request from taking and giving back 64 KiB of
  // heap (which makes glibc consolidate its free lists on every request).
  Document document(std::min<std::size_t>(64 * 1024, 1024 + 4 * text.size()));
  rapidjson::Document &doc = document.raw();
  std::optional<Error> failure;
  rapidjson::ParseResult outcome;
  auto generate = [&](rapidjson::Document &handler) {
    LimitingHandler limiting(handler, limits.max_depth);
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> input(memory);
    rapidjson::Reader reader;
    outcome = ascii ? reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(input, limiting)
                    : reader.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag>(
                          input, limiting);
    failure = limiting.failure();
    return !outcome.IsError();
  };
  doc.Populate(generate);

  if (failure) {
    return *failure;
  }
  if (outcome.IsError()) {
    const bool bad_text = outcome.Code() == rapidjson::kParseErrorStringInvalidEncoding ||
                          outcome.Code() == rapidjson::kParseErrorStringUnicodeSurrogateInvalid;
    const auto code = bad_text                                               ? ErrorCode::JsonInvalidUtf8
                      : outcome.Code() == rapidjson::kParseErrorNumberTooBig ? ErrorCode::JsonValueOutOfRange
                                                                             : ErrorCode::JsonSyntax;
    return make_error(code, std::string(rapidjson::GetParseError_En(outcome.Code())) + " at offset " +
                                std::to_string(outcome.Offset()));
  }
  return document;
}

std::string serialize(const Value &value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string write(const std::function<void(Writer &)> &write) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  write(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string error_document(const Error &error) {
  return write([&](Writer &w) {
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("code");
    w.Uint(static_cast<unsigned>(error.code));
    w.Key("name");
    w.String(to_string(error.code));
    w.Key("message");
    w.String(error.message);
    w.EndObject();
    w.EndObject();
  });
}

Result<ObjectReader> ObjectReader::of(const Value &value, std::string where) {
  if (!value.IsObject()) {
    return make_error(ErrorCode::JsonWrongType, where + " must be an object");
  }
  return ObjectReader(value, std::move(where));
}

const Value *ObjectReader::find(std::string_view key) const {
  for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
    if (view(it->name) == key) {
      return &it->value;
    }
  }
  return nullptr;
}

Error ObjectReader::wrong_type(std::string_view key, const char *expected) const {
  return make_error(ErrorCode::JsonWrongType, where_ + "." + std::string(key) + " must be " + expected);
}

Result<const Value *> ObjectReader::required(std::string_view key) const {
  const Value *found = find(key);
  if (found == nullptr) {
    return make_error(ErrorCode::JsonMissingField, where_ + "." + std::string(key) + " is required");
  }
  return found;
}

Result<std::string> ObjectReader::string(std::string_view key) const {
  auto found = required(key);
  if (!found) {
    return std::move(found).error();
  }
  if (!(*found)->IsString()) {
    return wrong_type(key, "a string");
  }
  return std::string(view(**found));
}

Result<std::optional<std::string>> ObjectReader::optional_string(std::string_view key) const {
  const Value *found = find(key);
  if (found == nullptr || found->IsNull()) {
    return std::optional<std::string>();
  }
  if (!found->IsString()) {
    return wrong_type(key, "a string");
  }
  return std::optional<std::string>(std::string(view(*found)));
}

Result<std::uint64_t> ObjectReader::uint64(std::string_view key) const {
  auto found = required(key);
  if (!found) {
    return std::move(found).error();
  }
  if (!(*found)->IsUint64()) {
    return wrong_type(key, "a non-negative integer");
  }
  return (*found)->GetUint64();
}

Result<std::int64_t> ObjectReader::int64(std::string_view key) const {
  auto found = required(key);
  if (!found) {
    return std::move(found).error();
  }
  if (!(*found)->IsInt64()) {
    return wrong_type(key, "an integer");
  }
  return (*found)->GetInt64();
}

Result<bool> ObjectReader::boolean(std::string_view key) const {
  auto found = required(key);
  if (!found) {
    return std::move(found).error();
  }
  if (!(*found)->IsBool()) {
    return wrong_type(key, "true or false");
  }
  return (*found)->GetBool();
}

Result<const Value *> ObjectReader::array(std::string_view key) const {
  auto found = required(key);
  if (found && !(*found)->IsArray()) {
    return wrong_type(key, "an array");
  }
  return found;
}

Result<const Value *> ObjectReader::object(std::string_view key) const {
  auto found = required(key);
  if (found && !(*found)->IsObject()) {
    return wrong_type(key, "an object");
  }
  return found;
}

Status ObjectReader::allow_only(std::initializer_list<std::string_view> allowed) const {
  for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
    bool known = false;
    for (auto name : allowed) {
      known = known || view(it->name) == name;
    }
    if (!known) {
      return make_error(ErrorCode::JsonUnknownField,
                        where_ + " has unknown field \"" + std::string(view(it->name)) + "\"");
    }
  }
  return {};
}

} // namespace mds::core::json
