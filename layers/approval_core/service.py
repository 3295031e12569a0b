"""The use cases. Each takes the caller and a validated request, applies the rules of
``domain.rules`` and ``domain.patch`` to what the ports return, and either returns a result or
raises the contract's error. Nothing here knows about Lambda, HTTP or DynamoDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from approval_core.domain import order, patch, rules
from approval_core.domain.bulk import BulkDecisionRequest, BulkOutcome
from approval_core.domain.caller import Caller
from approval_core.domain.clock import DEFAULT_EXPIRY_SECONDS, iso, iso_after, utc_now
from approval_core.domain.errors import (
    ApprovalError,
    ApprovalFinished,
    ApprovalNotFound,
    ApproverNotAssignable,
    ConcurrentModification,
    ErrorDetail,
    NoCompany,
    NoPermission,
    ValidationFailed,
    excerpt,
)
from approval_core.domain.listing import KeyedSelection, ListRequest
from approval_core.domain.models import (
    Approval,
    ApproverCandidate,
    CreateApprovalRequest,
    FlowPolicy,
    FlowStep,
    HistoryAction,
    HistoryEntry,
    Metadata,
    PermittedAnswer,
    Person,
    Reference,
    ResourceQuery,
    ResourceType,
    Status,
    is_identifier,
)
from approval_core.domain.reference import Cart, Customer, TenantSettings
from approval_core.domain.validation import validate
from approval_core.ports import ApprovalStore, CartSource, CustomersAndCart, Directory, PolicyStore

if TYPE_CHECKING:
    from approval_core.domain.policies import Policy

# A filtered, custom-sorted or counted list reads the caller's approvals and works in memory: at
# most this many, so no list request does unbounded work (openapi.yaml, the list's q parameter).
MAX_LIST_SCAN = 10_000


@dataclass(frozen=True)
class ApprovalPage:
    approvals: list[dict[str, Any]]
    total: int | None


@dataclass(frozen=True)
class SweepResult:
    expired: int
    skipped: int
    still_overdue: int


SYSTEM = "system"
# Rule 26: how often a flow decision that lost a race for the version is applied again.
FLOW_DECISION_ATTEMPTS = 4


class _FlowDecisionRaced(Exception):
    def __init__(self, conflict: ConcurrentModification) -> None:
        super().__init__(conflict.message)
        self.conflict = conflict


ONLY_PENDING_CLOSES = "Only a PENDING approval can be closed"


@dataclass
class ApprovalService:
    store: ApprovalStore
    directory: Directory
    carts: CartSource
    # The customers, the cart and the lock a use case needs, in as few reads as the stores allow.
    reads: CustomersAndCart
    expiry_seconds: int = DEFAULT_EXPIRY_SECONDS
    clock: Callable[[], datetime] = utc_now
    list_scan_limit: int = MAX_LIST_SCAN
    # Approval policies (rules 22-29); None: a service without them (rules 1 to 13 alone).
    policies: PolicyStore | None = None

    # ------------------------------------------------------------------ create
    def create_approval(self, caller: Caller, request: CreateApprovalRequest) -> str:
        """Ask an approver to approve the caller's cart or quote (rules 1 to 5, 14, 15; with
        approval policies, 22 to 28). Returns the new id."""
        from approval_core.domain import flow as flow_rules  # only where flows are decided (cold start)

        now = self.clock()
        approver_id = request.approver.userId if request.approver else None
        customers, cart, with_policies, settings = self._read_for_create(caller, request, approver_id)
        if approver_id is None and not with_policies:
            # No policy can make the approver optional: the body's error, first as always.
            raise _missing_approver()
        order.rule_14_type_and_action(request.resourceType, settings)
        requestor = self._caller_as_customer(customers, caller)

        rules.caller_company_exists(requestor)
        cart = rules.resource_exists(cart, request.resourceId)
        rules.rule_2_owns_resource(requestor, cart)
        rules.rule_1_may_ask_for_approval(requestor)
        named = (
            None if approver_id is None else requestor if approver_id == requestor.id else customers.get(approver_id)
        )
        company = rules.rule_3_company_of_approval(requestor, cart, named)

        created_at = iso(now)
        approval = Approval(
            id=request.id or uuid.uuid4().hex,
            status=Status.PENDING,
            resourceType=request.resourceType,
            action=request.action,
            resource=cart.snapshot(),
            requestor=_person(requestor),
            approver=_person(named or requestor),  # decided below
            comment=request.comment,
            expiryDate=iso_after(now, self.expiry_seconds),
            details=request.details,
            legalEntity=Reference(id=company.id),  # rule 15
            metadata=Metadata(createdAt=created_at, modifiedAt=created_at, version=1),
            history=[
                HistoryEntry(
                    at=created_at, by=caller.user_id, action=HistoryAction.CREATED, status=Status.PENDING, version=1
                )
            ],
        )
        chosen = self._flow_of(caller.tenant, request, requestor, company.id, with_policies, cart, approver_id)
        if chosen is not None:
            # Rules 24 and 25: the policies win over rule 4 (a buyer within the limit needs them too).
            flow, approver = chosen
            approval = approval.model_copy(
                update={"approver": approver, "flow": flow, "pendingApprovers": flow_rules.pending_approvers(flow)}
            )
        else:
            if approver_id is None:
                raise _missing_approver()
            rules.rule_4_needs_approval(requestor, cart, company)
            assigned = rules.rule_3_4_approver_assignable(
                requestor, named, company, buyer_above_limit=rules.is_buyer_above_limit(requestor, cart, company)
            )
            if not flow_rules.within_own_limit(assigned, cart.totalPrice):
                raise ApproverNotAssignable("The approver's own approval limit is below the cart's total")
            approval = approval.model_copy(update={"approver": _person(assigned)})
        self.store.create(caller.tenant, approval, now=created_at)  # rules 5, 18, 19
        return approval.id

    def _read_for_create(
        self, caller: Caller, request: CreateApprovalRequest, approver_id: str | None
    ) -> tuple[dict[str, Customer], Cart | None, frozenset[str], TenantSettings | None]:
        """The customers, the cart (or the quote, with the tenant's settings: rule 14) and the
        companies with policies, in one read."""
        ids = {caller.user_id} | ({approver_id} if approver_id else set())
        if request.resourceType is ResourceType.QUOTE:
            customers, quote, settings, with_policies = self.reads.get_customers_quote_and_settings(
                caller.tenant, ids, request.resourceId
            )
            return customers, quote, with_policies, settings
        customers, cart, with_policies = self.reads.get_customers_cart_and_policy_companies(
            caller.tenant, ids, request.resourceId
        )
        return customers, cart, with_policies, None

    def _flow_of(
        self,
        tenant: str,
        request: CreateApprovalRequest,
        requestor: Customer,
        company_id: str,
        with_policies: frozenset[str],
        cart: Cart,
        approver_id: str | None,
    ) -> tuple[list[FlowPolicy], Person] | None:
        """Rules 22, 24 and 25: the flow of the company's matching policies and the document's
        approver, or None when no policy matches (or the company has none: no request then)."""
        from approval_core.domain import flow as flow_rules  # only where flows are decided (cold start)

        found = self._members_and_matching_policies(
            tenant, company_id, with_policies, requestor, cart, request.resourceType, request
        )
        if found is None or not found[1]:
            return None
        members, matched = found
        flow = flow_rules.rule_24_build_flow(
            matched, {member.id: member for member in members}, requestor, cart.totalPrice
        )
        first = flow_rules.first_tier_approvers(flow)
        if approver_id is None:
            return flow, first[0]
        for person in first:
            if person.userId == approver_id:
                return flow, person
        raise ApproverNotAssignable(
            "The approver is not an eligible approver of a first tier of the approval's policies"
        )

    def _members_and_matching_policies(
        self,
        tenant: str,
        company_id: str,
        with_policies: frozenset[str],
        requestor: Customer,
        cart: Cart,
        resource_type: str,
        request: CreateApprovalRequest | None = None,
    ) -> tuple[list[Customer], list[Policy]] | None:
        """Rule 22: the company's members and those of its policies that match the approval the
        request and the cart would make, in one Query; None, with nothing read or built, where the
        company has no policies."""
        from approval_core.domain import flow as flow_rules  # only where flows are decided (cold start)

        if self.policies is None or company_id not in with_policies:
            return None
        members, policies = self.policies.company_members_and_policies(tenant, company_id)
        document = flow_rules.approval_to_be(_approval_to_be(requestor, cart, resource_type, request))
        return members, [policy for policy in policies if policy.matches(requestor, document)]

    # ------------------------------------------------------------------ read
    def get_approval(self, caller: Caller, approval_id: str) -> Approval:
        """One approval, for its requestor or approver only (rule 6), as of now (rule 13)."""
        return rules.rule_13_effective(self._visible(caller, approval_id), iso(self.clock()))

    def list_approvals(self, caller: Caller, request: ListRequest) -> ApprovalPage:
        """The caller's approvals (rule 6) as of now (rule 13), filtered, sorted and paged.

        Without a filter, a custom sort or a total, the newest approvals are all a page needs, so
        only as many are read as the page ends at, however many the caller has. A status filter
        (any of), a createdAt range and a total are answered from the store's status keys: only
        the approvals of those statuses are read, in the default order only as many as the page
        needs, and a status-only total comes from counts. Any other filter reads the caller's
        approvals (of the filtered statuses, when it has a status term), up to
        ``list_scan_limit``: beyond it the request is refused rather than answered from part.
        """
        # Here, not at the top: the other functions never load the query language (cold start).
        from approval_core.domain.query import paginate, sort_documents

        now = iso(self.clock())
        query = request.query
        statuses = query.status_values()
        created = query.created_range()
        if statuses is not None or created is not None or request.with_total:
            listing = self._list_keyed(caller, request, now, statuses, created)
            if listing is not None:
                return listing
        reads_everything = not request.default_sort or request.with_total or bool(query.terms)
        limit = self.list_scan_limit + 1 if reads_everything else request.page_number * request.page_size
        approvals = self.store.list_for_participant(caller.tenant, caller.user_id, limit)
        if reads_everything and len(approvals) > self.list_scan_limit:
            raise self._too_many()
        documents = [_effective_document(approval, now) for approval in approvals]
        matching = [document for document in documents if query.matches(document)]
        ordered = sort_documents(matching, request.sort)
        page = paginate(ordered, request.page_number, request.page_size)
        return ApprovalPage(approvals=list(page), total=len(matching) if request.with_total else None)

    def _list_keyed(
        self,
        caller: Caller,
        request: ListRequest,
        now: str,
        statuses: frozenset[str] | None,
        created: tuple[str | None, str | None] | None,
    ) -> ApprovalPage | None:
        from approval_core.domain.query import paginate, sort_documents

        query = request.query
        total_from_counts = query.only_status()
        page_end = request.page_number * request.page_size
        reads_all = not request.default_sort or (request.with_total and not total_from_counts)
        selection = KeyedSelection(
            statuses=statuses,
            created_from=created[0] if created else None,
            created_to=created[1] if created else None,
            now=now,
            keep=lambda approval: query.matches(_effective_document(approval, now)),
            limit=None if reads_all else page_end,
            max_read=self.list_scan_limit,
        )
        listing = self.store.list_keyed(caller.tenant, caller.user_id, selection)
        if listing is None:
            return None
        if listing.truncated:
            raise self._too_many()
        documents = [_effective_document(approval, now) for approval in listing.approvals]
        ordered = documents if request.default_sort else sort_documents(documents, request.sort)
        page = paginate(ordered, request.page_number, request.page_size)
        total = (listing.total if total_from_counts else len(documents)) if request.with_total else None
        return ApprovalPage(approvals=list(page), total=total)

    def _too_many(self) -> ValidationFailed:
        return ValidationFailed(
            f"q: filtering, sorting or counting reads at most {self.list_scan_limit} approvals, "
            "and the caller has more; list without q, sort and X-Total-Count to page through them",
            [ErrorDetail(field="q", message=f"q: more than {self.list_scan_limit} approvals to filter")],
        )

    def complete_status_keys(self, has_time: Callable[[], bool]) -> bool:
        """The one-off backfill of status keys for approvals stored before they existed."""
        return self.store.backfill_status_keys(has_time)

    # ------------------------------------------------------------------ change
    def update_approval(self, caller: Caller, approval_id: str, body: Any, if_match: str | None = None) -> None:
        """PATCH: JSON Patch operations by a participant (rules 7, 8, 9), all or none.

        The requestor's change of the status to CLOSED is the DELETE's change (rule 10): the same
        history entry and event, and the same refusal of an approval that is no longer PENDING.

        Setting ``createdResource`` is the order side's own change (rules 16 and 17).
        """
        if patch.records_order(body):
            self.record_order(caller, approval_id, body, if_match)
            return
        self.patch_visible(caller, self._visible(caller, approval_id), body, if_match)

    def patch_visible(self, caller: Caller, stored: Approval, body: Any, if_match: str | None = None) -> None:
        """The PATCH of an approval already read and visible to the caller: what a single PATCH
        and each approval of a bulk decision (rule 20) go through.

        Rule 26: decisions on a flow by different approvers commute, so one that lost a race for
        the version is applied again to the approval as it now is, unless the client named a
        version (If-Match).
        """
        attempts = 1 if if_match is not None else FLOW_DECISION_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self._patch_once(caller, stored, body, if_match)
                return
            except _FlowDecisionRaced as raced:
                if attempt == attempts:
                    raise raced.conflict from None
                stored = self._visible(caller, stored.id)

    def _patch_once(self, caller: Caller, stored: Approval, body: Any, if_match: str | None) -> None:
        from approval_core.domain import flow as flow_rules  # only where flows are decided (cold start)

        now = self.clock()
        role = patch.Role.REQUESTOR if caller.user_id == stored.requestor.userId else patch.Role.APPROVER
        try:
            self._still_pending(stored, iso(now))
        except ApprovalFinished:
            if role is patch.Role.REQUESTOR and patch.closes(body):
                raise ValidationFailed(ONLY_PENDING_CLOSES) from None
            raise
        # The contract's order: each operation's form (400010, which includes replace or remove of
        # an absent member, so the operations are applied to a copy first), the path (400007), the
        # caller's right to it (400008), the status value (400003) and transition (400002).
        operations = patch.parse_operations(body)
        patched_document = patch.apply(_document(stored), operations)
        patch.check_paths(operations)
        patch.rule_8_check_rights(operations, role)
        new_status = patch.rule_8_new_status(operations, role)
        patched = validate(patched_document, Approval)
        _rule_9_if_match(stored, if_match)
        if stored.flow and new_status in (Status.APPROVED, Status.DECLINED):
            decision = flow_rules.rule_26_decide(stored.flow, caller.user_id, new_status, iso(now))
            finished = decision.status is not Status.PENDING
            patched = patched.model_copy(
                update={
                    "status": decision.status,
                    "flow": decision.flow,
                    "pendingApprovers": [] if finished else flow_rules.pending_approvers(decision.flow),
                }
            )
            action = HistoryAction(decision.status) if finished else HistoryAction.TIER_APPROVED
            try:
                self._save(caller, stored, patched, action, now, tiers=decision.steps)
            except ConcurrentModification as conflict:
                raise _FlowDecisionRaced(conflict) from None
            return
        action = HistoryAction(new_status) if new_status else HistoryAction.UPDATED
        self._save(caller, stored, patched, action, now)

    def record_order(self, caller: Caller, approval_id: str, body: Any, if_match: str | None = None) -> None:
        """PATCH ``add /createdResource``: the order the approved checkout created (rule 16), set
        once by a participant or the platform's machine client. On a PENDING approval it is the
        approval by ordering (rule 17): the approver (or the platform acting for them) approves
        and records the order in one conditional write, with a history entry and an event each."""
        from approval_core.domain import flow as flow_rules  # only where flows are decided (cold start)

        now = self.clock()
        at = iso(now)
        stored = self._visible(caller, approval_id, platform_sees=order.is_platform(caller))
        created = validate({"createdResource": patch.created_resource(patch.parse_operations(body))}, order.OrderRecord)
        approves = order.rule_16_17_may_record_order(stored, caller, rules.rule_13_effective(stored, at).status)
        _rule_9_if_match(stored, if_match)
        version = stored.metadata.version
        entries = []
        flow_update: dict[str, Any] = {}
        if approves:
            version += 1
            deciding = order.deciding_user(stored, caller)
            # On a flow, the decision that completes it is recorded on its tiers (rule 26).
            decision = flow_rules.rule_26_decide(stored.flow, deciding, Status.APPROVED, at) if stored.flow else None
            if decision is not None:
                flow_update = {"flow": decision.flow, "pendingApprovers": []}
            entries.append(
                HistoryEntry(
                    at=at,
                    by=deciding,
                    action=HistoryAction.APPROVED,
                    status=Status.APPROVED,
                    version=version,
                    tiers=decision.steps if decision else None,
                )
            )
        version += 1
        entries.append(
            HistoryEntry(
                at=at, by=caller.user_id, action=HistoryAction.ORDERED, status=Status.APPROVED, version=version
            )
        )
        changed = stored.model_copy(
            update={
                "status": Status.APPROVED,
                **flow_update,
                "createdResource": created.createdResource,
                "metadata": Metadata(createdAt=stored.metadata.createdAt, modifiedAt=at, version=version),
                "history": [*stored.history, *entries],
            }
        )
        self.store.update(
            caller.tenant,
            changed,
            expected_version=stored.metadata.version,
            now=at,
            expected_status=Status.PENDING if approves else Status.APPROVED,
        )

    def close_approval(self, caller: Caller, approval_id: str) -> None:
        """DELETE: the requestor closes a PENDING approval; the document stays (rule 10)."""
        now = self.clock()
        stored = self._visible(caller, approval_id)
        if caller.user_id != stored.requestor.userId:
            raise NoPermission("Only the requestor can close an approval")
        try:
            self._still_pending(stored, iso(now))
            self._save(caller, stored, stored.model_copy(update={"status": Status.CLOSED}), HistoryAction.CLOSED, now)
        except ApprovalFinished:
            raise ValidationFailed(ONLY_PENDING_CLOSES) from None

    def decide_approvals(self, caller: Caller, request: BulkDecisionRequest) -> list[BulkOutcome]:
        """Rule 20: each approval decided on its own, as the PATCH of its status would decide it
        (with its own conditional write), in the order of the request; one batch read for all."""
        readable = [approval_id for approval_id in request.approvalIds if is_identifier(approval_id)]
        stored = self.store.get_many(caller.tenant, readable)
        body = request.as_patch()
        outcomes = []
        for approval_id in request.approvalIds:
            try:
                self.patch_visible(caller, self._visible(caller, approval_id, stored.get), body)
                outcomes.append(BulkOutcome(approval_id))
            except ApprovalError as error:
                outcomes.append(BulkOutcome(approval_id, error))
        return outcomes

    # ------------------------------------------------------------------ expiry
    def expire_overdue(self, has_time: Callable[[], bool]) -> SweepResult:
        """Rule 13: move PENDING approvals whose expiryDate has passed to EXPIRED.

        Each expiry is its own conditional write, so the sweep can run twice at once, be cut off
        anywhere and be rerun: an approval is expired once, and what one run leaves the next
        finds. It stops when ``has_time`` says so, and then counts what it left.
        """
        now = iso(self.clock())
        sweep_id = uuid.uuid4().hex
        expired = skipped = 0
        for overdue in self.store.overdue(now):
            if not has_time():
                return SweepResult(expired, skipped, still_overdue=self.store.count_overdue(now))
            entry = HistoryEntry(
                at=now, by=SYSTEM, action=HistoryAction.EXPIRED, status=Status.EXPIRED, version=overdue.version + 1
            )
            if self.store.expire(overdue, entry, sweep_id):
                expired += 1
            else:
                skipped += 1  # expired by another sweep, or changed since the index was read
        return SweepResult(expired, skipped, still_overdue=0)

    # ------------------------------------------------------------------ questions about a cart
    def permitted(self, caller: Caller, request: ResourceQuery) -> PermittedAnswer:
        """Rules 11, 18 and 19 (and 22): may the caller check this cart (or quote) out now?"""
        known, cart, latest, with_policies = self.reads.get_customer_cart_lock_and_policy_companies(
            caller.tenant, caller.user_id, request.resourceId, request.resourceType, request.action
        )
        customer = self._caller_as_customer({caller.user_id: known} if known else {}, caller)
        if not customer.company_ids:
            raise NoCompany()
        denied = PermittedAnswer(action=request.action, permitted=False)
        if cart is None:
            return denied
        is_admin = rules.is_admin_of_cart_company(customer, cart)
        knows_it = cart.customerId == customer.id or (latest is not None and latest.is_participant(customer.id))
        if not knows_it:
            return denied.model_copy(update={"permitted": is_admin})
        status = rules.rule_13_status(latest.status, latest.expiryDate, iso(self.clock())) if latest else None
        # Rules 18 and 19: an APPROVED approval covers the content the approver saw, once.
        reason = order.rule_18_19_reason(latest, cart.snapshot()) if latest and status is Status.APPROVED else None
        without_approval = is_admin or (
            rules.is_buyer_within_limit(customer, cart)
            and not self._policy_applies(caller, customer, cart, request.resourceType, with_policies)
        )
        permitted = without_approval or (status is Status.APPROVED and reason is None)
        return PermittedAnswer(
            action=request.action,
            permitted=permitted,
            status=status,
            approvalId=latest.approvalId if latest else None,
            reason=None if permitted else reason,
        )

    def _policy_applies(
        self, caller: Caller, customer: Customer, cart: Cart, resource_type: str, with_policies: frozenset[str]
    ) -> bool:
        """Rule 22 for the permitted check: a policy of the cart's company matches the caller's cart
        (then a buyer within the limit needs the approval too). No request without policies."""
        company = rules.rule_11_cart_company(customer, cart)
        if company is None:
            return False
        found = self._members_and_matching_policies(
            caller.tenant, company.id, with_policies, customer, cart, resource_type
        )
        return found is not None and bool(found[1])

    def search_approvers(self, caller: Caller, request: ResourceQuery) -> list[ApproverCandidate]:
        """Rule 12: who in the caller's company could approve this cart (never the caller). Where
        a policy matches (rule 27), the eligible approvers of its first tiers; never anyone whose
        own limit is below the cart's total (rule 28)."""
        from approval_core.domain import flow as flow_rules  # only where flows are decided (cold start)

        customers, cart, with_policies = self.reads.get_customers_cart_and_policy_companies(
            caller.tenant, {caller.user_id}, request.resourceId, request.resourceType
        )
        requestor = self._caller_as_customer(customers, caller)
        rules.caller_company_exists(requestor)
        cart = rules.resource_exists(cart, request.resourceId)
        rules.rule_2_owns_resource(requestor, cart)
        companies = rules.rule_12_candidate_companies(requestor, cart)
        candidates: dict[str, Customer] = {}
        for company in companies:
            found = self._members_and_matching_policies(
                caller.tenant, company.id, with_policies, requestor, cart, request.resourceType
            )
            members, matched = (
                found if found is not None else (self.directory.get_members(caller.tenant, company.id), [])
            )
            if matched:
                by_id = {member.id: member for member in members}
                try:
                    flow = flow_rules.rule_24_build_flow(matched, by_id, requestor, cart.totalPrice)
                except ApproverNotAssignable:
                    continue  # nobody could complete it: no approval can be asked for here
                for person in flow_rules.first_tier_approvers(flow):
                    candidates.setdefault(person.userId, by_id[person.userId])
                continue
            allowed = rules.approver_groups(buyer_above_limit=rules.is_buyer_above_limit(requestor, cart, company))
            for member in members:
                if (
                    member.id != requestor.id
                    and member.in_group(*allowed)
                    and flow_rules.within_own_limit(member, cart.totalPrice)
                ):
                    candidates.setdefault(member.id, member)
        ordered = sorted(candidates.values(), key=lambda c: (c.last_name or "", c.first_name or "", c.id))
        return [ApproverCandidate(userId=c.id, firstName=c.first_name, lastName=c.last_name) for c in ordered]

    # ------------------------------------------------------------------ helpers
    def _visible(
        self,
        caller: Caller,
        approval_id: str,
        read: Callable[[str], Approval | None] | None = None,
        platform_sees: bool = False,
    ) -> Approval:
        """The approval, if the caller takes part in it (or is the platform, when ``platform_sees``);
        ``read`` finds it among approvals read already (a bulk's batch), else the store is asked."""
        if not is_identifier(approval_id):
            # Checked before any read: DynamoDB refuses keys beyond its limits, and no approval has such an id.
            if "/" in approval_id:
                # A client's encoded "/" (%2F), decoded by API Gateway: a path to an approval that
                # does not exist, answered as any such path is.
                raise ApprovalNotFound(f"Approval {excerpt(approval_id)} does not exist")
            message = f"approvalId: {excerpt(approval_id)} is not an approval id"
            raise ValidationFailed(message, [ErrorDetail(field="approvalId", message=message)])
        approval = read(approval_id) if read else self.store.get(caller.tenant, approval_id)
        if approval is None or not (platform_sees or rules.rule_6_visible_to(approval, caller.user_id)):
            raise ApprovalNotFound(f"Approval {approval_id} does not exist")
        return approval

    @staticmethod
    def _still_pending(approval: Approval, now: str) -> None:
        """Rule 7 (and 13): a finished or overdue approval cannot change."""
        if rules.rule_13_effective(approval, now).status is not Status.PENDING:
            raise ApprovalFinished()

    def _save(
        self,
        caller: Caller,
        stored: Approval,
        changed: Approval,
        action: HistoryAction,
        now: datetime,
        tiers: list[FlowStep] | None = None,
    ) -> None:
        """Rule 9: the next version, with its history entry, written only over the version read."""
        version = stored.metadata.version + 1
        at = iso(now)
        entry = HistoryEntry(
            at=at, by=caller.user_id, action=action, status=changed.status, version=version, tiers=tiers
        )
        next_version = changed.model_copy(
            update={
                "metadata": Metadata(createdAt=stored.metadata.createdAt, modifiedAt=at, version=version),
                "history": [*stored.history, entry],
            }
        )
        self.store.update(caller.tenant, next_version, expected_version=stored.metadata.version, now=at)

    @staticmethod
    def _caller_as_customer(customers: dict[str, Customer], caller: Caller) -> Customer:
        """Groups come from the token's groups claim when it has one, else from the directory."""
        customer = customers.get(caller.user_id) or Customer(id=caller.user_id)
        return customer if caller.groups is None else replace(customer, groups=caller.groups)


def _approval_to_be(
    requestor: Customer, cart: Cart, resource_type: str, request: CreateApprovalRequest | None = None
) -> dict[str, Any]:
    """The document a policy's condition is evaluated over, before there is an approval: what the
    request and the cart (or quote) make of it (the approver is the flow's to choose)."""
    document: dict[str, Any] = {
        "resourceType": ResourceType(resource_type).value,
        "action": "CHECKOUT",
        "resource": cart.snapshot().model_dump(mode="python", exclude_none=True),
        "requestor": _person(requestor).model_dump(mode="python", exclude_none=True),
    }
    if request is not None:
        document.update(request.model_dump(mode="python", exclude_none=True, include={"comment", "details"}))
    return document


def _missing_approver() -> ValidationFailed:
    return ValidationFailed(details=[ErrorDetail(field="approver", type="missing", message="approver: cannot be null")])


def _effective_document(approval: Approval, now: str) -> dict[str, Any]:
    return rules.rule_13_effective(approval, now).model_dump(mode="python", exclude_none=True)


def _rule_9_if_match(stored: Approval, if_match: str | None) -> None:
    """Rule 9: ``If-Match: <version>`` must name the stored version (ETag quotes allowed)."""
    if if_match is None:
        return
    expected = if_match.strip().removeprefix("W/").strip('"')
    if expected != str(stored.metadata.version):
        raise ConcurrentModification(
            f"If-Match names version {expected[:20]}, the approval is at version {stored.metadata.version}"
        )


def _document(approval: Approval) -> dict[str, Any]:
    return approval.model_dump(mode="python", exclude_none=True)


def _person(customer: Customer) -> Person:
    return Person(userId=customer.id, firstName=customer.first_name, lastName=customer.last_name)
