"""The command line reads well: one line and exit 1 for bad input, every option described,
whole sentences in listings, grammatical messages, aligned columns (issue 11, defect 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regenzet.application.audit import VerificationReport
from regenzet.application.identity import InvalidPrincipalError, Principal
from regenzet.domain.common import Role
from regenzet.entrypoints.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("REGENZET_DATABASE_URL", "REGENZET_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGENZET_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("ttl", ["0", "2592001", "soon"])
def test_a_bad_demo_token_lifetime_is_one_line_and_exit_1(
    ttl: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["auth", "demo", "eva", "--ttl", ttl], capsys)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--ttl" in err
    assert "Usage" not in err


@pytest.mark.parametrize(
    ("command", "described"),
    [
        (["auth", "demo"], "--ttl SECONDS Lifetime in seconds"),
        (["audit", "log"], "Events per page"),
        (["serve"], "TCP port to listen on"),
    ],
)
def test_every_option_has_a_description(
    command: list[str], described: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([*command, "--help"], capsys)
    assert code == 0
    assert described in " ".join(out.split())  # help wraps lines


@pytest.mark.parametrize("command", [[], ["audit"], ["relay"], ["followers"], ["projections"]])
def test_command_listings_never_cut_a_sentence(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run([*command, "--help"], capsys)
    listing = out.split("Commands:", 1)[1]
    assert "..." not in listing
    if not command:
        text = " ".join(listing.split())
        assert "Seed a realistic EV garage through the use cases (safe to run again)." in text


def test_followers_help_says_what_the_followers_are(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["followers", "--help"], capsys)
    text = " ".join(out.split())
    assert "the read models, the audit hash chain, the email policy" in text


@pytest.mark.parametrize(("role", "article"), [(Role.ADVISOR, "an"), (Role.MANAGER, "a")])
def test_role_messages_use_the_right_article(role: Role, article: str) -> None:
    with pytest.raises(InvalidPrincipalError) as err:
        Principal(subject="x", role=role)
    assert str(err.value) == f"{article} {role.value} token needs a staff id"


@pytest.mark.parametrize(
    ("events", "checkpoints", "said"),
    [
        (1, 1, "1 event and 1 signed checkpoint verified"),
        (2, 0, "2 events and 0 signed checkpoints"),
    ],
)
def test_verification_counts_are_singular_or_plural(
    events: int, checkpoints: int, said: str
) -> None:
    report = VerificationReport(
        intact=True,
        first_broken_id=None,
        reason=None,
        started_after=0,
        events_verified=events,
        checkpoints_verified=checkpoints,
        chain_head=events,
        log_head=events,
    )
    assert said in report.summary()


def test_projection_status_columns_line_up_whatever_the_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["projections", "status"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["read", "model", "schema", "position", "head", "lag"]
    assert len(lines) > 3
    # Every column ends where its header ends, however long a read model's name is.
    assert len({len(line) for line in lines}) == 1
    longest = max(len(line.split()[0]) for line in lines[1:])
    assert lines[0].index("schema") > longest
