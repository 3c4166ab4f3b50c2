// The IKE load generator of `scripts/bench ike`: our own IkeSa (or, with
// --ikev1, Ikev1Sa) in initiator mode, many at once over one UDP socket,
// against a responder (vpnfleet-ike or strongSwan's charon). Each SA sets
// up an IKE SA and its first CHILD SA (IKEv2: IKE_SA_INIT + IKE_AUTH with a
// pre-shared key or an ECDSA certificate; IKEv1: Main Mode with a
// pre-shared key + Quick Mode), then is forgotten without a Delete, so that
// the responder holds every tunnel (that is what the memory figure measures).
//
// Every initiator proposes its own host selector (10.x.y.z/32 <->
// 10.200.0.0/16), so a responder installs distinct policies.
// Prints progress to stderr and one JSON object on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock/clock.h"
#include "common/files/files.h"
#include "common/random/rng.h"
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/ikev1_sa.h"

ABSL_FLAG(std::string, target, "127.0.0.1:500", "Responder address:port.");
ABSL_FLAG(std::string, source, "127.0.0.1", "Our address.");
ABSL_FLAG(int, count, 1000, "IKE+CHILD SA setups to complete.");
ABSL_FLAG(int, concurrency, 32, "Setups in flight at once.");
ABSL_FLAG(std::string, psk, "", "Pre-shared key (PSK mode).");
ABSL_FLAG(std::string, cert, "", "ECDSA mode: our certificate (PEM) ...");
ABSL_FLAG(std::string, key, "", "... its private key (PEM) ...");
ABSL_FLAG(std::string, ca, "", "... and the CA that signed the responder's.");
ABSL_FLAG(int, seconds, 600, "Give up after this long.");
ABSL_FLAG(bool, ikev1, false,
          "IKEv1: Main Mode (AES-CBC-128, SHA-256, ECP-256, --psk) and Quick Mode.");
ABSL_FLAG(bool, natt, false,
          "Talk to the responder's NAT-T port from the start: four zero octets (the "
          "non-ESP marker, RFC 3948) before every message.");

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace iv1 = vpnfleet::ike::v1;

v2::TrafficSelector Host(uint32_t addr, int len) {
  cv1::IpPrefix p;
  in_addr a{htonl(addr)};
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof text);
  p.set_address(text);
  p.set_length(static_cast<uint32_t>(len));
  return *SelectorOf(p, 0, cv1::PortRange());
}

std::shared_ptr<SaPolicy> MakePolicy(const net::IpAddress& source) {
  auto p = std::make_shared<SaPolicy>();
  iv1::IsakmpPolicy ip;
  ip.set_priority(10);
  ip.set_encryption(cv1::ENCRYPTION_AES_GCM_128);
  ip.set_hash(cv1::PRF_HMAC_SHA2_256);
  ip.set_group(cv1::DH_GROUP_CURVE25519);
  p->ike_proposals = {*IkeProposalOf(ip)};
  p->local_id = AddressIdentity(source);
  p->initial_contact = false;  // every SA comes from the same identity
  p->retransmit_timeout = absl::Seconds(2);
  if (!absl::GetFlag(FLAGS_psk).empty()) {
    PskEntry k;
    k.address = *net::ParseCidr("0.0.0.0/0");
    k.key = SecretBytes(absl::GetFlag(FLAGS_psk));
    p->psks.push_back(std::move(k));
  } else {
    auto key = files::ReadFile(absl::GetFlag(FLAGS_key));
    auto cert = files::ReadFile(absl::GetFlag(FLAGS_cert));
    auto ca = files::ReadFile(absl::GetFlag(FLAGS_ca));
    if (!key.ok() || !cert.ok() || !ca.ok()) return nullptr;
    auto cred = auth::LocalCredential::FromPem("LOAD", *key, *cert);
    auto trust = auth::TrustStore::Make({{"LOAD", *ca, "", false}});
    if (!cred.ok() || !trust.ok()) return nullptr;
    p->credential = *cred;
    p->trust = *trust;
    p->local_id = (*cred)->DnIdentity();
  }
  iv1::TransformSet ts;
  ts.set_name("TS");
  ts.set_esp_encryption(cv1::ENCRYPTION_AES_GCM_128);
  ChildPolicy c;
  c.crypto_map = "LOAD";
  c.sequence = 10;
  c.local_ts = {Host(0x0a000000, 8)};
  c.remote_ts = {Host(0x0ac80000, 16)};
  c.proposals = {*EspProposalOf(ts, 0)};
  c.transform_sets = {"TS"};
  if (absl::GetFlag(FLAGS_ikev1)) {
    iv1::IsakmpPolicy v1;
    v1.set_priority(10);
    v1.set_encryption(cv1::ENCRYPTION_AES_CBC_128);
    v1.set_hash(cv1::PRF_HMAC_SHA2_256);
    v1.set_group(cv1::DH_GROUP_ECP_256);
    v1.set_authentication(iv1::AUTH_METHOD_PRE_SHARE);
    p->ikev1_policies = {*ikev1::Phase1PolicyOf(v1)};
    c.ike_version = 1;
    c.per_host = true;  // each initiator proposes its own host as its proxy
  }
  p->children.push_back(c);
  return p;
}

