#include "services/dataplane/io/tun_writer.h"

#include <sys/uio.h>
#include <unistd.h>

#include <array>

namespace vpnfleet::dataplane {

void TunWriter::WritePieces(const VnetHeader& vnet, const uint8_t* const* pieces,
                            const size_t* sizes, size_t n, size_t segments) noexcept {
  uint8_t header[kVnetHeaderSize];
  WriteVnetHeader(vnet, header);
  std::array<struct iovec, TcpCoalescer::kMaxSegments + 1> iov;
  iov[0] = {header, sizeof header};
  for (size_t i = 0; i < n; ++i) iov[i + 1] = {const_cast<uint8_t*>(pieces[i]), sizes[i]};
  if (writev(fd_, iov.data(), static_cast<int>(n + 1)) > 0) {
    counters_->inner_tx += segments;
    if (segments > 1) ++counters_->tun_gro_tx;
  } else {
    counters_->drops[static_cast<size_t>(ForwardDrop::kSendError)] += segments;
  }
}

void TunWriter::Write(const Packet& p) noexcept {
  if (!vnet_hdr_) {
    if (write(fd_, p.data(), p.len) == static_cast<ssize_t>(p.len)) {
      ++counters_->inner_tx;
    } else {
      ++counters_->drops[static_cast<size_t>(ForwardDrop::kSendError)];
    }
    return;
  }
  switch (gro_.Offer(p.data(), p.len)) {
    case TcpCoalescer::Result::kAppended:
      return;
    case TcpCoalescer::Result::kFlushFirst:
      Flush();
      if (gro_.Offer(p.data(), p.len) == TcpCoalescer::Result::kAppended) return;
      break;
    case TcpCoalescer::Result::kNotCandidate:
      Flush();
      break;
  }
  const uint8_t* piece = p.data();
  const size_t size = p.len;
  WritePieces(VnetHeader(), &piece, &size, 1, 1);
}

void TunWriter::Flush() noexcept {
  if (!gro_.pending()) return;
  VnetHeader vnet;
  std::array<const uint8_t*, TcpCoalescer::kMaxSegments> pieces;
  std::array<size_t, TcpCoalescer::kMaxSegments> sizes;
  const size_t n = gro_.Finish(&vnet, pieces.data(), sizes.data());
  WritePieces(vnet, pieces.data(), sizes.data(), n, n);
}

}  // namespace vpnfleet::dataplane
