"""The ``list`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
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
