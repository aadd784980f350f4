"""The ``dates`` family of code tasks: 15 functions (see :mod:`howsure.coding.specs`)."""

from __future__ import annotations

from howsure.coding.spec import Spec

__all__ = ["SPECS"]

SPECS: tuple[Spec, ...] = (
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
