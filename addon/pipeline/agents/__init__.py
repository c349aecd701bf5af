"""The team's agents: one call per role (`team.Agents`), their prompts, and edits applied by card number."""
