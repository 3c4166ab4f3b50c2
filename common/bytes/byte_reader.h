// Bounds-checked reading of network-order fields from untrusted bytes: every
// codec reads through one of these, so no parser does its own arithmetic on
// offsets. A read past the end fails (returns false) and leaves the reader
// where it was; nothing throws or asserts.
#ifndef VPNFLEET_COMMON_BYTES_BYTE_READER_H_
#define VPNFLEET_COMMON_BYTES_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace vpnfleet::bytes {

class ByteReader {
 public:
  explicit ByteReader(absl::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  bool U8(uint8_t* out) {
    if (remaining() < 1) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U16(uint16_t* out) {
    if (remaining() < 2) return false;
    *out = static_cast<uint16_t>(Byte(0) << 8 | Byte(1));
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t* out) {
    if (remaining() < 4) return false;
    *out = static_cast<uint32_t>(Byte(0)) << 24 | static_cast<uint32_t>(Byte(1)) << 16 |
           static_cast<uint32_t>(Byte(2)) << 8 | Byte(3);
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t* out) {
    uint32_t hi = 0, lo = 0;
    if (remaining() < 8) return false;
    U32(&hi);
    U32(&lo);
    *out = static_cast<uint64_t>(hi) << 32 | lo;
    return true;
  }
  // The next `n` bytes, as a view into the input.
  bool Bytes(size_t n, absl::string_view* out) {
    if (remaining() < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    absl::string_view v;
    if (!Bytes(n, &v)) return false;
    out->assign(v.data(), v.size());
    return true;
  }
  bool Skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  absl::string_view Rest() {
    absl::string_view v = data_.substr(pos_);
    pos_ = data_.size();
    return v;
  }

 private:
  uint32_t Byte(size_t i) const { return static_cast<uint8_t>(data_[pos_ + i]); }

  absl::string_view data_;
  size_t pos_ = 0;
};

// Appends network-order fields; the counterpart for encoders.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v >> 8));
    U8(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Bytes(absl::string_view v) { out_->append(v.data(), v.size()); }
  size_t size() const { return out_->size(); }
  // Writes a 16-bit value at an earlier offset (a length known afterwards).
  void PatchU16(size_t at, uint16_t v) {
    (*out_)[at] = static_cast<char>(v >> 8);
    (*out_)[at + 1] = static_cast<char>(v);
  }
  void PatchU32(size_t at, uint32_t v) {
    PatchU16(at, static_cast<uint16_t>(v >> 16));
    PatchU16(at + 2, static_cast<uint16_t>(v));
  }

 private:
  std::string* out_;
};

}  // namespace vpnfleet::bytes

#endif  // VPNFLEET_COMMON_BYTES_BYTE_READER_H_
