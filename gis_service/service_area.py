"""Where positions sent to the service may lie: one definition for the lookup and the permit checks.

Requests are checked against these boxes before any projection: a position far outside them is a mistake (swapped
axes, degrees sent as metres, the wrong CRS), and far enough away the VN-2000 projection (TM-3 107-00) fails outright.
"""

from __future__ import annotations

__all__ = ["E_RANGE", "LAT_RANGE", "LON_RANGE", "N_RANGE"]

# VN-2000 TM-3 107-00 eastings and northings of the province, with a wide margin (metres).
E_RANGE = (300_000.0, 800_000.0)
N_RANGE = (1_600_000.0, 2_000_000.0)
# WGS84 longitudes and latitudes of Việt Nam (degrees).
LON_RANGE = (102.0, 110.0)
LAT_RANGE = (8.0, 24.0)
