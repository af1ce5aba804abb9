"""Supplier choice under lead time, cost and labor compliance.

A supplier selling the SKU (`supplier_catalog`) is eligible unless its labor compliance is not
`verified` (failed or pending), it is in a supply outage now, it is outside the requested region,
its lead time is over the limit, or the SKU is a critical material it is not qualified for. Each
eligible supplier scores

    score = 100 x (w_cost x cost + w_lead x lead_time + w_rel x on_time_rate
                   + w_tr x tier2_transparency) / sum(w)

where cost and lead_time are min-max scaled across the eligible suppliers (cheapest, fastest = 1).
The choice is the highest score, then the lower unit price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from agents.procurement._wire import ExcludedSupplier, SupplierOption, SupplierWeights


def _scaled_inverse(value: float, population: Sequence[float]) -> float:
    low, high = min(population), max(population)
    return 1.0 if high == low else (high - value) / (high - low)


def active_outages(outages: Sequence[Mapping[str, Any]], now: datetime) -> dict[str, str]:
    """Supplier id -> why it cannot deliver now, for outages with start <= now < end."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        str(o["supplier_id"]): f"supply outage until {str(o['end'])[:10]} ({o['reason']})"
        for o in outages
        if str(o["start"]) <= stamp < str(o["end"])
    }


def supplier_options(
    *,
    offers: Sequence[Mapping[str, Any]],
    scorecards: Mapping[str, Mapping[str, Any]],
    compliance: Mapping[str, Mapping[str, Any]],
    outages: Mapping[str, str],
    quantity: int,
    region: str | None,
    max_lead_time_days: float | None,
    weights: SupplierWeights,
) -> tuple[list[SupplierOption], list[ExcludedSupplier]]:
    eligible: list[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]] = []
    excluded: list[ExcludedSupplier] = []
    for offer in offers:
        supplier_id = str(offer["supplier_id"])
        card, audit = scorecards.get(supplier_id), compliance.get(supplier_id)
        if card is None or audit is None:
            excluded.append(
                ExcludedSupplier(supplier_id=supplier_id, name="", reasons=["no scorecard or audit"])
            )
            continue
        reasons = []
        if audit["labor_compliance"] != "verified":
            reasons.append(f"labor compliance {audit['labor_compliance']}")
        if supplier_id in outages:
            reasons.append(outages[supplier_id])
        if region is not None and card["region"] != region:
            reasons.append(f"serves {card['region']}, not {region}")
        if max_lead_time_days is not None and float(card["lead_time_days"]) > max_lead_time_days:
            reasons.append(
                f"lead time {float(card['lead_time_days']):g} days is over the {max_lead_time_days:g} allowed"
            )
        if offer.get("critical_material") and not audit.get("critical_materials", False):
            reasons.append("not qualified for critical materials")
        if reasons:
            excluded.append(
                ExcludedSupplier(supplier_id=supplier_id, name=str(card["name"]), reasons=reasons)
            )
        else:
            eligible.append((offer, card, audit))
    prices = [float(offer["unit_price"]) for offer, _, _ in eligible]
    lead_times = [float(card["lead_time_days"]) for _, card, _ in eligible]
    total = weights.cost + weights.lead_time + weights.reliability + weights.transparency
    options = []
    for offer, card, audit in eligible:
        parts = {
            "cost": round(_scaled_inverse(float(offer["unit_price"]), prices), 4),
            "lead_time": round(_scaled_inverse(float(card["lead_time_days"]), lead_times), 4),
            "reliability": float(card["on_time_rate"]),
            "transparency": float(audit["tier2_transparency"]),
        }
        score = (
            weights.cost * parts["cost"]
            + weights.lead_time * parts["lead_time"]
            + weights.reliability * parts["reliability"]
            + weights.transparency * parts["transparency"]
        )
        options.append(
            SupplierOption(
                supplier_id=str(offer["supplier_id"]),
                name=str(card["name"]),
                region=str(card["region"]),
                unit_price=float(offer["unit_price"]),
                order_value=round(quantity * float(offer["unit_price"]), 2),
                lead_time_days=float(card["lead_time_days"]),
                on_time_rate=float(card["on_time_rate"]),
                is_new=bool(card["is_new"]),
                labor_compliance=str(audit["labor_compliance"]),
                tier2_transparency=float(audit["tier2_transparency"]),
                score=round(100 * score / total, 2),
                score_parts=parts,
            )
        )
    options.sort(key=lambda o: (-o.score, o.unit_price, o.supplier_id))
    return options, sorted(excluded, key=lambda e: e.supplier_id)
