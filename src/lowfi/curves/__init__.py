"""Learning-curve models: extrapolation, final-value prediction and predictive termination.

* :class:`FastExtrapolator` (:func:`default_extrapolator`) -- the default curve model: the
  Domhan families fitted in milliseconds, batched, with a calibrated predictive distribution
* :class:`DomhanExtrapolator` / :class:`DomhanStopping` -- Domhan et al. (IJCAI 2015)
* :class:`BakerRegressor` / :class:`BakerStopping` -- Baker et al. (2017)
* :class:`MedianStopping` (Golovin et al. 2017), :class:`RungStopping` (ASHA's stopping
  variant, Li et al. 2020) -- model-free rules comparing a curve with the other trials'
* :class:`PredictiveRungStopping` -- ASHA's rung decision on predicted final values
* :func:`load_epoch_curves`, :func:`load_lcdb_curves` -- real curves for evaluation
* :class:`WindowForest`, :class:`LSTMNextValue` -- next-value models
* :class:`LCNet` -- LC-Net-style model across configurations (Klein et al., ICLR 2017)
* :func:`plot_extrapolation` -- PNG of a curve with its extrapolation
"""

from lowfi.curves.baker import BakerRegressor, baker_features
from lowfi.curves.data import load_epoch_curves, load_lcdb_curves
from lowfi.curves.domhan import DomhanExtrapolator, fit_family
from lowfi.curves.families import FAMILIES, FAMILY_NAMES, Family, get_families
from lowfi.curves.fast import FastExtrapolator, default_extrapolator
from lowfi.curves.lcnet import LCNet
from lowfi.curves.next_value import LSTMNextValue, WindowForest
from lowfi.curves.plot import plot_extrapolation
from lowfi.curves.prediction import CurvePrediction
from lowfi.curves.stopping import (
    BakerStopping,
    DomhanStopping,
    MedianStopping,
    PredictiveRungStopping,
    RungStopping,
    incumbent_from_history,
)

__all__ = [
    "FAMILIES",
    "FAMILY_NAMES",
    "BakerRegressor",
    "BakerStopping",
    "CurvePrediction",
    "DomhanExtrapolator",
    "DomhanStopping",
    "FastExtrapolator",
    "Family",
    "LCNet",
    "LSTMNextValue",
    "MedianStopping",
    "PredictiveRungStopping",
    "RungStopping",
    "WindowForest",
    "baker_features",
    "default_extrapolator",
    "fit_family",
    "get_families",
    "incumbent_from_history",
    "load_epoch_curves",
    "load_lcdb_curves",
    "plot_extrapolation",
]
