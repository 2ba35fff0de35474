"""DeiT (Touvron et al. 2021): ViT with a distillation token beside [CLS].

Sequence: [CLS, DIST, patch_1..patch_N] + E_pos; every token attends to every other inside the encoder. For OCR the
decoder takes the place of DeiT's two heads: it reads [CLS] + patches against the ground truth (the mask returned by
`forward` hides [DIST]), and [DIST] + patches against the teacher during distillation (`distillation_mask`). So the
teacher's signal enters through its own token, and through it, every patch.
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

    def forward(self, images, widths):
        features, mask = super().forward(images, widths)
        mask = mask.clone()
        mask[:, self.distillation_index] = False  # the decoder reads [CLS] + patches
        return features, mask

    def distillation_mask(self, mask):
        """The decoder's view for distillation: [DIST] + patches, [CLS] hidden."""
        mask = mask.clone()
        mask[:, 0], mask[:, self.distillation_index] = False, True
        return mask


@register_encoder
def deit_tiny():
    return DeiT, dict(height=32, patch=(16, 8), dim=192, depth=4, heads=3)


@register_encoder
def deit_small():
    return DeiT, dict(height=48, patch=(16, 8), dim=256, depth=6, heads=4)


@register_encoder
def deit_base():
    return DeiT, dict(height=64, patch=(16, 8), dim=384, depth=8, heads=6)
