// Apps, whitelists, rules and the audit log: the operator's records on the server.
#include "progress.hpp"
#include "publisher.hpp"
#include "server_command.hpp"
#include "text_output.hpp"

#include "io/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace mds::mdsctl {
namespace {

using core::json::Value;

constexpr std::uint64_t kMaxPublicKeyBytes = 64 * 1024;

std::string key_ids(const Value &app) {
  std::string ids;
  if (const auto *keys = member(app, "publisher_keys"); keys != nullptr && keys->IsArray()) {
    for (const auto &key : keys->GetArray()) {
      ids += (ids.empty() ? "" : " ") + field(key, "key_id");
    }
  }
  return ids.empty() ? "-" : ids;
}

std::string describe_app(const Value &app) {
  return "app       " + field(app, "name") + "\nplatform  " + field(app, "platform") + "\nkeys      " + key_ids(app) +
         "\ncreated   " + field(app, "created_at");
}

Result<CommandOutput> app_create(const Invocation &call) {
  if (auto missing = call.line.require({"platform", "publisher-key"}); !missing) {
    return missing.error();
  }
  // The public keys are read here, so a wrong path fails before anything is sent; the
  // server checks that each is an ECDSA P-256 key.
  std::vector<std::string> pems;
  for (const auto &path : call.line.values("publisher-key")) {
    auto pem = io::read_file(path, kMaxPublicKeyBytes);
    if (!pem) {
      return std::move(pem).error();
    }
    pems.push_back(std::move(*pem));
  }
  const std::string body = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("name");
    w.String(call.arguments[0]);
    w.Key("platform");
    w.String(*call.line.value("platform"));
    w.Key("publisher_keys");
    w.StartArray();
    for (const auto &pem : pems) {
      w.String(pem);
    }
    w.EndArray();
    w.EndObject();
  });
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("POST", "/v1/admin/apps", body);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &app = answer->document.root();
  return answer_output(*answer, "created app " + field(app, "name") + " (" + field(app, "platform") +
                                    "), publisher keys " + key_ids(app));
}

Result<CommandOutput> app_list(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/apps");
  if (!answer) {
    return std::move(answer).error();
  }
  Table table({"NAME", "PLATFORM", "KEYS", "CREATED"});
  if (const auto *apps = member(answer->document.root(), "apps"); apps != nullptr && apps->IsArray()) {
    for (const auto &app : apps->GetArray()) {
      const auto *keys = member(app, "publisher_keys");
      table.add({field(app, "name"), field(app, "platform"),
                 std::to_string(keys != nullptr && keys->IsArray() ? keys->Size() : 0), field(app, "created_at")});
    }
  }
  return answer_output(*answer, table.render());
}

Result<CommandOutput> app_show(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/apps/" + url_encode(call.arguments[0]));
  if (!answer) {
    return std::move(answer).error();
  }
  return answer_output(*answer, describe_app(answer->document.root()));
}

// The id file, streamed from disk: a million ids are 20 MB that never sit in memory.
Result<CommandOutput> whitelist_import(const Invocation &call) {
  if (auto missing = call.line.require({"type"}); !missing) {
    return missing.error();
  }
  const std::string type = *call.line.value("type");
  if (type != "user" && type != "device") {
    return make_error(ErrorCode::InvalidArgument, "--type must be user or device");
  }
  const bool regex = call.line.has_switch("regex");
  const std::string &name = call.arguments[0];
  const std::string &path = call.arguments[1];
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return io::error_from_errno(errno, "open", path);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    return io::error_from_errno(errno, "stat", path);
  }
  if (!S_ISREG(status.st_mode)) {
    return make_error(ErrorCode::InvalidArgument, path + " is not a regular file");
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }

  const auto size = static_cast<std::uint64_t>(status.st_size);
  Progress progress(Progress::style_for_stderr(call.json), "uploading " + path, size);
  Upload upload;
  upload.content_type = "text/csv";
  upload.size = size;
  upload.read = [fd, &path](char *buffer, std::size_t capacity) -> Result<std::size_t> {
    for (;;) {
      const ssize_t got = ::read(fd, buffer, capacity);
      if (got >= 0) {
        return static_cast<std::size_t>(got);
      }
      if (errno != EINTR) {
        return io::error_from_errno(errno, "read", path);
      }
    }
  };
  upload.on_progress = [&progress](std::uint64_t sent) { progress.update(sent); };

  const auto started = std::chrono::steady_clock::now();
  auto answer = (*client)->upload("PUT",
                                  "/v1/admin/whitelists/" + url_encode(name) + "/entries?type=" + url_encode(type) +
                                      (regex ? "&match=regex" : ""),
                                  upload);
  if (!answer) {
    return std::move(answer).error();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto &root = answer->document.root();
  const Value empty;
  const auto *list = member(root, "whitelist");
  char timing[64];
  std::snprintf(timing, sizeof timing, "%.2f s", seconds);
  const bool created = member(root, "created") != nullptr && (*member(root, "created")).IsTrue();
  return answer_output(*answer, "imported " + field(root, "ids_read") + (regex ? " patterns" : " ids") + " into " +
                                    field(list != nullptr ? *list : empty, "name") + " (" + (created ? "new " : "") +
                                    type + (regex ? " regex" : "") + " list, " +
                                    field(list != nullptr ? *list : empty, "count") + " distinct, " +
                                    field(root, "duplicates") + " duplicates) in " + timing + " (server " +
                                    field(root, "elapsed_ms") + " ms)");
}

