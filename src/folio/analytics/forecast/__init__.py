"""Daily volume forecasts with prediction intervals and their backtest against seasonal naive."""
