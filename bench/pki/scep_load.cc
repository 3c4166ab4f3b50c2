// SCEP enrollment load generator against any RFC 8894 server: N PKCSReq
// messages for fresh RSA-2048 keys are built first (key, CSR, self-signed
// certificate, envelope, signature); then C threads POST them while the
// clock runs; then every reply is checked (signature, nonce, SUCCESS, a
// certificate for our key in the envelope). Challenges come one per line
// from --challenges (one-time passwords) or --challenge (a static one).
// Prints its figures, then one JSON line.
//
//   scep_load --url http://127.0.0.1:18080/scep --requests 200 --concurrency 8 \
//             --challenges FILE --name ours
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/files/files.h"
#include "services/pki/ca/keys.h"
#include "services/pki/http/civet_transport.h"
#include "services/pki/ca/csr.h"
#include "services/pki/scep/client.h"
#include "services/pki/scep/pki_message.h"

ABSL_FLAG(std::string, url, "", "SCEP URL.");
ABSL_FLAG(std::string, name, "server", "Label of the server in the output.");
ABSL_FLAG(int, requests, 200, "Enrollments to make.");
ABSL_FLAG(int, concurrency, 8, "Client threads.");
ABSL_FLAG(std::string, challenges, "", "File with one challenge password per line.");
ABSL_FLAG(std::string, challenge, "", "One static challenge password for every request.");
ABSL_FLAG(std::string, keys, "", "File of PEM RSA keys to use (made and kept there if missing).");

