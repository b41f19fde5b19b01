#!/usr/bin/python3
"""Search-efficiency benchmark (issue 11, item 6): anytime curves of the
search methods at equal compute, on a cheap proxy of the paper's search.

For every method and search seed the search runs until it has spent the
compute budget (CPU core-seconds: the sum of the evaluations' costs, thread
CPU time × engine threads, as the library accounts them). Whenever the best
genome found so far changes, the script notes it with the compute spent;
afterwards the best-so-far genome at each point of a compute grid is
re-scored on a held-out final evaluation (more steps, seeds the search never
used, whole test sets). The curves (median and spread over search seeds)
go to a CSV, an SVG plot and a Markdown report.

Methods (all through the Python bindings, one evaluation at a time):
  ga          the paper's genetic algorithm (doc/algorithm.md §4), no rungs
  ga-mf       the same with multi-fidelity evaluation (doc/algorithm.md §9)
  random      random search (EVO_ALGO_RANDOM), no rungs
  random-mf   random search with multi-fidelity evaluation
  steady      steady-state evolution (EVO_ALGO_STEADY; skipped, with a
  steady-mf   note, by a library that lacks it)
  optuna      Optuna's TPE sampler with its SuccessiveHalvingPruner over the
              same genome space, every rung reported as an intermediate
              value, the same costs and budget

Only the evaluations' costs count, as for the library's budget: neither
Optuna's sampler nor the genetic operators (both small here) nor the
held-out re-scoring.

usage (from the source tree, with a built library):
  EVOOPT_LIBRARY=build/libevoopt/libevoopt.so /usr/bin/python3 \\
      bench/search_efficiency.py --seeds 0-4 --budget 240 --out se-runs \\
      --doc doc/search-efficiency.md

Runs are kept in --out (one JSON file per method and seed, plus the
held-out scores) and reused when the script is run again with the same
settings, so an interrupted benchmark goes on where it stopped; --report-only
only rebuilds the CSV, SVG and report from them.
"""

import argparse
import json
import math
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

try:
    import evoopt
except ImportError:  # from the source tree without PYTHONPATH
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import evoopt

# --- the proxy ---------------------------------------------------------------

#: The search's proxy task: digits and MNIST (batch 32, so that a step costs
#: a quarter of the paper's), the "full" evaluation 160 steps × 1 seed with
#: MNIST scored on its first 2,000 test images; two cheap rungs for
#: multi-fidelity search. Population settings for the evolutionary methods.
PROXY = {
    "tasks": ["digits", "mnist"],
    "task_options": {"mnist": {"batch_size": 32, "test_limit": 2000}},
    "steps": 160,
    "seeds": 1,
    "rungs": ["40x1@500", "80x1@1000"],
    "population": {"size": 10, "elites": 2, "tournament": 3, "promote": 3,
                   "cache": 1},
    # The held-out final evaluation: more steps, other seeds, every test
    # image.
    "heldout": {"steps": 240, "seed_base": 100, "seeds": 2,
                "task_options": {"mnist": {"batch_size": 32,
                                           "test_limit": 0}}},
}

#: A much smaller proxy to check the script end to end in seconds.
SMOKE = {
    "tasks": ["digits"],
    "task_options": {},
    "steps": 40,
    "seeds": 1,
    "rungs": ["10x1@100", "20x1@200"],
    "population": {"size": 6, "elites": 1, "tournament": 2, "promote": 3,
                   "cache": 1},
    "heldout": {"steps": 60, "seed_base": 100, "seeds": 1,
                "task_options": {}},
}

METHODS = {
    "ga": {"algorithm": "ga", "mf": False},
    "ga-mf": {"algorithm": "ga", "mf": True},
    "steady": {"algorithm": "steady", "mf": False},
    "steady-mf": {"algorithm": "steady", "mf": True},
    "random": {"algorithm": "random", "mf": False},
    "random-mf": {"algorithm": "random", "mf": True},
    "optuna": {"optuna": True, "mf": True},
}
DEFAULT_METHODS = "ga,ga-mf,steady,steady-mf,random,random-mf,optuna"
COLORS = {"ga": "#1f77b4", "ga-mf": "#17becf", "steady": "#2ca02c",
          "steady-mf": "#98df8a", "random": "#7f7f7f",
          "random-mf": "#bcbd22", "optuna": "#d62728"}