Result<CommandOutput> whitelist_list(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/whitelists");
  if (!answer) {
    return std::move(answer).error();
  }
  Table table({"NAME", "TYPE", "MATCH", "COUNT", "UPDATED"});
  if (const auto *lists = member(answer->document.root(), "whitelists"); lists != nullptr && lists->IsArray()) {
    for (const auto &list : lists->GetArray()) {
      table.add({field(list, "name"), field(list, "type"), field(list, "match"), field(list, "count"),
                 field(list, "updated_at")});
    }
  }
  return answer_output(*answer, table.render());
}

Result<CommandOutput> whitelist_show(const Invocation &call) {
  auto sample = count_option(call.line, "sample", 0, 1000);
  if (!sample) {
    return std::move(sample).error();
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  std::string path = "/v1/admin/whitelists/" + url_encode(call.arguments[0]);
  if (*sample) {
    path += "?sample=" + std::to_string(**sample);
  }
  auto answer = (*client)->call("GET", path);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &list = answer->document.root();
  std::string text = "whitelist " + field(list, "name") + "\ntype      " + field(list, "type") + "\nmatch     " +
                     field(list, "match") + "\ncount     " + field(list, "count") + "\ncreated   " +
                     field(list, "created_at") + "\nupdated   " + field(list, "updated_at");
  if (const auto *ids = member(list, "sample"); ids != nullptr && ids->IsArray()) {
    text += "\nsample    ";
    bool first = true;
    for (const auto &id : ids->GetArray()) {
      text += (first ? "" : "\n          ") + (id.IsString() ? std::string(core::json::view(id)) : compact(id));
      first = false;
    }
  }
  return answer_output(*answer, text);
}

Result<CommandOutput> whitelist_delete(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("DELETE", "/v1/admin/whitelists/" + url_encode(call.arguments[0]));
  if (!answer) {
    return std::move(answer).error();
  }
  return answer_output(*answer, "deleted whitelist " + field(answer->document.root(), "deleted"));
}

std::string filter_expressions(const Value &object, const std::string &separator) {
  std::string text;
  if (const auto *filters = member(object, "filters"); filters != nullptr && filters->IsArray()) {
    for (const auto &filter : filters->GetArray()) {
      text += (text.empty() ? "" : separator) + field(filter, "expression");
    }
  }
  return text.empty() ? "-" : text;
}

Result<CommandOutput> rule_create(const Invocation &call) {
  const auto &filters = call.line.values("filter");
  if (filters.empty()) {
    return make_error(ErrorCode::InvalidArgument, "--filter EXPR is required (repeat it for several filters)");
  }
  const std::string body = core::json::write([&](core::json::Writer &w) {
    w.StartObject();
    w.Key("name");
    w.String(call.arguments[0]);
    if (auto description = call.line.value("description")) {
      w.Key("description");
      w.String(*description);
    }
    w.Key("filters");
    w.StartArray();
    for (const auto &filter : filters) {
      w.String(filter);
    }
    w.EndArray();
    w.EndObject();
  });
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("POST", "/v1/admin/rules", body);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &rule = answer->document.root();
  return answer_output(*answer, "created rule " + field(rule, "name") + ": " + filter_expressions(rule, " and "));
}

Result<CommandOutput> rule_list(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/rules");
  if (!answer) {
    return std::move(answer).error();
  }
  Table table({"NAME", "FILTERS", "DESCRIPTION"});
  if (const auto *rules = member(answer->document.root(), "rules"); rules != nullptr && rules->IsArray()) {
    for (const auto &rule : rules->GetArray()) {
      table.add({field(rule, "name"), filter_expressions(rule, " and "), field(rule, "description")});
    }
  }
  return answer_output(*answer, table.render());
}

Result<CommandOutput> rule_show(const Invocation &call) {
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/rules/" + url_encode(call.arguments[0]));
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &rule = answer->document.root();
  return answer_output(*answer, "rule         " + field(rule, "name") + "\ndescription  " + field(rule, "description") +
                                    "\nfilters      " + filter_expressions(rule, "\n             ") +
                                    "\ncreated      " + field(rule, "created_at"));
}

Result<CommandOutput> audit(const Invocation &call) {
  auto limit = count_option(call.line, "limit", 1, 1000);
  if (!limit) {
    return std::move(limit).error();
  }
  auto before = count_option(call.line, "before", 1, UINT64_MAX);
  if (!before) {
    return std::move(before).error();
  }
  std::string query;
  if (*limit) {
    query += "&limit=" + std::to_string(**limit);
  }
  if (*before) {
    query += "&before=" + std::to_string(**before);
  }
  if (auto target = call.line.value("target")) {
    query += "&target=" + url_encode(*target);
  }
  if (!query.empty()) {
    query[0] = '?';
  }
  auto client = connect(call);
  if (!client) {
    return std::move(client).error();
  }
  auto answer = (*client)->call("GET", "/v1/admin/audit" + query);
  if (!answer) {
    return std::move(answer).error();
  }
  const auto &root = answer->document.root();
  Table table({"ID", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL"});
  if (const auto *entries = member(root, "entries"); entries != nullptr && entries->IsArray()) {
    for (const auto &entry : entries->GetArray()) {
      const auto *detail = member(entry, "detail");
      table.add({field(entry, "id"), field(entry, "at"), field(entry, "actor"), field(entry, "action"),
                 field(entry, "target"), detail != nullptr && !detail->IsNull() ? compact(*detail, 80) : "-"});
    }
  }
  std::string text = table.render();
  if (const auto *next = member(root, "next_before"); next != nullptr && next->IsUint64()) {
    text += "older entries: mdsctl audit --before " + std::to_string(next->GetUint64()) + "\n";
  }
  return answer_output(*answer, text);
}

} // namespace

std::vector<Command> admin_commands() {
  return {
      {{"app", "create"},
       {{"platform", "publisher-key"}, {}},
       1,
       1,
       "app create APP --platform android|ios --publisher-key PUB [--publisher-key PUB]...",
       app_create},
      {{"app", "list"}, {}, 0, 0, "app list", app_list},
      {{"app", "show"}, {}, 1, 1, "app show APP", app_show},
      {{"whitelist", "import"},
       {{"type"}, {"regex"}},
       2,
       2,
       "whitelist import NAME --type user|device [--regex] FILE",
       whitelist_import},
      {{"whitelist", "list"}, {}, 0, 0, "whitelist list", whitelist_list},
      {{"whitelist", "show"}, {{"sample"}, {}}, 1, 1, "whitelist show NAME [--sample N]", whitelist_show},
      {{"whitelist", "delete"}, {}, 1, 1, "whitelist delete NAME", whitelist_delete},
      {{"rule", "create"},
       {{"filter", "description"}, {}},
       1,
       1,
       "rule create NAME --filter EXPR [--filter EXPR]... [--description TEXT]",
       rule_create},
      {{"rule", "list"}, {}, 0, 0, "rule list", rule_list},
      {{"rule", "show"}, {}, 1, 1, "rule show NAME", rule_show},
      {{"audit"}, {{"limit", "before", "target"}, {}}, 0, 0, "audit [--limit N] [--before ID] [--target T]", audit},
  };
}

} // namespace mds::mdsctl
