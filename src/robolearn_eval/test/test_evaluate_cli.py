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
    ],
)
def test_bad_arguments_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
