"""Daily forecasts by exponential smoothing, ETS(A,Ad,A): additive errors, an additive damped trend and an additive
weekly season (statsmodels' `ETSModel`), with prediction intervals and a backtest against seasonal naive.

A series starts at its first day with a count: days before it say nothing about a group that did not exist yet.
It needs `MIN_HISTORY_DAYS`: three weeks to estimate the model on (the heuristic start of the level, trend and
season reads the first two to five weeks) and at least one more to check it on.

The backtest holds out the last `ceil(horizon / 7)` weeks (at most four, and fewer when that would leave less than
three weeks to estimate on), estimates the smoothing parameters on the rest, and forecasts the held-out days; the
seasonal-naive baseline repeats the last week before them. Both errors are scaled by the in-sample mean absolute
error of the one-week-ago forecast (MASE: below 1 beats that in-sample baseline). The forecast then runs those same
parameters over the whole history: one estimation per series, and the backtest measures the very parameters the
forecast uses.

statsmodels takes about a second to import, so it is imported at the first forecast, not with the app.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from math import ceil
from typing import Any

import numpy as np
from numpy.typing import NDArray

METHOD = "ETS(A,Ad,A)"
SEASON = 7
LEVELS = (80, 95)
FIT_DAYS = 3 * SEASON
MIN_HISTORY_DAYS = FIT_DAYS + SEASON
MAX_BACKTEST_WEEKS = 4

Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Band:
    """The prediction interval of `level` percent, per day."""

    level: int
    lower: Floats
    upper: Floats


@dataclass(frozen=True, slots=True)
class Backtest:
    weeks: int
    mae: float
    mase: float | None
    naive_mae: float
    naive_mase: float | None


@dataclass(frozen=True, slots=True)
class Forecast:
    history_days: int
    point: Floats
    bands: tuple[Band, ...]
    parameters: dict[str, float]
    backtest: Backtest


@dataclass(frozen=True, slots=True)
class TooShort:
    history_days: int


def history_days(counts: Sequence[float] | Floats) -> int:
    """Days from the first with a count to the end."""
    nonzero = np.flatnonzero(np.asarray(counts, dtype=np.float64))
    return 0 if nonzero.size == 0 else len(counts) - int(nonzero[0])


# One forecast at a time per process: they are CPU-bound and hold the GIL, so two at once would not finish sooner,
# and the BLAS limit below is entered and left by one thread only.
_FITTING = threading.Lock()


def forecast_all(histories: Sequence[Sequence[float]], horizon: int) -> list[Forecast | TooShort]:
    """The next `horizon` days of each daily series (non-negative counts, oldest first, ending yesterday).
    CPU-bound and blocking (about 15 ms a series of 120 days): call it from a thread, never the event loop."""
    series = [np.asarray(history, dtype=np.float64) for history in histories]
    if all(history_days(counts) < MIN_HISTORY_DAYS for counts in series):
        # Nothing to fit: answered without statsmodels, whose first import takes seconds, and without the lock.
        return [TooShort(history_days(counts)) for counts in series]
    with _FITTING, _quiet_single_threaded():
        return [_forecast(counts, horizon) for counts in series]


def _forecast(counts: Floats, horizon: int) -> Forecast | TooShort:
    days = history_days(counts)
    if days < MIN_HISTORY_DAYS:
        return TooShort(days)
    history = counts[len(counts) - days :]
    weeks = min(ceil(horizon / SEASON), MAX_BACKTEST_WEEKS, (days - FIT_DAYS) // SEASON)
    estimated_on = history[: -weeks * SEASON]
    estimating = _model(estimated_on)
    parameters = estimating.fit(disp=False, warn_convergence=False, return_params=True)
    # The whole history runs from the same starting states with the same parameters: its states at the end of
    # `estimated_on` are the estimating model's, so the backtest sees nothing of the days it forecasts.
    smoothed = _model(history, start=estimating).smooth(parameters)
    backtest = _backtest(
        estimated_on,
        history[len(estimated_on) :],
        smoothed.predict(start=len(estimated_on), end=days - 1, dynamic=True),
    )
    prediction = smoothed.get_prediction(start=days, end=days + horizon - 1)
    # Counts are never negative: the mean and both bounds are cut at zero (which keeps lower <= point <= upper).
    bands = tuple(
        Band(level, *np.clip(np.asarray(prediction.pred_int(alpha=1 - level / 100), dtype=np.float64).T, 0, None))
        for level in LEVELS
    )
    return Forecast(
        history_days=days,
        point=np.clip(prediction.predicted_mean.to_numpy(dtype=np.float64), 0, None),
        bands=bands,
        parameters={name: float(value) for name, value in zip(estimating.param_names, parameters, strict=True)},
        backtest=backtest,
    )


def _backtest(estimated_on: Floats, held_out: Floats, predicted: Any) -> Backtest:
    weeks = len(held_out) // SEASON
    naive = np.tile(estimated_on[-SEASON:], weeks)
    scale = float(np.mean(np.abs(estimated_on[SEASON:] - estimated_on[:-SEASON])))
    mae = float(np.mean(np.abs(np.clip(np.asarray(predicted, dtype=np.float64), 0, None) - held_out)))
    naive_mae = float(np.mean(np.abs(naive - held_out)))
    # A history that repeats itself exactly every week has no in-sample error to scale by.
    return Backtest(
        weeks=weeks,
        mae=mae,
        mase=mae / scale if scale > 0 else None,
        naive_mae=naive_mae,
        naive_mase=naive_mae / scale if scale > 0 else None,
    )


def _model(history: Floats, *, start: Any = None) -> Any:
    """The model of `history`; its level, trend and season start from its first weeks' moving averages (about
    twenty times faster to fit than estimating them: four parameters to optimise instead of thirteen), or where
    `start`'s did."""
    pandas, ets_model, _ = _library()
    initial = (
        {"initialization_method": "heuristic"}
        if start is None
        else {
            "initialization_method": "known",
            "initial_level": start.initial_level,
            "initial_trend": start.initial_trend,
            "initial_seasonal": start.initial_seasonal,
        }
    )
    # A pandas series, not an array: the model's prediction results need its index.
    return ets_model(
        pandas.Series(history),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=SEASON,
        **initial,
    )


@contextmanager
def _quiet_single_threaded() -> Iterator[None]:
    # scipy's L-BFGS-B spends ~2 ms an iteration waking OpenBLAS threads on a busy 2-core machine (0.26 ms on
    # one thread): a fit took 84 ms instead of 9. A degenerate series (all zeros) divides by zero in the
    # likelihood, which the optimiser handles; numpy's error state is per thread, so other requests keep theirs.
    _, _, blas = _library()
    with blas.limit(limits=1, user_api="blas"), np.errstate(all="ignore"):
        yield


@cache
def _library() -> tuple[Any, Any, Any]:
    import pandas  # type: ignore[import-untyped]
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    # Made after statsmodels' import, so that it finds scipy's BLAS as well as numpy's.
    return pandas, ETSModel, ThreadpoolController()
