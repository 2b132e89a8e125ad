"""The admin API against a running server (uvicorn, in-process, free port) on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from db.jobs import SUCCEEDED, Job
from db.models import AuditEvent, Instance
from tests.dicomnode.admin.conftest import RunningAdmin
from tests.dicomnode.admin.seed import AUDIT_ROWS, SR_UID, STUDY_1, STUDY_2, T0

POST_HEADERS = {"X-Requested-By": "tests"}


def audit_rows(admin: RunningAdmin, event_type: str) -> list[AuditEvent]:
    with admin.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        return list(session.scalars(query))


def test_audit_filters_and_cursor_pages(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    admin = start_admin(database_url)
    with admin.client() as http:
        everything = http.get("/api/audit", params={"limit": 1000}).json()
        assert everything["next_cursor"] is None and len(everything["items"]) == AUDIT_ROWS
        keys = [(row["at"], row["id"]) for row in everything["items"]]
        assert keys == sorted(keys, reverse=True)

        seen, cursor, pages = [], None, 0
        while True:  # 24 rows in pages of 5, 12 of them at the same instant
            page = http.get("/api/audit", params={"limit": 5, **({"cursor": cursor} if cursor else {})}).json()
            seen += [row["id"] for row in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 5 and seen == [row["id"] for row in everything["items"]]

        def ids(**params: str) -> list[int]:
            response = http.get("/api/audit", params=params)
            assert response.status_code == 200, response.text
            return [row["id"] for row in response.json()["items"]]

        assert len(ids(event="security", calling_ae="EVIL")) == 10
        assert len(ids(outcome="failure")) == 1
        assert len(ids(study=STUDY_1)) == 12
        # since inclusive, until exclusive, zone-less times are UTC (as in `dicomnode audit`)
        assert len(ids(event="security", since="2026-03-01T08:10:00", until="2026-03-01T08:25:00Z")) == 3
        assert ids(calling_ae="NOBODY") == []
        assert http.get("/api/audit", params={"event": "bogus"}).status_code == 422
        assert http.get("/api/audit", params={"cursor": "not-a-cursor"}).status_code == 400


def test_audit_csv_export_follows_link(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    admin = start_admin(database_url)
    with admin.client(headers={"Accept": "text/csv"}) as http:
        first = http.get("/api/audit", params={"event": "security", "limit": 6})
        assert first.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(first.text)))
        assert len(rows) == 6 and {r["actor_ae"] for r in rows} == {"EVIL"}
        assert list(rows[0])[:4] == ["id", "at", "event_type", "outcome"]
        assert first.headers["x-next-cursor"] and 'rel="next"' in first.headers["link"]
        next_url = first.headers["link"].split(">")[0].lstrip("<")
        rest = list(csv.DictReader(io.StringIO(http.get(next_url).text)))
        assert len(rest) == 4 and "x-next-cursor" not in http.get(next_url).headers
        assert not {r["id"] for r in rows} & {r["id"] for r in rest}


def test_studies_jobs_and_outbox(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    admin = start_admin(database_url)
    with admin.sessions.begin() as session:  # a third study, received last, never analysed
        session.add(Instance(sop_instance_uid="1.2.3.4.1", sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
                             study_uid="1.2.3.4", series_uid="1.2.3.4.0", modality="CT",
                             transfer_syntax="1.2.840.10008.1.2.1",
                             path="/nonexistent", size=10, received_at=T0.replace(hour=12)))
    with admin.client() as http:
        studies = http.get("/api/studies").json()["items"]
        assert [s["study_uid"] for s in studies] == ["1.2.3.4", STUDY_2, STUDY_1]
        fresh, failed, read = studies
        assert fresh["result"]["state"] == "not analysed" and fresh["calling_aes"] == []
        assert failed["result"]["state"] == "failed" and failed["result"]["ich"] is None
        assert failed["calling_aes"] == ["CT02"] and failed["instances"] == 2 and failed["modalities"] == ["CT"]
        assert read["result"]["ich"] is True and read["result"]["probabilities"]["any"] == 0.93
        assert read["series"] == 1 and read["last_received"] == "2026-03-01T08:00:02Z"
        assert "PatientName" not in str(studies) and "patient" not in str(studies).lower()
        (sr,) = read["result"]["objects"]
        assert sr["kind"] == "SR" and sr["sop_instance_uid"] == SR_UID
        download = http.get(sr["href"])
        assert download.status_code == 200 and download.headers["content-type"] == "application/dicom"
        assert download.content[128:132] == b"DICM"
        assert http.get(f"/api/studies/{STUDY_1}/objects/..%2f..%2fetc").status_code in (400, 404)

        page = http.get("/api/studies", params={"limit": 2}).json()
        rest = http.get("/api/studies", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        assert [s["study_uid"] for s in page["items"] + rest["items"]] == ["1.2.3.4", STUDY_2, STUDY_1]
        assert rest["next_cursor"] is None
        assert http.get(f"/api/studies/{STUDY_2}").json()["result"]["job_id"] == admin.seeded.failed_job

        jobs = http.get("/api/jobs", params={"state": "failed"}).json()["items"]
        assert [j["id"] for j in jobs] == [admin.seeded.failed_job] and jobs[0]["error"].startswith("AnalysisError")
        assert http.get("/api/jobs", params={"state": "bogus"}).status_code == 422
        outbox = http.get("/api/outbox", params={"state": "dead"}).json()["items"]
        assert [(o["id"], o["destination"], o["kind"]) for o in outbox] == [(admin.seeded.dead_entry, "pacs", "SR")]
        assert "path" not in outbox[0]


def test_retry_and_resend_are_audited(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    admin = start_admin(database_url)
    job, entry = admin.seeded.failed_job, admin.seeded.dead_entry
    with admin.client(headers=POST_HEADERS) as http:
        retried = http.post(f"/api/jobs/{job}/retry")
        assert retried.status_code == 200 and retried.json()["state"] == "queued"
        again = http.post(f"/api/jobs/{job}/retry")
        assert again.status_code == 409 and "queued" in again.json()["detail"]
        assert http.post("/api/jobs/99999/retry").status_code == 404
        resent = http.post(f"/api/outbox/{entry}/resend")
        assert resent.status_code == 200 and resent.json()["state"] == "pending"
    job_rows = [e for e in audit_rows(admin, "job") if e.outcome == "retried"]
    assert [e.detail["job_id"] for e in job_rows] == [job]
    admin_rows = audit_rows(admin, "admin")
    assert [(e.outcome, e.detail["status"], e.actor_host) for e in admin_rows] == [
        ("success", 200, "127.0.0.1"), ("failure", 409, "127.0.0.1"), ("failure", 404, "127.0.0.1"),
        ("success", 200, "127.0.0.1"),
    ]
    assert admin_rows[0].study_uid == STUDY_2 and admin_rows[3].sop_instance_uid == SR_UID
    assert [e.detail["via"] for e in audit_rows(admin, "delivery")] == ["admin-api"]


def test_token_rules_on_loopback(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    token = "s3cret-token-for-tests-0123456789"
    admin = start_admin(database_url, token=token)
    job = admin.seeded.failed_job
    with admin.client() as http:
        assert http.get("/api/jobs").status_code == 200  # loopback GET needs no token
        refused = http.post(f"/api/jobs/{job}/retry", headers=POST_HEADERS)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        wrong = http.post(f"/api/jobs/{job}/retry", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = http.get("/api/jobs", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert basic.status_code == 401
        ok = http.post(f"/api/jobs/{job}/retry", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    refusals = audit_rows(admin, "security")[-3:]
    assert [(e.outcome, e.detail["source"], e.detail["status"]) for e in refusals] == [
        ("rejected", "admin-api", 401)] * 3
    assert all(token not in str(e.detail) + e.message for e in refusals)
    (action,) = audit_rows(admin, "admin")
    assert action.outcome == "success" and action.detail["authenticated"] is True


def test_health_metrics_and_openapi(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    admin = start_admin(database_url)
    with admin.client() as http:
        health = http.get("/health")
        assert health.status_code == 200 and health.json()["checks"]["database"] == {"ok": True}
        assert health.json()["checks"]["disk"]["ok"] is True
        text = http.get("/metrics").text
        for line in (
            "dicomnode_up 1.0",
            'dicomnode_associations_total{outcome="released"} 1.0',
            "dicomnode_instances_received_total 5.0",
            "dicomnode_received_bytes_total 5000.0",
            "dicomnode_instances_rejected_total 1.0",
            "dicomnode_security_alerts_total 10.0",
            'dicomnode_jobs{state="failed"} 1.0',
            'dicomnode_jobs{state="running"} 0.0',
            'dicomnode_job_stage_seconds_bucket{le="0.5",stage="inference"} 1.0',
            'dicomnode_job_stage_seconds_count{stage="load"} 2.0',
            'dicomnode_inference_seconds_bucket{le="0.25"} 0.0',
            "dicomnode_inference_seconds_count 1.0",
            'dicomnode_outbox_entries{state="dead"} 1.0',
        ):
            assert line in text, line
        schema = http.get("/openapi.json").json()
        assert {"/health", "/metrics", "/api/audit", "/api/studies", "/api/jobs", "/api/jobs/{job_id}/retry",
                "/api/outbox", "/api/outbox/{entry_id}/resend"} <= set(schema["paths"])
        assert "HTTPBearer" in schema["components"]["securitySchemes"]
        assert http.get("/docs").status_code in (401, 404)  # no CDN-backed docs page


def test_a_study_shows_one_result_per_pipeline(database_url: str, start_admin: Callable[..., RunningAdmin]) -> None:
    admin = start_admin(database_url)
    study, t = "1.2.3.5", T0.replace(hour=13)
    with admin.sessions.begin() as session:
        for n, (series, modality) in enumerate((("1.2.3.5.1", "MR"), ("1.2.3.5.2", "MR"))):
            session.add(Instance(sop_instance_uid=f"{series}.1", sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
                                 study_uid=study, series_uid=series, modality=modality,
                                 transfer_syntax="1.2.840.10008.1.2.1", path="/nonexistent", size=10,
                                 received_at=t + timedelta(seconds=n)))
        common = {"study_uid": study, "version": 1, "ready_rule": "released", "max_attempts": 3, "detail": {},
                  "instance_count": 1, "max_instance_id": 1, "last_received_at": t}
        session.add_all([
            Job(series_uid="1.2.3.5.1", pipeline="cmb_swi", inputs=["1.2.3.5.1", "1.2.3.5.2"], state=SUCCEEDED,
                result={"positive": True, "headline": "cerebral microbleeds: 2", "count": 2,
                        "model": {"name": "cmb-resnet3d", "version": "1.0.0"}}, **common),
            Job(series_uid="1.2.3.5.2", pipeline="none", state="skipped",
                reason="no enabled pipeline reads this series (cmb_swi: phase images, read with 1.2.3.5.1)", **common),
        ])
    with admin.client() as http:
        result = http.get(f"/api/studies/{study}").json()["result"]
        assert set(result["pipelines"]) == {"cmb_swi"}  # the "none" record is not a result
        cmb = result["pipelines"]["cmb_swi"]
        assert cmb["positive"] is True and cmb["ich"] is None and cmb["headline"] == "cerebral microbleeds: 2"
        assert result["pipeline"] == "cmb_swi" and result["ich"] is None  # no hemorrhage verdict for an MR study
        ich_study = http.get(f"/api/studies/{STUDY_1}").json()["result"]
        assert set(ich_study["pipelines"]) == {"ich_ct"} and ich_study["ich"] is True
        jobs = {j["pipeline"]: j for j in http.get("/api/jobs", params={"study": study}).json()["items"]}
        assert jobs["cmb_swi"]["inputs"] == ["1.2.3.5.1", "1.2.3.5.2"] and jobs["none"]["state"] == "skipped"
