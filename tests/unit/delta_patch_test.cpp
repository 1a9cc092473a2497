// Patch entries (docs/delta.md, "Patch entries"): approximate matches against any base
// file, as control, diff and extra streams. Round trips through the encoder, and
// hand-written patches that the reader must refuse with their codes.
#include "core/delta/patch.hpp"
#include "fuzz/delta_fixture.hpp"
#include "unit/delta_test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

using namespace mds::delta_test;

namespace {

Bytes varints(const std::vector<std::uint64_t> &values) {
  Bytes out;
  for (std::uint64_t value : values) {
    while (value >= 0x80) {
      out.push_back(static_cast<std::uint8_t>(value | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(value));
  }
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// Copy, extra, seek: one instruction of a control stream.
using Instruction = std::tuple<std::uint64_t, std::uint64_t, std::int64_t>;

Bytes instructions(const std::vector<Instruction> &list) {
  std::vector<std::uint64_t> values;
  for (const auto &[copy, extra, seek] : list) {
    values.push_back(copy);
    values.push_back(extra);
    values.push_back(patch::zigzag(seek));
  }
  return varints(values);
}

// Versions of a small package with near matches. Base by index: 0 a.js "alpha", 1 b.js
// "bravo". Target by index: 0 a.js (an implied copy), 1 b.js "bravO!", 2 c.js "alphabet".
const Tree kBase = {{"a.js", text_bytes("alpha")}, {"b.js", text_bytes("bravo")}};
const Tree kTarget = {{"a.js", text_bytes("alpha")}, {"b.js", text_bytes("bravO!")}, {"c.js", text_bytes("alphabet")}};

// The valid patch producing b.js and c.js from "alphabravo" (the references a.js, b.js):
// seek to "bravo", copy it with 'o' + 0xE0 = 'O', add "!", seek back, copy "alpha", add
// "bet".
struct PatchParts {
  Bytes lists = varints({2, 0, 0, 2, 0}); // references: gaps 0, 0; outputs: 2, skip 0
  std::vector<Instruction> steps = {{0, 0, 5}, {5, 1, -10}, {5, 3, 0}};
  Bytes diff = concat({varints({1, 4, 1}), {0xE0}}); // one run: gap 4, length 1, byte 0xE0
  Bytes extra = text_bytes("!bet");

  Bytes control() const { return concat({lists, instructions(steps)}); }
  std::vector<std::uint64_t> sizes() const { return {control().size(), diff.size(), extra.size()}; }
  std::vector<Bytes> frames() const {
    return {zstd_frame(control()), diff.empty() ? Bytes() : zstd_frame(diff),
            extra.empty() ? Bytes() : zstd_frame(extra)};
  }
};

Bytes patch_delta(const PatchParts &parts, unsigned window_log = 20) {
  return Crafted(manifest_of(kBase), manifest_of(kTarget, "1.1.0"), 1, window_log)
      .patch(1, parts.sizes(), parts.frames())
      .bytes;
}

// Text files that differ by version strings and shifted numbers inside otherwise equal
// lines, as a release's builds do.
Tree versioned_tree(const std::string &version, int shift) {
  Tree tree;
  for (int file = 0; file < 40; ++file) {
    std::string text = "/*! lib v" + version + " | MIT */\n";
    for (int line = 0; line < 60; ++line) {
      text += "export const item" + std::to_string(line) + " = { offset: " + std::to_string(line * 17 + shift) +
              ", name: \"" + source_like(40, static_cast<std::uint32_t>(file * 100 + line)) + "\" };\n";
    }
    tree["dist/part" + std::to_string(file) + ".js"] = text_bytes(text);
  }
  return tree;
}

} // namespace

TEST_CASE("delta patch: near matches cost less than zstd frames") {
  const Tree base = versioned_tree("5.3.2", 0);
  const Tree target = versioned_tree("5.3.3", 3);
  EncodeStats stats;
  EncodeOptions options;
  options.stats = &stats;
  const std::size_t with_patches = round_trip(base, target, options);
  CHECK(stats.patch_entries > 0);
  EncodeOptions frames_only;
  frames_only.patch_entries = false;
  frames_only.stats = &stats;
  const std::size_t with_frames = round_trip(base, target, frames_only);
  CHECK(stats.patch_entries == 0);
  WARN("40 files, version and shifted numbers: " << with_patches << " bytes with patches, " << with_frames
                                                 << " with frames only");
  CHECK(with_patches < with_frames);
}

TEST_CASE("delta patch: round trips in pieces of any size") {
  Tree base = versioned_tree("1.0.0", 0);
  base["img/logo.bin"] = random_bytes(5000, 4);
  Tree target = versioned_tree("1.0.1", 1);
  target["img/logo.bin"] = base["img/logo.bin"];
  target["img/logo.bin"][100] ^= 1;
  target["dist/added.js"] = text_bytes(source_like(3000, 8));   // a new file among the outputs
  target["dist/renamed.js"] = base["dist/part3.js"];            // a copy entry between patches
  target["dist/part7.js"] = text_bytes(std::string(2000, 'x')); // mostly extra bytes
  target.erase("dist/part9.js");
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    EncodeStats stats;
    EncodeOptions options;
    options.stats = &stats;
    round_trip(base, target, options, piece);
    CHECK(stats.patch_entries > 0);
  }
}

TEST_CASE("delta patch: the matcher's streams rebuild the target") {
  // make_patch's instructions, applied by hand: copy + diff, extra, seek.
  const Bytes reference = text_bytes(source_like(20000, 1) + "tail");
  std::string changed = source_like(20000, 1);
  changed[500] = '#';
  changed.insert(9000, "inserted text");
  changed = source_like(300, 2) + changed;
  const Bytes target = text_bytes(changed);
  const patch::Streams streams = patch::make_patch(reference, target);
  // Expand the sparse diff.
  std::vector<std::uint64_t> gaps, lengths;
  std::size_t at = 0;
  auto next = [&](const Bytes &in) {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      const std::uint8_t byte = in[at++];
      value |= std::uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) {
        return value;
      }
    }
  };
  Bytes dense;
  if (!streams.diff.empty()) {
    const std::uint64_t count = next(streams.diff);
    for (std::uint64_t i = 0; i < count; ++i) {
      gaps.push_back(next(streams.diff));
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      lengths.push_back(next(streams.diff));
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      dense.insert(dense.end(), gaps[i], 0);
      dense.insert(dense.end(), streams.diff.begin() + static_cast<std::ptrdiff_t>(at),
                   streams.diff.begin() + static_cast<std::ptrdiff_t>(at + lengths[i]));
      at += lengths[i];
    }
  }
  Bytes rebuilt;
  std::size_t extra_at = 0;
  std::int64_t position = 0;
  at = 0;
  while (at < streams.control.size()) {
    const std::uint64_t copy = next(streams.control);
    const std::uint64_t extra = next(streams.control);
    const std::int64_t seek = patch::unzigzag(next(streams.control));
    for (std::uint64_t i = 0; i < copy; ++i) {
      const std::size_t d = rebuilt.size() - extra_at;
      rebuilt.push_back(static_cast<std::uint8_t>(reference[static_cast<std::size_t>(position) + i] +
                                                  (d < dense.size() ? dense[d] : 0)));
    }
    position += static_cast<std::int64_t>(copy);
    rebuilt.insert(rebuilt.end(), streams.extra.begin() + static_cast<std::ptrdiff_t>(extra_at),
                   streams.extra.begin() + static_cast<std::ptrdiff_t>(extra_at + extra));
    extra_at += extra;
    position += seek;
    REQUIRE(position >= 0);
    REQUIRE(static_cast<std::size_t>(position) <= reference.size());
  }
  CHECK(rebuilt == target);
  CHECK(streams.extra.size() < 400); // the 300 new bytes, the insertion, hardly more
}

