# decisions.shipment.carbon_budget: this year's emissions plus what the action adds stay within
# the region's annual carbon budget. Deny above the budget; warn from warn_ratio of it
# (data.mesh.params.decisions.shipment.carbon_budget).
package mesh.rules.decisions.shipment.carbon_budget

import rego.v1

results contains {"policy_id": "decisions.shipment.carbon_budget", "outcome": outcome(total, budget), "reasons": [reason]} if {
	carbon := input.context.carbon
	budget := carbon.budget_kg
	total := carbon.spent_kg + carbon.projected_kg
	total >= data.mesh.params.decisions.shipment.carbon_budget.warn_ratio * budget
	reason := sprintf(
		"%s: %.1f kg spent + %.1f kg projected = %.1f kg, %s of the annual carbon budget of %.1f kg",
		[carbon.region, carbon.spent_kg, carbon.projected_kg, total, share(total, budget), budget],
	)
}

outcome(total, budget) := "deny" if total > budget
else := "warn"

share(used, budget) := sprintf("%.1f%%", [(100 * used) / budget]) if budget > 0
else := "no budget"
