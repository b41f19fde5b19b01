#!/usr/bin/python3
"""Model-level parity of shakespeare_char's GPT with PyTorch (issue 12).

Usage: gpt_parity.py PATH/TO/gpt_parity_dump

The C program gpt_parity_dump builds the task's GPT (libevoopt/nn/gpt.c,
doc/algorithm.md §7: vocabulary 65, context 64, width 128, 4 heads, 4
pre-LayerNorm blocks, ln_f, an untied head) with PyTorch's default
initialisation, runs 3 training steps of plain SGD (p <- p - 0.1 g) on one
batch of 4 sequences, then an evaluation-mode forward pass on a second
batch, and writes the initial weights, the batches, every step's loss,
arg-max count and gradients, and the evaluation's logits, loss and count.
This script builds the same model as a torch.nn.Module written from
nanoGPT's definitions (nn.Embedding, nn.LayerNorm eps 1e-5, nn.Linear,
nn.GELU() exact, attention with the 1/sqrt(head dim) scale and the causal
mask as -inf before the softmax, F.cross_entropy), loads the weights, and
replays the same steps:
  training mode (model.train()): each step's loss, count and every
    parameter's gradient, then the same SGD update in float32;
  evaluation mode (model.eval(), no_grad): the second batch's logits, loss
    and count.
(No dropout, no running statistics: both modes compute the same function;
both are checked, as the issue asks.) The dump runs on 1 and on 3 threads:
the two files must be identical bytes.

Comparison, per tensor a (ours) against b (PyTorch), both of:
    |a - b|_2   <= TOL * |b|_2   + ATOL * |G|_2      (norm-relative)
    max|a - b|  <= TOL * max|b|  + ATOL * max|G|     (element-wise)
with TOL = 1e-4; ATOL is 0 except for gradients, where G is the step's
whole gradient and ATOL = 1e-6 (rounding noise of long sums that cancel,
as in nn_parity.py and transformer_parity.py). Counts must be equal. Exit
0 when everything matches, 1 otherwise, 77 (skip) without torch.
"""
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reflib  # noqa: E402

TOL = 1e-4
ATOL = 1e-6
B, T, V, D, NH, L = 4, 64, 65, 128, 4, 4
STEPS, LR = 3, 0.1

try:
    import numpy as np  # noqa: F401 (reflib needs it)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # skip, as meson expects
    print(f"SKIP: PyTorch/numpy not importable ({e})")
    sys.exit(77)


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(D, 3 * D)
        self.c_proj = nn.Linear(D, D)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        hd = d // NH
        q = q.view(b, t, NH, hd).transpose(1, 2)
        k = k.view(b, t, NH, hd).transpose(1, 2)
        v = v.view(b, t, NH, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(D, 4 * D)
        self.gelu = nn.GELU()  # exact erf form, the engine's choice
        self.c_proj = nn.Linear(4 * D, D)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D)
        self.attn = CausalSelfAttention()
        self.ln2 = nn.LayerNorm(D)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, D)
        self.wpe = nn.Embedding(T, D)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, V)

    def forward(self, tok):
        x = self.wte(tok) + self.wpe(torch.arange(tok.shape[1]))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def correct_of(logits, tgt):
    # torch.argmax returns the first maximal index, as the engine does.
    return int((logits.argmax(dim=-1) == tgt).sum())


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, f"g{n}.bin") for n in (1, 3)]
        for path, threads in zip(paths, (1, 3)):
            subprocess.run([sys.argv[1], path, "3", str(threads)], check=True)
        rec, raw1 = reflib.read_dump(paths[0])
        _, raw3 = reflib.read_dump(paths[1])
    check = reflib.Checker(TOL)
    if raw1 != raw3:
        print("FAIL: the dump on 3 threads differs from the dump on 1")
        check.failures += 1

    model = GPT()
    named = dict(model.named_parameters())
    if sorted(named) != sorted(k[2:] for k in rec if k.startswith("p:")):
        print("FAIL: tensor names differ: %s"
              % sorted(set(named) ^ {k[2:] for k in rec
                                     if k.startswith("p:")}))
        return 1
    with torch.no_grad():
        for name, p in named.items():
            p.copy_(torch.from_numpy(rec["p:" + name]).view_as(p))
    print(f"{sum(p.numel() for p in model.parameters())} parameters")

    def tokens(key):
        return torch.from_numpy(rec[key]).long().view(B, T)

    model.train()
    tok, tgt = tokens("tok"), tokens("tgt")
    for s in range(STEPS):
        model.zero_grad(set_to_none=True)
        logits = model(tok)
        loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
        loss.backward()
        check(f"step {s} loss", rec[f"loss{s}"], [loss.item()])
        check.exact(f"step {s} correct", rec[f"correct{s}"][0],
                    correct_of(logits, tgt))
        atols = check.grad_atols([p.grad.numpy()
                                  for p in model.parameters()], ATOL)
        for name, p in named.items():
            check(f"step {s} grad {name}", rec[f"g{s}:{name}"],
                  p.grad.numpy(), *atols)
        with torch.no_grad():
            for p in model.parameters():
                p -= LR * p.grad

    model.eval()
    tgt = tokens("eval_tgt")
    with torch.no_grad():
        logits = model(tokens("eval_tok"))
        loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
    check("eval logits", rec["eval_logits"], logits.numpy())
    check("eval loss", rec["eval_loss"], [loss.item()])
    check.exact("eval correct", rec["eval_correct"][0],
                correct_of(logits, tgt))
    print(f"gpt ({STEPS} SGD steps + eval): {check.failures} failures; "
          f"worst error {check.worst:.2e} of the bound (TOL {TOL:g}, "
          f"gradient ATOL {ATOL:g}); losses "
          + ", ".join(f"{rec[f'loss{s}'][0]:.4f}" for s in range(STEPS))
          + f"; 1 and 3 threads {'identical' if raw1 == raw3 else 'DIFFERENT'}")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
