"""Run one BashOperator task of a generated DAG file the way Airflow would, without Airflow.

Usage: python3 run_bash_task.py FILE TASK_ID XCOMS_JSON
Renders the task's templated `bash_command` and `env` with Jinja (sandboxed, StrictUndefined,
the DAG's own `_couler_*` filters, `params` from the DAG's Param defaults, `ti.xcom_pull`
answering from XCOMS_JSON {task_id: value}), runs `bash -c` with the rendered env appended to
this process's env, and prints {"rc": int, "last": last stdout line, "stdout": str}.
"""
import ast
import json
import os
import subprocess
import sys

import jinja2
from jinja2.sandbox import SandboxedEnvironment

path, task_id, xcoms = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tree = ast.parse(open(path, encoding="utf-8").read(), path)
helpers = {"json": json}
exec(compile(ast.Module([s for s in tree.body if isinstance(s, ast.FunctionDef)], []), path, "exec"), helpers)

params, kwargs = {}, None
for node in ast.walk(tree):
    if isinstance(node, ast.keyword) and node.arg == "params" and isinstance(node.value, ast.Dict):
        for k, v in zip(node.value.keys, node.value.values):
            if v.args:
                params[ast.literal_eval(k)] = ast.literal_eval(v.args[0])
    if isinstance(node, ast.Call):
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        if "task_id" in kw and ast.literal_eval(kw["task_id"]) == task_id:
            kwargs = kw


class TI:
    def xcom_pull(self, task_ids=None, key="return_value"):
        return xcoms.get(task_ids)


env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
env.filters.update({k[len("_"):]: v for k, v in helpers.items() if k.startswith("_couler_")})
ctx = {"params": params, "ti": TI(), "run_id": "manual__test"}
command = env.from_string(ast.literal_eval(kwargs["bash_command"])).render(ctx)
task_env = dict(os.environ)
if "env" in kwargs:
    for k, v in ast.literal_eval(kwargs["env"]).items():
        task_env[k] = env.from_string(v).render(ctx)
p = subprocess.run(["bash", "-c", command], capture_output=True, env=task_env)
out = p.stdout.decode("utf-8", "surrogateescape")
lines = out.rstrip("\n").split("\n")
print(json.dumps({"rc": p.returncode, "last": lines[-1], "stdout": out, "stderr": p.stderr.decode("utf-8", "replace")}))
