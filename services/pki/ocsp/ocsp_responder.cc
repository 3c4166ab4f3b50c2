#include "services/pki/ocsp/ocsp_responder.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, decltype(&OCSP_REQUEST_free)>;
using BasicPtr = std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)>;
using ResponsePtr = std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)>;
using CertIdPtr = std::unique_ptr<OCSP_CERTID, decltype(&OCSP_CERTID_free)>;
using TimePtr = std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>;

// RFC 8954 §2.1: a nonce of 1 to 32 octets; the extension's value wraps it
// in an OCTET STRING (two more octets).
constexpr int kMaxNonceExtension = 34;

std::string Der(OCSP_RESPONSE* r) {
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_RESPONSE(r, &out);
  if (n <= 0) return "";
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

// An unsigned response with only a status (§4.2.1: no responseBytes).
std::string StatusOnly(int status) {
  ResponsePtr r(OCSP_response_create(status, nullptr), OCSP_RESPONSE_free);
  return r ? Der(r.get()) : "";
}

// The digests a CertID may name; SHA-1 is what most clients still send.
bool AcceptedDigest(const EVP_MD* md) {
  if (md == nullptr) return false;
  const int nid = EVP_MD_get_type(md);
  return nid == NID_sha1 || nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

}  // namespace

CertStatusLookup StoreLookup(PkiStore* store) {
  return [store](const std::string& serial) -> absl::StatusOr<CertStatus> {
    auto found = store->GetCertificate(serial);
    if (!found.ok()) return found.status();
    CertStatus st;
    if (!found->has_value()) return st;
    const CertificateRecord& c = **found;
    st.kind = c.revoked ? CertStatus::Kind::kRevoked : CertStatus::Kind::kGood;
    st.revoked_at = c.revoked_at;
    st.reason = c.revocation_reason;
    return st;
  };
}

std::string OcspResponder::Respond(absl::string_view request_der) {
  auto malformed = [&] {
    ++counters_.malformed;
    ERR_clear_error();
    return StatusOnly(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  };
  auto internal = [&] {
    ++counters_.internal_error;
    ERR_clear_error();
    return StatusOnly(OCSP_RESPONSE_STATUS_INTERNALERROR);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(request_der.data());
  const auto* end = p + request_der.size();
  OcspRequestPtr req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size())),
                     OCSP_REQUEST_free);
  if (!req || p != end) return malformed();
  const int singles = OCSP_request_onereq_count(req.get());
  if (singles <= 0 || singles > options_.max_certificates) return malformed();
  const int nonce_at = OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, -1);
  if (nonce_at >= 0) {
    const ASN1_OCTET_STRING* v =
        X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req.get(), nonce_at));
    if (v == nullptr || ASN1_STRING_length(v) > kMaxNonceExtension) return malformed();
  }

  X509* ca = ca_->certificate();
  const absl::Time now = clock_->Now();
  TimePtr this_update(ASN1_TIME_set(nullptr, absl::ToTimeT(now)), ASN1_TIME_free);
  BasicPtr basic(OCSP_BASICRESP_new(), OCSP_BASICRESP_free);
  if (!basic || !this_update) return internal();
  int ours = 0;
  struct Tally {
    int good = 0, revoked = 0, unknown = 0;
  } tally;
  for (int i = 0; i < singles; ++i) {
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), i));
    ASN1_OBJECT* md_obj = nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (id == nullptr || OCSP_id_get0_info(nullptr, &md_obj, nullptr, &serial, id) != 1 ||
        serial == nullptr) {
      return malformed();
    }
    const EVP_MD* md = EVP_get_digestbyobj(md_obj);
    // Is it about a certificate of ours? Our CertID computed with the
    // client's digest must match its issuer name and key hashes.
    bool issued_here = false;
    if (AcceptedDigest(md)) {
      CertIdPtr mine(OCSP_cert_id_new(md, X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca),
                                      serial),
                     OCSP_CERTID_free);
      if (!mine) return internal();
      issued_here = OCSP_id_issuer_cmp(mine.get(), id) == 0;
    }
    CertStatus st;
    if (issued_here) {
      ++ours;
      auto found = lookup_(SerialHex(serial));
      if (!found.ok()) return internal();
      st = *found;
    }
    // A revocation scheduled for later (a superseded certificate's
    // overlap) is not one yet: good until then, and no cache outlives it.
    absl::Time next = now + options_.validity;
    if (st.kind == CertStatus::Kind::kRevoked && st.revoked_at > now) {
      st.kind = CertStatus::Kind::kGood;
      next = std::min(next, st.revoked_at);
    }
    TimePtr next_update(ASN1_TIME_set(nullptr, absl::ToTimeT(next)), ASN1_TIME_free);
    if (!next_update) return internal();
    int status = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = -1;
    TimePtr revoked_at(nullptr, ASN1_TIME_free);
    switch (st.kind) {
      case CertStatus::Kind::kGood:
        status = V_OCSP_CERTSTATUS_GOOD;
        ++tally.good;
        break;
      case CertStatus::Kind::kRevoked:
        status = V_OCSP_CERTSTATUS_REVOKED;
        revoked_at.reset(ASN1_TIME_set(nullptr, absl::ToTimeT(st.revoked_at)));
        if (!revoked_at) return internal();
        // Our reasons are numbered as CRLReason is (RFC 5280 §5.3.1).
        if (st.reason != v1::REVOCATION_REASON_UNSPECIFIED) reason = static_cast<int>(st.reason);
        ++tally.revoked;
        break;
      case CertStatus::Kind::kUnknown:
        ++tally.unknown;
        break;
    }
    if (OCSP_basic_add1_status(basic.get(), id, status, reason, revoked_at.get(),
                               this_update.get(), next_update.get()) == nullptr) {
      return internal();
    }
  }
  // §2.3: a responder that is not authoritative for any of them says so.
  if (ours == 0) {
    ++counters_.unauthorized;
    ERR_clear_error();
    return StatusOnly(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  }
  // RFC 8954: the client's nonce back, binding the answer to its question.
  if (OCSP_copy_nonce(basic.get(), req.get()) <= 0) return internal();
  // Signed by the issuing CA (§4.2.2.2), identified by key hash, with its
  // certificate included so that clients which look the signer up only
  // among the response's certificates (`openssl ocsp`) find it.
  EVP_PKEY* key = ca_->key();
  if (OCSP_basic_sign(basic.get(), ca, key, DigestFor(key), nullptr, OCSP_RESPID_KEY) != 1) {
    return internal();
  }
  ResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()),
                   OCSP_RESPONSE_free);
  if (!resp) return internal();
  std::string der = Der(resp.get());
  if (der.empty()) return internal();
  counters_.good += static_cast<uint64_t>(tally.good);
  counters_.revoked += static_cast<uint64_t>(tally.revoked);
  counters_.unknown += static_cast<uint64_t>(tally.unknown);
  ERR_clear_error();
  return der;
}

}  // namespace vpnfleet::pki
