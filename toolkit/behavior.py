"""The behaviour model: every number of the data-generating mechanism, with its source.

:class:`BehaviorModel` holds the parameters of the weekly dynamics in ``simulate`` (see
``docs/model.md``). Each field carries its unit, meaning and source in its metadata;
:meth:`BehaviorModel.describe` returns them as a table. Parameters marked *calibrated* were
set so that :func:`toolkit.calibration.calibration_report` puts every target of the
package's calibration table (``toolkit/data/calibration_targets.csv``)
inside its published range; *assumption* marks a plausible value with no published anchor; *scenario input* marks a
lever's effect (goals, agenda, training, recognition, virtual meetings), which the user
sets within its allowed range: a report states it as an input, never as a finding.
:mod:`toolkit.calibration` checks the calibrated ones against the targets.

Scales: relationship quality, engagement and skills are latent values in [0, 1]; logit
coefficients move the log-odds of a weekly probability; surveys are five-point Likert.

>>> from toolkit.behavior import BehaviorModel
>>> BehaviorModel().describe().set_index("parameter").loc["quality_deep", "unit"]
'quality per unit of similarity'
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import pandas as pd

from toolkit._spec import Spec
from toolkit._validation import check_real

__all__ = ["SCENARIO", "BehaviorModel", "parameter_table_markdown", "update_model_doc"]

_OWNER = "BehaviorModel"
_EBY13 = "Eby et al. 2013, Psychological Bulletin 139:441"
_MONTOYA08 = "Montoya, Horton & Kirchner 2008, J Soc Pers Relat 25:889"
_STAR = "Keller & Spencer 2017, STAR final report (OJJDP); OJJDP brief NCJ 251484 (2018)"
# Lever effects are scenario inputs: what a user assumes a practice does, not a prior.
SCENARIO = "scenario input"


def _p(
    default: float,
    unit: str,
    meaning: str,
    source: str = "assumption",
    *,
    label: str,
    low: float | None = 0.0,
    high: float | None = None,
    plausible: tuple[float, float] | None = None,
    prior: tuple[str, float, float, str] | None = None,
) -> Any:
    """A parameter field: default plus unit, meaning, source, allowed and plausible range, and
    ``label``: the parameter in plain words for sentences written to program designers
    ("Which way it goes depends mostly on <label>", "if <label> is above 1.5"), a noun
    phrase that reads in both places.

    ``plausible`` is the range a robustness analysis explores for an *assumption*; by
    default half to one and a half times the default, kept inside the allowed range.
    ``prior`` is (distribution, low, high, reason) for calibration as inference; by
    default uniform over ``plausible``, with that as its stated reason.
    """
    if plausible is None:
        lo, hi = sorted((0.5 * default, 1.5 * default))
        plausible = (lo if low is None else max(lo, low), hi if high is None else min(hi, high))
    if prior is None:
        prior = (
            "uniform",
            *plausible,
            "uniform over the plausible range (no published distribution)",
        )
    return field(
        default=default,
        metadata={
            "unit": unit,
            "meaning": meaning,
            "source": source,
            "label": label,
            "low": low,
            "high": high,
            "plausible": tuple(float(x) for x in plausible),
            "prior": (prior[0], float(prior[1]), float(prior[2]), prior[3]),
        },
    )


@dataclass(frozen=True)
class BehaviorModel(Spec):
    """Parameters of the weekly dynamics (frozen, validated; see ``describe()``).

    Rates, standard deviations, hours and effect sizes must be >= 0; baseline log-odds
    may be any finite number; shares lie in [0, 1].
    """

    # --- relationship quality: starts from fit, moves toward fit with each meeting
    quality_base: float = _p(
        0.55,
        "quality (0-1)",
        "Fit (the quality a pair tends to) of a pair whose every "
        "similarity component is at the cohort's typical value (its mean over all possible "
        "pairs, i.e. under random matching) and whose perceived similarity is 0.5",
        "assumption",
        high=1.0,
        plausible=(0.45, 0.65),
        label="how well a typical pair fits",
    )
    quality_deep: float = _p(
        0.05,
        "quality per unit of similarity",
        "Effect of ACTUAL deep-level profile similarity (values, personality: what the "
        "matcher sees) on a pair's fit",
        f"assumption ({_MONTOYA08}: actual similarity matters in no- or short-interaction "
        "settings and much less in existing relationships; the range allows no effect)",
        plausible=(0.0, 0.35),
        label="how much similar values and personality improve a pair's fit",
    )
    quality_perceived: float = _p(
        0.35,
        "quality per unit of perceived similarity",
        "Effect of PERCEIVED similarity (what the pair comes to feel; grows with contact) "
        "on a pair's fit",
        f"calibrated: {_EBY13} (deep-level similarity, mostly perceived, r = .38-.59); "
        f"{_MONTOYA08} (perceived similarity predicts attraction throughout)",
        prior=(
            "uniform",
            0.1,
            0.6,
            "wide (0.1 to 0.6 around the former hand setting 0.35) so the Eby et al. r target, "
            "not that setting, decides; above 0 because perceived similarity raises attraction in"
            " every study Montoya et al. 2008 pool",
        ),
        label="how much feeling alike improves a pair's fit",
    )
    perceived_actual: float = _p(
        0.2,
        "perceived per unit of actual similarity",
        "How much of the actual deep-level similarity (from the cohort's typical value) "
        "the pair perceives at the start",
        "assumption",
        plausible=(0.0, 1.0),
        label="how much of their real similarity a new pair notices",
    )
    perceived_sd: float = _p(
        0.12,
        "perceived similarity (0-1)",
        "SD of the starting perceived similarity around 0.5 + perceived_actual * (actual "
        "- typical) (the pair's unobserved chemistry)",
        "assumption",
        plausible=(0.05, 0.2),
        label="how much unseen chemistry varies between new pairs",
    )
    perceived_growth: float = _p(
        0.02,
        "share of gap per meeting hour",
        "Share of the gap from perceived similarity to 1 closed per hour of held contact "
        "(people come to see each other as similar as they interact)",
        f"assumption ({_MONTOYA08}: perceived similarity rises in existing relationships; "
        "rate not published)",
        high=1.0,
        plausible=(0.0, 0.05),
        label="how fast pairs come to feel alike as they meet",
    )
    quality_surface: float = _p(
        0.05,
        "quality per unit of similarity",
        "Effect of surface-level similarity (department, generation, gender) on fit",
        f"calibrated: {_EBY13}; Tuma & Dolan (surface weaker than deep, near zero)",
        prior=(
            "uniform",
            0.0,
            0.15,
            "from none (Tuma & Dolan: demographic match not associated; the allowed range starts "
            "at 0) to three times the former hand setting 0.05",
        ),
        label="how much a shared department, generation or gender improves fit",
    )
    quality_interests: float = _p(
        0.1,
        "quality per unit of similarity",
        "Effect of shared personal interests on fit",
        "assumption",
        plausible=(0.0, 0.2),
        label="how much shared interests improve fit",
    )
    quality_chemistry_sd: float = _p(
        0.08,
        "quality (0-1)",
        "SD of unobserved pair chemistry added to fit",
        f"calibrated: {_EBY13} (the rest of the variance in quality)",
        prior=(
            "uniform",
            0.02,
            0.16,
            "a quarter to twice the former hand setting 0.08, so the correlation targets, not "
            "that setting, decide; an SD is >= 0 by definition",
        ),
        label="how much unexplained chemistry varies between pairs",
    )
    quality_start_weight: float = _p(
        0.5,
        "share",
        "Share of the gap from neutral (0.5) to fit already present at the start",
        "assumption",
        high=1.0,
        label="how much of its fit a pair has from the first meeting",
    )
    quality_approach: float = _p(
        0.2,
        "share of gap per meeting",
        "How far one held meeting moves quality toward fit",
        "assumption",
        high=1.0,
        label="how fast each meeting builds the relationship",
    )
    quality_noise_sd: float = _p(
        0.03,
        "quality (0-1)",
        "SD of the change in quality at a held meeting",
        "assumption",
        label="how much a single meeting's effect on the relationship varies",
    )
    quality_decay: float = _p(
        0.045,
        "share per week",
        "Weekly decay of quality toward the floor in a week without a meeting",
        f"calibrated: {_EBY13} (frequency-support r = .15-.35)",
        high=1.0,
        prior=(
            "uniform",
            0.015,
            0.09,
            "a third to twice the former hand setting 0.045, so the frequency-support and closure"
            " targets decide; a decay rate is >= 0 by definition",
        ),
        label="how fast the relationship fades in a week without a meeting",
    )
    quality_floor: float = _p(
        0.2,
        "quality (0-1)",
        "Level quality decays toward without contact",
        "assumption",
        high=1.0,
        label="the level a relationship fades to without contact",
    )
    quality_training: float = _p(
        0.03,
        "quality (0-1)",
        "Fit gained when mentors are trained (lever effect)",
        f"{SCENARIO} (training is a standard practice; effect size not published)",
        low=-0.1,
        high=0.1,
        plausible=(-0.1, 0.1),
        label="how much mentor training improves fit",
    )
    quality_agenda: float = _p(
        0.02,
        "quality (0-1)",
        "Fit gained with a structured, mentee-led agenda (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.1,
        high=0.1,
        plausible=(-0.1, 0.1),
        label="how much a mentee-led agenda improves fit",
    )
    quality_virtual_penalty: float = _p(
        0.2,
        "share",
        "Relative slowdown of quality building when meetings are virtual (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.5,
        high=1.0,
        plausible=(-0.5, 1.0),
        label="how much slower relationships build over video",
    )

    # --- meetings: held with a probability rising with engagement, falling with load
    meet_base: float = _p(
        2.0,
        "log-odds",
        "Log-odds a scheduled meeting is held at average engagement (0.5)",
        "calibrated: early closure and frequency-support targets",
        low=None,
        prior=(
            "uniform",
            0.5,
            3.5,
            "log-odds 0.5 to 3.5 (62% to 97% of scheduled meetings held at average engagement) "
            "around the former hand setting 2.0: no published rate for workplace pairs, so the "
            "closure and frequency targets decide",
        ),
        label="how likely a scheduled meeting is to happen",
    )
    meet_engagement: float = _p(
        3.0,
        "log-odds per unit engagement",
        "Effect of engagement on holding a meeting",
        label="how much engagement helps meetings happen",
    )
    meet_overload: float = _p(
        1.0,
        "log-odds per unit overload",
        "Effect of realised contact load beyond availability (recent monthly meeting hours / "
        "the scarcer partner's available hours - 1, >= 0)",
        plausible=(0.0, 2.0),
        label="how much meeting more than people have time for makes meetings lapse",
    )
    meet_misfit: float = _p(
        1.0,
        "log-odds per unit misfit",
        "Effect of schedule misfit (1 - schedule_fit: time-zone gap, availability)",
        label="how much clashing schedules make meetings lapse",
    )
    meet_gap: float = _p(
        0.25,
        "log-odds per week",
        "Drop in the chance of holding a scheduled meeting per week since the last meeting "
        "held, beyond contact_grace_weeks (contact fades: pairs drift apart)",
        plausible=(0.0, 0.6),
        label="how much each week without contact makes the next meeting less likely",
    )
    contact_grace_weeks: float = _p(
        4.0,
        "weeks",
        "Weeks without a meeting before missed contact starts to weigh on "
        "meetings and closure (a month without contact is ordinary)",
        plausible=(2.0, 8.0),
        label="how many weeks without a meeting pass before contact starts to fade",
    )
    load_memory_weeks: float = _p(
        4.0,
        "weeks",
        "Memory of realised contact hours (exponential smoothing) when judging overload",
        low=1.0,
        plausible=(2.0, 8.0),
        label="how long people remember a heavy run of meetings",
    )
    meet_virtual: float = _p(
        0.4,
        "log-odds",
        "Virtual meetings are easier to hold (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-1.0,
        high=1.0,
        plausible=(-1.0, 1.0),
        label="how much easier video meetings are to hold",
    )
    meet_agenda: float = _p(
        0.2,
        "log-odds",
        "A structured agenda makes meetings easier to hold (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-1.0,
        high=1.0,
        plausible=(-1.0, 1.0),
        label="how much a structured agenda helps meetings happen",
    )

    # --- engagement: up with good meetings, goals, recognition; down with misses, overload
    engagement_base: float = _p(
        0.6,
        "engagement (0-1)",
        "Mean engagement at the start",
        "assumption",
        high=1.0,
        plausible=(0.5, 0.7),
        label="how engaged pairs are at the start",
    )
    engagement_sd: float = _p(
        0.12,
        "engagement (0-1)",
        "SD of engagement at the start",
        label="how much starting engagement varies",
    )
    engagement_goals: float = _p(
        0.05,
        "engagement (0-1)",
        "Starting engagement gained from written goals (lever effect)",
        f"{SCENARIO} (goal setting is a core practice; effect size not published)",
        low=-0.1,
        high=0.1,
        plausible=(-0.1, 0.1),
        label="how much written goals raise starting engagement",
    )
    engagement_recognition: float = _p(
        0.03,
        "engagement (0-1)",
        "Starting engagement gained from recognition (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.1,
        high=0.1,
        plausible=(-0.1, 0.1),
        label="how much recognition raises starting engagement",
    )
    engagement_contact: float = _p(
        0.01,
        "engagement per meeting hour",
        "Gain per hour of a held meeting whatever its quality (contact itself keeps a pair "
        "engaged), so a meeting at the cohort's typical fit does not lower engagement",
        "assumption (no source says a typical meeting lowers engagement)",
        plausible=(0.0, 0.03),
        label="how much simply meeting keeps a pair engaged",
    )
    engagement_meeting: float = _p(
        0.1,
        "engagement per unit quality",
        "Change at a held meeting per hour and unit of "
        "quality above quality_base, the fit of a typical pair (a better than typical meeting "
        "raises engagement, a worse one lowers it)",
        plausible=(0.0, 0.2),
        label="how much a good meeting raises engagement",
    )
    engagement_lever_meeting: float = _p(
        0.01,
        "engagement per meeting",
        "Extra gain per held meeting for each of goal setting and recognition (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.05,
        high=0.05,
        plausible=(-0.05, 0.05),
        label="how much goals and recognition add to each meeting",
    )
    engagement_miss: float = _p(
        0.03,
        "engagement per missed meeting hour",
        "Loss at a missed scheduled meeting, per planned hour (missing two 30-minute "
        "meetings costs what missing one hour-long meeting does)",
        "assumption (no published size; the range includes a negligible cost)",
        plausible=(0.0, 0.08),
        label="how much engagement a missed meeting costs",
    )
    engagement_overload: float = _p(
        0.03,
        "engagement per meeting hour per unit overload",
        "Loss at a meeting held while overloaded, per hour and unit of overload (a state "
        "of recent load, not a weekly drain)",
        plausible=(0.0, 0.06),
        label="how much engagement meeting while overloaded costs",
    )

    # --- availability: the hours people can give (a cohort parameter with a prior)
    mentee_hours_month: float = _p(
        4.0,
        "hours per month",
        "Mean hours a month a (senior) mentee can give the program; "
        "a synthetic cohort supplies each mentee's availability relative to its mean (a "
        "roster column availability_hours_month overrides with real hours)",
        "assumption (no published figure for reverse-mentoring mentees; two to twelve hours "
        "a month spans one short meeting to three hours a week)",
        plausible=(2.0, 12.0),
        label="the hours a month mentees can give",
    )
    mentor_hours_month: float = _p(
        6.0,
        "hours per month",
        "Mean hours a month a (junior) mentor can give the program; "
        "relative availability from the cohort, as for mentees",
        "assumption (no published figure)",
        plausible=(2.0, 12.0),
        label="the hours a month mentors can give",
    )

    # --- closure: weekly hazard falling with quality and engagement, rising with misses
    closure_base: float = _p(
        -6.0,
        "log-odds per week",
        "Weekly log-odds that the relationship itself ends for "
        "an average pair (quality and engagement 0.5, no missed contact)",
        "calibrated: OJJDP 2017; DeWit et al. 2016 (15-35% close early); Kupersmidt et al. "
        f"2017 (38% premature closure); {_STAR} (31% within 12 months)",
        low=None,
        prior=(
            "uniform",
            -8.5,
            -3.5,
            "weekly log-odds -8.5 to -3.5 (about 0.5% to 55% of average pairs ending on their own"
            " in 26 weeks) around the former hand setting -6.0, so the closure targets decide",
        ),
        label="how often relationships end on their own",
    )
    closure_quality: float = _p(
        5.0,
        "log-odds per unit quality",
        "Effect of quality below 0.5 on the weekly hazard",
        label="how strongly a poor relationship drives closure",
    )
    closure_engagement: float = _p(
        3.0,
        "log-odds per unit engagement",
        "Effect of engagement below 0.5 on the hazard",
        label="how strongly lost engagement drives closure",
    )
    closure_outside: float = _p(
        -5.3,
        "log-odds per week",
        "Weekly log-odds of an outside event that ends the pair "
        "whatever its quality (a move, a change of role, workload) for a pair at the "
        "cohort's typical availability",
        f"calibrated: {_STAR} (64% of closures mentor-attributed, mostly moves and time "
        "constraints; youth evidence, transfer to the workplace assumed)",
        low=None,
        plausible=(-7.5, -5.0),
        prior=(
            "uniform",
            -8.0,
            -3.5,
            "weekly log-odds -8.0 to -3.5 (about 1% to 55% of pairs ended by an outside event in "
            "26 weeks) around the former hand setting -5.3, so the closure and attribution "
            "targets decide",
        ),
        label="how often outside events (a move, a new role) end a pair",
    )
    closure_outside_pressure: float = _p(
        0.5,
        "log-odds per unit of missing availability",
        "Rise of the outside-event log-odds per unit of 1 - (the scarcer partner's hours / "
        "their role means), the intake characteristic 'stated time pressure'",
        f"assumption ({_STAR}: time constraints among the main reasons; size not "
        "published; the range includes none)",
        low=None,
        plausible=(0.0, 1.0),
        label="how much time pressure adds to outside endings",
    )
    closure_gap: float = _p(
        0.12,
        "log-odds per week",
        "Rise of the weekly closure hazard per week since the "
        "last meeting held, beyond contact_grace_weeks (formal closure lags fading)",
        "assumption (DeWit et al. 2016 and the 90-day inactivity rules of platforms show "
        "that pairs close after long silences; the rate is not published)",
        plausible=(0.0, 0.3),
        label="how much each week without contact adds to the chance of closing",
    )

    # --- learning, both ways, with diminishing returns
    learn_mentee: float = _p(
        0.03,
        "share of gap per meeting",
        "Share of the mentor's advantage in the mentee's "
        "goal domains the mentee learns in one 60-minute meeting at quality 1",
        "calibrated: Raposa et al. 2019; DuBois et al. 2011; Eby et al. 2008 (g = .10-.40)",
        high=1.0,
        prior=(
            "uniform",
            0.01,
            0.06,
            "a third to twice the former hand setting 0.03, so the effect-size target decides; >="
            " 0 because mentoring does not unteach (every pooled effect in Raposa et al. 2019 is "
            ">= 0)",
        ),
        label="how much a mentee learns per meeting",
    )
    learn_mentor: float = _p(
        0.015,
        "share of gap per meeting",
        "Share of the mentee's leadership advantage in the "
        "mentor's goal domains the mentor learns per meeting at quality 1",
        "assumption",
        high=1.0,
        label="how much a mentor learns per meeting",
    )
    learn_minutes_elasticity: float = _p(
        0.5,
        "elasticity",
        "Learning per meeting scales with (minutes / 60) ** elasticity",
        "assumption (diminishing returns to longer meetings)",
        high=1.0,
        label="how much longer meetings add to learning",
    )
    learn_goals: float = _p(
        0.2,
        "relative",
        "Learning boost from written goals (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.5,
        high=1.0,
        plausible=(-0.5, 1.0),
        label="how much written goals add to learning",
    )
    learn_agenda: float = _p(
        0.25,
        "relative",
        "Mentee learning boost from a mentee-led agenda (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.5,
        high=1.0,
        plausible=(-0.5, 1.0),
        label="how much a mentee-led agenda adds to the mentee's learning",
    )
    learn_training: float = _p(
        0.15,
        "relative",
        "Mentee learning boost when mentors are trained (lever effect)",
        f"{SCENARIO} (effect size not published)",
        low=-0.5,
        high=1.0,
        plausible=(-0.5, 1.0),
        label="how much mentor training adds to the mentee's learning",
    )

    # --- surveys (five-point Likert) and their measurement error
    rating_noise_sd: float = _p(
        1.0,
        "Likert points",
        "Error of a check-in survey rating around 1 + 4 * (what it "
        "reflects: see rating_quality_weight)",
        "calibrated: Lyons & Edwards 2022, Am J Community Psychol 70:127 (a quality rating "
        "screens for premature closure with sensitivity .43, specificity .75)",
        prior=(
            "uniform",
            0.4,
            1.6,
            "0.4 to 1.6 Likert points (+-60% of the former hand setting 1.0), so the screening "
            "targets decide; an SD is >= 0 by definition",
        ),
        label="how noisy check-in ratings are",
    )
    rating_quality_weight: float = _p(
        0.5,
        "share",
        "Share of relationship quality (the rest: engagement) in what a "
        "check-in survey rating reflects",
        high=1.0,
        plausible=(0.2, 0.8),
        label="how much check-in ratings reflect the relationship (not engagement)",
    )
    skill_noise_sd: float = _p(
        0.5,
        "Likert points",
        "Error of a self-rated skill around 1 + 4 * skill",
        label="how noisy self-rated skills are",
    )
    satisfaction_noise_sd: float = _p(
        0.9,
        "Likert points",
        "Spread of satisfaction around 1 + 4 * final quality (other causes and measurement error)",
        f"calibrated: {_EBY13} (quality-satisfaction r = .28-.60)",
        prior=(
            "uniform",
            0.4,
            1.6,
            "0.4 to 1.6 Likert points around the former hand setting 0.9, so the quality-"
            "satisfaction target decides; an SD is >= 0 by definition",
        ),
        label="how much satisfaction varies for other reasons",
    )
    support_noise_sd: float = _p(
        0.5,
        "Likert points",
        "Spread of mentee-rated support around 1 + 4 * final quality",
        f"calibrated: {_EBY13} (frequency-support r = .15-.35)",
        prior=(
            "uniform",
            0.2,
            1.0,
            "0.2 to 1.0 Likert points (+-60% of the former hand setting 0.5), so the frequency-"
            "support target decides; an SD is >= 0 by definition",
        ),
        label="how much rated support varies for other reasons",
    )

    # --- endings: what an early ending does to the people in it
    ending_satisfaction: float = _p(
        0.5,
        "Likert points",
        "Drop in both sides' satisfaction after an early ending",
        "assumption (early-terminated matches fare worse: Grossman & Rhodes 2002, Am J "
        "Community Psychol 30:199; size not published)",
        plausible=(0.0, 1.0),
        label="how much an early ending lowers satisfaction",
    )
    ending_gain_retention: float = _p(
        0.8,
        "share",
        "Share of what was learned that is kept after an early ending",
        high=1.0,
        plausible=(0.5, 1.0),
        label="how much learning is kept after an early ending",
    )
    ending_setback: float = _p(
        0.005,
        "skill (0-1)",
        "Setback in self-rated skill after an early ending (a gain can be negative)",
        "assumption (youths in matches ended within 3 months declined on "
        "some outcomes: Grossman & Rhodes 2002; size for workplace skills not published)",
        plausible=(0.0, 0.02),
        label="how much an early ending sets skills back",
    )
    rematch_acceptance: float = _p(
        0.7,
        "probability",
        "Chance a flagged mentee accepts a new mentor rather than "
        "leaving the program (willingness to be rematched after an ending)",
        "assumption (no published rate for workplace programs)",
        high=1.0,
        plausible=(0.3, 1.0),
        label="how willing mentees are to take a new mentor",
    )

    # --- coordinator actions and time costs
    coach_engagement: float = _p(
        0.05,
        "engagement (0-1)",
        "Engagement gained from coaching (negative: the pair feels policed)",
        "assumption (no published size for coordinator coaching; the range "
        "includes no effect and a pair feeling policed)",
        low=-0.2,
        high=0.5,
        plausible=(-0.05, 0.15),
        label="how much coaching raises engagement",
    )
    coach_quality: float = _p(
        0.15,
        "share of gap",
        "Share of the gap to fit closed by coaching",
        "assumption (no published size; the range includes no effect)",
        high=1.0,
        plausible=(0.0, 0.3),
        label="how much coaching repairs a relationship",
    )
    coach_contact: float = _p(
        0.5,
        "share",
        "Share of the weeks of missed contact beyond the grace period that "
        "coaching forgives (the pair is reconnected)",
        "assumption",
        high=1.0,
        plausible=(0.0, 1.0),
        label="how much coaching reconnects a pair that lost contact",
    )
    checkin_minutes: float = _p(
        15.0,
        "coordinator minutes",
        "Coordinator time per check-in",
        label="the coordinator's time per check-in",
    )
    survey_minutes: float = _p(
        5.0,
        "minutes per person",
        "Participant time per check-in",
        label="the participants' time per check-in",
    )
    coach_hours: float = _p(
        1.0,
        "coordinator hours",
        "Coordinator time per coaching",
        label="the coordinator's time per coaching",
    )
    coach_participant_hours: float = _p(
        0.5,
        "hours per person",
        "Mentee and mentor time per coaching",
        label="the pair's time per coaching",
    )
    rematch_hours: float = _p(
        2.0,
        "coordinator hours",
        "Coordinator time per rematch",
        label="the coordinator's time per rematch",
    )
    close_hours: float = _p(
        0.5,
        "coordinator hours",
        "Coordinator time per closure on flag",
        label="the coordinator's time per closure",
    )
    agenda_prep_minutes: float = _p(
        15.0,
        "mentee minutes per meeting",
        "Mentee preparation for a mentee-led agenda",
        label="the mentee's preparation time per meeting with an agenda",
    )
    training_hours: float = _p(
        4.0, "mentor hours", "One-off mentor training time", label="the mentor's training time"
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            meta = f.metadata
            check_real(getattr(self, f.name), f.name, _OWNER, low=meta["low"], high=meta["high"])
            object.__setattr__(self, f.name, float(getattr(self, f.name)))

    def replace(self, **changes: Any) -> BehaviorModel:
        """A validated copy with some parameters changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def overrides(self) -> dict[str, float]:
        """The parameters that differ from the defaults (what an experiment spec stores)."""
        default = BehaviorModel()
        return {k: v for k, v in self.to_dict().items() if v != getattr(default, k)}

    @classmethod
    def label(cls, name: str) -> str:
        """The parameter ``name`` in plain words (its field's ``label``); any other input's
        name is returned as it is.

        >>> BehaviorModel.label("closure_engagement")
        'how strongly lost engagement drives closure'
        """
        field_ = {f.name: f for f in fields(cls)}.get(name)
        return field_.metadata["label"] if field_ is not None else name

    @classmethod
    def assumptions(cls) -> list[str]:
        """Names of the parameters whose source is an assumption (no published anchor)."""
        return [f.name for f in fields(cls) if f.metadata["source"].startswith("assumption")]

    @classmethod
    def scenario_inputs(cls) -> list[str]:
        """Names of the lever effects: scenario inputs a user sets (within their allowed
        range), never priors and never findings.

        >>> "quality_training" in BehaviorModel.scenario_inputs()
        True
        """
        return [f.name for f in fields(cls) if f.metadata["source"].startswith(SCENARIO)]

    @classmethod
    def plausible_ranges(cls) -> pd.DataFrame:
        """The range a robustness analysis explores for each assumption parameter.

        One row per assumption: parameter, default, low, high, unit, meaning.

        >>> r = BehaviorModel.plausible_ranges().set_index("parameter")
        >>> bool((r["low"] <= r["default"]).all() and (r["default"] <= r["high"]).all())
        True
        """
        rows = []
        for f in fields(cls):
            if f.name in cls.assumptions():
                low, high = f.metadata["plausible"]
                rows.append(
                    {
                        "parameter": f.name,
                        "default": f.default,
                        "low": low,
                        "high": high,
                        "unit": f.metadata["unit"],
                        "meaning": f.metadata["meaning"],
                    }
                )
        return pd.DataFrame(rows)

    @classmethod
    def priors(cls) -> pd.DataFrame:
        """The prior of every parameter: parameter, distribution, low, high, source, reason.

        ``source`` is the parameter's source; ``reason`` says why the prior has its range.

        >>> p = BehaviorModel.priors().set_index("parameter")
        >>> p.loc["quality_base", ["distribution", "low", "high"]].astype(str).tolist()
        ['uniform', '0.45', '0.65']
        """
        return pd.DataFrame(
            [
                {
                    "parameter": f.name,
                    "distribution": f.metadata["prior"][0],
                    "low": f.metadata["prior"][1],
                    "high": f.metadata["prior"][2],
                    "source": f.metadata["source"],
                    "reason": f.metadata["prior"][3],
                }
                for f in fields(cls)
            ]
        )

    def describe(self) -> pd.DataFrame:
        """One row per parameter: parameter, value, unit, allowed, meaning, source."""
        obj = self
        rows = []
        for f in fields(obj):
            m = f.metadata
            lo = "-inf" if m["low"] is None else f"{m['low']:g}"
            hi = "inf" if m["high"] is None else f"{m['high']:g}"
            plo, phi = m["plausible"]
            rows.append(
                {
                    "parameter": f.name,
                    "value": getattr(obj, f.name),
                    "unit": m["unit"],
                    "allowed": f"[{lo}, {hi}]",
                    "meaning": m["meaning"],
                    "source": m["source"],
                    "plausible": (
                        f"[{plo:g}, {phi:g}]"
                        if m["source"].startswith(("assumption", SCENARIO))
                        else ""
                    ),
                }
            )
        return pd.DataFrame(rows)


