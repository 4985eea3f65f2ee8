"""Stratified, risk-weighted sample draws: recorded, replayable and verifiable."""
