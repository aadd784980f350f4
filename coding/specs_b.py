"""Code-task templates, second half: the ``recursion``, ``parsing``, ``sorting`` and
``dates`` families, fifteen functions each.

Each family mixes about six one-liners a tiny chat model gets right, six easy-medium
functions and three harder ones, so that pass rates spread out rather than sitting at 0
or 100 %. Five functions per family carry one buggy version for the debugging tasks:
roughly half do not compile (a missing colon or parenthesis, bad indentation, ``=`` for
``==``) and half run but give a wrong answer on at least one case (wrong base case,
off-by-one, wrong sort key, a missing ``reverse=True``, month and day swapped).
Expected outputs come from running ``reference`` on ``cases``
(:mod:`howsure.coding.builder`).
"""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

_RECURSION = (
    # --- very easy ---------------------------------------------------------------------
    Spec(
        family="recursion",
        entry="factorial_rec",
        params="n",
        does="returns the factorial of the non-negative integer `n`, computed recursively "
        "(the factorial of 0 is 1)",
        reference="""\
def factorial_rec(n):
    if n <= 1:
        return 1
    return n * factorial_rec(n - 1)
""",
        cases=((0,), (1,), (5,), (7,), (10,)),
        bugs=(
            """\
def factorial_rec(n):
    if n <= 1:
        return 0
    return n * factorial_rec(n - 1)
""",
        ),
    ),
    Spec(
        family="recursion",
        entry="fib",
        params="n",
        does="returns the `n`-th Fibonacci number, computed recursively, where fib(0) is 0 "
        "and fib(1) is 1",
        reference="""\
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
""",
        cases=((0,), (1,), (2,), (7,), (10,)),
        bugs=(
            """\
def fib(n):
    if n < 2
        return n
    return fib(n - 1) + fib(n - 2)
""",
        ),
    ),
    Spec(
        family="recursion",
        entry="sum_to_n_rec",
        params="n",
        does="returns the sum 1 + 2 + ... + `n` for a non-negative integer `n`, computed "
        "recursively (0 when `n` is 0)",
        reference="""\
def sum_to_n_rec(n):
    if n <= 0:
        return 0
    return n + sum_to_n_rec(n - 1)
""",
        cases=((0,), (1,), (4,), (10,), (100,)),
    ),
    Spec(
        family="recursion",
        entry="countdown_rec",
        params="n",
        does="returns the list [`n`, `n` - 1, ..., 1] for a non-negative integer `n`, built "
        "recursively (an empty list when `n` is 0)",
        reference="""\
def countdown_rec(n):
    if n <= 0:
        return []
    return [n] + countdown_rec(n - 1)
""",
        cases=((0,), (1,), (3,), (6,)),
    ),
    Spec(
        family="recursion",
        entry="power_rec",
        params="base, exp",
        does="returns `base` raised to the non-negative integer power `exp`, computed "
        "recursively (1 when `exp` is 0)",
        reference="""\
def power_rec(base, exp):
    if exp == 0:
        return 1
    return base * power_rec(base, exp - 1)
""",
        cases=((2, 0), (2, 10), (3, 3), (5, 1), (-2, 3)),
        bugs=(
            """\
def power_rec(base, exp):
    if exp == 0:
    return 1
    return base * power_rec(base, exp - 1)
""",
        ),
    ),
    Spec(
        family="recursion",
        entry="list_sum_rec",
        params="xs",
        does="returns the sum of the integers in the list `xs`, computed recursively "
        "(0 for an empty list)",
        reference="""\
def list_sum_rec(xs):
    if not xs:
        return 0
    return xs[0] + list_sum_rec(xs[1:])
""",
        cases=(([],), ([5],), ([1, 2, 3, 4],), ([-3, 10, -7],)),
    ),
    # --- easy-medium -------------------------------------------------------------------
    Spec(
        family="recursion",
        entry="digit_sum_rec",
        params="n",
        does="returns the sum of the decimal digits of the non-negative integer `n`, "
        "computed recursively (0 for 0)",
        reference="""\
def digit_sum_rec(n):
    if n < 10:
        return n
    return n % 10 + digit_sum_rec(n // 10)
""",
        cases=((0,), (7,), (123,), (9999,), (1005,)),
        bugs=(
            """\
def digit_sum_rec(n):
    if n < 10:
        return n
    return n // 10 + digit_sum_rec(n % 10)
""",
        ),
    ),
    Spec(
        family="recursion",
        entry="power_set_size",
        params="xs",
        does="returns the number of subsets of the list `xs` (its power set's size, counting "
        "the empty set and treating every element as distinct)",
        reference="""\
def power_set_size(xs):
    if not xs:
        return 1
    return 2 * power_set_size(xs[1:])
""",
        cases=(([],), ([1],), ([1, 2, 3],), (["a", "b", "c", "d", "e"],)),
    ),
    Spec(
        family="recursion",
        entry="gcd_rec",
        params="a, b",
        does="returns the greatest common divisor of the non-negative integers `a` and `b` "
        "(not both 0) using Euclid's algorithm recursively; the gcd of `a` and 0 is `a`",
        reference="""\
def gcd_rec(a, b):
    if b == 0:
        return a
    return gcd_rec(b, a % b)
""",
        cases=((12, 18), (7, 0), (0, 9), (17, 5), (100, 75)),
    ),
    Spec(
        family="recursion",
        entry="reverse_text_rec",
        params="s",
        does="returns the string `s` reversed, built recursively (the empty string stays empty)",
        reference="""\
def reverse_text_rec(s):
    if len(s) <= 1:
        return s
    return reverse_text_rec(s[1:]) + s[0]
""",
        cases=(("",), ("a",), ("abc",), ("hello world",)),
    ),
    Spec(
        family="recursion",
        entry="is_palindrome_rec",
        params="s",
        does="checks recursively whether the string `s` reads the same forwards and "
        "backwards (case-sensitive, every character counts) and returns True/False; "
        "the empty string is a palindrome",
        reference="""\
def is_palindrome_rec(s):
    if len(s) <= 1:
        return True
    if s[0] != s[-1]:
        return False
    return is_palindrome_rec(s[1:-1])
""",
        cases=(("",), ("racecar",), ("abba",), ("abca",), ("Aa",)),
    ),
    Spec(
        family="recursion",
        entry="to_binary_rec",
        params="n",
        does="returns the binary representation of the non-negative integer `n` as a string "
        'of 0s and 1s without a prefix, built recursively ("0" for 0)',
        reference="""\
def to_binary_rec(n):
    if n < 2:
        return str(n)
    return to_binary_rec(n // 2) + str(n % 2)
""",
        cases=((0,), (1,), (5,), (10,), (255,)),
    ),
    # --- harder ------------------------------------------------------------------------
    Spec(
        family="recursion",
        entry="flatten_rec",
        params="xs",
        does="returns a flat list of all the non-list items in the arbitrarily nested list "
        "`xs`, in left-to-right order, using recursion (an empty list for no items)",
        reference="""\
def flatten_rec(xs):
    result = []
    for x in xs:
        if isinstance(x, list):
            result.extend(flatten_rec(x))
        else:
            result.append(x)
    return result
""",
        cases=(
            ([1, [2, [3]], 4],),
            ([],),
            ([[[]]],),
            ([1, 2, 3],),
            ([[1, 2], [3, [4, [5, "a"]]]],),
        ),
        bugs=(
            """\
def flatten_rec(xs):
    result = []
    for x in xs:
        if isinstance(x, list):
            result.append(flatten_rec(x))
        else:
            result.append(x)
    return result
""",
        ),
    ),
    Spec(
        family="recursion",
        entry="nesting_depth_rec",
        params="xs",
        does="returns how deeply the list `xs` is nested, computed recursively: a list with "
        "no lists inside it (including the empty list) has depth 1, and each level of "
        "inner lists adds 1",
        reference="""\
def nesting_depth_rec(xs):
    deepest = 0
    for x in xs:
        if isinstance(x, list):
            deepest = max(deepest, nesting_depth_rec(x))
    return 1 + deepest
""",
        cases=(([],), ([1, 2, 3],), ([1, [2]],), ([[1], [2, [3, [4]]]],), ([[[]]],)),
    ),
    Spec(
        family="recursion",
        entry="permutations_rec",
        params="s",
        does="returns a list of all orderings of the characters of the string `s` (whose "
        "characters are all different), generated recursively and sorted alphabetically; "
        'for the empty string it returns [""]',
        reference="""\
def permutations_rec(s):
    if len(s) <= 1:
        return [s]
    result = []
    for i, ch in enumerate(s):
        for rest in permutations_rec(s[:i] + s[i + 1:]):
            result.append(ch + rest)
    return sorted(result)
""",
        cases=(("",), ("a",), ("ab",), ("abc",), ("cab",)),
    ),
)

