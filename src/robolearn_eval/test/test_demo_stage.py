"""make demo's stage runner: a stage's output reaches its log and its JSON report, whatever its size."""

from __future__ import annotations

import json
import sys
import threading

from robolearn_eval.demo import Stage

# 200 KB of report lines on stdout before any stderr: more than a pipe holds (64 KiB on Linux)
LOUD = ("import json, sys\n"
        "for i in range(2000): print(json.dumps({'episode': i, 'pad': 'x' * 90}))\n"
        "print(json.dumps({'episodes': 2000}))\n"
        "sys.stderr.write('progress line\\n')\n")


def test_a_stage_with_a_long_report_does_not_block(tmp_path, capsys) -> None:
    stage, finished = Stage(tmp_path, {}), []
    runner = threading.Thread(target=lambda: finished.append(stage.run('loud', [sys.executable, '-c', LOUD])),
                              daemon=True)
    runner.start()
    runner.join(60)
    assert finished, 'the stage runner blocked: the stage filled its stdout pipe while stderr was read'
    (result,) = finished
    assert result['done'] and result['result'] == {'episodes': 2000}
    log = (tmp_path / 'loud.log').read_text()
    assert 'progress line' in log and log.count('"pad"') == 2000
    assert json.loads((tmp_path / 'state.json').read_text())['loud']['done']
