#include "services/pki/server/pki_service.h"

#include "services/pki/ca/keys.h"

#include "absl/strings/match.h"

#include "absl/strings/escaping.h"

#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::pki {
namespace {

constexpr size_t kMaxField = 256;

bool IsHex(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Serials as the API takes them: hex, any case, optional colons/leading zeros.
std::string NormalSerial(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
  s = absl::AsciiStrToLower(s);
  const size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? (s.empty() ? s : "0") : s.substr(nz);
}

grpc::Status Invalid(absl::string_view what) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(what));
}

void UsageOf(X509* cert, v1::Certificate* out) {
  const uint32_t ku = X509_get_key_usage(cert);
  const std::pair<uint32_t, const char*> kus[] = {
      {KU_DIGITAL_SIGNATURE, "digitalSignature"}, {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
      {KU_KEY_CERT_SIGN, "keyCertSign"}, {KU_CRL_SIGN, "cRLSign"}};
  if (ku != UINT32_MAX) {
    for (const auto& [bit, name] : kus) {
      if (ku & bit) out->add_key_usage(name);
    }
  }
  auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
  for (int i = 0; eku != nullptr && i < sk_ASN1_OBJECT_num(eku); ++i) {
    const int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
    if (nid != NID_undef) {
      out->add_extended_key_usage(OBJ_nid2ln(nid));
    } else {
      char buf[80];
      OBJ_obj2txt(buf, sizeof buf, sk_ASN1_OBJECT_value(eku, i), 1);
      out->add_extended_key_usage(buf);
    }
  }
  EXTENDED_KEY_USAGE_free(eku);
  auto* cdp = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; cdp != nullptr && i < sk_DIST_POINT_num(cdp); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(cdp, i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* n = sk_GENERAL_NAME_value(names, j);
      if (n->type == GEN_URI) {
        out->add_crl_distribution_points(
            reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.uniformResourceIdentifier)));
      }
    }
  }
  CRL_DIST_POINTS_free(cdp);
}

}  // namespace

v1::Certificate PkiServiceImpl::ToProto(const CertificateRecord& c) const {
  v1::Certificate out;
  out.set_serial_hex(c.serial_hex);
  out.set_subject(c.subject);
  for (const auto& san : c.subject_alt_names) out.add_subject_alt_names(san);
  out.set_issuer(enrollment_->ca().Describe().subject());
  out.set_not_before_unix_seconds(absl::ToUnixSeconds(c.not_before));
  out.set_not_after_unix_seconds(absl::ToUnixSeconds(c.not_after));
  out.set_key_algorithm(c.key_algorithm);
  out.set_fingerprint_sha256(c.fingerprint_sha256);
  const absl::Time now = enrollment_->clock().Now();
  if (c.revoked) {
    // A superseded certificate in its overlap is still valid; the time says
    // when it stops being so.
    out.set_state(c.revoked_at <= now ? v1::CERTIFICATE_STATE_REVOKED : v1::CERTIFICATE_STATE_VALID);
    out.set_revocation_reason(c.revocation_reason);
    out.set_revoked_unix_seconds(absl::ToUnixSeconds(c.revoked_at));
  } else if (now >= c.not_after) {
    out.set_state(v1::CERTIFICATE_STATE_EXPIRED);
  } else {
    out.set_state(v1::CERTIFICATE_STATE_VALID);
  }
  out.set_device(c.device);
  out.set_der(c.der);
  const auto* p = reinterpret_cast<const unsigned char*>(c.der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(c.der.size())));
  if (cert) UsageOf(cert.get(), &out);
  return out;
}