_DOC_START = "<!-- parameters:start (generated by toolkit.behavior.update_model_doc) -->"
_DOC_END = "<!-- parameters:end -->"


def parameter_table_markdown() -> str:
    """The parameter table of ``docs/model.md``: one row per BehaviorModel parameter, with
    its prior (what calibration as inference samples; lever effects are scenario inputs
    and have none)."""
    table = BehaviorModel().describe()
    priors = BehaviorModel.priors().set_index("parameter")
    levers = set(BehaviorModel.scenario_inputs())
    default_reason = priors["reason"].str.startswith("uniform over the plausible range")
    lines = [
        "| parameter | default | unit | allowed | prior | meaning | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        pr = priors.loc[r.parameter]
        prior = (
            "none (scenario input)"
            if r.parameter in levers
            else f"{pr['distribution']} [{pr['low']:g}, {pr['high']:g}]"
            + ("" if default_reason[r.parameter] else f": {pr['reason']}")
        )
        cells = [f"`{r.parameter}`", f"{r.value:g}", r.unit, r.allowed, prior, r.meaning, r.source]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def update_model_doc(path: str = "docs/model.md") -> bool:
    """Rewrite the generated parameter table of ``path``; True if it changed."""
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    start, end = text.index(_DOC_START) + len(_DOC_START), text.index(_DOC_END)
    new = text[:start] + "\n" + parameter_table_markdown() + "\n" + text[end:]
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text
