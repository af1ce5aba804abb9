# decisions.purchase_order.labor_compliance: no order to a supplier that failed its labor
# compliance check, and none to a new supplier until it is verified. Deny.
package mesh.rules.decisions.purchase_order.labor_compliance

import rego.v1

results contains {"policy_id": "decisions.purchase_order.labor_compliance", "outcome": "deny", "reasons": [reason]} if {
	supplier := input.context.supplier
	status := supplier.labor_compliance
	status != "verified"
	reason := refusal(supplier, status)
}

refusal(supplier, "failed") := sprintf("supplier %s failed its labor compliance check", [supplier.supplier_id])

refusal(supplier, status) := sprintf("new supplier %s: labor compliance is %s, it must be verified", [supplier.supplier_id, status]) if {
	status != "failed"
	supplier.is_new == true
}