TEST_CASE("delta patch: every truncation and every flipped byte is refused or harmless") {
  const Tree base = versioned_tree("2.0.0", 0);
  const Tree target = versioned_tree("2.0.1", 2);
  const Manifest b = manifest_of(base), t = manifest_of(target, "1.1.0");
  EncodeStats stats;
  EncodeOptions options;
  options.stats = &stats;
  const Bytes delta = encode_delta(b, bytes_from(base), t, bytes_from(target), options).value();
  REQUIRE(stats.patch_entries > 0);
  for (std::size_t length = 0; length < delta.size(); ++length) {
    INFO("prefix of " << length << " bytes");
    CHECK(apply(b, t, base, ByteView(delta.data(), length)).code() == ErrorCode::DeltaInvalid);
  }
  std::size_t unchanged = 0;
  for (std::size_t at = 91; at < delta.size(); ++at) {
    Bytes flipped = delta;
    flipped[at] ^= 0x01;
    MemorySink sink(base);
    DeltaReader reader(b, t, sink);
    Status status = reader.feed(flipped);
    if (status) {
      status = reader.finish();
    }
    INFO("offset " << at);
    CHECK(sink.references_open == 0);
    const ErrorCode code = status.code();
    if (code == ErrorCode::Ok) {
      CHECK(sink.written == target); // verified by every file's hash
      ++unchanged;
    } else {
      CHECK((code == ErrorCode::DeltaInvalid || code == ErrorCode::FileHashMismatch ||
             code == ErrorCode::FileSizeMismatch || code == ErrorCode::DecompressionBomb));
    }
  }
  CHECK(unchanged * 20 < delta.size());
}

