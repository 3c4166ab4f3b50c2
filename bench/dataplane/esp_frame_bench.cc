// Dataplane benchmark 1: in-process ESP frame processing on one core, then
// its scaling over workers.
//
// For each transform and packet size, frames of 256 packets go through
// EspEncrypt then EspDecrypt (the same SA pair, so the replay window and
// counters do their real work); the reference is OpenSSL's raw EVP doing the
// same cryptographic work on buffers of the same size (AEAD seal + open, or
// cipher + HMAC both ways, with a fixed IV) in the same run. Prints a table and, last, one line
// of JSON. Numbers, not pass/fail.
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto/algorithms.h"
#include "services/dataplane/nodes/esp_nodes.h"

namespace cv1 = vpnfleet::common::v1;
using namespace vpnfleet::dataplane;
using Clock = std::chrono::steady_clock;

namespace {

struct Transform {
  const char* name;
  cv1::EncryptionAlgorithm enc;
  cv1::IntegrityAlgorithm integ;
  const EVP_CIPHER* (*cipher)();
  const char* digest;  // HMAC digest for the raw reference, or nullptr
};

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::unique_ptr<EspTransform> Make(const Transform& t) {
  EspTransformConfig c;
  c.encryption = t.enc;
  c.encryption_key = std::string(vpnfleet::crypto::EncryptionKeyLength(t.enc), 'k');
  c.integrity = t.integ;
  c.integrity_key = std::string(vpnfleet::crypto::IntegrityKeyLength(t.integ), 'a');
  return *EspTransform::Create(c);
}

// Packets per second through EspEncrypt + EspDecrypt.
double OursPps(const Transform& t, uint32_t size, double min_seconds) {
  SaRuntime out, in;
  out.spi = in.spi = 0x1000;
  in.inbound = true;
  out.transform = Make(t);
  in.transform = Make(t);
  std::vector<std::vector<uint8_t>> storage(Frame::kMaxPackets, std::vector<uint8_t>(2048));
  std::vector<Packet> packets(Frame::kMaxPackets);
  Frame frame;
  for (size_t i = 0; i < Frame::kMaxPackets; ++i) {
    packets[i] = {storage[i].data(), 2048, 128, size, false};
    frame.packets[i] = &packets[i];
  }
  frame.size = Frame::kMaxPackets;
  uint8_t nh[Frame::kMaxPackets];
  uint64_t done = 0;
  auto start = Clock::now();
  auto now = start;
  while (Seconds(start, now) < min_seconds) {
    for (int rep = 0; rep < 16; ++rep) {
      EspEncrypt(out, frame, 4);
      EspDecrypt(in, frame, nh);
      done += frame.size;
    }
    now = Clock::now();
  }
  for (const Packet& p : packets) {
    if (p.dropped) {
      std::fprintf(stderr, "bench: a packet was dropped; the figures are void\n");
      std::exit(1);
    }
  }
  return static_cast<double>(done) / Seconds(start, now);
}

// The same crypto work with raw EVP calls: what the CPU and OpenSSL allow.
double RawPps(const Transform& t, uint32_t size, double min_seconds) {
  const EVP_CIPHER* cipher = t.cipher();
  const bool aead = vpnfleet::crypto::IsAead(t.enc);
  const size_t key_len = static_cast<size_t>(EVP_CIPHER_get_key_length(cipher));
  std::vector<uint8_t> key(key_len, 'k'), iv(16, 1), buf(size + 64, 7), tag(64);
  const uint32_t text = size + static_cast<uint32_t>(PaddingFor(size, aead ? 1 : 16)) + 2;
  uint8_t aad[8] = {0, 0, 0x10, 0, 0, 0, 0, 1};
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(enc, cipher, nullptr, key.data(), nullptr);
  EVP_DecryptInit_ex(dec, cipher, nullptr, key.data(), nullptr);
  EVP_CIPHER_CTX_set_padding(enc, 0);
  EVP_CIPHER_CTX_set_padding(dec, 0);
  EVP_MAC* mac_alg = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  if (!aead) {
    mac_alg = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac = EVP_MAC_CTX_new(mac_alg);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(t.digest), 0),
        OSSL_PARAM_construct_end()};
    std::vector<uint8_t> akey(32, 'a');
    EVP_MAC_init(mac, akey.data(), akey.size(), params);
  }
  uint64_t done = 0;
  int len = 0;
  size_t mac_len = 0;
  auto start = Clock::now();
  auto now = start;
  while (Seconds(start, now) < min_seconds) {
    for (int rep = 0; rep < 4096; ++rep) {
      if (aead) {
        EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv.data());
        EVP_EncryptUpdate(enc, nullptr, &len, aad, 8);
        EVP_EncryptUpdate(enc, buf.data(), &len, buf.data(), static_cast<int>(text));
        EVP_EncryptFinal_ex(enc, buf.data() + len, &len);
        EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, tag.data());
        EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv.data());
        EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag.data());
        EVP_DecryptUpdate(dec, nullptr, &len, aad, 8);
        EVP_DecryptUpdate(dec, buf.data(), &len, buf.data(), static_cast<int>(text));
        EVP_DecryptFinal_ex(dec, buf.data() + len, &len);
      } else {
        EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv.data());
        EVP_EncryptUpdate(enc, buf.data(), &len, buf.data(), static_cast<int>(text));
        EVP_MAC_init(mac, nullptr, 0, nullptr);
        EVP_MAC_update(mac, buf.data(), text + 24);
        EVP_MAC_final(mac, tag.data(), &mac_len, tag.size());
        EVP_MAC_init(mac, nullptr, 0, nullptr);
        EVP_MAC_update(mac, buf.data(), text + 24);
        EVP_MAC_final(mac, tag.data(), &mac_len, tag.size());
        EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv.data());
        EVP_DecryptUpdate(dec, buf.data(), &len, buf.data(), static_cast<int>(text));
      }
      ++done;
    }
    now = Clock::now();
  }
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX_free(dec);
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(mac_alg);
  return static_cast<double>(done) / Seconds(start, now);
}

}  // namespace

