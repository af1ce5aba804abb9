"""The decision-cycle coordinator: one cycle per simulated hour over the real mesh (NATS, A2A,
MCP through the gateway), an auto-reviewer for unattended runs, and the week's report.
See docs/simulation.md.
"""

from agents._peers import TaskAnswer
from mesh.coordinator._agents import AgentCallError, AgentClients, EscalationDesk
from mesh.coordinator._report import WeekReport
from mesh.coordinator._review import REVIEW_RULES, AutoReviewer, Review, ReviewRule
from mesh.coordinator._week import ROSTER, WeekOptions, WeekRun, skill_request

__all__ = [
    "REVIEW_RULES",
    "ROSTER",
    "AgentCallError",
    "AgentClients",
    "AutoReviewer",
    "EscalationDesk",
    "Review",
    "ReviewRule",
    "TaskAnswer",
    "WeekOptions",
    "WeekReport",
    "WeekRun",
    "skill_request",
]
