#include "cli/pki_command.h"

#include <openssl/pem.h>

#include <cstdio>
#include <thread>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/grpc_probe.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "services/pki/ca/authority.h"
#include "common/crypto/openssl_ptr.h"
#include "common/files/files.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/http/civet_transport.h"
#include "vpnfleet/pki/v1/pki.grpc.pb.h"

namespace vpnfleet::cli {
namespace {

namespace v1 = vpnfleet::pki::v1;
using vpnfleet::pki::EvpKey;
using vpnfleet::pki::X509Ptr;

constexpr char kPkiUsage[] = R"(vpnfleet pki COMMAND

Edge side (SCEP client, like `crypto pki authenticate` / `crypto pki enroll`):
  authenticate --url URL [--fingerprint SHA256]
  enroll --url URL --challenge PW --subject "CN=edge1,O=Org" [--san DNS:x,IP:y]
         [--key_type rsa-2048|rsa-3072|ecdsa-p256|ecdsa-p384] --key_file F --cert_file F
         [--ca_file F] [--crl_file F] [--fingerprint SHA256] [--wait_seconds N] [--poll_seconds N]
  renew --url URL --key_file F --cert_file F [--days_before N] [--watch]

Operator side (vpnfleet.pki.v1 at --pki):
  challenge --device NAME [--cn CN] [--san DNS:x,IP:y] [--approval] [--valid_seconds N]
         the CSR may ask only for these names (or fewer); none without --san
  pending | approve TRANSACTION | reject TRANSACTION [--reason TEXT]
  revoke SERIAL [--reason key-compromise|superseded|cessation-of-operation|...]
  crl | ca
  identity ROLE NAME --key_file F --cert_file F --ca_file F [--valid_seconds N] [--key_type T]
         a certificate for the fleet's mTLS, spiffe://DOMAIN/ROLE/NAME (ROLE: admin, operator,
         viewer, controller, edge, pki); the key is made here and never leaves)";

std::string IosTime(int64_t unix_seconds) {
  return absl::FormatTime("%H:%M:%S UTC %b %d %Y", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string Pem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

X509Ptr ReadCertPem(const std::string& path) {
  auto pem = files::ReadFile(path);
  if (!pem.ok()) return nullptr;
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free_all);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}


// Subject text without escaped commas: "CN=a,O=b" → {"cn=a", "o=b"}.
std::vector<std::string> IosNameLines(const std::string& rfc2253) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(rfc2253, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    out.push_back(absl::StrCat(absl::AsciiStrToLower(kv.first), "=", kv.second));
  }
  return out;
}

std::string CnOf(const std::string& rfc2253) {
  for (const std::string& line : IosNameLines(rfc2253)) {
    if (absl::StartsWith(line, "cn=")) return line.substr(3);
  }
  return rfc2253;
}

std::string StatusName(v1::CertificateState s) {
  switch (s) {
    case v1::CERTIFICATE_STATE_VALID:
      return "Available";
    case v1::CERTIFICATE_STATE_REVOKED:
      return "Revoked";
    case v1::CERTIFICATE_STATE_EXPIRED:
      return "Expired";
    default:
      return "Unknown";
  }
}

int Fail(std::ostream& err, const std::string& what, const absl::Status& st) {
  err << "vpnfleet pki " << what << ": " << st.message() << "\n";
  return 1;
}

int FailRpc(std::ostream& err, const std::string& target, const std::string& what,
            const grpc::Status& st) {
  err << "vpnfleet pki " << what << ": " << st.error_message() << "\n";
  ExplainFailure(st, target, err);
  return 1;
}

struct Edge {
  std::unique_ptr<pki::CivetTransport> http;
  std::unique_ptr<pki::scep::ScepClient> client;
  pki::scep::CaCerts ca;
};

absl::Status Connect(const PkiCliOptions& o, Edge* edge) {
  if (o.url.empty()) return absl::InvalidArgumentError("--url http://host:port/scep is required");
  auto http = pki::CivetTransport::ForUrl(o.url);
  if (!http.ok()) return http.status();
  edge->http = std::move(*http);
  edge->client = std::make_unique<pki::scep::ScepClient>(edge->http.get());
  auto ca = edge->client->Authenticate(o.fingerprint);
  if (!ca.ok()) return ca.status();
  edge->ca = std::move(*ca);
  return absl::OkStatus();
}

