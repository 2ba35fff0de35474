"""The bytes of a PDF file: numbered objects, Flate streams, the cross-reference table and trailer."""
import hashlib
import zlib
from typing import Dict, Optional


class PdfFile:
    def __init__(self):
        self.objects: Dict[int, bytes] = {}
        self.count = 0

    def reserve(self) -> int:
        """A number for an object written later (pages point at their parent before it exists)."""
        self.count += 1
        return self.count

    def add(self, body: str, number: Optional[int] = None) -> int:
        number = number or self.reserve()
        self.objects[number] = body.encode("ascii")
        return number

    def add_stream(self, dictionary: str, data: bytes, compress=True, number: Optional[int] = None) -> int:
        if compress:
            data, dictionary = zlib.compress(data, 6), dictionary + " /Filter /FlateDecode"
        number = number or self.reserve()
        self.objects[number] = (f"<< {dictionary} /Length {len(data)} >>\nstream\n".encode("ascii") + data
                                + b"\nendstream")
        return number

    def to_bytes(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")  # the binary comment tells tools the file is binary
        offsets = []
        for number in range(1, self.count + 1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode("ascii") + self.objects[number] + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {self.count + 1}\n0000000000 65535 f \n".encode("ascii")
        out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii")
        file_id = hashlib.md5(out).hexdigest()
        out += (f"trailer\n<< /Size {self.count + 1} /Root {root} 0 R /Info {info} 0 R "
                f"/ID [<{file_id}> <{file_id}>] >>\nstartxref\n{xref}\n%%EOF\n").encode("ascii")
        return bytes(out)
