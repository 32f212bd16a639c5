#!/usr/bin/env python3
"""Writes the pickles of interop/pickle/testdata and interop/torch/testdata/plain
(the reader's tests): plain Python values at protocols 2 and 4, and an object
graph shaped like NVIDIA's network pickles (pickle.dump, protocol 4: class
instances with __dict__ state, a dict subclass, and tensors whose storages are
torch.storage._load_from_bytes of a legacy torch.save stream).

  /usr/bin/python3 scripts/interop/pickle_fixtures.py
"""
import collections
import os
import pickle

import torch

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))


class EasyDict(dict):
    pass


class Network:
    def __init__(self):
        self.init_kwargs = EasyDict(z_dim=4, w_dim=8)
        self.w_avg = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 10
        self.weight = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # strided view
        self.half = torch.tensor([1.5, -2.25], dtype=torch.float16)


values = {
    "int": 7, "neg": -300, "big": 2**70, "float": 0.25, "str": "héllo", "bytes": b"\x00\x01",
    "list": [1, 2, [3]], "tuple": (1, "a"), "none": None, "true": True, "set": {3},
    "od": collections.OrderedDict([("b", 1), ("a", 2)]),
}
d = os.path.join(root, "interop", "pickle", "testdata")
os.makedirs(d, exist_ok=True)
for proto in (2, 4, 5):
    with open(os.path.join(d, f"values_p{proto}.pkl"), "wb") as f:
        pickle.dump(values, f, protocol=proto)

d = os.path.join(root, "interop", "torch", "testdata", "plain")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "network_p4.pkl"), "wb") as f:
    pickle.dump({"G_ema": Network(), "training_set_kwargs": None}, f, protocol=4)
print("wrote the pickle fixtures")