uint64_t Be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const size_t colon = target.rfind(':');
  auto dst = net::ParseAddress(target.substr(0, colon));
  auto src = net::ParseAddress(absl::GetFlag(FLAGS_source));
  if (colon == std::string::npos || !dst.ok() || !src.ok()) {
    std::fprintf(stderr, "bad --target or --source\n");
    return 2;
  }
  const Endpoint remote{*dst, static_cast<uint16_t>(std::stoi(target.substr(colon + 1)))};
  auto policy = MakePolicy(*src);
  if (!policy) {
    std::fprintf(stderr, "cannot load --cert/--key/--ca\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  std::memcpy(&me.sin_addr, src->bytes.data(), 4);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
    std::perror("bind");
    return 2;
  }
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  socklen_t len = sizeof me;
  getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len);
  const Endpoint local{*src, ntohs(me.sin_port)};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  std::memcpy(&to.sin_addr, dst->bytes.data(), 4);
  to.sin_port = htons(remote.port);

  SystemClock clock;
  Rng& rng = *SystemRng::Get();
  const int count = absl::GetFlag(FLAGS_count);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  std::map<uint64_t, std::unique_ptr<IkeSession>> active;  // by our SPI (IKEv1: cookie)
  const bool ikev1 = absl::GetFlag(FLAGS_ikev1);
  int started = 0, completed = 0, failed = 0;
  uint64_t retransmits = 0;
  std::vector<absl::Time> done_at;
  done_at.reserve(static_cast<size_t>(count));
  const absl::Time t0 = clock.Now();
  const absl::Time give_up = t0 + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  absl::Time next_tick = t0, next_progress = t0 + absl::Seconds(5);

  const bool natt = absl::GetFlag(FLAGS_natt);
  std::string out;
  auto execute = [&](uint64_t spi, Actions actions) {
    bool finished = false;
    for (const Action& a : actions) {
      if (const auto* s = std::get_if<action::Send>(&a)) {
        if (s->nat_keepalive) continue;
        out.assign(natt ? 4 : 0, '\0');
        out += s->datagram;
        (void)sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      } else if (std::holds_alternative<action::InstallChild>(a)) {
        ++completed;
        done_at.push_back(clock.Now());
        finished = true;
      } else if (std::holds_alternative<action::Failed>(a)) {
        ++failed;
        finished = true;
      }
    }
    if (finished) {
      auto it = active.find(spi);
      if (it != active.end()) {
        retransmits += it->second->stats().retransmits;
        active.erase(it);
      }
    }
  };

  char data[65536];
  while (completed + failed < count && clock.Now() < give_up) {
    while (started < count && static_cast<int>(active.size()) < concurrency) {
      const uint32_t host = 0x0a000001u + static_cast<uint32_t>(started);
      const auto flow = std::make_pair(Host(host, 32), Host(0x0ac80001u, 32));
      std::unique_ptr<IkeSession> sa;
      if (ikev1) {
        sa = Ikev1Sa::NewInitiator({&clock, &rng}, policy, local, remote, 0, flow);
      } else {
        sa = IkeSa::NewInitiator({&clock, &rng}, policy, local, remote, 0, flow);
      }
      ++started;
      Actions first = sa->Start();
      const uint64_t spi = sa->spi_i();
      active[spi] = std::move(sa);
      execute(spi, std::move(first));
    }
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 5);
    for (int i = 0; i < 256; ++i) {
      const ssize_t n = recv(fd, data, sizeof data, MSG_DONTWAIT);
      if (n < 0) break;
      const size_t skip = natt ? 4 : 0;
      if (static_cast<size_t>(n) < skip + 28) continue;
      const uint64_t spi = Be64(data + skip);
      auto it = active.find(spi);
      if (it == active.end()) continue;
      const absl::string_view msg(data + skip, static_cast<size_t>(n) - skip);
      // Endpoints as the SA knows them (it may have moved to "4500").
      execute(spi, it->second->Receive(it->second->local(), it->second->remote(), msg));
    }
    const absl::Time now = clock.Now();
    if (now >= next_tick) {
      next_tick = now + absl::Milliseconds(100);
      std::vector<uint64_t> due;
      for (auto& [spi, sa] : active) {
        if (sa->NextDeadline() <= now) due.push_back(spi);
      }
      for (uint64_t spi : due) {
        auto it = active.find(spi);
        if (it != active.end()) execute(spi, it->second->Tick());
      }
    }
    if (now >= next_progress) {
      next_progress = now + absl::Seconds(5);
      std::fprintf(stderr, "  ... %d/%d set up, %d failed, %.0f/s\n", completed, count, failed,
                   completed / absl::ToDoubleSeconds(now - t0));
    }
  }
  const double seconds = absl::ToDoubleSeconds(clock.Now() - t0);
  // Rate over the first and the last tenth of the setups: does the
  // responder slow down as it holds more tunnels?
  auto rate_between = [&](size_t a, size_t b) {
    if (b <= a || b > done_at.size()) return 0.0;
    const double s = absl::ToDoubleSeconds(done_at[b - 1] - (a == 0 ? t0 : done_at[a - 1]));
    return s > 0 ? static_cast<double>(b - a) / s : 0.0;
  };
  const size_t tenth = done_at.size() / 10;
  std::printf(
      "{\"completed\": %d, \"failed\": %d, \"seconds\": %.3f, \"setups_per_second\": %.1f, "
      "\"first_tenth_per_second\": %.1f, \"last_tenth_per_second\": %.1f, "
      "\"retransmits\": %llu}\n",
      completed, failed, seconds, seconds > 0 ? completed / seconds : 0.0,
      rate_between(0, tenth), rate_between(done_at.size() - tenth, done_at.size()),
      static_cast<unsigned long long>(retransmits));
  close(fd);
  return completed == count ? 0 : 1;
}

}  // namespace
}  // namespace vpnfleet::ike

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return vpnfleet::ike::Run();
}
