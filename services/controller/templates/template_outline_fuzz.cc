// Fuzz target: any text as a template body through Outline, and what it
// accepts through RenderBound with long lists. Neither may crash; an
// accepted outline nests no deeper than the limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/controller/templates/template_outline.h"

namespace {

int Depth(const std::vector<vpnfleet::controller::OutlineNode>& nodes) {
  int deepest = 0;
  for (const auto& n : nodes) {
    if (n.kind == vpnfleet::controller::OutlineNode::Kind::kSection ||
        n.kind == vpnfleet::controller::OutlineNode::Kind::kInvertedSection) {
      deepest = std::max(deepest, 1 + Depth(n.children));
    }
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpnfleet::controller;
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto outline = Outline(body);
  if (!outline.ok()) return 0;
  if (Depth(*outline) > kMaxSectionDepth) __builtin_trap();
  RenderBound(
      *outline, [](const std::string& name) -> uint64_t { return name.size() * 10000; },
      [](const std::string& name) -> uint64_t { return uint64_t{1} << (name.size() % 64); });
  return 0;
}
