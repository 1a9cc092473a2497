#include "server/targeting/evaluate.hpp"

#include "server/util/time.hpp"

#include "core/bucketing/bucketing.hpp"
#include "core/version/version.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace mds::server::targeting {
namespace {

char fold(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same(std::string_view a, std::string_view b, bool case_insensitive) {
  if (a.size() != b.size()) {
    return false;
  }
  if (!case_insensitive) {
    return a == b;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (fold(a[i]) != fold(b[i])) {
      return false;
    }
  }
  return true;
}

// Compares in place, folding case as it goes when `case_insensitive`: a check runs these
// for every release, so they allocate nothing.
bool string_test(Operator op, std::string_view value, std::string_view operand, bool case_insensitive) {
  switch (op) {
  case Operator::In:
  case Operator::NotIn:
  case Operator::Eq:
    return same(value, operand, case_insensitive);
  case Operator::Prefix:
    return value.size() >= operand.size() && same(value.substr(0, operand.size()), operand, case_insensitive);
  case Operator::Suffix:
    return value.size() >= operand.size() &&
           same(value.substr(value.size() - operand.size()), operand, case_insensitive);
  case Operator::Contains:
    if (!case_insensitive) {
      return value.find(operand) != std::string_view::npos;
    }
    for (std::size_t at = 0; at + operand.size() <= value.size(); ++at) {
      if (same(value.substr(at, operand.size()), operand, true)) {
        return true;
      }
    }
    return false;
  default:
    return false;
  }
}

std::optional<double> read_number(std::string_view text) {
  if (text.empty() || text.find_first_not_of("+-.0123456789eE") != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string copy(text);
  char *end = nullptr;
  const double number = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(number)) {
    return std::nullopt;
  }
  return number;
}

// YYYY-MM-DDTHH:MM:SSZ, or with a fraction of a second before the Z. Operands are whole
// seconds, so the whole seconds and whether a fraction follows them compare exactly.
struct Instant {
  std::int64_t seconds = 0;
  bool fraction = false; // a non-zero fraction of a second after `seconds`
};

std::optional<Instant> read_instant(std::string_view text) {
  if (text.size() > 20 && text[19] == '.' && text.back() == 'Z') {
    const auto digits = text.substr(20, text.size() - 21);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    auto whole = parse_utc(std::string(text.substr(0, 19)) + "Z");
    if (!whole) {
      return std::nullopt;
    }
    return Instant{*whole, digits.find_first_not_of('0') != std::string_view::npos};
  }
  auto instant = parse_utc(text);
  return instant ? std::optional<Instant>(Instant{*instant, false}) : std::nullopt;
}

// The operator's own result, before `not`.
// `text` read as a version into `read`; null when it does not read as one.
const core::Version *read_version(std::string_view text, std::optional<core::Version> &read) {
  auto version = core::Version::parse(text);
  if (!version) {
    return nullptr;
  }
  read = std::move(version.value());
  return &*read;
}

// `parsed` is the value already read as a version, when the device description had one.
bool operator_holds(const Filter &filter, const std::optional<std::string_view> &value, const core::Version *parsed) {
  if (!value) {
    return filter.op == Operator::NotIn; // absent: in no list
  }
  switch (operand_kind(filter.op)) {
  case OperandKind::String: {
    bool any = false;
    for (const auto &operand : filter.values) {
      if (string_test(filter.op, *value, operand, filter.case_insensitive)) {
        any = true;
        break;
      }
    }
    return filter.op == Operator::NotIn ? !any : any;
  }
  case OperandKind::Number: {
    const auto number = read_number(*value);
    if (!number || !filter.number) {
      return false;
    }
    const double operand = *filter.number;
    switch (filter.op) {
    case Operator::NumEq:
      return *number == operand;
    case Operator::Lt:
      return *number < operand;
    case Operator::Lte:
      return *number <= operand;
    case Operator::Gt:
      return *number > operand;
    case Operator::Gte:
      return *number >= operand;
    default:
      return false;
    }
  }
  case OperandKind::Date: {
    const auto instant = read_instant(*value);
    if (!instant || !filter.instant) {
      return false;
    }
    if (filter.op == Operator::DateBefore) {
      return instant->seconds < *filter.instant;
    }
    return instant->seconds > *filter.instant || (instant->seconds == *filter.instant && instant->fraction);
  }
  case OperandKind::Version: {
    std::optional<core::Version> read;
    const core::Version *version = parsed != nullptr ? parsed : read_version(*value, read);
    if (version == nullptr || !filter.version) {
      return false;
    }
    const int order = core::compare(*version, *filter.version);
    switch (filter.op) {
    case Operator::VersionEq:
      return order == 0;
    case Operator::VersionLt:
      return order < 0;
    case Operator::VersionLte:
      return order <= 0;
    case Operator::VersionGt:
      return order > 0;
    case Operator::VersionGte:
      return order >= 0;
    default:
      return false;
    }
  }
  case OperandKind::VersionRange: {
    std::optional<core::Version> read;
    const core::Version *version = parsed != nullptr ? parsed : read_version(*value, read);
    return version != nullptr && filter.range && filter.range->contains(*version);
  }
  }
  return false;
}

bool stage_offers(ReleaseStage stage) {
  return stage == ReleaseStage::Gray || stage == ReleaseStage::Full;
}

} // namespace

bool filter_holds(const Filter &filter, const Device &device) {
  const core::Version *parsed = nullptr;
  if (const auto kind = operand_kind(filter.op); kind == OperandKind::Version || kind == OperandKind::VersionRange) {
    if (auto found = device.versions.find(filter.field); found != device.versions.end()) {
      parsed = &found->second;
    }
  }
  return operator_holds(filter, device.field(filter.field), parsed) != filter.negated;
}

bool FilterVerdicts::holds(std::uint32_t number, const Filter &filter, const Device &device) {
  if (&device != device_) {
    std::fill(known_.begin(), known_.end(), kUnknown);
    device_ = &device;
  }
  if (number >= known_.size()) {
    return filter_holds(filter, device);
  }
  auto &known = known_[number];
  if (known == kUnknown) {
    known = filter_holds(filter, device) ? 1 : 0;
  }
  return known == 1;
}

std::uint32_t percentage_bucket(const Targeting &targeting, std::string_view device_id) {
  if (device_id.empty()) {
    return 0;
  }
  if (targeting.salted) {
    return targeting.salted->bucket(device_id, targeting.modulus);
  }
  return core::bucket(targeting.salt, device_id, targeting.modulus);
}

std::string Decision::door_name() const {
  switch (door) {
  case DoorKind::Full:
    return "full";
  case DoorKind::Whitelist:
    return "whitelist:" + whitelist;
  case DoorKind::Percentage:
    return "percentage";
  case DoorKind::Window:
    return "window";
  case DoorKind::None:
    break;
  }
  return "none";
}

std::string Decision::explanation() const {
  if (!stage_offers) {
    return "the release's stage offers it to no device";
  }
  if (failed_filter) {
    const auto &failure = *failed_filter;
    std::string field = failure.expression.substr(0, failure.expression.find_first_of(" \t"));
    return "filter " + std::to_string(failure.index + 1) + " of " + failure.source + " (" + failure.expression +
           ") failed: " +
           (failure.device_value ? field + " is \"" + *failure.device_value + "\"" : field + " is absent");
  }
  if (eligible) {
    std::string text = "eligible through " + door_name();
    if (door == DoorKind::Percentage && bucket) {
      text += " (bucket " + std::to_string(*bucket) + ")";
    }
    return text;
  }
  std::string text = "every filter holds but no door opened";
  if (bucket) {
    text += " (bucket " + std::to_string(*bucket) + ")";
  }
  return text;
}

namespace {

void reset(Decision &decision, const Targeting &targeting) {
  decision.eligible = false;
  decision.failed_filter.reset();
  decision.door = DoorKind::None;
  decision.whitelist.clear();
  decision.bucket.reset();
  decision.window.reset();
  decision.stage_offers = stage_offers(targeting.stage);
}

// The door stage, after every filter held.
Status open_doors(const Targeting &targeting, const Device &device, WhitelistLookup &whitelists, WindowGate &windows,
                  std::int64_t now, WindowMode mode, Decision &decision) {
  auto open = [&](DoorKind door) {
    decision.door = door;
    decision.eligible = true;
    return Status{};
  };
  if (targeting.stage == ReleaseStage::Full) {
    return open(DoorKind::Full);
  }
  for (const auto &list : targeting.whitelists) {
    auto member = whitelists.contains(list, device);
    if (!member) {
      return member.error();
    }
    if (*member) {
      decision.whitelist = list;
      return open(DoorKind::Whitelist);
    }
  }
  if (targeting.percent_bp > 0 && targeting.modulus > 0) {
    const auto bucket = percentage_bucket(targeting, device.device_id);
    decision.bucket = bucket;
    if (bucket > 0 &&
        std::uint64_t{bucket} * kFullPercentBasisPoints <= std::uint64_t{targeting.percent_bp} * targeting.modulus) {
      return open(DoorKind::Percentage);
    }
  }
  if (targeting.window && !device.device_id.empty()) {
    const bool within = now >= targeting.window->start && now < targeting.window->end;
    auto answer = windows.admit(targeting.release_id, *targeting.window, device.device_id, within, mode);
    if (!answer) {
      return answer.error();
    }
    decision.window = *answer;
    if (answer->admitted) {
      return open(DoorKind::Window);
    }
  }
  return {};
}

Status evaluate_into(const Targeting &targeting, const Device &device, WhitelistLookup &whitelists, WindowGate &windows,
                     std::int64_t now, WindowMode mode, FilterVerdicts *verdicts, Decision &decision) {
  reset(decision, targeting);
  if (!decision.stage_offers) {
    return {};
  }
  const bool numbered = verdicts != nullptr && targeting.filter_numbers.size() == targeting.filter_sets.size();
  for (std::size_t s = 0; s < targeting.filter_sets.size(); ++s) {
    const auto &set = targeting.filter_sets[s];
    const auto *numbers =
        numbered && targeting.filter_numbers[s].size() == set.filters.size() ? &targeting.filter_numbers[s] : nullptr;
    for (std::size_t i = 0; i < set.filters.size(); ++i) {
      const auto &filter = set.filters[i];
      if (numbers != nullptr ? verdicts->holds((*numbers)[i], filter, device) : filter_holds(filter, device)) {
        continue;
      }
      auto &failure = decision.failed_filter.emplace();
      failure.index = i;
      failure.source = set.source;
      failure.expression = filter.to_expression();
      if (auto value = device.field(filter.field)) {
        failure.device_value = std::string(*value);
      }
      return {};
    }
  }
  return open_doors(targeting, device, whitelists, windows, now, mode, decision);
}

} // namespace

Status evaluate_doors_into(const Targeting &targeting, const Device &device, WhitelistLookup &whitelists,
                           WindowGate &windows, std::int64_t now, WindowMode mode, Decision &decision) {
  reset(decision, targeting);
  if (!decision.stage_offers) {
    return {};
  }
  return open_doors(targeting, device, whitelists, windows, now, mode, decision);
}

Result<Decision> evaluate(const Targeting &targeting, const Device &device, WhitelistLookup &whitelists,
                          WindowGate &windows, std::int64_t now, WindowMode mode, FilterVerdicts *verdicts) {
  Decision decision;
  if (auto evaluated = evaluate_into(targeting, device, whitelists, windows, now, mode, verdicts, decision);
      !evaluated) {
    return evaluated.error();
  }
  return decision;
}

} // namespace mds::server::targeting
