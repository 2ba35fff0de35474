"""Vision encoders written from scratch: ViT, DeiT, Swin and a CNN-stem hybrid, behind one registry."""
from . import deit, hybrid, swin, vit  # noqa: F401  (registers the encoders)
from .base import Encoder
from .registry import create_encoder, list_encoders

__all__ = ["Encoder", "create_encoder", "list_encoders"]
