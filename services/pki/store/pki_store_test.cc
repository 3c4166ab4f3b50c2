#include "services/pki/store/pki_store.h"

#include <cstdlib>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

#include "gtest/gtest.h"

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

std::string TempDb() {
  char dir[] = "/tmp/pki_store_testXXXXXX";
  return std::string(mkdtemp(dir)) + "/pki.db";
}

CertificateRecord Cert(const std::string& serial, const std::string& device,
                       const std::string& txid = "tx") {
  CertificateRecord c;
  c.serial_hex = serial;
  c.device = device;
  c.subject = "CN=" + device;
  c.subject_alt_names = {"DNS:" + device + ".example", "IP:192.0.2.1"};
  c.key_algorithm = v1::KEY_ALGORITHM_ECDSA_P256;
  c.not_before = absl::FromUnixSeconds(1700000000);
  c.not_after = absl::FromUnixSeconds(1800000000);
  c.fingerprint_sha256 = "ab";
  c.der = std::string("\x30\x00\x01", 3);
  c.transaction_id = txid + serial;
  return c;
}

ChallengeRecord Challenge(const std::string& id, const std::string& hash) {
  ChallengeRecord c;
  c.id = id;
  c.device = "edge1";
  c.password_hash = hash;
  c.expires = absl::FromUnixSeconds(1700003600);
  return c;
}

TEST(PkiStore, EnrollmentSurvivesReopenAndUsesTheChallengeOnce) {
  const std::string path = TempDb();
  {
    auto store = PkiStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->AddChallenge(Challenge("c1", "hash1")).ok());
    ASSERT_TRUE((*store)->RecordEnrollment("c1", Cert("0a", "edge1")).ok());
    // The same challenge again: refused, and the second certificate is not kept.
    const absl::Status again = (*store)->RecordEnrollment("c1", Cert("0b", "edge1"));
    EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  }
  auto store = PkiStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto got = (*store)->GetCertificate("0a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->device, "edge1");
  EXPECT_EQ((*got)->subject_alt_names.size(), 2u);
  EXPECT_EQ((*got)->der, std::string("\x30\x00\x01", 3));
  auto missing = (*store)->GetCertificate("0b");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto ch = (*store)->FindChallenge("hash1");
  ASSERT_TRUE(ch.ok() && ch->has_value());
  EXPECT_TRUE((*ch)->used);
}

TEST(PkiStore, RevokeOnceAndFilter) {
  auto store = PkiStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->AddCertificate(Cert("01", "edge1")).ok());
  ASSERT_TRUE((*store)->AddCertificate(Cert("02", "edge2")).ok());
  EXPECT_EQ((*store)->AddCertificate(Cert("02", "edge2")).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE((*store)
                  ->Revoke("01", absl::FromUnixSeconds(1700000100),
                           v1::REVOCATION_REASON_KEY_COMPROMISE)
                  .ok());
  EXPECT_EQ((*store)->Revoke("01", absl::FromUnixSeconds(1700000200),
                             v1::REVOCATION_REASON_SUPERSEDED).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store)->Revoke("ff", absl::FromUnixSeconds(1), v1::REVOCATION_REASON_UNSPECIFIED)
                .code(),
            absl::StatusCode::kNotFound);
  auto one = (*store)->GetCertificate("01");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_TRUE((*one)->revoked);
  EXPECT_EQ((*one)->revocation_reason, v1::REVOCATION_REASON_KEY_COMPROMISE);
  EXPECT_EQ(absl::ToUnixSeconds((*one)->revoked_at), 1700000100);

  auto edge2 = (*store)->ListCertificates({"edge2", ""});
  ASSERT_TRUE(edge2.ok());
  ASSERT_EQ(edge2->size(), 1u);
  EXPECT_EQ((*edge2)[0].serial_hex, "02");
  // The filter is literal text: '%' matches nothing.
  auto pattern = (*store)->ListCertificates({"", "%"});
  ASSERT_TRUE(pattern.ok());
  EXPECT_TRUE(pattern->empty());
  auto counts = (*store)->Count(absl::FromUnixSeconds(1750000000));
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->valid, 1);
  EXPECT_EQ(counts->revoked, 1);
  auto later = (*store)->Count(absl::FromUnixSeconds(1900000000));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->expired, 1);
}

