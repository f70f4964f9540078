"""Model fitting with well-kept libraries: hmmlearn (HMM), arch (GARCH), scipy (Kalman MLE)."""

from aitrader.adapters.models.fitter import LibraryModelFitter

__all__ = ["LibraryModelFitter"]
