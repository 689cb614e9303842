"""Grader-side checks of a task's stated rules on the submitted source.

Test cells get this module as `rules` and the student's submitted code as `student_code(...)`
(read by the grader from the notebook file, never from the student's process; see
docs/AUTHORING.md). Every check parses that code and returns a list of problems, each
`"line N: what was found"` (line numbers of the code it was given), empty when the code keeps
the rule. The checks are static, so they see every spelling of a forbidden thing that the code
itself contains; what they cannot follow (strings turned into names at run time: `getattr`,
`eval`, `vars`, `__dict__`, imports of other modules...) they forbid too, and say so.

- `numpy_only(source)`: no torch reachable (ex06).
- `avoids(source, words)`: no PyTorch callable whose name contains one of `words`, in any
  spelling (ex04).
- `function_avoids(source, function, words)`: the same for what one function reaches (ex01).
- `not_from(source, targets, ...)`: the named values are not computed from forbidden values or
  calls (ex01's by-hand numbers, ex03's reshaped output).
"""

import ast
import symtable
import sys

# Stdlib module names that numpy/torch also use for their own (harmless) attributes.
_OWN_NAMES = {"array", "chunk", "copy", "random", "select", "signal", "trace", "types", "typing"}
# Attribute names that lead to a module outside numpy/torch (os, sys, builtins, importlib, ...).
STDLIB_ATTRIBUTES = frozenset(sys.stdlib_module_names) - _OWN_NAMES
# Builtins that turn strings into code or objects, or reach the interpreter's namespaces.
DYNAMIC_BUILTINS = frozenset(
    "eval exec compile getattr setattr delattr vars globals locals open breakpoint help input"
    " memoryview exit quit".split()
)
# Attributes that reach frames (and so every namespace) or that run code loaded from bytes.
ESCAPE_ATTRIBUTES = frozenset(
    "f_globals f_builtins f_locals f_back f_code gi_frame gi_code gi_yieldfrom cr_frame cr_code"
    " cr_await ag_frame ag_code tb_frame tb_next load loads read_array ctypeslib f2py extbuild"
    " build_and_import_extension".split()
)
# Dunder names that only name or initialise things; every other dunder stays forbidden (a chain
# such as `x.__class__.__subclasses__` still stops at its second link).
HARMLESS_DUNDERS = frozenset("__name__ __qualname__ __doc__ __init__ __class__ __main__".split())


def _dunder(name: str) -> bool:
    return name.startswith("__") and name not in HARMLESS_DUNDERS


# Torch namespaces that call kernels by name or compile code: they would hide any spelling.
TORCH_ESCAPES = frozenset(
    "ops library jit fx compile compiler export overrides hub package cpp_extension classes ao"
    " quantization quantized intrinsic qat fusion multiprocessing".split()
)


