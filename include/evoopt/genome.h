/**
 * @file genome.h
 * @brief The genome: an optimizer described as a weighted sum of primitive
 * update terms plus hyperparameters, flags and schedules (doc/algorithm.md §1).
 *
 * A genome is a small value object. All functions here may be called from
 * several threads at once as long as no two threads use the same genome
 * while one of them modifies it.
 *
 * @par Accepted ranges
 * Setters and the JSON reader check every gene and return ::EVO_ERANGE, with
 * a message naming the gene, for a value outside these bounds. They are
 * wider than the mutation clamps of doc/algorithm.md §1 where a wider value
 * makes sense to a user (e.g. a learning rate of 1 or 10); the genetic
 * algorithm itself always stays within the clamps.
 *
 * | gene | accepted | mutation clamp |
 * |---|---|---|
 * | alpha (each term) | [-5, 5] | [-5, 5] |
 * | lr_log10 | [-10, 2] | [-5, -1] |
 * | beta1 | [0, 1) | [0, 0.999] |
 * | beta2 | [0, 1) | [0, 0.9999] |
 * | eps_log10 | [-20, 0] | [-10, -4] |
 * | wd_log10 | [-12, 0], or -infinity for exactly zero decay | [-6, -2] |
 * | clip_value | (0, 1e6] | never mutated |
 * | warmup_steps | integer in [1, 1e9] | never mutated |
 *
 * Non-finite values are refused everywhere, except -infinity for wd_log10.
 */
#ifndef EVOOPT_GENOME_H
#define EVOOPT_GENOME_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque genome. Create with evo_genome_new(), evo_genome_preset(),
 *  evo_genome_from_json() or evo_genome_clone(); free with
 *  evo_genome_free(). */
typedef struct evo_genome evo_genome;

/** The most terms a genome holds (doc/algorithm.md §1). */
#define EVO_MAX_TERMS 4

/** Primitive update terms (doc/algorithm.md §2); the values are the paper's
 * codes.
 *  `m̂`, `v̂` are the (optionally bias-corrected) moments, `g` the (optionally
 *  clipped) gradient. */
typedef enum evo_term {
  EVO_TERM_GRAD = 0,      /**< `g` */
  EVO_TERM_MOMENTUM = 1,  /**< `m̂` */
  EVO_TERM_RMS_NORM = 2,  /**< `g / (sqrt(v̂) + ε)` */
  EVO_TERM_ADAM = 3,      /**< `m̂ / (sqrt(v̂) + ε)` */
  EVO_TERM_SIGN = 4,      /**< `sign(g)`, with sign(0) = 0 */
  EVO_TERM_UNIT = 5,      /**< `g / (|g| + ε)` (the notebook's SQRT_GRAD) */
  EVO_TERM_NESTEROV = 6   /**< `m̂ + 0.9 (g - m̂)`, 0.9 a constant */
} evo_term;

/** Number of term kinds. */
#define EVO_TERM_COUNT 7

/** Real-valued genes, read and written with evo_genome_get() and
 *  evo_genome_set(). */
typedef enum evo_gene {
  EVO_GENE_LR_LOG10 = 0,     /**< base learning rate η = 10^x */
  EVO_GENE_BETA1 = 1,        /**< EMA coefficient of the first moment */
  EVO_GENE_BETA2 = 2,        /**< EMA coefficient of the second moment */
  EVO_GENE_EPS_LOG10 = 3,    /**< ε = 10^x */
  EVO_GENE_WD_LOG10 = 4,     /**< decoupled weight decay λ = 10^x;
                                  -INFINITY means λ = 0 exactly */
  EVO_GENE_CLIP_VALUE = 5,   /**< gradient clamp bound c */
  EVO_GENE_WARMUP_STEPS = 6  /**< warmup length W (an integer) */
} evo_gene;

/** Boolean genes, read and written with evo_genome_get_flag() and
 *  evo_genome_set_flag(). */
