"""The land-use balance table (bảng cân bằng sử dụng đất) of a plan version: computed, compared, rendered."""

from gis_service.balance.declared import find_declared_balance, read_declared_balance
from gis_service.balance.render import balance_csv, balance_html
from gis_service.balance.table import (
    BalanceFinding,
    BalanceGroup,
    BalanceRow,
    BalanceTable,
    balance_of,
    compare_declared,
    plan_balance,
)

__all__ = [
    "BalanceFinding",
    "BalanceGroup",
    "BalanceRow",
    "BalanceTable",
    "balance_csv",
    "balance_html",
    "balance_of",
    "compare_declared",
    "find_declared_balance",
    "plan_balance",
    "read_declared_balance",
]
