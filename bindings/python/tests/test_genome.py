"""Genome properties, JSON, description, terms, equality and errors."""

import copy
import gzip
import json
import math
import pickle

import pytest

import evoopt
from evoopt import Genome

# doc/algorithm.md §5, copied from the specification.
PAPER_EVOLVED = {
    "term_types": [4, 4, 3, 3],
    "alphas": [0.41205802174892475, 0.32238621456272765,
               2.0030004279455267, 1.6322011630060542],
    "lr_log10": -2.9198932483267144, "beta1": 0.8553020861538518,
    "beta2": 0.9357561078635277, "eps_log10": -8.26423960220415,
    "wd_log10": -3.0112238437153316, "use_m": True, "use_v": True,
    "use_bias_correction": False, "use_gradient_clipping": False,
    "clip_value": 1.0, "use_warmup": True, "warmup_steps": 100,
    "use_cosine_decay": True}
KEYS = list(PAPER_EVOLVED)  # doc/algorithm.md §1's order


def test_presets_are_listed():
    assert set(evoopt.presets()) >= {
        "sgd", "adam", "adamw", "rmsprop", "paper-evolved", "plain-sgd",
        "sgd-nesterov", "sign-descent", "adam-nowd"}
    assert evoopt.term_names() == ["grad", "momentum", "rms", "adam", "sign",
                                   "unit", "nesterov"]


def test_defaults(no_leaks):
    # doc/algorithm.md §1 defaults.
    with Genome() as g:
        assert g.terms == [("grad", 1.0)]
        assert (g.lr_log10, g.beta1, g.beta2, g.eps_log10, g.wd_log10) == \
            (-3.0, 0.9, 0.999, -8.0, -4.0)
        assert (g.use_m, g.use_v, g.use_bias_correction) == (True,) * 3
        assert not (g.use_gradient_clipping or g.use_warmup or
                    g.use_cosine_decay)
        assert g.clip_value == 1.0 and g.warmup_steps == 100
        assert isinstance(g.warmup_steps, int)


def test_paper_evolved_genes(no_leaks):
    with Genome.preset("paper-evolved") as g:
        assert g.terms == [("sign", PAPER_EVOLVED["alphas"][0]),
                           ("sign", PAPER_EVOLVED["alphas"][1]),
                           ("adam", PAPER_EVOLVED["alphas"][2]),
                           ("adam", PAPER_EVOLVED["alphas"][3])]
        for key in ("lr_log10", "beta1", "beta2", "eps_log10", "wd_log10",
                    "clip_value", "warmup_steps", "use_m", "use_v",
                    "use_bias_correction", "use_gradient_clipping",
                    "use_warmup", "use_cosine_decay"):
            assert getattr(g, key) == PAPER_EVOLVED[key], key
        assert g.lr == pytest.approx(10 ** -2.9198932483267144)
        # genome.h documents this exact description for paper-evolved.
        assert str(g) == ("0.734·sign + 3.635·adam | lr 1.20e-3 "
                          "β 0.855/0.936 wd 9.7e-4 | no bias-corr | "
                          "warmup 100 | cosine")
        assert repr(g).startswith("<Genome 0.734·sign")


def test_paper_json_loads_unchanged(no_leaks):
    with Genome.from_json(json.dumps(PAPER_EVOLVED)) as g, \
            Genome.preset("paper-evolved") as p:
        assert g == p
        assert g.to_dict() == PAPER_EVOLVED


def test_json_round_trip_keeps_bits(no_leaks, tmp_path):
    with Genome.random(7) as g:
        g.wd_log10 = None
        text = g.to_json()
        assert "\n" not in text
        assert list(json.loads(text)) == KEYS
        assert json.loads(text)["wd_log10"] is None
        with Genome.from_json(text) as back:
            assert back == g and back.to_json() == text
        g.save(tmp_path / "g.json")
        with Genome.load(tmp_path / "g.json") as back:
            assert back == g
        with gzip.open(tmp_path / "g.json.gz", "wt") as f:
            f.write(text)
        with Genome.load(str(tmp_path / "g.json.gz")) as back:
            assert back == g


