# decisions.stakeholder_impact: a decision of any type above the impact thresholds (order value,
# number of regions affected) needs stakeholder review. Escalate
# (data.mesh.params.decisions.stakeholder_impact).
package mesh.rules.decisions.stakeholder_impact

import rego.v1

results contains {"policy_id": "decisions.stakeholder_impact", "outcome": "escalate", "reasons": reasons} if {
	impact := input.context.impact
	limits := data.mesh.params.decisions.stakeholder_impact
	reasons := array.concat(
		[sprintf("order value %v is above the stakeholder review threshold of %v", [value, limits.max_order_value]) |
			value := impact.order_value
			value > limits.max_order_value
		],
		[concat("", ["affects ", format_int(count(regions), 10), " regions (", concat(", ", regions), "), more than ", format_int(limits.max_affected_regions, 10)]) |
			regions := impact.affected_regions
			count(regions) > limits.max_affected_regions
		],
	)
	count(reasons) > 0
}
