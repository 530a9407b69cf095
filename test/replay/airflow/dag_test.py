"""Run an emitted Airflow DAG file the way Airflow 2.6.3 runs it with `dag.test()`, without Airflow.

Usage: python3 dag_test.py JOB.json   (JOB: {"file", "params", "env", "run_id", "workdir"})
Prints {"state": <DagRun state>, "tis": {task_id: [{"map_index", "state", "tries", "xcom", "stdout"}]}}.

The file is loaded against the API stand-ins of test/airflow/fake_airflow.py (they record each
operator's arguments and `>>` edges). Then, as `DAG.test` (airflow/models/dag.py) does, it loops:
`DagRun.update_state` (airflow/models/dagrun.py) decides the run's state and which task instances
are schedulable, and each schedulable one runs in turn (`_run_task` -> `TaskInstance._run_raw_task`).
Steps run as local processes (as `couler run --no-container` does): a KubernetesPodOperator's
`cmds + arguments` after Kubernetes' own `$(VAR)` / `$$` expansion, a BashOperator's `bash -c`;
Python callables are the DAG file's own functions. Every rule below names the Airflow source it
follows (Airflow 2.6.3 unless said otherwise).
"""
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import jinja2
from jinja2.sandbox import SandboxedEnvironment

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "airflow"))
import fake_airflow  # noqa: E402

# airflow/utils/state.py: State.finished, State.failed_states, State.success_states
FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
FAILED_STATES = {"failed", "upstream_failed"}
SUCCESS_STATES = {"success", "skipped"}

# template_fields / template_ext of each operator (airflow/operators/bash.py, python.py,
# providers/cncf/kubernetes/operators/pod.py)
TEMPLATED = {
    "BashOperator": (("bash_command", "env"), (".sh", ".bash")),
    "PythonOperator": (("templates_dict", "op_args", "op_kwargs"), ()),
    "ShortCircuitOperator": (("templates_dict", "op_args", "op_kwargs"), ()),
    "KubernetesPodOperator": (("image", "cmds", "arguments", "env_vars", "labels", "config_file", "pod_template_file",
                               "namespace", "container_resources", "volumes", "volume_mounts"), ("yaml", "yml", "json")),
}


class TaskFailed(Exception):
    pass


class Skip(Exception):
    """airflow.exceptions.AirflowSkipException"""


