"""Answer one request: python answer.py DIR NNN REPLY_FILE

REPLY_FILE holds your reply text (for JSON-schema requests: the JSON object). It is checked to be valid JSON
when the request asked for a JSON schema, wrapped as {"content": ...} and written atomically to resp-NNN.json.
For a tool call request: python answer.py DIR NNN REPLY_FILE --tool NAME  (REPLY_FILE holds the arguments).
"""

import json
import sys
from pathlib import Path

d, n, reply = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
text = reply.read_text(encoding="utf-8")
req = json.loads((d / f"req-{n:03d}.json").read_text())
if "--tool" in sys.argv:
    body = {"tool_calls": [{"name": sys.argv[sys.argv.index("--tool") + 1], "arguments": json.loads(text)}]}
else:
    if req.get("response_format"):
        json.loads(text)  # raises if not valid JSON
    body = {"content": text}
tmp = d / f"resp-{n:03d}.tmp"
tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
tmp.rename(d / f"resp-{n:03d}.json")
print(f"answered {n}")
