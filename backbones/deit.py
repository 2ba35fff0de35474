"""DeiT (Touvron et al. 2021): ViT with a distillation token beside [CLS].

The distillation token attends like [CLS] but is trained against a teacher's predictions (see training/), so the
student learns from the teacher through its own token. Sequence: [CLS, DIST, patch_1..patch_N] + E_pos.
"""
from .registry import register_encoder
from .vit import ViT


class DeiT(ViT):
    num_prefix_tokens = 2  # [CLS], [DIST]
    distillation_index = 1

    def __init__(self, cls_token=True, **kwargs):
        if not cls_token:
            raise ValueError("a DeiT encoder always has its [CLS] and distillation tokens; use a vit encoder instead")
        super().__init__(cls_token=True, **kwargs)


@register_encoder
def deit_tiny():
    return DeiT, dict(height=32, patch=(16, 8), dim=192, depth=4, heads=3)


@register_encoder
def deit_small():
    return DeiT, dict(height=48, patch=(16, 8), dim=256, depth=6, heads=4)


@register_encoder
def deit_base():
    return DeiT, dict(height=64, patch=(16, 8), dim=384, depth=8, heads=6)