typedef enum evo_flag {
  EVO_FLAG_USE_M = 0,             /**< keep a first-moment EMA */
  EVO_FLAG_USE_V = 1,             /**< keep a second-moment EMA */
  EVO_FLAG_BIAS_CORRECTION = 2,   /**< Adam's bias correction */
  EVO_FLAG_GRADIENT_CLIPPING = 3, /**< clamp each gradient element to ±c */
  EVO_FLAG_WARMUP = 4,            /**< linear warmup over W steps */
  EVO_FLAG_COSINE_DECAY = 5       /**< cosine decay over the planned steps */
} evo_flag;

/**
 * @brief Creates a genome with doc/algorithm.md §1's defaults: one GRAD term
 * with α = 1, lr 1e-3, β 0.9/0.999, ε 1e-8, weight decay 1e-4, use_m, use_v and
 * bias correction on, every other flag off, clip 1.0, warmup 100.
 * @param out Receives the genome.
 * @return ::EVO_OK, ::EVO_EINVAL (out is NULL) or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_new(evo_genome **out);

/**
 * @brief Creates a named preset genome.
 *
 * Presets (doc/algorithm.md §4 and §5; `lr` means 10^lr_log10, unlisted genes
 * have their defaults; the update is `p -= η_s Σ α_k T_k` after decoupled
 * decay).
 *
 * @warning The paper's names are the paper's baselines, not the framework
 * optimizers of the same name: `adam` decays every tensor by 1e-4
 * (decoupled), `sgd` and `rmsprop` too, `rmsprop` runs at lr 1e-3 where
 * torch's default is 1e-2, and `sgd`'s momentum is an EMA. For a drop-in
 * replacement of torch.optim with its defaults use the `torch-*` presets
 * below, each checked against PyTorch's own update by the tests
 * (tests/ref/torch_presets.py).
 *
 * The paper's baselines and the paper's result:
 * - `sgd`: the paper's "SGD (momentum)": MOMENTUM, lr 1e-2, β1 0.9, no v, no
 *   bias correction; `m = 0.9 m + 0.1 g; p -= 1e-2 m` (PyTorch SGD momentum
 *   0.9 with lr 1e-3), plus decoupled decay 1e-4.
 * - `adam`: ADAM_TERM, lr 1e-3, β 0.9/0.999, bias correction, decay 1e-4
 *   (decoupled: AdamW with weight_decay=1e-4, not torch's Adam).
 * - `adamw`: `adam` with decay 1e-2; equals torch.optim.AdamW(lr=1e-3,
 *   betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2).
 * - `rmsprop`: RMS_NORM, lr 1e-3, β2 0.99, no m, no bias correction:
 *   `v = 0.99 v + 0.01 g²; p -= 1e-3 g / (sqrt(v) + ε)`, plus decoupled
 *   decay 1e-4.
 * - `paper-evolved`: the paper's evolved genome (doc/algorithm.md §5).
 *
 * The library's own:
 * - `plain-sgd`: GRAD, lr 1e-2, no moments, no decay: `p -= 1e-2 g`.
 * - `sgd-nesterov`: NESTEROV, lr 1e-2, β1 0.9, no v, no bias correction,
 *   no decay: `m = 0.9 m + 0.1 g; p -= 1e-2 (m + 0.9 (g - m))` (not torch's
 *   Nesterov: see `torch-sgd-nesterov`).
 * - `sign-descent`: SIGN_GRAD, lr 1e-3, no moments, no decay:
 *   `p -= 1e-3 sign(g)`.
 * - `adam-nowd`: `adam` with λ = 0 exactly; equals torch.optim.Adam(lr=1e-3)
 *   (L2-free Adam).
 *
 * torch.optim's defaults, exactly (no decay unless torch's default has it;
 * torch's Adam and RMSprop decay is an L2 term added to g, not decoupled,
 * but their default is 0, so it does not arise):
 * - `torch-sgd`: SGD(lr=1e-3): GRAD, lr 1e-3, no moments: `p -= 1e-3 g`.
 *   (SGD's lr has a default only from torch 2.2 on; 1e-3 is that default.)
 * - `torch-sgd-momentum`: SGD(lr=1e-3, momentum=0.9): torch keeps an
 *   undampened buffer `b = 0.9 b + g; p -= lr b`, while the genome's m is
 *   an EMA, `m = 0.9 m + 0.1 g`. Both start at 0, so b = m / 0.1 exactly
 *   (up to float rounding), and the preset is MOMENTUM with α 1, β1 0.9, no
 *   v, no bias correction and η = lr / (1 - μ) = 1e-2: `p -= 1e-2 m`. To
 *   use torch's lr L, set ::EVO_OPT_BASE_LR to 10·L (or lr_log10 to
 *   log10(L) + 1), not L.
 * - `torch-sgd-nesterov`: SGD(lr=1e-3, momentum=0.9, nesterov=True), whose
 *   step is `lr (g + 0.9 b)`: GRAD α 0.1 plus MOMENTUM α 0.9, η 1e-2, the
 *   same m: `p -= 1e-2 (0.1 g + 0.9 m)` (the NESTEROV term weighs g and m
 *   differently). Again η = 10·lr.
 * - `torch-adam`: Adam(): `adam-nowd` (lr 1e-3, β 0.9/0.999, ε 1e-8,
 *   bias correction, no decay).
 * - `torch-adamw`: AdamW(): `adamw` (decoupled decay 1e-2).
 * - `torch-rmsprop`: RMSprop(): RMS_NORM, lr 1e-2, β2 0.99 (torch's
 *   alpha), ε 1e-8 outside the square root, no m, no bias correction, no
 *   decay: `v = 0.99 v + 0.01 g²; p -= 1e-2 g / (sqrt(v) + 1e-8)`.
 *
 * evo_genome_preset_count() and evo_genome_preset_name() list them.
 *
 * @param out Receives the genome.
 * @param name The preset's name.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL argument), ::EVO_ENOTFOUND (unknown
 * name; the message lists the known ones) or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_preset(evo_genome **out, const char *name);

/**
 * @brief The number of presets evo_genome_preset() knows.
 * @return The count. Thread-safe.
 */
