"""Show the requests in DIR that have no answer yet, readably: python pending.py DIR [--wait SECONDS]

With --wait, waits up to SECONDS for at least one pending request (or for DIR/DONE) before printing.
Prints "DONE" when DIR/DONE exists and nothing is pending.
"""

import json
import sys
import time
from pathlib import Path

d = Path(sys.argv[1])
wait = float(sys.argv[sys.argv.index("--wait") + 1]) if "--wait" in sys.argv else 0
deadline = time.time() + wait


def pending() -> list[Path]:
    return sorted(p for p in d.glob("req-*.json") if not (d / p.name.replace("req-", "resp-")).exists())


while not pending() and not (d / "DONE").exists() and time.time() < deadline:
    time.sleep(3)
todo = pending()
if not todo:
    print("DONE" if (d / "DONE").exists() else "nothing pending yet")
for p in todo:
    r = json.loads(p.read_text())
    print(f"===== {p.name} =====")
    for m in r.get("messages", []):
        print(f"--- {m['role']} ---")
        print(m.get("content") or json.dumps(m.get("tool_calls")))
    rf = r.get("response_format")
    if rf:
        print("--- response_format: reply with ONE JSON object matching this schema ---")
        print(json.dumps(rf.get("json_schema", rf).get("schema", rf), ensure_ascii=False))
    if r.get("tools"):
        print("--- tools (reply by calling the named tool) ---")
        print(json.dumps(r["tools"], ensure_ascii=False), json.dumps(r.get("tool_choice")))
    other = {k: v for k, v in r.items() if k not in ("messages", "response_format", "tools", "tool_choice")}
    print("--- other request fields ---", json.dumps(other))
