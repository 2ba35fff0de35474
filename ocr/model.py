"""The line recogniser: a registered vision encoder feeding the text decoder (TrOCR's layout)."""
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn as nn

from backbones import create_encoder
from backbones.layers import resize_grid

from .decoder import DecoderConfig, TextDecoder


@dataclass
class ModelConfig:
    encoder: dict  # registry name and hyper-parameters: {"name": "vit_tiny", "height": 32, ...}
    decoder: DecoderConfig
    ctc: bool = False  # a CTC head on the encoder side: joint CTC/attention training finds the alignment sooner
    decoding: str = "attention"  # how the model reads by default: attention (the decoder), ctc (the CTC head), joint
    ctc_frames: int = 1  # CTC frames read from each encoder column: two letters alike need a blank between them
    joint_weight: float = 0.5  # the CTC head's share of a hypothesis' score in joint decoding
    lm_weight: float = 0.0  # the share of lm.json's votes (an n-gram model of the text) in beam search; 0: none
    beams: int = 4  # the beam width it reads with unless told otherwise: measured per model (1 = greedy)
    views: int = 1  # copies of each line read at once, their votes averaged (ocr.recognizer.VIEWS): measured per model
    min_confidence: float = 0.0  # page reading drops a found line read less surely: a photo's texture, not text
    format_version: int = 1
    metadata: dict = field(default_factory=dict)  # free-form: training recipe, data, metrics

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        # a setting an older config.json lacks takes its default above; one it does not know is ignored
        settings = {f.name for f in fields(cls)} - {"encoder", "decoder"}
        return cls(encoder=dict(d["encoder"]), decoder=DecoderConfig(**d["decoder"]),
                   **{k: v for k, v in d.items() if k in settings})


class OCRModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        encoder_args = {k: v for k, v in config.encoder.items() if k != "name"}
        self.encoder = create_encoder(config.encoder["name"], **encoder_args)
        config.encoder = dict(self.encoder.config)  # every hyper-parameter, so the folder rebuilds it exactly
        D = config.decoder.dim
        self.bridge = nn.Linear(self.encoder.dim, D) if self.encoder.dim != D else nn.Identity()
        self.decoder = TextDecoder(config.decoder)
        self.ctc_head = self._ctc_layer(config.decoder.vocab_size) if config.ctc else None

    @property
    def height(self) -> int:
        return self.encoder.height

    def channels_last(self) -> "OCRModel":
        """Convolution weights stored channels-last (in place): oneDNN then runs the convolutions channels-last, a CNN
        stem 1.2-1.3x faster on CPU (BENCHMARKS.md). Outputs agree to float precision, and saved files are the same:
        the savers write contiguous copies. The recogniser and the trainer call it."""
        return self.to(memory_format=torch.channels_last)

    def encode(self, images, widths):
        """images (B, 1, H, W), widths (B,) -> memory (B, N, D_dec), mask (B, N)."""
        features, mask = self.encoder(images, widths)
        return self.bridge(features), mask

    def forward(self, images, widths, tokens, distillation: bool = False, ctc: bool = False):
        """Teacher-forced logits (B, T, V) for decoder inputs `tokens` ([BOS] + text). With `distillation` (DeiT
        encoders): also the logits read through the distillation token, from the same encoder pass. With `ctc`: also
        (per-column CTC logits (B, C, V), valid columns (B,)), from the same pass; [PAD] is the CTC blank. Without
        `tokens`: only those."""
        memory, mask = self.encode(images, widths)
        if tokens is None:  # CTC alone (training with --ctc-weight 1): the decoder is not run
            return self.ctc_columns(memory, mask)
        logits = self.decoder(tokens, memory, mask)
        outputs = [logits]
        if distillation:
            outputs.append(self.decoder(tokens, memory, self.encoder.distillation_mask(mask)))
        if ctc:
            outputs.append(self.ctc_columns(memory, mask))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def ctc_columns(self, memory, mask):
        """Encoder tokens averaged down each column of the grid, read left to right by the CTC head."""
        prefix = self.encoder.prefix_tokens
        rows = self.encoder.grid(self.encoder.width_multiple)[0]
        grid, valid = memory[:, prefix:], mask[:, prefix:]
        B, N, D = grid.shape
        columns = grid.view(B, rows, N // rows, D).mean(1)
        frames = self.config.ctc_frames  # one column's frames side by side, left to right
        logits = self.ctc_head(columns).view(B, N // rows * frames, -1)
        return logits, valid.view(B, rows, N // rows)[:, 0].sum(1) * frames

    def _ctc_layer(self, vocab_size: int) -> nn.Linear:
        return nn.Linear(self.config.decoder.dim, self.config.ctc_frames * vocab_size)

    def add_ctc_head(self, frames: int = 1):
        self.config.ctc, self.config.ctc_frames = True, frames
        self.ctc_head = self._ctc_layer(self.config.decoder.vocab_size)

    def with_encoder(self, **settings) -> "OCRModel":
        """A copy whose encoder is rebuilt with `settings` over its own (a taller line, other strides, more blocks),
        every weight kept: E_pos is interpolated to the new patch grid, any other weight must keep its shape, and
        blocks added by a greater `depth` (or a hybrid's `stem_depth`) start as the identity (their residual
        branches end in zeros), so the copy reads as the original does until it is trained."""
        config = ModelConfig.from_dict(self.config.to_dict())
        config.encoder.update(settings)
        model = OCRModel(config).to(next(self.parameters()).device)
        state, target = self.state_dict(), model.state_dict()
        if "encoder.pos_embed" in state:
            state["encoder.pos_embed"] = resize_grid(state["encoder.pos_embed"], *target["encoder.pos_embed"].shape[2:])
        misfits = sorted(k for k in target if k in state and state[k].shape != target[k].shape)
        if misfits:
            raise ValueError(f"encoder settings {settings} change the shape of {len(misfits)} weights ("
                             f"{', '.join(misfits[:3])}{', ...' if len(misfits) > 3 else ''}), which cannot be carried "
                             "over; change only what keeps them (height, strides, max_width, a greater depth or "
                             "stem_depth)")
        added = _added_blocks(self.encoder, model.encoder)
        unplaced = sorted(k for k in set(target) ^ set(state) if not k.startswith(tuple(added)))
        if unplaced:
            raise ValueError(f"encoder settings {settings} add or drop weights ({', '.join(unplaced[:3])}"
                             f"{', ...' if len(unplaced) > 3 else ''}); of the layout, only the depth of one stack of "
                             "blocks (vit, deit, hybrid) or of the hybrid's stem stages can change, and only grow")
        model.load_state_dict(state, strict=False)  # what is missing is the added blocks' weights, checked above
        for block in added.values():  # the last layer of each residual branch zero: the block passes x through
            last = [block.attn.proj, block.mlp.fc2] if hasattr(block, "attn") else [block.bn2]
            for layer in last:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        return model

    def resize_vocab(self, vocab_size: int):
        """Grow the token embedding and output layer; learned rows stay as they are, new rows start small."""
        old = self.decoder.cfg.vocab_size
        if vocab_size < old:
            raise ValueError("the vocabulary can only grow")
        dec = self.decoder
        embed, head = nn.Embedding(vocab_size, dec.cfg.dim), nn.Linear(dec.cfg.dim, vocab_size)
        nn.init.normal_(embed.weight, std=0.02)
        nn.init.normal_(head.weight, std=0.02)
        nn.init.zeros_(head.bias)
        with torch.no_grad():
            embed.weight[:old] = dec.token_embed.weight
            head.weight[:old] = dec.head.weight
            head.bias[:old] = dec.head.bias
        dec.token_embed, dec.head = embed, head
        if self.ctc_head is not None:
            ctc_head, frames = self._ctc_layer(vocab_size), self.config.ctc_frames
            with torch.no_grad():  # rows are laid out frame by frame: (frames, vocab)
                ctc_head.weight.view(frames, vocab_size, -1)[:, :old] = self.ctc_head.weight.view(frames, old, -1)
                ctc_head.bias.view(frames, vocab_size)[:, :old] = self.ctc_head.bias.view(frames, old)
            self.ctc_head = ctc_head
        dec.cfg.vocab_size = self.config.decoder.vocab_size = vocab_size


def _added_blocks(old, new) -> dict:
    """{state-dict prefix: block} of the blocks `new` has beyond `old`'s: transformer blocks of a greater depth, and
    residual blocks of a greater hybrid stem depth (their input is a ReLU's, so a zero branch passes it through)."""
    old_depth = len(getattr(old, "blocks", ()))
    added = {f"encoder.blocks.{i}.": b for i, b in enumerate(getattr(new, "blocks", ())) if i >= old_depth}
    old_refine = getattr(getattr(old, "patch_embed", None), "refine", None)
    for stage, refine in enumerate(getattr(getattr(new, "patch_embed", None), "refine", ())):
        kept = len(old_refine[stage]) if old_refine is not None else 0
        added.update({f"encoder.patch_embed.refine.{stage}.{j}.": b for j, b in enumerate(refine) if j >= kept})
    return added
