// Fuzz target: what a TUN read returns with IFF_VNET_HDR (a virtio-net
// header, then a packet that may be a GSO super-packet) through the
// segmenter, and the segments (and the input itself) through the TCP
// coalescer. Nothing reads or writes outside its buffer, segments never
// exceed the room given, and a coalesced super-packet never exceeds 65,535
// bytes or kMaxSegments pieces.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "services/dataplane/packet/offload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpnfleet::dataplane;
  if (size < kVnetHeaderSize) return 0;
  const VnetHeader h = ReadVnetHeader(data);
  // A copy of exactly the packet's size, so reading past it is caught.
  std::vector<uint8_t> packet(data + kVnetHeaderSize, data + size);
  Segmenter s;
  std::vector<std::vector<uint8_t>> segments;
  if (s.Init(h, packet.data(), packet.size()) == OffloadError::kOk) {
    if (s.count() > Segmenter::kMaxSegments) std::abort();
    while (!s.done()) {
      std::vector<uint8_t> out(1500);
      size_t n = 0;
      if (s.Next(out.data(), out.size(), &n) != OffloadError::kOk) break;
      if (n > out.size()) std::abort();
      out.resize(n);
      segments.push_back(std::move(out));
    }
  }
  segments.push_back(packet);
  TcpCoalescer c;
  const uint8_t* pieces[TcpCoalescer::kMaxSegments];
  size_t sizes[TcpCoalescer::kMaxSegments];
  auto finish = [&] {
    VnetHeader v;
    const size_t n = c.Finish(&v, pieces, sizes);
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) total += sizes[i];
    if (n > TcpCoalescer::kMaxSegments || total > 65535) std::abort();
  };
  for (auto& seg : segments) {
    if (c.Offer(seg.data(), seg.size()) == TcpCoalescer::Result::kFlushFirst) {
      finish();
      if (c.Offer(seg.data(), seg.size()) == TcpCoalescer::Result::kFlushFirst) std::abort();
    }
  }
  finish();
  return 0;
}
