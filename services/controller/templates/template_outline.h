// The shape of a mustache template, read before the mustache library sees
// it, so that a hostile template cannot exhaust the controller: the library
// parses sections recursively (8,000 nested sections took 10.8 s and 638 MiB
// to parse) and renders sections nested over lists as their product (three
// `{{#peers}}` inside each other over 10,000 peers is 10^12 copies).
//
// Outline() refuses bodies over kMaxTemplateBytes, more than kMaxTags tags,
// sections nested deeper than kMaxSectionDepth, and the tags our templates
// never need (partials, delimiter changes); RenderBound() is an upper bound
// of the rendered size given how long each list may be, checked against
// kMaxRenderedBytes before rendering.
#ifndef VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_TEMPLATE_OUTLINE_H_
#define VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_TEMPLATE_OUTLINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vpnfleet::controller {

inline constexpr size_t kMaxTemplateBytes = 1 << 20;
inline constexpr size_t kMaxTags = 100000;
inline constexpr int kMaxSectionDepth = 16;
inline constexpr uint64_t kMaxRenderedBytes = uint64_t{64} << 20;

struct OutlineNode {
  enum class Kind { kText, kVariable, kSection, kInvertedSection };
  Kind kind = Kind::kText;
  std::string name;    // variables and sections; the last dotted part
  uint64_t bytes = 0;  // text
  std::vector<OutlineNode> children;
};

absl::StatusOr<std::vector<OutlineNode>> Outline(absl::string_view body);

// `repeat(name)`: how many times a section of that name can render (a
// list's longest length, 1 for anything else); `variable_bytes(name)`: the
// longest value a variable of that name can have. Saturates at UINT64_MAX.
using NameBound = std::function<uint64_t(const std::string& name)>;
uint64_t RenderBound(const std::vector<OutlineNode>& nodes, const NameBound& repeat,
                     const NameBound& variable_bytes);

// The outline without the sections that cannot render: `known(name)` is
// the truth of a name whose value is decided before rendering (the role and
// authentication booleans), nullopt for the rest. A section of a false name
// and an inverted section of a true one go, with all inside them. Names are
// looked up at any depth: the lists' items never define the known names.
using KnownTruth = std::function<std::optional<bool>(const std::string& name)>;
std::vector<OutlineNode> Prune(const std::vector<OutlineNode>& nodes, const KnownTruth& known);

// Whether a variable or section of that name remains anywhere.
bool Mentions(const std::vector<OutlineNode>& nodes, const std::string& name);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_TEMPLATE_OUTLINE_H_
