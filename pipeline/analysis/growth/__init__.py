"""Growth of patients and physicians: models, backtest, projection and the gap."""
