"""The report table of the admin, rendered without the database: rows, escaping, the deciding step, links."""

from inbound.pipeline.report_table import report_rows, report_table

REPORT = {
    "outcome": "created",
    "reason": "created ABC-1",
    "steps": [
        {"step": "catch_address", "reason": "sent to a catch address"},
        {"step": "attachments", "reason": "<script>alert(1)</script>", "details": {"dropped": [{"filename": "<b>"}]}},
        {"step": "action", "reason": "created ABC-1", "outcome": "created", "details": {"issue": "ABC-1"}},
    ],
}


def test_one_row_per_step_with_its_description_and_the_deciding_step_marked() -> None:
    rows = report_rows(REPORT)
    assert [r["step"] for r in rows] == ["catch_address", "attachments", "action"]
    assert rows[0]["description"].startswith("Only mail sent to one of the profile's catch addresses")
    assert [r["deciding"] for r in rows] == [False, False, True]
    assert [r["verdict"] for r in rows] == ["go on", "go on", "created"]


def test_hostile_reasons_and_details_are_escaped() -> None:
    html = report_table(REPORT)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count('class="jemh-report-deciding"') == 1
    deciding = html.split('class="jemh-report-deciding"')[1].split("</tr>")[0]
    assert "created ABC-1" in deciding


def test_an_issue_key_links_to_the_issue() -> None:
    html = report_table(REPORT, lambda key: f"/issues/{key}/?a=1&b=2")
    assert '<a href="/issues/ABC-1/?a=1&amp;b=2">ABC-1</a>' in html


def test_a_failed_step_is_the_deciding_one() -> None:
    failed = {
        "failed_step": "users",
        "error": "unexpected error: KeyError",
        "steps": [
            {"step": "routing", "reason": "default"},
            {"step": "users", "reason": "failed: KeyError", "outcome": "error", "details": {"error": "KeyError"}},
        ],
    }
    rows = report_rows(failed)
    assert rows[-1]["deciding"] and rows[-1]["verdict"] == "error"
    assert "failed_step" in report_table(failed)


def test_no_report() -> None:
    assert report_rows({}) == [] and "<table" in report_table(None)


def test_parse_notes_and_defects_are_in_the_summary_line() -> None:
    # issue 16: an admin sees what the parser repaired ("missing final boundary") and what it lost
    report = {
        "outcome": "created",
        "parse_notes": "more than 500 MIME parts; the rest not decoded",
        "parse_defects": ["missing final boundary", "lines before the header section skipped"],
    }
    html = report_table(report)
    summary = html.split("</table>")[1]
    assert "<strong>parse_defects</strong>: missing final boundary; lines before the header section skipped" in summary
    assert "<strong>parse_notes</strong>: more than 500 MIME parts" in summary