EVO_API size_t evo_genome_preset_count(void);

/**
 * @brief The name of preset number @p index, for listing them.
 * @param index 0 to evo_genome_preset_count() - 1.
 * @return A static string, or NULL when @p index is out of range.
 */
EVO_API const char *evo_genome_preset_name(size_t index);

/**
 * @brief Copies a genome.
 * @param out Receives the copy.
 * @param g The genome to copy.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_clone(evo_genome **out, const evo_genome *g);

/**
 * @brief Frees a genome.
 * @param g The genome, or NULL (then nothing happens).
 */
EVO_API void evo_genome_free(evo_genome *g);

/**
 * @brief Compares two genomes gene by gene, exactly (bit-equal values).
 *
 * Only the genome's own terms are compared. Bitwise means that a zero
 * weight decay (-infinity) equals itself, and that α = -0.0 differs from
 * α = 0.0.
 * @param a One genome.
 * @param b The other.
 * @return 1 when equal, 0 when not; 0 when either is NULL.
 */
EVO_API int evo_genome_equal(const evo_genome *a, const evo_genome *b);

/**
 * @brief Reads a real-valued gene.
 * @param g The genome.
 * @param gene Which gene.
 * @param out Receives the value (warmup steps as a whole number; -INFINITY
 * for ::EVO_GENE_WD_LOG10 when the weight decay is exactly zero).
 * @return ::EVO_OK, or ::EVO_EINVAL (NULL pointer, unknown gene).
 */
EVO_API int evo_genome_get(const evo_genome *g, evo_gene gene, double *out);

/**
 * @brief Writes a real-valued gene, checking the accepted range (see the
 * table at the top of this header).
 * @param g The genome.
 * @param gene Which gene.
 * @param value The new value; `-INFINITY` for ::EVO_GENE_WD_LOG10 asks for
 * exactly zero weight decay.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown gene) or ::EVO_ERANGE (value
 * outside the accepted range, non-integer warmup; the genome is unchanged).
 */
EVO_API int evo_genome_set(evo_genome *g, evo_gene gene, double value);

/**
 * @brief Reads a boolean gene.
 * @param g The genome.
 * @param flag Which flag.
 * @param out Receives 1 or 0.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_genome_get_flag(const evo_genome *g, evo_flag flag, int *out);

/**
 * @brief Writes a boolean gene.
 * @param g The genome.
 * @param flag Which flag.
 * @param value Zero for false, anything else for true.
 * @return ::EVO_OK or ::EVO_EINVAL.
 */