grpc::Status PkiServiceImpl::GetCaInfo(grpc::ServerContext* context, const v1::GetCaInfoRequest*,
                                       v1::CaInfo* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/GetCaInfo"); !denied.ok()) return denied;
  *response->add_chain() = enrollment_->ca().Describe();
  for (const auto& up : info_.chain_above) *response->add_chain() = up;
  for (const auto& ra : info_.ra) *response->add_chain() = ra;
  response->set_scep_url(info_.scep_url);
  for (const auto& cap : info_.scep_capabilities) response->add_scep_capabilities(cap);
  response->set_crl_url(info_.crl_url);
  auto crl = enrollment_->CurrentCrl();
  if (crl.ok()) response->set_crl_next_update_unix_seconds(absl::ToUnixSeconds(crl->next_update));
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::IssueChallenge(grpc::ServerContext* context,
                                            const v1::IssueChallengeRequest* request,
                                            v1::Challenge* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/IssueChallenge"); !denied.ok()) return denied;
  if (request->device().empty() || request->device().size() > kMaxField) {
    return Invalid("device: name the device the challenge is for (1-256 characters)");
  }
  if (request->subject_cn().size() > kMaxField) return Invalid("subject_cn: at most 256 characters");
  const std::vector<std::string> sans(request->subject_alt_names().begin(),
                                      request->subject_alt_names().end());
  auto ch = enrollment_->IssueChallenge(request->device(), request->subject_cn(), sans,
                                        absl::Seconds(request->valid_seconds()),
                                        request->require_approval());
  if (!ch.ok()) return ToGrpcStatus(ch.status());
  log::Info("pki: challenge issued", {{"id", ch->record.id},
                                      {"device", ch->record.device},
                                      {"names", absl::StrJoin(ch->record.subject_alt_names, ",")},
                                      {"approval", ch->record.require_approval}});
  response->set_id(ch->record.id);
  response->set_device(ch->record.device);
  response->set_password(ch->password);
  response->set_expires_unix_seconds(absl::ToUnixSeconds(ch->record.expires));
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::RegisterDevice(grpc::ServerContext* context,
                                            const v1::RegisterDeviceRequest* request,
                                            v1::DeviceRegistration* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/RegisterDevice"); !denied.ok()) return denied;
  if (request->device().empty() || request->device().size() > kMaxField) {
    return Invalid("device: name the device (1-256 characters)");
  }
  if (request->subject_cn().size() > kMaxField) return Invalid("subject_cn: at most 256 characters");
  if (request->subject_alt_names_size() > 32) return Invalid("subject_alt_names: at most 32");
  const std::vector<std::string> sans(request->subject_alt_names().begin(),
                                      request->subject_alt_names().end());
  auto reg = enrollment_->RegisterDevice(request->device(), request->subject_cn(), sans);
  if (!reg.ok()) return ToGrpcStatus(reg.status());
  response->set_device(reg->device);
  response->set_subject_cn(reg->subject_cn);
  for (const auto& n : reg->subject_alt_names) response->add_subject_alt_names(n);
  response->set_updated_unix_seconds(absl::ToUnixSeconds(reg->updated));
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::ListCertificates(grpc::ServerContext* context,
                                              const v1::ListCertificatesRequest* request,
                                              v1::ListCertificatesResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/ListCertificates"); !denied.ok()) return denied;
  if (request->device().size() > kMaxField || request->subject_contains().size() > kMaxField) {
    return Invalid("filters are at most 256 characters");
  }
  auto rows = enrollment_->store().ListCertificates({request->device(), request->subject_contains()});
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  for (const auto& c : *rows) {
    v1::Certificate cert = ToProto(c);
    if (request->state() != v1::CERTIFICATE_STATE_UNSPECIFIED && cert.state() != request->state()) {
      continue;
    }
    *response->add_certificates() = std::move(cert);
  }
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::GetCertificate(grpc::ServerContext* context,
                                            const v1::GetCertificateRequest* request,
                                            v1::Certificate* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/GetCertificate"); !denied.ok()) return denied;
  const std::string serial = NormalSerial(request->serial_hex());
  if (!IsHex(serial)) return Invalid("serial_hex: a hexadecimal serial number");
  auto c = enrollment_->store().GetCertificate(serial);
  if (!c.ok()) return ToGrpcStatus(c.status());
  if (!c->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no certificate ", serial));
  }
  *response = ToProto(**c);
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::RevokeCertificate(grpc::ServerContext* context,
                                               const v1::RevokeCertificateRequest* request,
                                               v1::RevokeCertificateResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/RevokeCertificate"); !denied.ok()) return denied;
  const std::string serial = NormalSerial(request->serial_hex());
  if (!IsHex(serial)) return Invalid("serial_hex: a hexadecimal serial number");
  if (!v1::RevocationReason_IsValid(request->reason())) return Invalid("reason: unknown value");
  auto c = enrollment_->Revoke(serial, request->reason());
  if (!c.ok()) return ToGrpcStatus(c.status());
  log::Info("pki: certificate revoked",
            {{"serial", serial}, {"reason", v1::RevocationReason_Name(request->reason())}});
  *response->mutable_certificate() = ToProto(*c);
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::GetCrl(grpc::ServerContext* context, const v1::GetCrlRequest*,
                                    v1::Crl* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/GetCrl"); !denied.ok()) return denied;
  auto crl = enrollment_->CurrentCrl();
  if (!crl.ok()) return ToGrpcStatus(crl.status());
  response->set_der(crl->der);
  response->set_crl_number(crl->number);
  response->set_this_update_unix_seconds(absl::ToUnixSeconds(crl->this_update));
  response->set_next_update_unix_seconds(absl::ToUnixSeconds(crl->next_update));
  auto counts = enrollment_->store().Count(enrollment_->clock().Now());
  if (counts.ok()) response->set_revoked_count(static_cast<uint32_t>(counts->revoked));
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::ListPendingRequests(grpc::ServerContext* context,
                                                 const v1::ListPendingRequestsRequest*,
                                                 v1::ListPendingRequestsResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/ListPendingRequests"); !denied.ok()) return denied;
  auto rows = enrollment_->store().ListPending(true);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  for (const auto& p : *rows) {
    v1::PendingRequest* r = response->add_requests();
    r->set_transaction_id(p.transaction_id);
    r->set_device(p.device);
    r->set_subject(p.subject);
    for (const auto& san : p.subject_alt_names) r->add_subject_alt_names(san);
    r->set_key_algorithm(p.key_algorithm);
    r->set_received_unix_seconds(absl::ToUnixSeconds(p.received));
    r->set_renewal(p.renewal);
  }
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::IssueIdentity(grpc::ServerContext* context,
                                           const v1::IssueIdentityRequest* request,
                                           v1::IssuedIdentity* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/IssueIdentity"); !denied.ok()) return denied;
  if (request->csr_der().empty() || request->csr_der().size() > 64 * 1024) {
    return Invalid("csr_der: a PKCS#10 request in DER, at most 64 KiB");
  }
  if (request->valid_seconds() < 0) return Invalid("valid_seconds: 0 (the default) or more");
  auto c = enrollment_->IssueIdentity(request->csr_der(), request->role(), request->name(),
                                      absl::Seconds(request->valid_seconds()));
  if (!c.ok()) return ToGrpcStatus(c.status());
  *response->mutable_certificate() = ToProto(*c);
  for (const auto& san : c->subject_alt_names) {
    if (absl::StartsWith(san, "URI:spiffe://")) response->set_identity(san.substr(4));
  }
  response->set_certificate_pem(DerToPem(c->der, "CERTIFICATE"));
  std::string chain = DerToPem(enrollment_->ca().CertificateDer(), "CERTIFICATE");
  for (const auto& up : info_.chain_above) chain += DerToPem(up.der(), "CERTIFICATE");
  response->set_ca_pem(chain);
  log::Info("pki: identity issued", {{"identity", response->identity()}, {"serial", c->serial_hex}});
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::ApproveRequest(grpc::ServerContext* context,
                                            const v1::ApproveRequestRequest* request,
                                            v1::ApproveRequestResponse*) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/ApproveRequest"); !denied.ok()) return denied;
  if (request->transaction_id().empty() || request->transaction_id().size() > kMaxField) {
    return Invalid("transaction_id: as ListPendingRequests shows it");
  }
  auto c = enrollment_->Approve(request->transaction_id());
  if (!c.ok()) return ToGrpcStatus(c.status());
  log::Info("pki: request approved",
            {{"transaction", request->transaction_id()}, {"serial", c->serial_hex}});
  return grpc::Status::OK;
}

grpc::Status PkiServiceImpl::RejectRequest(grpc::ServerContext* context,
                                           const v1::RejectRequestRequest* request,
                                           v1::RejectRequestResponse*) {
  if (auto denied = authz_->Check(context, "vpnfleet.pki.v1.PkiService/RejectRequest"); !denied.ok()) return denied;
  if (request->transaction_id().empty() || request->transaction_id().size() > kMaxField) {
    return Invalid("transaction_id: as ListPendingRequests shows it");
  }
  if (request->reason().size() > kMaxField) return Invalid("reason: at most 256 characters");
  auto st = enrollment_->Reject(request->transaction_id(), request->reason());
  if (!st.ok()) return ToGrpcStatus(st);
  log::Info("pki: request rejected", {{"transaction", request->transaction_id()}});
  return grpc::Status::OK;
}

}  // namespace vpnfleet::pki
