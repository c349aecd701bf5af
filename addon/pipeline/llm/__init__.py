"""Talking to the model: an OpenAI-compatible client over httpx (`client.LLMClient`), with one retry layer,
the run's request budget and usage, and replies validated into pydantic models (`structured`)."""
