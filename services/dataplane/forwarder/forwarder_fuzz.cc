// Fuzz target: the forwarding graph with untrusted packets on both sides.
// Each input is (1) an "inner" packet read from site A's TUN device, which
// A encrypts and site B then decrypts, so the fuzzer reaches the code after
// a valid ICV (trailer, inner IPv4 parse, selector check); the same through
// sites C and D, whose SAs are an ESP+AH bundle; and (2) the same bytes as
// a received outer ESP packet at B and a received IPv4+AH packet at D.
// Nothing may crash, and what B and D deliver must be exactly what A and C
// took in.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/clock/clock.h"
#include "google/protobuf/text_format.h"
#include "services/dataplane/forwarder/engine.h"
#include "services/dataplane/forwarder/forwarder.h"

namespace vpnfleet::dataplane {
namespace {

struct Sink : PacketSink {
  std::vector<std::vector<uint8_t>> outer, inner;
  void ToOuter(Packet& p) noexcept override { outer.emplace_back(p.data(), p.data() + p.len); }
  void ToInner(Packet& p) noexcept override { inner.emplace_back(p.data(), p.data() + p.len); }
  void Handoff(uint32_t, Packet&, bool) noexcept override { std::abort(); }  // one worker
  void Emit(const ForwarderEvent&) noexcept override {}
};

void Install(Engine& e, const char* dir, const char* sel_src, const char* sel_dst, bool ah) {
  if (ah) {
    v1::SecurityAssociation sa;
    const std::string text = std::string(R"pb(key { spi: 4098 destination: "198.51.100.2"
        protocol: IPSEC_PROTOCOL_AH } mode: IPSEC_MODE_TUNNEL
        tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
        integrity: INTEGRITY_HMAC_SHA2_256_128
        integrity_key: "0123456789abcdef0123456789abcdef" reqid: 1 direction: )pb") + dir;
    if (!google::protobuf::TextFormat::ParseFromString(text, &sa) || !e.AddSa(sa).ok()) {
      std::abort();
    }
  }
  v1::SecurityAssociation sa;
  std::string text = std::string(R"pb(key { spi: 4097 destination: "198.51.100.2"
      protocol: IPSEC_PROTOCOL_ESP } mode: IPSEC_MODE_TUNNEL
      tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
      encryption: ENCRYPTION_AES_CBC_128 encryption_key: "0123456789abcdef"
      integrity: INTEGRITY_HMAC_SHA1_96 integrity_key: "0123456789abcdef0123"
      reqid: 1 selectors { source { address: ")pb") + sel_src +
      R"pb(" length: 8 } destination { address: ")pb" + sel_dst +
      R"pb(" length: 8 } } direction: )pb" + dir;
  if (!google::protobuf::TextFormat::ParseFromString(text, &sa) || !e.AddSa(sa).ok()) std::abort();
  v1::SpdPolicy p;
  if (!google::protobuf::TextFormat::ParseFromString(
          R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_PROTECT reqid: 1
               tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
               selector { source { address: "10.0.0.0" length: 8 }
                          destination { address: "10.0.0.0" length: 8 } })pb", &p) ||
      !e.AddPolicy(p).ok()) {
    std::abort();
  }
}

void Run(Forwarder& f, const ForwardingTables& t, const uint8_t* data, size_t size, bool inner,
         Sink& sink, uint8_t outer_proto = 50) {
  std::vector<uint8_t> buffer(4096);
  if (size > 4096 - 128 - 64) size = 4096 - 128 - 64;
  Packet p;
  p.buffer = buffer.data();
  p.capacity = 4096;
  p.offset = 128;
  p.len = static_cast<uint32_t>(size);
  if (size) std::memcpy(p.data(), data, size);
  p.outer_src = 0xC6336401;
  p.outer_dst = 0xC6336402;
  p.outer_proto = outer_proto;
  Frame frame;
  frame.packets[0] = &p;
  frame.size = 1;
  if (inner) {
    f.FromInner(t, frame, 1, sink);
  } else {
    f.FromOuter(t, frame, 1, sink);
  }
}

}  // namespace
}  // namespace vpnfleet::dataplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpnfleet::dataplane;
  static vpnfleet::FakeClock clock;
  auto site = [](const char* dir, bool ah) {
    auto* e = new Engine(&clock, {});
    Install(*e, dir, "10.0.0.0", "10.0.0.0", ah);
    return e;
  };
  static Engine* a = site("DIRECTION_OUTBOUND", false);
  static Engine* b = site("DIRECTION_INBOUND", false);
  static Engine* c = site("DIRECTION_OUTBOUND", true);
  static Engine* d = site("DIRECTION_INBOUND", true);
  static ForwarderCounters ca, cb, cc, cd;
  static Forwarder fa({}, &ca), fb({}, &cb), fc({}, &cc), fd({}, &cd);
  auto through = [&](Forwarder& from, Engine& e_from, Forwarder& to, Engine& e_to,
                     uint8_t proto) {
    Sink at_from, at_to;
    Run(from, *e_from.tables(), data, size, /*inner=*/true, at_from);
    for (const auto& wire : at_from.outer) {
      Run(to, *e_to.tables(), wire.data(), wire.size(), false, at_to, proto);
    }
    for (const auto& got : at_to.inner) {
      if (got.size() > size || std::memcmp(got.data(), data, got.size()) != 0) std::abort();
    }
  };
  through(fa, *a, fb, *b, 50);
  through(fc, *c, fd, *d, 51);
  Sink raw;
  Run(fb, *b->tables(), data, size, /*inner=*/false, raw, 50);
  Run(fd, *d->tables(), data, size, /*inner=*/false, raw, 51);
  return 0;
}
