"""The alarms of template.yaml: every function's errors and throttles, the API's 5xx, every table's
throttled requests and the events' dead-letter queue, each firing on the first occurrence and
notifying the AlarmTopicArn parameter's topic when one is given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from approvals_local.template import read_document
from tests.template.test_template_structure import FUNCTIONS, TABLES, as_list, statements

ROOT = Path(__file__).resolve().parents[2]
ALARM_TYPE = "AWS::CloudWatch::Alarm"
NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


@dataclass(frozen=True)
class Watched:
    """One metric an alarm watches."""

    alarm: str
    namespace: str
    metric: str
    dimensions: dict[str, Any]  # name -> value as the template writes it ({"Ref": ...})
    statistic: str


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return read_document(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def alarms(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {name: r["Properties"] for name, r in document["Resources"].items() if r["Type"] == ALARM_TYPE}
    assert found, "template.yaml has no CloudWatch alarms"
    return found


def watched_metrics(name: str, alarm: dict[str, Any]) -> list[Watched]:
    """The metrics of a single-metric alarm, or those a metric-math alarm adds up."""
    if "MetricName" in alarm:
        return [
            Watched(
                name,
                alarm["Namespace"],
                alarm["MetricName"],
                {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
                alarm["Statistic"],
            )
        ]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            found.append(
                Watched(
                    name,
                    metric["Namespace"],
                    metric["MetricName"],
                    {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
                    stat["Stat"],
                )
            )
    return found


@pytest.fixture(scope="module")
def watched(alarms: dict[str, dict[str, Any]]) -> list[Watched]:
    return [metric for name, alarm in alarms.items() for metric in watched_metrics(name, alarm)]


def watching(watched: list[Watched], namespace: str, metric: str, **dimensions: Any) -> list[Watched]:
    return [
        w
        for w in watched
        if (w.namespace, w.metric) == (namespace, metric)
        and all(w.dimensions.get(key) == value for key, value in dimensions.items())
    ]


# --------------------------------------------------------------------------- every alarm
def test_every_alarm_fires_on_the_first_occurrence(alarms: dict[str, dict[str, Any]]) -> None:
    for name, alarm in alarms.items():
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0), name
        assert alarm["EvaluationPeriods"] == 1, name
        # No traffic is no failure: an idle service stays OK.
        assert alarm.get("TreatMissingData") == "notBreaching", name
        assert alarm.get("AlarmDescription"), name


def test_every_alarm_notifies_the_topic_parameter_when_given(
    document: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    parameter = document["Parameters"]["AlarmTopicArn"]
    assert (parameter["Type"], parameter["Default"]) == ("String", "")  # optional: no actions without it
    assert document["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    for name, alarm in alarms.items():
        assert alarm.get("AlarmActions") == NOTIFY, name


def test_metric_math_alarms_alarm_on_the_sum_of_their_metrics(alarms: dict[str, dict[str, Any]]) -> None:
    for name, alarm in alarms.items():
        if "Metrics" not in alarm:
            continue
        returned = [query for query in alarm["Metrics"] if query.get("ReturnData", True)]
        assert len(returned) == 1, name
        # Missing series (an operation without throttles) count as 0, not as a gap in the sum.
        assert returned[0]["Expression"] == "SUM(FILL(METRICS(), 0))", name
        assert all(query.get("ReturnData") is False for query in alarm["Metrics"] if "MetricStat" in query), name


# --------------------------------------------------------------------------- what is watched
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_errors_and_a_throttles_alarm(watched: list[Watched], function: str, metric: str) -> None:
    found = watching(watched, "AWS/Lambda", metric, FunctionName={"Ref": function})
    assert found, f"no alarm on {metric} of {function}"
    assert {w.statistic for w in found} == {"Sum"}


def test_the_api_has_a_5xx_alarm(document: dict[str, Any], watched: list[Watched]) -> None:
    apis = [name for name, r in document["Resources"].items() if r["Type"] == "AWS::Serverless::HttpApi"]
    assert apis
    for api in apis:
        # HTTP APIs report 5xx (not 5XXError, the REST APIs' name) by ApiId.
        found = watching(watched, "AWS/ApiGateway", "5xx", ApiId={"Ref": api})
        assert found, f"no 5xx alarm on {api}"
        assert {w.statistic for w in found} == {"Sum"}


def granted_operations(document: dict[str, Any], table: str) -> set[str]:
    """The DynamoDB operations the stack's function policies allow on a table (or its indexes)."""
    operations = set()
    for resource in document["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for statement in statements(resource):
            targets = as_list(statement["Resource"])
            on_table = any(
                target == {"Fn::GetAtt": [table, "Arn"]}
                or (isinstance(target, dict) and str(target.get("Fn::Sub", "")).startswith(f"${{{table}.Arn}}"))
                for target in targets
            )
            if on_table:
                operations |= {action.split(":", 1)[1] for action in as_list(statement["Action"])}
    if "ConditionCheckItem" in operations:
        # An action only a transaction's item is authorised as: it is throttled as the transaction.
        operations = (operations - {"ConditionCheckItem"}) | {"TransactWriteItems"}
    return operations


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_a_throttled_requests_alarm_on_every_operation_it_serves(
    document: dict[str, Any], watched: list[Watched], table: str
) -> None:
    """DynamoDB reports ThrottledRequests per table and operation, with no per-table total: the
    alarm must watch each operation the functions may send (transactions report as
    TransactWriteItems, whatever the item actions they are authorised as)."""
    found = watching(watched, "AWS/DynamoDB", "ThrottledRequests", TableName={"Ref": table})
    assert found, f"no ThrottledRequests alarm on {table}"
    assert all(set(w.dimensions) == {"TableName", "Operation"} for w in found), found
    assert {w.statistic for w in found} == {"Sum"}
    operations = {w.dimensions["Operation"] for w in found}
    expected = granted_operations(document, table)
    if table == "ApprovalsTable":
        expected.add("TransactWriteItems")  # the approval store writes in transactions only
    assert expected, f"no function may use {table}"
    assert expected <= operations, f"{table}: throttles of {sorted(expected - operations)} are not watched"


def dead_letter_queues(document: dict[str, Any]) -> set[str]:
    """The queues the stack sends what it could not process to: event sources' OnFailure
    destinations and functions' DeadLetterQueue."""
    queues = set()
    for resource in document["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        targets = [(properties.get("DeadLetterQueue") or {}).get("TargetArn")]
        for event in (properties.get("Events") or {}).values():
            destination = ((event.get("Properties") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
            targets.append(destination.get("Destination"))
        queues |= {target["Fn::GetAtt"][0] for target in targets if isinstance(target, dict) and "Fn::GetAtt" in target}
    return {queue for queue in queues if document["Resources"][queue]["Type"] == "AWS::SQS::Queue"}


def test_every_dead_letter_queue_alarms_when_it_holds_messages(
    document: dict[str, Any], watched: list[Watched]
) -> None:
    queues = dead_letter_queues(document)
    assert "ApprovalEventsDeadLetterQueue" in queues
    for queue in queues:
        found = watching(
            watched,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            QueueName={"Fn::GetAtt": [queue, "QueueName"]},
        )
        assert found, f"no alarm on the messages waiting in {queue}"
        assert {w.statistic for w in found} <= {"Maximum", "Sum"}
