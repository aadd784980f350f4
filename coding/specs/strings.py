"""The ``string`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
    Spec(
        family="string",
        entry="reverse_string",
        params="s",
        does="returns the string `s` reversed (an empty string stays empty)",
        reference="""\
def reverse_string(s):
    return s[::-1]
""",
        cases=(("hello",), ("",), ("a",), ("Ab c",), ("racecar",)),
    ),
    Spec(
        family="string",
        entry="to_upper",
        params="s",
        does=(
            "returns the string `s` with every letter converted to uppercase; "
            "other characters are unchanged"
        ),
        reference="""\
def to_upper(s):
    return s.upper()
""",
        cases=(("hello",), ("Hello World!",), ("",), ("abc123",)),
    ),
    Spec(
        family="string",
        entry="count_vowels",
        params="s",
        does=(
            "returns how many vowels (a, e, i, o, u, in lowercase or uppercase) "
            "the string `s` contains"
        ),
        reference="""\
def count_vowels(s):
    return sum(1 for ch in s.lower() if ch in "aeiou")
""",
        cases=(("hello",), ("AEIOU",), ("",), ("rhythm",), ("Programming Is Fun",)),
        bugs=(
            # logic: forgets uppercase vowels
            """\
def count_vowels(s):
    count = 0
    for ch in s:
        if ch in "aeiou":
            count += 1
    return count
""",
        ),
    ),
    Spec(
        family="string",
        entry="first_char",
        params="s",
        does="returns the first character of the string `s`, or an empty string if `s` is empty",
        reference="""\
def first_char(s):
    return s[:1]
""",
        cases=(("hello",), ("",), ("Z",), (" space",)),
    ),
    Spec(
        family="string",
        entry="count_spaces",
        params="s",
        does="returns how many space characters the string `s` contains",
        reference="""\
def count_spaces(s):
    return s.count(" ")
""",
        cases=(("a b c",), ("",), ("nospace",), ("  two  ",)),
    ),
    Spec(
        family="string",
        entry="is_palindrome",
        params="s",
        does=(
            "checks whether the string `s` reads the same forwards and backwards "
            "(case-sensitive, every character counts, the empty string counts as a "
            "palindrome) and returns True/False"
        ),
        reference="""\
def is_palindrome(s):
    return s == s[::-1]
""",
        cases=(("racecar",), ("hello",), ("",), ("Aba",), ("abba",)),
        bugs=(
            # syntax: missing colon after the for header
            """\
def is_palindrome(s):
    for i in range(len(s) // 2)
        if s[i] != s[-1 - i]:
            return False
    return True
""",
        ),
    ),
    Spec(
        family="string",
        entry="count_long_words",
        params="s, k",
        does=(
            "returns how many words of the string `s` (split on whitespace) have more "
            "than `k` characters"
        ),
        reference="""\
def count_long_words(s, k):
    return sum(1 for word in s.split() if len(word) > k)
""",
        cases=(
            ("the quick brown fox", 3),
            ("", 2),
            ("a bb ccc", 2),
            ("hello world", 5),
            ("one two three", 0),
        ),
        bugs=(
            # logic: >= instead of >
            """\
def count_long_words(s, k):
    count = 0
    for word in s.split():
        if len(word) >= k:
            count += 1
    return count
""",
        ),
    ),
    Spec(
        family="string",
        entry="capitalize_words",
        params="s",
        does=(
            "returns the string `s` with the first character of each word (words are "
            "separated by single spaces) converted to uppercase and every other "
            "character left unchanged"
        ),
        reference="""\
def capitalize_words(s):
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))
""",
        cases=(("hello world",), ("",), ("python is fun",), ("mIxEd cAsE",), ("a",)),
    ),
    Spec(
        family="string",
        entry="remove_vowels",
        params="s",
        does=(
            "returns the string `s` with every vowel (a, e, i, o, u, lowercase or "
            "uppercase) removed, the other characters kept in order"
        ),
        reference="""\
def remove_vowels(s):
    return "".join(ch for ch in s if ch.lower() not in "aeiou")
