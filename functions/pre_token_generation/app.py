"""Cognito pre-token-generation trigger (V2_0): adds the tenant claim and the approval scopes to
the access tokens of the stack's user pool (approval_core.domain.access decides which)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PreTokenGenerationV2TriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from approval_core.api.observability import logger, metrics, observed
from approval_core.api.settings import token_trigger_settings
from approval_core.api.token_trigger import customise_tokens

config = token_trigger_settings()


@event_source(data_class=PreTokenGenerationV2TriggerEvent)
def handle(event: PreTokenGenerationV2TriggerEvent, context: LambdaContext) -> dict[str, Any]:
    access = customise_tokens(event, config)
    if access.tenant is None:
        # Signs in, but the API refuses every call: worth seeing when a customer reports it.
        logger.warning("No approval scopes: the user has no valid tenant", extra={"user": event.user_name})
        metrics.add_metric(name="TokensWithoutTenant", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="TokensCustomised", unit=MetricUnit.Count, value=1)
    return event.raw_event


lambda_handler = observed(handle)
