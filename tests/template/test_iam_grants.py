"""The IAM check the integration suite runs (tests/iam_grants.py) denies what IAM would deny."""

from __future__ import annotations

from tests.iam_grants import Access, accesses, grants

TABLES = {"approvals-1234": "ApprovalsTable"}
TEMPLATE = {
    "Resources": {
        "Fn": {
            "Properties": {
                "Policies": [
                    {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                                "Resource": {"Fn::GetAtt": ["ApprovalsTable", "Arn"]},
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["dynamodb:Query"],
                                "Resource": {"Fn::Sub": "${ApprovalsTable.Arn}/index/PendingByExpiry"},
                            },
                        ]
                    }
                ]
            }
        }
    }
}


def allowed(access: Access) -> bool:
    return any(grant.allows(access) for grant in grants(TEMPLATE, "Fn"))


def test_a_transaction_is_authorised_as_the_item_actions_it_holds() -> None:
    requested = accesses(
        "TransactWriteItems",
        {"TransactItems": [{"Put": {"TableName": "approvals-1234"}}, {"Update": {"TableName": "approvals-1234"}}]},
        TABLES,
    )
    assert requested == [Access("dynamodb:PutItem", "ApprovalsTable"), Access("dynamodb:UpdateItem", "ApprovalsTable")]
    assert [allowed(access) for access in requested] == [True, False]


def test_a_query_of_an_index_needs_the_index_granted_and_the_table_grant_is_not_enough() -> None:
    on_index = accesses("Query", {"TableName": "approvals-1234", "IndexName": "PendingByExpiry"}, TABLES)
    on_table = accesses("Query", {"TableName": "approvals-1234"}, TABLES)
    other_index = accesses("Query", {"TableName": "approvals-1234", "IndexName": "Other"}, TABLES)
    assert [allowed(a) for a in (*on_index, *on_table, *other_index)] == [True, False, False]


def test_a_batch_read_is_its_own_action() -> None:
    (batch,) = accesses("BatchGetItem", {"RequestItems": {"approvals-1234": {"Keys": []}}}, TABLES)
    assert batch == Access("dynamodb:BatchGetItem", "ApprovalsTable")
    assert not allowed(batch)
