"""An idiomatic Mesa 3 implementation of the default-design mechanism (benchmark only).

One ``PairAgent`` per pair steps once a week with plain Python scalars, exactly the rules of
``toolkit._engine`` for a design without coordinator check-ins (meeting, quality, two-way
learning, engagement, contact log, closure; early endings' effects on gains are left out). It shares the pair inputs (fit components, learning
ceilings, availability) with the vectorized engine, but draws its own random numbers, so
the two agree in distribution, not draw by draw.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from toolkit._engine import _fit, _params, _start_engagement, _start_quality
from toolkit.behavior import BehaviorModel
from toolkit.program import ProgramDesign, program_schedule


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class PairAgent(mesa.Agent):
    """A mentoring pair: its relationship state and its weekly rules."""

    def __init__(
        self,
        model: PairModel,
        *,
        target: float,
        quality: float,
        engagement: float,
        avail: float,
        misfit: float,
        mentee_skill: float,
        mentee_ceiling: float,
        mentor_skill: float,
        mentor_ceiling: float,
    ):
        super().__init__(model)
        self.target, self.quality, self.engagement = target, quality, engagement
        self.avail, self.misfit, self.recent_hours, self.since_meet = avail, misfit, 0.0, 0
        self.mentee_skill, self.mentee_start, self.mentee_ceiling = (
            mentee_skill,
            mentee_skill,
            mentee_ceiling,
        )
        self.mentor_skill, self.mentor_start, self.mentor_ceiling = (
            mentor_skill,
            mentor_skill,
            mentor_ceiling,
        )
        self.active, self.meetings, self.closed_week = True, 0, 0

    def step(self) -> None:
        if not self.active:
            return
        b, m, rnd = self.model.behavior, self.model, self.random
        h = m.hours
        scheduled = m.schedule_weeks[m.week - 1]
        overload = max(self.recent_hours * 52 / 12 / max(self.avail, 0.5) - 1.0, 0.0)
        met = False
        if scheduled:
            gap = max(self.since_meet - b.contact_grace_weeks, 0.0)
            logit = (
                m.meet_shift
                + b.meet_engagement * (self.engagement - 0.5)
                - b.meet_overload * overload
                - b.meet_misfit * self.misfit
                - b.meet_gap * gap
            )
            met = rnd.random() < _expit(logit)
        if met:
            q = (
                self.quality
                + m.approach * (self.target - self.quality)
                + b.quality_noise_sd * math.sqrt(h) * rnd.gauss(0.0, 1.0)
            )
            self.quality = min(max(q, 0.0), 1.0)
            self.mentee_skill += (
                m.rate_e * self.quality * max(self.mentee_ceiling - self.mentee_skill, 0.0)
            )
            self.mentor_skill += (
                m.rate_m * self.quality * max(self.mentor_ceiling - self.mentor_skill, 0.0)
            )
            self.meetings += 1
            self.engagement += h * (
                b.engagement_meeting * (self.quality - 0.5) - b.engagement_overload * overload
            )
            self.since_meet = 0
        else:
            self.quality -= b.quality_decay * (self.quality - b.quality_floor)
            if scheduled:
                self.engagement -= b.engagement_miss * h
            self.since_meet += 1
        self.engagement = min(max(self.engagement, 0.0), 1.0)
        self.recent_hours += (h * met - self.recent_hours) / max(b.load_memory_weeks, 1.0)
        gap = max(self.since_meet - b.contact_grace_weeks, 0.0)
        hazard = _expit(
            b.closure_base
            + b.closure_quality * (0.5 - self.quality)
            + b.closure_engagement * (0.5 - self.engagement)
            + b.closure_gap * gap
        )
        if rnd.random() < hazard:
            self.active, self.closed_week = False, m.week


class PairModel(mesa.Model):
    """All pairs of one program; ``step()`` is one week."""

    def __init__(
        self,
        feats: dict[str, np.ndarray],
        design: ProgramDesign,
        behavior: BehaviorModel,
        *,
        seed: int,
    ):
        super().__init__(seed=seed)
        self.behavior, self.design, self.week = behavior, design, 0
        self.schedule_weeks = program_schedule(design).meeting.tolist()
        b = behavior
        self.hours = design.meeting_minutes / 60.0
        minutes = self.hours**b.learn_minutes_elasticity
        self.rate_e, self.rate_m = b.learn_mentee * minutes, b.learn_mentor * minutes
        self.approach = 1.0 - (1.0 - b.quality_approach) ** self.hours
        self.meet_shift = b.meet_base
        g = np.random.default_rng(seed)
        n = len(feats["deep_similarity"])
        params = _params(b, None)
        target = _fit(params, design, feats, g.standard_normal(n))
        engagement = _start_engagement(params, design, g.standard_normal(n))
        for i in range(n):
            PairAgent(
                self,
                target=float(target[i]),
                quality=float(_start_quality(params, target[i])),
                engagement=float(engagement[i]),
                avail=float(feats["avail"][i]),
                misfit=1.0 - float(feats["schedule_fit"][i]),
                mentee_skill=float(feats["mentee_start"][i]),
                mentee_ceiling=float(feats["mentee_ceiling"][i]),
                mentor_skill=float(feats["mentor_start"][i]),
                mentor_ceiling=float(feats["mentor_ceiling"][i]),
            )

    def step(self) -> None:
        self.week += 1
        self.agents.shuffle_do("step")

    def run(self) -> dict[str, np.ndarray]:
        for _ in range(self.design.duration_weeks):
            self.step()
        agents = list(self.agents)
        return {
            "meetings_held": np.array([a.meetings for a in agents], float),
            "completed": np.array([a.active for a in agents], float),
            "final_quality": np.array([a.quality for a in agents]),
            "mentee_gain": np.array([a.mentee_skill - a.mentee_start for a in agents]),
        }