_PARSING = (
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

_SORTING = (
    # --- very easy ---------------------------------------------------------------------
    Spec(
        family="sorting",
        entry="sort_ascending",
        params="xs",
        does="returns a new list with the numbers of `xs` sorted in ascending order",
        reference="""\
def sort_ascending(xs):
    return sorted(xs)
""",
        cases=(([3, 1, 2],), ([],), ([5, -1, 5, 0],), ([1],)),
    ),
    Spec(
        family="sorting",
        entry="sort_descending",
        params="xs",
        does="returns a new list with the numbers of `xs` sorted from largest to smallest",
        reference="""\
def sort_descending(xs):
    return sorted(xs, reverse=True)
""",
        cases=(([3, 1, 2],), ([],), ([5, -1, 5, 0],), ([1],)),
        bugs=(
            """\
def sort_descending(xs):
    return sorted(xs)
""",
        ),
    ),
    Spec(
        family="sorting",
        entry="sort_by_length",
        params="words",
        does="returns a new list with the strings of `words` sorted from shortest to "
        "longest, keeping the original order of strings of equal length",
        reference="""\
def sort_by_length(words):
    return sorted(words, key=len)
""",
        cases=(
            (["banana", "kiwi", "apple", "fig"],),
            ([],),
            (["bb", "a", "cc", "d"],),
            (["same"],),
        ),
    ),
    Spec(
        family="sorting",
        entry="sort_ignore_case",
        params="words",
        does="returns a new list with the strings of `words` sorted alphabetically ignoring "
        "upper/lower case, keeping the original order of strings that differ only in case",
        reference="""\
def sort_ignore_case(words):
    return sorted(words, key=str.lower)
""",
        cases=((["banana", "Apple", "cherry"],), ([],), (["b", "B", "a"],), (["Zed", "amy"],)),
    ),
    Spec(
        family="sorting",
        entry="sort_unique",
        params="xs",
        does="returns a list of the distinct values of `xs` sorted in ascending order, each "
        "appearing once",
        reference="""\
def sort_unique(xs):
    return sorted(set(xs))
""",
        cases=(([3, 1, 3, 2, 1],), ([],), ([7, 7, 7],), ([-2, 5, 0, -2],)),
    ),
    Spec(
        family="sorting",
        entry="sort_chars",
        params="s",
        does="returns a string made of the characters of `s` sorted in ascending order "
        "(the empty string stays empty)",
        reference="""\
def sort_chars(s):
    return "".join(sorted(s))
""",
        cases=(("banana",), ("",), ("dcba",), ("hello",)),
        bugs=(
            """\
def sort_chars(s)
    return "".join(sorted(s))
""",
        ),
    ),
    # --- easy-medium -------------------------------------------------------------------
    Spec(
        family="sorting",
        entry="sort_pairs_by_second",
        params="pairs",
        does="returns a new list of the two-element lists in `pairs` sorted by their second "
        "item in ascending order, keeping the original order of pairs with equal second "
        "items",
        reference="""\
def sort_pairs_by_second(pairs):
    return sorted(pairs, key=lambda p: p[1])
""",
        cases=(
            ([[1, 3], [2, 1], [3, 2]],),
            ([],),
            ([["a", 2], ["b", 1], ["c", 2]],),
            ([[5, 0]],),
        ),
        bugs=(
            """\
def sort_pairs_by_second(pairs):
    return sorted(pairs, key=lambda p: p[0])
""",
        ),
    ),
    Spec(
        family="sorting",
        entry="sort_by_abs",
        params="xs",
        does="returns a new list with the numbers of `xs` sorted by absolute value, "
        "smallest first, keeping the original order of numbers with equal absolute value",
        reference="""\
def sort_by_abs(xs):
    return sorted(xs, key=abs)
""",
        cases=(([-3, 1, -2, 2],), ([],), ([5, -5, 0],), ([-10, 3, -1],)),
    ),
    Spec(
        family="sorting",
        entry="sort_evens_first",
        params="xs",
        does="returns a new list with the even integers of `xs` in ascending order "
        "followed by the odd integers of `xs` in ascending order",
        reference="""\
def sort_evens_first(xs):
    evens = sorted(x for x in xs if x % 2 == 0)
    odds = sorted(x for x in xs if x % 2 != 0)
    return evens + odds
""",
        cases=(([5, 2, 8, 1, 4],), ([],), ([3, 1],), ([-3, -2, 0, 7, 6],)),
    ),
    Spec(
        family="sorting",
        entry="sort_keys_by_value",
        params="d",
        does="returns a list of the keys of the dict `d` sorted by their values in "
        "ascending order, with keys of equal value in alphabetical order (an empty list "
        "for an empty dict)",
        reference="""\
def sort_keys_by_value(d):
    return sorted(d, key=lambda k: (d[k], k))
""",
        cases=(
            ({"a": 3, "b": 1, "c": 2},),
            ({},),
            ({"z": 1, "y": 1, "x": 0},),
            ({"only": 5},),
        ),
    ),
    Spec(
        family="sorting",
        entry="sort_words_in_sentence",
        params="s",
        does="returns a string of the lowercase words of `s` (separated by spaces) sorted "
        "alphabetically and joined by single spaces (an empty string for an empty `s`)",
        reference="""\
def sort_words_in_sentence(s):
    return " ".join(sorted(s.split()))
""",
        cases=(("the quick brown fox",), ("",), ("b a",), ("one two three two",)),
    ),
    Spec(
        family="sorting",
        entry="sort_kth_smallest",
        params="xs, k",
        does="returns the `k`-th smallest value of the list `xs`, counting from 1 "
        "(duplicates count separately, so `k` = 1 gives the minimum)",
        reference="""\
def sort_kth_smallest(xs, k):
    return sorted(xs)[k - 1]
""",
        cases=(([7, 2, 9, 4], 1), ([7, 2, 9, 4], 3), ([5, 1, 5], 3), ([10], 1)),
        bugs=(
            """\
def sort_kth_smallest(xs, k):
    return sorted(xs)[k]
""",
        ),
    ),
    # --- harder ------------------------------------------------------------------------
    Spec(
        family="sorting",
        entry="sort_records",
        params="records, key",
        does="returns a new list of the dicts in `records` sorted by the value under `key` "
        'in ascending order, with ties broken by the value under "name" in ascending '
        "order",
        reference="""\
def sort_records(records, key):
    return sorted(records, key=lambda r: (r[key], r["name"]))
""",
        cases=(
            (
                [
                    {"name": "bob", "age": 30},
                    {"name": "amy", "age": 25},
                    {"name": "al", "age": 30},
                ],
                "age",
            ),
            ([], "age"),
            (
                [
                    {"name": "cy", "score": 2},
                    {"name": "bo", "score": 1},
                    {"name": "ann", "score": 2},
                ],
                "score",
            ),
            ([{"name": "b", "age": 1}, {"name": "a", "age": 2}], "name"),
        ),
        bugs=(
            """\
def sort_records(records, key):
    return sorted(records, key=lambda r: (r[key], r["name"])
""",
        ),
    ),
    Spec(
        family="sorting",
        entry="sort_bubble_swaps",
        params="xs",
        does="returns how many adjacent swaps bubble sort makes to sort the list `xs` in "
        "ascending order, swapping only when the left item is strictly greater (0 for an "
        "already sorted or empty list)",
        reference="""\
def sort_bubble_swaps(xs):
    items = list(xs)
    swaps = 0
    for i in range(len(items)):
        for j in range(len(items) - 1 - i):
            if items[j] > items[j + 1]:
                items[j], items[j + 1] = items[j + 1], items[j]
                swaps += 1
    return swaps
""",
        cases=(([1, 2, 3],), ([3, 2, 1],), ([2, 1, 3, 1],), ([],), ([5, 1, 4, 2, 3],)),
    ),
    Spec(
        family="sorting",
        entry="sort_by_frequency",
        params="xs",
        does="returns a new list with the values of `xs` ordered by how often they occur, "
        "most frequent first, with ties in ascending order of value and equal values kept "
        "together (an empty list for an empty `xs`)",
        reference="""\
def sort_by_frequency(xs):
    counts = {}
    for x in xs:
        counts[x] = counts.get(x, 0) + 1
    return sorted(xs, key=lambda x: (-counts[x], x))
""",
        cases=(([4, 6, 2, 6, 4, 4],), ([],), ([3, 1, 2],), ([5, 5, 1, 1, 2],)),
    ),
)

_DATES = (
    # --- very easy ---------------------------------------------------------------------
    Spec(
        family="dates",
        entry="is_leap_year",
        params="year",
        does="checks whether `year` is a leap year in the Gregorian calendar (divisible by "
        "4, except centuries not divisible by 400) and returns True/False",
        reference="""\
def is_leap_year(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
""",
        cases=((2024,), (2023,), (1900,), (2000,), (2100,)),
        bugs=(
            """\
def is_leap_year(year):
    return year % 4 == 0
""",
        ),
    ),
    Spec(
        family="dates",
        entry="year_of_date",
        params="s",
        does="returns the year, as an int, of the date string `s` written as 'YYYY-MM-DD'",
        reference="""\
def year_of_date(s):
    return int(s[:4])
""",
        cases=(("2024-03-15",), ("1999-12-31",), ("2000-01-01",), ("0987-06-05",)),
        bugs=(
            """\
def year_of_date(s)
    return int(s[:4])
""",
        ),
    ),
    Spec(
        family="dates",
        entry="month_of_date",
        params="s",
        does="returns the month number (1-12), as an int, of the date string `s` written "
        "as 'YYYY-MM-DD'",
        reference="""\
def month_of_date(s):
    return int(s[5:7])
""",
        cases=(("2024-03-15",), ("1999-12-31",), ("2000-01-01",), ("2023-10-09",)),
    ),
    Spec(
        family="dates",
        entry="days_in_month",
        params="year, month",
        does="returns the number of days in month `month` (1-12) of year `year`, counting "
        "29 days for February in leap years",
        reference="""\
def days_in_month(year, month):
    import calendar
    return calendar.monthrange(year, month)[1]
""",
        cases=((2023, 1), (2023, 2), (2024, 2), (2023, 4), (1900, 2)),
    ),
    Spec(
        family="dates",
        entry="format_date",
        params="year, month, day",
        does="returns the date given by the integers `year`, `month` and `day` as a string "
        "'YYYY-MM-DD', with the month and day zero-padded to two digits",
        reference="""\
def format_date(year, month, day):
    return f"{year:04d}-{month:02d}-{day:02d}"
""",
        cases=((2024, 3, 5), (1999, 12, 31), (2000, 1, 10), (2023, 11, 2)),
        bugs=(
            """\
def format_date(year, month, day):
    return f"{year:04d}-{day:02d}-{month:02d}"
""",
        ),
    ),
    Spec(
        family="dates",
        entry="date_to_dmy",
        params="s",
        does="returns the date string `s`, written as 'YYYY-MM-DD', rewritten as 'DD/MM/YYYY'",
        reference="""\
def date_to_dmy(s):
    year, month, day = s.split("-")
    return day + "/" + month + "/" + year
""",
        cases=(("2024-03-15",), ("1999-12-31",), ("2000-01-02",), ("2023-10-09",)),
    ),
    # --- easy-medium -------------------------------------------------------------------
    Spec(
        family="dates",
        entry="days_between_dates",
        params="a, b",
        does="returns the number of days between the dates `a` and `b`, both written as "
        "'YYYY-MM-DD', as a non-negative int whichever date comes first (0 for the same "
        "date)",
        reference="""\
def days_between_dates(a, b):
    import datetime
    d1 = datetime.date.fromisoformat(a)
    d2 = datetime.date.fromisoformat(b)
    return abs((d2 - d1).days)
""",
        cases=(
            ("2024-01-01", "2024-01-31"),
            ("2024-03-01", "2024-02-01"),
            ("2023-05-05", "2023-05-05"),
            ("1999-12-31", "2000-01-01"),
        ),
    ),
    Spec(
        family="dates",
        entry="weekday_name_of_date",
        params="s",
        does="returns the English weekday name ('Monday' to 'Sunday') of the date string "
        "`s` written as 'YYYY-MM-DD'",
        reference="""\
def weekday_name_of_date(s):
    import datetime
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    return names[datetime.date.fromisoformat(s).weekday()]
""",
        cases=(("2024-01-01",), ("2000-01-01",), ("2023-12-25",), ("2024-02-29",)),
        bugs=(
            """\
def weekday_name_of_date(s):
    import datetime
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
    return names[datetime.date.fromisoformat(s).weekday()]
""",
        ),
    ),
    Spec(
        family="dates",
        entry="day_of_year_date",
        params="s",
        does="returns the day of the year (1 for January 1st) of the date string `s` "
        "written as 'YYYY-MM-DD', counting February 29th in leap years",
        reference="""\
def day_of_year_date(s):
    import datetime
    return datetime.date.fromisoformat(s).timetuple().tm_yday
""",
        cases=(("2023-01-01",), ("2024-03-01",), ("2023-03-01",), ("2024-12-31",)),
    ),
    Spec(
        family="dates",
        entry="is_weekend_date",
        params="s",
        does="checks whether the date string `s`, written as 'YYYY-MM-DD', falls on a "
        "Saturday or Sunday and returns True/False",
        reference="""\
def is_weekend_date(s):
    import datetime
    return datetime.date.fromisoformat(s).weekday() >= 5
""",
        cases=(("2024-01-06",), ("2024-01-07",), ("2024-01-08",), ("2023-12-29",)),
    ),
    Spec(
        family="dates",
        entry="age_on_date",
        params="birth, on",
        does="returns the age in whole years, on the date `on`, of someone born on the "
        "date `birth`, both written as 'YYYY-MM-DD' (the age goes up on the birthday "
        "itself)",
        reference="""\
def age_on_date(birth, on):
    import datetime
    b = datetime.date.fromisoformat(birth)
    o = datetime.date.fromisoformat(on)
    years = o.year - b.year
    if (o.month, o.day) < (b.month, b.day):
        years -= 1
    return years
""",
        cases=(
            ("2000-05-20", "2024-05-20"),
            ("2000-05-20", "2024-05-19"),
            ("1990-12-31", "2024-01-01"),
            ("2010-01-01", "2010-06-01"),
        ),
    ),
    Spec(
        family="dates",
        entry="minutes_between_times",
        params="a, b",
        does="returns the number of minutes from the time `a` to the later-or-equal time "
        "`b` on the same day, both written as 'HH:MM' in 24-hour format",
        reference="""\
def minutes_between_times(a, b):
    ha, ma = a.split(":")
    hb, mb = b.split(":")
    return (int(hb) * 60 + int(mb)) - (int(ha) * 60 + int(ma))
""",
        cases=(("09:00", "17:30"), ("00:00", "23:59"), ("12:15", "12:15"), ("08:45", "10:05")),
    ),
    # --- harder ------------------------------------------------------------------------
    Spec(
        family="dates",
        entry="add_days_to_date",
        params="s, n",
        does="returns the date `n` days after the date string `s` (before it when `n` is "
        "negative) as a string 'YYYY-MM-DD', where `s` is also written as 'YYYY-MM-DD'",
        reference="""\
def add_days_to_date(s, n):
    import datetime
    d = datetime.date.fromisoformat(s) + datetime.timedelta(days=n)
    return d.isoformat()
""",
        cases=(
            ("2024-01-30", 2),
            ("2024-02-28", 1),
            ("2023-12-31", 1),
            ("2024-03-01", -1),
            ("2024-05-05", 0),
        ),
        bugs=(
            """\
def add_days_to_date(s, n):
    import datetime
    if n = 0:
        return s
    d = datetime.date.fromisoformat(s) + datetime.timedelta(days=n)
    return d.isoformat()
""",
        ),
    ),
    Spec(
        family="dates",
        entry="last_day_of_month_date",
        params="s",
        does="returns the last day of the month containing the date string `s`, both "
        "written as 'YYYY-MM-DD'",
        reference="""\
def last_day_of_month_date(s):
    import calendar
    year, month = int(s[:4]), int(s[5:7])
    last = calendar.monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}-{last:02d}"
""",
        cases=(("2024-02-10",), ("2023-02-10",), ("2023-12-05",), ("2023-04-30",)),
    ),
    Spec(
        family="dates",
        entry="count_weekdays_between_dates",
        params="a, b",
        does="returns how many days from the date `a` to the date `b`, both included and "
        "written as 'YYYY-MM-DD' with `a` not after `b`, fall on Monday to Friday",
        reference="""\
def count_weekdays_between_dates(a, b):
    import datetime
    day = datetime.date.fromisoformat(a)
    end = datetime.date.fromisoformat(b)
    count = 0
    while day <= end:
        if day.weekday() < 5:
            count += 1
        day += datetime.timedelta(days=1)
    return count
""",
        cases=(
            ("2024-01-01", "2024-01-07"),
            ("2024-01-06", "2024-01-07"),
            ("2024-01-05", "2024-01-05"),
            ("2024-02-01", "2024-02-29"),
        ),
    ),
)

SPECS: tuple[Spec, ...] = _RECURSION + _PARSING + _SORTING + _DATES
"""The recursion, parsing, sorting and dates code tasks (15 functions each)."""
