"""Synthetic reverse-mentoring cohorts: ``CohortSpec -> Cohort``.

Mentors are junior, digitally fluent staff; mentees are senior leaders. Numeric traits
are drawn with numpy from named streams of one root seed; identities (names, cities,
countries) come from the Faker locale providers' own lists, sampled with numpy so a
cohort of 100,000 costs no Faker call per person.

>>> from toolkit import CohortSpec, generate_cohort
>>> cohort = generate_cohort(CohortSpec(n_mentors=12, n_mentees=10, seed=7))
>>> cohort.participants.shape[0]
22
>>> sorted(cohort.participants["role"].unique())
['mentee', 'mentor']
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass, field, fields, replace
from numbers import Integral
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from toolkit import _seeding
from toolkit._spec import Spec, nested
from toolkit._validation import (
    check_int,
    check_nonempty_strings,
    check_option,
    check_probabilities,
    check_real,
    fail,
)

__all__ = [
    "DEFAULT_DEPARTMENTS",
    "DIGITAL_DOMAINS",
    "GENERATIONS",
    "INTERESTS",
    "LEADERSHIP_DOMAINS",
    "TRAITS",
    "WORK_MODES",
    "WORK_VALUES",
    "Cohort",
    "CohortSpec",
    "RoleProfile",
    "generate_cohort",
    "generate_cohorts",
]

DIGITAL_DOMAINS = (
    "social_media",
    "data_analytics",
    "ai_tools",
    "collaboration_tech",
    "cybersecurity",
)
LEADERSHIP_DOMAINS = (
    "strategy",
    "people_management",
    "stakeholder_influence",
    "decision_making",
    "change_leadership",
)
DEFAULT_DEPARTMENTS = (
    "Engineering",
    "Marketing",
    "Sales",
    "Finance",
    "Operations",
    "Human Resources",
    "Legal",
    "Product",
)
INTERESTS = (
    "running",
    "cycling",
    "cooking",
    "music",
    "photography",
    "gaming",
    "travel",
    "reading",
    "gardening",
    "volunteering",
    "film",
    "art",
    "football",
    "yoga",
    "hiking",
    "podcasts",
)
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
WORK_VALUES = ("achievement", "autonomy", "security", "altruism", "status", "balance")
WORK_MODES = ("onsite", "hybrid", "remote")
GENDERS = ("woman", "man", "nonbinary")
# Birth-year bounds (inclusive) of the generation labels (Pew Research Center).
GENERATIONS = (
    ("Boomer", 1946, 1964),
    ("Gen X", 1965, 1980),
    ("Millennial", 1981, 1996),
    ("Gen Z", 1997, 2012),
)
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
# Population shares of standard-time UTC offsets for large multi-zone countries; other
# countries weigh the distinct offsets of their Faker time zones equally.
_OFFSET_SHARES = {
    "US": {-5.0: 0.47, -6.0: 0.29, -7.0: 0.07, -8.0: 0.17},
    "CA": {-3.5: 0.01, -4.0: 0.07, -5.0: 0.62, -6.0: 0.08, -7.0: 0.10, -8.0: 0.12},
    "BR": {-3.0: 0.93, -4.0: 0.06, -5.0: 0.01},
    "MX": {-6.0: 0.80, -7.0: 0.12, -8.0: 0.03, -5.0: 0.05},
    "AU": {10.0: 0.58, 9.5: 0.09, 8.0: 0.11, 10.5: 0.22},
    "RU": {3.0: 0.70, 5.0: 0.12, 7.0: 0.10, 10.0: 0.08},
}
# Locales whose names are written family name first, without a space.
_FAMILY_FIRST = ("ja", "zh", "ko")
_CORR_AGE_LEVEL_TENURE = np.array([[1.0, 0.6, 0.6], [0.6, 1.0, 0.45], [0.6, 0.45, 1.0]])
_OWNER = "CohortSpec"


@dataclass(frozen=True)
class RoleProfile(Spec):
    """Distributions of one role's traits (all validated).

    ``level_probs`` gives P(level = 1..8); age, level and tenure are correlated through
    a Gaussian copula, so each keeps exactly the marginal given here.
    """

    age_mean: float
    age_sd: float
    age_min: int
    age_max: int
    level_probs: tuple[float, ...]
    tenure_median_years: float
    tenure_spread: float
    work_mode_probs: tuple[float, ...]
    digital_skill_mean: float
    leadership_skill_mean: float
    availability_hours_mean: float
    max_goals: int = 3

    def __post_init__(self) -> None:
        owner = "RoleProfile"
        check_real(self.age_sd, "age_sd", owner, low=0)
        check_int(self.age_min, "age_min", owner, low=16, high=80)
        check_int(self.age_max, "age_max", owner, low=self.age_min, high=80)
        check_real(self.age_mean, "age_mean", owner, low=self.age_min, high=self.age_max)
        object.__setattr__(
            self, "level_probs", check_probabilities(self.level_probs, "level_probs", owner, size=8)
        )
        check_real(
            self.tenure_median_years, "tenure_median_years", owner, low=0, high=50, closed="right"
        )
        check_real(self.tenure_spread, "tenure_spread", owner, low=0, high=3)
        object.__setattr__(
            self,
            "work_mode_probs",
            check_probabilities(
                self.work_mode_probs, "work_mode_probs", owner, size=len(WORK_MODES)
            ),
        )
        for name in ("digital_skill_mean", "leadership_skill_mean"):
            check_real(getattr(self, name), name, owner, low=0, high=1, closed="neither")
        check_real(
            self.availability_hours_mean,
            "availability_hours_mean",
            owner,
            low=0,
            high=200,
            closed="right",
        )
        check_int(self.max_goals, "max_goals", owner, low=1, high=len(DIGITAL_DOMAINS))
        # Canonical types, so equal profiles have equal data and fingerprints.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Integral) and not isinstance(value, bool) and f.type == "float":
                object.__setattr__(self, f.name, float(value))
            elif isinstance(value, Integral) and f.type == "int":
                object.__setattr__(self, f.name, int(value))


MENTOR_PROFILE = RoleProfile(
    age_mean=27.0,
    age_sd=4.0,
    age_min=20,
    age_max=45,
    level_probs=(0.30, 0.35, 0.22, 0.09, 0.04, 0.0, 0.0, 0.0),
    tenure_median_years=2.5,
    tenure_spread=0.6,
    work_mode_probs=(0.30, 0.50, 0.20),
    digital_skill_mean=0.68,
    leadership_skill_mean=0.32,
    availability_hours_mean=6.0,
)
MENTEE_PROFILE = RoleProfile(
    age_mean=53.0,
    age_sd=6.5,
    age_min=32,
    age_max=68,
    level_probs=(0.0, 0.0, 0.0, 0.0, 0.10, 0.30, 0.35, 0.25),
    tenure_median_years=12.0,
    tenure_spread=0.5,
    work_mode_probs=(0.45, 0.45, 0.10),
    digital_skill_mean=0.38,
    leadership_skill_mean=0.70,
    availability_hours_mean=4.0,
)


@dataclass(frozen=True)
class CohortSpec(Spec):
    """What cohort to generate. Frozen and validated on construction.

    Parameters
    ----------
    n_mentors, n_mentees : int >= 1
        Sizes of the two sides; they may differ.
    seed : int
        Root seed; every number in the cohort follows from it.
    departments : sequence of str
        Department names people are spread over uniformly.
    locales : sequence of str
        Faker locales (``en_US``, ``de_DE``, ``ja_JP``, ``pt_BR``...); several make an
        international program. ``locale_weights`` gives their shares (default equal).
    mentor_profile, mentee_profile : RoleProfile
        Per-role distributions of age, level, tenure, work mode, skills, availability.
    digital_domains, leadership_domains : sequence of str
        The skill domains; each gives a ``skill_<domain>`` / ``lead_<domain>`` column.
    gender_shares : (woman, man, nonbinary) probabilities.
    email_domain : one of the reserved example domains.
    reference_year : calendar year for generations.
    """

    n_mentors: int = 120
    n_mentees: int = 100
    seed: int = 0
    departments: tuple[str, ...] = DEFAULT_DEPARTMENTS
    locales: tuple[str, ...] = ("en_US",)
    locale_weights: tuple[float, ...] | None = None
    mentor_profile: RoleProfile = MENTOR_PROFILE
    mentee_profile: RoleProfile = MENTEE_PROFILE
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS
    gender_shares: tuple[float, ...] = (0.49, 0.49, 0.02)
    email_domain: str = "example.com"
    reference_year: int = 2026

    _nested = {  # not a field: the decoders of Spec._nested
        "mentor_profile": nested(RoleProfile),
        "mentee_profile": nested(RoleProfile),
    }

    def __post_init__(self) -> None:
        check_int(self.n_mentors, "n_mentors", _OWNER, low=1, high=10_000_000)
        check_int(self.n_mentees, "n_mentees", _OWNER, low=1, high=10_000_000)
        _seeding.check_seed(self.seed, _OWNER)
        object.__setattr__(
            self, "departments", check_nonempty_strings(self.departments, "departments", _OWNER)
        )
        locales = check_nonempty_strings(self.locales, "locales", _OWNER)
        for loc in locales:
            _check_locale(loc)
        object.__setattr__(self, "locales", locales)
        if self.locale_weights is not None:
            weights = check_probabilities(
                self.locale_weights, "locale_weights", _OWNER, size=len(locales), normalize=True
            )
            object.__setattr__(self, "locale_weights", weights)
        for name in ("mentor_profile", "mentee_profile"):
            if not isinstance(getattr(self, name), RoleProfile):
                raise fail(name, _OWNER, "a RoleProfile", getattr(self, name))
        for name in ("digital_domains", "leadership_domains"):
            domains = check_nonempty_strings(getattr(self, name), name, _OWNER)
            bad = [d for d in domains if not re.fullmatch(r"[a-z][a-z0-9_]*", d)]
            if bad:
                raise fail(name, _OWNER, "snake_case domain names", bad[0])
            object.__setattr__(self, name, domains)
        object.__setattr__(
            self,
            "gender_shares",
            check_probabilities(self.gender_shares, "gender_shares", _OWNER, size=len(GENDERS)),
        )
        if not (
            self.email_domain in EXAMPLE_DOMAINS
            or self.email_domain.endswith(tuple("." + d for d in EXAMPLE_DOMAINS))
        ):
            raise fail(
                "email_domain",
                _OWNER,
                "a reserved example domain (example.com, example.org, example.net "
                "or a subdomain of one)",
                self.email_domain,
            )
        check_int(self.reference_year, "reference_year", _OWNER, low=1990, high=2100)
        for name in ("n_mentors", "n_mentees", "seed", "reference_year"):
            object.__setattr__(self, name, int(getattr(self, name)))

    @property
    def n_participants(self) -> int:
        return self.n_mentors + self.n_mentees


@dataclass(frozen=True)
class Cohort:
    """A generated (or imported) cohort: one ``participants`` frame plus its spec.

    Treat ``participants`` as read-only: derived matrices are cached on first use.
    """

    participants: pd.DataFrame
    spec: CohortSpec | None = None
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def _role_rows(self, role: str) -> pd.DataFrame:
        key = ("rows", role)
        if key not in self._cache:
            rows = np.flatnonzero(self.participants["role"].to_numpy(object) == role)
            if rows.size and rows[-1] - rows[0] + 1 == rows.size:
                # One block of rows (a generated cohort: mentors, then mentees): a slice
                # selects the same rows, index and all, without copying every column.
                self._cache[key] = self.participants.iloc[rows[0] : rows[-1] + 1]
            else:
                self._cache[key] = self.participants.iloc[rows]
        return self._cache[key]

    @property
    def mentors(self) -> pd.DataFrame:
        """The mentors' rows (junior staff), in participant order."""
        return self._role_rows("mentor")

    @property
    def mentees(self) -> pd.DataFrame:
        """The mentees' rows (senior leaders), in participant order."""
        return self._role_rows("mentee")

    @property
    def skill_columns(self) -> list[str]:
        return [f"skill_{d}" for d in self.digital_domains]

    @property
    def lead_columns(self) -> list[str]:
        return [f"lead_{d}" for d in self.leadership_domains]

    @property
    def fingerprint(self) -> str:
        """A short hash of the participants table: equal cohorts have equal fingerprints."""
        if "fingerprint" not in self._cache:
            hashed = pd.util.hash_pandas_object(self.participants, index=False).to_numpy()
            self._cache["fingerprint"] = hashlib.sha256(hashed.tobytes()).hexdigest()[:16]
        return self._cache["fingerprint"]

    def factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize(participants[column], use_na_sentinel=False)``: the codes and the
        distinct values (an object array, first appearance first), kept per cohort. A
        generated cohort knows them from its draws (no text is read back)."""
        key = ("factorized", column)
        if key not in self._cache:
            known = self._cache.get(("text_codes", column))
            if known is not None:  # (codes into distinct texts, the texts) from _generate
                first_codes, positions = pd.factorize(known[0])
                self._cache[key] = (first_codes, known[1][positions])
            else:
                codes, distinct = pd.factorize(self.participants[column], use_na_sentinel=False)
                self._cache[key] = (codes, np.asarray(distinct, dtype=object))
        return self._cache[key]

    def _role_values(self, column: str, role: str) -> tuple[np.ndarray, np.ndarray]:
        """The :meth:`factorized` codes of ``column`` on ``role``'s rows, and its values."""
        key = ("positions", role)
        if key not in self._cache:
            self._cache[key] = np.flatnonzero(self.participants["role"].to_numpy(object) == role)
        codes, distinct = self.factorized(column)
        return codes[self._cache[key]], distinct

    def goal_matrix(self, role: str) -> np.ndarray:
        """Boolean (people x domains) matrix of goal domains for ``role``.

        Mentees' goals are digital domains, mentors' goals leadership domains.
        """
        check_option(role, "role", "Cohort.goal_matrix", ("mentor", "mentee"))
        key = ("goals", role)
        if key not in self._cache:
            domains = self.digital_domains if role == "mentee" else self.leadership_domains
            self._cache[key] = _membership(self._role_values("goal_domains", role), domains)
        return self._cache[key].copy()

    @property
    def interest_names(self) -> tuple[str, ...]:
        """The interests anyone in the cohort lists: :data:`INTERESTS` first (the generator's
        vocabulary), then any other (a real roster's free tokens), sorted."""
        if "interest_names" not in self._cache:
            found: set[str] = set()
            if "interests" in self.participants.columns:
                for text in self.participants["interests"].dropna().astype(str).unique():
                    found.update(item for item in text.split(";") if item)
            known = set(INTERESTS)
            self._cache["interest_names"] = INTERESTS + tuple(sorted(found - known))
        return self._cache["interest_names"]

    def interest_matrix(self, role: str) -> np.ndarray:
        """Boolean (people x :attr:`interest_names`) matrix for ``role``."""
        check_option(role, "role", "Cohort.interest_matrix", ("mentor", "mentee"))
        key = ("interests", role)
        if key not in self._cache:
            self._cache[key] = _membership(
                self._role_values("interests", role), self.interest_names
            )
        return self._cache[key].copy()

    def data_dictionary(self) -> pd.DataFrame:
        """One row per column: column, type, unit or allowed values, meaning."""
        return data_dictionary(
            self.digital_domains, self.leadership_domains, self.participants.columns
        )