TEST(PkiStore, PendingApproveAndReject) {
  auto store = PkiStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->AddChallenge(Challenge("c1", "h1")).ok());
  ASSERT_TRUE((*store)->AddChallenge(Challenge("c2", "h2")).ok());
  PendingRecord p;
  p.transaction_id = "t1";
  p.device = "edge1";
  p.subject = "CN=edge1";
  p.csr_der = "csr";
  p.requester_cert_der = "cert";
  ASSERT_TRUE((*store)->RecordPending("c1", p).ok());
  p.transaction_id = "t2";
  ASSERT_TRUE((*store)->RecordPending("c2", p).ok());
  auto waiting = (*store)->ListPending(true);
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->size(), 2u);

  ASSERT_TRUE((*store)->ApprovePending("t1", Cert("0c", "edge1")).ok());
  EXPECT_EQ((*store)->ApprovePending("t1", Cert("0d", "edge1")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE((*(*store)->GetCertificate("0d")).has_value());
  ASSERT_TRUE((*store)->RejectPending("t2", "unknown device").ok());
  EXPECT_EQ((*store)->RejectPending("t2", "again").code(), absl::StatusCode::kFailedPrecondition);

  auto t1 = (*store)->GetPending("t1");
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ((*t1)->state, PendingState::kApproved);
  EXPECT_EQ((*t1)->serial_hex, "0c");
  auto t2 = (*store)->GetPending("t2");
  EXPECT_EQ((*t2)->state, PendingState::kRejected);
  EXPECT_EQ((*t2)->reject_reason, "unknown device");
  EXPECT_TRUE((*store)->ListPending(true)->empty());
}

TEST(PkiStore, CrlStateStartsEmptyAndIsReplaced) {
  auto store = PkiStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  auto empty = (*store)->GetCrl();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->number, 0u);
  EXPECT_TRUE(empty->der.empty());
  for (uint64_t n : {1u, 2u}) {
    PkiStore::CrlState c;
    c.number = n;
    c.der = "crl" + std::to_string(n);
    c.this_update = absl::FromUnixSeconds(100 * n);
    c.next_update = absl::FromUnixSeconds(1000 * n);
    ASSERT_TRUE((*store)->PutCrl(c).ok());
  }
  auto crl = (*store)->GetCrl();
  ASSERT_TRUE(crl.ok());
  EXPECT_EQ(crl->number, 2u);
  EXPECT_EQ(crl->der, "crl2");
  EXPECT_EQ(absl::ToUnixSeconds(crl->next_update), 2000);
}

TEST(PkiStore, RegistrationsAreReplacedWhole) {
  auto store = PkiStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  auto none = (*store)->GetRegistration("edge1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE((*store)->PutRegistration({"edge1", "edge1", {"IP:192.0.2.1", "DNS:a"},
                                          absl::FromUnixSeconds(10)}).ok());
  ASSERT_TRUE((*store)->PutRegistration({"edge1", "", {"IP:192.0.2.2"},
                                          absl::FromUnixSeconds(20)}).ok());
  auto reg = (*store)->GetRegistration("edge1");
  ASSERT_TRUE(reg.ok() && reg->has_value());
  EXPECT_EQ((*reg)->subject_cn, "");
  EXPECT_EQ((*reg)->subject_alt_names, (std::vector<std::string>{"IP:192.0.2.2"}));
  EXPECT_EQ(absl::ToUnixSeconds((*reg)->updated), 20);
}

// Concurrent writers share commits (group commit) but keep their own
// outcome: every certificate lands, and of many enrollments racing for one
// challenge exactly one wins.
TEST(PkiStore, ConcurrentWritersEachGetTheirOwnResult) {
  const std::string path = TempDb();
  auto store = PkiStore::Open(path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->AddChallenge(Challenge("race", "race-hash")).ok());
  std::atomic<int> won(0), lost(0), added(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        if ((*store)->AddCertificate(Cert(absl::StrCat("a", t, "x", i), "bulk")).ok()) ++added;
      }
      const absl::Status st =
          (*store)->RecordEnrollment("race", Cert(absl::StrCat("r", t), "racer"));
      if (st.ok()) {
        ++won;
      } else if (st.code() == absl::StatusCode::kFailedPrecondition) {
        ++lost;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(added.load(), 320);
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 7);
  store->reset();
  auto reopened = PkiStore::Open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->ListCertificates({"bulk", ""})->size(), 320u);
  EXPECT_EQ((*reopened)->ListCertificates({"racer", ""})->size(), 1u);
}

TEST(PkiStore, ChallengesKeepTheirNamesAndOlderStoresAreMigrated) {
  const std::string path = TempDb();
  {
    // A store as the previous release left it: challenges without names.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE challenges (id TEXT PRIMARY KEY, device TEXT NOT NULL, "
                           "subject_cn TEXT NOT NULL, password_hash BLOB NOT NULL UNIQUE, "
                           "expires INTEGER NOT NULL, require_approval INTEGER NOT NULL, "
                           "used INTEGER NOT NULL DEFAULT 0);"
                           "INSERT INTO challenges VALUES ('old', 'edge0', '', x'01', 4000000000, 0, 0);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = PkiStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto old = (*store)->FindChallenge(std::string("\x01", 1));
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_TRUE((*old)->any_names);  // issued under the old rules
  ChallengeRecord named = Challenge("new", "h-new");
  named.subject_alt_names = {"DNS:edge1.example", "IP:192.0.2.1"};
  ASSERT_TRUE((*store)->AddChallenge(named).ok());
  ChallengeRecord bare = Challenge("bare", "h-bare");
  ASSERT_TRUE((*store)->AddChallenge(bare).ok());
  store->reset();
  auto again = PkiStore::Open(path);  // and opening a migrated store is a no-op
  ASSERT_TRUE(again.ok()) << again.status();
  auto got = (*again)->FindChallenge("h-new");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_FALSE((*got)->any_names);
  EXPECT_EQ((*got)->subject_alt_names, named.subject_alt_names);
  auto none = (*again)->FindChallenge("h-bare");
  ASSERT_TRUE(none.ok() && none->has_value());
  EXPECT_FALSE((*none)->any_names);
  EXPECT_TRUE((*none)->subject_alt_names.empty());
}

TEST(PkiStore, UnopenablePathIsAnError) {
  auto store = PkiStore::Open("/nonexistent-dir/for/sure/pki.db");
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace vpnfleet::pki
