"""The edge of the user pool's pre-token-generation trigger (event version V2_0): reads the
customer's tenant attribute and groups from Cognito's event and writes what
approval_core.domain.access grants into the response Cognito reads back.

Event and response shapes: Amazon Cognito developer guide, "Pre token generation Lambda trigger"
(request.userAttributes, request.groupConfiguration.groupsToOverride, request.scopes;
response.claimsAndScopeOverrideDetails.accessTokenGeneration.claimsToAddOrOverride / scopesToAdd /
scopesToSuppress).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PreTokenGenerationV2TriggerEvent

from approval_core.api.settings import TokenTriggerSettings
from approval_core.domain.access import AccessGrant, grant, scopes_to_suppress


def customise_tokens(event: PreTokenGenerationV2TriggerEvent, config: TokenTriggerSettings) -> AccessGrant:
    """Fill the event's response for this customer and return what was granted."""
    request = event.request
    groups = request.group_configuration.groups_to_override or []
    access = grant(request.user_attributes.get(config.tenant_attribute), groups, config.operators_group)
    details = event.response.claims_scope_override_details
    access_token = details.access_token_generation
    access_token.scopes_to_add = list(access.scopes)
    suppressed = scopes_to_suppress(request.scopes, access)
    if suppressed:
        access_token.scopes_to_suppress = list(suppressed)
    if access.tenant is not None:
        access_token.claims_to_add_or_override = {config.tenant_claim: access.tenant}
        # The storefront reads the ID token: the same claim there saves it parsing custom:tenant.
        details.id_token_generation.claims_to_add_or_override = {config.tenant_claim: access.tenant}
    return access
