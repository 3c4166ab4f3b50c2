// IosPusher over libssh (Debian's libssh 0.10): one session per call, an
// interactive shell with a pty, commands typed line by line and the
// router's answer read up to its next prompt.
#include <libssh/libssh.h>

#include <cctype>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/crypto/zeroize.h"
#include "services/controller/ios/ios_diff.h"
#include "services/controller/ios/ios_writer.h"
#include "services/controller/rollout/ios_pusher.h"

namespace vpnfleet::controller {
namespace {

// The most a router may print in answer to one command (a running
// configuration of a large hub is a few MiB).
constexpr size_t kMaxAnswerBytes = 32 << 20;

// A line typed at the router, fit for an error message or a log: the word
// after `key` or `pre-shared-key` (and a key type 0/6/7) is hidden.
std::string Redact(absl::string_view line) {
  std::vector<std::string> w = absl::StrSplit(line, ' ');
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] != "key" && w[i] != "pre-shared-key" && w[i] != "key-string") continue;
    size_t k = i + 1;
    while (k + 1 < w.size() && (w[k] == "0" || w[k] == "6" || w[k] == "7" || w[k] == "local" || w[k] == "remote")) {
      ++k;
    }
    if (w[k] != "address" && w[k] != "hostname") w[k] = ios::kHiddenKey;
  }
  return absl::StrJoin(w, " ");
}

