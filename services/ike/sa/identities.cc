// Identities (RFC 7296 §3.5) as the IKE SA builds and prints them: the
// address or FQDN we send, and any peer's ID as `show crypto isakmp sa`
// writes it.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/ike/sa/ike_sa.h"

namespace vpnfleet::ike {

v2::IdPayload AddressIdentity(const net::IpAddress& address) {
  v2::IdPayload id;
  id.id_type = address.family == net::Family::kV4 ? 1 : 5;
  id.data.assign(reinterpret_cast<const char*>(address.bytes.data()),
                 address.family == net::Family::kV4 ? 4 : 16);
  return id;
}

v2::IdPayload FqdnIdentity(const std::string& name) {
  v2::IdPayload id;
  id.id_type = 2;
  id.data = name;
  return id;
}

std::string IdentityText(const v2::IdPayload& id) {
  if ((id.id_type == 1 && id.data.size() == 4) || (id.id_type == 5 && id.data.size() == 16)) {
    net::IpAddress a;
    a.family = id.id_type == 1 ? net::Family::kV4 : net::Family::kV6;
    std::copy(id.data.begin(), id.data.end(), a.bytes.begin());
    return a.ToString();
  }
  if (id.id_type == 2 || id.id_type == 3) {
    std::string s;
    for (char c : id.data) s += absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?';
    return s;
  }
  if (id.id_type == auth::kIdDn) {
    const std::string dn = auth::DnText(id.data);
    return dn.empty() ? absl::StrCat("DN(", id.data.size(), " octets)") : dn;
  }
  return absl::StrCat("ID type ", id.id_type);
}

}  // namespace vpnfleet::ike
