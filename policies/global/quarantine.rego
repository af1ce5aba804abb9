# global.quarantine: a quarantined caller is refused everything: by its autonomy level, or when
# its subject, its client id or any actor of its delegation chain is on the quarantine list.
package mesh.rules.global.quarantine

import rego.v1

results contains {
	"policy_id": "global.quarantine",
	"outcome": "deny",
	"reasons": [sprintf("%s is quarantined (autonomy level)", [input.caller.subject])],
} if {
	input.caller.autonomy == "quarantined"
}

results contains {"policy_id": "global.quarantine", "outcome": "deny", "reasons": reasons} if {
	quarantined := input.context.quarantined
	count(quarantined) > 0
	caller := input.caller
	ids := array.concat([caller.subject, object.get(caller, "client_id", "")], object.get(caller, "act_chain", []))
	reasons := [sprintf("%s is quarantined", [id]) | some id in ids; id in quarantined]
	count(reasons) > 0
}
