"""Writes the large, realistic inputs that `benches/compare.sh` times, with the real libraries.

Every input is deterministic (fixed seeds), made by numpy / torch / scikit-learn / joblib / onnx /
h5py exactly
as a user would save a model, and nothing here is ever loaded back. Files that already exist with
the expected name are kept, so a second run of the comparison does not regenerate 8 GB.

Usage: python gen_inputs.py OUT_DIR [--small] [--only NAME,NAME...]
  --small  a quick smoke run (every input about 1/100 of its size)
  --only   only the inputs with these names (as in the comparison table)
"""

import os
import pickle
import sys

import numpy as np

MB = 1 << 20


def done(path):
    return os.path.exists(path) and os.path.getsize(path) > 0


def log(msg):
    print(msg, flush=True)


def numpy_pickles(out, scale):
    """Raw pickles of one float64 array: 200 MB and 2 GB of data, protocols 2 and 4."""
    for label, nbytes in (("200mb", 200 * MB), ("2gb", 2048 * MB)):
        n = max(1, int(nbytes * scale) // 8)
        arr = None
        for proto in (2, 4):
            path = os.path.join(out, f"numpy_{label}_p{proto}.pkl")
            if done(path):
                continue
            if arr is None:
                arr = np.random.default_rng(1).standard_normal(n)
            log(f"writing {path}")
            with open(path + ".part", "wb") as f:
                pickle.dump(arr, f, protocol=proto)
            os.replace(path + ".part", path)
        del arr


def transformer_state_dict(torch, total_bytes, seed):
    """A state dict shaped like a decoder-only transformer, float32, about `total_bytes`."""
    g = torch.Generator().manual_seed(seed)
    hidden = 1024 if total_bytes >= 512 * MB else 256
    sd = {}
    vocab = max(256, int(32000 * total_bytes / (2048 * MB)))
    sd["embed.weight"] = torch.randn(vocab, hidden, generator=g)
    per_layer = (3 * hidden * hidden + hidden * hidden + 2 * 4 * hidden * hidden) * 4
    layers = max(1, int((total_bytes - vocab * hidden * 4) // per_layer))
    for i in range(layers):
        p = f"layers.{i}."
        sd[p + "attn.qkv.weight"] = torch.randn(3 * hidden, hidden, generator=g)
        sd[p + "attn.qkv.bias"] = torch.zeros(3 * hidden)
        sd[p + "attn.out.weight"] = torch.randn(hidden, hidden, generator=g)
        sd[p + "mlp.up.weight"] = torch.randn(4 * hidden, hidden, generator=g)
        sd[p + "mlp.down.weight"] = torch.randn(hidden, 4 * hidden, generator=g)
        sd[p + "norm1.weight"] = torch.ones(hidden)
        sd[p + "norm2.weight"] = torch.ones(hidden)
    return sd


def small_state_dict(torch, total_bytes, seed):
    """Fewer, smaller tensors (for the legacy file and the shards)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    per = 4 * MB
    for i in range(max(1, int(total_bytes // per))):
        sd[f"block.{i}.weight"] = torch.randn(per // 4 // 1024, 1024, generator=g)
        sd[f"block.{i}.bias"] = torch.zeros(1024)
    return sd


def torch_files(out, scale):
    import torch

    path = os.path.join(out, "torch_2gb.pt")
    if not done(path):
        log(f"writing {path}")
        torch.save(transformer_state_dict(torch, 2048 * MB * scale, 2), path + ".part")
        os.replace(path + ".part", path)

    path = os.path.join(out, "torch_legacy_200mb.pt")
    if not done(path):
        log(f"writing {path}")
        sd = small_state_dict(torch, 200 * MB * scale, 3)
        with open(path + ".part", "wb") as f:
            torch.save(sd, f, _use_new_zipfile_serialization=False)
        os.replace(path + ".part", path)

    shard_dir = os.path.join(out, "shards_20")
    if not done(os.path.join(shard_dir, "pytorch_model-00020-of-00020.bin")):
        os.makedirs(shard_dir, exist_ok=True)
        log(f"writing {shard_dir}/")
        for k in range(1, 21):
            p = os.path.join(shard_dir, f"pytorch_model-{k:05d}-of-00020.bin")
            torch.save(small_state_dict(torch, 50 * MB * scale, 100 + k), p)


def sklearn_joblib(out, scale):
    """A fitted pipeline whose estimator keeps its ~200 MB training matrix (k-NN)."""
    path = os.path.join(out, "sklearn_knn_200mb.joblib")
    if done(path):
        return
    import joblib
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    log(f"writing {path}")
    rng = np.random.default_rng(4)
    rows = max(16, int(100_000 * scale))
    x = rng.standard_normal((rows, 250))
    y = rng.integers(0, 10, rows)
    model = Pipeline(
        [("scale", StandardScaler()), ("knn", KNeighborsClassifier(algorithm="brute"))]
    )
    model.fit(x, y)
    joblib.dump(model, path + ".part")
    os.replace(path + ".part", path)


def small_pickles(out):
    """1,000 small pickles: fitted scikit-learn models and plain dicts, protocols 2-5."""
    d = os.path.join(out, "small_pickles_1000")
    if done(os.path.join(d, "model_0999.pkl")):
        return
    from sklearn.linear_model import LogisticRegression

    log(f"writing {d}/")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 20))
    y = (x[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    for i in range(1000):
        if i % 2 == 0:
            model.coef_ = model.coef_ + rng.standard_normal(model.coef_.shape) * 1e-3
            obj = model
        else:
            obj = {
                "name": f"run-{i}",
                "weights": rng.standard_normal(64),
                "vocab": {f"tok{j}": j for j in range(50)},
            }
        with open(os.path.join(d, f"model_{i:04d}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=2 + i % 4)


def onnx_inline(out, scale):
    """An ONNX model of 1.5 GB with its weights inline (`raw_data`), as `onnx.save` writes a
    model under the 2 GB protobuf limit: six 8192x8192 float32 MatMul weights."""
    path = os.path.join(out, "onnx_inline_1.5gb.onnx")
    if done(path):
        return
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dim = max(64, int(8192 * scale**0.5))
    rng = np.random.default_rng(7)
    inits, nodes, prev = [], [], "x"
    for i in range(6):
        w = rng.standard_normal((dim, dim), dtype=np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"]))
        prev = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, dim])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, dim])],
        inits,
    )
    log(f"writing {path}")
    onnx.save(helper.make_model(graph), path + ".part")
    os.replace(path + ".part", path)


def keras_h5(out, scale):
    """A Keras-style HDF5 weights file of 1.5 GB: a `model_config` attribute and six
    8192x8192 float32 datasets under `model_weights/`, written by h5py."""
    path = os.path.join(out, "keras_weights_1.5gb.h5")
    if done(path):
        return
    import json

    import h5py

    dim = max(64, int(8192 * scale**0.5))
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "mlp",
            "layers": [
                {"class_name": "Dense", "config": {"name": f"dense_{i}", "units": dim}}
                for i in range(6)
            ],
        },
    }
    rng = np.random.default_rng(8)
    log(f"writing {path}")
    with h5py.File(path + ".part", "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        for i in range(6):
            g = f.create_group(f"model_weights/dense_{i}/dense_{i}")
            g.create_dataset("kernel:0", data=rng.standard_normal((dim, dim), dtype=np.float32))
            g.create_dataset("bias:0", data=np.zeros(dim, dtype=np.float32))
    os.replace(path + ".part", path)


def empty_file(out, scale):
    open(os.path.join(out, "empty.pkl"), "wb").close()


# Which generator writes each input of the comparison table.
GENERATORS = {
    "small_pickles_1000": lambda out, scale: small_pickles(out),
    "sklearn_knn_200mb.joblib": sklearn_joblib,
    "numpy_200mb_p4.pkl": numpy_pickles,
    "numpy_200mb_p2.pkl": numpy_pickles,
    "numpy_2gb_p4.pkl": numpy_pickles,
    "numpy_2gb_p2.pkl": numpy_pickles,
    "torch_2gb.pt": torch_files,
    "torch_legacy_200mb.pt": torch_files,
    "shards_20": torch_files,
    "onnx_inline_1.5gb.onnx": onnx_inline,
    "keras_weights_1.5gb.h5": keras_h5,
    "empty.pkl": empty_file,
}


def main():
    out = sys.argv[1]
    scale = 0.01 if "--small" in sys.argv else 1.0
    only = None
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1].split(",")
    os.makedirs(out, exist_ok=True)
    ran = set()
    for name, gen in GENERATORS.items():
        if (only is None or name in only) and gen not in ran:
            gen(out, scale)
            ran.add(gen)
    log("inputs ready")


if __name__ == "__main__":
    main()
