"""Running the agents: events, the run's record, chunking, the stages both routes share, the planned and
orchestrator routes, and `runner.PipelineRun`."""