// Control characters shown as \xNN.
std::string Printable(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The router's last line is a prompt: `R1#`, `R1(config-crypto-map)#`, `R1>`,
// or a question (`Destination filename [x]? `).
bool AtPrompt(absl::string_view buf, bool* question) {
  absl::string_view last = buf.substr(buf.rfind('\n') == absl::string_view::npos ? 0 : buf.rfind('\n') + 1);
  while (!last.empty() && (last.back() == ' ' || last.back() == '\r')) last.remove_suffix(1);
  *question = absl::EndsWith(last, "?") || absl::EndsWith(last, "[confirm]");
  if (*question) return true;
  if (last.empty() || last.size() > 80 || (last.back() != '#' && last.back() != '>')) return false;
  for (char c : last.substr(0, last.size() - 1)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("._-()/").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// The lines of an answer that say the command was refused.
std::string RefusalIn(absl::string_view answer) {
  for (absl::string_view line : absl::StrSplit(answer, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    for (const char* marker : {"% Invalid input", "% Incomplete command", "% Ambiguous command", "%Error",
                               "% Error", "% Unknown command"}) {
      if (absl::StartsWith(line, marker)) return std::string(line);
    }
  }
  return "";
}

class Shell {
 public:
  Shell(const SshIosOptions& o, const v1::Device& device) : o_(o), device_(device) {}
  ~Shell() {
    if (channel_ != nullptr) {
      ssh_channel_send_eof(channel_);
      ssh_channel_close(channel_);
      ssh_channel_free(channel_);
    }
    if (session_ != nullptr) {
      ssh_disconnect(session_);
      ssh_free(session_);
    }
  }

  absl::Status Open() {
    std::string host(device_.management_endpoint());
    int port = 22;
    if (auto colon = host.rfind(':'); colon != std::string::npos) {
      if (!absl::SimpleAtoi(host.substr(colon + 1), &port)) return Error("management_endpoint: no port");
      host = host.substr(0, colon);
    }
    host = std::string(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
    session_ = ssh_new();
    if (session_ == nullptr) return Error("cannot make an SSH session");
    long timeout = static_cast<long>(absl::ToInt64Seconds(o_.connect_timeout));
    bool no = false;
    ssh_options_set(session_, SSH_OPTIONS_HOST, host.c_str());
    ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
    ssh_options_set(session_, SSH_OPTIONS_USER, o_.user.c_str());
    ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &no);  // not root's ~/.ssh/config
    ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, o_.known_hosts_file.c_str());
    ssh_options_set(session_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    if (ssh_connect(session_) != SSH_OK) return Error(absl::StrCat("connect: ", ssh_get_error(session_)));
    switch (ssh_session_is_known_server(session_)) {
      case SSH_KNOWN_HOSTS_OK:
        break;
      case SSH_KNOWN_HOSTS_CHANGED:
      case SSH_KNOWN_HOSTS_OTHER:
        return Error("its host key is NOT the one in the known_hosts file: refusing (a changed router, or "
                     "someone in the middle)");
      default:
        return Error(absl::StrCat("its host key is not in ", o_.known_hosts_file,
                                  " (add it with ssh-keyscan after checking it)"));
    }
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_file(o_.private_key_file.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
      return Error(absl::StrCat("cannot read the controller's SSH key ", o_.private_key_file));
    }
    const int auth = ssh_userauth_publickey(session_, nullptr, key);
    ssh_key_free(key);
    if (auth != SSH_AUTH_SUCCESS) {
      return Error(absl::StrCat("the router refused the controller's key for user ", o_.user));
    }
    channel_ = ssh_channel_new(session_);
    if (channel_ == nullptr || ssh_channel_open_session(channel_) != SSH_OK ||
        ssh_channel_request_pty_size(channel_, "vt100", 511, 24) != SSH_OK ||
        ssh_channel_request_shell(channel_) != SSH_OK) {
      return Error(absl::StrCat("no shell: ", ssh_get_error(session_)));
    }
    auto banner = ReadToPrompt();
    if (!banner.ok()) return banner.status();
    if (absl::EndsWith(prompt_, ">")) {
      return Error(absl::StrCat("user ", o_.user, " is not at privilege 15 (the prompt ends in '>')"));
    }
    for (const char* setup : {"terminal length 0", "terminal width 511"}) {
      if (auto st = Exec(setup); !st.ok()) return st.status();
    }
    return absl::OkStatus();
  }

  // Types `line` and returns the router's answer (without the echo and the
  // next prompt). `reply` answers a question the command asks.
  absl::StatusOr<std::string> Exec(absl::string_view line, absl::string_view reply = "") {
    const std::string typed = absl::StrCat(line, "\n");
    if (ssh_channel_write(channel_, typed.data(), static_cast<uint32_t>(typed.size())) !=
        static_cast<int>(typed.size())) {
      return Error(absl::StrCat("the connection broke while typing `", Redact(line), "`"));
    }
    auto answer = ReadToPrompt(line);
    if (answer.ok() && question_) {
      const std::string r = absl::StrCat(reply, "\n");
      ssh_channel_write(channel_, r.data(), static_cast<uint32_t>(r.size()));
      auto rest = ReadToPrompt(line);
      if (!rest.ok()) return rest.status();
      answer = absl::StrCat(*answer, "\n", *rest);
    }
    return answer;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::UnavailableError(absl::StrCat("ios device ", device_.name(), " (ssh ",
                                               device_.management_endpoint(), "): ", what));
  }

 private:
  absl::StatusOr<std::string> ReadToPrompt(absl::string_view typing = "") {
    std::string buf;
    const absl::Time deadline = absl::Now() + o_.command_timeout;
    char chunk[4096];
    while (true) {
      const int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (left <= 0) {
        return absl::DeadlineExceededError(absl::StrCat("ios device ", device_.name(), ": no prompt within ",
                                                        absl::FormatDuration(o_.command_timeout), " after `",
                                                        Redact(typing), "`"));
      }
      const int n = ssh_channel_read_timeout(channel_, chunk, sizeof chunk, 0, std::min(left, 500));
      if (n == SSH_ERROR || (n == 0 && ssh_channel_is_eof(channel_))) {
        return Error(typing.empty() ? std::string("the connection closed")
                                    : absl::StrCat("the connection closed after `", Redact(typing), "`"));
      }
      for (int i = 0; i < n; ++i) {
        if (chunk[i] != '\r') buf.push_back(chunk[i]);
      }
      if (buf.size() > kMaxAnswerBytes) {  // a router (or what claims to be one) that never stops
        crypto::ZeroizeString(&buf);
        return Error(absl::StrCat("more than ", kMaxAnswerBytes >> 20, " MiB in answer to `", Redact(typing), "`"));
      }
      if (n > 0 && AtPrompt(buf, &question_)) break;
    }
    // Drop the echo of what was typed and the prompt (kept apart).
    size_t first = buf.find('\n');
    size_t last = buf.rfind('\n');
    prompt_ = std::string(absl::StripTrailingAsciiWhitespace(
        absl::string_view(buf).substr(last == std::string::npos ? 0 : last + 1)));
    std::string answer = first != std::string::npos && last > first ? buf.substr(first + 1, last - first - 1) : "";
    crypto::ZeroizeString(&buf);
    return answer;
  }

  const SshIosOptions& o_;
  const v1::Device& device_;
  ssh_session session_ = nullptr;
  ssh_channel channel_ = nullptr;
  bool question_ = false;
  std::string prompt_;  // the router's last prompt: R1#, R1(config)#, R1>
};

class SshIosPusher : public IosPusher {
 public:
  explicit SshIosPusher(SshIosOptions o) : o_(std::move(o)) {}

  absl::StatusOr<std::string> Apply(const v1::Device& device, const std::string& configlet,
                                    const std::string& checkpoint) override {
    Shell sh(o_, device);
    if (auto st = sh.Open(); !st.ok()) return st;
    auto running = sh.Exec("show running-config");
    if (!running.ok()) return running.status();
    std::vector<std::string> commands = ios::IosDiffCommands(*running, configlet);
    crypto::ZeroizeString(&*running);
    if (commands.empty()) return std::string("no change: it runs this policy");
    for (const std::string& c : commands) {
      // The CLI acts on a carriage return, a Ctrl-Z or a '?' wherever it is:
      // a value holding one would type a command of its own (or ask for help).
      for (char ch : c) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f || ch == '?') {
          return absl::FailedPreconditionError(absl::StrCat(
              "ios device ", device.name(), ": nothing typed: the line `", Redact(Printable(c)),
              "` holds a character the IOS CLI acts on (a control character or '?')"));
        }
      }
    }
    auto saved = sh.Exec(absl::StrCat("copy running-config flash:", checkpoint), checkpoint);
    if (!saved.ok()) return saved.status();
    if (!absl::StrContains(*saved, "bytes copied")) {
      return sh.Error(absl::StrCat("saving the running configuration to flash:", checkpoint, " failed: ",
                                   absl::StripAsciiWhitespace(*saved)));
    }
    if (auto st = sh.Exec("configure terminal"); !st.ok()) return st.status();
    size_t typed = 0;
    absl::Status refused;
    for (std::string& c : commands) {
      auto answer = sh.Exec(c);
      if (!answer.ok()) {
        refused = answer.status();
        break;
      }
      ++typed;
      if (std::string why = RefusalIn(*answer); !why.empty()) {
        refused = absl::FailedPreconditionError(
            absl::StrCat("ios device ", device.name(), " refused line ", typed, " of ", commands.size(), " `",
                         Redact(absl::StripLeadingAsciiWhitespace(c)), "`: ", why));
        break;
      }
    }
    for (std::string& c : commands) crypto::ZeroizeString(&c);
    if (!refused.ok()) {
      (void)sh.Exec("end");  // out of configuration mode; the rollout restores the checkpoint
      // ABORTED: the router may be half-changed (any other error: nothing was typed).
      return absl::AbortedError(refused.message());
    }
    auto ended = sh.Exec("end");
    auto wrote = ended.ok() ? sh.Exec("write memory") : ended;
    if (!wrote.ok()) return absl::AbortedError(wrote.status().message());
    if (!absl::StrContains(*wrote, "[OK]")) {
      return absl::AbortedError(sh.Error("`write memory` did not answer [OK]").message());
    }
    return absl::StrCat(typed, " commands typed over SSH, saved (checkpoint flash:", checkpoint, ")");
  }

  absl::Status Restore(const v1::Device& device, const std::string& checkpoint) override {
    Shell sh(o_, device);
    if (auto st = sh.Open(); !st.ok()) return st;
    auto out = sh.Exec(absl::StrCat("configure replace flash:", checkpoint, " force"));
    if (!out.ok()) return out.status();
    if (!absl::StrContains(*out, "Rollback Done")) {
      std::vector<absl::string_view> lines = absl::StrSplit(*out, '\n', absl::SkipWhitespace());
      return absl::FailedPreconditionError(
          absl::StrCat("ios device ", device.name(), ": configure replace flash:", checkpoint, " did not finish: ",
                       lines.empty() ? "no answer" : Redact(absl::StripAsciiWhitespace(lines.back()))));
    }
    auto wrote = sh.Exec("write memory");
    if (!wrote.ok()) return wrote.status();
    return absl::OkStatus();
  }

 private:
  SshIosOptions o_;
};

}  // namespace

std::unique_ptr<IosPusher> NewSshIosPusher(SshIosOptions options) {
  return std::make_unique<SshIosPusher>(std::move(options));
}

std::string IosCheckpointName(const std::string& rollout_id) {
  std::string out = "vpnfleet-";
  for (char c : rollout_id) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  return out + ".cfg";
}

}  // namespace vpnfleet::controller
