"""DeiT distillation: the decoder reads [CLS] for the ground truth and [DIST] for the teacher."""
import torch
import torch.nn.functional as F

from ocr import load_model
from ocr.tokenizer import PAD
from training.config import TrainConfig
from training.distill import distillation_loss, teacher_inputs
from training.trainer import train

from conftest import tiny_model
from fixtures import WORDS, gt_folder


def test_deit_decoder_views(tokenizer):
    model = tiny_model(tokenizer, "deit_tiny").eval()
    images, widths = torch.rand(2, 1, 32, 128), torch.tensor([128, 64])
    _, mask = model.encoder(images, widths)
    assert mask[:, 0].all() and not mask[:, 1].any()  # [CLS] read, [DIST] hidden
    dist = model.encoder.distillation_mask(mask)
    assert not dist[:, 0].any() and dist[:, 1].all() and torch.equal(dist[:, 2:], mask[:, 2:])
    tokens = torch.randint(4, tokenizer.vocab_size, (2, 6))
    class_logits, dist_logits = model(images, widths, tokens, distillation=True)
    torch.testing.assert_close(class_logits, model(images, widths, tokens))
    assert not torch.allclose(class_logits, dist_logits)


def test_loss_is_the_deit_mixture():
    torch.manual_seed(0)
    targets = torch.tensor([[5, 6, 7, PAD]])
    c, d, t = torch.randn(1, 4, 10), torch.randn(1, 4, 10), torch.randn(1, 4, 10)
    ce = F.cross_entropy(c.transpose(1, 2), targets, ignore_index=PAD)
    torch.testing.assert_close(distillation_loss(c, d, t, targets, alpha=0.0), ce)
    hard = F.cross_entropy(d[:, :3].transpose(1, 2), t[:, :3, 2:].argmax(-1) + 2)  # never [PAD] or [BOS]
    torch.testing.assert_close(distillation_loss(c, d, t, targets, "hard", alpha=1.0), hard)
    t[..., :2] = -1e4
    assert distillation_loss(c, t, t, targets, "soft", alpha=1.0).abs() < 1e-6  # student == teacher: no KL


def test_teacher_inputs_rescale_to_its_height(tokenizer):
    teacher = tiny_model(tokenizer, "vit_tiny", height=48)
    images, widths = teacher_inputs(teacher, torch.rand(2, 1, 32, 128), torch.tensor([128, 64]))
    assert images.shape[-2] == 48 and widths.tolist() == [192, 96]


def test_a_deit_student_trains_against_a_teacher(tmp_path):
    data = gt_folder(tmp_path / "gt", WORDS[:6])
    small = dict(max_width=256, decoder_dim=64, decoder_depth=1, decoder_heads=2, batch_size=4, workers=0, warmup=1,
                 val_every=1000, val_fraction=0, train=[str(data)])
    train(TrainConfig(encoder="hybrid_tiny", steps=2, output=str(tmp_path / "teacher"), **small))
    student = TrainConfig(encoder="deit_tiny", steps=3, output=str(tmp_path / "student"),
                          teacher=str(tmp_path / "teacher" / "last"), distill="hard", **small)
    assert train(student)["step"] == 3
    model, tok = load_model(tmp_path / "student" / "last")
    assert tok.tokenizer.get_vocab() == load_model(tmp_path / "teacher" / "last")[1].tokenizer.get_vocab()
