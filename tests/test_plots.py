"""Figures: each returns a titled Figure with labelled axes (units) and alt text; bad input is refused."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from toolkit import plots  # noqa: E402
from toolkit.analysis import compare_arms, retention  # noqa: E402
from toolkit.errors import AnalysisInputError  # noqa: E402


@pytest.fixture(scope="module")
def outcomes():
    g = np.random.default_rng(2)
    n = 80
    arm = np.repeat(["random", "optimal"], n)
    comp = g.random(2 * n) < np.where(arm == "optimal", 0.75, 0.55)
    return pd.DataFrame(
        {
            "arm": arm,
            "final_quality": g.normal(0.6, 0.1, 2 * n),
            "completed": comp.astype(int),
            "weeks_active": np.where(comp, 26, g.integers(1, 26, 2 * n)),
        }
    )


@pytest.fixture(scope="module")
def weeks():
    g = np.random.default_rng(3)
    P, W = 20, 10
    return pd.DataFrame(
        {
            "arm": np.repeat(["weekly", "biweekly"], P // 2 * W),
            "pair_id": np.repeat(np.arange(P), W),
            "week": np.tile(np.arange(1, W + 1), P),
            "quality": g.random(P * W),
            "engagement": g.random(P * W),
            "active": True,
        }
    )


def _figures(outcomes, weeks):
    return {
        "forest": plots.forest_plot(
            compare_arms(outcomes, "final_quality", reference="random"), unit="0-1 scale"
        ),
        "forest_ratio": plots.forest_plot(
            retention(outcomes, reference="random"), effect="hazard_ratio"
        ),
        "km": plots.km_plot(outcomes),
        "trajectory": plots.trajectory_plot(weeks),
        "scores": plots.score_distribution_plot(
            pd.DataFrame(
                {"policy": np.repeat(["random", "optimal"], 30), "score": np.linspace(0, 1, 60)}
            )
        ),
        "power": plots.power_curve_plot(
            pd.DataFrame(
                {
                    "n": [10, 50, 90],
                    "diagnosand": "power",
                    "estimate": [0.1, 0.6, 0.9],
                    "mcse": 0.01,
                }
            )
        ),
        "calibration": plots.calibration_plot(
            pd.DataFrame(
                {
                    "target": ["closure", "meetings"],
                    "simulated": [0.3, 5],
                    "low": [0.2, 1],
                    "high": [0.4, 2],
                }
            )
        ),
        "tradeoff": plots.tradeoff_plot(
            pd.DataFrame(
                {
                    "hours": [0.0, 1.5, 0.2],
                    "completion": [70.0, 80.0, 75.0],
                    "action": ["none", "coach", "close"],
                    "rule": ["none", "monthly", "streak"],
                }
            ),
            x="hours",
            y="completion",
            by="action",
            label="rule",
            x_label="coordinator hours per pair",
            y_label="completed (%)",
        ),
        "interaction": plots.interaction_plot(
            pd.DataFrame(
                {
                    "cadence": ["weekly", "monthly"] * 2,
                    "policy": ["random"] * 2 + ["optimal"] * 2,
                    "estimate": [0.7, 0.6, 0.8, 0.75],
                    "ci_low": [0.65, 0.55, 0.75, 0.7],
                    "ci_high": [0.75, 0.65, 0.85, 0.8],
                }
            ),
            x="cadence",
            trace="policy",
            y_label="completion",
        ),
    }


def test_every_figure_has_title_labels_and_alt_text(outcomes, weeks):
    for name, fig in _figures(outcomes, weeks).items():
        assert isinstance(fig, Figure), name
        assert fig._suptitle is not None and fig._suptitle.get_text(), name
        for ax in fig.axes:
            if ax.get_visible() and ax.has_data():
                assert ax.get_xlabel() and ax.get_ylabel(), name
        assert len(plots.alt_text(fig)) > 40, name
        plt.close(fig)


def test_alt_text_carries_the_numbers(outcomes, weeks):
    figs = _figures(outcomes, weeks)
    assert "reaches 80% at about 90 pairs per arm" in plots.alt_text(figs["power"])
    assert "1 simulated values fall inside" in plots.alt_text(figs["calibration"])
    assert "outside: meetings" in plots.alt_text(figs["calibration"])
    assert figs["forest_ratio"].axes[0].get_xscale() == "log"
    assert "(weeks)" in figs["km"].axes[0].get_xlabel()
    assert "the highest completed (%), 80, is monthly (coach) at 1.5" in plots.alt_text(
        figs["tradeoff"]
    )
    assert "random 0.1, optimal 0.05" in plots.alt_text(figs["interaction"])
    plt.close("all")


def test_theme_palette_is_colour_blind_safe_okabe_ito():
    palette = plots.set_theme()
    assert palette[:3] == ("#0072B2", "#E69F00", "#009E73")
    first = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0]
    assert matplotlib.colors.to_hex(first) == "#0072b2"


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: plots.forest_plot(pd.DataFrame()), "non-empty DataFrame"),
        (
            lambda: plots.power_curve_plot(pd.DataFrame({"n": [1]})),
            r"needs column\(s\) 'estimate', 'mcse'",
        ),
        (
            lambda: plots.trajectory_plot(pd.DataFrame({"arm": ["a"], "week": [1]})),
            r"'quality', 'engagement'",
        ),
    ],
)
def test_bad_plot_input(call, pattern):
    with pytest.raises(AnalysisInputError, match=pattern):
        call()
