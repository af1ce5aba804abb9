# decisions.purchase_order.tier2_transparency: a critical material is bought only with enough
# visibility into the supplier's own suppliers. Escalate below the minimum
# (data.mesh.params.decisions.purchase_order.tier2_transparency).
package mesh.rules.decisions.purchase_order.tier2_transparency

import rego.v1

results contains {"policy_id": "decisions.purchase_order.tier2_transparency", "outcome": "escalate", "reasons": [reason]} if {
	supplier := input.context.supplier
	supplier.critical_material == true
	minimum := data.mesh.params.decisions.purchase_order.tier2_transparency.min
	supplier.tier2_transparency < minimum
	reason := sprintf(
		"critical material from supplier %s: tier-2 transparency %v is below the minimum of %v",
		[supplier.supplier_id, supplier.tier2_transparency, minimum],
	)
}