using namespace vpnfleet::pki;

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_requests);
  const int c = std::max(1, absl::GetFlag(FLAGS_concurrency));
  std::vector<std::string> challenges;
  if (!absl::GetFlag(FLAGS_challenges).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_challenges));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) challenges.push_back(line);
    }
  }
  while (static_cast<int>(challenges.size()) < n) challenges.push_back(absl::GetFlag(FLAGS_challenge));

  // Keys: RSA-2048, one per request, made up front (or reused from --keys so
  // that two servers get the very same requests).
  std::vector<EvpKey> keys;
  const std::string key_file = absl::GetFlag(FLAGS_keys);
  if (auto pem = vpnfleet::files::ReadFile(key_file); !key_file.empty() && pem.ok()) {
    size_t at = 0;
    while (static_cast<int>(keys.size()) < n) {
      const size_t end = pem->find("-----END PRIVATE KEY-----", at);
      if (end == std::string::npos) break;
      const size_t stop = end + 25;
      auto k = PrivateKeyFromPem(pem->substr(at, stop - at), "");
      if (!k.ok()) break;
      keys.push_back(std::move(*k));
      at = stop;
    }
  }
  if (static_cast<int>(keys.size()) < n) {
    std::vector<std::thread> makers;
    std::mutex mu;
    std::atomic<int> need(n - static_cast<int>(keys.size()));
    for (int t = 0; t < c; ++t) {
      makers.emplace_back([&] {
        while (need.fetch_sub(1) > 0) {
          auto k = GenerateKey(vpnfleet::pki::v1::KEY_ALGORITHM_RSA_2048);
          std::lock_guard<std::mutex> lock(mu);
          keys.push_back(std::move(*k));
        }
      });
    }
    for (auto& t : makers) t.join();
    if (!key_file.empty()) {
      std::string all;
      for (auto& k : keys) all += *PrivateKeyToPem(k.get(), "");
      (void)vpnfleet::files::WriteFileAtomically(key_file, all, 0600);
    }
  }

  const std::string name = absl::GetFlag(FLAGS_name);
  const std::string url = absl::GetFlag(FLAGS_url);
  auto http = CivetTransport::ForUrl(url);
  if (!http.ok()) {
    std::fprintf(stderr, "scep_load: %s\n", std::string(http.status().message()).c_str());
    return 2;
  }
  scep::ScepClient probe(http->get());
  auto ca = probe.Authenticate("");
  if (!ca.ok()) {
    std::fprintf(stderr, "scep_load: %s\n", std::string(ca.status().message()).c_str());
    return 2;
  }
  // Every PKCSReq is made before the clock starts (CSR, self-signed
  // certificate, envelope, signature), so the timed phase measures the
  // server, not this generator, which shares the machine with it.
  struct Request {
    X509Ptr self;
    std::string nonce, txid, message, reply;
    int http_status = 0;
  };
  std::vector<Request> reqs(n);
  const bool post = std::find(ca->capabilities.begin(), ca->capabilities.end(),
                              "POSTPKIOperation") != ca->capabilities.end();
  for (int i = 0; i < n; ++i) {
    Request& r = reqs[i];
    const std::string subject = absl::StrCat("CN=load-", name, "-", i, ",O=vpnfleet-bench");
    auto csr = BuildCsr({subject, {}, challenges[i]}, keys[i].get());
    auto self = SelfSigned(keys[i].get(), subject);
    if (!csr.ok() || !self.ok()) return 2;
    r.self = std::move(*self);
    auto env = scep::SealEnvelope(*csr, {ca->recipient()}, scep::ContentCipher::kAes128Cbc);
    if (!env.ok()) return 2;
    scep::PkiMessageFields f;
    f.type = scep::MessageType::kPkcsReq;
    f.transaction_id = scep::TransactionIdFor(keys[i].get());
    f.sender_nonce = absl::StrCat("nonce-", i, "-0123456789").substr(0, 16);
    r.txid = f.transaction_id;
    r.nonce = f.sender_nonce;
    auto msg = scep::BuildPkiMessage(f, *env, r.self.get(), keys[i].get());
    if (!msg.ok()) return 2;
    r.message = std::move(*msg);
  }

  std::atomic<int> next(0);
  std::vector<double> latencies_ms(n, 0);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < c; ++t) {
    workers.emplace_back([&] {
      auto transport = CivetTransport::ForUrl(url);
      for (int i; (i = next.fetch_add(1)) < n;) {
        const auto t0 = std::chrono::steady_clock::now();
        absl::StatusOr<scep::HttpResponse> reply =
            post ? (*transport)->Post("operation=PKIOperation", reqs[i].message)
                 : absl::UnimplementedError("this load generator POSTs");
        if (reply.ok()) {
          reqs[i].http_status = reply->status;
          reqs[i].reply = std::move(reply->body);
        }
        latencies_ms[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      }
    });
  }
  for (auto& w : workers) w.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Each reply checked as the client library would: signed by the CA,
  // answering our nonce, SUCCESS, and the envelope opens to a certificate
  // for our key.
  int ok = 0, failed = 0;
  std::string first_error;
  for (int i = 0; i < n; ++i) {
    Request& r = reqs[i];
    std::string why;
    auto m = scep::ParsePkiMessage(r.reply);
    if (r.http_status != 200 || !m.ok()) {
      why = absl::StrCat("HTTP ", r.http_status);
    } else if (!scep::VerifyPkiMessage(*m).ok() || m->fields.recipient_nonce != r.nonce) {
      why = "reply does not verify or answer the request";
    } else if (m->fields.status != scep::PkiStatus::kSuccess) {
      why = absl::StrCat("failInfo ", scep::FailInfoName(m->fields.fail_info));
    } else {
      auto inner = scep::OpenEnvelope(*scep::VerifyPkiMessage(*m), r.self.get(), keys[i].get());
      auto p7 = inner.ok() ? scep::ParseDegenerate(*inner) : absl::StatusOr<scep::Degenerate>(inner.status());
      if (!p7.ok() || p7->certs.empty() ||
          EVP_PKEY_eq(X509_get0_pubkey(p7->certs[0].get()), keys[i].get()) != 1) {
        why = "no certificate for our key in the reply";
      }
    }
    if (why.empty()) {
      ++ok;
    } else {
      ++failed;
      if (first_error.empty()) first_error = why;
    }
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double q) { return latencies_ms[std::min<size_t>(n - 1, static_cast<size_t>(q * n))]; };
  const double rate = ok / secs;
  std::printf("%s: %d enrollments (%d failed) in %.2f s with %d clients: %.1f/s, p50 %.1f ms, p99 %.1f ms\n",
              name.c_str(), ok, failed, secs, c, rate, pct(0.5), pct(0.99));
  if (!first_error.empty()) std::printf("%s: first error: %s\n", name.c_str(), first_error.c_str());
  std::printf("{\"name\": \"%s\", \"ok\": %d, \"failed\": %d, \"seconds\": %.3f, \"per_second\": %.2f, "
              "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"concurrency\": %d}\n",
              name.c_str(), ok, failed, secs, rate, pct(0.5), pct(0.99), c);
  return failed == 0 ? 0 : 1;
}
