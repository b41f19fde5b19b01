/* Token + position embedding (doc/algorithm.md §7): a position's vector is
 * its token's row of wte plus its position's row of wpe. Memory-bound and
 * small next to the linear layers: one thread. */
#include <string.h>

#include "nn/layers_internal.h"

void evo_embed_forward(float *y, const uint8_t *tok, const float *wte,
                       const float *wpe, size_t n, size_t t, size_t d) {
  for (size_t b = 0; b < n; b++)
    for (size_t i = 0; i < t; i++) {
      const float *restrict te = wte + (size_t)tok[b * t + i] * d;
      const float *restrict pe = wpe + i * d;
      float *restrict yi = y + (b * t + i) * d;
      for (size_t j = 0; j < d; j++)
        yi[j] = te[j] + pe[j];
    }
}

/* Sums in float, in position order (sequence by sequence): a fixed order,
 * so the bits do not depend on anything but the inputs. */
void evo_embed_backward(float *dwte, float *dwpe, const float *dy,
                        const uint8_t *tok, size_t n, size_t t, size_t d,
                        size_t vocab) {
  memset(dwte, 0, vocab * d * sizeof *dwte);
  memset(dwpe, 0, t * d * sizeof *dwpe);
  for (size_t b = 0; b < n; b++)
    for (size_t i = 0; i < t; i++) {
      const float *restrict g = dy + (b * t + i) * d;
      float *restrict te = dwte + (size_t)tok[b * t + i] * d;
      float *restrict pe = dwpe + i * d;
      for (size_t j = 0; j < d; j++) {
        te[j] += g[j];
        pe[j] += g[j];
      }
    }
}