EVO_API int evo_genome_set_flag(evo_genome *g, evo_flag flag, int value);

/**
 * @brief The number of terms (1 to ::EVO_MAX_TERMS).
 * @param g The genome.
 * @return The count, or 0 when @p g is NULL.
 */
EVO_API size_t evo_genome_term_count(const evo_genome *g);

/**
 * @brief Reads term number @p index.
 * @param g The genome.
 * @param index 0 to evo_genome_term_count() - 1.
 * @param type Receives the term kind (may be NULL).
 * @param alpha Receives its weight (may be NULL).
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (no such term).
 */
EVO_API int evo_genome_get_term(const evo_genome *g, size_t index,
                                evo_term *type, double *alpha);

/**
 * @brief Replaces term number @p index.
 * @param g The genome.
 * @param index 0 to evo_genome_term_count() - 1.
 * @param type The new term kind.
 * @param alpha Its weight, in [-5, 5].
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown term kind) or ::EVO_ERANGE
 * (no such term, α outside [-5, 5] or not finite).
 */
EVO_API int evo_genome_set_term(evo_genome *g, size_t index, evo_term type,
                                double alpha);

/**
 * @brief Appends a term.
 * @param g The genome.
 * @param type The term kind.
 * @param alpha Its weight, in [-5, 5].
 * @return ::EVO_OK, ::EVO_EINVAL (NULL, unknown term kind) or ::EVO_ERANGE
 * (already ::EVO_MAX_TERMS terms, α outside [-5, 5]).
 */
EVO_API int evo_genome_add_term(evo_genome *g, evo_term type, double alpha);

/**
 * @brief Removes term number @p index; the later terms move down one place.
 * @param g The genome.
 * @param index 0 to evo_genome_term_count() - 1.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ERANGE (no such term, or it is the
 * last one: a genome keeps at least one term).
 */
EVO_API int evo_genome_remove_term(evo_genome *g, size_t index);

/**
 * @brief The short name of a term kind ("grad", "momentum", "rms", "adam",
 * "sign", "unit", "nesterov").
 * @param type The term kind.
 * @return A static string, or NULL for an unknown kind. Thread-safe.
 */
EVO_API const char *evo_term_name(evo_term type);

/**
 * @brief Writes a genome as JSON with the reference notebook's keys
 * (doc/algorithm.md §1).
 *
 * One line, exactly the 15 keys in the order of doc/algorithm.md §1's table,
 * e.g.
 * `{"term_types": [3], "alphas": [1.0], "lr_log10": -3.0, ...}`. Doubles are
 * printed with 17 significant digits (so 0.9 appears as
 * 0.90000000000000002) so that evo_genome_from_json() gives back the same
 * bits; term codes and warmup_steps are JSON integers, flags JSON booleans;
 * zero weight decay is written as `"wd_log10": null`.
 * @param g The genome.
 * @param out Receives a NUL-terminated string; free it with evo_free().
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_to_json(const evo_genome *g, char **out);

/**
 * @brief Reads a genome from JSON text with the reference notebook's keys.
 *
 * The text must be one JSON object with every key of doc/algorithm.md §1 and no
 * other, each key once:
 * - `term_types`: an array of 1 to ::EVO_MAX_TERMS JSON integers, each a term
 *   code 0 to 6;
 * - `alphas`: an array of numbers (integer or real), as long as `term_types`;
 * - `lr_log10`, `beta1`, `beta2`, `eps_log10`, `clip_value`: numbers;
 * - `wd_log10`: a number, or null for exactly zero weight decay;
 * - `use_m`, `use_v`, `use_bias_correction`, `use_gradient_clipping`,
 *   `use_warmup`, `use_cosine_decay`: JSON booleans (not 0/1);
 * - `warmup_steps`: a JSON integer (as the reference notebook writes it;
 *   `100.0` is refused).
 *
 * Values must lie in the accepted ranges (table at the top of this header).
 * Nothing may follow the object but white space.
 * @param out Receives the genome; untouched on error.
 * @param json NUL-terminated JSON text.
 * @return ::EVO_OK, ::EVO_EINVAL (NULL), ::EVO_EPARSE (not JSON, with
 * Jansson's line and column; not an object; missing, unknown or repeated
 * key; wrong type; an array of the wrong length; the message names the
 * key), ::EVO_ERANGE (a value out of range, or a term code not in 0 to 6;
 * the message names the key, e.g. `alphas[2]`) or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_from_json(evo_genome **out, const char *json);

/**
 * @brief Reads a genome from a JSON file (plain or gzip-compressed, at most
 * 1 MiB), with the rules of evo_genome_from_json().
 * @param out Receives the genome; untouched on error.
 * @param path The file.
 * @return As evo_genome_from_json() (messages then start with the path),
 * plus ::EVO_EIO when the file cannot be read and ::EVO_EFORMAT when it is
 * larger than 1 MiB or a damaged gzip stream (the message names the path).
 */