""",
        cases=(("hello world",), ("AEIOUaeiou",), ("",), ("Python",), ("rhythm",)),
    ),
    Spec(
        family="string",
        entry="count_char",
        params="s, c",
        does=(
            "returns how many times the single character `c` occurs in the string `s`, "
            "ignoring case (so 'A' and 'a' count as the same character)"
        ),
        reference="""\
def count_char(s, c):
    return s.lower().count(c.lower())
""",
        cases=(("Banana", "a"), ("Banana", "B"), ("", "x"), ("Mississippi", "S"), ("hello", "z")),
    ),
    Spec(
        family="string",
        entry="longest_word",
        params="s",
        does=(
            "returns the longest word of the string `s` (split on whitespace); if several "
            "words share the greatest length, the first of them; an empty string if `s` "
            "has no words"
        ),
        reference="""\
def longest_word(s):
    best = ""
    for word in s.split():
        if len(word) > len(best):
            best = word
    return best
""",
        cases=(
            ("the quick brown fox",),
            ("",),
            ("a bb cc",),
            ("hello",),
            ("one three seven",),
        ),
        bugs=(
            # syntax: missing closing parenthesis
            """\
def longest_word(s):
    best = ""
    for word in s.split():
        if len(word) > len(best:
            best = word
    return best
""",
        ),
    ),
    Spec(
        family="string",
        entry="alternate_case",
        params="s",
        does=(
            "returns the string `s` with the characters at even positions (0, 2, 4, ...) "
            "in uppercase and the characters at odd positions in lowercase"
        ),
        reference="""\
def alternate_case(s):
    return "".join(ch.upper() if i % 2 == 0 else ch.lower() for i, ch in enumerate(s))
""",
        cases=(("hello",), ("",), ("ABCD",), ("a b c",), ("Python3",)),
    ),
    Spec(
        family="string",
        entry="run_length_encode",
        params="s",
        does=(
            "returns the run-length encoding of the string `s`: each run of one repeated "
            "character becomes that character followed by the length of the run, in "
            "order ('aaab' becomes 'a3b1'); an empty string for an empty `s`"
        ),
        reference="""\
def run_length_encode(s):
    if not s:
        return ""
    out = []
    current = s[0]
    count = 1
    for ch in s[1:]:
        if ch == current:
            count += 1
        else:
            out.append(current + str(count))
            current = ch
            count = 1
    out.append(current + str(count))
    return "".join(out)
""",
        cases=(("aaab",), ("",), ("abc",), ("aabbbcccc",), ("zzzzzzzzzzzz",), ("aabaa",)),
        bugs=(
            # logic: forgets the last run
            """\
def run_length_encode(s):
    if not s:
        return ""
    out = ""
    current = s[0]
    count = 1
    for ch in s[1:]:
        if ch == current:
            count += 1
        else:
            out += current + str(count)
            current = ch
            count = 1
    return out
""",
        ),
    ),
    Spec(
        family="string",
        entry="most_common_char",
        params="s",
        does=(
            "returns the character that occurs most often in the string `s` "
            "(case-sensitive, spaces count); if several characters tie, the one that "
            "appears first in `s`; an empty string if `s` is empty"
        ),
        reference="""\
def most_common_char(s):
    best = ""
    best_count = 0
    for ch in s:
        n = s.count(ch)
        if n > best_count:
            best = ch
            best_count = n
    return best
""",
        cases=(("hello",), ("",), ("abcabc",), ("aAbBB",), ("banana",), ("mississippi",)),
    ),
    Spec(
        family="string",
        entry="caesar_shift",
        params="s, n",
        does=(
            "returns the string `s` with every lowercase letter a-z shifted `n` places "
            "forward in the alphabet, wrapping around from z to a; all other characters "
            "(uppercase letters, digits, spaces, punctuation) stay unchanged"
        ),
        reference="""\
def caesar_shift(s, n):
    out = []
    for ch in s:
        if "a" <= ch <= "z":
            out.append(chr((ord(ch) - ord("a") + n) % 26 + ord("a")))
        else:
            out.append(ch)
    return "".join(out)
""",
        cases=(("abc", 1), ("xyz", 3), ("", 5), ("hello, World!", 13), ("abc", 26), ("z", 27)),
    ),
)
