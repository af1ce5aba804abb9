# The one entrypoint, data.mesh.results: the set of every rule's results.
#
# A rule is a package under mesh.rules whose path is its policy id (global.scope lives in
# package mesh.rules.global.scope) and which emits
#     results contains {"policy_id": <id>, "outcome": "allow|warn|escalate|deny", "reasons": [...]}
# when it has something to say. Each rule is listed here once (listing them is ten times cheaper
# than walking data.mesh.rules); a test fails when one is missing.
package mesh

import rego.v1

results contains result if some result in data.mesh.rules.global.scope.results

results contains result if some result in data.mesh.rules.global.quarantine.results

results contains result if some result in data.mesh.rules.global.autonomy.results

results contains result if some result in data.mesh.rules.decisions.shipment.carbon_budget.results

results contains result if some result in data.mesh.rules.decisions.purchase_order.labor_compliance.results

results contains result if some result in data.mesh.rules.decisions.purchase_order.tier2_transparency.results

results contains result if some result in data.mesh.rules.decisions.stakeholder_impact.results

results contains result if some result in data.mesh.rules.domains.procurement.single_supplier_cap.results