EVO_API int evo_genome_load(evo_genome **out, const char *path);

/**
 * @brief Writes a genome to a JSON file atomically (a temporary file in the
 * same folder, flushed, then renamed over @p path), so that a crash never
 * leaves a partial file. The content is evo_genome_to_json()'s text and a
 * newline.
 * @param g The genome.
 * @param path The file to create or replace.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_EIO (the message names the path) or
 * ::EVO_ENOMEM.
 */
EVO_API int evo_genome_save(const evo_genome *g, const char *path);

/**
 * @brief A one-line human description (UTF-8), e.g. for `paper-evolved`:
 * `0.734·sign + 3.635·adam | lr 1.20e-3 β 0.855/0.936 wd 9.7e-4 |
 * no bias-corr | warmup 100 | cosine`.
 *
 * The parts, separated by " | ", are:
 * 1. the update: the α of terms of the same kind summed, kinds in order of
 *    first appearance, each as `%.3f·name` (evo_term_name()) joined by
 *    " + ", or " - " with the magnitude when the sum is negative;
 * 2. the hyperparameters: `lr` η as `%.2e` with a short exponent (1.20e-3,
 *    1.00e0); `β b1/b2` with `%.3f` when both moments are kept, `β1 b1` or
 *    `β2 b2` when only one is, nothing when neither; `wd` λ as `%.1e`
 *    (9.7e-4), or `no wd` for exactly zero decay; ε is not shown;
 * 3. then only what applies, in this order: `no m` (use_m off while a
 *    momentum, adam or nesterov term reads m̂), `no v` (use_v off while an
 *    rms or adam term reads v̂), `no bias-corr` (bias correction off while a
 *    moment is kept), `clip c` (clipping on; c with 3 significant digits and
 *    at least one decimal, e.g. 1.0, 0.75), `warmup W` (warmup on),
 *    `cosine` (cosine decay on).
 * @param g The genome.
 * @param out Receives the string; free it with evo_free().
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_describe(const evo_genome *g, char **out);

/**
 * @brief Creates a random genome as the initial population does
 * (doc/algorithm.md §4, "Random genome"). The same seed gives the same genome.
 * @param out Receives the genome.
 * @param seed Its seed.
 * @return ::EVO_OK, ::EVO_EINVAL or ::EVO_ENOMEM.
 * @note Declared in population.h in 0.1 (population.h includes this header).
 */
EVO_API int evo_genome_random(evo_genome **out, uint64_t seed);

/**
 * @brief Crossover then mutation, as breeding does (doc/algorithm.md §4), for
 * users who drive their own loop. A structural mutation that is not
 * allowed (adding a fifth term, removing the only one) leaves the terms
 * unchanged, as the reference notebook does.
 * @param out Receives the child.
 * @param a Parent A.
 * @param b Parent B.
 * @param generation The generation (0-based) of the mutation schedule.
 * @param generations The run's G.
 * @param seed The seed of this breeding.
 * @return ::EVO_OK, ::EVO_EINVAL, ::EVO_ERANGE (generation ≥ generations)
 * or ::EVO_ENOMEM.
 */
EVO_API int evo_genome_breed(evo_genome **out, const evo_genome *a,
                             const evo_genome *b, uint32_t generation,
                             uint32_t generations, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* EVOOPT_GENOME_H */