TEST_CASE("delta patch: hand-made patches are refused with their codes") {
  const Manifest b = manifest_of(kBase);
  const Manifest t = manifest_of(kTarget, "1.1.0");
  struct Case {
    const char *name;
    Bytes delta;
    ErrorCode code;
  };
  const auto with = [](auto change) {
    PatchParts parts;
    change(parts);
    return patch_delta(parts);
  };
  const auto with_frames = [&](auto change) {
    const PatchParts parts;
    std::vector<std::uint64_t> sizes = parts.sizes();
    std::vector<Bytes> frames = parts.frames();
    change(sizes, frames);
    return Crafted(b, t, 1).patch(1, sizes, frames).bytes;
  };
  Tree garbled = kBase;
  garbled["b.js"][0] ^= 1;

  const std::vector<Case> cases = {
      {"valid", with([](PatchParts &) {}), ErrorCode::Ok},
      {"valid, no diff stream", with([](PatchParts &p) {
         p.steps = {{0, 0, 5}, {4, 2, -9}, {5, 3, 0}};
         p.extra = text_bytes("O!bet");
         p.diff.clear();
       }),
       ErrorCode::Ok},
      // Lists at the start of the control stream.
      {"no references", with([](PatchParts &p) {
         p.lists = varints({0, 2, 0});
       }),
       ErrorCode::DeltaInvalid},
      {"a reference beyond the base", with([](PatchParts &p) {
         p.lists = varints({2, 0, 1, 2, 0});
       }),
       ErrorCode::DeltaInvalid},
      {"more references than allowed", with([](PatchParts &p) { p.lists = varints({4097}); }), ErrorCode::DeltaInvalid},
      {"no outputs", with([](PatchParts &p) {
         p.lists = varints({2, 0, 0, 0});
       }),
       ErrorCode::DeltaInvalid},
      {"an output beyond the target", with([](PatchParts &p) {
         p.lists = varints({2, 0, 0, 2, 1});
       }),
       ErrorCode::DeltaInvalid},
      {"the lists cut short", with([](PatchParts &p) {
         p.lists = varints({2, 0});
         p.steps.clear();
       }),
       ErrorCode::DeltaInvalid},
      // Instructions.
      {"an instruction cut short", with([](PatchParts &p) { p.lists.push_back(0x80); }), ErrorCode::DeltaInvalid},
      {"a copy beyond the references", with([](PatchParts &p) {
         p.steps[0] = {11, 0, 0};
       }),
       ErrorCode::DeltaInvalid},
      {"a seek before the references", with([](PatchParts &p) {
         p.steps[0] = {0, 0, -1};
       }),
       ErrorCode::DeltaInvalid},
      {"a seek beyond the references", with([](PatchParts &p) {
         p.steps[0] = {0, 0, 11};
       }),
       ErrorCode::DeltaInvalid},
      {"more extra bytes than the stream has", with([](PatchParts &p) {
         p.steps[2] = {5, 4, 0};
       }),
       ErrorCode::DeltaInvalid},
      {"extra bytes left unused", with([](PatchParts &p) { p.extra = text_bytes("!betX"); }), ErrorCode::DeltaInvalid},
      {"fewer bytes than the outputs", with([](PatchParts &p) {
         p.steps[2] = {5, 0, 0};
         p.extra = text_bytes("!");
       }),
       ErrorCode::FileSizeMismatch},
      {"more bytes than the outputs", with([](PatchParts &p) {
         p.steps[2] = {5, 4, 0};
         p.extra = text_bytes("!betX");
       }),
       ErrorCode::DecompressionBomb},
      {"other content", with([](PatchParts &p) {
         p.diff = concat({varints({1, 4, 1}), {0xE1}});
       }),
       ErrorCode::FileHashMismatch},
      // The diff stream.
      {"a diff run beyond the copied bytes", with([](PatchParts &p) {
         p.diff = concat({varints({2, 4, 20, 1, 1}), {0xE0, 0x01}});
       }),
       ErrorCode::DeltaInvalid},
      {"a diff run of no bytes", with([](PatchParts &p) {
         p.diff = varints({1, 4, 0});
       }),
       ErrorCode::DeltaInvalid},
      {"a diff with more bytes than its runs", with([](PatchParts &p) {
         p.diff = concat({varints({1, 4, 1}), {0xE0, 0}});
       }),
       ErrorCode::DeltaInvalid},
      {"a diff with fewer bytes than its runs", with([](PatchParts &p) {
         p.diff = concat({varints({1, 4, 2}), {0xE0}});
       }),
       ErrorCode::DeltaInvalid},
      {"a diff of no runs", with([](PatchParts &p) { p.diff = varints({0}); }), ErrorCode::DeltaInvalid},
      // Stream sizes, lengths and frames.
      {"no control stream", with_frames([](auto &sizes, auto &frames) {
         sizes[0] = 0;
         frames[0].clear();
       }),
       ErrorCode::DeltaInvalid},
      {"a stream larger than declared", with_frames([](auto &sizes, auto &) { --sizes[2]; }),
       ErrorCode::DecompressionBomb},
      {"a stream smaller than declared", with_frames([](auto &sizes, auto &) { ++sizes[2]; }), ErrorCode::DeltaInvalid},
      {"a non-empty stream without a frame", with_frames([](auto &, auto &frames) { frames[2].clear(); }),
       ErrorCode::DeltaInvalid},
      {"an empty stream with a frame", with_frames([](auto &sizes, auto &frames) {
         sizes.push_back(0);
         std::swap(sizes[2], sizes[3]);
         sizes.pop_back();
         frames[2] = zstd_frame(Bytes());
       }),
       ErrorCode::DeltaInvalid},
      {"two frames in one stream", with_frames([](auto &sizes, auto &frames) {
         const Bytes again = zstd_frame(text_bytes("!bet"));
         frames[2].insert(frames[2].end(), again.begin(), again.end());
         sizes[2] = 8;
       }),
       ErrorCode::DeltaInvalid},
      {"a skippable frame", with_frames([](auto &, auto &frames) { frames[2] = {0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0}; }),
       ErrorCode::DeltaInvalid},
      {"a frame cut short", with_frames([](auto &, auto &frames) { frames[2].pop_back(); }), ErrorCode::DeltaInvalid},
      {"streams beyond the window",
       Crafted(b, t, 1, 10).patch(1, {600, 0, 600}, {zstd_frame(Bytes(600, 0)), {}, zstd_frame(Bytes(600, 0))}).bytes,
       ErrorCode::DeltaInvalid},
      {"an unknown source", Crafted(b, t, 1).raw({1, 4}).bytes, ErrorCode::DeltaInvalid},
  };
  for (const Case &c : cases) {
    INFO(c.name);
    CHECK(apply(b, t, kBase, c.delta).code() == c.code);
  }
  // The installed reference differs from the base manifest.
  CHECK(apply(b, t, garbled, patch_delta(PatchParts())).code() == ErrorCode::DeltaInvalid);
}

