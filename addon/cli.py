"""Command line: generate cards from a text file, lint cards, judge a run, or check a model server, without
Anki running.

    python -m addon.cli generate --input notes.txt --json run.json --apkg cards.apkg --deck Biology
    python -m addon.cli lint --json run.json
    python -m addon.cli eval --input notes.txt --judge-model gpt-4o --json eval.json
    python -m addon.cli check --base-url http://localhost:11434/v1 --model llama3.1
    python -m addon.cli servers

Failures end with a one-line message on stderr and exit code 2; `lint` exits 1 when it finds something;
`check` exits 2 when the connection does not work; Ctrl-C during `generate` keeps the cards made so far and
exits 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from .pipeline.wording import count_of

if TYPE_CHECKING:
    from .pipeline.models import Card, RunResult
    from .pipeline.settings import LLMSettings
    from .pipeline.workflow.events import ProgressEvent
    from .pipeline.workflow.runner import PipelineRun

EXIT_FINDINGS = 1
EXIT_FAILED = 2
EXIT_CANCELLED = 130
DEFAULT_DECK = "AI Card Generator"


class CliError(Exception):
    """A failure the user can act on; its message is printed as is."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_CANCELLED
    except Exception as error:  # the promise is one line, never a traceback
        _say(f"error: {_describe(error)}")
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    from .pipeline.settings import LLMSettings, MathSetting, Mode, PipelineSettings, StructuredOutput

    defaults, run_defaults = LLMSettings(), PipelineSettings()
    parser = argparse.ArgumentParser(
        prog="python -m addon.cli",
        description="Make Anki cards from text, or lint cards, without Anki running.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    endpoint = argparse.ArgumentParser(add_help=False)
    endpoint.add_argument("--input", required=True, type=Path, metavar="FILE", help="UTF-8 text to learn")
    _add_endpoint_arguments(endpoint, defaults)
    endpoint.add_argument("--mode", choices=get_args(Mode), default=run_defaults.mode)
    endpoint.add_argument("--language", help="language of the cards (default: that of the text)")
    endpoint.add_argument(
        "--math",
        choices=get_args(MathSetting),
        default=run_defaults.math,
        help="formulas in cards: only where the text has math (source, the default), always as MathJax, "
        "or also as Anki's [latex] tags (see config.md)",
    )
    endpoint.add_argument(
        "--structured-output", choices=get_args(StructuredOutput), default=defaults.structured_output
    )
    endpoint.add_argument(
        "--concurrency", type=_positive_int, default=run_defaults.max_concurrency, metavar="N"
    )
    endpoint.add_argument(
        "--context-window",
        type=int,
        default=defaults.context_window,
        metavar="TOKENS",
        help="the server's context window, in tokens; long texts are split to fit it, and a request that "
        "would not fit is reported (Ollama cuts it silently) (default: %(default)s)",
    )
    endpoint.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=defaults.max_attempts,
        metavar="N",
        help="requests per step, retries and re-asks included (default: %(default)s)",
    )
    for flag, seconds, meaning in (
        ("--max-backoff", defaults.max_backoff, "longest wait between attempts"),
        ("--request-timeout", defaults.request_timeout, "time for one answer"),
        ("--time-limit", run_defaults.run_timeout, "time for the whole run; the cards made by then are kept"),
    ):
        endpoint.add_argument(
            flag,
            type=_positive_float,
            default=seconds,
            metavar="S",
            help=f"{meaning} (default: %(default)g s)",
        )

    generate = commands.add_parser("generate", parents=[endpoint], help="make cards from a text file")
    generate.set_defaults(handler=_generate)
    generate.add_argument("--json", type=Path, metavar="OUT", help="write the whole run result as JSON")
    generate.add_argument("--apkg", type=Path, metavar="OUT", help="write the cards as an Anki package")
    generate.add_argument(
        "--deck", default=DEFAULT_DECK, help="deck name in the package (default: %(default)s)"
    )

    judge = commands.add_parser(
        "eval",
        parents=[endpoint],
        help="make cards from a text file, then have a judge model score them",
        description="Make cards from a text (or take those of --run), then have a judge model score every "
        "card a learner would review: usable as is, light polish, substantial rework or unusable, with "
        "defect letters (F wrong, A ambiguous, M several facts, L answer leaked, T trivial, D duplicate, "
        "X formatting, E Extra unhelpful or too long), and list the text's key ideas and which cards teach "
        "them. Prints a table; writes everything as JSON.",
    )
    judge.set_defaults(handler=_evaluate)
    judge.add_argument("--judge-model", required=True, metavar="MODEL", help="the model that judges")
    judge.add_argument("--judge-base-url", metavar="URL", help="the judge's endpoint (default: --base-url)")
    judge.add_argument(
        "--judge-api-key-env",
        metavar="VAR",
        help="variable holding the judge's API key (default: --api-key-env)",
    )
    judge.add_argument(
        "--run",
        type=Path,
        metavar="FILE",
        help="judge the cards of this run result instead of making new ones",
    )
    judge.add_argument(
        "--json", type=Path, default=Path("eval.json"), metavar="OUT", help="default: %(default)s"
    )

    lint = commands.add_parser("lint", help="check cards from a run result or a list of cards")
    lint.set_defaults(handler=_lint)
    lint.add_argument("--json", required=True, type=Path, metavar="FILE", dest="json_in")

    check = commands.add_parser(
        "check", help="test a model server as the settings window does, and find its structured-output mode"
    )
    check.set_defaults(handler=_check)
    _add_endpoint_arguments(check, defaults)
    check.add_argument(
        "--timeout", type=float, default=defaults.request_timeout, metavar="S", help="default: %(default)g s"
    )

    servers = commands.add_parser("servers", help="list the model servers running on this computer")
    servers.set_defaults(handler=_servers)
    return parser


