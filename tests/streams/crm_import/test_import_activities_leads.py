"""Activity and lead exports to events."""

from __future__ import annotations

from kpiflow.streams.crm_import.event_ids import event_id
from tests.streams.crm_import.import_cases import EXAMPLES, kpi_rows, month_values
from tests.streams.crm_import.test_import_deals import run


def test_activities():
    summary, events, keys = run(
        EXAMPLES / "activities.csv", EXAMPLES / "activities.mapping.yaml", "activities"
    )
    assert (summary.imported_rows, summary.problems) == (5, [])
    first = events[0]
    assert first == {
        "event_id": event_id("crm-export", "activity", "ACT-1", "logged"),
        "event_type": "activity.logged",
        "schema_version": 1,
        "occurred_at": "2026-01-06T09:30:00-05:00",
        "source": "crm-export",
        "rep_id": "Ana Ruiz",
        "team_id": "Mara Lind",
        "activity_type": "call",
        "direction": "outbound",
        "deal_id": "OPP-001",
        "customer_id": "Acme",
    }
    assert keys[0] == "OPP-001"
    rows = kpi_rows(events)
    # call 3 + email 1 + meeting 8 in January; the inbound call 3 in February; demo 8 in March
    assert month_values(rows, "activity_points") == {
        "2026-01-01": 12,
        "2026-02-01": 3,
        "2026-03-01": 8,
    }
    assert month_values(rows, "outbound_contacts") == {"2026-01-01": 2}


def test_leads_and_their_checklist():
    summary, events, _keys = run(EXAMPLES / "leads.csv", EXAMPLES / "leads.mapping.yaml", "leads")
    assert dict(summary.events) == {"lead.created": 3, "lead.qualification_assessed": 2}
    assessed = [e for e in events if e["event_type"] == "lead.qualification_assessed"]
    assert [e["checklist"] for e in assessed] == [
        {"budget": True, "authority": True, "need": True},
        {"budget": True, "authority": False, "need": True},
    ]
    created = [e for e in events if e["event_type"] == "lead.created"]
    assert [e["channel"] for e in created] == [
        "trade-show:expo-jan",
        "inbound-web",
        "outbound-list",
    ]
    rows = kpi_rows(events)
    assert month_values(rows, "qualified_leads") == {"2026-01-01": 1}
    assert month_values(rows, "leads_created") == {"2026-01-01": 2, "2026-02-01": 1}


def test_a_changed_checklist_in_a_later_export_is_a_new_assessment(tmp_path):
    later = tmp_path / "leads.csv"
    later.write_text(
        (EXAMPLES / "leads.csv")
        .read_text()
        .replace("inbound-web,01/08/2026,yes,no,yes", "inbound-web,01/08/2026,yes,yes,yes")
    )
    mapping = tmp_path / "leads.mapping.yaml"
    mapping.write_text((EXAMPLES / "leads.mapping.yaml").read_text())
    (tmp_path / "sales_teams.csv").write_text((EXAMPLES / "sales_teams.csv").read_text())
    _s, first, _k = run(EXAMPLES / "leads.csv", EXAMPLES / "leads.mapping.yaml", "leads")
    _s, second, _k = run(later, mapping, "leads")
    new = {e["event_id"] for e in second} - {e["event_id"] for e in first}
    assert [e["lead_id"] for e in second if e["event_id"] in new] == ["L-2"]


def test_event_ids_are_uuid5_of_length_prefixed_parts():
    import uuid

    from kpiflow.streams.crm_import.event_ids import NAMESPACE, id_name

    for parts in (("crm", "deal", "OPP-1", "opened"), ("", "", "", ""), ("a:b", "ü", "1:2", "x")):
        assert event_id(*parts) == str(uuid.uuid5(NAMESPACE, id_name(*parts)))
    assert id_name("a", "b:1", "c", "d") != id_name("a:b", "1", "c", "d")
    assert event_id("crm", "deal", "1", "opened") != event_id("crm", "deal", "1", "stage:won")
