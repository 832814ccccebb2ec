"""Multiple systems estimation: how many victims no list recorded, from how the lists overlap.

Several organisations each keep a list of the dead (or the disappeared). After record linkage, every
documented person has a capture pattern: the lists that recorded them. How much the lists overlap says how
much all of them together missed: if each list recorded only a small share of the victims, two lists would
rarely name the same person. This package turns the overlap table into an estimate of the total, with
two families of models (log-linear models and a Bayesian latent-class model), diagnostics, simulations that
check them, and a report that keeps the official, documented and estimated figures apart.

docs/estimation.md explains the methods and their assumptions for investigators and statisticians.
"""

from factfinder.findings.estimation.diagnostics import effective_sample_size, geweke_z, split_rhat
from factfinder.findings.estimation.lcmcr import LcmcrDiagnostics, LcmcrResult, LcmcrSettings, fit_lcmcr
from factfinder.findings.estimation.loglinear import (
    Interval,
    LoglinearModel,
    LoglinearResult,
    ModelAverage,
    fit_all,
    fit_model,
    hierarchical_models,
    model_average,
    profile_interval,
)
from factfinder.findings.estimation.overlap import OverlapError, OverlapTable
from factfinder.findings.estimation.simulate import Simulation, inject_linkage_errors, simulate
from factfinder.findings.estimation.summary import Estimate, ListCoverage, Sensitivity, Total, estimate, sensitivity

__all__ = [
    "Estimate",
    "Interval",
    "LcmcrDiagnostics",
    "LcmcrResult",
    "LcmcrSettings",
    "ListCoverage",
    "LoglinearModel",
    "LoglinearResult",
    "ModelAverage",
    "OverlapError",
    "OverlapTable",
    "Sensitivity",
    "Simulation",
    "Total",
    "effective_sample_size",
    "estimate",
    "fit_all",
    "fit_lcmcr",
    "fit_model",
    "geweke_z",
    "hierarchical_models",
    "inject_linkage_errors",
    "model_average",
    "profile_interval",
    "sensitivity",
    "simulate",
    "split_rhat",
]