def _membership(lists: tuple[np.ndarray, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """Boolean (rows x names) matrix of which names each ';'-list holds; ``lists`` is
    (codes, distinct values) as :meth:`Cohort.factorized` gives them.

    Each distinct text is split once (a cohort has few distinct lists), and items are
    matched exactly where substrings would not be (``art`` in ``party``).
    """
    column = {name: j for j, name in enumerate(names)}
    codes, texts = lists
    distinct = np.zeros((len(texts), len(names)), dtype=bool)
    for i, text in enumerate(texts):
        if isinstance(text, str):
            for item in text.split(";"):
                j = column.get(item)
                if j is not None:
                    distinct[i, j] = True
    return distinct[codes]


def data_dictionary(
    digital_domains: tuple[str, ...] = DIGITAL_DOMAINS,
    leadership_domains: tuple[str, ...] = LEADERSHIP_DOMAINS,
    columns: Any = None,
) -> pd.DataFrame:
    """The documented columns of the ``participants`` table."""
    gens = ", ".join(g for g, _, _ in GENERATIONS)
    rows = [
        ("participant_id", "string", "P000001, P000002, ...", "Stable unique identifier"),
        (
            "role",
            "string",
            "mentor | mentee",
            "mentor = junior staff who teaches digital skills; mentee = senior leader",
        ),
        ("name", "string", "", "Synthetic full name from the person's Faker locale"),
        ("gender", "string", " | ".join(GENDERS), "Gender, consistent with the first name"),
        ("email", "string", "reserved example.* domains only", "Synthetic e-mail address"),
        ("locale", "string", "Faker locale code", "Locale the identity was drawn from"),
        ("age", "integer", "years", "Age in the reference year"),
        ("generation", "string", gens, "Generation by birth year (Pew cut-offs)"),
        ("level", "integer", "1 (entry) to 8 (executive)", "Organisational level"),
        ("tenure_years", "float", "years", "Years with the organisation (< age - 16)"),
        ("department", "string", "CohortSpec.departments", "Department"),
        ("location", "string", "city", "City, from the locale's provider"),
        ("country", "string", "country name", "Country of the locale"),
        ("utc_offset", "float", "hours", "Standard-time UTC offset of the location"),
        ("work_mode", "string", " | ".join(WORK_MODES), "Where the person works"),
    ]
    rows += [
        (f"skill_{d}", "float", "[0, 1]", f"Digital skill in {d.replace('_', ' ')}")
        for d in digital_domains
    ]
    rows += [
        (f"lead_{d}", "float", "[0, 1]", f"Leadership skill in {d.replace('_', ' ')}")
        for d in leadership_domains
    ]
    rows += [
        (
            "goal_domains",
            "string",
            "';'-separated domain names",
            "What the person wants to learn: digital domains for mentees, leadership domains "
            "for mentors; drawn where the person is weak",
        ),
        ("interests", "string", "';'-separated (generated: from INTERESTS)", "Personal interests"),
    ]
    rows += [
        (f"trait_{t}", "float", "[0, 1]", f"Big Five {t} (independent of role)") for t in TRAITS
    ]
    rows += [
        (f"value_{v}", "float", "[0, 1]", f"Importance of the work value {v}") for v in WORK_VALUES
    ]
    rows.append(
        (
            "availability_hours_month",
            "float",
            "hours per month",
            "Time the person can give the program",
        )
    )
    frame = pd.DataFrame(rows, columns=["column", "type", "unit_or_allowed", "meaning"])
    if columns is not None:
        frame = frame[frame["column"].isin(list(columns))].reset_index(drop=True)
    return frame


# --------------------------------------------------------------------------- locales


def _check_locale(locale: str) -> None:
    from faker.config import AVAILABLE_LOCALES

    if locale not in AVAILABLE_LOCALES or "_" not in locale:
        raise fail(
            "locales",
            _OWNER,
            "Faker locales with a country, such as en_US, de_DE, "
            "ja_JP, pt_BR (see faker.config.AVAILABLE_LOCALES)",
            locale,
        )
    if _country_record(locale.split("_")[1]) is None:
        raise fail("locales", _OWNER, "Faker locales whose region is a country", locale)


@functools.cache
def _country_record(code: str) -> Any:
    from faker.providers.date_time import Provider

    return next((c for c in Provider.countries if c.alpha_2_code == code), None)


def _weighted_names(names: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(names, dict):
        keys = np.array(list(names.keys()), dtype=object)
        weights = np.array(list(names.values()), dtype=float)
    else:
        keys = np.array(list(dict.fromkeys(names)), dtype=object)
        weights = np.ones(len(keys))
    return keys, weights / weights.sum()


@functools.cache
def _locale_pools(locale: str) -> dict[str, Any]:
    """Name lists (weights, cumulative weights, ASCII slugs), a city pool and UTC offsets.

    A pure function of the locale, cached once per process: the provider's own name lists,
    and a city pool from a fixed number of ``Faker.city()`` calls on an instance seeded by
    the locale's name (city providers build names from formats rather than lists). Cohorts
    then sample from these pools with numpy, so neither cohort size nor the number of
    cohorts generated costs Faker calls.
    """
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(zlib.crc32(locale.encode()))
    person = next(p for p in fake.get_providers() if hasattr(p, "last_names"))
    generic = getattr(person, "first_names", None)
    female = getattr(person, "first_names_female", None) or generic
    male = getattr(person, "first_names_male", None) or generic
    cities = list(dict.fromkeys(fake.city() for _ in range(60)))
    code = locale.split("_")[1]
    country = _country_record(code)
    offsets = _offset_shares(code, country.timezones)
    city_rng = np.random.default_rng(zlib.crc32(locale.encode()))
    city_offsets = city_rng.choice(
        np.array(list(offsets)), size=len(cities), p=np.array(list(offsets.values()))
    )
    return {
        "female": _name_pool(female),
        "male": _name_pool(male),
        "last": _name_pool(person.last_names),
        "cities": np.array(cities, dtype=object),
        "city_offsets": city_offsets.astype(float),
        "country": country.name,
        "family_first": locale.split("_")[0] in _FAMILY_FIRST,
    }


def _name_pool(names: Any) -> dict[str, np.ndarray]:
    keys, p = _weighted_names(names)
    cum = np.cumsum(p)
    cum[-1] = 1.0  # guard the last bucket against rounding in the cumulative sum
    return {
        "names": keys,
        "p": p,
        "cum": cum,
        "slugs": np.array([_ascii_slug(k) for k in keys], dtype=object),
    }


def _draw(pool: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
    """Indices into ``pool`` for uniforms ``u`` (inverse-CDF sampling by weight)."""
    return np.minimum(np.searchsorted(pool["cum"], u, side="right"), pool["names"].size - 1)


def _offset_shares(code: str, timezones: list[str]) -> dict[float, float]:
    if code in _OFFSET_SHARES:
        return _OFFSET_SHARES[code]
    january = _dt.datetime(2026, 1, 15, 12)
    offsets = [cast(_dt.timedelta, ZoneInfo(tz).utcoffset(january)) for tz in timezones]
    distinct = sorted({off.total_seconds() / 3600 for off in offsets})
    return {off: 1.0 / len(distinct) for off in distinct}


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


# --------------------------------------------------------------------------- sampling


def _gumbel_top(weights: np.ndarray, gumbel: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Boolean mask choosing ``counts[i]`` items per row without replacement, prob ~ weights
    (``gumbel``: standard Gumbel draws of the same shape)."""
    keys = np.log(np.maximum(weights, 1e-12)) + gumbel
    order = np.argsort(-keys, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(
        ranks, order, np.arange(weights.shape[1])[None, :].repeat(weights.shape[0], 0), axis=1
    )
    return ranks < counts[:, None]


@dataclass(frozen=True)
class _Text:
    """A text column as codes into its distinct texts: ``texts[codes]``, made into a
    column without a Python string per row (:meth:`column`)."""

    texts: np.ndarray  # object array of str
    codes: np.ndarray  # integer positions into texts, one per row

    def column(self) -> Any:
        """The column pandas makes of ``texts[codes]`` (an object array of str): the same
        dtype and values, taken from the few distinct texts (by Arrow when pandas keeps
        text in Arrow: several times faster than the array's own ``take``)."""
        texts = pd.array(self.texts, dtype=_TEXT_DTYPE)
        if not _ARROW_TEXT:
            return texts.take(self.codes)
        import pyarrow as pa

        return pd.array(pa.array(texts).take(pa.array(self.codes)), dtype=_TEXT_DTYPE)

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes into the distinct texts, those texts): equal texts of the pool (a city in
        two locales, a text of both roles) get one code."""
        first, texts = pd.factorize(self.texts)
        return first[self.codes], np.asarray(texts, dtype=object)

    @staticmethod
    def join(parts: list[_Text], shape: tuple[int, ...]) -> _Text:
        """The rows of ``parts`` side by side (each reshaped to ``shape`` + its own row
        count), as ``np.concatenate(..., axis=1).ravel()`` joins arrays."""
        offsets = np.cumsum([0] + [p.texts.size for p in parts[:-1]])
        codes = np.concatenate(
            [(p.codes + off).reshape(*shape, -1) for p, off in zip(parts, offsets, strict=True)],
            axis=-1,
        ).ravel()
        return _Text(np.concatenate([p.texts for p in parts]), codes)


# The dtype pandas gives a column of Python strings (Arrow-backed text in pandas 3).
_TEXT_DTYPE = pd.Series(np.array(["a"], dtype=object)).dtype
_ARROW_TEXT = isinstance(_TEXT_DTYPE, pd.StringDtype) and _TEXT_DTYPE.storage == "pyarrow"


def _join_lists(mask: np.ndarray, names: tuple[str, ...]) -> _Text:
    """';'-join the names selected in each row of ``mask``: each distinct row is joined
    once (a cohort has few distinct selections)."""
    if mask.shape[1] > 62:  # no int64 key: the selections row by row
        rows, codes = np.unique(mask, axis=0, return_inverse=True)
    else:
        key = mask.astype(np.int64) @ (np.int64(1) << np.arange(mask.shape[1], dtype=np.int64))
        codes, keys = pd.factorize(key)
        rows = (keys[:, None] >> np.arange(mask.shape[1])) & 1 > 0
    texts = np.array(
        [";".join(name for name, on in zip(names, row, strict=True) if on) for row in rows],
        dtype=object,
    )
    return _Text(texts, np.asarray(codes, np.intp).ravel())


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0), 3)


# Every random number of a cohort is drawn first, per cohort from its own streams and in a
# fixed order; everything after the draws is row by row, so the rows of several cohorts
# of one spec are shaped together (``generate_cohorts``) with the same numbers as one
# cohort at a time.


def _role_draws(spec: CohortSpec, role: str, n: int) -> dict[str, np.ndarray]:
    """The random numbers of one role of one cohort, in stream order."""
    profile = spec.mentor_profile if role == "mentor" else spec.mentee_profile
    rng = _seeding.rng(spec.seed, "cohort", role)
    n_dig, n_lead = len(spec.digital_domains), len(spec.leadership_domains)
    n_goal = n_dig if role == "mentee" else n_lead
    d: dict[str, np.ndarray] = {
        "z": rng.multivariate_normal(np.zeros(3), _CORR_AGE_LEVEL_TENURE, size=n, method="cholesky")
    }
    d["digital_person"] = rng.standard_normal((n, 1))
    d["digital_domain"] = rng.standard_normal((n, n_dig))
    d["lead_person"] = rng.standard_normal((n, 1))
    d["lead_domain"] = rng.standard_normal((n, n_lead))
    d["goal_count"] = rng.integers(1, min(profile.max_goals, n_goal) + 1, size=n)
    d["goal_gumbel"] = rng.gumbel(size=(n, n_goal))
    d["interest_gumbel"] = rng.gumbel(size=(n, len(INTERESTS)))
    d["traits"] = rng.standard_normal((n, len(TRAITS)))
    d["values"] = rng.standard_normal((n, len(WORK_VALUES)))
    d["availability"] = rng.gamma(4.0, profile.availability_hours_mean / 4.0, size=n)
    d["work_mode"] = rng.choice(len(WORK_MODES), size=n, p=profile.work_mode_probs)
    d["department"] = rng.integers(0, len(spec.departments), size=n)
    return d


def _sample_role(spec: CohortSpec, role: str, d: dict[str, np.ndarray]) -> dict[str, Any]:
    """One role's columns from its draws ``d`` (rows of one or several cohorts); text
    columns as :class:`_Text`."""
    from scipy import special  # here: a host that only plans a run never loads scipy

    profile = spec.mentor_profile if role == "mentor" else spec.mentee_profile
    z = d["z"]
    n = z.shape[0]
    age = np.clip(
        np.round(profile.age_mean + profile.age_sd * z[:, 0]), profile.age_min, profile.age_max
    ).astype(np.int64)
    cum = np.cumsum(profile.level_probs)
    level = np.minimum(np.searchsorted(cum, special.ndtr(z[:, 1]), side="right"), 7) + 1
    tenure: np.ndarray = profile.tenure_median_years * np.exp(profile.tenure_spread * z[:, 2])
    tenure = np.round(np.clip(tenure, 0.0, np.maximum(age - 16.5, 0.0)), 1)
    mean_level = float(np.dot(np.arange(1, 9), profile.level_probs))

    # A general factor plus domain noise: skills correlate within a person, and the
    # role means differ while the distributions overlap (some seniors are digital experts).
    digital = special.expit(
        special.logit(profile.digital_skill_mean)
        + 0.8 * d["digital_person"]
        - 0.02 * (age - profile.age_mean)[:, None]
        + 0.6 * d["digital_domain"]
    )
    lead = special.expit(
        special.logit(profile.leadership_skill_mean)
        + 0.35 * (level - mean_level)[:, None]
        + 0.7 * d["lead_person"]
        + 0.5 * d["lead_domain"]
    )
    digital, lead = _clip01(digital), _clip01(lead)

    # Goals where the person is weak: mentees in digital domains, mentors in leadership.
    own = digital if role == "mentee" else lead
    goal_names = spec.digital_domains if role == "mentee" else spec.leadership_domains
    goals = _join_lists(
        _gumbel_top((1.0 - own) ** 3, d["goal_gumbel"], d["goal_count"]), goal_names
    )
    interests = _join_lists(
        _gumbel_top(np.ones((n, len(INTERESTS))), d["interest_gumbel"], np.full(n, 3)), INTERESTS
    )

    # Deep-level traits are independent of role: the same distribution on both sides.
    traits = _clip01(0.5 + 0.15 * d["traits"])
    values = _clip01(0.5 + 0.18 * d["values"])
    availability = np.round(np.maximum(d["availability"], 1.0) * 2) / 2
    work_mode = _Text(np.array(WORK_MODES, dtype=object), d["work_mode"])
    department = _Text(np.array(spec.departments, dtype=object), d["department"])

    birth_year = spec.reference_year - age
    labels = np.array(["Silent", *(g for g, _, _ in GENERATIONS), "Gen Alpha"], dtype=object)
    generation = np.full(n, len(GENERATIONS), np.intp)  # Gen Z
    for k, (_, first, last) in enumerate(GENERATIONS):
        generation[(birth_year >= first) & (birth_year <= last)] = k + 1
    generation[birth_year < GENERATIONS[0][1]] = 0
    generation[birth_year > GENERATIONS[-1][2]] = len(labels) - 1

    out: dict[str, Any] = {
        "age": age,
        "generation": _Text(labels, generation),
        "level": level.astype(np.int64),
        "tenure_years": tenure,
        "department": department,
        "work_mode": work_mode,
    }
    out.update({f"skill_{d}": digital[:, j] for j, d in enumerate(spec.digital_domains)})
    out.update({f"lead_{d}": lead[:, j] for j, d in enumerate(spec.leadership_domains)})
    out["goal_domains"] = goals
    out["interests"] = interests
    out.update({f"trait_{t}": traits[:, j] for j, t in enumerate(TRAITS)})
    out.update({f"value_{v}": values[:, j] for j, v in enumerate(WORK_VALUES)})
    out["availability_hours_month"] = availability
    return out


def _identity_draws(spec: CohortSpec, n: int) -> dict[str, np.ndarray]:
    """The random numbers of one cohort's identities, in stream order."""
    rng = _seeding.rng(spec.seed, "cohort", "identity")
    weights = spec.locale_weights or tuple(1 / len(spec.locales) for _ in spec.locales)
    d: dict[str, np.ndarray] = {"locale": rng.choice(len(spec.locales), size=n, p=weights)}
    d["gender"] = rng.choice(len(GENDERS), size=n, p=spec.gender_shares)
    d["u_first"], d["u_last"], d["u_city"] = rng.random(n), rng.random(n), rng.random(n)
    d["name_female"] = rng.random(n) < 0.5  # first-name list for nonbinary people
    return d


def _repeat_number(local: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """How many earlier rows of the same group have the same ``local`` (0 for the first):
    a group-by cumulative count in row order, from one stable sort of integer keys."""
    codes, uniques = pd.factorize(local)
    key = codes.astype(np.int64)
    if group is not None:
        key = np.asarray(group, np.int64) * max(len(uniques), 1) + key
    order = np.argsort(key, kind="stable")
    ranked = key[order]
    position = np.arange(key.size)
    first = np.maximum.accumulate(np.where(np.r_[True, ranked[1:] != ranked[:-1]], position, 0))
    dup = np.empty(key.size, np.int64)
    dup[order] = position - first
    return dup


def _identities(
    spec: CohortSpec, ids: np.ndarray, d: dict[str, np.ndarray], group: np.ndarray | None = None
) -> dict[str, Any]:
    """Names, genders, e-mails, locations: consistent with each person's locale (the
    columns of few distinct texts as :class:`_Text`).

    ``group`` numbers the cohort of each row when rows of several cohorts are shaped
    together (e-mail addresses are unique within a cohort).
    """
    n = ids.size
    locale_idx, gender_idx = d["locale"], d["gender"]
    u_first, u_last, u_city = d["u_first"], d["u_last"], d["u_city"]
    name_female = d["name_female"]

    cols = {k: np.empty(n, dtype=object) for k in ("first", "last", "first_slug", "last_slug")}
    utc = np.empty(n, dtype=float)
    full = np.empty(n, dtype=object)
    # Locations as codes into the cities of every locale used, one after the other.
    cities: list[np.ndarray] = []
    countries = np.full(len(spec.locales), "", dtype=object)
    city_code = np.zeros(n, np.intp)
    for li, locale in enumerate(spec.locales):
        sel = np.flatnonzero(locale_idx == li)
        if sel.size == 0:
            continue
        pools = _locale_pools(locale)
        female = (gender_idx[sel] == 0) | ((gender_idx[sel] == 2) & name_female[sel])
        first = np.empty(sel.size, dtype=object)
        first_slug = np.empty(sel.size, dtype=object)
        for mask, key in ((female, "female"), (~female, "male")):
            k = _draw(pools[key], u_first[sel][mask])
            first[mask], first_slug[mask] = pools[key]["names"][k], pools[key]["slugs"][k]
        k = _draw(pools["last"], u_last[sel])
        last, last_slug = pools["last"]["names"][k], pools["last"]["slugs"][k]
        city = (u_city[sel] * len(pools["cities"])).astype(int)
        cols["first"][sel], cols["last"][sel] = first, last
        cols["first_slug"][sel], cols["last_slug"][sel] = first_slug, last_slug
        city_code[sel] = city + sum(c.size for c in cities)
        cities.append(pools["cities"])
        countries[li] = pools["country"]
        utc[sel] = pools["city_offsets"][city]
        full[sel] = (last + first) if pools["family_first"] else (first + " " + last)

    # Non-Latin names have no ASCII slug: fall back to the participant id.
    local = cols["first_slug"] + "." + cols["last_slug"]
    fallback = (cols["first_slug"] == "") | (cols["last_slug"] == "")
    if fallback.any():
        local[fallback] = np.char.lower(ids[fallback].astype(str)).astype(object)
    dup = _repeat_number(local, group)
    again = dup > 0  # the second "a.b" of a cohort is "a.b1"
    local[again] = local[again] + dup[again].astype(str).astype(object)
    return {
        "name": full,
        "gender": _Text(np.array(GENDERS, dtype=object), gender_idx),
        "email": local + "@" + spec.email_domain,
        "locale": _Text(np.array(spec.locales, dtype=object), locale_idx),
        "location": _Text(np.concatenate([np.empty(0, dtype=object), *cities]), city_code),
        "country": _Text(countries, locale_idx),
        "utc_offset": utc,
    }


COLUMN_ORDER_HEAD = (
    "participant_id",
    "role",
    "name",
    "gender",
    "email",
    "locale",
    "age",
    "generation",
    "level",
    "tenure_years",
    "department",
    "location",
    "country",
    "utc_offset",
    "work_mode",
)


def generate_cohort(spec: CohortSpec | None = None, **overrides: Any) -> Cohort:
    """Generate a cohort from ``spec`` (or ``CohortSpec(**overrides)``).

    >>> generate_cohort(n_mentors=3, n_mentees=2, seed=1).participants["role"].tolist()
    ['mentor', 'mentor', 'mentor', 'mentee', 'mentee']
    """
    if spec is None:
        spec = CohortSpec(**overrides)
    elif overrides:
        raise fail(
            "spec", "generate_cohort", "given alone or replaced by keyword overrides", "both"
        )
    elif not isinstance(spec, CohortSpec):
        raise fail("spec", "generate_cohort", "a CohortSpec", spec)
    return _generate(spec, [spec.seed])[0]


def generate_cohorts(spec: CohortSpec, seeds: Any) -> list[Cohort]:
    """Several cohorts of one spec, one per seed, shaped in one vectorised pass.

    Element ``i`` equals ``generate_cohort(dataclasses.replace(spec, seed=seeds[i]))``
    (the same numbers: each cohort draws from its own seed's streams); only the work
    after the draws is shared, which is most of the cost of a small cohort.

    >>> from dataclasses import replace
    >>> spec = CohortSpec(n_mentors=4, n_mentees=3)
    >>> many = generate_cohorts(spec, [5, 6])
    >>> many[1].participants.equals(generate_cohort(replace(spec, seed=6)).participants)
    True
    """
    owner = "generate_cohorts"
    if not isinstance(spec, CohortSpec):
        raise fail("spec", owner, "a CohortSpec", spec)
    if isinstance(seeds, int | str) or not hasattr(seeds, "__len__") or not len(seeds):
        raise fail("seeds", owner, "a non-empty list of seeds", seeds)
    return _generate(spec, [_seeding.check_seed(s, owner, "seeds") for s in seeds])


def _generate(spec: CohortSpec, seeds: list[int]) -> list[Cohort]:
    n_r, n_e = spec.n_mentors, spec.n_mentees
    n, b = spec.n_participants, len(seeds)
    specs = [spec if s == spec.seed else replace(spec, seed=s) for s in seeds]

    def stacked(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    mentors = _sample_role(spec, "mentor", stacked([_role_draws(s, "mentor", n_r) for s in specs]))
    mentees = _sample_role(spec, "mentee", stacked([_role_draws(s, "mentee", n_e) for s in specs]))
    ids_one = np.array([f"P{i:06d}" for i in range(1, n + 1)], dtype=object)
    ids = np.tile(ids_one, b)
    data: dict[str, Any] = {
        "participant_id": _Text(ids_one, np.tile(np.arange(n), b)),
        "role": _Text(
            np.array(["mentor", "mentee"], dtype=object), np.tile(np.repeat([0, 1], [n_r, n_e]), b)
        ),
    }
    data.update(
        _identities(
            spec,
            ids,
            stacked([_identity_draws(s, n) for s in specs]),
            group=np.repeat(np.arange(b), n) if b > 1 else None,
        )
    )
    for key in mentors:
        # Cohort after cohort, each its mentors then its mentees.
        r, e = mentors[key], mentees[key]
        if isinstance(r, _Text):
            data[key] = _Text.join([r, e], (b,))
        else:
            data[key] = np.concatenate([r.reshape(b, n_r), e.reshape(b, n_e)], axis=1).ravel()
    order = list(COLUMN_ORDER_HEAD) + [k for k in mentors if k not in COLUMN_ORDER_HEAD]
    participants = pd.DataFrame(
        {k: data[k].column() if isinstance(data[k], _Text) else data[k] for k in order}
    )
    frames = (
        [participants]
        if b == 1
        else [participants.iloc[i * n : (i + 1) * n].reset_index(drop=True) for i in range(b)]
    )
    # What the cohort would find by reading its columns back, known here: its mentors are
    # rows 0..n_r-1 and its mentees the rest (the slices Cohort._role_rows takes),
    # everyone lists three of INTERESTS and nothing else, and each text column is codes
    # into few distinct texts (Cohort.factorized).
    texts = {k: v.distinct() for k, v in data.items() if isinstance(v, _Text)}
    return [
        Cohort(
            participants=frame,
            spec=s,
            digital_domains=spec.digital_domains,
            leadership_domains=spec.leadership_domains,
            _cache={
                ("rows", "mentor"): frame.iloc[0:n_r],
                ("rows", "mentee"): frame.iloc[n_r:n],
                "interest_names": INTERESTS,
                **{
                    ("text_codes", k): (codes[i * n : (i + 1) * n], distinct)
                    for k, (codes, distinct) in texts.items()
                },
            },
        )
        for i, (frame, s) in enumerate(zip(frames, specs, strict=True))
    ]
