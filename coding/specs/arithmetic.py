"""The ``arithmetic`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
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
