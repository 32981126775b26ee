"""Learning-curve models: extrapolation, final-value prediction and predictive termination.

* :class:`DomhanExtrapolator` / :class:`DomhanStopping` -- Domhan et al. (IJCAI 2015)
* :class:`BakerRegressor` / :class:`BakerStopping` -- Baker et al. (2017)
* :class:`MedianStopping` (Golovin et al. 2017), :class:`RungStopping` (ASHA's stopping
  variant, Li et al. 2020) -- model-free rules comparing a curve with the other trials'
* :class:`WindowForest`, :class:`LSTMNextValue` -- next-value models
* :class:`LCNet` -- LC-Net-style model across configurations (Klein et al., ICLR 2017)
* :func:`plot_extrapolation` -- PNG of a curve with its extrapolation
"""

from lowfi.curves.baker import BakerRegressor, baker_features
from lowfi.curves.domhan import DomhanExtrapolator, fit_family
from lowfi.curves.families import FAMILIES, FAMILY_NAMES, Family, get_families
from lowfi.curves.lcnet import LCNet
from lowfi.curves.next_value import LSTMNextValue, WindowForest
from lowfi.curves.plot import plot_extrapolation
from lowfi.curves.prediction import CurvePrediction
from lowfi.curves.stopping import (
    BakerStopping,
    DomhanStopping,
    MedianStopping,
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
    "Family",
    "LCNet",
    "LSTMNextValue",
    "MedianStopping",
    "RungStopping",
    "WindowForest",
    "baker_features",
    "fit_family",
    "get_families",
    "incumbent_from_history",
    "plot_extrapolation",
]
