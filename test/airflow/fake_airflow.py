"""Execute generated DAG files against stand-ins for the Airflow API (Airflow cannot be installed here).

Usage: python3 fake_airflow.py FILE...   prints {file: [problems]} as JSON.
The stand-ins accept exactly the parameter names of the documented Airflow 2.6+ / 3 classes this
backend uses, at the import paths each version has, so a misspelled argument, a missing import,
a name used before it is defined or a wrong call shape (`.partial().expand_kwargs()`, `>>`) fails.
"""
import json
import sys
import types

BASE = {"task_id", "trigger_rule", "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay",
        "execution_timeout", "do_xcom_push", "max_active_tis_per_dag", "max_active_tis_per_dagrun"}
OPS = {
    "KubernetesPodOperator": BASE | {"image", "cmds", "arguments", "env_vars", "secrets", "container_resources",
                                     "image_pull_policy", "node_selector", "tolerations", "affinity", "security_context",
                                     "container_security_context", "image_pull_secrets", "service_account_name",
                                     "namespace", "labels", "annotations", "on_finish_action", "volumes", "volume_mounts",
                                     "dnspolicy", "dns_config"},
    "BashOperator": BASE | {"bash_command", "env", "append_env", "skip_on_exit_code"},
    "PythonOperator": BASE | {"python_callable", "op_kwargs"},
    "ShortCircuitOperator": BASE | {"python_callable", "op_kwargs", "ignore_downstream_trigger_rules"},
}
DAG_ARGS = {"dag_id", "schedule", "start_date", "catchup", "max_active_runs", "is_paused_upon_creation",
            "dagrun_timeout", "max_active_tasks", "params", "user_defined_filters", "tags"}
RULES = {"all_success", "all_failed", "all_done", "all_skipped", "one_success", "one_failed", "one_done",
         "none_failed", "none_failed_min_one_success", "none_skipped", "always"}
K8S = {
    "V1ResourceRequirements": {"requests", "limits"},
    "V1Toleration": {"key", "operator", "value", "effect", "toleration_seconds"},
    "V1LocalObjectReference": {"name"},
    "V1Volume": {"name", "persistent_volume_claim", "empty_dir"},
    "V1PersistentVolumeClaimVolumeSource": {"claim_name", "read_only"},
    "V1EmptyDirVolumeSource": {"medium", "size_limit"},
    "V1VolumeMount": {"name", "mount_path", "sub_path", "read_only"},
    "V1PodDNSConfig": {"nameservers", "searches", "options"},
    "V1PodDNSConfigOption": {"name", "value"},
}
TEMPLATED = {"cmds", "arguments", "env_vars", "bash_command", "env", "op_kwargs"}
try:
    from jinja2.sandbox import SandboxedEnvironment

    JINJA = SandboxedEnvironment()
except ImportError:  # the syntax check needs Jinja; the rest does not
    JINJA = None
problems = []
current = []
loaded = []


def check_templates(what, kwargs):
    """Every string in a templated field must be valid Jinja source."""
    def walk(v):
        if isinstance(v, str):
            try:
                JINJA.parse(v)
            except Exception as e:
                problems.append("%s: bad Jinja in %r: %s" % (what, v[:60], e))
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
    if JINJA is not None:
        for k, v in kwargs.items():
            if k in TEMPLATED:
                walk(v)


def check(what, kwargs, allowed):
    check_templates(what, kwargs)
    for k in kwargs:
        if k not in allowed:
            problems.append("%s got unknown argument %r" % (what, k))


class Task:
    def __init__(self, op, kwargs):
        self.op, self.kwargs, self.upstream = op, kwargs, set()
        if not current:
            problems.append("%s %s created outside `with DAG`" % (op, kwargs.get("task_id")))
        else:
            current[-1].tasks.append(self)
        if kwargs.get("trigger_rule", "all_success") not in RULES:
            problems.append("unknown trigger rule %r" % kwargs.get("trigger_rule"))
        if not isinstance(kwargs.get("task_id"), str):
            problems.append("%s without a task_id" % op)

    def __rshift__(self, other):
        for o in other if isinstance(other, list) else [other]:
            o.upstream.add(self)
        return other

    def __rrshift__(self, other):
        for o in other if isinstance(other, list) else [other]:
            self.upstream.add(o)
        return self

    @property
    def output(self):
        return ("xcom", self.kwargs.get("task_id"))


