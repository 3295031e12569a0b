"""The only place that builds DynamoDB keys. The design is in docs/data-model.md.

Every key starts with the tenant, so no query can reach another tenant's items (the one
exception is the table's own migration marker, which holds no tenant's data).
"""

from __future__ import annotations

import zlib

Key = dict[str, str]

EXPIRY_INDEX = "PendingByExpiry"
EXPIRY_SHARDS = 8


# --------------------------------------------------------------------------- approvals table
def approval(tenant: str, approval_id: str) -> Key:
    return {"PK": f"TENANT#{tenant}#APPROVAL#{approval_id}", "SK": APPROVAL_SORT_KEY}


def approval_of(key: Key) -> tuple[str, str] | None:
    """(tenant, approval id) of an approval item's key; None for any other item."""
    parts = key.get("PK", "").split("#")
    if key.get("SK") != APPROVAL_SORT_KEY or len(parts) != 4 or parts[0] != "TENANT" or parts[2] != "APPROVAL":
        return None
    return parts[1], parts[3]


APPROVAL_SORT_KEY = "APPROVAL"


def participation(tenant: str, user_id: str, created_at: str, approval_id: str) -> Key:
    """A participant's copy of an approval: one partition per customer, newest last."""
    return {"PK": participant_partition(tenant, user_id), "SK": f"{PARTICIPATION_PREFIX}{created_at}#{approval_id}"}


PARTICIPATION_PREFIX = "APPROVAL#"


def participant_partition(tenant: str, user_id: str) -> str:
    return f"TENANT#{tenant}#USER#{user_id}"


def participant_of(partition: str) -> tuple[str, str]:
    """(tenant, user id) of a participant partition."""
    _, tenant, _, user_id = partition.split("#", 3)
    return tenant, user_id


def status_copy(tenant: str, user_id: str, status: str, created_at: str, approval_id: str) -> Key:
    """A participant's copy of an approval keyed by its status bucket, newest last: a status
    filter reads only its own statuses."""
    return {"PK": participant_partition(tenant, user_id), "SK": f"{status_prefix(status)}{created_at}#{approval_id}"}


# PENDING and EXPIRED share a bucket: the sweep changes an approval from one to the other in place
# (it knows the keys, not the document), and rule 13 tells them apart by expiryDate.
OPEN_BUCKET = "OPEN"
OPEN_STATUSES = frozenset({"PENDING", "EXPIRED"})
STATUS_PREFIX = "STATUS#"


def status_bucket(status: str) -> str:
    return OPEN_BUCKET if status in OPEN_STATUSES else status


def status_prefix(status: str) -> str:
    return f"{STATUS_PREFIX}{status_bucket(status)}#"


def sort_suffix(sort_key: str) -> str:
    """``{createdAt}#{id}`` of a participation or status copy's sort key: the list order."""
    return sort_key.split("#", 2)[2] if sort_key.startswith(STATUS_PREFIX) else sort_key.split("#", 1)[1]


def participant_counts(tenant: str, user_id: str) -> Key:
    """The customer's approvals counted by stored status, changed in every transaction that
    changes one of them."""
    return {"PK": participant_partition(tenant, user_id), "SK": COUNTS_SORT_KEY}


COUNTS_SORT_KEY = "COUNTS"


def watch_copy(tenant: str, user_id: str, created_at: str, approval_id: str) -> Key:
    """An eligible approver's copy of an approval with a flow (rule 27) who is neither its requestor
    nor its ``approver``: beside the participation copy, one copy in a bucket of its own whatever
    the status, so a change of status costs two items per such approver, not five (an approval's
    transaction holds at most 100 items). Status filters read this bucket too (status_lists)."""
    return {"PK": participant_partition(tenant, user_id), "SK": f"{WATCH_PREFIX}{created_at}#{approval_id}"}


WATCH_PREFIX = "WATCH#"
# The counts item's number of approvals the customer watches (one per watch copy, never less).
WATCHING_ATTRIBUTE = "Watching"


def participant_due(tenant: str, user_id: str, expiry_date: str, created_at: str, approval_id: str) -> Key:
    """A keys-only marker of a stored PENDING approval by expiry: the customer's overdue ones
    (rule 13: they read as EXPIRED) are the markers below ``due_bound(now)``."""
    return {
        "PK": participant_partition(tenant, user_id),
        "SK": f"{DUE_PREFIX}{expiry_date}#{created_at}#{approval_id}",
    }


DUE_PREFIX = "DUE#"


def due_bound(now: str) -> str:
    """Sort keys from ``COUNTS`` up to this: the counts item and the overdue markers ("COUNTS"
    sorts just before "DUE#", and nothing else lies between them)."""
    return f"{DUE_PREFIX}{overdue_bound(now)}"


def status_keys_marker() -> Key:
    """Present, with ``Complete``, once every participation copy has its status copy, due marker
    and counts (the backfill, or a table created with them)."""
    return {"PK": "MIGRATION#status-keys", "SK": "MIGRATION"}


