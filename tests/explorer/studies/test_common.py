"""What every study file shares: reading it safely, its name, split points, the analog-link rule."""
import pytest

from explorer.cli import main
from explorer.studies.common import check_name, read_study, split_index
from explorer.studies.search import resolve_search
from splitbase import StudyError
from tests.explorer.search.search_cases import STUDY, write


@pytest.mark.parametrize("text, message", [
    ("name: a\nname: b\n", "line 2: not valid YAML (key 'name' appears twice)"),
    ("", "a study file is a mapping of keys, got an empty file"),
    ("- 1\n- 2\n", "a study file is a mapping of keys, got list"),
    ("name: !!python/object/apply:os.system [echo hi]\n", "not valid YAML (could not determine a constructor"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_a_study_file_is_a_strict_safe_mapping(tmp_path, text, message):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(StudyError) as error:
        read_study(path)
    assert message in str(error.value)


def test_a_folder_or_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["search", str(tmp_path)]) == 2
    assert "is a folder, not a study file" in capsys.readouterr().err
    assert main(["search", str(tmp_path / "none.yaml")]) == 2
    assert "no such study file" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "a..b", "sp ace"])
def test_a_study_name_cannot_leave_its_folder(name):
    with pytest.raises(StudyError, match="not a safe study name"):
        check_name(name)


def test_a_search_study_with_an_unsafe_name_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, {**STUDY, "name": "../../outside"})
    assert main(["search", str(path)]) == 2
    assert "name: '../../outside' is not a safe study name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_split_points_by_name_or_index():
    names = ("input", "conv1", "pool1", "fc")
    assert [split_index(names, s, "s") for s in ("input", "conv1", "fc", -1, 2)] == [-1, 0, 2, -1, 2]
    with pytest.raises(StudyError, match="s: split 3 is outside -1..2"):
        split_index(names, 3, "s")
    with pytest.raises(StudyError, match="s: 'conv9' is not a unit of the model"):
        split_index(names, "conv9", "s")


def test_a_resolved_search_is_not_changed_by_the_command_line(tmp_path):
    path = write(tmp_path, STUDY)
    resolved = resolve_search(path, trials=9)
    assert resolved.study.search.trials == 9 and resolve_search(path).study.search.trials == STUDY["search"]["trials"]
    with pytest.raises(AttributeError):
        resolved.study.search.trials = 3  # frozen: nothing changes a parsed study afterwards