void PrintCa(const pki::scep::CaCerts& ca, bool json, std::ostream& out) {
  const pki::IssuedCertificate d = pki::DescribeCertificate(ca.ca.get());
  if (json) {
    out << "{\"subject\": \"" << d.subject << "\", \"fingerprint_sha256\": \"" << d.fingerprint_sha256
        << "\", \"not_after\": " << absl::ToUnixSeconds(d.not_after) << ", \"ra\": "
        << (ca.ra ? "\"" + pki::DescribeCertificate(ca.ra.get()).subject + "\"" : "null")
        << ", \"capabilities\": [\"" << absl::StrJoin(ca.capabilities, "\", \"") << "\"]}\n";
    return;
  }
  out << "Certificate has the following attributes:\n"
      << "       Subject: " << d.subject << "\n"
      << "       Fingerprint SHA256: " << absl::AsciiStrToUpper(d.fingerprint_sha256) << "\n"
      << "       Valid until: " << IosTime(absl::ToUnixSeconds(d.not_after)) << "\n";
  if (ca.ra) out << "       RA: " << pki::DescribeCertificate(ca.ra.get()).subject << "\n";
  out << "       SCEP capabilities: " << absl::StrJoin(ca.capabilities, " ") << "\n";
}

absl::Status SaveCert(const std::string& path, X509* cert) {
  return files::WriteFileAtomically(path, Pem(cert), 0644);
}

void PrintIssued(X509* cert, const PkiCliOptions& o, bool renewed, std::ostream& out) {
  const pki::IssuedCertificate d = pki::DescribeCertificate(cert);
  if (o.json) {
    out << "{\"result\": \"" << (renewed ? "renewed" : "issued") << "\", \"serial_hex\": \""
        << d.serial_hex << "\", \"subject\": \"" << d.subject << "\", \"not_after\": "
        << absl::ToUnixSeconds(d.not_after) << ", \"cert_file\": \"" << o.cert_file
        << "\", \"key_file\": \"" << o.key_file << "\"}\n";
    return;
  }
  out << "% Certificate " << (renewed ? "renewed" : "received") << " from the CA.\n"
      << "  Serial (hex): " << absl::AsciiStrToUpper(d.serial_hex) << "\n"
      << "  Subject: " << d.subject << "\n"
      << "  Valid until: " << IosTime(absl::ToUnixSeconds(d.not_after)) << "\n"
      << "  Saved: " << o.cert_file << " (key " << o.key_file << ", mode 0600)\n";
}

