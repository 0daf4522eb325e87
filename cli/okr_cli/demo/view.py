"""The live picture: a header with the figures, and the tree of company, divisions and teams
with progress bars; a team's people are summarised on its line (a thousand lines would not fit
a terminal). Drawn from what the board holds, which the rollup updates keep current."""

from __future__ import annotations

from dataclasses import dataclass

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from okr_cli.demo.build import Built
from okr_cli.demo.company import Goal
from okr_cli.demo.play import Board
from okr_shared.contracts.objectives import ObjectiveLevel

BAR_WIDTH = 12
TEAM_TITLE_WIDTH = 18


def colour(percent: float) -> str:
    """Red below 40 %, amber from 40 to 70 % (both included), green above: as the dashboard's
    grades.js."""
    if percent < 40:
        return "red"
    return "yellow" if percent <= 70 else "green"


def bar(percent: float, width: int = BAR_WIDTH) -> Text:
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    text = Text("█" * filled, style=colour(percent))
    text.append("░" * (width - filled), style="grey37")
    text.append(f" {percent:5.1f}%", style=colour(percent))
    return text


@dataclass
class TreeView:
    built: Built
    board: Board

    def __post_init__(self) -> None:
        goals = self.built.company.goals
        self.children: dict[int, list[Goal]] = {}
        for goal in goals:
            if goal.parent is not None:
                self.children.setdefault(goal.parent, []).append(goal)
        self.top = goals[0]

    def percent(self, goal: Goal) -> float:
        objective = self.built.objectives.get(goal.key)
        return 0.0 if objective is None else self.board.percent(objective)

    def render(self, status: str) -> RenderableType:
        return Group(self.header(status), self.tree())

    def header(self, status: str) -> Text:
        b = self.board
        latencies = b.latency_p50_p99_ms()
        latency = (
            "-" if latencies is None else f"p50 {latencies[0]:.0f} ms  p99 {latencies[1]:.0f} ms"
        )
        text = Text(f"{status}\n", style="bold")
        text.append(
            f"{b.values_per_s():6.1f} values/s   latency publish→rollup {latency}   "
            f"sent {b.sent:,}   rollups {b.rollups:,}   "
            f"{len(self.built.objectives):,} objectives  {len(self.built.kpis):,} KPIs"
        )
        if b.failed:
            text.append(f"   publish failures {b.failed:,}", style="red")
        return text

    def tree(self) -> Tree:
        root = Tree(self._line(self.top, self.top.title))
        for division in self.children.get(self.top.key, []):
            node = root.add(self._line(division, division.title))
            teams = [self._team(team) for team in self.children.get(division.key, [])]
            if teams:
                node.add(Columns(teams, padding=(0, 3)))
        return root

    def _line(self, goal: Goal, title: str) -> Text:
        line = bar(self.percent(goal))
        line.append(f"  {title}")
        return line

    def _team(self, team: Goal) -> Text:
        name = team.title.split(":")[0][:TEAM_TITLE_WIDTH].ljust(TEAM_TITLE_WIDTH)
        people = [
            g for g in self.children.get(team.key, []) if g.level is ObjectiveLevel.INDIVIDUAL
        ]
        on_track = sum(1 for g in people if self.percent(g) >= 70)
        line = Text(f"{name} ")
        line.append_text(bar(self.percent(team), width=8))
        line.append(f"  {on_track}/{len(people)} people ≥70%", style="grey62")
        return line
