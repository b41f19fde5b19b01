/* mnist_idx.hpp: finds MNIST's four IDX files for frameworks whose own
 * loaders read them uncompressed (libtorch's torch::data::datasets::MNIST,
 * tiny-dnn's parse_mnist_images/labels), while the files are usually kept
 * gzip-compressed (as published, and in $EVOOPT_DATA_PATH/mnist).
 *
 *   std::string dir = mnist_idx::locate(data_dir, cache_dir, &looked);
 *
 * looks in data_dir (or, when empty, in <entry>/mnist for each entry of
 * $EVOOPT_DATA_PATH, ':'-separated) for the four files, uncompressed or
 * as .gz. Uncompressed ones are used where they are. Compressed ones are
 * unpacked once into cache_dir (created if needed; each file written under
 * a temporary name and renamed, so an interrupted run leaves no partial
 * file), and later runs use that copy. A file already in cache_dir is
 * never overwritten: it is used when its IDX header and size are right,
 * and refused with a message naming it otherwise.
 *
 * Returns the folder to hand to the framework's loader, or "" when no
 * folder had the files (looked then lists where it looked). Throws
 * std::runtime_error, with a message naming the file, for a file that
 * cannot be read or written or is not MNIST. locate_or_explain() wraps it
 * for a program's main(), with the messages and exit statuses.
 *
 * Header-only; needs C++17 (std::filesystem) and zlib (-lz). */
#ifndef EXAMPLES_MNIST_IDX_HPP
#define EXAMPLES_MNIST_IDX_HPP

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace mnist_idx {

namespace detail {

namespace fs = std::filesystem;

/* The four files, with the IDX magic and item count each must have. */
struct idx_file {
  const char *name;
  std::uint32_t magic; /* 0x801 labels, 0x803 images */
  std::uint32_t count;
};
inline const std::vector<idx_file> &files() {
  static const std::vector<idx_file> list = {
      {"train-images-idx3-ubyte", 0x803u, 60000u},
      {"train-labels-idx1-ubyte", 0x801u, 60000u},
      {"t10k-images-idx3-ubyte", 0x803u, 10000u},
      {"t10k-labels-idx1-ubyte", 0x801u, 10000u}};
  return list;
}

inline std::uint32_t be32(const unsigned char *b) {
  return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) |
         (std::uint32_t(b[2]) << 8) | std::uint32_t(b[3]);
}

/* The size an IDX file of this kind must have, from its spec. */
inline std::uintmax_t expected_size(const idx_file &f) {
  return f.magic == 0x803u ? 16u + std::uintmax_t(f.count) * 28u * 28u
                           : 8u + std::uintmax_t(f.count);
}

/* Checks the header of an uncompressed file already on disk. */
inline void check_plain(const fs::path &path, const idx_file &f) {
  std::error_code ec;
  std::uintmax_t size = fs::file_size(path, ec);
  unsigned char head[8] = {0};
  std::FILE *in = ec ? nullptr : std::fopen(path.c_str(), "rb");
  bool ok = in != nullptr && std::fread(head, 1, 8, in) == 8;
  if (in != nullptr)
    std::fclose(in);
  if (!ok || be32(head) != f.magic || be32(head + 4) != f.count ||
      size != expected_size(f))
    throw std::runtime_error(path.string() +
                             ": not the MNIST file of that name (wrong IDX "
                             "header or size); remove it or choose another "
                             "folder");
}

/* Unpacks src (.gz) to dst through a temporary file in dst's folder. */
inline void gunzip(const fs::path &src, const fs::path &dst,
                   const idx_file &f) {
  gzFile in = gzopen(src.c_str(), "rb");
  if (in == nullptr)
    throw std::runtime_error(src.string() + ": cannot open");
  fs::path tmp = dst;
  tmp += ".tmp." + std::to_string(static_cast<long>(::getpid()));
  std::FILE *out = std::fopen(tmp.c_str(), "wbx");
  if (out == nullptr) {
    gzclose(in);
    throw std::runtime_error(tmp.string() + ": cannot create");
  }
  std::vector<unsigned char> buf(1 << 16);
  std::uintmax_t total = 0;
  unsigned char head[8] = {0};
  bool failed = false;
  for (;;) {
    int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      failed = true;
      break;
    }
    if (n == 0)
      break;
    for (int i = 0; i < n && total + std::uintmax_t(i) < 8; i++)
      head[total + std::uintmax_t(i)] = buf[std::size_t(i)];
    total += std::uintmax_t(n);
    if (std::fwrite(buf.data(), 1, std::size_t(n), out) != std::size_t(n)) {
      failed = true;
      break;
    }
  }
  gzclose(in);
  failed = (std::fclose(out) != 0) || failed;
  const char *why = failed ? "cannot be unpacked (corrupt or truncated)"
                    : (be32(head) != f.magic || be32(head + 4) != f.count ||
                       total != expected_size(f))
                        ? "does not hold the MNIST file of that name"
                        : nullptr;
  std::error_code ec;
  if (why == nullptr)
    fs::rename(tmp, dst, ec);
  if (why != nullptr || ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error(src.string() + ": " +
                             (why != nullptr ? why : "cannot rename into " +
                                                         dst.string()));
  }
}

