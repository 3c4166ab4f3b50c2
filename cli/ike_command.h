// `vpnfleet show crypto isakmp sa` and `show crypto ipsec sa`: the IKE
// daemon's SAs in the layout IOS prints (with IKEv2 details the way
// `show crypto ikev2 sa detail` gives them).
#ifndef VPNFLEET_CLI_IKE_COMMAND_H_
#define VPNFLEET_CLI_IKE_COMMAND_H_

#include <ostream>

#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::cli {

void PrintIsakmpSaIos(const vpnfleet::ike::v1::ListIkeSasResponse& sas, int64_t now_unix,
                      std::ostream& out);

// `show crypto key mypubkey rsa`: each key's name, size and its DER
// SubjectPublicKeyInfo in IOS's "Key Data" hex block (what a peer pastes
// into `crypto key pubkey-chain rsa` ... `key-string`).
void PrintMyPubkeyIos(const vpnfleet::ike::v1::ListPublicKeysResponse& keys, std::ostream& out);
void PrintIpsecSaIos(const vpnfleet::ike::v1::ListChildSasResponse& sas, std::ostream& out);

}  // namespace vpnfleet::cli

#endif  // VPNFLEET_CLI_IKE_COMMAND_H_
