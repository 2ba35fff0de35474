"""DeiT-style distillation for OCR: a teacher model's per-position predictions train the student's [DIST] view.

Loss = (1 - alpha) * CE(student through [CLS], ground truth) + alpha * D(student through [DIST], teacher), both under
teacher forcing on the ground-truth tokens. D is CE against the teacher's argmax (hard) or KL between
temperature-softened distributions, times T^2 (soft), as in Touvron et al. 2021.
"""
import torch
import torch.nn.functional as F

from ocr.preprocess import collate_lines
from ocr.tokenizer import BOS, PAD


def teacher_inputs(teacher, images, widths):
    """The student's batch rescaled to the teacher's line height (aspect kept, widths rounded to its multiple)."""
    enc = teacher.encoder
    if images.shape[-2] == enc.height:
        return images, widths
    lines = []
    for image, width in zip(images, widths.tolist()):
        w = max(1, round(width * enc.height / images.shape[-2]))
        w = min(-(-w // enc.width_multiple) * enc.width_multiple, enc.max_width)
        lines.append(F.interpolate(image[None, :, :, :width], size=(enc.height, w), mode="bilinear",
                                   align_corners=False)[0])
    return collate_lines(lines)


def teacher_logits(teacher, images, widths, inputs):
    with torch.no_grad():
        t_images, t_widths = teacher_inputs(teacher, images, widths)
        return teacher(t_images.to(images.device), t_widths.to(images.device), inputs).float()


def distillation_loss(class_logits, dist_logits, teacher_logits, targets, mode: str = "soft",
                      temperature: float = 2.0, alpha: float = 0.5, label_smoothing: float = 0.0):
    """class_logits/dist_logits: the student read through [CLS] and [DIST]; all logits (B, T, V)."""
    ground_truth = F.cross_entropy(class_logits.float().transpose(1, 2), targets, ignore_index=PAD,
                                   label_smoothing=label_smoothing)
    valid = targets != PAD
    dist_logits = dist_logits.float()
    teacher_logits = teacher_logits.float().clone()
    teacher_logits[..., [PAD, BOS]] = -1e4  # tokens decoding never writes carry no teaching
    if mode == "hard":
        teacher_targets = teacher_logits.argmax(-1).masked_fill(~valid, PAD)
        distilled = F.cross_entropy(dist_logits.transpose(1, 2), teacher_targets, ignore_index=PAD)
    else:
        T = temperature
        kl = F.kl_div(F.log_softmax(dist_logits / T, -1), F.log_softmax(teacher_logits / T, -1), log_target=True,
                      reduction="none").sum(-1)
        distilled = (kl * valid).sum() / valid.sum() * T * T
    return (1 - alpha) * ground_truth + alpha * distilled