def kube_expand(text, env):
    """Kubernetes' $(VAR) / $$ expansion of a container's command, args and env values
    (kubernetes third_party/forked/golang/expansion/expand.go Expand; as test/replay/kube-expand.ts)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "$" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        n = text[i + 1]
        if n == "$":
            out.append("$")
            i += 2
            continue
        if n == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            name = text[i + 2:end]
            out.append(env[name] if name in env else "$(" + name + ")")
            i = end + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


class TI:
    """One task instance: airflow/models/taskinstance.py (state, map_index, try_number, xcom_pull)."""

    def __init__(self, run, task, map_index=-1):
        self.run, self.task, self.map_index = run, task, map_index
        self.task_id = task.kwargs["task_id"]
        self.state, self.tries, self.xcom, self.stdout, self.retry_at = None, 0, None, "", None
        self.start_error = False

    def xcom_pull(self, task_ids=None, key="return_value", default=None):
        # TaskInstance.xcom_pull: one task id and no map_indexes -> the single value, or, when the
        # first row found is mapped (map_index >= 0), every value in map-index order (LazyXComAccess)
        rows = [t for t in self.run.tis if t.task_id == task_ids and t.xcom is not None]
        if not rows:
            return default
        if rows[0].map_index < 0:
            return rows[0].xcom
        return [json.loads(json.dumps(t.xcom)) for t in sorted(rows, key=lambda t: t.map_index)]

    @property
    def dag_id(self):
        return self.run.dag.kwargs["dag_id"]

    @property
    def run_id(self):
        return self.run.run_id


class DagRun:
    def __init__(self, dag, job):
        self.dag, self.job, self.run_id = dag, job, job["run_id"]
        self.tasks = {t.kwargs["task_id"]: t for t in dag.tasks}
        self.downstream = {tid: [] for tid in self.tasks}
        for tid, t in self.tasks.items():
            for u in t.upstream:
                self.downstream[u.kwargs["task_id"]].append(tid)
        self.tis = [TI(self, t) for t in dag.tasks]
        self.state = "running"
        self.clock = 0.0  # seconds; retry delays advance it instead of sleeping
        env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"], cache_size=0)
        # airflow/models/dag.py DAG.get_template_env: user_defined_filters added to the environment
        env.filters.update(dag.kwargs.get("user_defined_filters") or {})
        self.jinja = env

    def get_task_instances(self, state=None):
        """DagRun.get_task_instances (read by the DAG's own run-state helpers)."""
        return [t for t in self.tis if state is None or t.state in state]

    def tis_of(self, task_id):
        return [t for t in self.tis if t.task_id == task_id]

    # ---------------------------------------------------------------- trigger rules

    def upstream_states(self, task):
        """Counts over every task instance of every direct upstream task (trigger_rule_dep.py,
        _UpstreamTIStates.calculate over the finished relevant upstream tis)."""
        ids = [u.kwargs["task_id"] for u in task.upstream]
        tis = [t for t in self.tis if t.task_id in ids]
        done = [t for t in tis if t.state in FINISHED]
        c = {s: sum(1 for t in done if t.state == s) for s in ("success", "skipped", "failed", "upstream_failed", "removed")}
        c["done"] = len(done)
        c["upstream"] = len(tis)  # mapped upstreams count their expanded instances
        return c

    def trigger_rule(self, ti):
        """(met, new_state) as TriggerRuleDep._evaluate_trigger_rule decides them with
        flag_upstream_failed=True (ti_deps/deps/trigger_rule_dep.py)."""
        task = ti.task
        rule = task.kwargs.get("trigger_rule", "all_success")
        if not task.upstream:
            return True, None
        if rule == "always":
            return True, None
        c = self.upstream_states(task)
        success, skipped, failed, upfailed, done, upstream = (c["success"], c["skipped"], c["failed"], c["upstream_failed"], c["done"], c["upstream"])
        upstream_done = done >= upstream
        new = None
        if rule == "all_success":
            if upfailed or failed:
                new = "upstream_failed"
            elif skipped:
                new = "skipped"
        elif rule == "all_failed":
            if success or skipped:
                new = "skipped"
        elif rule == "one_success":
            if upstream_done and done == skipped:
                new = "skipped"
            elif upstream_done and success <= 0:
                new = "upstream_failed"
        elif rule == "one_failed":
            if upstream_done and not (failed or upfailed):
                new = "skipped"
        elif rule == "one_done":
            if upstream_done and not (failed or success):
                new = "skipped"
        elif rule == "none_failed":
            if upfailed or failed:
                new = "upstream_failed"
        elif rule == "none_failed_min_one_success":
            if upfailed or failed:
                new = "upstream_failed"
            elif skipped == upstream:
                new = "skipped"
        elif rule == "none_skipped":
            if skipped:
                new = "skipped"
        elif rule == "all_skipped":
            if success or failed or upfailed:
                new = "skipped"
        if new is not None:
            return False, new
        if rule == "one_success":
            met = success > 0
        elif rule == "one_failed":
            met = bool(failed or upfailed)
        elif rule == "one_done":
            met = success + failed > 0
        elif rule == "all_success":
            met = upstream - success <= 0
        elif rule == "all_failed":
            met = upstream - failed - upfailed <= 0
        elif rule == "all_done":
            met = upstream_done
        elif rule in ("none_failed", "none_failed_min_one_success"):
            met = upstream - success - skipped <= 0
        elif rule == "none_skipped":
            met = upstream_done and skipped == 0
        elif rule == "all_skipped":
            met = upstream - skipped <= 0
        else:
            raise ValueError("no strategy to evaluate trigger rule %r" % rule)
        return met, None

    # ---------------------------------------------------------------- scheduling

    def update_state(self):
        """DagRun.update_state: the run's state from its leaf task instances, and the schedulable
        ones (task_instance_scheduling_decisions -> _get_ready_tis, expanding mapped tasks)."""
        unfinished = [t for t in self.tis if t.state not in FINISHED]
        leaves = {tid for tid, d in self.downstream.items() if not d}
        leaf_tis = [t for t in self.tis if t.task_id in leaves and t.state != "removed"]
        if not unfinished and any(t.state in FAILED_STATES for t in leaf_tis):
            self.state = "failed"
            return []
        if not unfinished and all(t.state in SUCCESS_STATES for t in leaf_tis):
            self.state = "success"
            return []
        ready, changed = [], False
        for ti in list(unfinished):
            if ti.state == "up_for_retry":
                # NotInRetryPeriodDep: ready once the retry delay has passed (we advance the clock)
                self.clock = max(self.clock, ti.retry_at)
            met, new = self.trigger_rule(ti)
            if new is not None:
                ti.state = new
                changed = True
                continue
            if not met:
                continue
            if ti.map_index < 0 and ti.task.rows is not None:
                # MappedOperator.expand_mapped_task (models/mappedoperator.py): the unmapped ti
                # becomes map index 0 and more are created; a zero-length input skips it
                rows = self.rows_of(ti.task)
                if rows is None:
                    ti.state = "failed"  # the expand input could not be resolved
                    changed = True
                    continue
                if not rows:
                    ti.state = "skipped"
                    changed = True
                    continue
                ti.map_index = 0
                ti.row = rows[0]
                at = self.tis.index(ti)
                more = []
                for i, row in enumerate(rows[1:], start=1):
                    t = TI(self, ti.task, i)
                    t.row = row
                    more.append(t)
                self.tis[at + 1:at + 1] = more
                ready.extend([ti] + more)
                continue
            ready.append(ti)
        if not ready and not changed and unfinished:
            # "Deadlock; marking run failed" (dagrun.py update_state)
            self.state = "failed"
        return ready

    def rows_of(self, task):
        """The per-instance kwargs of `.expand_kwargs(...)`: a literal list, or an upstream's XCom."""
        rows = task.rows
        if isinstance(rows, tuple):  # XComArg: `<task>.output`
            src = [t for t in self.tis if t.task_id == rows[1]]
            value = src[0].xcom if src else None
            if not isinstance(value, list):
                return None
            rows = value
        return rows

    # ---------------------------------------------------------------- running one task instance

    def context(self, ti):
        # DagRun params: each Param's default, overridden by the run's conf (models/dag.py DAG.test, ParamsDict)
        params = {k: p.default for k, p in (self.dag.kwargs.get("params") or {}).items() if p.has_default}
        params.update(self.job["params"])
        return {"params": params, "ti": ti, "task_instance": ti, "run_id": self.run_id, "dag_run": self,
                "dag": self.dag, "task": ti.task, "ds": "2024-01-01", "ts": "2024-01-01T00:00:00+00:00",
                "conf": {}, "map_index": ti.map_index}

    def render(self, value, ctx, ext, seen):
        """AbstractOperator.render_template (models/abstractoperator.py): strings are Jinja templates
        (a string ending in one of the operator's template_ext is a template file name); lists,
        tuples and dicts render element-wise; objects whose id is in `seen` (values an
        expand_kwargs() input resolved, expandinput.py resolve) are returned as they are."""
        if id(value) in seen:
            return value
        if isinstance(value, str):
            if ext and value.endswith(tuple(ext)):
                raise TaskFailed("TemplateNotFound: %s" % value)
            return self.jinja.from_string(value).render(**ctx)
        if isinstance(value, (list, tuple)):
            return [self.render(v, ctx, ext, seen) for v in value]
        if isinstance(value, dict):
            return {k: self.render(v, ctx, ext, seen) for k, v in value.items()}
        return value

    def run_ti(self, ti):
        """TaskInstance._run_raw_task: render the templated fields, execute, push the return value;
        a failure with tries left becomes up_for_retry (handle_failure), else failed."""
        ti.tries += 1
        task = ti.task
        fields, ext = TEMPLATED[task.op]
        kwargs = dict(task.kwargs)
        seen = set()
        row = getattr(ti, "row", None)
        if row is not None:
            kwargs.update(row)
            seen = {id(v) for v in row.values()}
        if task.op == "KubernetesPodOperator" and isinstance(kwargs.get("env_vars"), dict):
            # pod.py __init__: env_vars = convert_env_vars(env_vars): new V1EnvVar objects, whose
            # `value` is rendered (KubernetesPodOperator._render_nested_template_fields)
            kwargs["env_vars"] = [(k, v) for k, v in kwargs["env_vars"].items()]
        ctx = self.context(ti)
        try:
            for f in fields:
                if f in kwargs and kwargs[f]:
                    if f == "env_vars":
                        kwargs[f] = [(k, self.render(v, ctx, (), set())) for k, v in kwargs[f]]
                    else:
                        kwargs[f] = self.render(kwargs[f], ctx, ext, seen)
            value = self.execute(ti, kwargs, ctx)
            if kwargs.get("do_xcom_push", True) and value is not None:
                ti.xcom = json.loads(json.dumps(value))  # XCom values are stored as JSON (BaseXCom.serialize_value)
            ti.state = "success"
        except Skip:
            ti.state = "skipped"
        except (TaskFailed, Exception) as e:  # noqa: B014
            ti.stdout += "\n[replay] %s: %s" % (type(e).__name__, e)
            retries = task.kwargs.get("retries", 0) or 0
            if ti.tries <= retries:
                ti.state = "up_for_retry"
                ti.retry_at = self.clock + retry_delay(task.kwargs, ti.tries)
            else:
                ti.state = "failed"

    def execute(self, ti, kw, ctx):
        op = ti.task.op
        if op in ("PythonOperator", "ShortCircuitOperator"):
            fn = kw["python_callable"]
            args = dict(kw.get("op_kwargs") or {})
            # PythonOperator.execute -> determine_kwargs (utils/operator_helpers.py): the context is
            # passed when the callable takes **kwargs
            if any(p.kind == p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values()):
                args = {**ctx, **args}
            value = fn(**args)
            if op == "ShortCircuitOperator":
                self.short_circuit(ti, bool(value), kw.get("ignore_downstream_trigger_rules", True))
            return value
        timeout = kw.get("execution_timeout")
        seconds = timeout.total_seconds() if timeout is not None else None
        work = tempfile.mkdtemp(prefix="couler-airflow-", dir=self.job["workdir"])
        if op == "BashOperator":
            # BashOperator.execute: bash -c in a temporary folder; env appended to the worker's
            # environment with AIRFLOW_CTX_* (append_env=True); a non-zero exit fails the task
            # (skip_on_exit_code=None); the last stdout line is the XCom
            env = dict(self.job["env"])
            env.update({"AIRFLOW_CTX_DAG_ID": ti.dag_id, "AIRFLOW_CTX_TASK_ID": ti.task_id,
                        "AIRFLOW_CTX_DAG_RUN_ID": self.run_id, "AIRFLOW_CTX_TRY_NUMBER": str(ti.tries)})
            env.update(kw.get("env") or {})
            rc, out = run_process(["bash", "-c", kw["bash_command"]], env, work, seconds)
            ti.stdout = out
            ti.start_error = rc == 127 and "not found" in out  # bash could not find the command
            if rc != 0:
                raise TaskFailed("Bash command failed. The command returned a non-zero exit code %s." % rc)
            lines = out.rstrip("\n").split("\n")
            return lines[-1] if kw.get("do_xcom_push", True) else None
        # KubernetesPodOperator: the container runs cmds + arguments (an image's entrypoint cannot
        # run here); env values and argv go through Kubernetes' expansion; with do_xcom_push the
        # xcom sidecar reads /airflow/xcom/return.json as JSON (utils/xcom_sidecar.py,
        # PodManager.extract_xcom). Pod-private paths are mapped into the private folder.
        argv = list(kw.get("cmds") or []) + list(kw.get("arguments") or [])
        if not argv:
            raise TaskFailed("the pod runs its image's entrypoint, which cannot run here")
        xdir = os.path.join(work, "airflow-xcom")
        tdir = os.path.join(work, "tmp-couler")
        os.makedirs(xdir)
        pod_env = {}
        for k, v in kw.get("env_vars") or []:
            pod_env[k] = kube_expand(v, pod_env)
        argv = [kube_expand(a, pod_env) for a in argv]
        pod_paths = {"/airflow/xcom": xdir, "/tmp/couler": tdir}
        argv = [re.sub(r"/airflow/xcom|/tmp/couler", lambda m: pod_paths[m.group(0)], a) for a in argv]
        env = dict(self.job["env"])
        env.update(pod_env)
        for path in self.job.get("fresh", []):  # a new pod has none of the declared output files
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.remove(path)
        rc, out = run_process(argv, env, work, seconds)
        ti.stdout = out
        # the container's command could not be started (a StartError pod), or the shell wrapper
        # could not find it (exit 127)
        ti.start_error = rc is None or (rc == 127 and "not found" in out)
        if rc != 0:
            raise TaskFailed("Pod returned a failure (exit code %s)" % rc)
        if kw.get("do_xcom_push"):
            with open(os.path.join(xdir, "return.json"), encoding="utf-8") as f:
                return json.load(f)
        return None

    def short_circuit(self, ti, condition, ignore_downstream_trigger_rules):
        """ShortCircuitOperator.execute (operators/python.py): a false condition skips every
        downstream task (get_flat_relatives) or, with ignore_downstream_trigger_rules=False, only the
        direct downstream tasks (get_direct_relatives), whatever their trigger rule (SkipMixin.skip
        sets the state of all their task instances)."""
        if condition:
            return
        if ignore_downstream_trigger_rules:
            todo, skip = list(self.downstream[ti.task_id]), set()
            while todo:
                d = todo.pop()
                if d not in skip:
                    skip.add(d)
                    todo.extend(self.downstream[d])
        else:
            skip = set(self.downstream[ti.task_id])
        for t in self.tis:
            if t.task_id in skip:
                t.state = "skipped"


def retry_delay(kw, try_number):
    """TaskInstance.next_retry_datetime: retry_delay, doubled per try with retry_exponential_backoff
    (plus a jitter we leave out), capped by max_retry_delay. Only the order of events matters here."""
    delay = kw.get("retry_delay")
    seconds = delay.total_seconds() if delay is not None else 300
    if kw.get("retry_exponential_backoff"):
        seconds = seconds * 2 ** (try_number - 1)
    cap = kw.get("max_retry_delay")
    if cap is not None:
        seconds = min(seconds, cap.total_seconds())
    return seconds


def run_process(argv, env, cwd, timeout):
    """One process group; killed on the execution timeout (BaseOperator execution_timeout)."""
    env = dict(env)
    env["TMPDIR"] = cwd
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        return None, "[replay] could not start: %s" % e
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return -9, ""
    text = out.decode("utf-8", "surrogateescape")
    return p.returncode, text if p.returncode == 0 else text + err.decode("utf-8", "surrogateescape")


def test(job):
    """DAG.test (models/dag.py): loop update_state, run every schedulable task instance in turn."""
    dag, _, problems = fake_airflow.load(job["file"])
    if problems:
        raise SystemExit("the Airflow stand-ins refused the file: %s" % problems)
    run = DagRun(dag, job)
    while run.state == "running":
        for ti in run.update_state():
            run.run_ti(ti)
    tis = {}
    for t in run.tis:
        tis.setdefault(t.task_id, []).append({"map_index": t.map_index, "state": t.state, "tries": t.tries,
                                              "xcom": t.xcom, "stdout": t.stdout, "start_error": t.start_error})
    return {"state": run.state, "tis": tis}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    print(json.dumps(test(job)))
