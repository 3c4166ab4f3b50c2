#!/bin/bash
# Makes the certificates the IKE certificate-authentication tests use. The
# output is checked in; run this again only to change it. Every certificate
# is valid from 2023-01-01 for a hundred years, so tests with a fake clock
# (which starts in November 2023) see them valid, and a clock moved past
# 2123 sees them expired.
#   rsa-ca ─┬─ rsa-hub      CN=hub.example.net    IP 198.51.100.1
#           ├─ rsa-spoke    CN=spoke.example.net  IP 198.51.100.2
#           └─ rsa-revoked  CN=spoke.example.net  IP 198.51.100.2  (on rsa-ca.crl)
#   ec-root ── ec-sub ─┬─ ec-hub    P-256  IP 198.51.100.1
#                      └─ ec-spoke  P-384  IP 198.51.100.2
#   rogue-ca ── rogue-spoke  (the same names as rsa-spoke, an untrusted CA)
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=20230101000000Z
end=21230101000000Z
export SAN=DNS:unused  # the config names it; only leaf certificates use it

ca_conf() {  # NAME
  mkdir -p "$work/$1"
  : > "$work/$1/index.txt"
  echo 1000 > "$work/$1/serial"
  echo 1000 > "$work/$1/crlnumber"
  cat > "$work/$1/ca.cnf" <<CNF
[ ca ]
default_ca = this
[ this ]
dir = $work/$1
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
default_crl_days = 36500
[ any ]
commonName = supplied
organizationName = optional
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf_ext ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
subjectAltName = \${ENV::SAN}
authorityKeyIdentifier = keyid
CNF
}

key() {  # FILE KIND
  case $2 in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
  esac
}

root() {  # NAME KIND SUBJECT
  ca_conf "$1"
  key "$1.key" "$2"
  openssl req -new -key "$1.key" -subj "$3" -out "$work/$1.csr"
  openssl ca -batch -config "$work/$1/ca.cnf" -selfsign -keyfile "$1.key" -in "$work/$1.csr" \
    -startdate $start -enddate $end -extensions ca_ext -notext -out "$1.pem"
}

sub_ca() {  # NAME KIND SUBJECT ISSUER
  ca_conf "$1"
  key "$1.key" "$2"
  openssl req -new -key "$1.key" -subj "$3" -out "$work/$1.csr"
  openssl ca -batch -config "$work/$4/ca.cnf" -cert "$4.pem" -keyfile "$4.key" \
    -in "$work/$1.csr" -startdate $start -enddate $end -extensions ca_ext -notext \
    -out "$1.pem" 2>/dev/null
}

leaf() {  # NAME KIND SUBJECT SAN ISSUER
  key "$1.key" "$2"
  openssl req -new -key "$1.key" -subj "$3" -out "$work/$1.csr"
  SAN="$4" openssl ca -batch -config "$work/$5/ca.cnf" -cert "$5.pem" -keyfile "$5.key" \
    -in "$work/$1.csr" -startdate $start -enddate $end -extensions leaf_ext -notext \
    -out "$1.pem" 2>/dev/null
}

root rsa-ca rsa "/CN=vpnfleet test RSA CA/O=vpnfleet"
leaf rsa-hub rsa "/CN=hub.example.net/O=vpnfleet" "DNS:hub.example.net,IP:198.51.100.1" rsa-ca
leaf rsa-spoke rsa "/CN=spoke.example.net/O=vpnfleet" "DNS:spoke.example.net,IP:198.51.100.2" rsa-ca
leaf rsa-revoked rsa "/CN=spoke.example.net/O=vpnfleet" "DNS:spoke.example.net,IP:198.51.100.2" rsa-ca
openssl ca -config "$work/rsa-ca/ca.cnf" -cert rsa-ca.pem -keyfile rsa-ca.key \
  -revoke rsa-revoked.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -config "$work/rsa-ca/ca.cnf" -cert rsa-ca.pem -keyfile rsa-ca.key \
  -gencrl -crl_lastupdate $start -crl_nextupdate $end -out rsa-ca.crl 2>/dev/null

root ec-root p256 "/CN=vpnfleet test EC root/O=vpnfleet"
sub_ca ec-sub p256 "/CN=vpnfleet test EC issuing CA/O=vpnfleet" ec-root
leaf ec-hub p256 "/CN=hub.example.net/O=vpnfleet" "DNS:hub.example.net,IP:198.51.100.1" ec-sub
leaf ec-spoke p384 "/CN=spoke.example.net/O=vpnfleet" "DNS:spoke.example.net,IP:198.51.100.2" ec-sub

root rogue-ca rsa "/CN=vpnfleet test RSA CA/O=vpnfleet"
leaf rogue-spoke rsa "/CN=spoke.example.net/O=vpnfleet" "DNS:spoke.example.net,IP:198.51.100.2" rogue-ca
rm -f ./*-ca.key ec-root.key ec-sub.key
