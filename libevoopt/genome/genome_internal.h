/* The genome's representation (doc/algorithm.md §1), shared by the optimizer,
 * the genetic operators and the serializers. Never installed. */
#ifndef EVOOPT_GENOME_INTERNAL_H
#define EVOOPT_GENOME_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "evoopt/genome.h"
#include "core/io_internal.h"

struct evo_genome {
  size_t n_terms;                /* 1..EVO_MAX_TERMS */
  int terms[EVO_MAX_TERMS];      /* evo_term codes 0..6 */
  double alphas[EVO_MAX_TERMS];
  double lr_log10;
  double beta1;
  double beta2;
  double eps_log10;
  double wd_log10;               /* -INFINITY: λ = 0 exactly */
  bool use_m;
  bool use_v;
  bool use_bias_correction;
  bool use_gradient_clipping;
  double clip_value;
  bool use_warmup;
  int64_t warmup_steps;
  bool use_cosine_decay;
};

/* Fills @p g with doc/algorithm.md §1's defaults. */
void evo_genome_init_defaults(evo_genome *g);

/* Checks one real-valued gene against the accepted range (genome.h);
 * EVO_ERANGE with a message naming @p key otherwise. */
int evo_genome_check_gene(evo_gene gene, double value, const char *key);

/* Checks a whole genome (term count, codes, every gene). */
int evo_genome_validate(const evo_genome *g);

/* The genome's binary form, bit-exact, shared by the optimizer state and
 * the population checkpoint: u32 term count, 4 × u32 codes, 4 × f64
 * alphas (all four slots), f64 lr_log10, beta1, beta2, eps_log10,
 * wd_log10, clip_value, u64 warmup_steps, u8 flags (bit k = evo_flag k). */
#define EVO_GENOME_BYTES (4 + 4 * 4 + 4 * 8 + 6 * 8 + 8 + 1)
void evo_genome_write(evo_wbuf *w, const evo_genome *g);
/* Reads what evo_genome_write wrote. Returns NULL when it is a valid
 * genome, else the name of the first value that makes no sense ("genome
 * term count", "genome flags", "genome"); a short input leaves r->ok false
 * (and returns NULL if nothing else was wrong before the end). */
const char *evo_genome_read(evo_rbuf *r, evo_genome *g);

#endif
