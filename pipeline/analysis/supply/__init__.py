"""Supply of specialists: a stock-flow projection, scenarios and the levers that close the gap."""
