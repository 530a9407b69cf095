"""Read generated Airflow DAG files with Python's own parser (`ast`; Airflow is not needed).

Usage: python3 read_airflow.py FILE...  prints one JSON object {file: {"error": str} | dag}
dag: {"params": {name: default or None}, "tasks": {task_id: task}}
task: {"operator", "trigger_rule", "upstream": [task ids], "mapped": bool,
       "expand_count": rows of a literal expand list or None, "expand_from": task id whose
       .output is expanded or None, "strings": every string constant in the call,
       "op_kwargs": the literal op_kwargs or None, "kube": for a KubernetesPodOperator, its
       literal cmds, arguments and env_vars {"cmds", "arguments", "env"} (None when not literal)}
Edges come from `a >> b`, `[a, b] >> c`, `a << b` and `a.set_upstream(b)` / `set_downstream`
statements inside the `with DAG(...)` block.
"""
import ast
import json
import sys


def unwrap_call(node):
    """(operator name, call with the task's keywords, mapped, expand argument)."""
    mapped, expand = False, None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("expand", "expand_kwargs"):
        expand = node.args[0] if node.args else (node.keywords[0].value if node.keywords else None)
        node = node.func.value
        mapped = True
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "partial":
        func = func.value
        mapped = True
    if not isinstance(func, ast.Name):
        return None
    return func.id, node, mapped, expand


def strings(node):
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def operands(node):
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [n for e in node.elts for n in operands(e)]
    raise ValueError("unexpected edge operand: " + ast.dump(node))


def read(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    with_stmt = None
    for stmt in tree.body:
        if isinstance(stmt, ast.With):
            with_stmt = stmt
    if with_stmt is None:
        raise ValueError("no `with DAG(...)` block")
    params = {}
    dag_call = with_stmt.items[0].context_expr
    for kw in dag_call.keywords:
        if kw.arg == "params" and isinstance(kw.value, ast.Dict):
            for k, v in zip(kw.value.keys, kw.value.values):
                name = ast.literal_eval(k)
                default = None
                if isinstance(v, ast.Call) and v.args:
                    default = ast.literal_eval(v.args[0])
                elif not isinstance(v, ast.Call):
                    default = ast.literal_eval(v)
                params[name] = default
    tasks, by_var = {}, {}
    edges = []
    for stmt in with_stmt.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            info = unwrap_call(stmt.value)
            if not info:
                continue
            op, call, mapped, expand = info
            kw = {k.arg: k.value for k in call.keywords if k.arg}
            tid = ast.literal_eval(kw["task_id"])
            rule = ast.literal_eval(kw["trigger_rule"]) if "trigger_rule" in kw else "all_success"
            expand_count, expand_from = None, None
            if expand is not None:
                if isinstance(expand, (ast.List, ast.Tuple)):
                    expand_count = len(expand.elts)
                elif isinstance(expand, ast.Attribute) and isinstance(expand.value, ast.Name) and expand.attr == "output":
                    expand_from = expand.value.id
            op_kwargs = None
            if "op_kwargs" in kw:
                try:
                    op_kwargs = ast.literal_eval(kw["op_kwargs"])
                except ValueError:
                    op_kwargs = None
            found = strings(call) + (strings(expand) if expand is not None else [])
            kube = None
            if op == "KubernetesPodOperator":
                # what Kubernetes receives as the container's command, args and env (it expands $(VAR) and $$ there)
                kube = {"cmds": [], "arguments": [], "env": {}}
                try:
                    for key in ("cmds", "arguments"):
                        if key in kw:
                            kube[key] = [x for x in ast.literal_eval(kw[key]) if isinstance(x, str)]
                    if "env_vars" in kw and isinstance(kw["env_vars"], ast.Dict):
                        kube["env"] = ast.literal_eval(kw["env_vars"])
                except ValueError:
                    kube = None
            tasks[tid] = {"operator": op, "trigger_rule": rule, "upstream": [], "mapped": mapped,
                          "expand_count": expand_count, "expand_from": expand_from, "strings": found,
                          "op_kwargs": op_kwargs, "kube": kube}
            by_var[stmt.targets[0].id] = tid
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.BinOp):
            chain, ops, node = [], [], stmt.value
            while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)):
                chain.insert(0, node.right)
                ops.insert(0, node.op)
                node = node.left
            chain.insert(0, node)
            for left, op, right in zip(chain, ops, chain[1:]):
                up, down = (left, right) if isinstance(op, ast.RShift) else (right, left)
                for d in operands(down):
                    for u in operands(up):
                        edges.append((u, d))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute) \
                and stmt.value.func.attr in ("set_upstream", "set_downstream") and isinstance(stmt.value.func.value, ast.Name):
            me = stmt.value.func.value.id
            for other in operands(stmt.value.args[0]):
                edges.append((other, me) if stmt.value.func.attr == "set_upstream" else (me, other))
    for u, d in edges:
        tasks[by_var[d]]["upstream"].append(by_var[u])
    for t in tasks.values():
        t["upstream"] = sorted(set(t["upstream"]))
        if t["expand_from"] is not None:
            t["expand_from"] = by_var.get(t["expand_from"], t["expand_from"])
    return {"params": params, "tasks": tasks}


out = {}
for p in sys.argv[1:]:
    try:
        out[p] = read(p)
    except Exception as e:  # reported per file by the test
        out[p] = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out, sort_keys=True))
