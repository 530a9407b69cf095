"""Run one task of a generated DAG file the way Airflow would, without Airflow or Kubernetes.

Usage: python3 run_task.py FILE TASK_ID XCOMS_JSON [XCOM_DIR]
Renders the task's templated fields with Jinja (sandboxed, StrictUndefined, the DAG's own
`_couler_*` filters, `params` from the DAG's Param defaults, `ti.xcom_pull` answering from
XCOMS_JSON {task_id: value}) and runs it here:
- BashOperator: `bash -c <bash_command>` with the rendered `env` appended to this process's env;
- KubernetesPodOperator: `cmds + arguments` with the rendered `env_vars` (the image is ignored;
  `/airflow/xcom` in the command is redirected to XCOM_DIR);
- PythonOperator / ShortCircuitOperator: the DAG's own callable with the rendered `op_kwargs`.
Prints {"rc": int, "last": last stdout line, "stdout": str, "stderr": str} ({"rc": 0, "value": ...}
for Python tasks).
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
render = lambda v: env.from_string(v).render(ctx)


def render_all(v):
    if isinstance(v, str):
        return render(v)
    if isinstance(v, list):
        return [render_all(x) for x in v]
    if isinstance(v, dict):
        return {k: render_all(x) for k, x in v.items()}
    return v


if "python_callable" in kwargs:
    fn = helpers[kwargs["python_callable"].id]
    op_kwargs = render_all(ast.literal_eval(kwargs["op_kwargs"])) if "op_kwargs" in kwargs else {}
    print(json.dumps({"rc": 0, "value": fn(**op_kwargs)}))
    sys.exit(0)
task_env = dict(os.environ)


def kube_expand(text, env):
    """What the kubelet does to a container's command, args and env values: $$ -> $, $(VAR) -> env[VAR] when defined."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "$" and i + 1 < len(text):
            n = text[i + 1]
            if n == "$":
                out.append("$")
                i += 2
                continue
            if n == "(":
                end = text.find(")", i + 2)
                if end >= 0 and text[i + 2:end] in env:
                    out.append(env[text[i + 2:end]])
                    i = end + 1
                    continue
        out.append(c)
        i += 1
    return "".join(out)


if "bash_command" in kwargs:
    argv = ["bash", "-c", render(ast.literal_eval(kwargs["bash_command"]))]
    env_key = "env"
else:
    argv = [render(v) for v in ast.literal_eval(kwargs.get("cmds", ast.parse("[]").body[0].value))]
    argv += [render(v) for v in ast.literal_eval(kwargs.get("arguments", ast.parse("[]").body[0].value))]
    argv = [a.replace("/airflow/xcom", sys.argv[4]) for a in argv]
    env_key = "env_vars"
pod_env = {}
if env_key in kwargs:
    for k, v in ast.literal_eval(kwargs[env_key]).items():
        pod_env[k] = render(v)
if env_key == "env_vars":
    # a pod: Kubernetes expands its own env vars into env values, command and args
    pod_env = {k: kube_expand(v, pod_env) for k, v in pod_env.items()}
    argv = [kube_expand(a, pod_env) for a in argv]
task_env.update(pod_env)
p = subprocess.run(argv, capture_output=True, env=task_env)
out = p.stdout.decode("utf-8", "surrogateescape")
lines = out.rstrip("\n").split("\n")
print(json.dumps({"rc": p.returncode, "last": lines[-1], "stdout": out, "stderr": p.stderr.decode("utf-8", "replace")}))
