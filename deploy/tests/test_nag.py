"""cdk-nag AwsSolutions over both stages: zero unacknowledged findings, and a finding does fail
synthesis (so the gate can fail)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app import build, make_app
from aws_cdk import aws_s3 as s3
from regenzet_deploy.nag import add_checks


def _synth_with_a_careless_bucket(tmp_path: Path) -> None:
    app = make_app(outdir=str(tmp_path))
    add_checks(app)
    stacks = build(app, stages=("dev",))
    # A bucket with none of the protections: several AwsSolutions rules must fire.
    s3.Bucket(stacks["dev"], "CarelessBucket")
    app.synth()


def test_both_stages_pass_cdk_nag_with_every_finding_acknowledged(
    stacks: dict[str, object],
) -> None:
    # The session fixture synthesised both stages with the checks; it would have raised.
    assert sorted(stacks) == ["dev", "prod"]


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="(?i)validation"):
        _synth_with_a_careless_bucket(tmp_path)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert "AwsSolutions-S1" in json.dumps(report)