int Enroll(const PkiCliOptions& o, std::ostream& out, std::ostream& err) {
  if (o.challenge.empty() || o.subject.empty() || o.key_file.empty() || o.cert_file.empty()) {
    err << "vpnfleet pki enroll: --challenge, --subject, --key_file and --cert_file are required\n";
    return 2;
  }
  auto alg = pki::ParseKeyAlgorithmName(o.key_type);
  if (!alg.ok()) return Fail(err, "enroll", alg.status());
  Edge edge;
  if (auto st = Connect(o, &edge); !st.ok()) return Fail(err, "enroll", st);
  // A key file left by a pending request is reused (the poll must come from
  // the same key); a key made here is removed again if the CA refuses.
  EvpKey key;
  bool made_key = false;
  if (auto pem = files::ReadFile(o.key_file); pem.ok()) {
    auto k = pki::PrivateKeyFromPem(*pem, "");
    if (!k.ok()) return Fail(err, "enroll", k.status());
    key = std::move(*k);
  } else {
    auto k = pki::GenerateKey(*alg);
    if (!k.ok()) return Fail(err, "enroll", k.status());
    key = std::move(*k);
    auto pem_out = pki::PrivateKeyToPem(key.get(), "");
    if (!pem_out.ok()) return Fail(err, "enroll", pem_out.status());
    if (auto st = files::WriteFileAtomically(o.key_file, *pem_out, 0600); !st.ok()) {
      return Fail(err, "enroll", st);
    }
    made_key = true;
  }
  auto r = edge.client->Enroll(edge.ca, {o.subject, o.sans, o.challenge}, key.get());
  const absl::Time deadline = absl::Now() + absl::Seconds(o.wait_seconds);
  while (r.ok() && r->status == pki::scep::EnrollResult::Status::kPending) {
    if (absl::Now() >= deadline) {
      err << "vpnfleet pki enroll: the request is pending approval (transaction " << r->transaction_id
          << "); run the same command again to keep polling\n";
      return 3;
    }
    if (!o.json) out << "% Certificate request pending approval; polling every " << o.poll_seconds << "s\n";
    std::this_thread::sleep_for(std::chrono::seconds(o.poll_seconds));
    r = edge.client->Poll(edge.ca, o.subject, key.get());
  }
  if (!r.ok()) {
    if (made_key) std::remove(o.key_file.c_str());
    return Fail(err, "enroll", r.status());
  }
  if (auto st = SaveCert(o.cert_file, r->certificate.get()); !st.ok()) return Fail(err, "enroll", st);
  if (!o.ca_file.empty()) {
    if (auto st = SaveCert(o.ca_file, edge.ca.ca.get()); !st.ok()) return Fail(err, "enroll", st);
  }
  if (!o.crl_file.empty()) {
    // A trustpoint with `revocation-check crl` needs the CA's current CRL.
    auto der = edge.client->GetCrl(edge.ca, r->certificate.get(), key.get());
    if (!der.ok()) return Fail(err, "enroll (GetCRL)", der.status());
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    ossl::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
    if (!crl) return Fail(err, "enroll (GetCRL)", absl::DataLossError("the CA's CRL does not parse"));
    std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
    PEM_write_bio_X509_CRL(bio.get(), crl.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (auto st = files::WriteFileAtomically(o.crl_file, std::string(data, static_cast<size_t>(n)), 0644);
        !st.ok()) {
      return Fail(err, "enroll", st);
    }
  }
  PrintIssued(r->certificate.get(), o, false, out);
  return 0;
}

int RenewOnce(const PkiCliOptions& o, std::ostream& out, std::ostream& err, bool* renewed) {
  *renewed = false;
  X509Ptr cert = ReadCertPem(o.cert_file);
  auto pem = files::ReadFile(o.key_file);
  if (!cert || !pem.ok()) {
    err << "vpnfleet pki renew: cannot read --cert_file and --key_file (enroll first)\n";
    return 2;
  }
  auto key = pki::PrivateKeyFromPem(*pem, "");
  if (!key.ok()) return Fail(err, "renew", key.status());
  const pki::IssuedCertificate d = pki::DescribeCertificate(cert.get());
  const absl::Duration left = d.not_after - absl::Now();
  if (left > absl::Hours(24) * o.days_before) {
    if (!o.watch) {
      out << (o.json ? "{\"result\": \"not_due\", \"days_left\": " : "% Not due: days left ")
          << static_cast<int64_t>(absl::ToDoubleHours(left) / 24)
          << (o.json ? "}\n" : "\n");
    }
    return 0;
  }
  Edge edge;
  if (auto st = Connect(o, &edge); !st.ok()) return Fail(err, "renew", st);
  auto next = pki::GenerateKey(pki::KeyAlgorithmOf(key->get()));
  if (!next.ok()) return Fail(err, "renew", next.status());
  pki::CsrParams params;
  params.subject_name = X509_get_subject_name(cert.get());
  // The CA writes URI identities itself (and refuses them in requests).
  for (const auto& san : d.subject_alt_names) {
    if (!absl::StartsWith(san, "URI:")) params.subject_alt_names.push_back(san);
  }
  auto r = edge.client->Renew(edge.ca, params, next->get(), cert.get(), key->get());
  if (!r.ok()) return Fail(err, "renew", r.status());
  if (r->status != pki::scep::EnrollResult::Status::kIssued) {
    err << "vpnfleet pki renew: the CA holds the renewal for approval (transaction "
        << r->transaction_id << ")\n";
    return 3;
  }
  // New key and certificate side by side first, then swapped in, so that a
  // crash leaves at worst a ".next" pair beside a working one.
  auto pem_out = pki::PrivateKeyToPem(next->get(), "");
  if (!pem_out.ok()) return Fail(err, "renew", pem_out.status());
  const std::string key_next = o.key_file + ".next", cert_next = o.cert_file + ".next";
  if (auto st = files::WriteFileAtomically(key_next, *pem_out, 0600); !st.ok()) return Fail(err, "renew", st);
  if (auto st = SaveCert(cert_next, r->certificate.get()); !st.ok()) return Fail(err, "renew", st);
  if (rename(key_next.c_str(), o.key_file.c_str()) != 0 ||
      rename(cert_next.c_str(), o.cert_file.c_str()) != 0) {
    return Fail(err, "renew", absl::InternalError("cannot replace the key and certificate files"));
  }
  *renewed = true;
  PrintIssued(r->certificate.get(), o, true, out);
  return 0;
}

}  // namespace

