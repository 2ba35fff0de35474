"""Weight averaging of two models of one architecture: (1 - w) * first + w * second, tensor by tensor.

Between a model and a fine-tuned copy of it (the WiSE-FT recipe, Wortsman et al. 2022), the average often keeps
what the first read well while adding what the fine-tune learned: the bundled `printed` model is stage 5 averaged
with stage 6, its fine-tune on bad captures. Both must share the encoder geometry and the tokenizer: tensors of equal
shape from different strides, heights or character tables would average into nonsense, so those are refused.
"""
from pathlib import Path

import torch

from ocr.charlm import FILE as LM_FILE
from ocr.checkpoint import load_model, save_model
from ocr.errors import VitocrError

READING_SETTINGS = {"decoding", "joint_weight", "beams", "min_confidence", "lm_weight", "metadata"}  # how it reads


def architecture(model) -> dict:
    return {k: v for k, v in model.config.to_dict().items() if k not in READING_SETTINGS}


def average_models(first, second, output, weight: float = 0.5):
    """Write (1 - weight) * first + weight * second to the model folder `output`; reading settings (decoding,
    beams, the language model...) come from `first`. Returns the averaged model."""
    if not 0.0 <= weight <= 1.0:
        raise VitocrError(f"--weight must be between 0 and 1 (the second model's share), got {weight}.")
    a, tokenizer = load_model(first)
    b, other_tokenizer = load_model(second)
    mine, yours = architecture(a), architecture(b)
    differing = sorted(k for k in mine.keys() | yours.keys() if mine.get(k) != yours.get(k))
    if differing:
        raise VitocrError(f"{first} and {second} are different architectures ({', '.join(differing)} differ in "
                          f"config.json); only a model and a fine-tuned copy of it can be averaged.")
    if not tokenizer.same_tokens(other_tokenizer):
        raise VitocrError(f"{first} and {second} have different tokenizers (tokenizer.json); only a model and a "
                          f"fine-tuned copy of it can be averaged.")
    theirs = b.state_dict()
    with torch.no_grad():
        for name, tensor in a.state_dict().items():
            if tensor.is_floating_point():  # counters (BatchNorm's num_batches_tracked) stay the first model's
                tensor.lerp_(theirs[name], weight)
    lm = Path(first) / LM_FILE  # a reading setting too: it goes with the first model's lm_weight
    save_model(output, a, tokenizer, {LM_FILE: lm.read_text(encoding="utf-8")} if lm.is_file() else None)
    return a
