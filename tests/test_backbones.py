"""The course's shapes and equivalences, and a contract every registered encoder keeps."""
import math

import pytest
import torch
import torch.nn.functional as F

from backbones import create_encoder, list_encoders
from backbones.swin import shifted_window_mask, window_partition
from backbones.vit import PatchEmbed


def test_vit_224_with_16px_patches_gives_196_tokens_plus_cls():
    enc = create_encoder("vit_tiny", height=224, max_width=224, patch=16, in_chans=3).eval()
    images = torch.randn(2, 3, 224, 224)
    x, mask = enc.embed(images, torch.tensor([224, 224]))
    assert x.shape == (2, 196 + 1, enc.dim)  # (N + 1) x D with [CLS]
    features, mask = enc(images, torch.tensor([224, 224]))
    assert features.shape == (2, 197, enc.dim) and mask.all()
    no_cls = create_encoder("vit_tiny", height=224, max_width=224, patch=16, in_chans=3, cls_token=False)
    assert no_cls(images, torch.tensor([224, 224]))[0].shape == (2, 196, no_cls.dim)


def test_deit_adds_a_distillation_token_after_cls():
    enc = create_encoder("deit_tiny", height=224, max_width=224, patch=16, in_chans=3)
    features, _ = enc(torch.randn(1, 3, 224, 224), torch.tensor([224]))
    assert features.shape == (1, 196 + 2, enc.dim) and enc.distillation_index == 1


