#!/usr/bin/python3
"""End-to-end tests of the evoopt command-line program (issue 4).

Usage: test_cli.py EVOOPT PART, PART one of basic, errors, folders,
settings, resume, workers, cache, mnist, ablate, noreplace. Standard library only. Exit 0 pass, 1 fail, 77 skip (meson's code).
Expected values come from doc/algorithm.md (preset settings, §5's
description, §6's table layout) and from the files' own invariants, never from a
previous run of the program.
"""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from run_testlib import (RUN_FILES, check, run_part, same_files,
                         wait_for_saves)

EVOOPT = None
# doc/algorithm.md §5 in words, as genome.h documents evo_genome_describe().
PAPER_EVOLVED = ("0.734·sign + 3.635·adam | lr 1.20e-3 β 0.855/0.936 "
                 "wd 9.7e-4 | no bias-corr | warmup 100 | cosine")
TERMS = ["grad", "momentum", "rms", "adam", "sign", "unit", "nesterov"]
BASELINES = {"sgd", "adam", "adamw", "rmsprop"}
# Every preset genome.h documents for evo_genome_preset().
PRESETS = BASELINES | {"paper-evolved", "plain-sgd", "sgd-nesterov",
                       "sign-descent", "adam-nowd", "torch-sgd",
                       "torch-sgd-momentum", "torch-sgd-nesterov",
                       "torch-adam", "torch-adamw", "torch-rmsprop"}
# The smoke preset as the man page states it.
SMOKE = {"population": 6, "generations": 3, "elites": 2, "tournament": 3,
         "steps": 20, "seeds": 1, "seed": 42, "final_steps": 30,
         "final_seeds": 1}


