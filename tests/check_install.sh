#!/bin/sh
# Install test (issue 2): installs the build into a temporary root, then
# builds programs against the installed copy with nothing but
#   cc app.c $(pkg-config --cflags --libs evoopt)
# and runs them: a C program (shared and static), a C++ program on
# <evoopt/evoopt.hpp> as C++11 and C++17 (issue 13), the same C program with
# only the .pc files evoopt really needs visible, so no Open MPI ones
# (issue 13), and the extra sources given.
# Arguments: MESON BUILD_DIR CC CXX [EXTRA_SOURCE ARGS...]; CXX may be ''.
set -eu
meson=$1; build=$2; cc=$3; cxx=$4; shift 4
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
"$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null
pc=$(find "$root" -name evoopt.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: evoopt.pc was not installed"; exit 1; }
for h in evoopt.h common.h genome.h optimizer.h task.h evoopt.hpp; do
  [ -n "$(find "$root" -path "*/include/evoopt/$h")" ] || {
    echo "FAIL: header evoopt/$h was not installed"; exit 1; }
done
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$root
libdir=$(dirname "$(find "$root" -name 'libevoopt.so.0' | head -n 1)")
[ -f "$libdir/libevoopt.a" ] || { echo "FAIL: static library not installed"; exit 1; }
cat > "$root/app.c" <<'EOC'
#include <evoopt/evoopt.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  evo_genome *g = NULL;
  evo_optimizer *opt = NULL;
  float p[3] = {1, 2, 3}, dp[3] = {1, -1, 0};
  if (evo_version_number() != EVO_VERSION_NUMBER ||
      strcmp(evo_version_string(), EVO_VERSION_STRING) != 0) {
    printf("version mismatch: runtime %s, headers %s\n",
           evo_version_string(), EVO_VERSION_STRING);
    return 1;
  }
  if (evo_genome_preset(&g, "plain-sgd") != EVO_OK ||
      evo_optimizer_new(&opt, g) != EVO_OK ||
      evo_optimizer_add_params(opt, p, dp, 3) != EVO_OK ||
      evo_optimizer_step(opt) != EVO_OK) {
    printf("error: %s\n", evo_last_error());
    return 1;
  }
  /* plain-sgd: p -= 1e-2 g */
  int ok = p[0] == 1.0f - 0.01f && p[1] == 2.0f + 0.01f && p[2] == 3.0f;
  evo_optimizer_free(opt);
  evo_genome_free(g);
  printf("installed libevoopt %s: %s\n", evo_version_string(), ok ? "ok" : "wrong");
  return ok ? 0 : 1;
}
EOC
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Werror -o "$root/app" "$root/app.c" $(pkg-config --cflags --libs evoopt)
LD_LIBRARY_PATH=$libdir "$root/app"
# Static link through pkg-config --static.
"$cc" -std=c11 -Wall -Werror -o "$root/app-static" "$root/app.c" \
  $(pkg-config --cflags evoopt) "$libdir/libevoopt.a" \
  $(pkg-config --libs --static evoopt | sed 's/-levoopt//')
"$root/app-static"

# C++: the header-only wrappers, as C++11 and C++17, warnings as errors.
if [ -n "$cxx" ]; then
  cat > "$root/app.cpp" <<'EOC'
#include <evoopt/evoopt.hpp>
#include <cstdio>
#include <vector>
int main() {
  std::vector<float> p = {1, 2, 3}, dp = {1, -1, 0};
  evoopt::optimizer opt(evoopt::genome::preset("plain-sgd"));
  opt.add_params(p, dp);
  opt.step();
  /* plain-sgd: p -= 1e-2 g */
  bool ok = p[0] == 1.0f - 0.01f && p[1] == 2.0f + 0.01f && p[2] == 3.0f;
  try {
    evoopt::genome::preset("no-such-preset");
    ok = false;
  } catch (const evoopt::error &e) {
    ok = ok && e.status() == EVO_ENOTFOUND;
  }
  std::printf("C++ %ld against installed libevoopt %s: %s\n",
              static_cast<long>(__cplusplus), evoopt::version().c_str(),
              ok ? "ok" : "wrong");
  return ok ? 0 : 1;
}
EOC
  for std in c++11 c++17; do
    "$cxx" -std=$std -Wall -Wextra -Wpedantic -Werror -o "$root/app-cpp" \
      "$root/app.cpp" $(pkg-config --cflags --libs evoopt)
    LD_LIBRARY_PATH=$libdir "$root/app-cpp"
  done
fi

# Without Open MPI's development files: only evoopt.pc and the .pc files it
# names (Requires.private) are visible, so a build with MPI must not need
# ompi-c.pc (no public header uses MPI; the library links libmpi itself).
nompi=$root/pkgconfig-nompi
mkdir "$nompi"
cp "$pc" "$nompi/"
for dep in openblas zlib jansson; do
  dir=$(PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_PATH= pkg-config --variable=pcfiledir "$dep") || {
    echo "FAIL: $dep.pc not found on this machine"; exit 1; }
  ln -s "$dir/$dep.pc" "$nompi/$dep.pc"
done
if PKG_CONFIG_LIBDIR=$nompi PKG_CONFIG_PATH= pkg-config --exists ompi-c; then
  echo "FAIL: ompi-c.pc is visible in $nompi"; exit 1
fi
if grep -E '^Requires' "$pc" | grep -q mpi; then
  echo "FAIL: evoopt.pc requires MPI:"; grep -E '^Requires' "$pc"; exit 1
fi
flags=$(PKG_CONFIG_LIBDIR=$nompi PKG_CONFIG_PATH= pkg-config --cflags --libs evoopt) || {
  echo "FAIL: pkg-config --cflags --libs evoopt fails without Open MPI's .pc files"
  exit 1; }
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Werror -o "$root/app-nompi" "$root/app.c" $flags
LD_LIBRARY_PATH=$libdir "$root/app-nompi"
static=$(PKG_CONFIG_LIBDIR=$nompi PKG_CONFIG_PATH= pkg-config --libs --static evoopt) || {
  echo "FAIL: pkg-config --static --libs evoopt fails without Open MPI's .pc files"
  exit 1; }
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Werror -o "$root/app-nompi-static" "$root/app.c" \
  $(PKG_CONFIG_LIBDIR=$nompi PKG_CONFIG_PATH= pkg-config --cflags evoopt) \
  "$libdir/libevoopt.a" $(echo "$static" | sed 's/-levoopt//')
"$root/app-nompi-static"
while [ $# -gt 0 ]; do
  src=$1; shift
  out=$root/$(basename "$src" .c)
  "$cc" -std=c11 -Wall -Werror -o "$out" "$src" $(pkg-config --cflags --libs evoopt) -lz -lm
  LD_LIBRARY_PATH=$libdir "$out" --check
done
echo "1 passed, 0 failed"