void PrintCertificatesIos(const v1::CaInfo& ca, const std::vector<v1::Certificate>& certs,
                          std::ostream& out) {
  const std::string trustpoint = ca.chain_size() > 0 ? CnOf(ca.chain(0).subject()) : "vpnfleet";
  for (const v1::Certificate& c : certs) {
    out << "Certificate\n"
        << "  Status: " << StatusName(c.state()) << "\n"
        << "  Certificate Serial Number (hex): " << absl::AsciiStrToUpper(c.serial_hex()) << "\n"
        << "  Certificate Usage: General Purpose\n"
        << "  Issuer:\n";
    for (const auto& l : IosNameLines(c.issuer())) out << "    " << l << "\n";
    out << "  Subject:\n    Name: " << CnOf(c.subject()) << "\n";
    for (const auto& l : IosNameLines(c.subject())) out << "    " << l << "\n";
    if (!c.subject_alt_names().empty()) {
      out << "  Subject Alternative Names:\n";
      for (const auto& s : c.subject_alt_names()) out << "    " << s << "\n";
    }
    if (!c.crl_distribution_points().empty()) {
      out << "  CRL Distribution Points:\n";
      for (const auto& u : c.crl_distribution_points()) out << "    " << u << "\n";
    }
    out << "  Validity Date:\n"
        << "    start date: " << IosTime(c.not_before_unix_seconds()) << "\n"
        << "    end   date: " << IosTime(c.not_after_unix_seconds()) << "\n";
    if (c.state() == v1::CERTIFICATE_STATE_REVOKED) {
      out << "    revoked:    " << IosTime(c.revoked_unix_seconds()) << " ("
          << v1::RevocationReason_Name(c.revocation_reason()) << ")\n";
    }
    if (!c.device().empty()) out << "  Device: " << c.device() << "\n";
    out << "  Associated Trustpoints: " << trustpoint << "\n\n";
  }
  for (const v1::CaCertificate& c : ca.chain()) {
    out << (c.role() == v1::CaCertificate::ROLE_RA ? "RA Certificate\n" : "CA Certificate\n")
        << "  Status: Available\n"
        << "  Certificate Serial Number (hex): " << absl::AsciiStrToUpper(c.serial_hex()) << "\n"
        << "  Certificate Usage: " << (c.role() == v1::CaCertificate::ROLE_RA ? "Encryption" : "Signature")
        << "\n  Issuer:\n";
    for (const auto& l : IosNameLines(c.issuer())) out << "    " << l << "\n";
    out << "  Subject:\n";
    for (const auto& l : IosNameLines(c.subject())) out << "    " << l << "\n";
    out << "  Validity Date:\n"
        << "    start date: " << IosTime(c.not_before_unix_seconds()) << "\n"
        << "    end   date: " << IosTime(c.not_after_unix_seconds()) << "\n"
        << "  Fingerprint SHA256: " << absl::AsciiStrToUpper(c.fingerprint_sha256()) << "\n"
        << "  Associated Trustpoints: " << trustpoint << "\n\n";
  }
}

