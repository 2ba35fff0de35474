"""The invisible text layer's font: a TrueType font whose one glyph draws nothing and is 500/1000 em wide, like
Tesseract's and OCRmyPDF's GlyphLessFont. Every character of the text is shown with it; a ToUnicode CMap tells
PDF readers which character each code stands for, so any Unicode text can be selected, searched and copied."""
import struct
from typing import Dict

UNITS_PER_EM = 1000
ADVANCE = 500  # each character is half an em wide; the writer stretches lines to their box with Tz
ASCENT = 1000  # glyphs span baseline to one em above it: with the font size = box height, exactly the box


def checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def notdef_glyph() -> bytes:
    """Glyph 0 is a rectangle (some tools distrust an all-empty font); it is never shown."""
    header = struct.pack(">hhhhh", 1, 0, 0, ADVANCE, ASCENT)
    end_points, instructions = struct.pack(">H", 3), struct.pack(">H", 0)
    flags = bytes([1] * 4)  # on-curve points, coordinates as 16-bit deltas
    xs = struct.pack(">4h", 0, ADVANCE, 0, -ADVANCE)
    ys = struct.pack(">4h", 0, 0, ASCENT, 0)
    return header + end_points + instructions + flags + xs + ys


def name_table(font_name: str) -> bytes:
    strings = [(1, font_name), (2, "Regular"), (4, font_name), (6, font_name)]
    records, data = b"", b""
    for name_id, text in strings:
        encoded = text.encode("utf-16-be")
        records += struct.pack(">6H", 3, 1, 0x409, name_id, len(encoded), len(data))
        data += encoded
    return struct.pack(">3H", 0, len(strings), 6 + len(records)) + records + data


def font_tables(font_name: str) -> Dict[bytes, bytes]:
    glyph = notdef_glyph()  # glyph 1 is empty: it has no data in glyf
    cmap = struct.pack(">4HI", 0, 1, 3, 1, 12) + struct.pack(">8H", 4, 24, 0, 2, 2, 0, 0, 0xFFFF) \
        + struct.pack(">4H", 0, 0xFFFF, 1, 0)  # format 4 with only the closing segment: maps no characters
    return {
        b"cmap": cmap,
        b"glyf": glyph,
        b"head": struct.pack(">IIIIHHqqhhhhHHhhh", 0x10000, 0x10000, 0, 0x5F0F3CF5, 0b1011, UNITS_PER_EM, 0, 0,
                             0, 0, ADVANCE, ASCENT, 0, 3, 2, 0, 0),
        b"hhea": struct.pack(">IhhhHhhhhhhhhhhhH", 0x10000, ASCENT, 0, 0, ADVANCE, 0, 0, ADVANCE, 1, 0, 0,
                             0, 0, 0, 0, 0, 2),
        b"hmtx": struct.pack(">4H", ADVANCE, 0, ADVANCE, 0),
        b"loca": struct.pack(">3H", 0, len(glyph) // 2, len(glyph) // 2),
        b"maxp": struct.pack(">IH13H", 0x10000, 2, 4, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0),
        b"name": name_table(font_name),
        b"post": struct.pack(">IihhIIIII", 0x30000, 0, -100, 50, 1, 0, 0, 0, 0),
    }


def glyphless_truetype(font_name: str = "GlyphLessFont") -> bytes:
    """The font file (an sfnt with tables sorted by tag, 4-byte aligned, checksums and head's adjustment set)."""
    tables = font_tables(font_name)
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x10000, count, power * 16, power.bit_length() - 1, (count - power) * 16)
    offset = len(header) + 16 * count
    directory, body, where = b"", b"", {}
    for tag in sorted(tables):
        data, where[tag] = tables[tag], offset + len(body)
        directory += struct.pack(">4sIII", tag, checksum(data), where[tag], len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    # head.checkSumAdjustment (at byte 8) makes the whole file sum to the magic 0xB1B0AFBA
    struct.pack_into(">I", font, where[b"head"] + 8, (0xB1B0AFBA - checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


def to_unicode_cmap(characters) -> bytes:
    """A CMap mapping the 2-byte code i+1 to characters[i] (UTF-16BE, so characters beyond U+FFFF work too)."""
    entries = [f"<{code:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for code, ch in enumerate(characters, 1)]
    chunks = [entries[i:i + 100] for i in range(0, len(entries), 100)]  # at most 100 entries per bfchar block
    blocks = "".join(f"{len(c)} beginbfchar\n" + "\n".join(c) + "\nendbfchar\n" for c in chunks)
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + blocks +
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")
