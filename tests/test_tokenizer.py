import unicodedata

import pytest

from ocr.tokenizer import BOS, EOS, PAD, UNK, TextTokenizer


def test_char_level_round_trip_any_script_in_nfc():
    texts = ["Hooker wrote: 12 Dec. 1885 — “Kew”", "ἀρχὴ λόγου", "Ça coûte 3,50 €"]
    tok = TextTokenizer.char_level(texts)
    for t in texts:
        ids = tok.encode(t)
        assert len(ids) == len(t) and UNK not in ids
        assert tok.decode([BOS] + ids + [EOS, PAD]) == t
    decomposed = unicodedata.normalize("NFD", "Ça")
    assert tok.encode(decomposed) == tok.encode("Ça")  # NFC before lookup


def test_special_tokens_have_fixed_ids():
    tok = TextTokenizer.char_level(["ab"])
    assert [tok.tokenizer.token_to_id(t) for t in ("[PAD]", "[BOS]", "[EOS]", "[UNK]")] == [PAD, BOS, EOS, UNK]
    assert tok.vocab_size == 6


def test_unknown_characters_become_unk_and_are_reported():
    tok = TextTokenizer.char_level(["abc"])
    assert tok.encode("abz") == tok.encode("ab")[:2] + [UNK]
    assert tok.unknown_characters("abzé") == {"z", "é"}


def test_save_load_round_trip(tmp_path):
    tok = TextTokenizer.char_level(["the quick brown fox ¬"])
    tok.save(tmp_path / "tokenizer.json")
    again = TextTokenizer.load(tmp_path / "tokenizer.json")
    assert again.encode("quick fox¬") == tok.encode("quick fox¬") and again.charset == tok.charset


def test_extend_keeps_old_ids_and_appends_new_characters():
    tok = TextTokenizer.char_level(["bca"])
    grown = tok.extend("dab€")
    assert grown.vocab_size == tok.vocab_size + 2
    assert grown.encode("abc") == tok.encode("abc")
    assert grown.encode("d€") == [tok.vocab_size, tok.vocab_size + 1]


def test_bpe_round_trip_and_token_spans():
    texts = ["the cat sat on the mat", "the hat of the cat"] * 20
    tok = TextTokenizer.bpe(texts, vocab_size=60)
    ids = tok.encode("the cat sat")
    assert tok.decode(ids) == "the cat sat" and len(ids) < len("the cat sat")
    assert sum(tok.token_spans(ids)) == len("the cat sat")
    with pytest.raises(ValueError, match="character-level"):
        tok.extend("x")


def test_char_level_token_spans_are_one_per_character():
    tok = TextTokenizer.char_level(["ab"])
    assert tok.token_spans(tok.encode("abba") + [UNK]) == [1, 1, 1, 1, 0]
