#!/bin/sh
# Install test (issue 2): installs the build into a temporary root, then
# builds programs against the installed copy with nothing but
#   cc app.c $(pkg-config --cflags --libs evoopt)
# and runs them. Arguments: MESON BUILD_DIR CC [EXTRA_SOURCE ARGS...]
set -eu
meson=$1; build=$2; cc=$3; shift 3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
"$meson" install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null
pc=$(find "$root" -name evoopt.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: evoopt.pc was not installed"; exit 1; }
for h in evoopt.h common.h genome.h optimizer.h task.h; do
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
  $(pkg-config --libs-only-l --static evoopt | sed 's/-levoopt//')
"$root/app-static"
while [ $# -gt 0 ]; do
  src=$1; shift
  out=$root/$(basename "$src" .c)
  "$cc" -std=c11 -Wall -Werror -o "$out" "$src" $(pkg-config --cflags --libs evoopt) -lz -lm
  LD_LIBRARY_PATH=$libdir "$out" --check
done
echo "1 passed, 0 failed"
