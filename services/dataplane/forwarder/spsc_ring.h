// A bounded single-producer/single-consumer ring: how workers pass events to
// the control thread and packets to each other without locks or allocation
// after construction.
#ifndef VPNFLEET_SERVICES_DATAPLANE_FORWARDER_SPSC_RING_H_
#define VPNFLEET_SERVICES_DATAPLANE_FORWARDER_SPSC_RING_H_

#include <atomic>
#include <cstddef>
#include <memory>

namespace vpnfleet::dataplane {

template <typename T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(size_t capacity) {
    size_t c = 1;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<T[]>(c);
  }

  // Producer: the slot to fill, or nullptr when full; then Push().
  T* Claim() noexcept {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) return nullptr;
    return &slots_[head & mask_];
  }
  // Producer: slots in use (the consumer may free some meanwhile).
  size_t used() const noexcept {
    return head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire);
  }
  size_t capacity() const noexcept { return mask_ + 1; }
  void Push() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Consumer: the oldest slot, or nullptr when empty; then Pop().
  T* Front() noexcept {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[tail & mask_];
  }
  void Pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

 private:
  std::unique_ptr<T[]> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_FORWARDER_SPSC_RING_H_