int main(int argc, char** argv) {
  double min_seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
  const Transform transforms[] = {
      {"aes128gcm", cv1::ENCRYPTION_AES_GCM_128, cv1::INTEGRITY_UNSPECIFIED, EVP_aes_128_gcm, nullptr},
      {"aes256gcm", cv1::ENCRYPTION_AES_GCM_256, cv1::INTEGRITY_UNSPECIFIED, EVP_aes_256_gcm, nullptr},
      {"chacha20poly1305", cv1::ENCRYPTION_CHACHA20_POLY1305, cv1::INTEGRITY_UNSPECIFIED,
       EVP_chacha20_poly1305, nullptr},
      {"aes128cbc_sha256", cv1::ENCRYPTION_AES_CBC_128, cv1::INTEGRITY_HMAC_SHA2_256_128,
       EVP_aes_128_cbc, "SHA2-256"},
  };
  std::printf("ESP frame processing, one core, encrypt+decrypt per packet, frames of %zu\n",
              Frame::kMaxPackets);
  std::printf("%-18s %6s %10s %10s %10s %10s %7s\n", "transform", "bytes", "ours Mpps",
              "ours Gb/s", "EVP Mpps", "EVP Gb/s", "ratio");
  std::string json = "{";
  bool first = true;
  for (const Transform& t : transforms) {
    for (uint32_t size : {64u, 512u, 1400u}) {
      // Alternate the two and keep the best of each, so that neither gains
      // from running first (clock ramp, cache, a neighbour's load).
      double ours = 0, raw = 0;
      for (int round = 0; round < 2; ++round) {
        ours = std::max(ours, OursPps(t, size, min_seconds / 2));
        raw = std::max(raw, RawPps(t, size, min_seconds / 2));
      }
      double ours_gbps = ours * size * 8 / 1e9, raw_gbps = raw * size * 8 / 1e9;
      std::printf("%-18s %6u %10.3f %10.2f %10.3f %10.2f %7.3f\n", t.name, size, ours / 1e6,
                  ours_gbps, raw / 1e6, raw_gbps, ours / raw);
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "%s\"%s_%u_mpps\":%.4f,\"%s_%u_gbps\":%.3f,\"%s_%u_evp_mpps\":%.4f,"
                    "\"%s_%u_evp_ratio\":%.4f",
                    first ? "" : ",", t.name, size, ours / 1e6, t.name, size, ours_gbps, t.name,
                    size, raw / 1e6, t.name, size, ours / raw);
      json += buf;
      first = false;
    }
  }
  // Scaling over workers: each worker owns its own SA pair (as the
  // forwarder's workers do), all run at once; their packet rates added up
  // against one worker's in the same run.
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  std::printf("\nWorkers at once, each with its own SA pair (aes128gcm, 1400 bytes, %u CPUs)\n",
              cpus);
  const Transform& gcm = transforms[0];
  const double one = OursPps(gcm, 1400, min_seconds);
  std::vector<unsigned> counts = {2};
  if (cpus > 2) counts.push_back(cpus);
  for (unsigned workers : counts) {
    std::vector<double> rates(workers);
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] { rates[w] = OursPps(gcm, 1400, min_seconds); });
    }
    for (auto& th : threads) th.join();
    double total = 0;
    for (double r : rates) total += r;
    std::printf("  %u workers: %.3f Mpps (%.2f Gb/s), %.2fx one worker's %.3f Mpps\n", workers,
                total / 1e6, total * 1400 * 8 / 1e9, total / one, one / 1e6);
    char buf[256];
    std::snprintf(buf, sizeof buf, ",\"aes128gcm_1400_%uworkers_mpps\":%.4f,"
                  "\"aes128gcm_1400_%uworkers_scaling_ratio\":%.3f",
                  workers, total / 1e6, workers, total / one);
    json += buf;
  }
  json += "}";
  std::printf("%s\n", json.c_str());
  return 0;
}
