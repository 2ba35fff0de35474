"""Text for synthetic lines: King James Bible prose mixed with generated records.

``sample_text(rng, ...)`` is deterministic for a seeded ``random.Random``
(given the same faker version, or none: faker is optional and falls back to
small built-in name lists).
"""

from __future__ import annotations

import datetime
import functools
import random
import re
from pathlib import Path

CORPUS_FILE = Path(__file__).with_name("corpus") / "kjv-extract.tsv"

PROSE_SHARE = 0.45  # then SCRAMBLED_SHARE of letter salad; rest: names, addresses, numbers, dates, money, punctuation
SCRAMBLED_SHARE = 0.2  # no language to guess from: the model must read every glyph (and learns to look sooner)
UPPERCASE_SHARE = 0.04  # headings and form labels are often all caps

_MONTHS = ["January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_FAKER_LOCALES = ["en_US"] * 4 + ["en_GB"] * 2 + ["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"]
_FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
          "William", "Elizabeth", "Thomas", "Margaret", "Anna", "Pierre", "Hans", "Sofia"]
_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
         "Taylor", "Clarke", "Walker", "Wright", "Martin", "Schmidt", "Rossi", "Dubois"]
_STREETS = ["High Street", "Main St.", "Church Road", "Oak Avenue", "Mill Lane",
            "Park Road", "Station Rd", "Elm Street", "Victoria Street", "Queen's Walk"]
_CITIES = ["London", "Boston", "Leeds", "Springfield", "Bristol", "Dover, DE",
           "Portland, OR", "York", "Bath", "Oxford", "Salem, MA", "Hamburg"]
_UNITS = ["kg", "g", "lb", "oz", "cm", "mm", "m", "km", "ft", "in.", "ml", "l"]
_SEPARATORS = [" ", " ", ", ", "; ", " - ", " | ", ": ", " / "]


def sample_text(rng: random.Random, min_chars: int = 1, max_chars: int = 80, typographic: float = 0.0,
                commentary: bool = False) -> str:
    """One line of text, min_chars..max_chars long, single-spaced, no edge spaces. A `typographic` share of lines
    is typeset: curly quotes and apostrophes, en and em dashes instead of their ASCII stand-ins (no draw is made at
    0, so older recipes get the same lines). `commentary`: a note of a classical commentary (`_commentary`)."""
    if not 1 <= min_chars <= max_chars:
        raise ValueError(f"need 1 <= min_chars <= max_chars, got {min_chars}, {max_chars}")
    target = rng.randint(min_chars, max_chars)
    kind = rng.random()
    text = (_commentary(rng, target) if commentary else _prose(rng, target) if kind < PROSE_SHARE
            else _scrambled(rng, target) if kind < PROSE_SHARE + SCRAMBLED_SHARE else _record(rng, target))
    text = _fit(text, min_chars, target)  # generators overshoot; cut back to target
    text = text.upper() if rng.random() < UPPERCASE_SHARE else text
    return typeset(text) if typographic and rng.random() < typographic else text


_OPENS_AFTER = " ([{-/\u2014"  # a quote after these (or at the start) opens; anywhere else it closes or elides


def typeset(text: str) -> str:
    """ASCII quotes, apostrophes and dashes as a typesetter prints them: "a" -> “a”, don't -> don’t,
    pp. 12-45 -> pp. 12–45 (not 2026-11-25), a - b -> a – b, a--b -> a—b. Lengths may shrink."""
    text = text.replace("--", "\u2014").replace(" - ", " \u2013 ")
    text = re.sub(r"(?<![\d-])(\d+)-(\d+)(?![\d-])", "\\1\u2013\\2", text)  # a range; dates keep hyphens
    out = []
    for i, c in enumerate(text):
        opens = i == 0 or text[i - 1] in _OPENS_AFTER
        if c == '"':
            c = "\u201c" if opens else "\u201d"
        elif c == "'":
            c = "\u2018" if opens else "\u2019"
        out.append(c)
    return "".join(out)


@functools.lru_cache(maxsize=1)
def bible_verses() -> list[tuple[str, str]]:
    """(reference, text) pairs of the committed KJV extract."""
    verses = []
    for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines():
        ref, _, text = line.partition("\t")
        if text:
            verses.append((ref, text))
    return verses


