# domains.procurement.single_supplier_cap: one procurement order commits at most a capped number
# of units to a single supplier; a larger order goes to a human (concentration risk). Escalate
# (data.mesh.params.domains.procurement.single_supplier_cap).
package mesh.rules.domains.procurement.single_supplier_cap

import rego.v1

results contains {"policy_id": "domains.procurement.single_supplier_cap", "outcome": "escalate", "reasons": [reason]} if {
	input.request.domain == "procurement"
	units := input.context.impact.units
	cap := data.mesh.params.domains.procurement.single_supplier_cap.max_units_per_order
	units > cap
	reason := sprintf(
		"order of %d units to %s exceeds the single-supplier cap of %d units per order",
		[units, supplier, cap],
	)
}

default supplier := "one supplier"

supplier := sprintf("supplier %s", [input.context.supplier.supplier_id])
