#!/usr/bin/python3
"""Parity of the transformer layers of libevoopt/nn with PyTorch (issue 12).

Usage: transformer_parity.py PATH/TO/transformer_parity_dump

The C program transformer_parity_dump runs one GPT-style block built from
the engine's layers (token + position embedding, LayerNorm, causal
multi-head self-attention between a qkv linear of width 3d and an output
projection, residual adds, an MLP with exact GELU, a final LayerNorm, a
linear head, sequence cross-entropy) and writes its weights, tokens,
activations, loss, arg-max count and gradients. This script builds the same
block as a torch.nn.Module written from nanoGPT's definitions
(nn.LayerNorm eps 1e-5, nn.GELU() exact, attention with the 1/sqrt(head
dim) scale and the causal mask as -inf before the softmax), loads the
weights and compares:
  training mode (model.train()): every activation, the loss, the count of
    correct arg-max predictions, every parameter gradient;
  evaluation mode (model.eval(), no_grad): logits, loss and count of a
    second batch.
(The block has no dropout and no running statistics, so both modes compute
the same function; both are checked, as the issue asks.)
The dump runs on 1 and on 3 threads: the two files must be identical bytes.

Comparison, per tensor a (ours) against b (PyTorch), both of:
    |a - b|_2   <= TOL * |b|_2   + ATOL * |G|_2      (norm-relative)
    max|a - b|  <= TOL * max|b|  + ATOL * max|G|     (element-wise)
with TOL = 1e-4; ATOL is 0 except for gradients, where G is the whole
gradient and ATOL = 1e-6 (rounding noise of sums of many terms that cancel,
as in nn_parity.py). Counts must be equal. Exit 0 when everything matches,
1 otherwise, 77 (skip) when torch cannot be imported.
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
B, T, V, D, NH = 3, 16, 65, 32, 4

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

    def forward(self, x, acts):
        b, t, d = x.shape
        qkv = self.c_attn(x)
        acts["qkv"] = qkv
        q, k, v = qkv.split(d, dim=2)
        hd = d // NH
        q = q.view(b, t, NH, hd).transpose(1, 2)
        k = k.view(b, t, NH, hd).transpose(1, 2)
        v = v.view(b, t, NH, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        acts["att"] = y
        y = self.c_proj(y)
        acts["proj"] = y
        return y


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(D, 4 * D)
        self.gelu = nn.GELU()  # exact erf form, the engine's choice
        self.c_proj = nn.Linear(4 * D, D)

    def forward(self, x, acts):
        x = self.c_fc(x)
        acts["fc"] = x
        x = self.gelu(x)
        acts["gelu"] = x
        x = self.c_proj(x)
        acts["mlp"] = x
        return x


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, D)
        self.wpe = nn.Embedding(T, D)
        self.ln1 = nn.LayerNorm(D)
        self.attn = CausalSelfAttention()
        self.ln2 = nn.LayerNorm(D)
        self.mlp = MLP()
        self.ln_f = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, V)

    def forward(self, tok):
        acts = {}
        x = self.wte(tok) + self.wpe(torch.arange(tok.shape[1]))
        acts["x0"] = x
        h = self.ln1(x)
        acts["ln1"] = h
        x = x + self.attn(h, acts)
        acts["x1"] = x
        h = self.ln2(x)
        acts["ln2"] = h
        x = x + self.mlp(h, acts)
        acts["x2"] = x
        h = self.ln_f(x)
        acts["lnf"] = h
        logits = self.lm_head(h)
        acts["logits"] = logits
        return logits, acts


def correct_of(logits, tgt):
    # torch.argmax returns the first maximal index, as the engine does.
    return int((logits.argmax(dim=-1) == tgt).sum())


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, f"t{n}.bin") for n in (1, 3)]
        for path, threads in zip(paths, (1, 3)):
            subprocess.run([sys.argv[1], path, "5", str(threads)], check=True)
        rec, raw1 = reflib.read_dump(paths[0])
        _, raw3 = reflib.read_dump(paths[1])
    check = reflib.Checker(TOL)
    if raw1 != raw3:
        print("FAIL: the dump on 3 threads differs from the dump on 1")
        check.failures += 1

    model = Block()
    named = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in named.items():
            p.copy_(torch.from_numpy(rec["p:" + name]).view_as(p))

    def tokens(key):
        return torch.from_numpy(rec[key]).long().view(B, T)

    model.train()
    tgt = tokens("tgt")
    logits, acts = model(tokens("tok"))
    loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
    loss.backward()
    for name, a in acts.items():
        check(f"train {name}", rec["a:" + name], a.detach().numpy())
    check("train loss", rec["loss"], [loss.item()])
    check.exact("train correct", rec["correct"][0], correct_of(logits, tgt))
    atols = check.grad_atols([p.grad.numpy() for p in model.parameters()],
                             ATOL)
    for name, p in named.items():
        check(f"grad {name}", rec["g:" + name], p.grad.numpy(), *atols)

    model.eval()
    tgt = tokens("tgt2")
    with torch.no_grad():
        logits, _ = model(tokens("tok2"))
        loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
    check("eval logits", rec["logits2"], logits.numpy())
    check("eval loss", rec["loss2"], [loss.item()])
    check.exact("eval correct", rec["correct2"][0], correct_of(logits, tgt))
    print(f"transformer block: {check.failures} failures; worst error "
          f"{check.worst:.2e} of the bound (TOL {TOL:g}, gradient ATOL "
          f"{ATOL:g}); 1 and 3 threads "
          f"{'identical' if raw1 == raw3 else 'DIFFERENT'}")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