int RunPki(const std::vector<std::string>& args, const PkiCliOptions& o, std::ostream& out,
           std::ostream& err) {
  if (args.empty()) {
    err << kPkiUsage << "\n";
    return 2;
  }
  const std::string& cmd = args[0];
  if (cmd == "authenticate") {
    Edge edge;
    if (auto st = Connect(o, &edge); !st.ok()) return Fail(err, "authenticate", st);
    PrintCa(edge.ca, o.json, out);
    if (!o.ca_file.empty()) {
      if (auto st = SaveCert(o.ca_file, edge.ca.ca.get()); !st.ok()) return Fail(err, "authenticate", st);
    }
    return 0;
  }
  if (cmd == "enroll") return Enroll(o, out, err);
  if (cmd == "renew") {
    bool renewed = false;
    int rc = RenewOnce(o, out, err, &renewed);
    while (o.watch && rc == 0) {
      std::this_thread::sleep_for(std::chrono::hours(1));
      rc = RenewOnce(o, out, err, &renewed);
    }
    return rc;
  }

  auto stub = v1::PkiService::NewStub(Dial(o.pki_target));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + o.timeout);
  if (cmd == "identity") {
    if (args.size() != 3 || o.key_file.empty() || o.cert_file.empty() || o.ca_file.empty()) {
      err << "vpnfleet pki identity ROLE NAME --key_file F --cert_file F --ca_file F\n";
      return 2;
    }
    auto alg = pki::ParseKeyAlgorithmName(o.key_type);
    if (!alg.ok()) return Fail(err, "identity", alg.status());
    auto key = pki::GenerateKey(*alg);
    if (!key.ok()) return Fail(err, "identity", key.status());
    pki::CsrParams params;
    params.subject = "CN=" + args[2];
    auto csr = pki::BuildCsr(params, key->get());
    if (!csr.ok()) return Fail(err, "identity", csr.status());
    v1::IssueIdentityRequest req;
    req.set_csr_der(*csr);
    req.set_role(args[1]);
    req.set_name(args[2]);
    req.set_valid_seconds(o.valid_seconds);
    v1::IssuedIdentity issued;
    auto st = stub->IssueIdentity(&ctx, req, &issued);
    if (!st.ok()) return FailRpc(err, o.pki_target, "identity", st);
    auto key_pem = pki::PrivateKeyToPem(key->get(), "");
    if (!key_pem.ok()) return Fail(err, "identity", key_pem.status());
    for (const auto& [path, data, mode] :
         {std::tuple<std::string, std::string, int>{o.key_file, *key_pem, 0600},
          {o.cert_file, issued.certificate_pem(), 0644},
          {o.ca_file, issued.ca_pem(), 0644}}) {
      if (auto w = files::WriteFileAtomically(path, data, mode); !w.ok()) return Fail(err, "identity", w);
    }
    if (o.json) {
      out << Json(issued.certificate());
    } else {
      out << "% Identity " << issued.identity() << " (serial " << issued.certificate().serial_hex()
          << ", until " << IosTime(issued.certificate().not_after_unix_seconds()) << ")\n";
    }
    return 0;
  }
  if (cmd == "challenge") {
    v1::IssueChallengeRequest req;
    req.set_device(o.device);
    req.set_subject_cn(o.cn);
    for (const auto& san : o.sans) req.add_subject_alt_names(san);
    req.set_require_approval(o.approval);
    req.set_valid_seconds(static_cast<uint32_t>(o.valid_seconds));
    v1::Challenge ch;
    auto st = stub->IssueChallenge(&ctx, req, &ch);
    if (!st.ok()) return FailRpc(err, o.pki_target, "challenge", st);
    if (o.json) {
      out << Json(ch);
    } else {
      out << "% Challenge password for " << ch.device() << " (one use, until "
          << IosTime(ch.expires_unix_seconds()) << "):\n" << ch.password() << "\n";
    }
    return 0;
  }
  if (cmd == "pending") {
    v1::ListPendingRequestsResponse resp;
    auto st = stub->ListPendingRequests(&ctx, v1::ListPendingRequestsRequest(), &resp);
    if (!st.ok()) return FailRpc(err, o.pki_target, "pending", st);
    if (o.json) {
      out << Json(resp);
      return 0;
    }
    out << "Transaction                                                       Device        Subject\n";
    for (const auto& r : resp.requests()) {
      out << r.transaction_id() << "  " << r.device() << "  " << r.subject() << "\n";
    }
    return 0;
  }
  if (cmd == "approve" || cmd == "reject") {
    if (args.size() != 2) {
      err << "vpnfleet pki " << cmd << " TRANSACTION\n";
      return 2;
    }
    grpc::Status st;
    if (cmd == "approve") {
      v1::ApproveRequestRequest req;
      req.set_transaction_id(args[1]);
      v1::ApproveRequestResponse resp;
      st = stub->ApproveRequest(&ctx, req, &resp);
    } else {
      v1::RejectRequestRequest req;
      req.set_transaction_id(args[1]);
      req.set_reason(o.reason);
      v1::RejectRequestResponse resp;
      st = stub->RejectRequest(&ctx, req, &resp);
    }
    if (!st.ok()) return FailRpc(err, o.pki_target, cmd, st);
    out << (o.json ? absl::StrCat("{\"result\": \"", cmd, "d\"}\n")
                   : absl::StrCat("% Request ", args[1], " ", cmd, "d\n"));
    return 0;
  }
  if (cmd == "revoke") {
    if (args.size() != 2) {
      err << "vpnfleet pki revoke SERIAL [--reason R]\n";
      return 2;
    }
    v1::RevokeCertificateRequest req;
    req.set_serial_hex(args[1]);
    v1::RevocationReason reason = v1::REVOCATION_REASON_UNSPECIFIED;
    if (!o.reason.empty()) {
      std::string name = absl::StrCat("REVOCATION_REASON_", absl::AsciiStrToUpper(o.reason));
      std::replace(name.begin(), name.end(), '-', '_');
      if (!v1::RevocationReason_Parse(name, &reason)) {
        err << "vpnfleet pki revoke: unknown --reason " << o.reason
            << " (key-compromise, ca-compromise, affiliation-changed, superseded, "
               "cessation-of-operation, certificate-hold)\n";
        return 2;
      }
    }
    req.set_reason(reason);
    v1::RevokeCertificateResponse resp;
    auto st = stub->RevokeCertificate(&ctx, req, &resp);
    if (!st.ok()) return FailRpc(err, o.pki_target, "revoke", st);
    out << (o.json ? Json(resp)
                   : absl::StrCat("% Certificate ", absl::AsciiStrToUpper(resp.certificate().serial_hex()),
                                  " revoked; the next CRL lists it\n"));
    return 0;
  }
  if (cmd == "crl") {
    v1::Crl crl;
    auto st = stub->GetCrl(&ctx, v1::GetCrlRequest(), &crl);
    if (!st.ok()) return FailRpc(err, o.pki_target, "crl", st);
    if (o.json) {
      v1::Crl summary = crl;
      summary.clear_der();
      out << Json(summary);
    } else {
      out << "CRL number " << crl.crl_number() << ", " << crl.revoked_count() << " revoked\n"
          << "  this update: " << IosTime(crl.this_update_unix_seconds()) << "\n"
          << "  next update: " << IosTime(crl.next_update_unix_seconds()) << "\n";
    }
    return 0;
  }
  if (cmd == "ca") {
    v1::CaInfo info;
    auto st = stub->GetCaInfo(&ctx, v1::GetCaInfoRequest(), &info);
    if (!st.ok()) return FailRpc(err, o.pki_target, "ca", st);
    for (auto& c : *info.mutable_chain()) c.clear_der();
    out << Json(info);
    return 0;
  }
  err << "vpnfleet pki: unknown command '" << cmd << "'\n\n" << kPkiUsage << "\n";
  return 2;
}

}  // namespace vpnfleet::cli
