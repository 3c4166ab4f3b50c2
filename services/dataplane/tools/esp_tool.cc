// esp_tool: seals or opens one ESP or AH packet with our transform code, for
// tests against independent implementations (Scapy). Hex in on stdin, hex out.
//
//   esp_tool seal --enc=ENCRYPTION_AES_GCM_128 --ekey=HEX [--integ=INTEGRITY_... --akey=HEX]
//                 --spi=N --seq=N [--esn] [--nh=4]      stdin: payload   stdout: ESP packet
//   esp_tool open  (same flags, no --nh)                stdin: ESP packet stdout: "NH PAYLOAD"
//   esp_tool ah-seal --integ=... --akey=HEX --spi=N --seq=N [--esn] [--nh=4]
//                 --src=A.B.C.D --dst=A.B.C.D           stdin: payload   stdout: IPv4+AH packet
//   esp_tool ah-open --integ=... --akey=HEX --seq=N [--esn]
//                                                       stdin: IPv4+AH   stdout: "NH PAYLOAD"
// Exit 1 with a reason on stderr when a packet does not open.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/dataplane/crypto/ah_transform.h"
#include "services/dataplane/crypto/esp_transform.h"
#include "services/dataplane/packet/ipv4.h"

ABSL_FLAG(std::string, enc, "", "EncryptionAlgorithm name");
ABSL_FLAG(std::string, ekey, "", "encryption key (with salt for AEADs), hex");
ABSL_FLAG(std::string, integ, "INTEGRITY_UNSPECIFIED", "IntegrityAlgorithm name");
ABSL_FLAG(std::string, akey, "", "integrity key, hex");
ABSL_FLAG(uint32_t, spi, 0, "SPI");
ABSL_FLAG(uint64_t, seq, 1, "full sequence number");
ABSL_FLAG(bool, esn, false, "extended sequence numbers");
ABSL_FLAG(int, nh, 4, "next header of a sealed payload");
ABSL_FLAG(std::string, src, "198.51.100.1", "AH: the IPv4 source written");
ABSL_FLAG(std::string, dst, "198.51.100.2", "AH: the IPv4 destination written");

namespace cv1 = vpnfleet::common::v1;
using namespace vpnfleet::dataplane;

namespace {

uint32_t Ipv4(const std::string& text) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return 0;
  return (a << 24) | (b << 16) | (c << 8) | d;
}

