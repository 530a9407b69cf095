"""Run a generated DAG file (bash lowering) end to end, like a much smaller `dag.test()`.

Usage: python3 mini_dag_test.py FILE
Loads the file against the Airflow stand-ins (fake_airflow.py), then runs its tasks in dependency
order on this machine: BashOperator commands with bash, PythonOperator / ShortCircuitOperator
callables from the file itself. It follows Airflow's documented semantics for what this backend
uses: trigger rules, a short-circuit skipping its direct downstream tasks, templated fields rendered
with Jinja (sandboxed, StrictUndefined, the DAG's filters and param defaults), XCom (a BashOperator
pushes its last stdout line), `expand_kwargs` mapping (XCom lists and dicts rendered once more).
Prints {task_id: {"state", "stdout": [per instance], "instances"}} as JSON.
"""
import json
import os
import subprocess
import sys

import jinja2
from jinja2.sandbox import SandboxedEnvironment

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_airflow  # noqa: E402

FAILED = {"failed", "upstream_failed"}

dag, namespace, problems = fake_airflow.load(sys.argv[1])
if problems:
    raise SystemExit("stand-ins refused the file: %s" % problems)
tasks = {t.kwargs["task_id"]: t for t in dag.tasks}
downstream = {tid: [] for tid in tasks}
for tid, t in tasks.items():
    for u in t.upstream:
        downstream[u.kwargs["task_id"]].append(tid)

env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
env.filters.update(dag.kwargs.get("user_defined_filters") or {})
params = {k: p.default for k, p in (dag.kwargs.get("params") or {}).items()}
state, xcom, stdout = {}, {}, {}


class TI:
    def xcom_pull(self, task_ids=None, key="return_value"):
        return xcom.get(task_ids)


class DagRun:
    def get_task_instances(self, state=None):
        return [t for t, s in globals()["state"].items() if state is None or s in state]


def render(v, ctx):
    if isinstance(v, str):
        return env.from_string(v).render(ctx)
    if isinstance(v, list):
        return [render(x, ctx) for x in v]
    if isinstance(v, dict):
        return {k: render(x, ctx) for k, x in v.items()}
    return v


def rule_says(task):
    """'run', 'skipped' or 'upstream_failed' from the trigger rule and the upstream states."""
    ups = [state[u.kwargs["task_id"]] for u in task.upstream]
    rule = task.kwargs.get("trigger_rule", "all_success")
    ok = [s == "success" for s in ups]
    bad = [s in FAILED for s in ups]
    skipped = [s == "skipped" for s in ups]
    if rule == "all_success":
        return "run" if all(ok) else "upstream_failed" if any(bad) else "skipped"
    if rule == "none_failed":
        return "upstream_failed" if any(bad) else "run"
    if rule == "all_failed":
        return "run" if all(bad) else "skipped"
    if rule == "one_failed":
        return "run" if any(bad) else "skipped"
    if rule == "one_success":
        return "run" if any(ok) else "upstream_failed" if all(bad) else "skipped"
    if rule == "one_done":
        return "run" if any(ok) or any(s == "failed" for s in ups) else "skipped"
    if rule == "all_skipped":
        return "run" if all(skipped) else "skipped"
    if rule == "all_done":
        return "run"
    raise ValueError("rule " + rule)


def run_one(task, kwargs):
    """(ok, xcom value, stdout) for one (unmapped) task instance."""
    ctx = {"params": params, "ti": TI(), "run_id": "manual__mini", "dag_run": DagRun()}
    if task.op == "BashOperator":
        command = render(kwargs["bash_command"], ctx)
        task_env = dict(os.environ)
        task_env.update(render(kwargs.get("env") or {}, ctx))
        p = subprocess.run(["bash", "-c", command], capture_output=True, env=task_env, timeout=60)
        out = p.stdout.decode("utf-8", "surrogateescape")
        lines = out.rstrip("\n").split("\n")
        value = lines[-1] if kwargs.get("do_xcom_push", True) else None
        return p.returncode == 0, value, out
    fn = kwargs["python_callable"]
    try:
        return True, fn(**render(kwargs.get("op_kwargs") or {}, ctx)), ""
    except Exception as e:
        return False, None, "%s: %s" % (type(e).__name__, e)


pending = list(tasks)
while pending:
    ready = [t for t in pending if all(u.kwargs["task_id"] in state for u in tasks[t].upstream)]
    if not ready:
        raise SystemExit("cycle or missing task among %s" % pending)
    tid = ready[0]
    pending.remove(tid)
    task = tasks[tid]
    if state.get(tid) == "skipped":  # a short-circuit got here first
        continue
    says = rule_says(task)
    if says != "run":
        state[tid] = says
        continue
    rows = task.rows
    if rows is None:
        ok, value, out = run_one(task, task.kwargs)
        state[tid], xcom[tid], stdout[tid] = ("success" if ok else "failed"), value, [out]
        if ok and task.op == "ShortCircuitOperator" and not value:
            for d in downstream[tid]:
                state[d] = "skipped"
        continue
    if isinstance(rows, tuple):  # an upstream task's .output
        rows = xcom.get(rows[1]) or []
    results = [run_one(task, {**task.kwargs, **row}) for row in rows]
    if not results:
        state[tid] = "skipped"
    else:
        state[tid] = "success" if all(r[0] for r in results) else "failed"
    xcom[tid] = [r[1] for r in results]
    stdout[tid] = [r[2] for r in results]

print(json.dumps({t: {"state": state[t], "stdout": stdout.get(t, []), "instances": len(stdout.get(t, []))} for t in tasks}, sort_keys=True))
