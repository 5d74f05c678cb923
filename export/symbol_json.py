"""Read a ``-symbol.json`` file and check its graph before MXNet sees it.

MXNet's own loader reads an empty or binary file as garbage (``UnicodeDecodeError``), reports a
node referring to a missing node in C++ terms, and accepts a cycle that later fails deep in
shape inference (or aborts the process). Checked here, each is one line naming the node.
"""
import json
import re

from .errors import InvalidInputError

NAN = re.compile(r"\bnan\b", re.IGNORECASE)
FIX = "export the symbol again (HybridBlock.export or export.export_symbol)"


def _fail(path, problem):
    raise InvalidInputError(f"cannot read symbol file {path!r}: {problem}; {FIX}")


def read_text(path):
    """``(text, graph)`` of the file: non-empty UTF-8 JSON of a well-formed graph, else one clear error."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.strip():
        _fail(path, "it is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        _fail(path, f"it is not text (byte {err.start} is not UTF-8: a binary file?)")
    try:
        graph = json.loads(text)
    except json.JSONDecodeError as err:
        cut = " (the file looks truncated)" if not text.rstrip().endswith("}") else ""
        _fail(path, f"it is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}{cut}")
    check_graph(path, graph)
    return text, graph


def _is_index(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _entry_ok(entry):
    return (isinstance(entry, list) and len(entry) in (2, 3) and all(_is_index(v) for v in entry)
            and entry[1] >= 0)


def _check_node(path, index, node, count):
    if not isinstance(node, dict) or not isinstance(node.get("op"), str) or not isinstance(node.get("name"), str):
        _fail(path, f"node {index} is not an object with a string 'op' and 'name'")
    name = node["name"]
    inputs = node.get("inputs", [])
    if not isinstance(inputs, list) or not all(_entry_ok(e) for e in inputs):
        _fail(path, f"node {index} ({name!r}) has malformed inputs (want [[node, output, version], ...])")
    for source, _, *_ in inputs:
        if not 0 <= source < count:
            _fail(path, f"node {index} ({name!r}) refers to node {source}, which does not exist")
        if source >= index:  # MXNet writes nodes in topological order
            _fail(path, f"node {index} ({name!r}) takes node {source} as input, which comes after it: "
                        "the graph has a cycle")
    for key in ("attrs", "attr", "param"):
        attrs = node.get(key)
        if attrs is not None and (not isinstance(attrs, dict)
                                  or not all(isinstance(v, str) for v in attrs.values())):
            _fail(path, f"node {index} ({name!r}) has {key} that are not strings")
        nan = sorted(k for k, v in (attrs or {}).items() if NAN.search(v))
        if nan:  # MXNet and ONNX Runtime disagree on what a NaN epsilon or scale means
            _fail(path, f"node {index} ({name!r}) has NaN for {', '.join(nan)}")
    if node["op"] == "null" and inputs:
        _fail(path, f"variable node {index} ({name!r}) has inputs")


def check_graph(path, graph):
    """Raise :class:`InvalidInputError` unless ``graph`` is a well-formed, acyclic symbol graph."""
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list) or not graph["nodes"]:
        _fail(path, "it has no 'nodes' list")
    nodes = graph["nodes"]
    for index, node in enumerate(nodes):
        _check_node(path, index, node, len(nodes))
    if not isinstance(graph.get("heads"), list):
        _fail(path, "it has no 'heads' list (the outputs)")
    arg_nodes = graph.get("arg_nodes", [])
    if not isinstance(arg_nodes, list) or not all(_is_index(i) and 0 <= i < len(nodes) and nodes[i]["op"] == "null"
                                                  for i in arg_nodes):
        _fail(path, "its 'arg_nodes' name nodes that are not variables of the graph")
    heads = graph["heads"]
    if not heads or not all(_entry_ok(h) and 0 <= h[0] < len(nodes) for h in heads):
        _fail(path, "its 'heads' (the outputs) name nodes that do not exist")


def check_output_indices(path, graph, sym):
    """Every input entry ``[node, output]`` must name an output the node has (MXNet reads past
    the end of a node's outputs and may crash): counted from the loaded ``sym``'s internals."""
    heads = json.loads(sym.get_internals().tojson())
    names = [n["name"] for n in heads["nodes"]]
    counts = {}
    for node, output, *_ in heads["heads"]:
        counts[node] = max(counts.get(node, 0), output + 1)
    same_order = names == [n["name"] for n in graph["nodes"]]
    by_name = {} if same_order else {name: counts.get(i, 0) for i, name in enumerate(names)}

    def outputs_of(source):
        return counts.get(source, 0) if same_order else by_name.get(graph["nodes"][source]["name"], 0)

    uses = [(f"node {i} ({n['name']!r})", entry) for i, n in enumerate(graph["nodes"])
            for entry in n.get("inputs", [])]
    uses += [("the graph's outputs (heads)", entry) for entry in graph["heads"]]
    for user, (source, output, *_) in uses:
        if output >= max(outputs_of(source), 1):
            _fail(path, f"{user} takes output {output} of node {source}, which has {outputs_of(source)}")