class Partial:
    def __init__(self, op, kwargs):
        self.op, self.kwargs = op, kwargs

    def expand_kwargs(self, rows):
        self.rows = rows
        if isinstance(rows, list):
            for row in rows:
                check(self.op + ".expand_kwargs row", row, OPS[self.op] - {"task_id"})
        elif not (isinstance(rows, tuple) and rows[0] == "xcom"):
            problems.append("expand_kwargs takes a list of dicts or a task's .output")
        t = Task(self.op, self.kwargs)
        t.rows = rows
        return t


def operator(name):
    class Op(Task):
        rows = None

        def __init__(self, **kwargs):
            check(name, kwargs, OPS[name])
            Task.__init__(self, name, kwargs)

        @classmethod
        def partial(cls, **kwargs):
            check(name + ".partial", kwargs, OPS[name])
            return Partial(name, kwargs)

    Op.__name__ = name
    return Op


class DAG:
    def __init__(self, **kwargs):
        check("DAG", kwargs, DAG_ARGS)
        self.kwargs = kwargs
        if kwargs.get("schedule") is not None:
            for k, p in (kwargs.get("params") or {}).items():
                if not p.has_default:
                    problems.append("scheduled DAG with required param %r" % k)
        self.tasks = []

    def __enter__(self):
        current.append(self)
        loaded.append(self)
        return self

    def __exit__(self, *exc):
        current.pop()
        return False


class Param:
    def __init__(self, *default, type=None, description=None):
        self.has_default = bool(default)
        self.default = default[0] if default else None
        if len(default) > 1:
            problems.append("Param takes one default")


def record(name, allowed, positional=0):
    def make(*args, **kwargs):
        if len(args) > positional:
            problems.append("%s takes %d positional arguments" % (name, positional))
        check(name, kwargs, allowed)
        return (name, args, kwargs)
    return make


def module(path, **names):
    m = types.ModuleType(path)
    m.__dict__.update(names)
    sys.modules[path] = m
    parts = path.split(".")
    for i in range(1, len(parts)):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))


def install(version):
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        del sys.modules[name]
    kpo = operator("KubernetesPodOperator")
    module("pendulum", datetime=lambda y, m, d, tz="UTC": ("datetime", y, m, d, tz))
    module("kubernetes.client.models", **{k: record(k, v) for k, v in K8S.items()})
    sys.modules["kubernetes.client"].models = sys.modules["kubernetes.client.models"]
    module("airflow.providers.cncf.kubernetes.operators.pod", KubernetesPodOperator=kpo)
    module("airflow.providers.cncf.kubernetes.secret", Secret=record("Secret", set(), positional=4))
    std = "airflow.providers.standard.operators" if version == "3" else "airflow.operators"
    module(std + ".bash", BashOperator=operator("BashOperator"))
    module(std + ".python", PythonOperator=operator("PythonOperator"), ShortCircuitOperator=operator("ShortCircuitOperator"))
    if version == "3":
        module("airflow.sdk", DAG=DAG, Param=Param)
    else:
        module("airflow", DAG=DAG)
        module("airflow.models.param", Param=Param)


def load(path):
    """(the DAG stand-in, its module namespace, problems) for one generated file."""
    global problems
    problems = []
    del loaded[:]
    source = open(path, encoding="utf-8").read()
    install("3" if "target airflow 3." in source.splitlines()[0] else "2")
    namespace = {"__name__": "dag_file"}
    exec(compile(source, path, "exec"), namespace)
    return loaded[0], namespace, problems


def main():
    out = {}
    for path in sys.argv[1:]:
        try:
            _, _, found = load(path)
        except Exception as e:
            found = problems + ["%s: %s" % (type(e).__name__, e)]
        out[path] = found
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
