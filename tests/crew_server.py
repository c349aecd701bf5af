"""The fake OpenAI server answered by the scripted crew, in a process of its own:

    python -m tests.crew_server [--cards-per-topic 9] [--latency 0.2]

Prints the base URL on the first line of stdout, then serves until stdin closes. A test that times Anki's
main thread uses it so that the server's own Python work does not compete for the test process's GIL
(in real use the server is another program).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .fake_openai import FakeOpenAI
from .pipeline_crew import Crew


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards-per-topic", type=int, default=9)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with FakeOpenAI(latency=args.latency) as server:
        server.handler = Crew(cards_per_topic=args.cards_per_topic)
        print(server.url, flush=True)
        sys.stdin.read()


@contextmanager
def crew_server(*, cards_per_topic: int = 9, latency: float = 0.0) -> Iterator[str]:
    """The URL of a crew server running in a child process, for the duration of the block."""
    command = [sys.executable, "-m", "tests.crew_server", "--cards-per-topic", str(cards_per_topic)]
    child = subprocess.Popen(
        [*command, "--latency", str(latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)


if __name__ == "__main__":
    main()