int RunAh(const std::string& action) {
  cv1::IntegrityAlgorithm integ;
  if (!cv1::IntegrityAlgorithm_Parse(absl::GetFlag(FLAGS_integ), &integ)) {
    std::cerr << "esp_tool: unknown algorithm name\n";
    return 2;
  }
  auto t = AhTransform::Create(integ, absl::HexStringToBytes(absl::GetFlag(FLAGS_akey)),
                               absl::GetFlag(FLAGS_esn), /*allow_legacy=*/true);
  if (!t.ok()) {
    std::cerr << "esp_tool: " << t.status() << "\n";
    return 2;
  }
  std::string hex;
  std::getline(std::cin, hex);
  const std::string input = absl::HexStringToBytes(hex);
  const uint64_t seq = absl::GetFlag(FLAGS_seq);
  const uint8_t icv = (*t)->icv_size();
  if (action == "ah-seal") {
    std::vector<uint8_t> pkt(kIpv4HeaderSize + AhSize(icv) + input.size());
    WriteIpv4Header(pkt.data(), Ipv4(absl::GetFlag(FLAGS_src)), Ipv4(absl::GetFlag(FLAGS_dst)),
                    kProtoAh, static_cast<uint16_t>(pkt.size()), 0, 64, 1, false);
    WriteAhHeader(pkt.data() + kIpv4HeaderSize, static_cast<uint8_t>(absl::GetFlag(FLAGS_nh)), icv,
                  absl::GetFlag(FLAGS_spi), static_cast<uint32_t>(seq));
    std::copy(input.begin(), input.end(), pkt.begin() + kIpv4HeaderSize + AhSize(icv));
    if (!(*t)->Seal(pkt.data(), pkt.size(), seq)) {
      std::cerr << "esp_tool: seal failed\n";
      return 1;
    }
    std::cout << absl::BytesToHexString(std::string(pkt.begin(), pkt.end())) << "\n";
    return 0;
  }
  std::vector<uint8_t> pkt(input.begin(), input.end());
  AhView v;
  if (AhError e = ParseAh(pkt.data(), pkt.size(), icv, &v); e != AhError::kOk) {
    std::cerr << "esp_tool: " << AhErrorName(e) << "\n";
    return 1;
  }
  if (!(*t)->Verify(pkt.data(), v, seq)) {
    std::cerr << "esp_tool: integrity check failed\n";
    return 1;
  }
  std::cout << static_cast<int>(v.next_header) << " "
            << absl::BytesToHexString(std::string(pkt.begin() + v.payload_offset,
                                                  pkt.begin() + v.total_size))
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() != 2) {
    std::cerr << "usage: esp_tool seal|open|ah-seal|ah-open --enc=... --ekey=HEX ...\n";
    return 2;
  }
  if (std::string(rest[1]).rfind("ah-", 0) == 0) return RunAh(rest[1]);
  EspTransformConfig cfg;
  if (!cv1::EncryptionAlgorithm_Parse(absl::GetFlag(FLAGS_enc), &cfg.encryption) ||
      !cv1::IntegrityAlgorithm_Parse(absl::GetFlag(FLAGS_integ), &cfg.integrity)) {
    std::cerr << "esp_tool: unknown algorithm name\n";
    return 2;
  }
  cfg.encryption_key = absl::HexStringToBytes(absl::GetFlag(FLAGS_ekey));
  cfg.integrity_key = absl::HexStringToBytes(absl::GetFlag(FLAGS_akey));
  cfg.esn = absl::GetFlag(FLAGS_esn);
  cfg.allow_legacy = true;
  auto t = EspTransform::Create(cfg);
  if (!t.ok()) {
    std::cerr << "esp_tool: " << t.status() << "\n";
    return 2;
  }
  std::string hex;
  std::getline(std::cin, hex);
  std::string input = absl::HexStringToBytes(hex);
  const uint64_t seq = absl::GetFlag(FLAGS_seq);
  const EspLayout& l = (*t)->layout();
  if (std::string(rest[1]) == "seal") {
    const size_t pad = PaddingFor(input.size(), l.block_size);
    std::vector<uint8_t> pkt(kEspHeaderSize + l.iv_size + input.size() + pad + 2 + l.icv_size);
    WriteEspHeader(pkt.data(), absl::GetFlag(FLAGS_spi), static_cast<uint32_t>(seq));
    uint8_t* text = pkt.data() + kEspHeaderSize + l.iv_size;
    std::copy(input.begin(), input.end(), text);
    WriteTrailer(text + input.size(), pad, static_cast<uint8_t>(absl::GetFlag(FLAGS_nh)));
    if ((*t)->Seal(pkt.data(), input.size() + pad + 2, seq) != pkt.size()) {
      std::cerr << "esp_tool: seal failed\n";
      return 1;
    }
    std::cout << absl::BytesToHexString(std::string(pkt.begin(), pkt.end())) << "\n";
    return 0;
  }
  std::vector<uint8_t> pkt(input.begin(), input.end());
  EspView v;
  if (EspError e = ParseEsp(pkt.data(), pkt.size(), l, &v); e != EspError::kOk) {
    std::cerr << "esp_tool: " << EspErrorName(e) << "\n";
    return 1;
  }
  if (!(*t)->Open(pkt.data(), v, seq)) {
    std::cerr << "esp_tool: integrity check failed\n";
    return 1;
  }
  size_t payload = 0;
  uint8_t nh = 0;
  if (EspError e = ParseTrailer(pkt.data() + v.ciphertext_offset, v.ciphertext_size, &payload, &nh);
      e != EspError::kOk) {
    std::cerr << "esp_tool: " << EspErrorName(e) << "\n";
    return 1;
  }
  std::cout << static_cast<int>(nh) << " "
            << absl::BytesToHexString(std::string(
                   reinterpret_cast<const char*>(pkt.data() + v.ciphertext_offset), payload))
            << "\n";
  return 0;
}
