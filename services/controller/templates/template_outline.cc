#include "services/controller/templates/template_outline.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::controller {
namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

uint64_t Add(uint64_t a, uint64_t b) { return a > kSaturated - b ? kSaturated : a + b; }
uint64_t Mul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kSaturated / b ? kSaturated : a * b;
}

// A name as quoted in an error: at most 40 characters.
std::string Quoted(absl::string_view name) {
  return absl::StrCat("'", name.substr(0, 40), name.size() > 40 ? "...'" : "'");
}

std::string LastPart(absl::string_view name) {
  const size_t dot = name.rfind('.');
  return std::string(dot == absl::string_view::npos ? name : name.substr(dot + 1));
}

}  // namespace

absl::StatusOr<std::vector<OutlineNode>> Outline(absl::string_view body) {
  if (body.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: ", body.size(), " bytes; at most ", kMaxTemplateBytes, " are accepted"));
  }
  // The open sections, innermost last; each holds the children read so far.
  std::vector<OutlineNode> stack(1);
  size_t tags = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t open = body.find("{{", pos);
    const size_t text_end = open == absl::string_view::npos ? body.size() : open;
    if (text_end > pos) {
      OutlineNode text;
      text.bytes = text_end - pos;
      stack.back().children.push_back(std::move(text));
    }
    if (open == absl::string_view::npos) break;
    if (++tags > kMaxTags) {
      return absl::InvalidArgumentError(absl::StrCat("body: more than ", kMaxTags, " tags"));
    }
    const bool triple = body.substr(open, 3) == "{{{";
    const absl::string_view closer = triple ? "}}}" : "}}";
    const size_t inner = open + (triple ? 3 : 2);
    const size_t close = body.find(closer, inner);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("body: a tag opened at byte ", open, " is not closed"));
    }
    absl::string_view tag = absl::StripAsciiWhitespace(body.substr(inner, close - inner));
    pos = close + closer.size();
    const char kind = tag.empty() || triple ? '\0' : tag[0];
    absl::string_view name = absl::StripAsciiWhitespace(
        kind == '#' || kind == '^' || kind == '/' || kind == '&' || kind == '!' ? tag.substr(1) : tag);
    switch (kind) {
      case '!':
        break;  // a comment
      case '>':
        return absl::InvalidArgumentError("body: partials ({{>...}}) are not supported");
      case '=':
        return absl::InvalidArgumentError("body: delimiter changes ({{=...=}}) are not supported");
      case '#':
      case '^': {
        if (static_cast<int>(stack.size()) > kMaxSectionDepth) {
          return absl::InvalidArgumentError(
              absl::StrCat("body: sections nested deeper than ", kMaxSectionDepth, " (at ", Quoted(name), ")"));
        }
        OutlineNode section;
        section.kind = kind == '#' ? OutlineNode::Kind::kSection : OutlineNode::Kind::kInvertedSection;
        section.name = std::string(name);
        stack.push_back(std::move(section));
        break;
      }
      case '/': {
        if (stack.size() == 1 || stack.back().name != name) {
          return absl::InvalidArgumentError(
              absl::StrCat("body: {{/", name.substr(0, 40), "}} closes no open section of that name"));
        }
        OutlineNode done = std::move(stack.back());
        stack.pop_back();
        done.name = LastPart(done.name);
        stack.back().children.push_back(std::move(done));
        break;
      }
      default: {
        OutlineNode variable;
        variable.kind = OutlineNode::Kind::kVariable;
        variable.name = LastPart(name);
        stack.back().children.push_back(std::move(variable));
      }
    }
  }
  if (stack.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("body: section ", Quoted(stack.back().name), " is not closed"));
  }
  return std::move(stack[0].children);
}

uint64_t RenderBound(const std::vector<OutlineNode>& nodes, const NameBound& repeat,
                     const NameBound& variable_bytes) {
  uint64_t total = 0;
  for (const OutlineNode& n : nodes) {
    switch (n.kind) {
      case OutlineNode::Kind::kText:
        total = Add(total, n.bytes);
        break;
      case OutlineNode::Kind::kVariable:
        total = Add(total, variable_bytes(n.name));
        break;
      case OutlineNode::Kind::kSection:
        total = Add(total, Mul(repeat(n.name), RenderBound(n.children, repeat, variable_bytes)));
        break;
      case OutlineNode::Kind::kInvertedSection:  // renders at most once
        total = Add(total, RenderBound(n.children, repeat, variable_bytes));
        break;
    }
  }
  return total;
}

std::vector<OutlineNode> Prune(const std::vector<OutlineNode>& nodes, const KnownTruth& known) {
  std::vector<OutlineNode> out;
  out.reserve(nodes.size());
  for (const OutlineNode& n : nodes) {
    if (n.kind == OutlineNode::Kind::kSection || n.kind == OutlineNode::Kind::kInvertedSection) {
      if (const std::optional<bool> truth = known(n.name); truth.has_value()) {
        const bool renders = n.kind == OutlineNode::Kind::kSection ? *truth : !*truth;
        if (!renders) continue;
      }
      OutlineNode kept{n.kind, n.name, n.bytes, Prune(n.children, known)};
      out.push_back(std::move(kept));
      continue;
    }
    out.push_back(n);
  }
  return out;
}

bool Mentions(const std::vector<OutlineNode>& nodes, const std::string& name) {
  for (const OutlineNode& n : nodes) {
    if (n.kind != OutlineNode::Kind::kText && n.name == name) return true;
    if (Mentions(n.children, name)) return true;
  }
  return false;
}

}  // namespace vpnfleet::controller