LABELS = {"ga": "paper GA", "ga-mf": "GA + multi-fidelity",
          "steady": "steady-state", "steady-mf": "steady-state + MF",
          "random": "random search", "random-mf": "random + MF",
          "optuna": "Optuna TPE + SHA pruner"}
BASELINES = ("sgd", "adam", "adamw", "rmsprop")
GRID_POINTS = 16  # held-out re-scoring points per curve

# --- the genome space for Optuna (doc/algorithm.md §1) ------------------------

TERMS = list(range(7))  # evo_term codes 0..6
REAL_GENES = {  # the ranges of §1 (mutation clamps; clip_value as drawn)
    "lr_log10": (-5.0, -1.0), "beta1": (0.0, 0.999), "beta2": (0.0, 0.9999),
    "eps_log10": (-10.0, -4.0), "wd_log10": (-6.0, -2.0),
    "clip_value": (0.5, 2.0)}
FLAGS = ("use_m", "use_v", "use_bias_correction", "use_gradient_clipping",
         "use_warmup", "use_cosine_decay")
ALPHA = (-5.0, 5.0)
WARMUP = (50, 200)


def genome_from_trial(trial):
    """One genome drawn by an Optuna trial: K in 1..4, each slot's term a
    categorical over the 7 codes and its α in [-5, 5], the other genes in
    their §1 ranges."""
    k = trial.suggest_int("K", 1, 4)
    data = {"term_types": [trial.suggest_categorical("term%d" % i, TERMS)
                           for i in range(k)],
            "alphas": [trial.suggest_float("alpha%d" % i, *ALPHA)
                       for i in range(k)]}
    for gene, (lo, hi) in REAL_GENES.items():
        data[gene] = trial.suggest_float(gene, lo, hi)
    for flag in FLAGS:
        data[flag] = trial.suggest_categorical(flag, [False, True])
    data["warmup_steps"] = trial.suggest_int("warmup_steps", *WARMUP)
    return evoopt.Genome.from_dict(data)


def trial_params(genome):
    """The Optuna parameters of a genome (to enqueue the baselines)."""
    d = genome.to_dict()
    params = {"K": len(d["term_types"])}
    for i, (term, alpha) in enumerate(zip(d["term_types"], d["alphas"])):
        params["term%d" % i], params["alpha%d" % i] = term, alpha
    for gene in REAL_GENES:
        params[gene] = d[gene]
    for flag in FLAGS:
        params[flag] = d[flag]
    params["warmup_steps"] = d["warmup_steps"]
    return params


# --- evaluation ---------------------------------------------------------------

def open_tasks(proxy, options_key):
    tasks = []
    for name in proxy["tasks"]:
        options = proxy[options_key].get(name, {}) if options_key else {}
        tasks.append(evoopt.Task(name, **options))
    return tasks


class Searcher:
    """The search evaluator (with its rungs) and a log of every
    evaluation: (rung, fitness, cost, genome JSON of a full evaluation)."""

    def __init__(self, proxy):
        self.tasks = open_tasks(proxy, "task_options")
        self.ev = evoopt.Evaluator(self.tasks, steps=proxy["steps"],
                                   seeds=proxy["seeds"],
                                   rungs=proxy["rungs"])
        self.top = self.ev.rung_count - 1
        self.log = []

    def evaluate(self, genome, seed, rung):
        rep = self.ev.run(genome, seed, rung)
        full = rung == self.top
        self.log.append([rung, rep["fitness"], rep["cost"],
                         genome.to_json() if full else None])
        return rep

    def spent(self):
        return math.fsum(e[2] for e in self.log)


def run_library(method, seed, budget, searcher, proxy):
    """GA, steady-state or random search through evoopt.Population."""
    spec = METHODS[method]
    p = proxy["population"]
    rungs = searcher.ev.rung_count if spec["mf"] else 1

    def fitness(genome, eval_seed, rung):
        # Without rungs the population asks for rung 0: the full one here.
        return searcher.evaluate(genome, eval_seed,
                                 rung if spec["mf"] else searcher.top)

    settings = dict(size=p["size"], generations=100000, elites=p["elites"],
                    tournament=p["tournament"], run_seed=seed,
                    cache=p["cache"], algorithm=spec["algorithm"],
                    rungs=rungs, budget=budget)
    if spec["mf"]:
        settings["promote"] = p["promote"]
    with evoopt.Population(**settings) as pop:
        pop.set_fitness(fitness, rung=True)
        pop.run()
        return {"library_compute": pop.compute,
                "generations": len(pop.history)}


