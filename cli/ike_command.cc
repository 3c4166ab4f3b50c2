#include "cli/ike_command.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/algorithms.h"

namespace vpnfleet::cli {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace iv1 = vpnfleet::ike::v1;

const char* StatusWord(iv1::IkeSaState s) {
  switch (s) {
    // IKEv1, as `show crypto isakmp sa` prints it.
    case iv1::IKE_SA_STATE_MM_NO_STATE: return "MM_NO_STATE";
    case iv1::IKE_SA_STATE_MM_SA_SETUP: return "MM_SA_SETUP";
    case iv1::IKE_SA_STATE_MM_KEY_EXCH: return "MM_KEY_EXCH";
    case iv1::IKE_SA_STATE_MM_KEY_AUTH: return "MM_KEY_AUTH";
    case iv1::IKE_SA_STATE_AG_NO_STATE: return "AG_NO_STATE";
    case iv1::IKE_SA_STATE_AG_INIT_EXCH: return "AG_INIT_EXCH";
    case iv1::IKE_SA_STATE_QM_IDLE: return "QM_IDLE";
    case iv1::IKE_SA_STATE_ESTABLISHED: return "READY";
    case iv1::IKE_SA_STATE_CONNECTING: return "IN-NEG";
    case iv1::IKE_SA_STATE_REKEYING: return "REKEY";
    case iv1::IKE_SA_STATE_DELETING: return "DELETE";
    default: return "UNKNOWN";
  }
}

std::string EncrText(cv1::EncryptionAlgorithm e) {
  switch (e) {
    case cv1::ENCRYPTION_AES_CBC_128: return "AES-CBC, keysize: 128";
    case cv1::ENCRYPTION_AES_CBC_192: return "AES-CBC, keysize: 192";
    case cv1::ENCRYPTION_AES_CBC_256: return "AES-CBC, keysize: 256";
    case cv1::ENCRYPTION_AES_GCM_128: return "AES-GCM, keysize: 128";
    case cv1::ENCRYPTION_AES_GCM_256: return "AES-GCM, keysize: 256";
    case cv1::ENCRYPTION_CHACHA20_POLY1305: return "CHACHA20-POLY1305, keysize: 256";
    case cv1::ENCRYPTION_3DES: return "3DES";
    default: return "none";
  }
}

const char* PrfText(cv1::PrfAlgorithm p) {
  switch (p) {
    case cv1::PRF_HMAC_SHA1: return "SHA1";
    case cv1::PRF_HMAC_SHA2_256: return "SHA256";
    case cv1::PRF_HMAC_SHA2_384: return "SHA384";
    case cv1::PRF_HMAC_SHA2_512: return "SHA512";
    case cv1::PRF_HMAC_MD5: return "MD5";
    default: return "none";
  }
}

const char* IntegText(cv1::IntegrityAlgorithm i) {
  switch (i) {
    case cv1::INTEGRITY_HMAC_SHA1_96: return "SHA96";
    case cv1::INTEGRITY_HMAC_SHA2_256_128: return "SHA256";
    case cv1::INTEGRITY_HMAC_SHA2_384_192: return "SHA384";
    case cv1::INTEGRITY_HMAC_SHA2_512_256: return "SHA512";
    case cv1::INTEGRITY_HMAC_MD5_96: return "MD596";
    default: return "None";
  }
}

std::string Hex(const std::string& bytes) {
  std::string s;
  for (char c : bytes) absl::StrAppend(&s, absl::Hex(static_cast<uint8_t>(c), absl::kZeroPad2));
  return s;
}

// IOS prints selectors as (addr/mask/prot/port).
std::string Ident(const cv1::IpPrefix& p, uint32_t protocol) {
  const uint32_t len = p.length();
  const uint32_t mask = len == 0 ? 0 : (len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1));
  return absl::StrFormat("(%s/%d.%d.%d.%d/%d/0)", p.address(), mask >> 24, (mask >> 16) & 255,
                         (mask >> 8) & 255, mask & 255, protocol);
}

// As `show crypto ikev2 sa detail` names AUTH methods.
std::string AuthText(iv1::AuthMethod m) {
  switch (m) {
    case iv1::AUTH_METHOD_PRE_SHARE: return "PSK";
    case iv1::AUTH_METHOD_RSA_SIG: return "RSA";
    case iv1::AUTH_METHOD_ECDSA_SIG: return "ECDSA";
    case iv1::AUTH_METHOD_RSA_ENCR: return "RSA-ENCR";
    default: return "-";
  }
}

std::string Spi(uint32_t spi) { return absl::StrFormat("0x%08X(%u)", spi, spi); }

}  // namespace

