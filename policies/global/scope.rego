# global.scope: the caller holds the scope the request needs, and the access scope of every data
# product the request reads. Deny, naming each missing scope.
package mesh.rules.global.scope

import rego.v1

results contains {"policy_id": "global.scope", "outcome": "deny", "reasons": reasons} if {
	scopes := input.caller.scopes
	reasons := array.concat(
		[sprintf("scope %s is required for %s and was not granted", [scope, input.request.method]) |
			scope := input.request.required_scope
			is_string(scope)
			not scope in scopes
		],
		[sprintf("data product %s needs scope %s, which was not granted", [product.id, product.access_scope]) |
			some product in input.data_products
			not product.access_scope in scopes
		],
	)
	count(reasons) > 0
}
