"""Bad inputs a newcomer hits first: one error line, non-zero exit, nothing left behind."""
import pytest

from _tools import error_lines, load_tool


@pytest.mark.parametrize("args", [["--opset", "12"], ["--params", "missing.params"]], ids=["opset", "params"])
def test_failed_export_leaves_no_empty_output_folder(tmp_path, capsys, export_cli, args):
    out = tmp_path / "new" / "artifacts"
    out.parent.mkdir()
    status = export_cli.main(["--model", "lenet", "--out", str(out), *args])
    assert status == 1
    assert len(error_lines(capsys.readouterr().err)) == 1
    assert not out.exists()


def test_failed_export_keeps_an_existing_output_folder(tmp_path, capsys, export_cli):
    (tmp_path / "keep.txt").write_text("user file")
    status = export_cli.main(["--model", "lenet", "--out", str(tmp_path), "--opset", "99"])
    assert status == 1
    assert len(error_lines(capsys.readouterr().err)) == 1
    assert (tmp_path / "keep.txt").exists()


@pytest.mark.parametrize("flag", ["--classes", "--in-channels", "--input-size", "--triton-max-batch"])
def test_non_positive_shape_flags_are_usage_errors(tmp_path, capsys, export_cli, flag):
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(["--model", "lenet", "--out", str(tmp_path / "out"), flag, "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{flag} takes a positive integer, got 0" in err
    assert not (tmp_path / "out").exists()


def test_train_out_pointing_at_a_file_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a run folder")
    with pytest.raises(SystemExit) as exit_info:
        load_tool("train").main(["--model", "lenet", "--epochs", "1", "--out", str(blocker)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"--out {blocker} is a file" in err
    assert blocker.read_text() == "not a run folder"
