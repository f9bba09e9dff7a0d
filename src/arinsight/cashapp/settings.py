"""The matching parameters: ``cash_application`` in the params."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arinsight.cashapp.posting import DEFAULT_POSTING_RULES, PostingRule, posting_rules_from_params
from arinsight.errors import ParamsError


@dataclass(frozen=True)
class MatchSettings:
    """The matching parameters (``cash_application`` in the params, documented there)."""

    name_threshold: float = 90.0
    name_margin: float = 3.0
    fx_tolerance: float = 0.02
    max_candidates: int = 30
    max_subset_size: int = 6
    search_budget: int = 200_000
    suggestions: int = 3
    overpay_tolerance: float = 0.05
    name_contradiction: float = 60.0
    discount_rates: tuple[float, ...] = (0.01, 0.02, 0.03)
    name_close: float = 80.0
    reporting_currency: str = "USD"
    fx_rates: Mapping[str, float] = field(default_factory=dict)
    posting_rules: tuple[PostingRule, ...] = DEFAULT_POSTING_RULES
    #: a second payment of a paid invoice is posted on account of its customer, flagged
    #: (:func:`~arinsight.cashapp.posting.post_duplicate`); False: left unmatched
    duplicate_payments: bool = True
    #: a line naming nothing from a customer who owes one open invoice pays that invoice
    #: (rule 4b, :func:`~arinsight.cashapp.matching._sole_open_invoice`); False: suggested
    sole_invoice: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MatchSettings:
        """Settings from merged params: ``cash_application.*``, ``reporting_currency``, ``fx_rates``."""
        section = params.get("cash_application") or {}
        if not isinstance(section, Mapping):
            raise ParamsError("cash_application must be a mapping")
        kw: dict[str, Any] = {}
        for name, kind in (
            ("name_threshold", float),
            ("name_margin", float),
            ("fx_tolerance", float),
            ("max_candidates", int),
            ("max_subset_size", int),
            ("search_budget", int),
            ("suggestions", int),
            ("overpay_tolerance", float),
            ("name_contradiction", float),
            ("name_close", float),
        ):
            if section.get(name) is not None:
                try:
                    kw[name] = kind(section[name])
                except (TypeError, ValueError):
                    raise ParamsError(
                        f"cash_application.{name} must be a number, got {section[name]!r}"
                    ) from None
                if kw[name] < 0:
                    raise ParamsError(
                        f"cash_application.{name} must be >= 0, got {section[name]!r}"
                    )
        if not 0 <= kw.get("name_threshold", 90) <= 100:
            raise ParamsError("cash_application.name_threshold must be 0-100")
        if section.get("discount_rates") is not None:
            raw = section["discount_rates"]
            try:
                kw["discount_rates"] = tuple(
                    float(r) for r in (raw if isinstance(raw, list | tuple) else [raw])
                )
            except (TypeError, ValueError):
                raise ParamsError(
                    f"cash_application.discount_rates must be a list of shares, got {raw!r}"
                ) from None
            if not all(0 < r < 0.5 for r in kw["discount_rates"]):
                raise ParamsError(
                    "cash_application.discount_rates must be shares between 0 and 0.5 "
                    f"(0.02 = 2 %), got {raw!r}"
                )
        rates = params.get("fx_rates") or {}
        try:
            rates = {str(k).upper(): float(v) for k, v in dict(rates).items()}
        except (TypeError, ValueError):
            raise ParamsError(f"fx_rates must map currency -> number, got {rates!r}") from None
        kw["posting_rules"] = posting_rules_from_params(section.get("posting_rules"))
        for switch in ("duplicate_payments", "sole_invoice"):
            if section.get(switch) is not None:
                if not isinstance(section[switch], bool):
                    raise ParamsError(
                        f"cash_application.{switch} must be true or false, got {section[switch]!r}"
                    )
                kw[switch] = section[switch]
        return cls(
            reporting_currency=str(params.get("reporting_currency") or "USD").upper(),
            fx_rates=rates,
            **kw,
        )
