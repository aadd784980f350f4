"""The ``recursion`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
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