def _prose(rng, target):
    """Running text from a random word of a random verse, across verse ends."""
    verses = bible_verses()
    i = rng.randrange(len(verses))
    words = verses[i][1].split()
    words = words[rng.randrange(len(words)) if rng.random() < 0.6 else 0:]
    if rng.random() < 0.05:
        words = [verses[i][0]] + words  # a citation, e.g. "Psalms 23:1"
    text = " ".join(words)
    while len(text) < target:
        i = (i + 1) % len(verses)
        text += " " + verses[i][1]
    if rng.random() < 0.15:  # prose with a figure in it, as in letters and reports
        cut = text.find(" ", rng.randrange(max(1, target)))
        if cut > 0:
            text = f"{text[:cut]} {rng.choice(_RECORD_PARTS)(rng)}{text[cut:]}"
    return text


_WORKS = ["Ant.", "El.", "O. T.", "O. C.", "Phil.", "Trach.", "Aj.", "Il.", "Od.", "Thuc.", "Hdt.", "Pind.",
          "Aesch.", "Eur.", "Ar.", "Plat.", "Xen.", "Verg.", "Hor.", "Cic."]


def _citation(rng):
    """A reference as classical commentaries print them: 'Ant. 820', '(1294)', 'Thuc. I. 11 § 1', 'supr. 165 foll.'."""
    n, work, k = rng.randint(1, 1600), rng.choice(_WORKS), rng.randint(1, 60)
    return rng.choice([
        f"{work} {n}", f"({n})", f"on {work} {n}", f"cp. {work} {n}", f"cf. {n}", f"see on {n}",
        f"{work} {_roman(rng.randint(1, 24))}. {rng.randint(1, 150)} § {rng.randint(1, 12)}",
        f"§ {k}", f"§§ {k}-{k + rng.randint(1, 5)}", f"p. {rng.randint(1, 600)}", f"n. {rng.randint(1, 9)}",
        f"supr. {n} foll.", f"infr. {n}", f"v. {n}", f"vv. {n}-{n + rng.randint(1, 9)}", f"l. {n}", f"{n} ff.",
        f"{n} f.", f"schol. on {n}", f"(e.g. {_roman(rng.randint(1, 24))}. {rng.randint(1, 600)}; {n})",
    ])