def run_optuna(seed, budget, searcher):
    """Optuna 3.1: TPE with the successive-halving pruner; rung r is the
    intermediate value at step 3^r (the pruner's rungs for min_resource 1,
    reduction factor 3), the full evaluation the trial's value. The four
    baselines open the study, as they open the GA's generation 0."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3, min_early_stopping_rate=0)
    study = optuna.create_study(direction="maximize", sampler=sampler,
                                pruner=pruner)
    for name in BASELINES:
        study.enqueue_trial(trial_params(evoopt.Genome.preset(name)))
    trials = pruned = 0
    while searcher.spent() < budget:
        trial = study.ask()
        genome = genome_from_trial(trial)
        trials += 1
        for rung in range(searcher.top + 1):
            if searcher.spent() >= budget:  # no evaluation starts after
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                break
            value = searcher.evaluate(genome, 0, rung)["fitness"]
            if rung == searcher.top:
                study.tell(trial, value)
                break
            trial.report(value, step=3 ** rung)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned += 1
                break
    return {"trials": trials, "pruned": pruned,
            "optuna_version": optuna.__version__}


def run_one(method, seed, budget, proxy, path):
    searcher = Searcher(proxy)
    wall, cpu = time.time(), time.process_time()
    try:
        if METHODS[method].get("optuna"):
            info = run_optuna(seed, budget, searcher)
        else:
            info = run_library(method, seed, budget, searcher, proxy)
    finally:
        searcher.ev.close()
        for t in searcher.tasks:
            t.close()
    record = {"method": method, "seed": seed, "budget": budget,
              "proxy": proxy, "evaluations": searcher.log,
              "spent": searcher.spent(), "wall_seconds": time.time() - wall,
              "process_cpu_seconds": time.process_time() - cpu,
              "library": evoopt.library_version}
    record.update(info)
    write_json(path, record)
    return record


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def steady_available():
    with evoopt.Population() as pop:
        try:
            pop.algorithm = "steady"
            return True
        except (evoopt.EvoError, ValueError):
            return False


# --- curves --------------------------------------------------------------------

def best_so_far(record):
    """[(compute, search fitness, genome JSON)] each time the best full
    evaluation so far improves (ties keep the earlier genome, as the hall
    of fame does)."""
    out, spent, best = [], 0.0, -math.inf
    for rung, fitness, cost, genome in record["evaluations"]:
        spent += cost
        if genome is not None and fitness > best:
            best = fitness
            out.append((spent, fitness, genome))
    return out


def at(steps, compute):
    """The step function's entry in force at ``compute`` (or None)."""
    found = None
    for entry in steps:
        if entry[0] <= compute * (1 + 1e-12):
            found = entry
        else:
            break
    return found


def grid(budget):
    return [budget * (i + 1) / GRID_POINTS for i in range(GRID_POINTS)]


