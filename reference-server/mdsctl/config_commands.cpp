// Config keys: default values and targeted variants (docs/protocol-admin.md, "Config keys"
// and "Targeted config values").
//
// `config set --app A KEY VALUE` sets the default and leaves the variants as they are.
// With `--when EXPR...` it sets the value of one variant instead: the variant whose
// filters are exactly those expressions (compared in canonical form, in any order) gets
// the new value in place, keeping its position; when there is none, a new variant is added
// last (variants are tried in order, so it has the lowest precedence). The key must have
// a default already. This reads the key and writes it back whole: an operator changing
// the same key at the same instant may lose their change, which the audit log shows.
// `config unset --app A KEY --when EXPR...` removes that variant.
#include "publisher.hpp"
#include "server_command.hpp"
#include "text_output.hpp"

#include "server/targeting/filter_expression.hpp"

#include <algorithm>

namespace mds::mdsctl {
namespace {

using core::json::Value;

// A variant's filters as a sorted list of canonical expressions, the identity of a variant.
using FilterSet = std::vector<std::string>;

Result<FilterSet> canonical_filters(const std::vector<std::string> &expressions) {
  FilterSet set;
  for (const auto &expression : expressions) {
    auto filter = server::targeting::parse_filter(expression);
    if (!filter) {
      return with_context(std::move(filter).error(), "--when \"" + expression + "\"");
    }
    set.push_back(filter->to_expression());
  }
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  return set;
}

struct Variant {
  FilterSet when;
  std::string value; // compact JSON
};

// The variants of a config value object as the server answered them: each filter in its
// parsed form (with "expression"), or as a plain string from a server that keeps them so.
Result<std::vector<Variant>> read_variants(const Value &config_value) {
  std::vector<Variant> variants;
  const auto *list = member(config_value, "variants");
  if (list == nullptr || list->IsNull()) {
    return variants;
  }
  if (!list->IsArray()) {
    return make_error(ErrorCode::JsonWrongType, "the server's config value has variants that are not an array");
  }
  for (const auto &variant : list->GetArray()) {
    const auto *when = member(variant, "when");
    const auto *value = member(variant, "value");
    if (when == nullptr || !when->IsArray() || value == nullptr) {
      return make_error(ErrorCode::JsonWrongType, "the server's config value has a variant without when or value");
    }
    std::vector<std::string> expressions;
    for (const auto &filter : when->GetArray()) {
      expressions.push_back(filter.IsString() ? std::string(core::json::view(filter)) : field(filter, "expression"));
    }
    auto set = canonical_filters(expressions);
    if (!set) {
      return std::move(set).error();
    }
    variants.push_back({std::move(*set), compact(*value)});
  }
  return variants;
}

std::string when_text(const FilterSet &when) {
  std::string text;
  for (const auto &expression : when) {
    text += (text.empty() ? "" : " and ") + expression;
  }
  return text;
}

std::string key_path(const std::string &app, const std::string &key) {
  return "/v1/admin/apps/" + url_encode(app) + "/config/" + url_encode(key);
}

std::string describe_value(const Value &config) {
  std::string text = field(config, "key") + " = " +
                     (member(config, "value") ? compact(*member(config, "value")) : "-") + "\ndescription  " +
                     field(config, "description") + "\nrevision     " + field(config, "revision") + " (updated " +
                     field(config, "updated_at") + ")";
  auto variants = read_variants(config);
  if (variants && !variants->empty()) {
    text += "\nvariants, first match wins:";
    std::size_t index = 1;
    for (const auto &variant : *variants) {
      text += "\n  " + std::to_string(index++) + ". when " + when_text(variant.when) + ": " + variant.value;
    }
  }
  return text;
}

// Writes the key with `default_value` and, when given, `variants` (absent keeps the
// server's ones).
Result<AdminAnswer> put_value(AdminClient &client, const Invocation &call, const std::string &key,
                              const std::string &default_value, const std::vector<Variant> *variants) {
  const std::string body = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("value");
    w.RawValue(default_value.data(), default_value.size(), rapidjson::kObjectType);
    if (auto description = call.line.value("description")) {
      w.Key("description");
      w.String(*description);
    }
    if (variants != nullptr) {
      w.Key("variants");
      w.StartArray();
      for (const auto &variant : *variants) {
        w.StartObject();
        w.Key("when");
        w.StartArray();
        for (const auto &expression : variant.when) {
          w.String(expression);
        }
        w.EndArray();
        w.Key("value");
        w.RawValue(variant.value.data(), variant.value.size(), rapidjson::kObjectType);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  });
  return client.call("PUT", key_path(*call.line.value("app"), key), body);
}

// The key's current value object; NotFound with a hint when it has none.
Result<AdminAnswer> current_value(AdminClient &client, const std::string &app, const std::string &key) {
  auto answer = client.call("GET", key_path(app, key));
  if (!answer && answer.code() == ErrorCode::NotFound) {
    return with_context(std::move(answer).error(), "a variant needs the key's default first (mdsctl config set --app " +
                                                       app + " " + key + " VALUE)");
  }
  return answer;
}

Result<CommandOutput> config_set(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  const std::string &key = call.arguments[0];
  const std::string value = json_or_string(call.arguments[1], call.line.has_switch("string"));
  const auto &when = call.line.values("when");
  auto filters = canonical_filters(when);
  if (!filters) {
    return std::move(filters).error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  if (when.empty()) {
    auto answer = put_value(**client, call, key, value, nullptr);
    if (!answer) {
      return std::move(answer).error();
    }
    const auto &config = answer->document.root();
    return answer_output(*answer, field(config, "key") + " = " + compact(*member(config, "value")) + " (revision " +
                                      field(config, "revision") + ")");
  }

  auto current = current_value(**client, *call.line.value("app"), key);
  if (!current) {
    return std::move(current).error();
  }
  auto variants = read_variants(current->document.root());
  if (!variants) {
    return std::move(variants).error();
  }
  auto same = std::find_if(variants->begin(), variants->end(), [&](const Variant &v) { return v.when == *filters; });
  if (same != variants->end()) {
    same->value = value;
  } else {
    variants->push_back({*filters, value});
  }
  const Value *default_value = member(current->document.root(), "value");
  auto answer = put_value(**client, call, key, default_value != nullptr ? compact(*default_value) : "null", &*variants);
  if (!answer) {
    return std::move(answer).error();
  }
  return answer_output(*answer, key + " when " + when_text(*filters) + " = " + value + " (" +
                                    (same != variants->end() ? "replaced" : "added") + ", revision " +
                                    field(answer->document.root(), "revision") + ")");
}

Result<CommandOutput> config_unset(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  const std::string &key = call.arguments[0];
  if (call.line.values("when").empty()) {
    return make_error(ErrorCode::InvalidArgument, "--when EXPR names the variant to remove");
  }
  auto filters = canonical_filters(call.line.values("when"));
  if (!filters) {
    return std::move(filters).error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto current = current_value(**client, *call.line.value("app"), key);
  if (!current) {
    return std::move(current).error();
  }
  auto variants = read_variants(current->document.root());
  if (!variants) {
    return std::move(variants).error();
  }
  auto same = std::find_if(variants->begin(), variants->end(), [&](const Variant &v) { return v.when == *filters; });
  if (same == variants->end()) {
    return make_error(ErrorCode::NotFound, key + " has no variant when " + when_text(*filters));
  }
  variants->erase(same);
  const Value *default_value = member(current->document.root(), "value");
  auto answer = put_value(**client, call, key, default_value != nullptr ? compact(*default_value) : "null", &*variants);
  if (!answer) {
    return std::move(answer).error();
  }
  return answer_output(*answer, "removed the variant of " + key + " when " + when_text(*filters) + " (revision " +
                                    field(answer->document.root(), "revision") + ")");
}

Result<CommandOutput> config_get(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", key_path(*call.line.value("app"), call.arguments[0]));
  if (!answer) {
    return std::move(answer).error();
  }
  return answer_output(*answer, describe_value(answer->document.root()));
}

Result<CommandOutput> config_list(const Invocation &call) {
  if (auto missing = call.line.require({"app"}); !missing) {
    return missing.error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/apps/" + url_encode(*call.line.value("app")) + "/config");
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &root = answer->document.root();
  Table table({"KEY", "VALUE", "VARIANTS", "REVISION", "UPDATED"});
  if (const auto *keys = member(root, "keys"); keys != nullptr && keys->IsArray()) {
    for (const auto &config : keys->GetArray()) {
      const auto *value = member(config, "value");
      const auto *variants = member(config, "variants");
      table.add({field(config, "key"), value != nullptr ? compact(*value, 60) : "-",
                 std::to_string(variants != nullptr && variants->IsArray() ? variants->Size() : 0),
                 field(config, "revision"), field(config, "updated_at")});
    }
  }
  return answer_output(*answer, "app " + field(root, "app") + ", config revision " + field(root, "revision") + "\n" +
                                    table.render());
}

} // namespace

std::vector<Command> config_commands() {
  return {
      {{"config", "set"},
       {{"app", "when", "description"}, {"string"}},
       2,
       2,
       "config set --app APP KEY VALUE [--when EXPR]... [--description TEXT] [--string]",
       config_set},
      {{"config", "unset"},
       {{"app", "when"}, {}},
       1,
       1,
       "config unset --app APP KEY --when EXPR [--when EXPR]...",
       config_unset},
      {{"config", "get"}, {{"app"}, {}}, 1, 1, "config get --app APP KEY", config_get},
      {{"config", "list"}, {{"app"}, {}}, 0, 0, "config list --app APP", config_list},
  };
}

} // namespace mds::mdsctl
