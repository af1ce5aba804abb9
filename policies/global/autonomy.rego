# global.autonomy: an action (a request that writes) is gated by the caller's autonomy level:
# low escalates (a human decides), mediated proceeds with a warning, high or unknown proceeds.
package mesh.rules.global.autonomy

import rego.v1

gates := {
	"low": ["escalate", "low autonomy: a human decides (%s)"],
	"mediated": ["warn", "mediated autonomy: %s acts under review"],
}

results contains {"policy_id": "global.autonomy", "outcome": gate[0], "reasons": [sprintf(gate[1], [input.caller.subject])]} if {
	input.request.writes == true
	gate := gates[input.caller.autonomy]
}