def resource_lock(tenant: str, resource_type: str, resource_id: str, action: str) -> Key:
    """The resource's most recent approval: at most one PENDING per (tenant, resource, action)."""
    return {"PK": f"TENANT#{tenant}#RESOURCE#{resource_type}#{resource_id}#{action}", "SK": "LOCK"}


def pending_expiry(tenant: str, approval_id: str, expiry_date: str) -> Key:
    """Sparse index entry of a PENDING approval, sharded so no partition of the index is hot."""
    shard = zlib.crc32(f"{tenant}#{approval_id}".encode()) % EXPIRY_SHARDS
    return {"ExpiryShard": expiry_shard(shard), "ExpiryKey": f"{expiry_date}#{tenant}#{approval_id}"}


def expiry_shard(shard: int) -> str:
    return f"PENDING#{shard}"


def overdue_bound(now: str) -> str:
    """Index keys below this are overdue at ``now``: ``{expiryDate}#...`` sorts below
    ``{now}$`` exactly when expiryDate <= now ("$" follows "#")."""
    return f"{now}$"


def tenant_and_id_of_expiry_key(expiry_key: str) -> tuple[str, str]:
    _, tenant, approval_id = expiry_key.split("#", 2)
    return tenant, approval_id


# --------------------------------------------------------------------------- directory table
def customer(tenant: str, customer_id: str) -> Key:
    return {"PK": f"TENANT#{tenant}#CUSTOMER#{customer_id}", "SK": "CUSTOMER"}


def company(tenant: str, company_id: str) -> Key:
    return {"PK": company_partition(tenant, company_id), "SK": "COMPANY"}


def company_member(tenant: str, company_id: str, customer_id: str) -> Key:
    return {"PK": company_partition(tenant, company_id), "SK": f"{MEMBER_PREFIX}{customer_id}"}


MEMBER_PREFIX = "MEMBER#"


def company_members(tenant: str, company_id: str) -> tuple[str, str]:
    """(partition, sort key prefix) of a company's member items."""
    return company_partition(tenant, company_id), MEMBER_PREFIX


def member_id(key: Key) -> str:
    return key["SK"].removeprefix(MEMBER_PREFIX)


def customer_number(tenant: str, number: str) -> Key:
    """Emporix's customerNumber of a customer: customer.deleted names the customer by it alone."""
    return {"PK": f"TENANT#{tenant}#CUSTOMERNUMBER#{number}", "SK": "ALIAS"}


def company_partition(tenant: str, company_id: str) -> str:
    return f"TENANT#{tenant}#COMPANY#{company_id}"


def cart(tenant: str, cart_id: str) -> Key:
    return {"PK": f"TENANT#{tenant}#CART#{cart_id}", "SK": CART_SORT_KEY}


def is_cart(item: dict[str, object]) -> bool:
    return item.get("SK") == CART_SORT_KEY


CART_SORT_KEY = "CART"


def quote(tenant: str, quote_id: str) -> Key:
    return {"PK": f"TENANT#{tenant}#QUOTE#{quote_id}", "SK": QUOTE_SORT_KEY}


def is_quote(item: dict[str, object]) -> bool:
    return item.get("SK") == QUOTE_SORT_KEY


QUOTE_SORT_KEY = "QUOTE"


def resource(tenant: str, resource_type: str, resource_id: str) -> Key:
    """The cart or quote an approval is for, by the approval's ``resourceType``."""
    return quote(tenant, resource_id) if resource_type == "QUOTE" else cart(tenant, resource_id)


def tenant_settings(tenant: str, settings_id: str = "approval") -> Key:
    """A tenant's settings (``approval``: Emporix's ``approval.*`` system preferences)."""
    return {"PK": f"TENANT#{tenant}#SETTINGS#{settings_id}", "SK": SETTINGS_SORT_KEY}


def is_tenant_settings(item: dict[str, object]) -> bool:
    return item.get("SK") == SETTINGS_SORT_KEY


SETTINGS_SORT_KEY = "SETTINGS"


# --------------------------------------------------------------------------- approval policies (directory table)
def tenant_policy(tenant: str, policy_id: str) -> Key:
    """A policy by its id: the tenant's policies share a partition (read by id, listed by operators)."""
    return {"PK": tenant_policies_partition(tenant), "SK": f"{POLICY_PREFIX}{policy_id}"}


def tenant_policies_partition(tenant: str) -> str:
    return f"TENANT#{tenant}#POLICIES"


def company_policy(tenant: str, company_id: str, policy_id: str) -> Key:
    """The same policy in its company's partition, next to the members: one Query reads the
    company's members and policies when an approval is created ("MEMBER#" sorts before "POLICY#")."""
    return {"PK": company_partition(tenant, company_id), "SK": f"{POLICY_PREFIX}{policy_id}"}


POLICY_PREFIX = "POLICY#"


def companies_with_policies(tenant: str) -> Key:
    """How many policies each company of the tenant has (attributes ``company:{id}``): read with
    the customers and the cart, so a company without policies pays no request for them."""
    return {"PK": tenant_policies_partition(tenant), "SK": "COMPANIES"}


def policy_count_attribute(company_id: str) -> str:
    return f"company:{company_id}"