void PrintMyPubkeyIos(const iv1::ListPublicKeysResponse& keys, std::ostream& out) {
  if (keys.keys().empty()) {
    out << "% No RSA key pair: put an RSA key.pem in a trustpoint (crypto key generate rsa)\n";
    return;
  }
  for (const iv1::PublicKey& k : keys.keys()) {
    out << "Key name: " << k.name() << "\n"
        << "Key type: RSA KEYS " << k.bits() << " bits\n"
        << " Usage: " << k.usage() << "\n"
        << " Key Data:\n";
    const std::string& der = k.key();
    for (size_t i = 0; i < der.size(); i += 4) {
      if (i % 32 == 0) out << (i == 0 ? "  " : "\n  ");
      else out << " ";
      for (size_t j = i; j < i + 4 && j < der.size(); ++j) {
        out << absl::StrFormat("%02X", static_cast<uint8_t>(der[j]));
      }
    }
    out << "\n";
  }
}

void PrintIsakmpSaIos(const iv1::ListIkeSasResponse& sas, int64_t now_unix, std::ostream& out) {
  out << "IPv4 Crypto ISAKMP SA\n";
  out << absl::StrFormat("%-15s %-15s %-14s %7s %s\n", "dst", "src", "state", "conn-id", "status");
  for (const iv1::IkeSa& sa : sas.ike_sas()) {
    const std::string& dst = sa.initiator() ? sa.remote_address() : sa.local_address();
    const std::string& src = sa.initiator() ? sa.local_address() : sa.remote_address();
    const bool up = sa.state() == iv1::IKE_SA_STATE_ESTABLISHED ||
                    sa.state() == iv1::IKE_SA_STATE_QM_IDLE;
    out << absl::StrFormat("%-15s %-15s %-14s %7d %s\n", dst, src, StatusWord(sa.state()),
                           sa.conn_id(), up ? "ACTIVE" : "");
  }
  bool any_v1 = false, any_v2 = false;
  for (const iv1::IkeSa& sa : sas.ike_sas()) {
    (sa.version() == iv1::IKE_VERSION_1 ? any_v1 : any_v2) = true;
  }
  if (any_v1) {
    // `show crypto isakmp sa detail`: one line per IKEv1 SA.
    out << "\nIPv4 Crypto ISAKMP SA detail\n";
    out << absl::StrFormat("%-7s %-15s %-15s %-22s %-6s %-4s %-3s %-9s %s\n", "Conn id", "Local",
                           "Remote", "Encr", "Hash", "Auth", "DH", "Lifetime", "Cap.");
    for (const iv1::IkeSa& sa : sas.ike_sas()) {
      if (sa.version() != iv1::IKE_VERSION_1) continue;
      const uint64_t left = sa.lifetime_remaining_seconds();
      std::string cap;
      if (sa.nat_detected_local() || sa.nat_detected_remote()) cap += "N";
      out << absl::StrFormat("%-7d %-15s %-15s %-22s %-6s %-4s %-3d %02d:%02d:%02d %s\n",
                             sa.conn_id(), sa.local_address(), sa.remote_address(),
                             EncrText(sa.encryption()), PrfText(sa.prf()),
                             AuthText(sa.authentication()), static_cast<int>(sa.group()),
                             left / 3600, (left / 60) % 60, left % 60, cap);
      out << "        Local id: " << sa.local_id() << "  Remote id: " << sa.remote_id() << "\n";
    }
  }
  if (!any_v2) return;
  out << "\nIPv4 Crypto IKEv2 SA\n\n";
  out << absl::StrFormat("%-9s %-21s %-21s %-20s %s\n", "Tunnel-id", "Local", "Remote",
                         "fvrf/ivrf", "Status");
  for (const iv1::IkeSa& sa : sas.ike_sas()) {
    if (sa.version() == iv1::IKE_VERSION_1) continue;
    out << absl::StrFormat("%-9d %-21s %-21s %-20s %s\n", sa.conn_id(),
                           absl::StrCat(sa.local_address(), "/", sa.local_port()),
                           absl::StrCat(sa.remote_address(), "/", sa.remote_port()), "none/none",
                           StatusWord(sa.state()));
    out << "      Encr: " << EncrText(sa.encryption()) << ", PRF: " << PrfText(sa.prf())
        << ", Hash: " << IntegText(sa.integrity()) << ", DH Grp:" << static_cast<int>(sa.group())
        << ", Auth sign: " << AuthText(sa.local_authentication())
        << ", Auth verify: " << AuthText(sa.authentication()) << "\n";
    const int64_t active =
        sa.established_unix_seconds() > 0 ? now_unix - sa.established_unix_seconds() : 0;
    out << "      Life/Active Time: " << sa.lifetime_remaining_seconds() + active << "/" << active
        << " sec\n";
    out << "      Local spi: " << Hex(sa.initiator() ? sa.initiator_spi() : sa.responder_spi())
        << "       Remote spi: " << Hex(sa.initiator() ? sa.responder_spi() : sa.initiator_spi())
        << "\n";
    out << "      Local id: " << sa.local_id() << "\n      Remote id: " << sa.remote_id() << "\n";
    if (!sa.remote_certificate_subject().empty()) {
      out << "      Remote certificate: " << sa.remote_certificate_subject() << "\n";
    }
    if (sa.nat_detected_local() || sa.nat_detected_remote()) {
      out << "      NAT-T is detected " << (sa.nat_detected_local() ? "inside" : "outside") << "\n";
    }
    if (!sa.crypto_map().empty()) {
      out << "      Crypto map: " << sa.crypto_map() << " " << sa.crypto_map_sequence() << "\n";
    }
    out << "      Rekeys: " << sa.rekeys() << ", retransmits: " << sa.retransmits() << "\n";
  }
}

