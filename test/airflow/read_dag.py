"""Read generated Airflow DAG files with Python's own parser (no Airflow needed).

Usage: python3 read_dag.py FILE...   prints one JSON object: {file: {"error": str} | {"tasks": {...}}}
Each task: {"var", "operator", "trigger_rule", "upstream": [task ids], "mapped": bool}.
Edges come from `a >> b` and `[a, b] >> c` statements inside the `with DAG(...)` block.
"""
import ast
import json
import sys


def call_info(node):
    """(operator name, keyword dict, mapped) for `Op(...)` or `Op.partial(...).expand_kwargs(...)`."""
    mapped = False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("expand", "expand_kwargs"):
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
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    return func.id, kw, mapped


def names(node):
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [n for e in node.elts for n in names(e)]
    raise ValueError("unexpected edge operand: " + ast.dump(node))


def read(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    body = None
    for stmt in tree.body:
        if isinstance(stmt, ast.With):
            body = stmt.body
    if body is None:
        raise ValueError("no `with DAG(...)` block")
    tasks, by_var = {}, {}
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            info = call_info(stmt.value)
            if not info:
                continue
            op, kw, mapped = info
            tid = ast.literal_eval(kw["task_id"])
            rule = ast.literal_eval(kw["trigger_rule"]) if "trigger_rule" in kw else "all_success"
            var = stmt.targets[0].id
            tasks[tid] = {"var": var, "operator": op, "trigger_rule": rule, "upstream": [], "mapped": mapped}
            by_var[var] = tid
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.BinOp):
            chain, node = [], stmt.value
            while isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
                chain.insert(0, node.right)
                node = node.left
            chain.insert(0, node)
            for left, right in zip(chain, chain[1:]):
                for r in names(right):
                    for l in names(left):
                        tasks[by_var[r]]["upstream"].append(by_var[l])
    for t in tasks.values():
        t["upstream"] = sorted(set(t["upstream"]))
    return {"tasks": tasks}


out = {}
for p in sys.argv[1:]:
    try:
        out[p] = read(p)
    except Exception as e:  # reported per file by the test
        out[p] = {"error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out, sort_keys=True))
