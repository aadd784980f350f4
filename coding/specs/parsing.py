"""The ``parsing`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
    # --- very easy ---------------------------------------------------------------------
    Spec(
        family="parsing",
        entry="parse_int",
        params="s",
        does="returns the integer written in the string `s`, which may have surrounding "
        "spaces and a leading + or - sign",
        reference="""\
def parse_int(s):
    return int(s.strip())
""",
        cases=((" 42 ",), ("-7",), ("+3",), ("0",), ("1000",)),
        bugs=(
            """\
def parse_int(s):
    return int(s.strip()
""",
        ),
    ),
    Spec(
        family="parsing",
        entry="parse_csv_line",
        params="s",
        does="returns the list of comma-separated fields in the string `s`, each with "
        "surrounding whitespace stripped (an empty list for an empty string)",
        reference="""\
def parse_csv_line(s):
    if s == "":
        return []
    return [field.strip() for field in s.split(",")]
""",
        cases=(("a,b,c",), (" x , y ",), ("one",), ("",), ("1, 2,,3",)),
    ),
    Spec(
        family="parsing",
        entry="parse_bool",
        params="s",
        does="checks whether the string `s`, ignoring case and surrounding whitespace, is "
        'one of "true", "yes" or "1" and returns True/False (False for anything else)',
        reference="""\
def parse_bool(s):
    return s.strip().lower() in ("true", "yes", "1")
""",
        cases=(("true",), (" YES ",), ("1",), ("no",), ("",), ("False",)),
        bugs=(
            """\
def parse_bool(s):
    t = s.strip().lower()
    if t = "true" or t = "yes" or t = "1":
        return True
    return False
""",
        ),
    ),
    Spec(
        family="parsing",
        entry="parse_int_list",
        params="s",
        does="returns the list of integers in the string `s`, where they are separated by "
        "one or more spaces, in their original order (an empty list for a blank string)",
        reference="""\
def parse_int_list(s):
    return [int(part) for part in s.split()]
""",
        cases=(("1 2 3",), ("  10   -4 ",), ("",), ("7",)),
    ),
    Spec(
        family="parsing",
        entry="parse_hex",
        params="s",
        does="returns the integer value of the hexadecimal string `s`, which may be upper "
        'or lower case and may start with "0x"',
        reference="""\
def parse_hex(s):
    return int(s, 16)
""",
        cases=(("ff",), ("0x1A",), ("0",), ("FFFF",), ("10",)),
    ),
    Spec(
        family="parsing",
        entry="parse_percent",
        params="s",
        does='returns the whole number in a percentage string `s` such as "45%" as an '
        "int (surrounding spaces allowed)",
        reference="""\
def parse_percent(s):
    return int(s.strip().rstrip("%"))
""",
        cases=(("45%",), ("100%",), ("0%",), (" 7% ",)),
    ),
    # --- easy-medium -------------------------------------------------------------------
    Spec(
        family="parsing",
        entry="parse_kv_pairs",
        params="s",
        does='returns a dict built from the string `s` of "key=value" pairs separated by '
        "semicolons, with keys and values kept as strings and empty segments (such as "
        "after a trailing semicolon) skipped; an empty string gives an empty dict",
        reference="""\
def parse_kv_pairs(s):
    result = {}
    for part in s.split(";"):
        if not part:
            continue
        key, value = part.split("=", 1)
        result[key] = value
    return result
""",
        cases=(("a=1;b=2",), ("",), ("name=bob;",), ("x=10;y=20;z=30",)),
        bugs=(
            """\
def parse_kv_pairs(s):
    result = {}
    for part in s.split(";"):
        if not part:
            continue
        key, value = part.split("=", 1)
        result[value] = key
    return result
""",
        ),
    ),
    Spec(
        family="parsing",
        entry="count_words",
        params="s",
        does="returns how many words the string `s` contains, a word being a maximal run "
        "of non-whitespace characters (0 for an empty or blank string)",
        reference="""\
def count_words(s):
    return len(s.split())
""",
        cases=(("hello world",), ("",), ("  lots   of   spaces  ",), ("one",), ("a\tb\nc",)),
    ),
    Spec(
        family="parsing",
        entry="parse_time_to_seconds",
        params="s",
        does='returns the total number of seconds in the time string `s` written as "HH:MM:SS"',
        reference="""\
def parse_time_to_seconds(s):
    hours, minutes, seconds = s.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
""",
        cases=(("00:00:00",), ("01:00:00",), ("00:01:05",), ("12:34:56",)),
    ),
    Spec(
        family="parsing",
        entry="parse_version",
        params="s",
        does="returns the list of integers in the dotted version string `s`, in order "
        '(for example [1, 2, 10] for "1.2.10")',
        reference="""\
def parse_version(s):
    parts = []
    for piece in s.split("."):
        parts.append(int(piece))
    return parts
""",
        cases=(("1.2.10",), ("3",), ("0.10.0",), ("2024.1",)),
        bugs=(
            """\
def parse_version(s):
    parts = []
    for piece in s.split("."):
    parts.append(int(piece))
    return parts
""",
        ),
    ),
    Spec(
        family="parsing",
        entry="parse_ints_from_text",
        params="s",
        does="returns a list of the integers formed by each maximal run of digits in the "
        "string `s`, in order of appearance (minus signs are ignored; an empty list when "
        "there are no digits)",
        reference="""\
def parse_ints_from_text(s):
    result = []
    current = ""
    for ch in s:
        if ch.isdigit():
            current += ch
        elif current:
            result.append(int(current))
            current = ""
    if current:
        result.append(int(current))
    return result
""",
        cases=(("a12b3",), ("no digits",), ("7 cats and 12 dogs",), ("x-5y",), ("2024",)),
    ),
    Spec(
        family="parsing",
        entry="parse_rgb_hex",
        params="s",
        does="returns the [red, green, blue] integer components (each 0-255) of the color "
        'string `s` written as "#RRGGBB" in hexadecimal (upper or lower case)',
        reference="""\
def parse_rgb_hex(s):
    s = s.lstrip("#")
    return [int(s[i:i + 2], 16) for i in (0, 2, 4)]
""",
        cases=(("#ff8000",), ("#000000",), ("#FFFFFF",), ("#1a2B3c",)),
    ),
    # --- harder ------------------------------------------------------------------------
    Spec(
        family="parsing",
        entry="parse_and_eval",
        params="s",
        does="returns the integer value of the arithmetic expression `s`, made of "
        "non-negative integers and the operators +, - and * separated by single spaces, "
        'evaluated strictly left to right with no operator precedence (so "3 + 4 * 2" '
        "gives 14)",
        reference="""\
def parse_and_eval(s):
    tokens = s.split()
    result = int(tokens[0])
    for i in range(1, len(tokens), 2):
        op = tokens[i]
        num = int(tokens[i + 1])
        if op == "+":
            result += num
        elif op == "-":
            result -= num
        elif op == "*":
            result *= num
    return result
""",
        cases=(("3 + 4 * 2",), ("7",), ("10 - 2 - 3",), ("2 * 3 + 4",), ("1 - 5 * 2",)),
    ),
    Spec(
        family="parsing",
        entry="parse_duration",
        params="s",
        does="returns the total number of seconds in the duration string `s` such as "
        '"1h30m15s", made of an integer followed by a unit (h for hours, m for minutes, '
        "s for seconds), where any unit may be left out (0 for an empty string)",
        reference="""\
def parse_duration(s):
    units = {"h": 3600, "m": 60, "s": 1}
    total = 0
    number = ""
    for ch in s:
        if ch.isdigit():
            number += ch
        else:
            total += int(number) * units[ch]
            number = ""
    return total
""",
        cases=(("1h30m15s",), ("45s",), ("2h",), ("10m5s",), ("",)),
    ),
    Spec(
        family="parsing",
        entry="parse_roman",
        params="s",
        does="returns the integer value of the upper-case Roman numeral `s` (I, V, X, L, C, "
        "D, M), with the subtractive forms such as IV = 4 and CM = 900",
        reference="""\
def parse_roman(s):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(s):
        value = values[ch]
        if i + 1 < len(s) and values[s[i + 1]] > value:
            total -= value
        else:
            total += value
    return total
""",
        cases=(("III",), ("IV",), ("IX",), ("LVIII",), ("MCMXCIV",)),
        bugs=(
            """\
def parse_roman(s):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for ch in s:
        total += values[ch]
    return total
""",
        ),
    ),
)
