// Runs a libFuzzer-style target (LLVMFuzzerTestOneInput) without libFuzzer:
// over the files and folders named on the command line (the seed corpus), then
// over pseudo-random inputs from a fixed seed (so a failure reproduces): most
// are mutations of corpus entries (byte flips, inserts, deletes, copies), so
// inputs with structure, like serialized protobuf, get deep. This is how
// the fuzz targets run in ctest under gcc and ASan; built with clang and
// -DVPNFLEET_FUZZ=ON they link libFuzzer instead and this file is left out.
//
//   target_fuzz [--runs=N] [FILE|DIR ...]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

void Mutate(std::vector<uint8_t>& v, std::mt19937_64& rng) {
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    size_t n = v.size();
    switch (rng() % 5) {
      case 0:  // flip bits
        if (n) v[rng() % n] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // random byte
        if (n) v[rng() % n] = static_cast<uint8_t>(rng());
        break;
      case 2:  // insert
        v.insert(v.begin() + static_cast<long>(n ? rng() % (n + 1) : 0), static_cast<uint8_t>(rng()));
        break;
      case 3:  // delete a run
        if (n) {
          size_t at = rng() % n;
          size_t len = 1 + rng() % std::min<size_t>(8, n - at);
          v.erase(v.begin() + static_cast<long>(at), v.begin() + static_cast<long>(at + len));
        }
        break;
      case 4:  // copy a run elsewhere
        if (n > 1) {
          size_t from = rng() % n;
          size_t len = 1 + rng() % std::min<size_t>(16, n - from);
          std::vector<uint8_t> chunk(v.begin() + static_cast<long>(from),
                                     v.begin() + static_cast<long>(from + len));
          v.insert(v.begin() + static_cast<long>(rng() % (n + 1)), chunk.begin(), chunk.end());
        }
        break;
    }
  }
}

// Random bytes, biased toward printable text and toward the separators the
// text parsers care about, so that more inputs get past the first check.
std::vector<uint8_t> RandomInput(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "0123456789abcdefx.:/= #\"\n\t()-_[]%";
  std::uniform_int_distribution<int> len_dist(0, 300);
  std::uniform_int_distribution<int> kind(0, 3);
  std::vector<uint8_t> out(static_cast<size_t>(len_dist(rng)));
  for (auto& b : out) {
    if (kind(rng) == 0) {
      b = static_cast<uint8_t>(rng());
    } else {
      b = static_cast<uint8_t>(kAlphabet[rng() % (sizeof kAlphabet - 1)]);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 20000;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--runs=", 7) == 0) {
      runs = std::strtol(argv[i] + 7, nullptr, 10);
    } else {
      paths.emplace_back(argv[i]);
    }
  }
  std::vector<std::vector<uint8_t>> corpus;
  for (const auto& p : paths) {
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) corpus.push_back(ReadFile(e.path()));
    } else {
      corpus.push_back(ReadFile(p));
    }
  }
  for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  const size_t files = corpus.size();
  std::mt19937_64 rng(0x76706e666c656574ULL);  // "vpnfleet"
  for (long i = 0; i < runs; ++i) {
    std::vector<uint8_t> input;
    if (!corpus.empty() && rng() % 4 != 0) {
      input = corpus[rng() % corpus.size()];
      Mutate(input, rng);
    } else {
      input = RandomInput(rng);
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%zu corpus files and %ld generated inputs ran without a crash\n", files, runs);
  return 0;
}
