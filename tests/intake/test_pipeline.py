"""``grader intake`` builds a submissions folder ``grader grade`` understands, with a manifest of
when each student handed in and every anomaly; a refused zip writes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import __version__, results
from grader.batch.local import grade_batch
from grader.cli import main
from grader.course import load_course
from grader.engine.grade import fingerprint
from grader.errors import SubmissionError, UsageError
from grader.intake import ArchiveError, run_intake
from grader.intake.archives import entry_name
from grader.results import SubmissionResult
from grader.submissions import discover

REPO = Path(__file__).parents[2]
FORM = REPO / "examples" / "form"


@pytest.fixture(scope="module")
def course():
    return load_course(FORM / "course.toml")


@pytest.fixture(scope="module")
def intake(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("intake") / "entregas"
    manifest = run_intake(course, "tp1", form=FORM / "respuestas.csv", uploads=FORM / "uploads.zip",
                          roster=FORM / "padron.csv", out=out)
    return out, manifest


def test_one_file_per_student_named_by_padron_plus_the_manifests(intake):
    out, _ = intake
    assert sorted(p.name for p in out.iterdir()) == ["100001.ipynb", "100002.py", "100003.ipynb",
                                                     "100005.ipynb", "intake.json", "intake.md"]
    assert (out / "100002.py").read_bytes() == (REPO / "examples/class/tp1/bruno_diaz/tp1.py").read_bytes()
    notebook = json.loads((out / "100001.ipynb").read_text())
    assert any("drive.mount" in "".join(c["source"]) for c in notebook["cells"])  # the final one


def test_the_manifest_says_who_handed_in_what_and_when(intake):
    out, _ = intake
    data = json.loads((out / "intake.json").read_text())
    assert data["schema"] == "grader.intake/1"
    assert [(s["student"], s["submitted_at"], s["original_file"].rsplit("/", 1)[1], s["response_row"])
            for s in data["students"]] == [
        ("100001", "2026-09-11T23:05:10-03:00", "tp1 - Ana García.ipynb", 5),
        ("100002", "2026-09-13T10:15:00-03:00", "tp1 - Bruno Díaz.py", 7),
        ("100003", "2026-09-12T18:30:12-03:00", "TP1 final - Carla López.ipynb", 6),
        ("100005", "2026-09-11T20:00:31-03:00", "tp1 - Gabriela Sosa.ipynb", 3)]
    bruno = data["students"][1]
    assert (bruno["name"], bruno["email"], bruno["form_student_id"], bruno["in_roster"]) == (
        "Díaz, Bruno", "bdiaz@fi.uba.ar", "10002", True)


def test_every_anomaly_is_in_the_manifest_and_the_report(intake):
    out, manifest = intake
    found = sorted((a.kind, a.student) for a in manifest.anomalies)
    assert found == [("corrupt_file", "100005"), ("id_mismatch", "100002"), ("no_submission", "100004"),
                     ("no_submission", "100006"), ("superseded", "100001"), ("superseded", "100001"),
                     ("unmatched_file", ""), ("unmatched_response", "100004")]
    data = json.loads((out / "intake.json").read_text())
    assert [set(a) for a in data["anomalies"]] == [{"student", "tp", "kind", "detail"}] * len(found)
    report = (out / "intake.md").read_text()
    for anomaly in manifest.anomalies:
        assert anomaly.detail in report
    assert "## Anomalías (8)" in report
    assert ("`__MACOSX/Entrega TP1 (File responses)/Notebook o script (File responses)/"
            "._tp1 - Ana García.ipynb`") in report


def test_grade_finds_each_submission_with_its_time_and_skips_the_manifests(intake):
    out, _ = intake
    found, skipped = discover(out, "tp1")
    assert [(s.student, s.submitted_at) for s in found] == [
        ("100001", "2026-09-11T23:05:10-03:00"), ("100002", "2026-09-13T10:15:00-03:00"),
        ("100003", "2026-09-12T18:30:12-03:00"), ("100005", "2026-09-11T20:00:31-03:00")]
    assert skipped == []


def test_a_broken_manifest_stops_grading_with_a_clear_error(intake, tmp_path):
    out = tmp_path / "entregas"
    shutil.copytree(intake[0], out)
    (out / "intake.json").write_text('{"students": [{"file": "100001.ipynb", "submitted_at": "ayer"}]}')
    with pytest.raises(SubmissionError, match=r"100001.ipynb: submitted_at 'ayer' no es una fecha ISO "
                                              r"8601 con zona horaria; volvé a correr 'grader intake'"):
        discover(out, "tp1")
    (out / "intake.json").write_text("{")
    with pytest.raises(SubmissionError, match="no se puede leer el manifiesto"):
        discover(out, "tp1")


def test_a_second_intake_replaces_the_first(course, intake, tmp_path):
    out = tmp_path / "entregas"
    shutil.copytree(intake[0], out)
    form = tmp_path / "respuestas.csv"
    lines = (FORM / "respuestas.csv").read_text(encoding="utf-8-sig").splitlines()
    form.write_text("\n".join(line for line in lines if "Bruno" not in line), encoding="utf-8")
    manifest = run_intake(course, "tp1", form=form, uploads=FORM / "uploads.zip", out=out)
    assert [s.student for s in manifest.students] == ["100001", "100003", "100005"]
    assert not (out / "100002.py").exists()
    assert manifest.roster == ""  # none was given this time: nobody is "not in the roster"


def test_a_folder_intake_did_not_write_is_left_alone(course, tmp_path):
    out = tmp_path / "entregas"
    out.mkdir()
    (out / "ana.py").write_text("x = 1")
    with pytest.raises(UsageError, match="no está vacía y no es una carpeta de 'grader intake'"):
        run_intake(course, "tp1", form=FORM / "respuestas.csv", uploads=FORM / "uploads.zip", out=out)
    assert [p.name for p in out.iterdir()] == ["ana.py"]


def test_a_folder_of_uploads_gives_the_same_submissions(course, intake, tmp_path):
    uploads = tmp_path / "descargado"
    with zipfile.ZipFile(FORM / "uploads.zip") as archive:  # as unzip does, keeping the dates
        for info in archive.infolist():
            target = uploads / entry_name(info)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            stamp = dt.datetime(*info.date_time).timestamp()
            os.utime(target, (stamp, stamp))
    manifest = run_intake(course, "tp1", form=FORM / "respuestas.csv", uploads=uploads,
                          roster=FORM / "padron.csv", out=tmp_path / "entregas")
    assert manifest.students == intake[1].students


def test_a_refused_zip_grades_nothing_and_says_why(course, tmp_path):
    bad = tmp_path / "uploads.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("tp1 - Ana García.py", "x = 1")
        archive.writestr("../../tp1 - Eve.py", "x = 1")
    runner = CliRunner()
    run = runner.invoke(main, ["intake", "tp1", "--form", str(FORM / "respuestas.csv"), "--uploads",
                               str(bad), "--out", str(tmp_path / "entregas"), "--course",
                               str(FORM / "course.toml")])
    assert run.exit_code == 1
    assert "uploads.zip rechazado: la entrada '../../tp1 - Eve.py' tiene un componente '..'" in run.output
    assert not (tmp_path / "entregas").exists()
    with pytest.raises(ArchiveError):
        run_intake(course, "tp1", form=FORM / "respuestas.csv", uploads=bad, out=tmp_path / "x")


def test_the_cli_uses_the_course_roster_and_prints_every_anomaly(tmp_path):
    run = CliRunner().invoke(main, ["intake", "tp1", "--form", str(FORM / "respuestas.csv"),
                                    "--uploads", str(FORM / "uploads.zip"), "--out",
                                    str(tmp_path / "entregas"), "--course", str(FORM / "course.toml")])
    assert run.exit_code == 0, run.output
    assert "no_submission: Torres, Hernán (100006) no tiene entrega de tp1" in run.output
    assert "4 entregas de tp1 (6 respuestas, 8 anomalías)" in run.output


def test_a_reused_result_takes_the_new_submission_time_without_regrading(mini_course, tmp_path):
    folder = tmp_path / "entregas"
    folder.mkdir()
    (folder / "ana.py").write_text("x = 1\n")
    course = load_course(mini_course / "course.toml")
    out = tmp_path / "res"
    previous = SubmissionResult(
        student="ana", tp="tp1", submission_file="ana.py",
        submission_sha256=hashlib.sha256(b"x = 1\n").hexdigest(), grader_version=__version__,
        fingerprint=fingerprint(course, course.tp("tp1")), checks=[], exercises=[], earned=0.0,
        possible=3.0, score=0.0, submitted_at="2026-09-10T10:00:00-03:00")
    results.save(previous, out / "tp1" / "ana.json")
    (folder / "intake.json").write_text(json.dumps({"students": [
        {"file": "ana.py", "submitted_at": "2026-09-12T09:30:00-03:00"}]}))
    summary = grade_batch(mini_course / "course.toml", "tp1", folder, out, jobs=1)
    assert (summary.reused, summary.graded) == (1, 0)
    assert results.load(out / "tp1" / "ana.json").submitted_at == "2026-09-12T09:30:00-03:00"


def test_the_example_zip_is_what_its_script_builds():
    run = subprocess.run([sys.executable, "examples/form/make_uploads.py", "--check"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