TEST_CASE("delta patch: the fuzzer's patch seed is a patch for its fixture") {
  // The encoder keeps frames for the fixture's tiny files, so the seed's patch is
  // assembled here from the matcher's streams: app.js and extra.js against app.js, then a
  // copy of img/dot.bin. Target by index: 0 app.js, 1 extra.js, 2 img/dot-copy.bin, 3
  // index.html (an implied copy); base: 0 app.js, 1 img/dot.bin, 2 index.html.
  const mds::fuzz::Tree base = mds::fuzz::delta_base_tree();
  const mds::fuzz::Tree target = mds::fuzz::delta_target_tree();
  const Manifest b = mds::fuzz::delta_manifest(base, "1.0.0");
  const Manifest t = mds::fuzz::delta_manifest(target, "1.1.0");
  const Bytes outputs = concat({target.at("app.js"), target.at("extra.js")});
  patch::Streams streams = patch::make_patch(base.at("app.js"), outputs);
  const Bytes control = concat({varints({1, 0, 2, 0}), streams.control});
  const Bytes delta = Crafted(b, t, 2)
                          .patch(0, {control.size(), streams.diff.size(), streams.extra.size()},
                                 {zstd_frame(control), streams.diff.empty() ? Bytes() : zstd_frame(streams.diff),
                                  streams.extra.empty() ? Bytes() : zstd_frame(streams.extra)})
                          .copy(0, 1)
                          .bytes;
  CHECK(apply(b, t, base, delta).ok());
  std::ifstream in(std::string(MDS_TEST_DATA_DIR) + "/../fuzz/corpus/fuzz_delta/patch.delta", std::ios::binary);
  const Bytes stored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (std::getenv("MDS_WRITE_FUZZ_SEEDS") != nullptr) {
    std::ofstream(std::string(MDS_TEST_DATA_DIR) + "/../fuzz/corpus/fuzz_delta/patch.delta", std::ios::binary)
        .write(reinterpret_cast<const char *>(delta.data()), static_cast<std::streamsize>(delta.size()));
  } else {
    CHECK(stored == delta);
  }
}
