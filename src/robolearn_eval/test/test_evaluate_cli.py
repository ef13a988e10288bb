"""evaluate refuses bad arguments with a message that names the problem, before starting any node."""

from __future__ import annotations

import pytest

from robolearn_eval.evaluate import main


@pytest.mark.parametrize(
    ('argv', 'message'),
    [
        (['--episodes', '3'], 'one of the arguments --checkpoint --expert is required'),
        (['--checkpoint', '/tmp', '--seed', '0'], 'held-out seeds only'),
        (['--checkpoint', '/nonexistent-ckpt'], 'is not a policy checkpoint'),
        (['--checkpoint', 'config, /nonexistent-2'], 'config is not a policy checkpoint'),  # each member is checked
        (['--expert', '--threshold', '1.5'], 'outside (0, 1]'),
        (['--expert', '--episodes', '0'], '--episodes must be >= 1'),
        (['--expert', '--seed', '4999', '--episodes', '2'], 'straddle'),
        (['--expert', '--seed', '12000'], 'outside the documented ranges'),
        (['--expert', '--width', '2000'], 'camera size'),
        (['--expert', '--inference-noise', 'zero'], 'with --checkpoint'),
        (['--checkpoint', 'src', '--inference-noise', 'sometimes'], 'one of fresh, episode, zero'),
    ],
)
def test_bad_arguments_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The nodes run in the graph's own working folder: a relative --record went there (and was deleted with it)."""
    from robolearn_eval.evaluate import parse

    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'config.json').write_text('{}')
    monkeypatch.chdir(tmp_path)
    args = parse(['--checkpoint', 'a, b'])
    assert args.checkpoint == f'{tmp_path / "a"},{tmp_path / "b"}'
    assert parse(['--expert', '--seed', '0', '--record', 'data/demos']).record == tmp_path / 'data' / 'demos'
