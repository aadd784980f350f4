"""Code-task templates, part A: the ``string``, ``list``, ``dict`` and ``arithmetic``
families (15 functions each).

Each family mixes about six one-liners (reverse a string, sum a list), six short loops
with a condition (count the words longer than ``k``, the second largest distinct value)
and three harder functions (run-length encoding, anagram groups, gcd by hand), so that a
small chat model solves some and fails others. Five functions per family carry a buggy
version for the debugging tasks: about half syntax errors, half logic errors.

The builder (:mod:`howsure.coding.builder`) turns :data:`SPECS` into prompts with hidden
tests; the expected outputs come from running each ``reference``.
"""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

_STRING: tuple[Spec, ...] = (
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

_LIST: tuple[Spec, ...] = (
    Spec(
        family="list",
        entry="sum_list",
        params="xs",
        does="returns the sum of the numbers in the list `xs` (0 for an empty list)",
        reference="""\
def sum_list(xs):
    return sum(xs)
""",
        cases=(([1, 2, 3],), ([],), ([-5, 5, 10],), ([7],)),
    ),
    Spec(
        family="list",
        entry="max_of_list",
        params="xs",
        does="returns the largest number in the non-empty list `xs`",
        reference="""\
def max_of_list(xs):
    return max(xs)
""",
        cases=(([3, 1, 4, 1, 5],), ([-7, -2, -9],), ([42],), ([0, 0],)),
    ),
    Spec(
        family="list",
        entry="count_evens",
        params="xs",
        does="returns how many of the integers in the list `xs` are even (0 for an empty list)",
        reference="""\
def count_evens(xs):
    return sum(1 for x in xs if x % 2 == 0)
""",
        cases=(([1, 2, 3, 4],), ([],), ([1, 3, 5],), ([0, -2, 7],), ([2, 2, 2],)),
        bugs=(
            # syntax: = instead of == in the if
            """\
def count_evens(xs):
    count = 0
    for x in xs:
        if x % 2 = 0:
            count += 1
    return count
""",
        ),
    ),
    Spec(
        family="list",
        entry="reverse_list",
        params="xs",
        does="returns a new list with the elements of the list `xs` in reverse order",
        reference="""\
def reverse_list(xs):
    return xs[::-1]
""",
        cases=(([1, 2, 3],), ([],), (["a", "b"],), ([5],)),
    ),
    Spec(
        family="list",
        entry="last_element",
        params="xs",
        does="returns the last element of the list `xs`, or None if `xs` is empty",
        reference="""\
def last_element(xs):
    return xs[-1] if xs else None
""",
        cases=(([1, 2, 3],), ([],), (["only"],), ([None, 0],)),
    ),
    Spec(
        family="list",
        entry="double_all",
        params="xs",
        does=(
            "returns a new list with every number in the list `xs` multiplied by 2, "
            "in the same order"
        ),
        reference="""\
def double_all(xs):
    return [2 * x for x in xs]
""",
        cases=(([1, 2, 3],), ([],), ([-1, 0, 5],), ([10],)),
    ),
    Spec(
        family="list",
        entry="second_largest",
        params="xs",
        does=(
            "returns the second largest distinct value in the list of numbers `xs`, or "
            "None if `xs` has fewer than two distinct values"
        ),
        reference="""\
def second_largest(xs):
    values = sorted(set(xs))
    if len(values) < 2:
        return None
    return values[-2]
""",
        cases=(([3, 1, 4, 1, 5],), ([5, 5, 3],), ([7],), ([],), ([2, 2],), ([-1, -3, -2],)),
        bugs=(
            # logic: does not skip repeated values
            """\
def second_largest(xs):
    if len(xs) < 2:
        return None
    ordered = sorted(xs)
    return ordered[-2]
""",
        ),
    ),
    Spec(
        family="list",
        entry="remove_duplicates",
        params="xs",
        does=(
            "returns a new list with the elements of the list `xs` in their original "
            "order, keeping only the first occurrence of each value"
        ),
        reference="""\
def remove_duplicates(xs):
    seen = []
    for x in xs:
        if x not in seen:
            seen.append(x)
    return seen
""",
        cases=(([1, 2, 1, 3, 2],), ([],), (["b", "a", "b"],), ([4, 4, 4],), ([3, 2, 1],)),
    ),
    Spec(
        family="list",
        entry="running_sum",
        params="xs",
        does=(
            "returns a list whose i-th element is the sum of the first i+1 numbers of "
            "the list `xs` (an empty list for an empty `xs`)"
        ),
        reference="""\
def running_sum(xs):
    result = []
    total = 0
    for x in xs:
        total += x
        result.append(total)
    return result
""",
        cases=(([1, 2, 3, 4],), ([],), ([5],), ([3, -3, 3],)),
        bugs=(
            # logic: total = x instead of total += x
            """\
def running_sum(xs):
    result = []
    total = 0
    for x in xs:
        total = x
        result.append(total)
    return result
""",
        ),
    ),
    Spec(
        family="list",
        entry="count_greater",
        params="xs, k",
        does="returns how many numbers in the list `xs` are strictly greater than `k`",
        reference="""\
def count_greater(xs, k):
    return sum(1 for x in xs if x > k)
""",
        cases=(([1, 5, 3, 8], 3), ([], 0), ([2, 2, 2], 2), ([-1, 0, 1], -5)),
        bugs=(
            # syntax: missing colon after the for header
            """\
def count_greater(xs, k):
    count = 0
    for x in xs
        if x > k:
            count += 1
    return count
""",
        ),
    ),
    Spec(
        family="list",
        entry="index_of_max",
        params="xs",
        does=(
            "returns the index of the largest number in the non-empty list `xs`; if the "
            "largest value occurs more than once, the index of its first occurrence"
        ),
        reference="""\
def index_of_max(xs):
    return xs.index(max(xs))
""",
        cases=(([3, 9, 2],), ([5],), ([1, 7, 7],), ([-4, -2, -9],), ([0, 0, 0],)),
    ),
    Spec(
        family="list",
        entry="chunk_list",
        params="xs, n",
        does=(
            "returns the list `xs` split into consecutive chunks of `n` elements each, as "
            "a list of lists in order; the last chunk may be shorter; an empty list if "
            "`xs` is empty"
        ),
        reference="""\
def chunk_list(xs, n):
    return [xs[i:i + n] for i in range(0, len(xs), n)]
""",
        cases=(
            ([1, 2, 3, 4, 5], 2),
            ([], 3),
            ([1, 2, 3], 3),
            ([1, 2, 3], 5),
            (["a", "b", "c", "d"], 1),
        ),
        bugs=(
            # syntax: the loop body is not indented
            """\
def chunk_list(xs, n):
    chunks = []
    for i in range(0, len(xs), n):
    chunks.append(xs[i:i + n])
    return chunks
""",
        ),
    ),
    Spec(
        family="list",
        entry="rotate_right",
        params="xs, k",
        does=(
            "returns a new list with the elements of the list `xs` rotated `k` positions "
            "to the right (the last `k` elements move to the front, in order); `k` may be "
            "larger than the length of `xs`; an empty list stays empty"
        ),
        reference="""\
def rotate_right(xs, k):
    if not xs:
        return []
    k = k % len(xs)
    return xs[len(xs) - k:] + xs[:len(xs) - k]
""",
        cases=(([1, 2, 3, 4, 5], 2), ([1, 2, 3], 0), ([1, 2, 3], 4), ([], 3), (["a"], 10)),
    ),
    Spec(
        family="list",
        entry="longest_increasing_run",
        params="xs",
        does=(
            "returns the length of the longest run of consecutive elements of the list "
            "`xs` in which each element is strictly greater than the one before it (0 for "
            "an empty list, 1 if no element is greater than the one before it)"
        ),
        reference="""\
def longest_increasing_run(xs):
    if not xs:
        return 0
    best = 1
    current = 1
    for i in range(1, len(xs)):
        if xs[i] > xs[i - 1]:
            current += 1
            best = max(best, current)
        else:
            current = 1
    return best
""",
        cases=(([1, 2, 3, 1, 2],), ([],), ([5, 4, 3],), ([1, 2, 2, 3, 4, 5],), ([7],)),
    ),
    Spec(
        family="list",
        entry="pairs_with_sum",
        params="xs, target",
        does=(
            "returns every pair of elements of the list `xs` at positions i < j whose sum "
            "equals `target`, as a list of two-element lists [xs[i], xs[j]] ordered by i "
            "and then by j (an empty list if there is none)"
        ),
        reference="""\
def pairs_with_sum(xs, target):
    pairs = []
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if xs[i] + xs[j] == target:
                pairs.append([xs[i], xs[j]])
    return pairs
""",
        cases=(
            ([1, 2, 3, 4], 5),
            ([], 3),
            ([2, 2, 2], 4),
            ([1, 1], 5),
            ([-1, 6, 0, 5], 5),
        ),
    ),
)

_DICT: tuple[Spec, ...] = (
    Spec(
        family="dict",
        entry="count_keys",
        params="d",
        does="returns how many keys the dictionary `d` has",
        reference="""\
def count_keys(d):
    return len(d)
""",
        cases=(({"a": 1, "b": 2},), ({},), ({"x": None},), ({"p": 1, "q": 2, "r": 3},)),
    ),
    Spec(
        family="dict",
        entry="get_or_default",
        params="d, key, default",
        does=(
            "returns the value stored under `key` in the dictionary `d`, or `default` if "
            "`key` is not in `d`"
        ),
        reference="""\
def get_or_default(d, key, default):
    return d.get(key, default)
""",
        cases=(
            ({"a": 1}, "a", 0),
            ({"a": 1}, "b", 0),
            ({}, "x", None),
            ({"k": 0}, "k", 5),
        ),
    ),
    Spec(
        family="dict",
        entry="has_key",
        params="d, key",
        does="checks whether `key` is one of the keys of the dictionary `d` and returns True/False",
        reference="""\
def has_key(d, key):
    return key in d
""",
        cases=(({"a": 1}, "a"), ({"a": 1}, "b"), ({}, "a"), ({"x": 0}, "x")),
    ),
    Spec(
        family="dict",
        entry="sum_values",
        params="d",
        does=(
            "returns the sum of the values of the dictionary `d`, whose values are all "
            "numbers (0 for an empty dictionary)"
        ),
        reference="""\
def sum_values(d):
    return sum(d.values())
""",
        cases=(({"a": 1, "b": 2, "c": 3},), ({},), ({"x": -5, "y": 5},), ({"only": 7},)),
        bugs=(
            # logic: total = value instead of total += value
            """\
def sum_values(d):
    total = 0
    for value in d.values():
        total = value
    return total
""",
        ),
    ),
    Spec(
        family="dict",
        entry="sorted_keys",
        params="d",
        does=(
            "returns a list of the keys of the dictionary `d` sorted in ascending order "
            "(plain string comparison, so uppercase letters come before lowercase ones)"
        ),
        reference="""\
def sorted_keys(d):
    return sorted(d)
""",
        cases=(({"b": 1, "a": 2, "c": 3},), ({},), ({"Zed": 1, "apple": 2},), ({"x": 0},)),
    ),
    Spec(
        family="dict",
        entry="key_with_max_value",
        params="d",
        does=(
            "returns the key of the non-empty dictionary `d` whose value is largest; if "
            "several keys share the largest value, the one that comes first in `d`"
        ),
        reference="""\
def key_with_max_value(d):
    return max(d, key=d.get)
""",
        cases=(
            ({"a": 1, "b": 5, "c": 3},),
            ({"x": 2, "y": 2},),
            ({"only": -1},),
            ({"p": -3, "q": -1},),
        ),
    ),
    Spec(
        family="dict",
        entry="merge_add",
        params="a, b",
        does=(
            "returns a new dictionary holding every key of the dictionaries `a` and `b`: "
            "a key found in only one of them keeps its value, a key found in both gets "
            "the sum of its two values"
        ),
        reference="""\
def merge_add(a, b):
    result = dict(a)
    for key, value in b.items():
        result[key] = result.get(key, 0) + value
    return result
""",
        cases=(
            ({"a": 1, "b": 2}, {"b": 3, "c": 4}),
            ({}, {}),
            ({"x": 5}, {}),
            ({}, {"y": 1}),
            ({"k": 1}, {"k": -1}),
        ),
        bugs=(
            # logic: overwrites instead of adding
            """\
def merge_add(a, b):
    result = dict(a)
    for key, value in b.items():
        result[key] = value
    return result
""",
        ),
    ),
    Spec(
        family="dict",
        entry="invert_dict",
        params="d",
        does=(
            "returns a new dictionary that maps each value of the dictionary `d` to its "
            "key (the values of `d` are distinct strings)"
        ),
        reference="""\
def invert_dict(d):
    return {value: key for key, value in d.items()}
""",
        cases=(({"a": "x", "b": "y"},), ({},), ({"one": "1"},), ({"k": "v", "v": "k"},)),
    ),
    Spec(
        family="dict",
        entry="word_count",
        params="s",
        does=(
            "returns a dictionary mapping each word of the string `s` (split on "
            "whitespace, then lowercased) to how many times it occurs in `s` (an empty "
            "dictionary if `s` has no words)"
        ),
        reference="""\
def word_count(s):
    counts = {}
    for word in s.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts
""",
        cases=(("the cat the dog",), ("",), ("Hi hi HI",), ("one",), ("a b A c",)),
        bugs=(
            # logic: forgets to lowercase
            """\
def word_count(s):
    counts = {}
    for word in s.split():
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
    return counts
""",
        ),
    ),
    Spec(
        family="dict",
        entry="filter_by_value",
        params="d, k",
        does=(
            "returns a new dictionary with only the entries of the dictionary `d` whose "
            "value is greater than or equal to `k`"
        ),
        reference="""\
def filter_by_value(d, k):
    return {key: value for key, value in d.items() if value >= k}
""",
        cases=(
            ({"a": 1, "b": 5, "c": 3}, 3),
            ({}, 0),
            ({"x": -1}, 0),
            ({"p": 2, "q": 2}, 2),
        ),
        bugs=(
            # syntax: missing closing parenthesis
            """\
def filter_by_value(d, k):
    result = {}
    for key, value in list(d.items():
        if value >= k:
            result[key] = value
    return result
""",
        ),
    ),
    Spec(
        family="dict",
        entry="keys_for_value",
        params="d, v",
        does=(
            "returns a list of the keys of the dictionary `d` whose value equals `v`, "
            "sorted in ascending order (an empty list if there are none)"
        ),
        reference="""\
def keys_for_value(d, v):
    return sorted(key for key, value in d.items() if value == v)
""",
        cases=(
            ({"a": 1, "b": 2, "c": 1}, 1),
            ({}, 1),
            ({"x": 0}, 5),
            ({"z": 3, "y": 3}, 3),
        ),
    ),
    Spec(
        family="dict",
        entry="char_frequency",
        params="s",
        does=(
            "returns a dictionary mapping each character of the string `s` to how many "
            "times it occurs (case-sensitive, spaces count; an empty dictionary for an "
            "empty `s`)"
        ),
        reference="""\
def char_frequency(s):
    counts = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    return counts
""",
        cases=(("hello",), ("",), ("aA a",), ("zzz",)),
        bugs=(
            # syntax: missing colon after else
            """\
def char_frequency(s):
    counts = {}
    for ch in s:
        if ch in counts:
            counts[ch] += 1
        else
            counts[ch] = 1
    return counts
""",
        ),
    ),
    Spec(
        family="dict",
        entry="group_anagrams",
        params="words",
        does=(
            "returns the strings of the list `words` grouped so that each group holds the "
            "words that are anagrams of each other (same letters, case-sensitive), as a "
            "list of groups: each group a list sorted in ascending order, the groups "
            "sorted by their first word (an empty list for an empty `words`)"
        ),
        reference="""\
def group_anagrams(words):
    groups = {}
    for word in words:
        key = "".join(sorted(word))
        groups.setdefault(key, []).append(word)
    return sorted(sorted(group) for group in groups.values())
""",
        cases=(
            (["eat", "tea", "tan", "ate", "nat", "bat"],),
            ([],),
            (["abc"],),
            (["ab", "ba", "ab"],),
            (["listen", "silent", "enlist", "google"],),
        ),
    ),
    Spec(
        family="dict",
        entry="nested_get",
        params="d, path",
        does=(
            "returns the value reached by starting at the dictionary `d` and following the "
            "keys of the list `path` one level at a time through nested dictionaries; "
            "None if a key is missing or a value on the way is not a dictionary; `d` "
            "itself if `path` is empty"
        ),
        reference="""\
def nested_get(d, path):
    current = d
    for key in path:
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    return current
""",
        cases=(
            ({"a": {"b": {"c": 1}}}, ["a", "b", "c"]),
            ({"a": {"b": 2}}, ["a", "x"]),
            ({"a": 1}, []),
            ({"a": 1}, ["a", "b"]),
            ({"a": {"b": [1, 2]}}, ["a", "b"]),
        ),
    ),
    Spec(
        family="dict",
        entry="dict_diff",
        params="a, b",
        does=(
            "returns a list, sorted in ascending order, of the keys whose values differ "
            "between the dictionaries `a` and `b`, including every key that is in only "
            "one of them"
        ),
        reference="""\
def dict_diff(a, b):
    keys = set(a) | set(b)
    return sorted(k for k in keys if k not in a or k not in b or a[k] != b[k])
""",
        cases=(
            ({"x": 1, "y": 2}, {"x": 1, "y": 3}),
            ({}, {}),
            ({"a": 1}, {"b": 1}),
            ({"k": None}, {}),
            ({"p": 1, "q": 2}, {"q": 2, "p": 1}),
        ),
    ),
)

_ARITHMETIC: tuple[Spec, ...] = (
    Spec(
        family="arithmetic",
        entry="add",
        params="a, b",
        does="returns the sum of the numbers `a` and `b`",
        reference="""\
def add(a, b):
    return a + b
""",
        cases=((2, 3), (-1, 1), (0, 0), (100, -250)),
    ),
    Spec(
        family="arithmetic",
        entry="is_even",
        params="n",
        does="checks whether the integer `n` is even and returns True/False",
        reference="""\
def is_even(n):
    return n % 2 == 0
""",
        cases=((4,), (7,), (0,), (-3,), (-8,)),
    ),
    Spec(
        family="arithmetic",
        entry="square",
        params="n",
        does="returns the number `n` multiplied by itself",
        reference="""\
def square(n):
    return n * n
""",
        cases=((3,), (0,), (-4,), (12,)),
    ),
    Spec(
        family="arithmetic",
        entry="absolute_value",
        params="n",
        does="returns the absolute value of the number `n`",
        reference="""\
def absolute_value(n):
    return -n if n < 0 else n
""",
        cases=((-5,), (5,), (0,), (-123,)),
    ),
    Spec(
        family="arithmetic",
        entry="max_of_three",
        params="a, b, c",
        does="returns the largest of the three numbers `a`, `b` and `c`",
        reference="""\
def max_of_three(a, b, c):
    return max(a, b, c)
""",
        cases=((1, 2, 3), (3, 2, 1), (2, 3, 1), (-1, -2, -3), (5, 5, 2)),
        bugs=(
            # syntax: missing colon after elif
            """\
def max_of_three(a, b, c):
    if a >= b and a >= c:
        return a
    elif b >= a and b >= c
        return b
    return c
""",
        ),
    ),
    Spec(
        family="arithmetic",
        entry="sign",
        params="n",
        does="returns 1 if the number `n` is positive, -1 if it is negative and 0 if it is zero",
        reference="""\
def sign(n):
    if n > 0:
        return 1
    if n < 0:
        return -1
    return 0
""",
        cases=((42,), (-7,), (0,), (-1,)),
    ),
    Spec(
        family="arithmetic",
        entry="digit_sum",
        params="n",
        does="returns the sum of the decimal digits of the non-negative integer `n` (0 for 0)",
        reference="""\
def digit_sum(n):
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total
""",
        cases=((123,), (0,), (9,), (1000,), (98765,)),
        bugs=(
            # syntax: inconsistent indentation in the loop body
            """\
def digit_sum(n):
    total = 0
    while n > 0:
        total += n % 10
      n //= 10
    return total
""",
        ),
    ),
    Spec(
        family="arithmetic",
        entry="factorial",
        params="n",
        does="returns the factorial of the non-negative integer `n` (1 for 0)",
        reference="""\
def factorial(n):
    result = 1
    for i in range(2, n + 1):
        result *= i
    return result
""",
        cases=((0,), (1,), (5,), (10,)),
        bugs=(
            # logic: off-by-one in the range
            """\
def factorial(n):
    result = 1
    for i in range(1, n):
        result *= i
    return result
""",
        ),
    ),
    Spec(
        family="arithmetic",
        entry="sum_of_multiples",
        params="n",
        does=(
            "returns the sum of all positive integers below `n` that are multiples of 3 "
            "or 5 (0 if there are none)"
        ),
        reference="""\
def sum_of_multiples(n):
    return sum(i for i in range(1, n) if i % 3 == 0 or i % 5 == 0)
""",
        cases=((10,), (1,), (16,), (0,), (20,)),
    ),
    Spec(
        family="arithmetic",
        entry="count_digits",
        params="n",
        does=(
            "returns how many decimal digits the integer `n` has (a minus sign does not "
            "count, and 0 has one digit)"
        ),
        reference="""\
def count_digits(n):
    return len(str(abs(n)))
""",
        cases=((12345,), (0,), (-907,), (7,), (1000000,)),
    ),
    Spec(
        family="arithmetic",
        entry="is_prime",
        params="n",
        does=(
            "checks whether the integer `n` is a prime number and returns True/False "
            "(False for any `n` below 2)"
        ),
        reference="""\
def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True
""",
        cases=((2,), (9,), (1,), (17,), (0,), (25,)),
        bugs=(
            # logic: returns inside the loop after checking only one divisor
            """\
def is_prime(n):
    if n < 2:
        return False
    for i in range(2, n):
        if n % i == 0:
            return False
        else:
            return True
    return True
""",
        ),
    ),
    Spec(
        family="arithmetic",
        entry="fibonacci",
        params="n",
        does=(
            "returns the Fibonacci number at position `n` (a non-negative integer), "
            "counting from fibonacci(0) = 0 and fibonacci(1) = 1"
        ),
        reference="""\
def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
""",
        cases=((0,), (1,), (2,), (10,), (20,)),
    ),
    Spec(
        family="arithmetic",
        entry="gcd",
        params="a, b",
        does=(
            "returns the greatest common divisor of the positive integers `a` and `b` "
            "(the largest integer that divides both), computed without the math module"
        ),
        reference="""\
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a
""",
        cases=((12, 18), (7, 5), (100, 10), (9, 9), (1, 42)),
        bugs=(
            # syntax: = instead of == in the if
            """\
def gcd(a, b):
    while True:
        if b = 0:
            return a
        a, b = b, a % b
""",
        ),
    ),
    Spec(
        family="arithmetic",
        entry="reverse_integer",
        params="n",
        does=(
            "returns the integer whose decimal digits are those of the integer `n` in "
            "reverse order, keeping the sign of `n` and dropping leading zeros (-120 "
            "becomes -21)"
        ),
        reference="""\
def reverse_integer(n):
    sign = -1 if n < 0 else 1
    return sign * int(str(abs(n))[::-1])
""",
        cases=((123,), (-120,), (0,), (1000,), (5,), (-9,)),
    ),
    Spec(
        family="arithmetic",
        entry="is_armstrong",
        params="n",
        does=(
            "checks whether the non-negative integer `n` equals the sum of its decimal "
            "digits, each raised to the power of the number of digits of `n` (as 153 = "
            "1**3 + 5**3 + 3**3), and returns True/False"
        ),
        reference="""\
def is_armstrong(n):
    digits = str(n)
    power = len(digits)
    return n == sum(int(d) ** power for d in digits)
""",
        cases=((153,), (0,), (10,), (9474,), (100,), (370,)),
    ),
)

SPECS: tuple[Spec, ...] = _STRING + _LIST + _DICT + _ARITHMETIC
"""The 60 code-task templates of this module, family by family."""