def run(*args, timeout=120):
    p = subprocess.run([EVOOPT, *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_ok(*args, **kw):
    rc, out, err = run(*args, **kw)
    if not check(rc == 0, f"evoopt {' '.join(args)} exit {rc}: {err}"):
        raise SystemExit(1)
    return out, err


# --- run-folder checks ------------------------------------------------------

def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def check_history(path, generations, tasks):
    header, rows = read_csv(path)
    want = (["generation", "best", "mean", "median", "worst", "failed",
             "cache_hits"] + ["best_" + t for t in tasks]
            + ["terms_" + t for t in TERMS] + ["best_genome"])
    check(header == want, f"history.csv header {header}")
    check(len(rows) == generations, f"history.csv has {len(rows)} rows")
    for i, row in enumerate(rows):
        values = [float(x) for x in row[:-1]]  # every column but the genome
        gen, best, mean, median, worst, failed = values[:6]
        check(gen == i, f"history row {i}: generation {gen}")
        check(best >= median >= worst and best >= mean >= worst,
              f"history row {i}: order of best/mean/median/worst {values[1:5]}")
        check(failed == 0, f"history row {i}: {failed} failed evaluations")
        task_values = values[7:7 + len(tasks)]
        check(abs(sum(task_values) / len(tasks) - best) < 2e-6,
              f"history row {i}: per-task fitness {task_values} vs best {best}")
        counts = values[7 + len(tasks):]
        check(all(c == int(c) >= 0 for c in counts) and sum(counts) >= SMOKE[
            "population"], f"history row {i}: term counts {counts}")
        check(row[-1] != "", f"history row {i}: no best genome")
    return rows


def check_final(path, tasks):
    header, rows = read_csv(path)
    check(header == ["optimizer", *tasks, "overall"], f"final.csv {header}")
    names = [r[0] for r in rows]
    check(sorted(names) == sorted(["evolved", *BASELINES]),
          f"final.csv rows {names}")
    overall = [float(r[-1]) for r in rows]
    check(overall == sorted(overall), "final.csv not sorted by overall (§6)")
    for r in rows:
        per_task = [float(x) for x in r[1:-1]]
        check(abs(sum(per_task) / len(per_task) - float(r[-1])) < 2e-6,
              f"final.csv {r[0]}: overall is not the mean of the tasks")
        check(all(-1.0 <= x <= 1.05 for x in per_task),
              f"final.csv {r[0]}: fitness out of range {per_task}")


def check_svg(path, want_texts):
    root = ET.parse(path).getroot()
    check(root.tag == "{http://www.w3.org/2000/svg}svg", f"{path}: root tag")
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    for w in want_texts:
        check(w in texts, f"{path}: no label '{w}' in {sorted(texts)}")
    return root


def check_run_folder(d, generations, tasks):
    for name in ["settings.json", "checkpoint.evo", "history.csv", "best.json",
                 "hall_of_fame.json", "final.csv", "final.md", "plot.svg"]:
        check(os.path.isfile(os.path.join(d, name)), f"run folder lacks {name}")
    check(not [f for f in os.listdir(d) if ".tmp" in f],
          f"temporary files left in {d}: {os.listdir(d)}")
    with open(os.path.join(d, "settings.json"), encoding="utf-8") as f:
        settings = json.load(f)
    check(settings["tasks"] == tasks, f"settings tasks {settings['tasks']}")
    rows = check_history(os.path.join(d, "history.csv"), generations, tasks)
    check_final(os.path.join(d, "final.csv"), tasks)
    with open(os.path.join(d, "hall_of_fame.json"), encoding="utf-8") as f:
        hof = json.load(f)
    fits = [e["fitness"] for e in hof]
    check(fits == sorted(fits, reverse=True), "hall of fame not best first")
    check(abs(fits[0] - max(float(r[1]) for r in rows)) < 1e-6,
          "hall of fame's best is not the history's best")
    with open(os.path.join(d, "best.json"), encoding="utf-8") as f:
        check(json.load(f) == hof[0]["genome"], "best.json is not hof[0]")
    with open(os.path.join(d, "final.md"), encoding="utf-8") as f:
        md = f.read()
    check(re.search(r"^\| optimizer +\|", md, re.M) is not None,
          "final.md has no table header")
    check_svg(os.path.join(d, "plot.svg"), ["best", "mean", "generation"])
    return settings


# --- parts ------------------------------------------------------------------

def part_basic(tmp):
    d = os.path.join(tmp, "smoke")
    out, _ = run_ok("evolve", "--preset", "smoke", "--out", d)
    settings = check_run_folder(d, SMOKE["generations"], ["digits"])
    for k, v in SMOKE.items():
        check(settings[k] == v, f"smoke preset: {k} = {settings[k]}, not {v}")
    check("| evolved" in out and "| optimizer" in out, "no table on stdout")

    out, _ = run_ok("show", os.path.join(d, "best.json"))
    with open(os.path.join(d, "hall_of_fame.json"), encoding="utf-8") as f:
        best = json.load(f)[0]
    check(best["description"] in out, "show best.json")
    # eval's own threads must score exactly as the library's evaluator did
    # during the run (same seeds 0..n-1, doc/algorithm.md §3).
    out, _ = run_ok("eval", d, "--steps", str(SMOKE["steps"]), "--seeds",
                    str(SMOKE["seeds"]), "--json", "--workers", "2")
    check(json.loads(out)["fitness"] == best["fitness"],
          f"eval of the run's best {out} != its fitness {best['fitness']}")
    out, _ = run_ok("show", "paper-evolved")
    check(PAPER_EVOLVED in out.splitlines()[0], f"show paper-evolved: {out}")
    out, _ = run_ok("show", "--json", "paper-evolved")
    g = json.loads(out)
    check(g["term_types"] == [4, 4, 3, 3] and g["warmup_steps"] == 100,
          "show --json paper-evolved")

    out, _ = run_ok("eval", "adam", "--tasks", "digits", "--steps", "50",
                    "--seeds", "1")
    m = re.search(r"overall\s+fitness ([-0-9.]+)", out)
    check(m is not None and float(m.group(1)) > 0.5, f"eval adam: {out}")
    out, _ = run_ok("eval", "adam", "sgd", "--steps", "50", "--seeds", "2",
                    "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    check([x["genome"] for x in lines] == ["adam", "sgd"], "eval --json names")
    for x in lines:
        t = x["tasks"]["digits"]
        check(0.0 <= t["accuracy"] <= 1.0 and t["fitness"] >= t["accuracy"] -
              1e-12 and abs(x["fitness"] - t["fitness"]) < 1e-12,
              f"eval --json values {x}")

    svg = os.path.join(tmp, "h.svg")
    run_ok("plot", d, "-o", svg)
    check_svg(svg, ["best", "mean", "generation", "fitness"])
    out, _ = run_ok("plot", os.path.join(d, "final.csv"))
    bars = os.path.join(d, "final.svg")
    check(out.strip() == bars, f"plot prints {out!r}")
    root = check_svg(bars, ["evolved", "adam", "digits", "overall"])
    rects = list(root.iter("{http://www.w3.org/2000/svg}rect"))
    check(len(rects) >= 10, f"bar chart has {len(rects)} rects")

    cmp_dir = os.path.join(tmp, "cmp")
    os.mkdir(cmp_dir)
    out, _ = run_ok("compare", "paper-evolved", "--steps", "30", "--seeds",
                    "1", "-o", cmp_dir)
    header, rows = read_csv(os.path.join(cmp_dir, "compare.csv"))
    check(sorted(r[0] for r in rows) == sorted(["paper-evolved", *BASELINES]),
          f"compare rows {rows}")
    check_svg(os.path.join(cmp_dir, "compare.svg"), ["paper-evolved"])

    # --json: one JSON object per line; every evaluation, generation, final.
    d2 = os.path.join(tmp, "json")
    out, _ = run_ok("evolve", "--preset", "smoke", "--out", d2, "--json")
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["event"] for e in events]
    n = SMOKE["population"] * SMOKE["generations"]
    check(kinds.count("evaluation") == n, f"{kinds.count('evaluation')} evals")
    check(kinds.count("generation") == SMOKE["generations"], "generations")
    check(kinds[-1] == "final" and len(events[-1]["rows"]) == 5, "final event")
    for k in ("history.csv", "best.json"):
        with open(os.path.join(d, k), "rb") as a, \
                open(os.path.join(d2, k), "rb") as b:
            check(a.read() == b.read(), f"--json changed {k}")

    out, _ = run_ok("--version")
    check(re.fullmatch(r"evoopt \d+\.\d+\.\d+\n", out) is not None, out)
    for args in (["help"], ["help", "evolve"], ["evolve", "--help"],
                 ["plot", "-h"]):
        out, _ = run_ok(*args)
        check("usage: evoopt" in out, f"{args}: {out[:80]}")

    # The overview's preset list (printed from the library's own list) holds
    # the presets genome.h documents, and `evoopt show` accepts each.
    out, _ = run_ok("help")
    m = re.search(r"^preset:(.*?)\.\n", out, re.S | re.M)
    listed = [] if m is None else [w.strip() for w in
                                   m.group(1).replace("\n", " ").split(",")]
    check(set(listed) == PRESETS, f"help lists {listed}, want {PRESETS}")
    for name in listed:
        shown, _ = run_ok("show", name, "--json")
        check(json.loads(shown).get("term_types"),
              f"show {name}: {shown[:80]}")
    expect_fail(1, ["torch-adam"], "show", "torch-adamm")


def expect_fail(code, words, *args):
    rc, out, err = run(*args)
    check(rc == code, f"evoopt {' '.join(args)}: exit {rc}, want {code}")
    check(err.startswith("evoopt: error: "), f"{args}: message {err!r}")
    for w in words:
        check(w in err, f"{args}: '{w}' not in {err!r}")


def part_errors(tmp):
    expect_fail(2, ["frob"], "frob")
    # a --data folder whose name is not UTF-8 cannot go into settings.json:
    # refused before anything is written
    out = os.path.join(tmp, "not-utf8")
    expect_fail(2, ["--data", "not valid UTF-8"], "evolve", "--preset",
                "smoke", "--data", os.fsdecode(b"/tmp/\xff"), "--out", out)
    check(not os.path.exists(out), "a run folder was made for bad --data")
    expect_fail(2, ["--bogus"], "evolve", "--bogus")
    expect_fail(2, ["--population", "x"], "evolve", "--population", "x")
    expect_fail(2, ["--steps"], "eval", "adam", "--steps")
    expect_fail(2, ["--elites"], "evolve", "--population", "6", "--elites",
                "6")
    expect_fail(2, ["preset"], "evolve", "--preset", "huge")
    expect_fail(2, ["GENOME"], "eval")
    expect_fail(2, ["twice"], "eval", "adam", "--tasks", "digits,digits")
    missing = os.path.join(tmp, "no-such-genome.json")
    expect_fail(1, [missing], "eval", missing, "--steps", "5")
    expect_fail(1, [missing], "show", missing)
    expect_fail(1, ["nothing-like-this"], "show", "nothing-like-this")
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w", encoding="utf-8") as f:
        f.write('{"term_types": [9]}')
    expect_fail(1, [bad], "show", bad)
    expect_fail(1, ["no_such_task"], "eval", "adam", "--tasks", "no_such_task")
    expect_fail(1, ["settings.json"], "evolve", "--resume", tmp)
    d = os.path.join(tmp, "run")
    run_ok("evolve", "--preset", "smoke", "--out", d, "--final-seeds", "0",
           "-q")
    check(not os.path.exists(os.path.join(d, "final.csv")),
          "--final-seeds 0 still made a final table")
    expect_fail(2, ["conflicts", "20"], "evolve", "--resume", d, "--steps",
                "99")
    expect_fail(2, ["conflicts"], "evolve", "--resume", d, "--tasks", "mnist")
    expect_fail(1, ["already holds a run"], "evolve", "--preset", "smoke",
                "--out", d)
    # A checkpoint made with other steps is refused (its tag differs).
    edited = os.path.join(tmp, "edited")
    shutil.copytree(d, edited)
    path = os.path.join(edited, "settings.json")
    with open(path, encoding="utf-8") as f:
        settings = json.load(f)
    settings["steps"] += 1
    with open(path, "w", encoding="utf-8") as f:
        json.dump(settings, f)
    expect_fail(1, ["checkpoint.evo", "other tasks, steps"], "evolve",
                "--resume", edited)
    # Each message names a file once (issue 14 item 11).
    ckpt = os.path.join(edited, "checkpoint.evo")
    _, _, err = run("evolve", "--resume", edited)
    check(err.count(ckpt) == 1, f"path not once: {err}")
    with open(ckpt, "r+b") as f:
        f.truncate(100)
    settings["steps"] -= 1
    with open(path, "w", encoding="utf-8") as f:
        json.dump(settings, f)
    expect_fail(1, [f"cannot resume: '{ckpt}': population checkpoint"],
                "evolve", "--resume", edited)
    _, _, err = run("show", bad)
    check(err.count(bad) == 1, f"path not once: {err}")
    best = os.path.join(edited, "best.json")
    os.remove(best)
    os.mkdir(best)  # the run cannot save its best genome there
    os.remove(ckpt)
    expect_fail(1, [f"cannot save: cannot write '{best}'"], "evolve",
                "--resume", edited, "-q")
    expect_fail(1, ["nothing"], "plot", os.path.join(tmp, "nothing"))


def snapshot(d):
    """Every file under @d with its bytes and modification time."""
    out = {}
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        with open(path, "rb") as f:
            out[name] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def part_folders(tmp):
    """--out refuses a folder that holds anything but an evoopt run
    (issue 14 item 1), before writing anything, and names what is there."""
    user = os.path.join(tmp, "mine")
    os.mkdir(user)
    for name in ("best.json", "history.csv", "notes.txt", "final.csv"):
        with open(os.path.join(user, name), "w", encoding="utf-8") as f:
            f.write(f"the user's own {name}\n")
    before = snapshot(user)
    # Byte order: the first three names, then a count of the rest.
    expect_fail(1, [user, "not empty", "'best.json', 'final.csv', "
                    "'history.csv' and 1 more"],
                "evolve", "--preset", "smoke", "--out", user, "-q")
    check(snapshot(user) == before, f"{user} changed: {os.listdir(user)}")
    hidden = os.path.join(tmp, "hidden")
    os.mkdir(hidden)
    open(os.path.join(hidden, ".keep"), "w", encoding="utf-8").close()
    expect_fail(1, ["'.keep'"], "evolve", "--preset", "smoke", "--out",
                hidden, "-q")
    check(os.listdir(hidden) == [".keep"], f"{hidden}: {os.listdir(hidden)}")
    afile = os.path.join(tmp, "afile")
    open(afile, "w", encoding="utf-8").close()
    expect_fail(1, ["not a folder"], "evolve", "--preset", "smoke", "--out",
                afile, "-q")
    # A folder that holds only a temporary of settings.json (a run killed
    # before it saved that, which --resume cannot continue) is used, the
    # temporary removed; beside a user's file it is refused and kept.
    both = os.path.join(tmp, "both")
    os.mkdir(both)
    for name in ("settings.json.tmpAbCdEf", "mine.txt"):
        open(os.path.join(both, name), "w", encoding="utf-8").close()
    expect_fail(1, ["'mine.txt', 'settings.json.tmpAbCdEf'"], "evolve",
                "--preset", "smoke", "--out", both, "-q")
    check(sorted(os.listdir(both)) == ["mine.txt", "settings.json.tmpAbCdEf"],
          f"{both}: {os.listdir(both)}")
    killed = os.path.join(tmp, "killed-early")
    os.mkdir(killed)
    open(os.path.join(killed, "settings.json.tmpAbCdEf"), "w",
         encoding="utf-8").close()
    run_ok("evolve", "--preset", "smoke", "--out", killed, "--final-seeds",
           "0", "--generations", "1", "-q")
    check("settings.json.tmpAbCdEf" not in os.listdir(killed)
          and "settings.json" in os.listdir(killed),
          f"{killed}: {os.listdir(killed)}")
    # An empty existing folder is used.
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    run_ok("evolve", "--preset", "smoke", "--out", empty, "--final-seeds",
           "0", "-q")
    check(os.path.isfile(os.path.join(empty, "checkpoint.evo")),
          f"no run in the empty folder: {os.listdir(empty)}")
    # A kill leaves an atomic write's temporary (the run's file name, then
    # ".tmp" and mkstemp's 6 characters, or ".tmp.PID" from evoopt 0.1):
    # --resume removes those and nothing else (issue 14 item 7).
    leftovers = ["checkpoint.evo.tmpAb12Cd", "history.csv.tmp.12345",
                 "best.json.tmpZZZZZZ", "final.md.tmp0a1b2c",
                 "settings.json.tmpQwErTy"]
    users = ["notes.tmpABCDEF", "history.csv.tmp.12x", "best.json.tmpABCDEFG",
             "plot.svg.tmpABCDE", "mine.csv.tmp.1", "history.csv.tmp."]
    for name in leftovers + users:
        with open(os.path.join(empty, name), "w", encoding="utf-8") as f:
            f.write("x")
    os.mkdir(os.path.join(empty, "plot.svg.tmpDIRDIR"))
    users.append("plot.svg.tmpDIRDIR")
    _, err = run_ok("evolve", "--resume", empty)
    left = set(os.listdir(empty))
    check(not left & set(leftovers), f"--resume left {left & set(leftovers)}")
    check(set(users) <= left, f"--resume removed {set(users) - left}")
    check(f"removed {len(leftovers)} temporary files" in err,
          f"--resume does not say what it removed: {err}")


DELETE = object()  # an edit that removes the key
# Edits of a run's settings.json and the words --resume's refusal must hold:
# each names the key and what is wrong (issue 14 item 6). Ranges as the man
# page states them.
BAD_SETTINGS = [
    ({"preset": "bogus"}, ["'preset' must be", '"paper"', '"quick"',
                           '"smoke"', 'not a string "bogus"']),
    ({"preset": None}, ["'preset'", "not null"]),
    ({"data": 5}, ["'data'", "or null", "an integer 5"]),
    ({"data": ""}, ["'data'", 'a string ""']),
    ({"cache": "yes"}, ["'cache'", "true or false", '"yes"']),
    ({"cache": 0}, ["'cache'", "true or false", "an integer 0"]),
    ({"population": 1}, ["'population'", "2..1000000"]),
    ({"population": 6.0}, ["'population'", "an integer", "6.0"]),
    ({"population": "6"}, ["'population'", 'a string "6"']),
    ({"final_seeds": 1001}, ["'final_seeds'", "0..1000"]),
    ({"seed": -1}, ["'seed'", "-1"]),
    ({"elites": 6}, ["'elites' (6) must be below 'population' (6)"]),
    ({"tournament": 7}, ["'tournament' (7) must not exceed 'population'"]),
    ({"tasks": []}, ["'tasks'", "1 to 16 tasks"]),
    ({"tasks": "digits"}, ["'tasks'", "an array"]),
    ({"tasks": ["digits", "digits"]}, ["'tasks'", "twice"]),
    ({"tasks": ["a,b"]}, ["'tasks'", "comma"]),
    ({"tasks": [3]}, ["'tasks'", "an integer 3"]),
    ({"format": "x"}, ["'format'", '"evoopt run"']),
    ({"format_version": 2}, ["'format_version' must be 1"]),
    ({"created": 3}, ["'created'", "a string"]),
    ({"colour": "red"}, ["unknown key 'colour'"]),
    ({"population": DELETE}, ["'population' is missing"]),
]


def part_settings(tmp):
    """settings.json is checked key by key on --resume."""
    run_dir = os.path.join(tmp, "run")
    run_ok("evolve", "--preset", "smoke", "--out", run_dir, "--final-seeds",
           "0", "-q")
    path = os.path.join(run_dir, "settings.json")
    with open(path, encoding="utf-8") as f:
        good = json.load(f)
    before = snapshot(run_dir)
    for edit, words in BAD_SETTINGS:
        settings = {k: v for k, v in dict(good, **edit).items()
                    if v is not DELETE}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        expect_fail(1, [path, *words], "evolve", "--resume", run_dir, "-q")
    for text, words in (("[1]", ["not a JSON object"]),
                        ('{"format": 1, "format": 2}', ["duplicate"]),
                        ("{", [path])):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        expect_fail(1, words, "evolve", "--resume", run_dir, "-q")
    # The refusals wrote nothing; a run from before the cache existed has
    # no "cache" key and means no cache (its checkpoint says so too).
    with open(path, "w", encoding="utf-8") as f:
        json.dump(good, f, indent=2)
    after = snapshot(run_dir)
    check(sorted(after) == sorted(before) and all(
        after[k] == before[k] for k in after if k != "settings.json"),
          f"a refused --resume changed {run_dir}")
    del good["cache"]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(good, f)
    expect_fail(1, ["has cache 1 but settings.json says 0"], "evolve",
                "--resume", run_dir, "-q")


# --- kill and resume --------------------------------------------------------

RESUME_ARGS = ["evolve", "--preset", "smoke", "--steps", "100",
               "--final-steps", "10", "--workers", "1", "-q"]


def start(d):
    return subprocess.Popen([EVOOPT, *RESUME_ARGS, "--out", d],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def interrupted_run(tmp, name, sig, want_rc):
    d = os.path.join(tmp, name)
    p = start(d)
    if not check(wait_for_saves(p, os.path.join(d, "checkpoint.evo"), 3),
                 f"{name}: the run ended before 3 evaluations were saved"):
        p.kill()
        return d
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    check(p.returncode == want_rc, f"{name}: exit {p.returncode}: {err}")
    check(not os.path.exists(os.path.join(d, "final.csv")),
          f"{name}: the run finished before it was interrupted")
    saved = None
    if sig == signal.SIGINT:
        check(f"--resume {d}" in err, f"no resume hint: {err}")
        # The hint says what the checkpoint holds, and the resume finds
        # exactly that (issue 14 item 11).
        saved = re.search(r"the checkpoint holds (\d+) of (\d+) evaluations",
                          err)
        n = SMOKE["population"] * SMOKE["generations"]
        check(saved is not None and saved.group(2) == str(n),
              f"the hint does not say what is saved: {err}")
    rc, _, err = run("evolve", "--resume", d)
    check(rc == 0, f"{name}: resume exit {rc}: {err}")
    if saved is not None:
        want = f"({saved.group(1)} of {saved.group(2)} evaluations done)"
        check(want in err, f"the hint said {want}; the resume: {err}")
    return d


def part_resume(tmp):
    ref = os.path.join(tmp, "ref")
    run_ok(*RESUME_ARGS, "--out", ref)
    killed = interrupted_run(tmp, "killed", signal.SIGKILL, -signal.SIGKILL)
    same_files(ref, killed, "SIGKILL + --resume")
    stopped = interrupted_run(tmp, "stopped", signal.SIGINT, 130)
    same_files(ref, stopped, "SIGINT + --resume")
    # Resuming a complete run recomputes nothing and prints its table.
    rc, out, _ = run("evolve", "--resume", ref)
    check(rc == 0 and "| evolved" in out, f"resume of a complete run: {rc}")


def part_workers(tmp):
    a, b = os.path.join(tmp, "w1"), os.path.join(tmp, "w2")
    run_ok("evolve", "--preset", "smoke", "--out", a, "--workers", "1", "-q")
    run_ok("evolve", "--preset", "smoke", "--out", b, "--workers", "2", "-q")
    same_files(a, b, "--workers 1 vs 2")


def history_split(path):
    """history.csv's rows without the cache_hits column, and that column."""
    header, rows = read_csv(path)
    i = header.index("cache_hits")
    return [r[:i] + r[i + 1:] for r in rows], [int(r[i]) for r in rows]


def part_cache(tmp):
    """The cache (on by default) changes no result, only the hit counts."""
    on, off = os.path.join(tmp, "on"), os.path.join(tmp, "off")
    out_on, _ = run_ok("evolve", "--preset", "smoke", "--out", on)
    out_off, _ = run_ok("evolve", "--preset", "smoke", "--out", off,
                        "--no-cache")
    same_files(on, off, "--no-cache", RUN_FILES[1:])
    rows_on, hits_on = history_split(os.path.join(on, "history.csv"))
    rows_off, hits_off = history_split(os.path.join(off, "history.csv"))
    check(rows_on == rows_off, "--no-cache changed history.csv")
    check(hits_off == [0] * SMOKE["generations"], f"hits without: {hits_off}")
    # doc/algorithm.md §4: the elites enter the next generation unchanged, and
    # every evaluation uses seed 0: from generation 1 on each elite is a hit.
    check(all(h >= SMOKE["elites"] for h in hits_on[1:]),
          f"hits per generation {hits_on}, elites {SMOKE['elites']}")
    for d, want in ((on, True), (off, False)):
        with open(os.path.join(d, "settings.json"), encoding="utf-8") as f:
            check(json.load(f)["cache"] is want, f"{d}: settings cache")
    n = SMOKE["population"] * SMOKE["generations"]
    total = sum(hits_on)
    line = (f"Evaluation cache: {total} of {n} results were hits "
            f"({100.0 * total / n:.1f}%)")
    check(line in out_on, f"no '{line}' in {out_on}")
    check("Evaluation cache: off" in out_off, f"summary: {out_off}")
    expect_fail(2, ["--no-cache", "conflicts"], "evolve", "--resume", on,
                "--no-cache")
    out, _ = run_ok("evolve", "--preset", "smoke", "--out",
                    os.path.join(tmp, "json"), "--json")
    summary = [e for e in map(json.loads, out.splitlines())
               if e["event"] == "summary"]
    check(len(summary) == 1 and summary[0]["cache_hits"] == total
          and summary[0]["results"] == n
          and abs(summary[0]["hit_rate"] - total / n) < 1e-12
          and summary[0]["evaluation_seconds"] > 0,
          f"summary event {summary}")


def part_mnist(tmp):
    del tmp
    rc, out, err = run("eval", "adam", "--tasks", "mnist", "--steps", "30",
                       "--seeds", "1")
    if rc == 1 and "not found" in err:
        print("SKIP: MNIST not found:", err.strip())
        raise SystemExit(77)
    check(rc == 0, f"eval on mnist: exit {rc}: {err}")
    m = re.search(r"overall\s+fitness ([-0-9.]+)", out)
    # 30 Adam steps on MNIST reach well above chance (0.1).
    check(m is not None and float(m.group(1)) > 0.5, f"mnist: {out}")


# --- ablate and learning curves (issue 12, items 2 and 3) -------------------

# doc/algorithm.md §5's genome, written out by hand.
PAPER_EVOLVED_JSON = {
    "term_types": [4, 4, 3, 3],
    "alphas": [0.41205802174892475, 0.32238621456272765,
               2.0030004279455267, 1.6322011630060542],
    "lr_log10": -2.9198932483267144, "beta1": 0.8553020861538518,
    "beta2": 0.9357561078635277, "eps_log10": -8.26423960220415,
    "wd_log10": -3.0112238437153316, "use_m": True, "use_v": True,
    "use_bias_correction": False, "use_gradient_clipping": False,
    "clip_value": 1.0, "use_warmup": True, "warmup_steps": 100,
    "use_cosine_decay": True}


def with_changes(base, **changes):
    g = dict(base)
    g.update(changes)
    return g


def paper_evolved_variants():
    """The variants `ablate` must make of paper-evolved, by hand: both
    SIGN_GRAD terms gone, both ADAM_TERM terms gone, each of the six flags
    flipped, Adam's betas."""
    b = PAPER_EVOLVED_JSON
    return [
        ("-sign", with_changes(b, term_types=[3, 3],
                               alphas=b["alphas"][2:])),
        ("-adam", with_changes(b, term_types=[4, 4],
                               alphas=b["alphas"][:2])),
        ("use_m off", with_changes(b, use_m=False)),
        ("use_v off", with_changes(b, use_v=False)),
        ("bias_correction on", with_changes(b, use_bias_correction=True)),
        ("gradient_clipping on", with_changes(b, use_gradient_clipping=True)),
        ("warmup off", with_changes(b, use_warmup=False)),
        ("cosine_decay off", with_changes(b, use_cosine_decay=False)),
        ("adam betas", with_changes(b, beta1=0.9, beta2=0.999)),
    ]


def listed(*args):
    out, _ = run_ok("ablate", *args, "--list")
    return [(x["variant"], x["genome"]) for x in map(json.loads,
                                                     out.splitlines())]


def check_variants(tmp):
    got = listed("paper-evolved")
    want = paper_evolved_variants()
    check(len(got) == 9, f"paper-evolved: {len(got)} variants, want 9")
    check([n for n, _ in got] == [n for n, _ in want],
          f"variant names {[n for n, _ in got]}")
    for (n, g), (_, w) in zip(got, want):
        check(g == w, f"variant {n}: {g} != {w}")
    # adam: one term kind (nothing to remove), Adam's betas already; the
    # six flags flipped from use_m, use_v and bias correction on, the rest
    # off.
    got = listed("adam")
    check([n for n, _ in got] == ["use_m off", "use_v off",
                                  "bias_correction off",
                                  "gradient_clipping on", "warmup on",
                                  "cosine_decay on"], f"adam variants {got}")
    # A term with α = 0 is not active: only the ADAM_TERM is removed.
    path = os.path.join(tmp, "zero.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(with_changes(PAPER_EVOLVED_JSON, term_types=[0, 3],
                               alphas=[0.0, 1.0]), f)
    got = listed(path)
    check([n for n, _ in got][:2] == ["-adam", "use_m off"] and
          len(got) == 8, f"zero-alpha variants {[n for n, _ in got]}")
    check(got[0][1]["term_types"] == [0] and got[0][1]["alphas"] == [0.0],
          f"-adam of zero.json {got[0][1]}")


def near(a, b, tol):
    return abs(a - b) <= tol


def check_ablation_csv(path, tasks, seeds):
    header, rows = read_csv(path)
    seed_cols = [f"seed_{s}" for s in range(seeds)]
    task_cols = [c for t in tasks for c in (t, t + "_change")]
    check(header == ["variant", "fitness", "change_mean", "change_min",
                     "change_max", *seed_cols, *task_cols, "diverged_runs"],
          f"ablation CSV header {header}")
    want = ["paper-evolved"] + [n for n, _ in paper_evolved_variants()]
    check([r[0] for r in rows] == want, f"ablation rows {[r[0] for r in rows]}")
    col = {h: i for i, h in enumerate(header)}
    val = [{h: float(r[i]) for h, i in col.items() if h != "variant"}
           for r in rows]
    base = val[0]
    for name, v in zip(want, val):
        # Every number from the CSV's own per-seed columns (printed with 6
        # decimals: a difference of two is within 1e-6 + rounding).
        d = [v[c] - base[c] for c in seed_cols]
        check(near(v["change_mean"], sum(d) / seeds, 3e-6) and
              near(v["change_min"], min(d), 3e-6) and
              near(v["change_max"], max(d), 3e-6),
              f"{name}: change {v['change_mean']} {v['change_min']} "
              f"{v['change_max']}, from the seeds {d}")
        check(near(v["fitness"], sum(v[c] for c in seed_cols) / seeds, 3e-6),
              f"{name}: fitness is not the mean of its seeds")
        for t in tasks:
            check(near(v[t + "_change"], v[t] - base[t], 3e-6),
                  f"{name}: {t}_change")
    return want, val


def check_ablation_table(out, want, val):
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 4 and cells[0].replace(" (genome)", "") in want:
            rows[cells[0].replace(" (genome)", "")] = cells
    check(sorted(rows) == sorted(want), f"table rows {sorted(rows)}")
    for name, v in zip(want, val):
        cells = rows.get(name)
        if cells is None:
            continue
        check(near(float(cells[1]), v["fitness"], 6e-5),
              f"table {name}: fitness {cells[1]}")
        if name == want[0]:
            continue
        lo, hi = cells[3].split("..")
        check(near(float(cells[2]), v["change_mean"], 6e-5) and
              near(float(lo), v["change_min"], 6e-5) and
              near(float(hi), v["change_max"], 6e-5),
              f"table {name}: {cells[1:4]}")


def check_ablation_run(tmp):
    csv_path = os.path.join(tmp, "ablate.csv")
    svg_path = os.path.join(tmp, "ablate.svg")
    out, _ = run_ok("ablate", "paper-evolved", "--tasks", "digits", "--steps",
                    "20", "--seeds", "2", "--workers", "2", "--csv", csv_path,
                    "--svg", svg_path, "-q")
    want, val = check_ablation_csv(csv_path, ["digits"], 2)
    check_ablation_table(out, want, val)
    root = check_svg(svg_path, want[1:])
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect")
            if r.get("fill", "").startswith("#") and
            r.get("fill") != "#ffffff" and float(r.get("height", 0)) > 0
            and r.get("width") != "22"]
    check(len(bars) >= 1, f"no bars in {svg_path}")
    # `evoopt plot` draws the CSV as ablate drew it (the same labels; the
    # CSV's 6 decimals may move a bar by a rounding).
    replot = os.path.join(tmp, "replot.svg")
    run_ok("plot", csv_path, "-o", replot)
    labels = [[t.text for t in ET.parse(p).getroot().iter(
        "{http://www.w3.org/2000/svg}text")] for p in (svg_path, replot)]
    check(labels[0] == labels[1], f"plot of the ablation CSV: {labels}")
    # A change no fitness can make (1e308 overflowed the axis into NaN
    # coordinates, inf too) is refused, naming the line and column.
    for value in ("1e308", "inf", "-2.1"):
        bad = os.path.join(tmp, "bad-ablation.csv")
        with open(bad, "w") as f:
            f.write("variant,fitness,change_mean,change_min,change_max\n"
                    "g,0.5,0,0,0\nv,0.6,0.1,%s,0.2\n" % value)
        bad_svg = os.path.join(tmp, "bad-ablation.svg")
        expect_fail(1, ["line 3 (v)", "change_min '%s'" % value,
                        "-2.05..2.05"], "plot", bad, "-o", bad_svg)
        check(not os.path.exists(bad_svg), "SVG written for a bad table")
        os.remove(bad)
    # A variant with diverged runs (-1 each) is drawn off scale, so that
    # its bar does not flatten the others.
    off = sum(v["diverged_runs"] > 0 for v in val)
    check(labels[0].count("off scale") == off,
          f"{off} variants diverged, {labels[0].count('off scale')} off scale")
    # The genome's row is `eval`'s number for it (the same grid and seeds).
    out, _ = run_ok("eval", "paper-evolved", "--steps", "20", "--seeds", "2",
                    "--json")
    check(near(json.loads(out)["fitness"], val[0]["fitness"], 1e-6),
          f"ablate's genome row {val[0]['fitness']} != eval {out}")
    # Files are never replaced; the refusal comes before any training.
    with open(csv_path, "rb") as f:
        before = f.read()
    other_svg = os.path.join(tmp, "other.svg")
    expect_fail(1, ["exists", csv_path], "ablate", "paper-evolved", "--csv",
                csv_path, "--svg", other_svg)
    with open(csv_path, "rb") as f:
        check(f.read() == before, "ablate replaced an existing CSV")
    check(not os.path.exists(other_svg), "--svg written after a refusal")
    expect_fail(1, ["exists"], "ablate", "adam", "--svg", svg_path)
    rc, _, err = run("ablate", "--steps", "5")
    check(rc == 2 and "no GENOME" in err, f"ablate without GENOME: {err}")
    rc, _, err = run("ablate", "adam", "sgd")
    check(rc == 2 and "one GENOME" in err, f"ablate two genomes: {err}")
    rc, _, err = run("ablate", "adam", "--csv", "x", "--svg", "x")
    check(rc == 2 and "same file" in err, f"--csv = --svg: {err}")


def check_curves(tmp):
    c1 = os.path.join(tmp, "curve.csv")
    s1 = os.path.join(tmp, "curve.svg")
    out, _ = run_ok("eval", "adam", "--steps", "30", "--seeds", "2",
                    "--curve-every", "7", "--curve-csv", c1, "--curve-svg", s1,
                    "--json", "-q")
    plain, _ = run_ok("eval", "adam", "--steps", "30", "--seeds", "2",
                      "--json", "-q")
    # Scoring on the way changes nothing of the runs.
    check(json.loads(out) == json.loads(plain),
          f"--curve-every changed eval: {out} vs {plain}")
    header, rows = read_csv(c1)
    check(header == ["genome", "task", "step", "seed_0", "seed_1", "mean"],
          f"curve header {header}")
    check([r[2] for r in rows] == ["7", "14", "21", "28"],  # floor(30 / 7)
          f"curve steps {[r[2] for r in rows]}")
    for r in rows:
        a, b, m = float(r[3]), float(r[4]), float(r[5])
        check(r[:2] == ["adam", "digits"] and near(m, (a + b) / 2, 2e-6) and
              0 <= a <= 1 and 0 <= b <= 1, f"curve row {r}")
        # each a whole number of digits' 360 test images
        check(near(a * 360, round(a * 360), 1e-3), f"curve accuracy {a}")
    check_svg(s1, ["training step", "test accuracy", "adam"])
    # K = steps: the one point is the run's final accuracy.
    c2 = os.path.join(tmp, "curve2.csv")
    out, _ = run_ok("eval", "adam", "sgd", "--steps", "30", "--seeds", "2",
                    "--curve-every", "30", "--curve-csv", c2, "--json", "-q")
    acc = {x["genome"]: x["tasks"]["digits"]["accuracy"]
           for x in map(json.loads, out.splitlines())}
    _, rows = read_csv(c2)
    check([r[0] for r in rows] == ["adam", "sgd"] and
          all(r[2] == "30" and near(float(r[5]), acc[r[0]], 1e-6)
              for r in rows), f"last points {rows} vs accuracies {acc}")
    # compare: a curve per genome, baselines included.
    c3 = os.path.join(tmp, "curve3.csv")
    run_ok("compare", "paper-evolved", "--steps", "20", "--seeds", "1",
           "--curve-every", "10", "--curve-csv", c3, "-q")
    _, rows = read_csv(c3)
    check(sorted({r[0] for r in rows}) ==
          sorted({"paper-evolved", *BASELINES}) and len(rows) == 10,
          f"compare curve rows {[r[:3] for r in rows]}")
    # Refusals: options that need each other, no point, existing files.
    for args, words in (
            (["--curve-every", "10"], ["--curve-csv"]),
            (["--curve-csv", os.path.join(tmp, "n.csv")], ["--curve-every"]),
            (["--steps", "5", "--curve-every", "10", "--curve-csv",
              os.path.join(tmp, "n.csv")], ["no point"]),
            (["--curve-every", "0", "--curve-csv", "n.csv"], ["curve-every"])):
        rc, _, err = run("eval", "adam", *args)
        check(rc == 2 and all(w in err for w in words),
              f"eval {args}: exit {rc}, {err!r}")
    with open(c1, "rb") as f:
        before = f.read()
    expect_fail(1, ["exists"], "eval", "adam", "--steps", "10",
                "--curve-every", "5", "--curve-csv", c1)
    with open(c1, "rb") as f:
        check(f.read() == before, "eval replaced an existing curve CSV")
    check(not os.path.exists(os.path.join(tmp, "n.csv")),
          "a refused run wrote a file")
    # A file that cannot be made is refused before training, by the
    # user's name (not the temporary one) and the reason.
    missing = os.path.join(tmp, "no-such-folder", "c.csv")
    for path, words in ((missing, ["--curve-csv", missing, "folder",
                                   "No such file"]),
                        (os.path.join(c1, "c.csv"), ["Not a directory"]),
                        ("", ["empty file name"])):
        rc, out, err = run("eval", "adam", "--steps", "10", "--curve-every",
                           "5", "--curve-csv", path)
        check(rc == 1 and all(w in err for w in words) and
              ".tmp." not in err and "fitness" not in out,
              f"--curve-csv {path!r}: exit {rc}, {out!r}, {err!r}")


def check_ablate_words(tmp):
    """--list with --csv/--svg is a usage error naming both (--list trains
    nothing, so the file would silently not be made); the table's header
    says "seed 0 ... the 1 seed" for one seed, "seeds 0..1 ... the 2
    seeds" for two."""
    for opt in ("--csv", "--svg"):
        path = os.path.join(tmp, "list-" + opt[2:])
        expect_fail(2, ["--list", opt], "ablate", "paper-evolved", "--list",
                    opt, path)
        check(not os.path.exists(path), f"--list {opt} made {path}")
    for seeds, words, wrong in (
            (1, ["20 steps, seed 0.", "over the 1 seed;",
                 "its mean over the seed ("], ["seeds"]),
            (2, ["20 steps, seeds 0..1.", "over the 2 seeds;",
                 "its mean over the seeds ("], ["1 seed", "seed 0."])):
        out, _ = run_ok("ablate", "adam", "--steps", "20", "--seeds",
                        str(seeds), "-q")
        first = out.splitlines()[0]
        for w in words:
            check(w in first, f"--seeds {seeds}: '{w}' not in {first!r}")
        for w in wrong:
            check(w not in first, f"--seeds {seeds}: '{w}' in {first!r}")


def check_readme(tmp):
    """README's `evoopt` section documents ablate and the learning curves,
    and its example commands run: the ablate one as given (but --steps 100
    --seeds 1, the files in TMP), the curve one likewise, checked by the
    files they make."""
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          os.pardir, "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## The `evoopt` program\n(.*?)^## ", text, re.S | re.M)
    check(m is not None, "README has no `evoopt` program section")
    section = m.group(1) if m else ""
    for w in ("evoopt ablate", "--list", "--curve-every K", "--curve-csv",
              "--curve-svg"):
        check(w in section, f"README's evoopt section does not name {w}")
    examples = [line.split()[1:] for line in section.splitlines()
                if line.startswith("build/tools/evoopt ") and
                ("ablate" in line or "--curve-every" in line)]
    check(len(examples) >= 2, f"README examples {examples}")
    short = {"--steps": "100", "--seeds": "1"}
    for args in examples:
        if "#" in args:
            args = args[:args.index("#")]
        args = [os.path.join(tmp, a) if a.endswith((".csv", ".svg")) else a
                for a in args]
        args = [short.get(p, a) if p in short else a
                for p, a in zip([""] + args, args)]
        out, _ = run_ok(*args)
        made = [a for a in args if a.startswith(tmp)]
        for path in made:
            check(os.path.getsize(path) > 0, f"README {args}: no {path}")
        if "--list" in args:
            check(len(out.splitlines()) == len(paper_evolved_variants()),
                  f"README {args}: {out[:80]}")


