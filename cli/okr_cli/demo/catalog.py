"""What a made-up company is made of: divisions with their teams, objective titles and KPIs
(every division has one KPI of each direction), and people's names."""

from __future__ import annotations

from dataclasses import dataclass

from okr_shared.contracts.kpis import Direction


@dataclass(frozen=True)
class KpiTemplate:
    title: str
    unit: str
    direction: Direction
    baseline: float
    target: float


@dataclass(frozen=True)
class Division:
    name: str
    objective: str
    teams: tuple[str, ...]
    team_goals: tuple[str, ...]
    personal_goals: tuple[str, ...]
    kpis: tuple[KpiTemplate, ...]


INC, DEC = Direction.INCREASE, Direction.DECREASE
ABOVE, BELOW = Direction.MAINTAIN_ABOVE, Direction.MAINTAIN_BELOW

DIVISIONS: tuple[Division, ...] = (
    Division(
        "Sales",
        "Grow new annual recurring revenue by 30 %",
        (
            "Enterprise",
            "Mid-Market",
            "SMB",
            "Partnerships",
            "EMEA",
            "APAC",
            "Inside Sales",
            "Renewals",
        ),
        ("Build a pipeline worth 3x the quota", "Shorten the sales cycle", "Land ten new logos"),
        ("Close my quota", "Run two discovery calls a day", "Grow my top five accounts"),
        (
            KpiTemplate("New ARR", "k€", INC, 0, 500),
            KpiTemplate("Sales cycle", "days", DEC, 60, 40),
            KpiTemplate("Win rate", "%", ABOVE, 0, 25),
            KpiTemplate("Average discount", "%", BELOW, 0, 15),
        ),
    ),
    Division(
        "Engineering",
        "Ship a platform customers can rely on",
        ("Platform", "Payments", "Mobile", "Data", "Infrastructure", "Security", "Search", "DevEx"),
        (
            "Cut the time from merge to production",
            "Reach 99.95 % availability",
            "Retire the v1 API",
        ),
        ("Own the on-call runbook", "Pair weekly with a new hire", "Remove my slowest test"),
        (
            KpiTemplate("Deployments per week", "deploys", INC, 5, 25),
            KpiTemplate("Lead time for changes", "hours", DEC, 72, 12),
            KpiTemplate("Availability", "%", ABOVE, 0, 99.9),
            KpiTemplate("Change failure rate", "%", BELOW, 0, 10),
        ),
    ),
    Division(
        "Operations",
        "Deliver every order on time at lower cost",
        (
            "Logistics",
            "Procurement",
            "Support",
            "Quality",
            "Supply Chain",
            "IT",
            "Facilities",
            "Vendors",
        ),
        (
            "Automate the top ten manual tasks",
            "Halve the support backlog",
            "Renegotiate key contracts",
        ),
        ("Answer tickets within a day", "Document one process a month", "Audit two suppliers"),
        (
            KpiTemplate("Orders shipped on time", "%", INC, 80, 98),
            KpiTemplate("Cost per order", "€", DEC, 12, 8),
            KpiTemplate("Customer satisfaction", "CSAT", ABOVE, 0, 4.5),
            KpiTemplate("Open support tickets", "tickets", BELOW, 0, 200),
        ),
    ),
    Division(
        "People",
        "Make this the best place to do the work of your life",
        ("Recruiting", "Learning", "Total Rewards", "People Analytics", "Onboarding", "HRBP"),
        ("Hire the people the plan needs", "Launch a leadership programme", "Lift engagement"),
        ("Run a fair interview loop", "Finish a course this quarter", "Mentor a colleague"),
        (
            KpiTemplate("Hires", "people", INC, 0, 40),
            KpiTemplate("Time to hire", "days", DEC, 45, 30),
            KpiTemplate("Engagement score", "eNPS", ABOVE, -100, 30),
            KpiTemplate("Regretted attrition", "%", BELOW, 0, 5),
        ),
    ),
    Division(
        "Marketing",
        "Make the brand the first name buyers think of",
        ("Brand", "Growth", "Content", "Product Marketing", "Events", "Demand Gen", "SEO", "Comms"),
        ("Double qualified leads", "Launch the new website", "Publish a flagship report"),
        ("Ship a campaign a month", "Write two articles a month", "Speak at a conference"),
        (
            KpiTemplate("Qualified leads", "leads", INC, 200, 600),
            KpiTemplate("Cost per lead", "€", DEC, 150, 90),
            KpiTemplate("Share of voice", "%", ABOVE, 0, 20),
            KpiTemplate("Unsubscribe rate", "%", BELOW, 0, 0.5),
        ),
    ),
    Division(
        "Finance",
        "Fund the growth and keep the books clean",
        ("FP&A", "Accounting", "Treasury", "Tax", "Billing", "Audit", "Investor Relations"),
        ("Close the books in five days", "Forecast within 2 %", "Automate billing runs"),
        ("Reconcile my accounts weekly", "Build the driver-based model", "Clear old invoices"),
        (
            KpiTemplate("Cash collected", "k€", INC, 0, 2000),
            KpiTemplate("Days sales outstanding", "days", DEC, 55, 40),
            KpiTemplate("Gross margin", "%", ABOVE, 0, 70),
            KpiTemplate("Forecast error", "%", BELOW, 0, 2),
        ),
    ),
    Division(
        "Product",
        "Build what customers cannot live without",
        ("Core", "Design", "Research", "Analytics", "Pricing", "Integrations", "Accessibility"),
        ("Raise weekly active use", "Launch the mobile app", "Talk to 100 customers"),
        ("Run five customer interviews", "Ship one experiment a sprint", "Write the next spec"),
        (
            KpiTemplate("Weekly active users", "k users", INC, 50, 80),
            KpiTemplate("Time to first value", "minutes", DEC, 30, 10),
            KpiTemplate("Net promoter score", "NPS", ABOVE, -100, 40),
            KpiTemplate("Churned accounts", "%", BELOW, 0, 3),
        ),
    ),
    Division(
        "Legal",
        "Keep the company safe to grow",
        ("Commercial", "Privacy", "Compliance", "Corporate", "Employment", "IP"),
        ("Standardise contract templates", "Pass the ISO audit", "Train every team on privacy"),
        ("Review contracts within two days", "Update the privacy register", "Close open matters"),
        (
            KpiTemplate("Contracts signed", "contracts", INC, 0, 300),
            KpiTemplate("Review turnaround", "days", DEC, 7, 2),
            KpiTemplate("Training completion", "%", ABOVE, 0, 95),
            KpiTemplate("Open legal matters", "matters", BELOW, 0, 25),
        ),
    ),
)

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko",
    "Liam", "Maya", "Nico", "Olga", "Priya", "Quentin", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Xavier", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Berg", "Costa", "Dubois", "Eze", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi", "Silva", "Tanaka",
    "Novak", "Weber", "Young",
)  # fmt: skip