/* Whether dir holds all four files with the given suffix. */
inline bool has_all(const fs::path &dir, const char *suffix) {
  std::error_code ec;
  for (const idx_file &f : files())
    if (!fs::is_regular_file(dir / (std::string(f.name) + suffix), ec))
      return false;
  return true;
}

} // namespace detail

/* See the comment at the top of this file. */
inline std::string locate(const std::string &data_dir,
                          const std::string &cache_dir, std::string *looked) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (!data_dir.empty()) {
    candidates.push_back(data_dir);
  } else if (const char *env = std::getenv("EVOOPT_DATA_PATH")) {
    std::string list = env;
    std::size_t start = 0;
    while (start <= list.size()) {
      std::size_t end = list.find(':', start);
      if (end == std::string::npos)
        end = list.size();
      if (end > start)
        candidates.push_back(fs::path(list.substr(start, end - start)) /
                             "mnist");
      start = end + 1;
    }
  }
  if (looked != nullptr)
    looked->clear();
  for (const fs::path &dir : candidates) {
    if (looked != nullptr)
      *looked += (looked->empty() ? "" : ", ") + dir.string();
    if (detail::has_all(dir, "")) {
      for (const detail::idx_file &f : detail::files())
        detail::check_plain(dir / f.name, f);
      return dir.string();
    }
    if (!detail::has_all(dir, ".gz"))
      continue;
    fs::path cache = cache_dir;
    std::error_code ec;
    fs::create_directories(cache, ec);
    if (ec)
      throw std::runtime_error(cache.string() + ": cannot create the folder (" +
                               ec.message() + ")");
    for (const detail::idx_file &f : detail::files()) {
      fs::path dst = cache / f.name;
      if (fs::exists(dst, ec))
        detail::check_plain(dst, f);
      else
        detail::gunzip(dir / (std::string(f.name) + ".gz"), dst, f);
    }
    return cache.string();
  }
  if (looked != nullptr && looked->empty())
    *looked = "(no --data folder given and EVOOPT_DATA_PATH is not set)";
  return "";
}

/* The default cache folder: $XDG_CACHE_HOME/evoopt/mnist-idx, else
 * ~/.cache/evoopt/mnist-idx. */
inline std::string default_cache() {
  const char *xdg = std::getenv("XDG_CACHE_HOME");
  const char *home = std::getenv("HOME");
  std::string base = xdg != nullptr && xdg[0] == '/' ? xdg
                     : home != nullptr ? std::string(home) + "/.cache"
                                       : "/tmp";
  return base + "/evoopt/mnist-idx";
}

/* locate() for a program: cache_dir "" means default_cache(). Returns 0
 * with *dir set, or, after saying why on stderr, the exit status: 77
 * (skipped) for a test (is_test) when the files are missing, 1 otherwise. */
inline int locate_or_explain(const char *program, const std::string &data_dir,
                             const std::string &cache_dir, bool is_test,
                             std::string *dir) {
  std::string looked;
  try {
    *dir = locate(data_dir, cache_dir.empty() ? default_cache() : cache_dir,
                  &looked);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  if (!dir->empty())
    return 0;
  std::fprintf(stderr,
               "%s: the MNIST files (train-images-idx3-ubyte[.gz] and the "
               "three others) are not in %s: give --data DIR or set "
               "EVOOPT_DATA_PATH%s\n",
               program, looked.c_str(), is_test ? "; skipped" : "");
  return is_test ? 77 : 1;
}

} // namespace mnist_idx

#endif