def part_ablate(tmp):
    check_readme(tmp)
    check_ablate_words(tmp)
    check_variants(tmp)
    check_ablation_run(tmp)
    check_curves(tmp)
    out, _ = run_ok("help", "ablate")
    check("usage: evoopt ablate" in out and "min..max" in out, out[:80])
    out, _ = run_ok("help")
    check(re.search(r"^  ablate ", out, re.M) is not None,
          "ablate not in the overview")
    check(re.search(r"^  plot .*ablation", out, re.M) is not None,
          "the overview's plot line does not say it draws ablation tables")


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def refused(words, path, *args):
    """evoopt ARGS exits 1 naming WORDS, before any training (nothing on
    stdout), and leaves PATH's bytes as they were."""
    before = read_bytes(path)
    rc, out, err = run(*args)
    check(rc == 1, f"evoopt {' '.join(args)}: exit {rc}, want 1 ({err!r})")
    for w in [*words, "exists", "never replaces"]:
        check(w in err, f"{args}: '{w}' not in {err!r}")
    check(out == "", f"{args}: trained or wrote before refusing: {out!r}")
    check(read_bytes(path) == before, f"{args}: replaced {path}")


def part_noreplace(tmp):
    """A user's files are never replaced (doc/evoopt.1: "evoopt never
    replaces a file"): compare's --csv, --md, --out and plot's output."""
    quick = ["adam", "--no-baselines", "--steps", "20", "--seeds", "1"]
    mine = os.path.join(tmp, "t.csv")
    write_text(mine, "mine\n")
    refused(["--csv", mine], mine, "compare", *quick, "--csv", mine)
    md = os.path.join(tmp, "t.md")
    write_text(md, "mine\n")
    refused(["--md", md], md, "compare", *quick, "--md", md)
    refused(["--csv", mine], mine, "compare", *quick, "--md",
            os.path.join(tmp, "new.md"), "--csv", mine)
    check(not os.path.exists(os.path.join(tmp, "new.md")),
          "--md written although --csv was refused")
    out_dir = os.path.join(tmp, "out")
    os.mkdir(out_dir)
    kept = os.path.join(out_dir, "compare.svg")
    write_text(kept, "mine\n")
    refused(["--out", kept], kept, "compare", *quick, "-o", out_dir)
    check(sorted(os.listdir(out_dir)) == ["compare.svg"],
          f"--out wrote {os.listdir(out_dir)} before refusing")
    expect_fail(2, ["--csv", "--md", "same file"], "compare", *quick,
                "--csv", os.path.join(tmp, "x"), "--md",
                os.path.join(tmp, "x"))

    # A new file is written; plot's default output and -o then exist.
    table = os.path.join(tmp, "c.csv")
    run_ok("compare", *quick, "--csv", table, "-q")
    header, rows = read_csv(table)
    check(header == ["optimizer", "digits", "overall"] and
          [r[0] for r in rows] == ["adam"], f"compare --csv {header} {rows}")
    out, _ = run_ok("plot", table)
    svg = os.path.join(tmp, "c.svg")
    check(out.strip() == svg, f"plot prints {out!r}")
    refused(["-o", svg], svg, "plot", table)
    keep = os.path.join(tmp, "keep.svg")
    write_text(keep, "mine\n")
    refused(["-o", keep], keep, "plot", table, "-o", keep)

    # An ablation table (the layout ablate --csv writes, by hand).
    abl = os.path.join(tmp, "abl.csv")
    write_text(abl, "variant,fitness,change_mean,change_min,change_max,"
               "seed_0,digits,digits_change,diverged_runs\n"
               "adam,0.5,0,0,0,0.5,0.5,0,0\n"
               "-adam,0.25,-0.25,-0.25,-0.25,0.25,0.25,-0.25,0\n")
    abl_svg = os.path.join(tmp, "abl.svg")
    write_text(abl_svg, "mine\n")
    refused(["-o", abl_svg], abl_svg, "plot", abl)
    os.remove(abl_svg)
    run_ok("plot", abl)
    check_svg(abl_svg, ["-adam"])

    # A run folder's own plot.svg is the run's, rewritten every generation:
    # `plot RUNDIR` draws it again (a history.csv by hand, one task).
    rundir = os.path.join(tmp, "run")
    os.mkdir(rundir)
    write_text(os.path.join(rundir, "history.csv"),
               "generation,best,mean,median,worst,failed,cache_hits,"
               "best_digits,best_genome\n"
               "0,0.5,0.25,0.25,0,0,0,0.5,x\n1,0.75,0.5,0.5,0.25,0,0,0.75,y\n")
    own = os.path.join(rundir, "plot.svg")
    write_text(own, "old\n")
    out, _ = run_ok("plot", rundir)
    check(out.strip() == own, f"plot RUNDIR prints {out!r}")
    check_svg(own, ["best", "mean"])


PARTS = {"basic": part_basic, "errors": part_errors, "folders": part_folders,
         "settings": part_settings, "resume": part_resume,
         "workers": part_workers, "cache": part_cache, "mnist": part_mnist,
         "ablate": part_ablate, "noreplace": part_noreplace}


def main():
    global EVOOPT
    if len(sys.argv) != 3 or sys.argv[2] not in PARTS:
        print(__doc__)
        return 2
    EVOOPT = os.path.abspath(sys.argv[1])
    return run_part(sys.argv[2], PARTS[sys.argv[2]], "evoopt-cli-")


if __name__ == "__main__":
    sys.exit(main())