def test_conv_patch_embedding_equals_linear_projection_of_flattened_patches():
    torch.manual_seed(0)
    P, C, D = (16, 8), 3, 24
    embed = PatchEmbed(P, C, D)
    images = torch.randn(2, C, 32, 64)
    patches = F.unfold(images, kernel_size=P, stride=P).transpose(1, 2)  # (B, N, P_h * P_w * C)
    W = embed.proj.weight.reshape(D, -1)  # W in R^{D x (P.P.C)}
    linear = patches @ W.T + embed.proj.bias  # E = X_patch W + b
    conv = embed(images).flatten(2).transpose(1, 2)
    assert conv.shape == (2, (32 // 16) * (64 // 8), D)
    torch.testing.assert_close(conv, linear, rtol=1e-5, atol=1e-5)


def test_swin_224_stages_follow_the_course_table():
    enc = create_encoder("swin_tiny", height=224, max_width=224, patch=4, dim=96, depths=(2, 2, 6, 2),
                         heads=(3, 6, 12, 24), window=7, in_chans=3).eval()
    with torch.no_grad():
        stages, _ = enc.forward_stages(torch.randn(1, 3, 224, 224), torch.tensor([224]))
    assert [tuple(s.shape[1:]) for s in stages] == [(56, 56, 96), (28, 28, 192), (14, 14, 384), (7, 7, 768)]


def test_shifted_windows_join_a2_and_b1_and_mask_the_wrapped_border():
    # The course's 4x4 grid: W1 = a1 a2 / a3 a4, W2 = b1 b2 / b3 b4, W3 = c.., W4 = d..
    names = [["a1", "a2", "b1", "b2"], ["a3", "a4", "b3", "b4"], ["c1", "c2", "d1", "d2"], ["c3", "c4", "d3", "d4"]]
    ids = torch.arange(16).view(1, 4, 4)
    name = {i: n for i, n in zip(range(16), sum(names, []))}

    def can_attend(shift):
        grid = torch.roll(ids, (-shift, -shift), dims=(1, 2)) if shift else ids
        windows = window_partition(grid, (2, 2))  # (nW, 4) token ids
        allowed = shifted_window_mask(4, 4, (2, 2), (shift, shift)) if shift else torch.ones(4, 4, 4, dtype=torch.bool)
        pairs = set()
        for w, tokens in enumerate(windows.tolist()):
            for i, a in enumerate(tokens):
                for j, b in enumerate(tokens):
                    if allowed[w, i, j]:
                        pairs.add((name[a], name[b]))
        return pairs

    regular, shifted = can_attend(0), can_attend(1)
    assert ("a2", "b1") not in regular and ("a1", "a4") in regular
    assert ("a2", "b1") in shifted and ("a4", "d1") in shifted  # the shift joins neighbours across old windows
    # a2 and b1 were rolled to the bottom row, into a window with c4 and d3: the mask keeps them apart
    assert ("a2", "c4") not in shifted and ("b1", "d3") not in shifted and ("c4", "d3") in shifted


# every registered encoder, and a hybrid whose stem stages have two residual blocks each
ENCODERS = [(name, {}) for name in list_encoders()] + [("hybrid_tiny", {"stem_depth": 2})]


@pytest.fixture(params=ENCODERS, ids=lambda p: p[0] + "".join(f"-{k}={v}" for k, v in p[1].items()))
def encoder(request):
    torch.manual_seed(0)
    name, settings = request.param
    return create_encoder(name, max_width=256, **settings)


def lines(enc, widths):
    torch.manual_seed(1)
    return torch.rand(len(widths), 1, enc.height, max(widths)), torch.tensor(widths)


def test_forward_backward(encoder):
    images, widths = lines(encoder, [256, 128])
    features, mask = encoder(images, widths)
    assert features.shape[::2] == (2, encoder.dim) and mask.shape == features.shape[:2]
    grid = slice(encoder.prefix_tokens, None)  # the patch tokens; DeiT's [DIST] is hidden from the decoder
    assert mask[0, grid].all() and 0 < mask[1, grid].sum() < mask.shape[1] - encoder.prefix_tokens
    features[mask].pow(2).mean().backward()
    assert all(p.grad is not None for p in encoder.parameters() if p.requires_grad)


def test_a_line_alone_reads_the_same_as_batched_with_a_wider_one(encoder):
    encoder.eval()
    images, widths = lines(encoder, [256, 128])
    with torch.no_grad():
        batched, mask = encoder(images, widths)
        alone, alone_mask = encoder(images[1:, :, :, :128], widths[1:])
    torch.testing.assert_close(batched[1][mask[1]], alone[0][alone_mask[0]], rtol=1e-4, atol=1e-5)


def test_save_load_round_trip_gives_identical_outputs(encoder, tmp_path):
    from safetensors.torch import load_file, save_file

    encoder.eval()
    save_file(encoder.state_dict(), tmp_path / "encoder.safetensors")
    args = {k: v for k, v in encoder.config.items() if k != "name"}
    torch.manual_seed(123)  # a different random init, overwritten by the load
    clone = create_encoder(encoder.config["name"], **args).eval()
    clone.load_state_dict(load_file(tmp_path / "encoder.safetensors"))
    images, widths = lines(encoder, [128])
    with torch.no_grad():
        torch.testing.assert_close(encoder(images, widths), clone(images, widths), rtol=0, atol=0)


def test_encoder_accepts_wider_lines_after_resize(encoder):
    images, widths = lines(encoder, [512])
    if hasattr(encoder, "pos_embed"):
        with pytest.raises(ValueError, match="max_width"):
            encoder(images, widths)
        before = encoder.pos_embed.detach().clone()
    encoder.resize_width(512)
    features, mask = encoder(images, widths)
    assert mask[:, encoder.prefix_tokens:].all() and encoder.max_width == 512
    if hasattr(encoder, "pos_embed"):  # E_pos is interpolated bicubically over the 2-D grid, not padded
        assert encoder.pos_embed.shape[-1] == 2 * before.shape[-1]
        expected = F.interpolate(before, size=encoder.pos_embed.shape[-2:], mode="bicubic", align_corners=False)
        torch.testing.assert_close(encoder.pos_embed.detach(), expected)


def test_unknown_encoder_and_setting_are_named():
    with pytest.raises(ValueError, match="unknown encoder 'vit_huge'.*vit_tiny"):
        create_encoder("vit_huge")
    with pytest.raises(ValueError, match="no setting window"):
        create_encoder("vit_tiny", window=7)


def test_every_family_has_three_sizes():
    for family in ("vit", "deit", "swin", "hybrid"):
        assert list_encoders(family) == [f"{family}_{s}" for s in ("base", "small", "tiny")]


def test_learned_position_embeddings_start_from_the_2d_sine_cosine_table():
    from backbones.layers import sincos_2d

    table = sincos_2d(8, rows=2, cols=5)  # channels: row sin (2), row cos (2), column sin (2), column cos (2)
    r, c = 1, 3
    freqs = [1.0, 0.01]  # 1 / 10000^(i / (dim/4))
    expected = ([math.sin(r * f) for f in freqs] + [math.cos(r * f) for f in freqs]
                + [math.sin(c * f) for f in freqs] + [math.cos(c * f) for f in freqs])
    torch.testing.assert_close(table[0, :, r, c], torch.tensor(expected))
    for name in ("vit_tiny", "deit_tiny", "hybrid_tiny", "swin_tiny"):
        encoder = create_encoder(name)
        torch.testing.assert_close(encoder.pos_embed.detach(), sincos_2d(*encoder.pos_embed.shape[1:]))
