"""POST /directory/{tenant}/webhooks/emporix/{eventType}: an Emporix webhook delivery. No token:
the emporix-event-signature header (Base64 of HMAC-SHA256 over the body with the tenant's secret)
is the authentication. A good delivery is queued for ApplyDirectoryEventsFunction and answered at
once; a bad or missing signature is 401 and nothing is queued."""

from __future__ import annotations

import hashlib
import json
import re

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters

from approval_core.adapters.dynamodb import CLIENT_CONFIG
from approval_core.api.http import Response, json_response, lambda_entry_point, new_resolver, parse_json, raw_body
from approval_core.api.observability import logger, metrics, tracer
from approval_core.api.settings import settings
from approval_core.domain.errors import InvalidWebhookSignature, PayloadTooLarge
from approval_core.emporix import HANDLED, entity_of, payload_of, signature_matches

config = settings()
app = new_resolver()
sqs = boto3.client("sqs", config=CLIENT_CONFIG)
ssm = parameters.SSMProvider()
TENANT = re.compile(r"^[a-z][a-z0-9]{2,15}$")
SECRET_MAX_AGE_SECONDS = 300  # a rotated secret is used within five minutes
# What fits in one SQS message (256 KiB) with the envelope around it.
MAX_EVENT_BYTES = 240 * 1024


def _secret(tenant: str) -> str | None:
    try:
        value = ssm.get(f"{config.webhook_secrets_path}/{tenant}", decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError:
        return None
    return value if isinstance(value, str) else None


@app.gateway_route("POST /directory/{tenant}/webhooks/emporix/{eventType}")
@tracer.capture_method(capture_response=False)
def receive(tenant: str, event_type: str) -> Response[str]:
    body = raw_body(app.current_event)
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"A webhook body may have at most {MAX_EVENT_BYTES} bytes")
    secret = _secret(tenant) if TENANT.match(tenant) else None
    signature = app.current_event.headers.get("emporix-event-signature")
    if secret is None or not signature_matches(secret, body, signature):
        metrics.add_metric(name="WebhookSignatureRefused", unit=MetricUnit.Count, value=1)
        raise InvalidWebhookSignature()
    if event_type not in HANDLED:
        return json_response(200, {"eventType": event_type, "result": "IGNORED"})
    payload = payload_of(parse_json(app.current_event))
    message = {"tenant": tenant, "eventType": event_type, "payload": payload}
    sqs.send_message(
        QueueUrl=config.directory_events_queue_url or "",
        MessageBody=json.dumps(message, default=str),
        # One entity's events are applied one after the other, in the order they arrived; the same
        # delivery again within five minutes is dropped by the queue (and changes nothing later).
        MessageGroupId=f"{tenant}#{entity_of(event_type, payload)}"[:128],
        MessageDeduplicationId=hashlib.sha256(tenant.encode() + b"#" + event_type.encode() + b"#" + body).hexdigest(),
    )
    logger.info("Webhook queued", extra={"tenant": tenant, "eventType": event_type})
    metrics.add_metric(name="WebhookQueued", unit=MetricUnit.Count, value=1)
    return json_response(200, {"eventType": event_type, "result": "QUEUED"})


lambda_handler = lambda_entry_point(app)