void PrintIpsecSaIos(const iv1::ListChildSasResponse& sas, std::ostream& out) {
  if (sas.child_sas_size() == 0) {
    out << "No IPsec SAs.\n";
    return;
  }
  for (const iv1::ChildSa& c : sas.child_sas()) {
    out << "\ninterface: " << (c.interface().empty() ? "wan0" : c.interface()) << "\n";
    out << "    Crypto map tag: " << c.crypto_map() << ", local addr " << c.local_endpoint()
        << "\n\n";
    out << "   protected vrf: (none)\n";
    out << "   local  ident (addr/mask/prot/port): "
        << Ident(c.local_ident().source(), c.local_ident().protocol()) << "\n";
    out << "   remote ident (addr/mask/prot/port): "
        << Ident(c.remote_ident().source(), c.remote_ident().protocol()) << "\n";
    out << "   current_peer " << c.remote_endpoint() << " port " << c.remote_port() << "\n";
    out << "     PERMIT, flags={origin_is_acl,}\n";
    const cv1::IpsecSaCounters& k = c.counters();
    out << "    #pkts encaps: " << k.pkts_encaps() << ", #pkts encrypt: " << k.pkts_encrypt()
        << ", #pkts digest: " << k.pkts_digest() << "\n";
    out << "    #pkts decaps: " << k.pkts_decaps() << ", #pkts decrypt: " << k.pkts_decrypt()
        << ", #pkts verify: " << k.pkts_verify() << "\n";
    out << "    #send errors " << k.send_errors() << ", #recv errors " << k.recv_errors() << "\n\n";
    out << "     local crypto endpt.: " << c.local_endpoint()
        << ", remote crypto endpt.: " << c.remote_endpoint() << "\n";
    out << "     current outbound spi: " << Spi(c.outbound_spi()) << "\n";
    out << "     PFS (Y/N): " << (c.pfs_group() != cv1::DH_GROUP_NONE ? "Y" : "N")
        << ", DH group: ";
    if (c.pfs_group() != cv1::DH_GROUP_NONE) {
      out << "group" << static_cast<int>(c.pfs_group()) << "\n";
    } else {
      out << "none\n";
    }
    std::string transform(crypto::EspEncryptionKeyword(c.encryption()));
    if (c.integrity() != cv1::INTEGRITY_UNSPECIFIED) {
      absl::StrAppend(&transform, " ", crypto::EspIntegrityKeyword(c.integrity()));
    }
    const std::string settings = absl::StrCat(
        c.mode() == cv1::IPSEC_MODE_TRANSPORT ? "Transport" : "Tunnel",
        c.udp_encapsulated() ? " UDP-Encaps" : "", ", ");
    for (bool inbound : {true, false}) {
      out << "\n     " << (inbound ? "inbound" : "outbound") << " esp sas:\n";
      out << "      spi: " << Spi(inbound ? c.inbound_spi() : c.outbound_spi()) << "\n";
      out << "        transform: " << transform << " ,\n";
      out << "        in use settings ={" << settings << "}\n";
      out << "        conn id: " << c.ike_conn_id() << ", crypto map: " << c.crypto_map() << "\n";
      out << "        sa timing: remaining key lifetime (k/sec): (" << c.remaining_kilobytes() << "/"
          << c.remaining_seconds() << ")\n";
      if (inbound) out << "        replay detection support: " << (c.replay_detection() ? "Y" : "N") << "\n";
      out << "        Status: ACTIVE\n";
    }
  }
}

}  // namespace vpnfleet::cli
