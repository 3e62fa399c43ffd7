"""Reading batou's output: the parity tests compare the components each tool updated, in order.

batou's main process prints while its deployment prints, and a line may get its newline only
after another writer's whole line. The output below is what batou 2.7.1 printed on a busy
machine (shortened); reading it wrongly once glued a diff line onto a component path.
"""

from __future__ import annotations

from tests.support.parity_runs import BATOU_UPDATE, DEPLOYD_UPDATE, _updated

INTERLEAVED = (
    "⚪ localhost: Scheduling component independent ...\n"
    "🚀 localhost: Independent > File('work/independent/a.txt') > Presence('a.txt')\n"
    "🚀 localhost: Independent > File('work/independent/a.txt') > Content('a.txt')"
    "⚪ localhost: Scheduling component broken ...\n"
    "  independent.txt ---\n"
    "⚪ localhost: Scheduling component later ...\n"
    "  independent.txt +++\n"
    "  independent.txt @@ -0,0 +1 @@\n"
    "\n"
    "🚀 localhost: Broken > File('work/broken/before.txt') > Presence('before.txt')\n"
)


def test_a_scheduling_line_inside_a_component_line_is_taken_out_and_the_path_kept_whole() -> None:
    assert _updated(INTERLEAVED, BATOU_UPDATE) == (
        "Independent > File('work/independent/a.txt') > Presence('a.txt')",
        "Independent > File('work/independent/a.txt') > Content('a.txt')",
        "Broken > File('work/broken/before.txt') > Presence('before.txt')",
    )


def test_deployd_lines_are_whole_lines_after_the_host() -> None:
    output = "apply: starting\nlocalhost > App > File('a')\nnot localhost > x\nlocalhost > App\n"
    assert _updated(output, DEPLOYD_UPDATE) == ("App > File('a')", "App")
