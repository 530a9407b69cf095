"""Round-trip checks for the backend's literal helpers.

stdin: JSON list of cases {"kind": "py"|"jinja"|"sh", "source": str, "expect": str}.
- py: ast.literal_eval(source) must equal expect.
- jinja: source is a Python literal of a Jinja template; rendering it the way Airflow does
  (sandboxed, StrictUndefined) must give expect exactly.
- sh: source is one shell word; `sh -c 'printf %s "$1"' sh <word>` evaluated by the shell must give expect.
stdout: JSON list of failures.
"""
import ast
import json
import subprocess
import sys

cases = json.load(sys.stdin)
failures = []
env = None
try:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
except ImportError:
    pass
for c in cases:
    try:
        if c["kind"] == "py":
            got = ast.literal_eval(c["source"])
        elif c["kind"] == "jinja":
            if env is None:
                continue
            got = env.from_string(ast.literal_eval(c["source"])).render(params={"day": "{{ 7*7 }}"})
        else:
            got = subprocess.run(["sh", "-c", "printf %s " + c["source"]], capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
        if got != c["expect"]:
            failures.append({"case": c, "got": got})
    except Exception as e:
        failures.append({"case": c, "error": "%s: %s" % (type(e).__name__, e)})
print(json.dumps(failures))