def test_gene_setters_check_ranges(no_leaks):
    with Genome() as g:
        g.lr_log10 = -2.5
        g.beta1 = 0.5
        g.warmup_steps = 7
        g.use_cosine_decay = True
        assert (g.lr_log10, g.beta1, g.warmup_steps) == (-2.5, 0.5, 7)
        assert g.use_cosine_decay is True
        # genome.h's table: beta1 in [0, 1), clip in (0, 1e6].
        for name, value in (("beta1", 1.0), ("clip_value", 0.0),
                            ("lr_log10", 3.0), ("eps_log10", math.nan)):
            before = getattr(g, name)
            with pytest.raises(evoopt.OutOfRangeError) as info:
                setattr(g, name, value)
            assert name in info.value.message
            assert getattr(g, name) == before  # unchanged


def test_zero_weight_decay(no_leaks):
    with Genome.preset("adam-nowd") as g:
        assert g.wd_log10 is None and g.weight_decay == 0.0
        assert "no wd" in str(g)
        g.weight_decay = 1e-3
        assert g.wd_log10 == pytest.approx(-3.0)
        g.weight_decay = 0
        assert g.wd_log10 is None


def test_terms_add_remove_set(no_leaks):
    with Genome() as g:
        g.add_term("adam", 0.5)
        g.add_term(evoopt.Term.SIGN, -0.25)
        g.add_term(6, 2.0)
        assert g.terms == [("grad", 1.0), ("adam", 0.5), ("sign", -0.25),
                           ("nesterov", 2.0)]
        with pytest.raises(evoopt.OutOfRangeError):
            g.add_term("grad", 1.0)  # at most 4 terms
        g.remove_term(0)
        g.set_term(0, "RMS", 1.5)
        assert g.terms == [("rms", 1.5), ("sign", -0.25), ("nesterov", 2.0)]
        assert len(g) == 3
        g.terms = [("momentum", 1.0)]
        assert g.terms == [("momentum", 1.0)]
        with pytest.raises(evoopt.OutOfRangeError):
            g.remove_term(0)  # a genome keeps one term
        with pytest.raises(evoopt.OutOfRangeError):
            g.terms = [("grad", 1.0), ("adam", 9.0)]  # alpha in [-5, 5]
        assert g.terms == [("momentum", 1.0)]  # unchanged by the failure
        with pytest.raises(ValueError):
            g.add_term("no-such-term", 1.0)


def test_equality_and_copies(no_leaks):
    with Genome.preset("adam") as a:
        b = a.copy()
        assert a == b and a is not b
        b.beta1 = 0.8
        assert a != b
        assert a != "adam"
        c = copy.deepcopy(a)
        d = pickle.loads(pickle.dumps(a))
        assert c == a and d == a
        del b, c, d


def test_random_and_breed_are_deterministic(no_leaks):
    with Genome.random(3) as a, Genome.random(3) as b, Genome.random(4) as c:
        assert a == b and a != c
        with Genome.breed(a, c, 0, 10, 99) as x, \
                Genome.breed(a, c, 0, 10, 99) as y:
            assert x == y


@pytest.mark.parametrize("change, key, error", [
    (lambda d: d.pop("alphas"), "alphas", evoopt.ParseError),
    (lambda d: d.update(extra=1), "extra", evoopt.ParseError),
    (lambda d: d.update(use_m=1), "use_m", evoopt.ParseError),
    (lambda d: d.update(warmup_steps=100.0), "warmup_steps",
     evoopt.ParseError),
    (lambda d: d["alphas"].__setitem__(2, 7.0), "alphas[2]",
     evoopt.OutOfRangeError),
    (lambda d: d.update(beta2=1.5), "beta2", evoopt.OutOfRangeError),
])
def test_bad_json_names_the_key(change, key, error):
    data = copy.deepcopy(PAPER_EVOLVED)
    change(data)
    with pytest.raises(error) as info:
        Genome.from_json(json.dumps(data))
    assert key in info.value.message


def test_malformed_json():
    with pytest.raises(evoopt.ParseError) as info:
        Genome.from_json('{"term_types": [0],')
    assert info.value.status == -4


def test_closed_genome_refuses_use():
    g = Genome()
    g.close()
    g.close()  # twice is fine
    assert g.closed
    with pytest.raises(ValueError, match="closed"):
        g.lr_log10
    assert repr(g) == "<Genome (closed)>"


def test_coerce():
    assert Genome.coerce("adamw") == Genome.preset("adamw")
    assert Genome.coerce(PAPER_EVOLVED) == Genome.preset("paper-evolved")
    with pytest.raises(TypeError):
        Genome.coerce(3)
