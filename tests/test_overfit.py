"""A tiny model learns a few real printed lines to their exact text within a CPU minute."""
import torch
import torch.nn.functional as F
from PIL import Image

from ocr import DecoderConfig, ModelConfig, OCRModel, TextTokenizer
from ocr.decoding import beam_search, greedy_search
from ocr.preprocess import collate_lines, line_to_tensor
from ocr.tokenizer import BOS, EOS, PAD

from data import manifest


def test_tiny_model_overfits_eight_real_lines():
    rows = sorted(manifest("fondue-en-print-20"), key=lambda r: r["image"])
    rows = [r for r in rows if 20 <= len(r["text"]) <= 45][:8]
    texts = [r["text"] for r in rows]
    tokenizer = TextTokenizer.char_level(texts)
    torch.manual_seed(0)
    model = OCRModel(ModelConfig(
        encoder={"name": "vit_tiny", "dim": 96, "depth": 2, "heads": 2, "max_width": 512},
        decoder=DecoderConfig(vocab_size=tokenizer.vocab_size, dim=96, depth=2, heads=2, max_length=48, dropout=0.0)))
    enc = model.encoder
    images, widths = collate_lines([line_to_tensor(Image.open(r["image"]), enc.height, enc.width_multiple,
                                                   enc.max_width) for r in rows])
    ids = [[BOS] + tokenizer.encode(t) + [EOS] for t in texts]
    targets = torch.full((len(ids), max(map(len, ids))), PAD)
    for i, seq in enumerate(ids):
        targets[i, : len(seq)] = torch.tensor(seq)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for step in range(1500):
        model.train()
        logits = model(images, widths, targets[:, :-1])
        loss = F.cross_entropy(logits.transpose(1, 2), targets[:, 1:], ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 24:
            model.eval()
            if [tokenizer.decode(h.ids) for h in greedy_search(model, images, widths)] == texts:
                break
    model.eval()
    assert [tokenizer.decode(h.ids) for h in greedy_search(model, images, widths)] == texts
    assert [tokenizer.decode(h.ids) for h in beam_search(model, images, widths, beams=4)] == texts