def quantile(values, q):
    """Linear interpolation between order statistics (numpy's default)."""
    v = sorted(values)
    if not v:
        return math.nan
    pos = (len(v) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


class Heldout:
    """The held-out final evaluation, with its scores kept in a file."""

    def __init__(self, proxy, path):
        self.proxy, self.path = proxy, path
        self.scores = {}
        if os.path.exists(path):
            with open(path) as f:
                stored = json.load(f)
            if stored.get("heldout") == proxy["heldout"] and \
                    stored.get("tasks") == proxy["tasks"]:
                self.scores = stored["scores"]
        self.ev = None
        self.cost = 0.0

    def score(self, genome_json):
        if genome_json not in self.scores:
            if self.ev is None:
                h = self.proxy["heldout"]
                self.tasks = open_tasks(
                    {"tasks": self.proxy["tasks"],
                     "task_options": h["task_options"]}, "task_options")
                self.ev = evoopt.Evaluator(self.tasks, steps=h["steps"],
                                           seeds=h["seeds"])
            rep = self.ev.run(evoopt.Genome.from_json(genome_json),
                              self.proxy["heldout"]["seed_base"])
            self.cost += rep["cost"]
            self.scores[genome_json] = rep
            write_json(self.path, {"heldout": self.proxy["heldout"],
                                   "tasks": self.proxy["tasks"],
                                   "scores": self.scores})
        return self.scores[genome_json]["fitness"]

    def close(self):
        if self.ev is not None:
            self.ev.close()
            for t in self.tasks:
                t.close()


def curves(records, budget, heldout):
    """{method: {seed: [(compute, search best, held-out) on the grid]}}."""
    out = {}
    for rec in records:
        steps = best_so_far(rec)
        points = []
        for c in grid(budget):
            e = at(steps, c)
            if e is None:
                points.append((c, math.nan, math.nan, None))
            else:
                points.append((c, e[1], heldout.score(e[2]), e[2]))
        out.setdefault(rec["method"], {})[rec["seed"]] = points
    return out


def summary(per_seed):
    """Per grid point: median, min, max, q1, q3 of the held-out fitness
    over the seeds that have a value there (NaN until every seed has)."""
    seeds = sorted(per_seed)
    n = len(per_seed[seeds[0]])
    rows = []
    for i in range(n):
        c = per_seed[seeds[0]][i][0]
        vals = [per_seed[s][i][2] for s in seeds]
        if any(math.isnan(v) for v in vals):
            rows.append((c,) + (math.nan,) * 5)
        else:
            rows.append((c, quantile(vals, 0.5), min(vals), max(vals),
                         quantile(vals, 0.25), quantile(vals, 0.75)))
    return rows


def first_reaching(rows, level):
    """The first grid compute at which the median reaches ``level``."""
    for c, med, *_ in rows:
        if not math.isnan(med) and med >= level - 1e-12:
            return c
    return None


# --- outputs ---------------------------------------------------------------------

def write_csv(path, per_method, summaries):
    with open(path + ".tmp", "w") as f:
        f.write("method,seed,core_seconds,search_best,heldout,"
                "heldout_min,heldout_max,heldout_q1,heldout_q3\n")
        for method, per_seed in per_method.items():
            for seed in sorted(per_seed):
                for c, s, h, _ in per_seed[seed]:
                    f.write("%s,%d,%.3f,%s,%s,,,,\n" % (
                        method, seed, c, fmt(s), fmt(h)))
            for c, med, lo, hi, q1, q3 in summaries[method]:
                f.write("%s,median,%.3f,,%s,%s,%s,%s,%s\n" % (
                    method, c, fmt(med), fmt(lo), fmt(hi), fmt(q1),
                    fmt(q3)))
    os.replace(path + ".tmp", path)


def fmt(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) \
        else "%.5f" % v


def write_svg(path, summaries, budget, reference, title):
    w, h = 760, 460
    left, right, top, bottom = 70, 200, 40, 50
    pw, ph = w - left - right, h - top - bottom
    # The y range: the medians after the first eighth of the budget, the
    # references and the bands' tops; bands reaching lower are clipped.
    vals = [r[1] for rows in summaries.values() for r in rows
            if r[0] >= budget / 8 and not math.isnan(r[1])]
    vals += [r[3] for rows in summaries.values() for r in rows
             if r[0] >= budget / 8 and not math.isnan(r[3])]
    vals += list(reference.values())
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or 0.01
    lo, hi = lo - pad, hi + pad

    def x(c):
        return left + pw * c / budget

    def y(v):
        return top + ph * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
             'height="%d" viewBox="0 0 %d %d" font-family="sans-serif" '
             'font-size="12">' % (w, h, w, h),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="22" font-size="14">%s</text>' % (left,
                                                               escape(title))]
    for i in range(6):  # axes and grid
        v = lo + (hi - lo) * i / 5
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" '
                     'stroke="#ddd"/>' % (left, left + pw, y(v), y(v)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.3f</text>'
                     % (left - 6, y(v) + 4, v))
        c = budget * i / 5
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%.0f'
                     '</text>' % (x(c), top + ph + 18, c))
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                 'stroke="#444"/>' % (left, top, pw, ph))
    parts.append('<text x="%.1f" y="%d" text-anchor="middle">compute spent '
                 '(CPU core-seconds)</text>' % (left + pw / 2, h - 12))
    parts.append('<text transform="translate(16 %.1f) rotate(-90)" '
                 'text-anchor="middle">held-out fitness of the best genome '
                 'so far</text>' % (top + ph / 2))
    for name, v in reference.items():
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" '
                     'stroke="#000" stroke-dasharray="4 4"/>'
                     % (left, left + pw, y(v), y(v)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end" '
                     'fill="#333">%s</text>'
                     % (left + pw - 4, y(v) - 4, escape(name)))
    legend_x, legend_y = left + pw + 12, top + 10
    for method, rows in summaries.items():
        color = COLORS.get(method, "#000")
        pts = [(x(c), y(med), y(mn), y(mx)) for c, med, mn, mx, _, _ in rows
               if not math.isnan(med)]
        if pts:
            def edge(k):
                out = []
                for i, p in enumerate(pts):
                    if i:
                        out.append((p[0], pts[i - 1][k]))
                    out.append((p[0], p[k]))
                return out
            band = " ".join("%.1f,%.1f" % xy
                            for xy in edge(3) + edge(2)[::-1])
            parts.append('<polygon points="%s" fill="%s" fill-opacity="0.12" '
                         'stroke="none"/>' % (band, color))
            # A step function: the best so far holds until it improves.
            steps = []
            for i, (px, pm, _, _) in enumerate(pts):
                if i:
                    steps.append("%.1f,%.1f" % (px, pts[i - 1][1]))
                steps.append("%.1f,%.1f" % (px, pm))
            line = " ".join(steps)
            parts.append('<polyline points="%s" fill="none" stroke="%s" '
                         'stroke-width="2"/>' % (line, color))
        parts.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" '
                     'stroke-width="3"/>' % (legend_x, legend_x + 20,
                                             legend_y, legend_y, color))
        parts.append('<text x="%d" y="%d">%s</text>'
                     % (legend_x + 24, legend_y + 4,
                        escape(LABELS.get(method, method))))
        legend_y += 18
    parts.append('<text x="%d" y="%d" fill="#555">line: median over '
                 'seeds</text>' % (legend_x, legend_y + 10))
    parts.append('<text x="%d" y="%d" fill="#555">band: min to max</text>'
                 % (legend_x, legend_y + 26))
    parts.append('<text x="%d" y="%d" fill="#555">dashed: references'
                 '</text>' % (legend_x, legend_y + 42))
    parts.append("</svg>\n")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(parts))
    os.replace(path + ".tmp", path)


def escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


NOTES_BEGIN, NOTES_END = "<!-- notes -->", "<!-- /notes -->"


def kept_notes(path):
    """The hand-written part of an existing report, kept across runs."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    if NOTES_BEGIN in text and NOTES_END in text:
        return text[text.index(NOTES_BEGIN):text.index(NOTES_END) +
                    len(NOTES_END)]
    return None


def report(args, records, per_method, summaries, reference, verdicts,
           usage):
    budget = args.budget
    lines = []
    add = lines.append
    add("# Search efficiency on a proxy (issue 11, item 6)")
    add("")
    add("Generated by `bench/search_efficiency.py`; the text between the "
        "`notes` markers is written by hand and kept when the script runs "
        "again.")
    add("")
    add("**What was run.** %s" % args.label)
    add("")
    add("```sh")
    add(args.command)
    add("```")
    add("")
    seeds = sorted({r["seed"] for r in records})
    add("Search seeds %s; budget %.0f CPU core-seconds per method and seed; "
        "%d evaluations in all. Machine: %s. The searches cost %.0f "
        "core-seconds of evaluations (%.0f CPU seconds of the process, "
        "%.0f seconds of wall time); the held-out re-scoring %.0f "
        "core-seconds." % (
            ", ".join(map(str, seeds)), budget,
            sum(len(r["evaluations"]) for r in records), args.machine,
            sum(r["spent"] for r in records),
            sum(r["process_cpu_seconds"] for r in records),
            sum(r["wall_seconds"] for r in records), usage["heldout"]))
    add("")
    add("## The proxy")
    add("")
    p = args.proxy
    opts = "; ".join("%s: %s" % (t, ", ".join(
        "%s %s" % kv for kv in o.items()))
        for t, o in p["task_options"].items()) or "defaults"
    pop = p["population"]
    ho = p["heldout"]
    add("- Tasks %s (task options: %s); the search's full evaluation "
        "%d steps × %d seed (seed 0 for every genome, the paper's common "
        "random numbers)." % (" + ".join(p["tasks"]), opts, p["steps"],
                               p["seeds"]))
    add("- Multi-fidelity rungs (`--rungs` syntax: steps×seeds@test images) "
        "%s, then the full evaluation; promotion divisor η = %d." % (
            ", ".join(p["rungs"]), pop["promote"]))
    add("- Evolutionary methods: population %d, %d elites, tournament %d, "
        "the canonical evaluation cache (EVO_POP_CACHE = 1: an elite is "
        "not paid for twice), generations without end: the budget stops "
        "them. Generation 0 (and Optuna's first four trials) are the "
        "baselines sgd, adam, adamw, rmsprop." % (
            pop["size"], pop["elites"], pop["tournament"]))
    add("- Optuna %s: `TPESampler(seed=search seed)`, "
        "`SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, "
        "min_early_stopping_rate=0)`; a trial's rung r is reported at step "
        "3^r, the full evaluation is its value; genome space as "
        "doc/algorithm.md §1 (K in 1..4, each slot's term categorical over "
        "the 7 codes, α in [-5, 5], the genes' clamp ranges, the six flags, "
        "clip value in [0.5, 2], warmup steps in 50..200)." % (
            next((r.get("optuna_version") for r in records
                  if r.get("optuna_version")), "3.1")))
    add("- Held-out final evaluation of the best genome so far (the best "
        "full evaluation, earlier on a tie): %d steps × seeds %s on every "
        "test image (task options: %s), at %d evenly spaced points of the "
        "budget." % (
            ho["steps"], ", ".join(str(ho["seed_base"] + i)
                                   for i in range(ho["seeds"])),
            "; ".join("%s: %s" % (t, ", ".join(
                "%s %s" % kv for kv in o.items()))
                for t, o in ho["task_options"].items()) or "defaults",
            GRID_POINTS))
    add("- Compute: the sum of the evaluations' costs (thread CPU time × "
        "engine threads, what the library's budget counts), for Optuna the "
        "same evaluator's costs, pruned rungs included; a run starts no "
        "evaluation once it has spent the budget.")
    add("")
    add("![anytime curves](search-efficiency.svg)")
    add("")
    add("## Held-out fitness of the best genome so far")
    add("")
    add("Median over the search seeds [min, max] at a quarter, half and "
        "all of the budget; the last columns give the evaluations (all "
        "rungs) and full evaluations per run (median).")
    add("")
    marks = [budget / 4, budget / 2, budget]
    add("| method | %s | evaluations | full evaluations |" % " | ".join(
        "%.0f core-s" % m for m in marks))
    add("|---|%s---:|---:|" % ("---:|" * len(marks)))
    for method, rows in summaries.items():
        cells = []
        for m in marks:
            row = min(rows, key=lambda r: abs(r[0] - m))
            cells.append("—" if math.isnan(row[1]) else
                         "%.4f [%.4f, %.4f]" % (row[1], row[2], row[3]))
        recs = [r for r in records if r["method"] == method]
        n_eval = quantile([len(r["evaluations"]) for r in recs], 0.5)
        n_full = quantile([sum(1 for e in r["evaluations"]
                               if e[3] is not None) for r in recs], 0.5)
        add("| %s | %s | %.0f | %.0f |" % (LABELS.get(method, method),
                                           " | ".join(cells), n_eval,
                                           n_full))
    add("")
    refs = ", ".join("%s %.4f" % kv for kv in reference.items())
    add("Reference genomes on the same held-out evaluation: %s." % refs)
    add("")
    add("## Against the targets of issue 11")
    add("")
    for line in verdicts:
        add("- " + line)
    add("")
    notes = kept_notes(args.doc) or (
        NOTES_BEGIN + "\n\n(Reading to be written.)\n\n" + NOTES_END)
    add(notes)
    add("")
    add("## Files")
    add("")
    add("`doc/search-efficiency.csv` holds every curve: one row per method, "
        "seed and grid point (`core_seconds`, `search_best` the best search "
        "fitness so far, `heldout` its genome's held-out fitness) and rows "
        "with seed `median` holding the median, min, max and quartiles "
        "over the seeds.")
    add("")
    tmp = args.doc + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, args.doc)


def judge(summaries, budget):
    """The issue's targets, read off the median curves."""
    verdicts = []

    def final(method):
        return summaries[method][-1][1] if method in summaries else None

    def near(method, c):
        return min(summaries[method], key=lambda r: abs(r[0] - c))[1]

    ga = final("ga")
    for mf in ("ga-mf", "steady-mf", "random-mf"):
        if ga is None or mf not in summaries:
            continue
        c = first_reaching(summaries[mf], ga)
        fifth = ("at a fifth of the budget (%.0f core-seconds) its median is "
                 "%.4f, the GA's %.4f" % (budget / 5, near(mf, budget / 5),
                                          near("ga", budget / 5)))
        if c is None:
            verdicts.append(
                "**%s vs the paper GA:** does not reach the GA's final "
                "median %.4f within the budget (its own final median %.4f); "
                "%s. Target (≤ 1/5 of the GA's compute) not met."
                % (LABELS[mf], ga, final(mf), fifth))
        else:
            verdicts.append(
                "**%s vs the paper GA:** reaches the GA's final median "
                "%.4f at %.0f core-seconds, %.2f of the GA's compute; %s. "
                "Target (≤ 1/5) %s." % (
                    LABELS[mf], ga, c, c / budget, fifth,
                    "met" if c / budget <= 0.2 + 1e-9 else "not met"))
    if "random" in summaries:
        base = summaries["random"]
        for method, rows in summaries.items():
            if method == "random":
                continue
            ahead = behind = level = 0
            for r, b in zip(rows, base):
                if math.isnan(r[1]) or math.isnan(b[1]):
                    continue
                if r[1] > b[1] + 1e-9:
                    ahead += 1
                elif r[1] < b[1] - 1e-9:
                    behind += 1
                else:
                    level += 1
            f, rnd = rows[-1][1], base[-1][1]
            verdicts.append(
                "**%s vs random search at equal compute:** final median "
                "%.4f vs %.4f (%+.4f); of the %d grid points where both "
                "have a value, ahead at %d, level at %d, behind at %d: %s."
                % (LABELS.get(method, method), f, rnd, f - rnd,
                   ahead + level + behind, ahead, level, behind,
                   "beats it" if f > rnd and behind == 0 and ahead > level
                   else ("ahead at the end, not throughout" if f > rnd else
                         "does not beat it")))
    if "optuna" in summaries:
        ours = [m for m in summaries if m != "optuna"]
        if ours:
            best = max(ours, key=lambda m: final(m))
            opt = final("optuna")
            c_opt = first_reaching(summaries["optuna"], opt)
            c_ours = first_reaching(summaries[best], opt)
            if c_ours is not None:
                outcome = ("reaches Optuna's final quality at %.0f "
                           "core-seconds, %s compute than Optuna" % (
                               c_ours, "less" if c_ours < c_opt else
                               ("the same" if c_ours == c_opt else "more")))
            else:
                outcome = ("does not reach Optuna's final quality within "
                           "the budget")
            verdicts.append(
                "**Our best method (%s, final median %.4f) vs Optuna (final "
                "median %.4f, first reached at %.0f core-seconds):** %s; at "
                "half the budget %.4f vs Optuna's %.4f." % (
                    LABELS[best], final(best), opt, c_opt, outcome,
                    near(best, budget / 2), near("optuna", budget / 2)))
    return verdicts