def _commentary(rng, target):
    """Prose with line references, section signs and page numbers in it, as in the notes of an edition."""
    words = _prose(rng, target).split()
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(min(len(words), max(1, target // 6)) + 1)  # early: _fit keeps the start
        cite, end = _citation(rng), rng.choice(["", "", ",", ".", ";", ":", ".\u2014"])
        words.insert(at, cite + (end[1:] if cite.endswith(".") and end.startswith(".") else end))
    return " ".join(words)


_SCRAMBLE_POOL = ("etaoinshrdlucmfwypvbgkjqxz" * 3 + "ETAOINSHRDLUCMFWYPVBGKJQXZ" + "0123456789"
                  + ".,;:'\"!?()-&/")


def _scrambled(rng, target):
    """Random characters in word-sized groups."""
    words = []
    while len(" ".join(words)) < target:
        words.append("".join(rng.choice(_SCRAMBLE_POOL) for _ in range(rng.randint(1, 9))))
    return " ".join(words)


def _record(rng, target):
    """Generated fields joined the way forms, ledgers and letterheads join them."""
    sep = rng.choice(_SEPARATORS)
    parts = [rng.choice(_RECORD_PARTS)(rng)]
    while len(sep.join(parts)) < target:
        parts.append(rng.choice(_RECORD_PARTS)(rng))
    return sep.join(parts)


def _fit(text, min_chars, max_chars):
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    if cut >= min_chars:
        return text[:cut]  # end on a word boundary when the length allows
    for start in range(len(text) - max_chars + 1):
        window = text[start:start + max_chars]
        if window[0] != " " and window[-1] != " ":
            return window
    return text[:max_chars].strip()


def _number(rng):
    n = int(10 ** rng.uniform(0, 7))
    kind = rng.randrange(12)
    if kind == 0:
        return f"{n:,}"
    if kind == 1:
        return f"{n / 100:.2f}"
    if kind == 2:
        return f"{rng.uniform(0, 100):.{rng.randint(0, 2)}f}%"
    if kind == 3:
        return _ordinal(rng.randint(1, 120))
    if kind == 4:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if kind == 5:
        return f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(['am', 'pm', 'a.m.', 'p.m.', 'AM', 'PM'])}"
    if kind == 6:
        return f"{rng.choice(['No.', 'Nr.', '#', 'Ref.', 'Inv.'])} {rng.randint(1, 99999)}{rng.choice(['', '', '-' + rng.choice('ABCDXYZ')])}"
    if kind == 7:
        return f"{rng.choice(['p.', 'pp.', 'vol.', 'ch.', 'fig.', '§'])} {rng.randint(1, 400)}{rng.choice(['', '-' + str(rng.randint(401, 900))])}"
    if kind == 8:
        return f"{rng.randint(1, 9)}/{rng.choice([2, 3, 4, 8, 16])}"
    if kind == 9:
        return f"{rng.uniform(0.1, 500):.{rng.randint(0, 2)}f} {rng.choice(_UNITS)}"
    if kind == 10:
        return _roman(rng.randint(1, 60))
    return str(n)


def _date(rng):
    d = datetime.date(1600, 1, 1) + datetime.timedelta(days=rng.randrange(430 * 365))
    month = _MONTHS[d.month - 1]
    return rng.choice([
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.month}/{d.day}/{d.year % 100:02d}",
        f"{d.year}-{d.month:02d}-{d.day:02d}",
        f"{d.day}.{d.month}.{d.year}",
        f"{d.day} {month} {d.year}",
        f"{month} {d.day}, {d.year}",
        f"{month[:3]}. {d.day}, {d.year}",
        f"{_DAYS[d.weekday()]}, {d.day} {month[:3]} {d.year}",
        f"the {_ordinal(d.day)} of {month}, {d.year}",
        f"{d.day}-{month[:3].upper()}-{d.year}",
    ])


def _money(rng):
    amount = 10 ** rng.uniform(-1, 6)
    cents = f"{amount:,.2f}"
    return rng.choice([
        f"${cents}", f"£{cents}", f"€{cents}", f"{cents} €", f"USD {cents}",
        f"{cents} EUR", f"-${cents}", f"({cents})", f"${int(amount):,}",
        f"£{int(amount)} {rng.randint(0, 19)}s. {rng.randint(0, 11)}d.",  # old sterling
        f"{amount:.2f}".replace(".", ",") + " €",
    ])


def _punctuated(rng):
    words = rng.choice(bible_verses())[1].split()
    start = rng.randrange(len(words))
    phrase = " ".join(words[start:start + rng.randint(1, 5)]).strip(".,;:?!")
    return rng.choice([
        f'"{phrase},"', f"'{phrase}'", f"“{phrase}”", f"‘{phrase}’", f"({phrase})",
        f"[{phrase}]", f"{phrase}...", f"{phrase}!?", f"{phrase} — ", f"{phrase} – ",
        f"{phrase}; cf. {_number(rng)}", f"*{phrase}*", f"{phrase} & Co.",
        f"{phrase}, etc.", f"e.g. {phrase}", f"i.e., {phrase}", f"{phrase}?",
        f"{phrase} [sic]", f"{phrase}: {_number(rng)}", f"<{phrase}>", f"{phrase} @ {_money(rng)}",
    ])


def _person(rng):
    fake = _faker_for(rng)
    if fake:
        return rng.choice([fake.name, fake.name, fake.last_name, fake.company, fake.job])()
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    return rng.choice([name, f"{rng.choice(['Mr.', 'Mrs.', 'Dr.', 'Rev.'])} {name}",
                       f"{rng.choice(_LAST)}, {rng.choice(_FIRST)[0]}."])


def _address(rng):
    fake = _faker_for(rng)
    if fake:
        make = rng.choice([fake.address, fake.street_address, fake.city,
                           fake.phone_number, fake.email, fake.postcode])
        return make().replace("\n", ", ")
    return rng.choice([
        f"{rng.randint(1, 999)} {rng.choice(_STREETS)}",
        f"{rng.choice(_CITIES)} {rng.randint(10000, 99999)}",
        f"Tel. {rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        f"{rng.choice(_FIRST).lower()}.{rng.choice(_LAST).lower()}@example.com",
    ])


def _reference(rng):
    return rng.choice(bible_verses())[0]


def _faker_for(rng):
    """A faker instance seeded from rng, or None without faker installed."""
    fake = _faker(rng.choice(_FAKER_LOCALES))
    if fake is not None:
        fake.seed_instance(rng.getrandbits(32))
    return fake


@functools.lru_cache(maxsize=None)
def _faker(locale):
    try:
        from faker import Faker
    except ImportError:
        return None
    return Faker(locale)


def _ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _roman(n):
    out = ""
    for value, numeral in [(50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]:
        while n >= value:
            out, n = out + numeral, n - value
    return out


_RECORD_PARTS = [_number, _number, _date, _date, _money, _money, _punctuated,
                 _person, _person, _address, _address, _reference]
