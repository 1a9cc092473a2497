#include "synthetic_package.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "io/file_io.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <system_error>
#include <vector>

namespace mds::bench {
namespace {

// splitmix64: tiny, and the same numbers on every platform (std distributions are not).
class Random {
public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  // Log-uniform in [low, high]: many small files, a few large ones.
  std::uint64_t log_uniform(std::uint64_t low, std::uint64_t high) {
    const double lo = std::log(static_cast<double>(low));
    const double hi = std::log(static_cast<double>(high));
    return static_cast<std::uint64_t>(std::exp(lo + (hi - lo) * unit()));
  }

private:
  std::uint64_t state_;
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return Random(a * 0x100000001b3ull ^ b).next();
}

// Identifiers shared by every file, drawn with a Zipf-like skew as in real code.
class Vocabulary {
public:
  explicit Vocabulary(std::uint64_t seed) {
    Random random(seed);
    static const char *const kCommon[] = {"this",   "return",   "function",  "var",       "length",  "push",
                                          "props",  "state",    "value",     "data",      "options", "default",
                                          "call",   "apply",    "prototype", "exports",   "module",  "require",
                                          "window", "document", "null",      "undefined", "Object",  "Array"};
    for (const char *word : kCommon) {
      words_.emplace_back(word);
    }
    while (words_.size() < 4000) {
      std::string word;
      const std::uint64_t parts = 1 + random.below(3);
      for (std::uint64_t p = 0; p < parts; ++p) {
        const std::uint64_t letters = 2 + random.below(6);
        for (std::uint64_t i = 0; i < letters; ++i) {
          char c = static_cast<char>('a' + random.below(26));
          if (p > 0 && i == 0) {
            c = static_cast<char>(c - 'a' + 'A');
          }
          word += c;
        }
      }
      words_.push_back(std::move(word));
    }
    double total = 0;
    for (std::size_t rank = 0; rank < words_.size(); ++rank) {
      total += 1.0 / static_cast<double>(rank + 1);
      cumulative_.push_back(total);
    }
  }
  const std::string &pick(Random &random) const {
    const double target = random.unit() * cumulative_.back();
    const auto at = std::lower_bound(cumulative_.begin(), cumulative_.end(), target) - cumulative_.begin();
    return words_[std::min<std::size_t>(static_cast<std::size_t>(at), words_.size() - 1)];
  }

private:
  std::vector<std::string> words_;
  std::vector<double> cumulative_;
};

enum class Kind { Script, Map, Style, Binary };

// One file of a version: text files are sequences of modules, each generated from its seed,
// so that an edit regenerates only the modules it touches.
struct FileSpec {
  std::string directory;
  std::string stem;
  std::string extension;
  bool hashed_name = true;
  Kind kind = Kind::Script;
  std::vector<std::uint64_t> modules; // text kinds
  std::uint64_t binary_seed = 0;      // Binary
  std::uint64_t binary_size = 0;
  std::string header; // Binary: the format's magic
};

void script_module(const Vocabulary &words, std::uint64_t seed, std::string &out) {
  Random random(seed);
  out += "function ";
  out += words.pick(random);
  out += '(';
  const std::uint64_t params = random.below(4);
  for (std::uint64_t i = 0; i < params; ++i) {
    out += i ? "," : "";
    out += static_cast<char>('a' + i);
  }
  out += "){";
  const std::uint64_t statements = 2 + random.below(24);
  for (std::uint64_t s = 0; s < statements; ++s) {
    switch (random.below(6)) {
    case 0:
      out += "var " + words.pick(random) + "=" + words.pick(random) + "." + words.pick(random) + "(" +
             words.pick(random) + "," + std::to_string(random.below(1000)) + ");";
      break;
    case 1:
      out += "if(" + words.pick(random) + ">" + std::to_string(random.below(100)) + "){return " + words.pick(random) +
             "." + words.pick(random) + "}";
      break;
    case 2:
      out += words.pick(random) + "." + words.pick(random) + "=function(e){return e." + words.pick(random) + "+" +
             std::to_string(random.below(64)) + "};";
      break;
    case 3:
      out += "for(var i=0;i<" + words.pick(random) + ".length;i++){" + words.pick(random) + ".push(" +
             words.pick(random) + "[i])}";
      break;
    case 4:
      out += "t.exports={" + words.pick(random) + ":" + words.pick(random) + "," + words.pick(random) + ":!0};";
      break;
    default:
      out += "throw new Error(\"" + words.pick(random) + " " + words.pick(random) + " " + words.pick(random) + "\");";
      break;
    }
  }
  out += "}\n";
}

void style_module(const Vocabulary &words, std::uint64_t seed, std::string &out) {
  Random random(seed);
  static const char *const kProperties[] = {"color", "margin", "padding",    "display",     "font-size", "border",
                                            "width", "height", "background", "line-height", "flex",      "z-index"};
  out += "." + words.pick(random) + "-" + words.pick(random) + " ." + words.pick(random) + "{";
  const std::uint64_t declarations = 1 + random.below(8);
  for (std::uint64_t d = 0; d < declarations; ++d) {
    out += kProperties[random.below(12)];
    out += ':';
    switch (random.below(3)) {
    case 0: {
      static const char kHex[] = "0123456789abcdef";
      out += '#';
      for (int i = 0; i < 6; ++i) {
        out += kHex[random.below(16)];
      }
      break;
    }
    case 1:
      out += std::to_string(random.below(48)) + "px " + std::to_string(random.below(48)) + "px";
      break;
    default:
      out += words.pick(random);
      break;
    }
    out += ';';
  }
  out += "}\n";
}

// Source-map "mappings" are base64 VLQ: dense text that compresses about 2:1.
void map_module(std::uint64_t seed, std::string &out) {
  Random random(seed ^ 0x6d6170ull);
  static const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::uint64_t segments = 20 + random.below(200);
  for (std::uint64_t s = 0; s < segments; ++s) {
    out += "AAAA"[random.below(4)];
    const std::uint64_t length = 2 + random.below(4);
    for (std::uint64_t i = 0; i < length; ++i) {
      out += kBase64[random.below(random.below(4) == 0 ? 64 : 16)];
    }
    out += s + 1 == segments ? ';' : ',';
  }
}

std::string content_of(const Vocabulary &words, const FileSpec &spec) {
  std::string out;
  switch (spec.kind) {
  case Kind::Script:
    out += "\"use strict\";(self.webpackChunk=self.webpackChunk||[]).push([[" + spec.stem + "],{\n";
    for (std::uint64_t seed : spec.modules) {
      script_module(words, seed, out);
    }
    out += "}]);\n//# sourceMappingURL=" + spec.stem + ".map\n";
    break;
  case Kind::Style:
    for (std::uint64_t seed : spec.modules) {
      style_module(words, seed, out);
    }
    break;
  case Kind::Map:
    out += "{\"version\":3,\"file\":\"" + spec.stem + "\",\"mappings\":\"";
    for (std::uint64_t seed : spec.modules) {
      map_module(seed, out);
    }
    out += "\"}\n";
    break;
  case Kind::Binary: {
    out = spec.header;
    Random random(spec.binary_seed);
    while (out.size() < spec.binary_size) {
      const std::uint64_t value = random.next();
      for (int i = 0; i < 8 && out.size() < spec.binary_size; ++i) {
        out += static_cast<char>((value >> (8 * i)) & 0xff);
      }
    }
    break;
  }
  }
  return out;
}

std::string name_of(const FileSpec &spec, const std::string &content) {
  std::string name = spec.directory + "/" + spec.stem;
  if (spec.hashed_name) {
    name += "." + core::crypto::hex_encode(core::crypto::sha256(core::crypto::ByteView(content))).substr(0, 8);
  }
  return name + "." + spec.extension;
}

struct Version {
  std::vector<FileSpec> files;
};

FileSpec text_file(Random &random, std::string directory, std::string stem, std::string extension, Kind kind,
                   std::uint64_t bytes, std::uint64_t bytes_per_module) {
  FileSpec spec;
  spec.directory = std::move(directory);
  spec.stem = std::move(stem);
  spec.extension = std::move(extension);
  spec.kind = kind;
  const std::uint64_t modules = std::max<std::uint64_t>(1, bytes / bytes_per_module);
  for (std::uint64_t i = 0; i < modules; ++i) {
    spec.modules.push_back(random.next());
  }
  return spec;
}

FileSpec binary_file(Random &random, std::string stem, std::string extension, std::uint64_t bytes) {
  FileSpec spec;
  spec.directory = extension == "woff2" ? "static/fonts" : "static/img";
  spec.stem = std::move(stem);
  spec.extension = extension;
  spec.kind = Kind::Binary;
  spec.binary_seed = random.next();
  spec.binary_size = bytes;
  spec.header = extension == "png"     ? std::string("\x89PNG\r\n\x1a\n", 8)
                : extension == "woff2" ? std::string("wOF2")
                                       : std::string("\xff\xd8\xff\xe0", 4);
  return spec;
}

// Average module sizes, measured from the generators above.
constexpr std::uint64_t kScriptModuleBytes = 560;
constexpr std::uint64_t kStyleModuleBytes = 110;
constexpr std::uint64_t kMapModuleBytes = 600;

Version first_version(Random &random, std::uint64_t approximate_bytes) {
  Version version;
  std::uint64_t total = 0;
  auto add_script = [&](const std::string &stem, std::uint64_t bytes) {
    FileSpec script = text_file(random, "static/js", stem, "js", Kind::Script, bytes, kScriptModuleBytes);
    FileSpec map = script;
    map.extension = "js.map";
    map.kind = Kind::Map;
    total += bytes * 2; // a map is about its script's size
    version.files.push_back(std::move(script));
    version.files.push_back(std::move(map));
  };
  // About 60% scripts and maps, 10% styles, 30% images and fonts.
  add_script("chunk-vendors", approximate_bytes / 12);
  add_script("app", approximate_bytes / 40);
  for (int i = 0; total < approximate_bytes * 6 / 10; ++i) {
    add_script("page-" + std::to_string(i), random.log_uniform(4 << 10, 400 << 10));
  }
  for (int i = 0; total < approximate_bytes * 7 / 10; ++i) {
    const std::uint64_t bytes = random.log_uniform(2 << 10, 200 << 10);
    version.files.push_back(
        text_file(random, "static/css", "page-" + std::to_string(i), "css", Kind::Style, bytes, kStyleModuleBytes));
    total += bytes;
  }
  for (int i = 0; total < approximate_bytes; ++i) {
    static const char *const kExtensions[] = {"png", "jpg", "png", "woff2"};
    const char *extension = kExtensions[random.below(4)];
    const std::uint64_t bytes = random.log_uniform(4 << 10, 600 << 10);
    version.files.push_back(binary_file(random, "asset-" + std::to_string(i), extension, bytes));
    total += bytes;
  }
  return version;
}

// A release: edited chunks (a few modules replaced, one added) with their maps, edited
// styles, replaced images, a few files added and removed.
Version next_version(Random &random, const Version &previous) {
  Version next;
  std::vector<std::uint64_t> edited_scripts; // module-list owners, to keep maps in step
  for (const FileSpec &file : previous.files) {
    FileSpec changed = file;
    const double roll = random.unit();
    if (file.kind == Kind::Binary) {
      if (roll < 0.01) {
        continue; // removed
      }
      if (roll < 0.04) {
        changed.binary_seed = random.next(); // a new picture under the same name stem
      }
    } else if (file.kind == Kind::Map) {
      // Follows its script, the entry just before it; gone with it when it was removed.
      if (next.files.empty() || next.files.back().stem != file.stem) {
        continue;
      }
      changed.modules = next.files.back().modules;
    } else {
      const bool vendors = file.stem == "chunk-vendors";
      const bool edit = file.stem == "app" || (!vendors && roll < (file.kind == Kind::Script ? 0.15 : 0.10));
      if (!vendors && roll > 0.99) {
        // Removed, with its map.
        continue;
      }
      if (edit) {
        for (std::uint64_t &module : changed.modules) {
          if (random.unit() < 0.03) {
            module = random.next();
          }
        }
        changed.modules.insert(
            changed.modules.begin() + static_cast<std::ptrdiff_t>(random.below(changed.modules.size())), random.next());
      }
    }
    next.files.push_back(std::move(changed));
  }
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t bytes = random.log_uniform(4 << 10, 200 << 10);
    FileSpec script =
        text_file(random, "static/js", "feature-" + std::to_string(i), "js", Kind::Script, bytes, kScriptModuleBytes);
    FileSpec map = script;
    map.extension = "js.map";
    map.kind = Kind::Map;
    next.files.push_back(std::move(script));
    next.files.push_back(std::move(map));
  }
  for (int i = 0; i < 3; ++i) {
    next.files.push_back(
        binary_file(random, "new-asset-" + std::to_string(i), "png", random.log_uniform(8 << 10, 300 << 10)));
  }
  return next;
}

Status write_version(const Vocabulary &words, const Version &version, const std::filesystem::path &root) {
  std::error_code error;
  if (std::filesystem::exists(root, error)) {
    return make_error(ErrorCode::AlreadyExists, root.string() + " exists");
  }
  std::string html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>shop</title>\n";
  for (const FileSpec &file : version.files) {
    const std::string content = content_of(words, file);
    const std::string name = name_of(file, content);
    std::filesystem::create_directories(root / name.substr(0, name.rfind('/')), error);
    if (error) {
      return io::error_from_errno(error.value(), "mkdir", root / name);
    }
    if (Status s = io::create_new_file(root / name, content); !s) {
      return s;
    }
    if (file.kind == Kind::Script) {
      html += "<script defer src=\"/" + name + "\"></script>\n";
    } else if (file.kind == Kind::Style) {
      html += "<link rel=\"stylesheet\" href=\"/" + name + "\">\n";
    }
  }
  html += "</head><body><div id=\"app\"></div></body></html>\n";
  return io::create_new_file(root / "index.html", html);
}

} // namespace

Status write_synthetic_package_pair(const std::filesystem::path &old_root, const std::filesystem::path &new_root,
                                    std::uint64_t approximate_bytes, std::uint64_t seed) {
  const Vocabulary words(mix(seed, 1));
  Random random(mix(seed, 2));
  const Version first = first_version(random, approximate_bytes);
  const Version second = next_version(random, first);
  if (Status s = write_version(words, first, old_root); !s) {
    return s;
  }
  return write_version(words, second, new_root);
}

} // namespace mds::bench
