"""Full training state for `--resume`, without pickles: tensors in safetensors, everything else in JSON.

Written to a temporary folder and renamed into place, so SIGKILL at any moment leaves the previous state intact.
"""
import json
import random
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ocr.checkpoint import atomic_folder, write_model_files


def optimizer_to_flat(state_dict: dict):
    """Split an optimizer state_dict into tensors {"<param>.<key>": tensor} and a JSON-able rest."""
    tensors, scalars = {}, {}
    for pid, values in state_dict["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def optimizer_from_flat(tensors: dict, meta: dict) -> dict:
    state = {}
    for name, value in list(tensors.items()) + list(meta["scalars"].items()):
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def rng_state() -> tuple:
    py = random.getstate()
    np_state = np.random.get_state()
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    meta = {"python": [py[0], list(py[1]), py[2]],
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]]}
    return tensors, meta


def set_rng_state(tensors: dict, meta: dict):
    v, internal, gauss = meta["python"]
    random.setstate((v, tuple(internal), gauss))
    name, keys, *rest = meta["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def save_state(folder, model, tokenizer, optimizer, progress: dict, ema: dict = None):
    """A model folder (loadable as such) plus optimizer, RNG, EMA and `progress` (step, epoch, position...)."""
    with atomic_folder(folder) as tmp:
        write_model_files(tmp, model, tokenizer)
        tensors, meta = optimizer_to_flat(optimizer.state_dict())
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        rng_tensors, rng_meta = rng_state()
        save_file(rng_tensors, str(tmp / "rng.safetensors"))
        if ema is not None:
            save_file({k: v.contiguous().cpu() for k, v in ema.items()}, str(tmp / "ema.safetensors"))
        (tmp / "state.json").write_text(json.dumps({"progress": progress, "optimizer": meta, "rng": rng_meta}))


def load_state(folder, optimizer) -> tuple:
    """Restore optimizer and RNG from `folder` (the model comes from load_model(folder)); returns
    (progress dict, EMA weights or None)."""
    folder = Path(folder)
    meta = json.loads((folder / "state.json").read_text())
    optimizer.load_state_dict(optimizer_from_flat(load_file(str(folder / "optimizer.safetensors")), meta["optimizer"]))
    set_rng_state(load_file(str(folder / "rng.safetensors")), meta["rng"])
    ema = load_file(str(folder / "ema.safetensors")) if (folder / "ema.safetensors").exists() else None
    return meta["progress"], ema
