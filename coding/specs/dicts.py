"""The ``dict`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
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
