"""The two models every comparison with Hugging Face uses: the same sizes, random weights.

ours: OCRModel with the vit_tiny encoder (height 32, patch 16x8, dim 192, 4 layers, 3 heads) and a 4-layer, dim-256
decoder; HF: VisionEncoderDecoderModel of a ViTModel and a TrOCRForCausalLM of the same shapes.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr import DecoderConfig, ModelConfig, OCRModel  # noqa: E402
from ocr.tokenizer import BOS, EOS, PAD  # noqa: E402


def build_ours(width, vocab, max_positions, dropout=0.0):
    cfg = ModelConfig(encoder={"name": "vit_tiny", "max_width": width, "dropout": 0.0, "drop_path": 0.0},
                      decoder=DecoderConfig(vocab_size=vocab, dim=256, depth=4, heads=4, mlp_ratio=4.0,
                                            max_length=max_positions, dropout=dropout))
    return OCRModel(cfg).eval()


def build_hf(width, vocab, max_positions, dropout=0.0):
    from transformers import TrOCRConfig, TrOCRForCausalLM, ViTConfig, ViTModel, VisionEncoderDecoderModel

    enc_cfg = ViTConfig(hidden_size=192, num_hidden_layers=4, num_attention_heads=3, intermediate_size=768,
                        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        image_size=(32, width), patch_size=(16, 8), num_channels=1, qkv_bias=True)
    dec_cfg = TrOCRConfig(vocab_size=vocab, d_model=256, decoder_layers=4, decoder_attention_heads=4,
                          decoder_ffn_dim=1024, activation_function="gelu", max_position_embeddings=max_positions,
                          dropout=dropout, attention_dropout=0.0, activation_dropout=0.0,
                          use_learned_position_embeddings=True, layernorm_embedding=True, scale_embedding=False,
                          tie_word_embeddings=False, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS,
                          decoder_start_token_id=BOS, is_decoder=True, add_cross_attention=True, use_cache=True)
    # no pooler: generation never reads it, and ours has none
    model = VisionEncoderDecoderModel(encoder=ViTModel(enc_cfg, add_pooling_layer=False),
                                      decoder=TrOCRForCausalLM(dec_cfg))
    for cfg in (model.config, model.generation_config):
        cfg.decoder_start_token_id, cfg.pad_token_id, cfg.eos_token_id, cfg.bos_token_id = BOS, PAD, EOS, BOS
    return model.eval()


def count(module):
    return sum(p.numel() for p in module.parameters())  # parameters() lists a shared tensor once


def parameter_report(ours, hf):
    enc_hf = count(hf.encoder)
    bridge_hf = count(hf.enc_to_dec_proj) if hasattr(hf, "enc_to_dec_proj") else 0
    rows = [("encoder", count(ours.encoder), enc_hf),
            ("bridge 192->256", count(ours.bridge), bridge_hf),
            ("decoder", count(ours.decoder), count(hf.decoder)),
            ("total", count(ours), count(hf))]
    lines = ["| parameters | ours | HF |", "|---|---:|---:|"]
    lines += [f"| {name} | {a:,} | {b:,} |" for name, a, b in rows]
    total_ours, total_hf = rows[-1][1], rows[-1][2]
    lines.append(f"\nparameter ratio ours / HF: {total_ours / total_hf:.3f}")
    return "\n".join(lines)
