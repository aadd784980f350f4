"""The ``sorting`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
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