# --- main --------------------------------------------------------------------------

def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds.extend(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    return seeds


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=DEFAULT_METHODS,
                        help="comma-separated, of: " + ", ".join(METHODS))
    parser.add_argument("--seeds", default="0-4",
                        help="search seeds, e.g. 0-4 or 0,2,5 (default 0-4)")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="CPU core-seconds per method and seed, "
                             "rounded up to a whole number "
                             "(default 240: the full benchmark, about an "
                             "hour on 2 cores)")
    parser.add_argument("--out", default="search-efficiency-runs",
                        help="folder for the runs and held-out scores "
                             "(reused when run again)")
    parser.add_argument("--csv", help="curves (default OUT/curves.csv)")
    parser.add_argument("--svg", help="plot (default OUT/curves.svg)")
    parser.add_argument("--doc", help="Markdown report (default "
                                      "OUT/report.md)")
    parser.add_argument("--label", default="The full benchmark.",
                        help="what this run is, for the report")
    parser.add_argument("--machine", default="not stated",
                        help="a note on the machine, for the report")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny digits-only proxy (seconds; checks "
                             "the script)")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: rebuild the outputs from OUT")
    args = parser.parse_args(argv)
    args.proxy = SMOKE if args.smoke else PROXY
    # The command that makes these runs (without --report-only and the
    # report's texts).
    shown, skip = [], False
    for a in (sys.argv[1:] if argv is None else argv):
        if skip or a == "--report-only" or \
                a.split("=")[0] in ("--label", "--machine"):
            skip = a in ("--label", "--machine")
            continue
        shown.append(a if " " not in a else "'%s'" % a)
    args.command = ("EVOOPT_LIBRARY=build/libevoopt/libevoopt.so "
                    "EVOOPT_DATA_PATH=/path/to/data \\\n  /usr/bin/python3 "
                    "bench/search_efficiency.py " + " ".join(shown))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            parser.error("unknown method %r (known: %s)"
                         % (m, ", ".join(METHODS)))
    if not (math.isfinite(args.budget) and 0 < args.budget <= 2 ** 40):
        parser.error("--budget must be a positive number of core-seconds")
    # The library's budget is whole core-seconds: every method gets the same.
    args.budget = float(math.ceil(args.budget))
    seeds = parse_seeds(args.seeds)
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    args.csv = args.csv or os.path.join(args.out, "curves.csv")
    args.svg = args.svg or os.path.join(args.out, "curves.svg")
    args.doc = args.doc or os.path.join(args.out, "report.md")
    evoopt.set_blas_threads(1)
    if any(METHODS[m].get("algorithm") == "steady" for m in methods) and \
            not steady_available():
        print("note: this libevoopt has no steady-state evolution: "
              "skipping %s" % ", ".join(m for m in methods
                                        if m.startswith("steady")))
        methods = [m for m in methods if not m.startswith("steady")]
    if "optuna" in methods:
        try:
            import optuna  # noqa: F401
        except ImportError:
            print("note: optuna is not installed for %s: skipping it "
                  "(Debian: python3-optuna)" % sys.executable)
            methods.remove("optuna")

    wall0, cpu0 = time.time(), time.process_time()
    search_cost = 0.0
    records = []
    for seed in seeds:          # seed-major: a partial run covers methods
        for method in methods:
            path = os.path.join(args.out, "runs",
                                "%s-seed%d.json" % (method, seed))
            rec = None
            if os.path.exists(path):
                with open(path) as f:
                    rec = json.load(f)
                if rec.get("proxy") != args.proxy or \
                        rec.get("budget") != args.budget:
                    sys.exit("%s was run with other settings (proxy or "
                             "budget): use another --out" % path)
            elif args.report_only:
                continue
            else:
                t = time.time()
                rec = run_one(method, seed, args.budget, args.proxy, path)
                search_cost += rec["spent"]
                print("%-10s seed %d: %4d evaluations, %.1f core-s, best "
                      "search fitness %.4f, %.0f s wall" % (
                          method, seed, len(rec["evaluations"]),
                          rec["spent"], max([e[1] for e in rec["evaluations"]
                                             if e[3] is not None] or [-1]),
                          time.time() - t), flush=True)
            records.append(rec)
    if not records:
        sys.exit("no runs in %s" % args.out)
    heldout = Heldout(args.proxy, os.path.join(args.out, "heldout.json"))
    try:
        per_method = curves(records, args.budget, heldout)
        reference = {name: heldout.score(
            evoopt.Genome.preset(name).to_json())
            for name in ("adam", "paper-evolved")}
    finally:
        heldout.close()
    order = [m for m in METHODS if m in per_method]
    per_method = {m: per_method[m] for m in order}
    summaries = {m: summary(per_method[m]) for m in order}
    verdicts = judge(summaries, args.budget)
    usage = {"cpu": time.process_time() - cpu0, "wall": time.time() - wall0,
             "search": search_cost,
             "heldout": math.fsum(v["cost"] for v in heldout.scores.values())}
    write_csv(args.csv, per_method, summaries)
    title = "Anytime curves, %s: median over %d seeds (band: min-max)" % (
        " + ".join(args.proxy["tasks"]), len({r["seed"] for r in records}))
    write_svg(args.svg, summaries, args.budget, reference, title)
    report(args, records, per_method, summaries, reference, verdicts, usage)
    for line in verdicts:
        print(line)
    print("wrote %s, %s, %s (%.0f CPU s, %.0f s wall)" % (
        args.csv, args.svg, args.doc, usage["cpu"], usage["wall"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