def _add_endpoint_arguments(parser: argparse.ArgumentParser, defaults: LLMSettings) -> None:
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL") or defaults.base_url,
        help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL or %(default)s)",
    )
    parser.add_argument("--model", default=defaults.model, help="default: %(default)s")
    parser.add_argument(
        "--api-key-env",
        default=defaults.api_key_env,
        metavar="VAR",
        help="environment variable holding the API key (default: %(default)s)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


# generate


def _generate(args: argparse.Namespace) -> int:
    result = _run_pipeline(args, _input_text(args))
    _write_outputs(result, args)
    return _exit_code(result)


def _input_text(args: argparse.Namespace) -> str:
    text = _read(args.input)
    if not text.strip():
        raise CliError(f"{args.input} has no words to learn from: it is empty")
    return text


def _run_llm_settings(args: argparse.Namespace) -> LLMSettings:
    """The endpoint and run flags of `generate` and `eval` as settings."""
    return _llm_settings(
        args,
        structured_output=args.structured_output,
        context_window=args.context_window,
        max_attempts=args.max_attempts,
        request_timeout=args.request_timeout,
        max_backoff=args.max_backoff,
    )


def _run_pipeline(args: argparse.Namespace, text: str) -> RunResult:
    from .pipeline.models import Source
    from .pipeline.settings import PipelineSettings
    from .pipeline.workflow.runner import PipelineRun

    settings = PipelineSettings(
        llm=_run_llm_settings(args),
        mode=args.mode,
        max_concurrency=args.concurrency,
        target_language=args.language,
        math=args.math,
        run_timeout=args.time_limit,
    )
    run = PipelineRun([Source(text=text, title=args.input.name)], settings, on_event=_on_event)
    run.start()
    try:
        return _wait(run)
    except KeyboardInterrupt:
        _say("cancelling; keeping the cards made so far")
        run.cancel()
        return _wait(run)


def _wait(run: PipelineRun) -> RunResult:
    """The run's result, waited for in short steps: Linux may hand Ctrl-C to one of the run's threads,
    and a main thread blocked in one long wait would not notice it until the run ends."""
    while True:
        try:
            return run.result(timeout=0.2)
        except TimeoutError:
            continue


def _on_event(event: ProgressEvent) -> None:
    _say(str(event))


def _write_outputs(result: RunResult, args: argparse.Namespace) -> None:
    if args.json:
        args.json.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        _say(f"wrote {args.json}")
    if args.apkg and result.cards:
        from .notes.package import write_apkg

        count = write_apkg(result.cards, args.apkg, deck_name=args.deck)
        _say(f"wrote {args.apkg} ({count_of(count, 'note')} in deck {args.deck!r})")


def _exit_code(result: RunResult) -> int:
    if result.cancelled:
        _say(f"cancelled with {count_of(len(result.cards), 'card')}")
        return EXIT_CANCELLED
    if not result.cards:
        reason = result.errors[0].message if result.errors else "the model returned no cards"
        raise CliError(f"no cards: {reason}")
    for error in result.errors:
        _say(f"{error.step}: {error.message}")
    failed = f", {count_of(len(result.errors), 'failed step')}" if result.errors else ""
    _say(f"{count_of(len(result.cards), 'card')}{failed}; {result.usage.describe()}")
    return 0


# eval


def _evaluate(args: argparse.Namespace) -> int:
    import asyncio

    from .pipeline.models import RunResult
    from .pipeline.workflow.evaluation import evaluate

    text = _input_text(args)
    if args.run:
        try:
            result = RunResult.model_validate_json(_read(args.run))
        except ValueError:
            raise CliError(f"{args.run} holds no run result") from None
    else:
        result = _run_pipeline(args, text)
    if not result.cards:
        raise CliError(f"no cards to judge{': ' + result.errors[0].message if result.errors else ''}")
    endpoint = _llm_settings(args, request_timeout=args.request_timeout, max_backoff=args.max_backoff)
    judge = endpoint.model_copy(
        update={
            "model": args.judge_model,
            "base_url": args.judge_base_url or args.base_url,
            "api_key_env": args.judge_api_key_env or args.api_key_env,
        }
    )
    _say(f"judging {count_of(len(result.cards), 'card')} with {args.judge_model}")
    evaluation = asyncio.run(evaluate(text, result, judge))
    print(evaluation.summary.table())
    args.json.write_text(evaluation.model_dump_json(indent=2), encoding="utf-8")
    _say(f"wrote {args.json}")
    return 0


# lint


def _lint(args: argparse.Namespace) -> int:
    from .pipeline.cards.lints import is_blocking, lint_cards

    cards = _load_cards(args.json_in)
    findings = lint_cards([card.draft for card in cards])
    for card, card_findings in zip(cards, findings, strict=True):
        for finding in card_findings:
            where = f" [{finding.field}]" if finding.field else ""
            severity = "error" if is_blocking(finding) else "warning"
            print(f"{card.id}: {severity}: {finding.lint_id}{where}: {finding.message}")
    total = sum(map(len, findings))
    _say(f"{count_of(len(cards), 'card')}, {count_of(total, 'finding')}")
    return EXIT_FINDINGS if total else 0


def _load_cards(path: Path) -> list[Card]:
    """Cards from a RunResult JSON object or a JSON list of cards."""
    from pydantic import TypeAdapter

    from .pipeline.models import Card, RunResult

    text = _read(path)
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "cards" in data:
            return RunResult.model_validate(data).cards
        return TypeAdapter(list[Card]).validate_python(data)
    except ValueError:  # not JSON, or pydantic's ValidationError
        raise CliError(f"{path} holds neither a run result nor a list of cards") from None


# check, servers


def _check(args: argparse.Namespace) -> int:
    from .pipeline.llm.connection import check_connection

    verdict = check_connection(_llm_settings(args, request_timeout=args.timeout))
    print(verdict.message)
    if not verdict.works:
        return EXIT_FAILED
    mode = verdict.structured_output
    print(f"structured output: {mode} (pass --structured-output {mode} to generate)")
    return 0


def _servers(args: argparse.Namespace) -> int:
    from .pipeline.llm.presets import LOCAL_PRESETS
    from .pipeline.llm.servers import find_local_servers

    found = find_local_servers()
    for server in found:
        print(f"{server.base_url}  {server.describe()}: {', '.join(server.models)}")
    names = ", ".join(f"{preset.name} ({preset.port})" for preset in LOCAL_PRESETS)
    _say(f"{len(found)} found; looked for {names} on this computer")
    return 0


# helpers


def _llm_settings(args: argparse.Namespace, **values: Any) -> LLMSettings:
    """The endpoint flags as settings; a value they refuse is a one-line error naming the flag."""
    from pydantic import ValidationError

    from .pipeline.settings import LLMSettings

    try:
        return LLMSettings(base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, **values)
    except ValidationError as error:
        problem = error.errors(include_url=False, include_input=False)[0]
        flag = "--" + str(problem["loc"][-1]).replace("_", "-")
        raise CliError(f"{flag}: {problem['msg'].removeprefix('Value error, ')}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CliError(f"cannot read {path}: not UTF-8 text") from None


def _describe(error: BaseException) -> str:
    """One line: the message itself for our errors, the type and first line for anything else."""
    from .pipeline.errors import PipelineError

    if isinstance(error, CliError | PipelineError):
        return str(error)
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