class _Unreadable(Exception):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def parse(source: str) -> ast.Module:
    """The code as a tree; IPython syntax (`%magic`, `!command`) is read the way the grader runs it."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as err:
        raise _Unreadable(
            f"the code cannot be read ({err.msg}: `{(err.text or '').strip()[:60]}`), "
            "so its rules cannot be checked"
        ) from None
    except Exception:  # pragma: no cover - IPython missing or failing
        raise _Unreadable("the code cannot be read, so its rules cannot be checked") from None


def _line(node) -> int:
    return getattr(node, "lineno", 0)


def _plain(name: str) -> str:
    return name.lower().replace("_", "")


def _word_in(name: str, words) -> str | None:
    plain = _plain(name)
    for word in words:
        if _plain(word) in plain:
            return word
    return None


def _finish(found, source: str) -> list[str]:
    """Problems in source order, each with the line of code it is in."""
    lines = source.splitlines()
    out = []
    for line, text in sorted(set(found)):
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if len(code) > 80:
            code = code[:77] + "..."
        out.append(f"{text} in `{code}`" if code else text)
    return list(dict.fromkeys(out))


def _closed_world(tree, *, imports, names=(), words=(), escapes=frozenset()) -> list:
    """Problems of code that may use only the modules `imports` and must not name `names` or
    any attribute / imported name containing one of `words`; dynamic access is forbidden."""
    found = []

    def attribute(name, node, base=None):
        if name in HARMLESS_DUNDERS:
            pass
        elif name.startswith("__"):
            found.append(
                (_line(node), f"`{name}` (dunder and name-mangled attributes are not allowed)")
            )
        elif name.startswith("_") and not (
            isinstance(base, ast.Name) and base.id in ("self", "cls")
        ):
            found.append((_line(node), f"`{name}` (private attributes are not allowed)"))
        elif name in STDLIB_ATTRIBUTES:
            found.append((_line(node), f"`{name}` (reaches the module {name})"))
        elif name in ESCAPE_ATTRIBUTES or name in escapes:
            found.append((_line(node), f"`{name}` (not allowed: it can run code out of sight)"))
        elif name in DYNAMIC_BUILTINS:
            found.append((_line(node), f"`{name}` (dynamic access is not allowed)"))
        else:
            word = _word_in(name, words)
            if word:
                found.append((_line(node), f"`{name}` (a built-in {word})"))

    def module(dotted, node):
        parts = dotted.split(".")
        if parts[0] not in imports:
            allowed = ", ".join(imports)
            found.append((_line(node), f"`import {dotted}` (only {allowed} may be imported)"))
            return
        for part in parts[1:]:
            attribute(part, node)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((_line(node), "relative imports are not allowed"))
                continue
            module(node.module or "", node)
            for alias in node.names:
                if alias.name == "*":
                    found.append(
                        (_line(node), f"`from {node.module} import *` (import names one by one)")
                    )
                else:
                    attribute(alias.name, node)
        elif isinstance(node, ast.Attribute):
            attribute(node.attr, node, node.value)
        elif isinstance(node, ast.MatchClass):
            for name in node.kwd_attrs:
                attribute(name, node)
        elif isinstance(node, ast.Name):
            if _dunder(node.id):
                found.append((_line(node), f"`{node.id}` (dunder names are not allowed)"))
            elif node.id in DYNAMIC_BUILTINS:
                found.append((_line(node), f"`{node.id}` (dynamic access is not allowed)"))
            elif node.id in names:
                found.append((_line(node), f"`{node.id}`"))
    return found


def numpy_only(source: str) -> list[str]:
    """Problems of code that must use NumPy only: no name `torch`, `F`, `nn`; no import but
    numpy and math; no dunder or private attribute (but `self._x`), no attribute reaching another
    module (`np.lib.npyio.os`...), no eval/exec/compile/getattr/vars/globals/locals/open..."""
    try:
        tree = parse(source)
    except _Unreadable as err:
        return [err.problem]
    return _finish(
        _closed_world(tree, imports=("numpy", "math"), names=("torch", "F", "nn")), source
    )


def avoids(source: str, words, imports=("torch", "numpy", "math")) -> list[str]:
    """Problems of code that must not use a PyTorch callable whose name contains one of `words`
    (any case, underscores ignored: "batch_norm" also finds `BatchNorm2d`, `native_batch_norm`).
    The student's own functions are called by name (`relu(x)`): only attributes and imported names
    are checked. Also forbidden, because they would hide a name: dynamic access (getattr, eval,
    vars, `__dict__`...), private attributes (`torch._C`), torch.ops/jit/fx/compile/library/
    overrides/hub/load/ao and the quantized namespaces, star imports, importing other modules."""
    try:
        tree = parse(source)
    except _Unreadable as err:
        return [err.problem]
    return _finish(
        _closed_world(tree, imports=tuple(imports), words=words, escapes=TORCH_ESCAPES), source
    )


def _bindings(tree) -> dict[str, list]:
    """Module-level name -> the statements (or import nodes) that bind it."""
    binds: dict[str, list] = {}

    def targets(node):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                yield from targets(elt)
        elif isinstance(node, ast.Starred):
            yield from targets(node.value)

    def visit(stmts):
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                binds.setdefault(stmt.name, []).append(stmt)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                    for name in targets(target):
                        binds.setdefault(name, []).append(stmt)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    name = alias.asname or alias.name.split(".")[0]
                    binds.setdefault(name, []).append(stmt)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                for name in targets(stmt.target):
                    binds.setdefault(name, []).append(stmt)
                visit(stmt.body + stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        for name in targets(item.optional_vars):
                            binds.setdefault(name, []).append(stmt)
                visit(stmt.body)
            elif isinstance(stmt, ast.If | ast.While):
                visit(stmt.body + stmt.orelse)
            elif isinstance(stmt, ast.Try):
                visit(stmt.body + stmt.orelse + stmt.finalbody)
                for handler in stmt.handlers:
                    visit(handler.body)
        for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[])):
            if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                binds.setdefault(node.target.id, []).append(node)

    visit(tree.body)
    return binds


def _global_names(node) -> set[str]:
    """The names that a function (and the functions inside it) reads from the module."""
    text = ast.unparse(ast.Module(body=[node], type_ignores=[]))
    out = set()

    def walk(table):
        for sym in table.get_symbols():
            if sym.is_global():  # a free name belongs to an enclosing function, not the module
                out.add(sym.get_name())
        for child in table.get_children():
            walk(child)

    top = symtable.symtable(text, "<student>", "exec")
    for child in top.get_children():
        walk(child)
    return out


def function_avoids(
    source: str, function: str, words, imports=("torch", "numpy", "math")
) -> list[str]:
    """Problems of `function` (and of every module-level definition it reaches: helpers, aliases,
    layers) using a PyTorch callable whose name contains one of `words`, or dynamic access."""
    try:
        tree = parse(source)
    except _Unreadable as err:
        return [err.problem]
    binds = _bindings(tree)
    if function not in binds:
        return []  # not defined: the runtime tests fail on their own
    found, seen, todo = [], set(), list(binds[function])
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found += _closed_world(node, imports=imports, words=words, escapes=TORCH_ESCAPES)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            reads = _global_names(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            reads = set()
        else:
            value = getattr(node, "value", None) or getattr(node, "iter", None) or node
            reads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        for name in reads - {function}:
            todo += binds.get(name, [])
    return _finish(found, source)


# What can write a namespace out of sight (so set an answer whatever its assignments say).
_WRITERS = {"exec", "eval", "compile", "globals", "vars", "locals", "setattr", "delattr"}
_WRITER_ATTRIBUTES = {"modules", "f_globals", "f_locals", "f_back", "gi_frame", "tb_frame"}
# What reads a value that the analysis cannot name: its result counts as forbidden.
_READERS = {"getattr", "open", "input"}


class _Flow:
    """Flow-sensitive taint of module-level names: which values come from a forbidden source."""

    def __init__(self, tree, *, names, words, keep, through, matmul, barrier):
        self.names, self.words, self.keep = set(names), tuple(words), set(keep)
        self.through, self.matmul, self.barrier = set(through), matmul, set(barrier)
        self.parent = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        self.tainted: dict[str, int] = {}  # name -> line where it got a forbidden value
        self.functions: dict[str, ast.AST] = {}
        self._active: set[str] = set()  # functions being followed (recursion guard)

    def inside_function(self, node) -> bool:
        up = self.parent.get(node)
        while up is not None:
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return True
            up = self.parent.get(up)
        return False

    def _source(self, node, local=frozenset()) -> int | None:
        """The line of a forbidden source inside expression `node`, or None."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id not in local and sub.id not in self.barrier:
                if sub.id in self.names or sub.id in _READERS:
                    return _line(sub)
                if _word_in(sub.id, self.words) and sub.id not in self.keep:
                    up = self.parent.get(sub)
                    if not (isinstance(up, ast.Attribute) and up.attr in self.through):
                        return _line(sub)
                if sub.id in self.tainted:
                    return _line(sub)
                if sub.id in self.functions and sub.id not in self._active:
                    self._active.add(sub.id)
                    try:
                        line = self._function(self.functions[sub.id])
                    finally:
                        self._active.discard(sub.id)
                    if line is not None:
                        return line
            elif isinstance(sub, ast.Attribute) and _word_in(sub.attr, self.words):
                return _line(sub)
            elif self.matmul and isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.MatMult):
                return _line(sub)
        return None

    def _function(self, node) -> int | None:
        if isinstance(node, ast.Lambda):
            args, body = node.args, [node.body]
        else:
            args, body = node.args, node.body
        local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        for sub in ast.walk(
            ast.Module(
                body=[ast.Expr(b) if isinstance(b, ast.expr) else b for b in body], type_ignores=[]
            )
        ):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                local.add(sub.id)
        for stmt in body:
            line = self._source(stmt, frozenset(local))
            if line is not None:
                return line
        return None

    @staticmethod
    def _names(target):
        if isinstance(target, ast.Name):
            yield target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                yield from _Flow._names(elt)
        elif isinstance(target, ast.Starred):
            yield from _Flow._names(target.value)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            base = target.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                yield base.id

    def _assign(self, targets, line, conditional, partial=False):
        for target in targets:
            whole = isinstance(target, (ast.Name, ast.Tuple, ast.List, ast.Starred))
            for name in self._names(target):
                if _word_in(name, self.words) and name not in self.keep:
                    continue  # a name such as `conv` is a source itself, but for `through`
                if line is not None:
                    self.tainted.setdefault(name, line)
                elif whole and not conditional and not partial:
                    self.tainted.pop(name, None)

    def block(self, stmts, conditional=False):
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self.functions[stmt.name] = stmt
                self.tainted.pop(stmt.name, None)
            elif isinstance(stmt, ast.ClassDef):
                self.block(stmt.body, conditional=True)
            elif isinstance(stmt, ast.Assign):
                self._walrus(stmt.value)
                self._assign(stmt.targets, self._source(stmt.value), conditional)
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and isinstance(stmt.value, ast.Lambda):
                        self.functions[target.id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self._assign([stmt.target], self._source(stmt.value), conditional)
            elif isinstance(stmt, ast.AugAssign):
                self._assign([stmt.target], self._source(stmt.value), conditional, partial=True)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                self._assign([stmt.target], self._source(stmt.iter), True)
                self.block(stmt.body + stmt.orelse, True)
                self.block(stmt.body, True)  # a second pass: values carried round the loop
            elif isinstance(stmt, ast.While):
                self.block(stmt.body + stmt.orelse, True)
                self.block(stmt.body, True)
            elif isinstance(stmt, ast.If):
                self._walrus(stmt.test)
                self.block(stmt.body, True)
                self.block(stmt.orelse, True)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        self._assign([item.optional_vars], self._source(item.context_expr), True)
                self.block(stmt.body, conditional)
            elif isinstance(stmt, ast.Try):
                self.block(stmt.body, True)
                for handler in stmt.handlers:
                    self.block(handler.body, True)
                self.block(stmt.orelse + stmt.finalbody, True)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if _word_in(alias.name, self.words):
                        self.tainted.setdefault(bound, _line(stmt))
                    elif not conditional:
                        self.tainted.pop(bound, None)
            elif isinstance(stmt, ast.Expr):
                self._walrus(stmt.value)
                self._mutation(stmt.value)
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    self.block(case.body, True)

    def _walrus(self, expr):
        for sub in ast.walk(expr):
            if isinstance(sub, ast.NamedExpr):
                self._assign([sub.target], self._source(sub.value), True)

    def _mutation(self, expr):
        """`a.copy_(b)`, `a.add_(b)`, `a.append(b)`: a method call on `a` with a tainted argument."""
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                args = [*sub.args, *(k.value for k in sub.keywords)]
                line = next((ln for a in args if (ln := self._source(a)) is not None), None)
                if line is not None:
                    self._assign([sub.func.value], line, True)


def not_from(
    source: str, targets, *, names=(), words=(), keep=(), through=(), matmul=False, barrier=()
) -> list[str]:
    """Problems of the values `targets` (module-level names) being computed, anywhere in
    `source`, from a forbidden source: a name in `names` (e.g. a layer's output `y`), a name or
    attribute containing one of `words` (e.g. "conv": `conv(x)`, `F.conv1d`), except the names in
    `keep` and a word-name used only through the attributes `through` (`conv.weight`), or (with
    `matmul`) the `@` operator. Names in `barrier` count as clean whatever they hold. A value
    read with getattr counts as forbidden; code that can set names out of sight (exec, eval,
    compile, globals, vars, locals, setattr, dunder names and attributes, `sys.modules`, frames)
    is a problem wherever it is. The analysis follows assignments in order (a later clean assignment clears a name),
    through functions, loops, aliases and in-place calls such as `a.copy_(b)`."""
    try:
        tree = parse(source)
    except _Unreadable as err:
        return [err.problem]
    targets = set(targets)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (node.id in _WRITERS or _dunder(node.id)):
            found.append((_line(node), f"`{node.id}` hides where values come from"))
        elif isinstance(node, ast.Attribute) and (
            node.attr in _WRITER_ATTRIBUTES or _dunder(node.attr)
        ):
            found.append((_line(node), f"`{node.attr}` hides where values come from"))
    flow = _Flow(
        tree, names=names, words=words, keep=keep, through=through, matmul=matmul, barrier=barrier
    )
    flow.block(tree.body)
    for name in sorted(targets & set(flow.tainted)):
        found.append((flow.tainted[name], f"`{name}` is computed from a forbidden value"))
    # Assignments to a target inside a function body (with `global`), or to a module's attribute
    # of that name (`__main__.y000_by_hand = ...`), count wherever they are.
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or node.value is None:
            continue
        hit = False
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            if isinstance(target, ast.Attribute) and target.attr in targets:
                hit = True
            elif any(flow.inside_function(node) and n in targets for n in flow._names(target)):
                hit = True
        line = flow._source(node.value) if hit else None
        if line is not None:
            found.append((line, "an answer is set from a forbidden value"))
    return _finish(found, source)


def first(problems: list[str], n: int = 3) -> str:
    """The first few problems, for a test's message."""
    shown = "; ".join(problems[:n])
    return shown + (f"; and {len(problems) - n} more" if len(problems) > n else "")


__all__ = ["avoids", "first", "function_avoids", "not_from", "numpy_only", "parse"]
