"""The gateway's read model of the objectives: kept current by the objective and progress
events, it answers the hot read routes (one objective, its children and ancestors, the tree)
in this process, under the same rules as the objectives service (okr_shared.objective_rules).
Until it is warm (at start, and after it lost its feed) those routes ask the service."""
