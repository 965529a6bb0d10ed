"""Python sources, read by their syntax tree (`ast.parse`: the code is never executed nor imported).

What names a model:
- `X.from_pretrained("org/name")` on any class (PEFT's `PeftModel.from_pretrained(base, "org/adapter")`: the
  second argument), diffusers' `from_single_file("https://huggingface.co/...")`;
- `pipeline(task, model=...)`, `hf_hub_download` / `snapshot_download(repo_id=...)` (not of a dataset or a Space),
  `SentenceTransformer(...)` (a bare name is the `sentence-transformers/` repo, as the library resolves it),
  `CrossEncoder(...)`, vLLM's `LLM(model=...)` and engine arguments, `InferenceClient(model=...)` and the methods
  of such a client, the Hugging Face wrappers of LangChain and LlamaIndex (`model_id=`, `repo_id=`,
  `model_name=`, `model=`);
- the OpenAI, Anthropic, Google and Mistral clients and their LangChain / LlamaIndex classes: `model="gpt-4o"`
  is the provider's model (`openai/gpt-4o`); a client made with `base_url=` talks to another server, so a name
  there is attributed only when it names its provider itself (`gpt-4o`) or is a Hub id;
- `argparse` / `click` options whose name says model (`--model-id`) with a default, and class fields named like a
  model setting (`model_name: str = "org/name"`) in a settings class or dataclass: configuration.

Values are string constants, or names resolved to them: in the function (its parameters' defaults included),
the class (`self.model_id` set in a method) and the module, through `if`/`else` and `or`, and through a
simple `from x import CONSTANT` (or `import x` then `x.CONSTANT`) of a module in the same tree, which the
caller resolves once the whole tree is known (`Pending`). `os.getenv("MODEL", "org/name")`,
`os.environ.get(...)` and `${...}`-free defaults are reported with their default and the variable that
overrides them (configurable). An f-string, a concatenation or a call's result is not guessed.

Bounded: a file that does not parse (SyntaxError, a tree nested too deep, a NUL byte) is reported with its
line and column and skipped; walks are iterative, resolutions are bounded in depth and in values.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from policy.records import record
from policy.scan.inventory.common import FileResult, Found
from policy.scan.inventory.shapes import (
    api_model,
    hub_id,
    hub_id_from_url,
    is_model_setting,
    provider_model_id,
    provider_of_name,
)

# What every reference this module finds has on its lines: a callee's name, or a keyword, field or option that
# holds a model (`model=`, `model_name:`, `repo_id`, `--model-id`). A file without any is not parsed, and in a
# parsed file only the statements whose lines have one are searched (names are still resolved everywhere).
# Words are looked for with `in` / `str.find` and the model pattern starts with a literal: both scan at memory
# speed, where one regular expression of alternatives would try each of them at every character.
TRIGGER_WORDS = ("from_pretrained", "from_single_file", "hf_hub_download", "snapshot_download", "hf_hub_url",
                 "SentenceTransformer", "CrossEncoder", "SparseEncoder", "InferenceClient", "HuggingFace",
                 "GenerativeModel", "pipeline", "LLM", "EngineArgs", "repo_id", "tokenizer_name")
_MODEL_WORD = r"model(?:\w*['\"]?\s*[=:]|[\w-]*['\"])"
_WORDS_BYTES = tuple(w.encode() for w in TRIGGER_WORDS)
_MODEL_BYTES = re.compile(_MODEL_WORD.encode())
_MODEL_TEXT = re.compile(_MODEL_WORD)
MAX_HOT = 100_000  # trigger words looked for in one source


def triggered(data: bytes) -> bool:
    """Whether a Python file's bytes have a trigger word (else nothing in it names a model)."""
    return any(word in data for word in _WORDS_BYTES) or _MODEL_BYTES.search(data) is not None

MAX_DEPTH = 10  # names followed through names
MAX_VALUES = 16  # values one expression may stand for
MAX_DETAIL = 80
MAX_FOUND = 2000  # references kept per file

ENV_CALLS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.putenv"})
_HF_API_WORDS = ("Endpoint", "InferenceAPI", "HuggingFaceHub")

# Provider SDK modules (longest first wins) and the classes whose `model=` names a provider's model.
PROVIDER_MODULES: tuple[tuple[str, str], ...] = (
    ("openai", "openai"), ("anthropic", "anthropic"), ("google.generativeai", "google"), ("google.genai", "google"),
    ("vertexai", "google"), ("mistralai", "mistral"), ("langchain_openai", "openai"),
    ("langchain_anthropic", "anthropic"), ("langchain_google_genai", "google"), ("langchain_google_vertexai", "google"),
    ("langchain_mistralai", "mistral"), ("llama_index.llms.openai", "openai"),
    ("llama_index.llms.anthropic", "anthropic"),
    ("llama_index.llms.gemini", "google"), ("llama_index.llms.google_genai", "google"),
    ("llama_index.llms.mistralai", "mistral"), ("llama_index.embeddings.openai", "openai"),
    ("llama_index.embeddings.gemini", "google"), ("llama_index.embeddings.google_genai", "google"),
    ("llama_index.embeddings.mistralai", "mistral"),
)
WRAPPER_CLASSES = {  # LangChain / LlamaIndex classes, recognised by name under langchain* / llama_index*
    "ChatOpenAI": "openai", "OpenAIEmbeddings": "openai", "AzureChatOpenAI": "azure-openai",
    "AzureOpenAIEmbeddings": "azure-openai", "ChatAnthropic": "anthropic", "ChatGoogleGenerativeAI": "google",
    "GoogleGenerativeAIEmbeddings": "google", "ChatVertexAI": "google", "VertexAI": "google",
    "ChatMistralAI": "mistral", "MistralAIEmbeddings": "mistral", "Gemini": "google", "GoogleGenAI": "google",
    "MistralAI": "mistral", "OpenAIEmbedding": "openai", "GeminiEmbedding": "google", "MistralAIEmbedding": "mistral",
}
CLIENT_CLASSES = {  # the SDKs' own clients, recognised by name when not imported from elsewhere
    "OpenAI": "openai", "AsyncOpenAI": "openai", "AzureOpenAI": "azure-openai", "AsyncAzureOpenAI": "azure-openai",
    "Anthropic": "anthropic", "AsyncAnthropic": "anthropic", "AnthropicBedrock": "anthropic",
    "AnthropicVertex": "anthropic", "MistralClient": "mistral", "MistralAsyncClient": "mistral",
    "GenerativeModel": "google",
}
# Method chains of the providers' APIs, for a client the module does not show being made (passed in).
API_METHODS = (".chat.completions.create", ".chat.completions.parse", ".completions.create", ".embeddings.create",
               ".responses.create", ".responses.parse", ".messages.create", ".messages.stream",
               ".models.generate_content", ".generate_content", ".chat.complete", ".chat.stream",
               ".images.generate", ".audio.transcriptions.create", ".audio.speech.create", ".beta.messages.create")
HF_CLIENTS = frozenset({"InferenceClient", "AsyncInferenceClient"})
SENTENCE_CLASSES = frozenset({"SentenceTransformer", "CrossEncoder", "SparseEncoder"})
VLLM_CLASSES = frozenset({"LLM", "EngineArgs", "AsyncEngineArgs"})


@record(slots=True)
class Value:
    """A string an expression stands for, and how: `setting` is what overrides it (an environment variable)."""

    text: str
    setting: str = ""
    how: str = ""


@record(slots=True)
class Ref:
    """A name imported from a module that may be in the same tree (`from .config import MODEL`)."""

    module: str
    level: int
    name: str
    setting: str = ""  # an environment default around it (`os.getenv("M", CONSTANT)`)


@record(slots=True)
class Spec:
    """What a value found at a call means."""

    kind: str  # hub | api
    use: str
    detail: str
    bare: bool = False  # a one-word Hub id (`gpt2`) is accepted
    url: bool = False  # a Hub URL names the repo
    prefix: str = ""  # a bare name is this org's repo (SentenceTransformer)
    provider: str = ""  # api: the provider ("" = told by the model's name)
    compatible: bool = False  # api: a client made with `base_url=` (another server)


@record(slots=True)
class Pending:
    """A reference through an imported name, resolved once the tree's modules are known."""

    ref: Ref
    spec: Spec
    line: int
    column: int
    cell: int = 0
    importer: str = ""  # the file that imports (for relative imports)


@record(slots=True)
class _Client:
    provider: str = ""  # openai | anthropic | google | mistral | azure-openai
    hf: bool = False  # huggingface_hub's InferenceClient
    compatible: bool = False  # made with base_url=


def make_found(value: Value, spec: Spec, line: int, column: int, cell: int = 0, via: str = "") -> Found | None:
    """The reference `value` is at a call described by `spec`, or None when it has no model's shape."""
    text = value.text
    how = ", ".join(h for h in (value.how, via) if h)
    detail = f"{spec.detail} ({how})" if how else spec.detail
    if spec.kind == "hub":
        found = hub_id(text, bare=spec.bare) or (hub_id_from_url(text) if spec.url else None)
        if found and spec.prefix and "/" not in found:
            found = f"{spec.prefix}/{found}"
        if not found:
            return None
        return Found(found, "hub", line, spec.use, detail, value.setting, column, cell)
    if "/" in text and not text.startswith("models/"):  # `org/name`: a Hub id served by an API (or a provider's
        found = hub_id(text)  # own `provider/model`, which the catalog tells apart later)
        return Found(found, "hub", line, spec.use, detail, value.setting, column, cell) if found else None
    name = api_model(text)
    if not name:
        return None
    provider = spec.provider if spec.provider and not spec.compatible else provider_of_name(name)
    if provider is None:
        if not spec.compatible:
            return None
        return Found(f"openai-compatible/{name}", "api", line, spec.use,
                     f"{detail}; a server the inventory cannot name", value.setting, column, cell)
    return Found(provider_model_id(provider, name), "api", line, spec.use, detail, value.setting, column, cell)


# -- scopes: which string each name may stand for ---------------------------------------------------------------
Entry = tuple[ast.expr, "_Scope", str, bool]  # (expression, scope to resolve it in, how, each element of it)


class _Class:
    __slots__ = ("attrs",)

    def __init__(self) -> None:
        self.attrs: dict[str, list[Entry]] = {}


class _Scope:
    __slots__ = ("cls", "is_class", "module", "names", "parent", "self_name")

    def __init__(self, module: _Module, parent: _Scope | None, cls: _Class | None = None,
                 self_name: str = "", is_class: bool = False) -> None:
        self.module = module
        self.parent = parent
        self.cls = cls  # the class of a method (for `self.x`), or of a class body
        self.self_name = self_name  # a method's first parameter
        self.is_class = is_class  # a class body
        self.names: dict[str, list[Entry]] = {}

    def owner(self) -> _Class | None:
        """The class whose attributes `self.x` (or `cls.x`) names here: the method's or the class body's."""
        s: _Scope | None = self
        while s is not None and s.cls is None:
            s = s.parent
        return s.cls if s is not None else None

    def add(self, name: str, entry: Entry) -> None:
        entries = self.names.setdefault(name, [])
        if len(entries) < MAX_VALUES:
            entries.append(entry)


class _Module:
    """One parsed module: its imports, its scopes, and how to resolve an expression to strings."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        # every import of the module, wherever it is (a function's own imports too): local name -> its origin
        self.from_imports: dict[str, tuple[str, int, str]] = {}  # local name -> (module, level, name)
        self.module_imports: dict[str, tuple[str, int]] = {}  # local name -> (module, level)
        self.scope = _Scope(self, None)
        self.scopes: dict[int, _Scope] = {}  # id(def or class node) -> the scope its body runs in
        self._build()

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    self.from_imports[alias.asname or alias.name] = (node.module or "", node.level or 0, alias.name)
            return
        for alias in node.names:
            if alias.asname:
                self.module_imports[alias.asname] = (alias.name, 0)
            else:
                top = alias.name.split(".")[0]
                self.module_imports[top] = (top, 0)

    def qualified(self, node: ast.expr) -> str:
        """A callee's name with its imports resolved: `AutoModel.from_pretrained` -> `transformers.AutoModel.
        from_pretrained`; a name not imported stays as written; "" for what is not a dotted name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return ""
        base = node.id
        if base in self.from_imports:
            module, level, name = self.from_imports[base]
            base = f"{'.' * level}{module}.{name}" if module else f"{'.' * level}{name}"
        elif base in self.module_imports:
            base = self.module_imports[base][0]
        return ".".join([base, *reversed(parts)])

    # scopes: one pass over the statements, iterative
    def _build(self) -> None:
        stack: list[tuple[ast.AST, _Scope]] = [(self.tree, self.scope)]
        while stack:
            owner, scope = stack.pop()
            for stmt in _own_statements(owner):
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                    stack.append((stmt, self._function(stmt, scope)))
                elif isinstance(stmt, ast.ClassDef):
                    inner = _Scope(self, scope, _Class(), is_class=True)
                    self.scopes[id(stmt)] = inner
                    stack.append((stmt, inner))
                elif isinstance(stmt, ast.Import | ast.ImportFrom):
                    self._import(stmt)
                else:
                    self._assignment(stmt, scope)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> _Scope:
        in_class = scope.is_class  # a method: the class body's names are not visible in it (as in Python)
        outer = scope.parent if in_class and scope.parent is not None else scope
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        self_name = positional[0].arg if in_class and positional else ""
        inner = _Scope(self, outer, scope.cls if in_class else None, self_name)
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults,
                            strict=True))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None})
        for a in [*positional, *args.kwonlyargs, *([args.vararg] if args.vararg else []),
                  *([args.kwarg] if args.kwarg else [])]:
            inner.names.setdefault(a.arg, [])  # a parameter shadows the names outside, even without a default
            if a.arg in defaults:
                inner.add(a.arg, (defaults[a.arg], scope, f"default of parameter {a.arg}", False))
        self.scopes[id(node)] = inner
        return inner

    def _assignment(self, stmt: ast.stmt, scope: _Scope) -> None:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        elif isinstance(stmt, ast.For | ast.AsyncFor) and isinstance(stmt.target, ast.Name):
            scope.add(stmt.target.id, (stmt.iter, scope, "", True))
            return
        else:
            if isinstance(stmt, ast.AugAssign | ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                scope.names.setdefault(stmt.target.id, [])
            return
        for target in targets:
            if isinstance(target, ast.Name):
                scope.add(target.id, (value, scope, "", False))
                if scope.cls is not None and scope.is_class:
                    entries = scope.cls.attrs.setdefault(target.id, [])
                    if len(entries) < MAX_VALUES:
                        entries.append((value, scope, "", False))
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and scope.self_name \
                    and target.value.id == scope.self_name and scope.cls is not None:
                entries = scope.cls.attrs.setdefault(target.attr, [])
                if len(entries) < MAX_VALUES:
                    entries.append((value, scope, "", False))
            elif isinstance(target, ast.Tuple | ast.List):
                for elt in target.elts:
                    if isinstance(elt, ast.Name):
                        scope.names.setdefault(elt.id, [])  # unpacked: shadows, stands for nothing known

    # resolution
    def resolve(self, expr: ast.expr, scope: _Scope, depth: int = 0, setting: str = "") -> list[Value | Ref]:
        """The strings `expr` may stand for (and the imported names it may stand for, to resolve later)."""
        if depth > MAX_DEPTH:
            return []
        out: list[Value | Ref] = []
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, str):
                out.append(Value(expr.value, setting))
        elif isinstance(expr, ast.Name):
            out.extend(self._name(expr.id, scope, depth, setting))
        elif isinstance(expr, ast.Attribute):
            out.extend(self._attribute(expr, scope, depth, setting))
        elif isinstance(expr, ast.IfExp):
            out += self.resolve(expr.body, scope, depth + 1, setting)
            out += self.resolve(expr.orelse, scope, depth + 1, setting)
        elif isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):  # `os.getenv("M") or "org/name"`
            env = ""
            for value in expr.values:
                key = self._env_key(value, scope)
                if key is not None:
                    env = env or key
                    out += self._env_default(value, scope, depth, key)
                elif env:
                    out += [Value(v.text, v.setting or env, v.how or f"default of ${env}") if isinstance(v, Value)
                            else Ref(v.module, v.level, v.name, v.setting or env)
                            for v in self.resolve(value, scope, depth + 1, env)]
                else:
                    out += self.resolve(value, scope, depth + 1, setting)
        elif isinstance(expr, ast.Call):
            key = self._env_key(expr, scope)
            if key is not None:
                out += self._env_default(expr, scope, depth, key)
            elif self.qualified(expr.func).rsplit(".", 1)[-1] in ("Field", "str") and (expr.args or expr.keywords):
                default = _argument(expr, 0, ("default",))  # pydantic's Field(default=...), str(...)
                if default is not None:
                    out += self.resolve(default, scope, depth + 1, setting)
        elif isinstance(expr, ast.NamedExpr):
            out += self.resolve(expr.value, scope, depth + 1, setting)
        return out[:MAX_VALUES]

    def _each(self, expr: ast.expr, scope: _Scope, depth: int) -> list[Value | Ref]:
        if isinstance(expr, ast.List | ast.Tuple | ast.Set):
            return [v for elt in expr.elts[:MAX_VALUES] for v in self.resolve(elt, scope, depth + 1)]
        if isinstance(expr, ast.Name):  # a name bound to a list literal
            out: list[Value | Ref] = []
            for entry in self._entries(expr.id, scope):
                if isinstance(entry, tuple) and not entry[3]:
                    out += self._each(entry[0], entry[1], depth + 1)
            return out
        return []

    def _entries(self, name: str, scope: _Scope) -> list[Entry | Ref]:
        s: _Scope | None = scope
        while s is not None:
            if name in s.names:
                return list(s.names[name])
            s = s.parent
        if name in self.from_imports:
            module, level, attr = self.from_imports[name]
            return [Ref(module, level, attr)]
        return []

    def _name(self, name: str, scope: _Scope, depth: int, setting: str) -> list[Value | Ref]:
        out: list[Value | Ref] = []
        for entry in self._entries(name, scope):
            if isinstance(entry, Ref):
                out.append(Ref(entry.module, entry.level, entry.name, setting))
                continue
            expr, where, how, each = entry
            values = self._each(expr, where, depth + 1) if each else self.resolve(expr, where, depth + 1, setting)
            out += [Value(v.text, v.setting or setting, v.how or how or (f"{name}" if where is self.scope else ""))
                    if isinstance(v, Value) else v for v in values]
        return out

    def _attribute(self, expr: ast.Attribute, scope: _Scope, depth: int, setting: str) -> list[Value | Ref]:
        base = expr.value
        if isinstance(base, ast.Name):
            owner = scope.owner()
            if owner is not None and base.id in (scope.self_name or "self", "self", "cls"):
                out: list[Value | Ref] = []
                for value, where, how, each in owner.attrs.get(expr.attr, []):
                    found = self._each(value, where, depth + 1) if each else self.resolve(value, where, depth + 1,
                                                                                            setting)
                    out += [Value(v.text, v.setting or setting, v.how or how or f"self.{expr.attr}")
                            if isinstance(v, Value) else v for v in found]
                return out
            if base.id in self.module_imports and base.id not in scope.names:  # `import config; config.MODEL`
                module, level = self.module_imports[base.id]
                return [Ref(module, level, expr.attr, setting)]
            if base.id in self.from_imports and base.id not in scope.names:  # `from app import config`
                module, level, name = self.from_imports[base.id]
                return [Ref(f"{module}.{name}" if module else name, level, expr.attr, setting)]
        return []

    def _env_key(self, expr: ast.expr, scope: _Scope) -> str | None:
        """The variable of an environment read (`os.getenv("MODEL", ...)`, `os.environ.get(...)`), else None."""
        if not isinstance(expr, ast.Call) or self.qualified(expr.func) not in ENV_CALLS or not expr.args:
            return None
        key = expr.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value[:80]
        names = [v.text for v in self.resolve(key, scope, MAX_DEPTH - 1) if isinstance(v, Value)]
        return names[0][:80] if names else "an environment variable"

    def _env_default(self, expr: ast.expr, scope: _Scope, depth: int, key: str) -> list[Value | Ref]:
        if not isinstance(expr, ast.Call):
            return []
        default = expr.args[1] if len(expr.args) > 1 else next(
            (k.value for k in expr.keywords if k.arg in ("default", "value")), None)
        if default is None:
            return []
        how = f"default of ${key}"
        return [Value(v.text, key, how) if isinstance(v, Value) else Ref(v.module, v.level, v.name, key)
                for v in self.resolve(default, scope, depth + 1, key)]

    def constant(self, name: str) -> list[Value | Ref]:
        """What a module-level name stands for (for a module that imports it)."""
        return self._name(name, self.scope, 0, "")


def _own_statements(owner: ast.AST) -> Iterator[ast.stmt]:
    """The statements that run in `owner`'s scope (a module, function or class body), those nested in `if`,
    `for`, `with`, `try` and `match` included, nested functions and classes as statements but not their bodies."""
    body: list[ast.stmt] = list(getattr(owner, "body", []))
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        children: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            children += [s for s in getattr(stmt, name, []) or [] if isinstance(s, ast.stmt)]
        for handler in getattr(stmt, "handlers", []) or []:
            children += handler.body
        for case in getattr(stmt, "cases", []) or []:
            children += case.body
        stack.extend(reversed(children))


def _argument(call: ast.Call, index: int | None, names: Sequence[str]) -> ast.expr | None:
    for k in call.keywords:
        if k.arg in names:
            return k.value
    if index is not None and len(call.args) > index and not any(isinstance(a, ast.Starred)
                                                                 for a in call.args[:index + 1]):
        return call.args[index]
    return None


def _dotted(node: ast.expr) -> str:
    """The callee as written, for a location's detail: `AutoModel.from_pretrained`, `OpenAI().chat...create`."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    else:
        parts.append("...")
    text = ".".join(reversed(parts))
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 3] + "..."


# -- what a call names ----------------------------------------------------------------------------------------------
def hot_lines(source: str) -> list[int]:
    """The lines (1-based, sorted) on which a trigger word is."""
    positions: list[int] = []
    for word in TRIGGER_WORDS:
        at = source.find(word)
        while at >= 0 and len(positions) < MAX_HOT:
            positions.append(at)
            at = source.find(word, at + len(word))
    positions += [m.start() for m, _ in zip(_MODEL_TEXT.finditer(source), range(MAX_HOT), strict=False)]
    positions.sort()
    out: list[int] = []
    line, at = 1, 0
    for position in positions:
        line += source.count("\n", at, position)
        at = position
        if not out or out[-1] != line:
            out.append(line)
    return out


class _Finder:
    def __init__(self, module: _Module, cell: int, line_offset: int, hot: list[int]) -> None:
        self.m = module
        self.cell = cell
        self.line_offset = line_offset
        self.hot = hot
        self.found: list[Found] = []
        self.pending: list[Pending] = []

    def _cold(self, node: ast.AST) -> bool:
        """Whether no line of `node` has a trigger word (then nothing in it names a model)."""
        first = getattr(node, "lineno", None)
        if first is None:
            return False
        last = getattr(node, "end_lineno", None) or first
        i = bisect_left(self.hot, first)
        return i >= len(self.hot) or self.hot[i] > last

    def run(self) -> None:
        m = self.m
        stack: list[tuple[ast.AST, _Scope]] = [(m.tree, m.scope)]
        while stack and len(self.found) < MAX_FOUND:
            node, scope = stack.pop()
            if self._cold(node):
                continue
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = m.scopes.get(id(node), scope)
                head: list[ast.AST] = list(node.decorator_list)
                if isinstance(node, ast.ClassDef):
                    head += [*node.bases, *node.keywords]
                    self._class_fields(node, inner)
                else:
                    head += [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]
                stack.extend((child, scope) for child in reversed(head))
                stack.extend((child, inner) for child in reversed(node.body))
                continue
            if isinstance(node, ast.Call):
                self._call(node, scope)
            stack.extend((child, scope) for child in reversed(list(ast.iter_child_nodes(node))))

    def _emit(self, expr: ast.expr | None, spec: Spec, scope: _Scope, at: ast.AST) -> None:
        if expr is None:
            return
        line = getattr(at, "lineno", 0) + self.line_offset
        column = getattr(at, "col_offset", -1) + 1
        for value in self.m.resolve(expr, scope):
            if isinstance(value, Ref):
                self.pending.append(Pending(value, spec, line, column, self.cell))
                continue
            found = make_found(value, spec, line, column, self.cell)
            if found is not None:
                self.found.append(found)

    def _call(self, node: ast.Call, scope: _Scope) -> None:
        m = self.m
        q = m.qualified(node.func)
        written = _dotted(node.func)
        parts = q.split(".") if q else written.split(".")
        last = parts[-1]
        owner = parts[-2] if len(parts) > 1 else ""
        module = q.rsplit(".", 1)[0] if "." in q else ""
        if last == "from_pretrained":
            if owner.startswith("Peft") or owner in ("PeftMixedModel",):
                self._emit(_argument(node, 1, ("model_id",)), Spec("hub", "loaded", written, bare=True), scope, node)
            else:
                self._emit(_argument(node, 0, ("pretrained_model_name_or_path", "model_id", "repo_id")),
                           Spec("hub", "loaded", written, bare=True, url=True), scope, node)
            return
        if last == "from_single_file":
            self._emit(_argument(node, 0, ("pretrained_model_link_or_path",)),
                       Spec("hub", "loaded", written, url=True), scope, node)
            return
        if last == "pipeline" and (q.startswith(("transformers", "diffusers")) or q == "pipeline"):
            self._emit(_argument(node, 1, ("model",)), Spec("hub", "loaded", f"{written}(model=)",
                                                            bare=q.startswith("transformers")), scope, node)
            return
        if last in ("hf_hub_download", "snapshot_download", "hf_hub_url"):
            repo_type = _argument(node, None, ("repo_type",))
            kinds = [v.text for v in m.resolve(repo_type, scope) if isinstance(v, Value)] if repo_type else []
            if any(k in ("dataset", "space", "datasets", "spaces") for k in kinds):
                return
            self._emit(_argument(node, 0, ("repo_id",)), Spec("hub", "downloaded", written, bare=True), scope, node)
            return
        if last in SENTENCE_CLASSES:
            prefix = "sentence-transformers" if last == "SentenceTransformer" else "cross-encoder" \
                if last == "CrossEncoder" else ""
            self._emit(_argument(node, 0, ("model_name_or_path", "model_name")),
                       Spec("hub", "loaded", written, bare=True, prefix=prefix), scope, node)
            return
        if last in VLLM_CLASSES and (q.startswith("vllm") or q == last):
            self._emit(_argument(node, 0 if last == "LLM" else None, ("model",)),
                       Spec("hub", "loaded", f"{written}(model=)", bare=q.startswith("vllm")), scope, node)
            return
        if last in HF_CLIENTS:
            self._emit(_argument(node, 0, ("model",)), Spec("hub", "api-call", written, bare=True), scope, node)
            return
        hf_name = next((p for p in (*parts, *written.split(".")) if "HuggingFace" in p), "")
        if hf_name:
            use = "api-call" if any(w in hf_name for w in _HF_API_WORDS) else "loaded"
            for key in ("model_id", "repo_id", "model_name", "model", "tokenizer_name"):
                self._emit(_argument(node, None, (key,)), Spec("hub", use, f"{written}({key}=)", bare=True),
                           scope, node)
            return
        provider = _class_provider(module, last)
        if provider:
            index = 0 if last == "GenerativeModel" else None
            self._emit(_argument(node, index, ("model", "model_name")),
                       Spec("api", "api-call", written, provider=provider), scope, node)
            return
        if last in ("add_argument", "option"):  # argparse, click: `--model-id` with a default
            options = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                       and a.value.startswith("-")]
            option = next((o for o in options if o.startswith("--")), options[0] if options else "")
            default = _argument(node, None, ("default",))
            if option and is_model_setting(option.lstrip("-")) and default is not None:
                for value in m.resolve(default, scope):
                    if isinstance(value, Value):
                        found = make_found(Value(value.text, option, f"default of option {option}"),
                                           Spec("hub", "config", written), node.lineno + self.line_offset,
                                           node.col_offset + 1, self.cell)
                        if found is not None:
                            self.found.append(found)
            return
        model = _argument(node, None, ("model",))
        if model is None or not isinstance(node.func, ast.Attribute):
            return
        client = self._client(node.func.value, scope, 0)
        if client is not None and client.hf:
            self._emit(model, Spec("hub", "api-call", f"{written}(model=)", bare=True), scope, node)
        elif client is not None:
            self._emit(model, Spec("api", "api-call", f"{written}(model=)", provider=client.provider,
                                   compatible=client.compatible), scope, node)
        elif any(f".{written}".endswith(m_) for m_ in API_METHODS):
            self._emit(model, Spec("api", "api-call", f"{written}(model=)"), scope, node)

    def _client(self, expr: ast.expr, scope: _Scope, depth: int) -> _Client | None:
        """The API client an expression is (`client`, `self.client`, `OpenAI()`, `openai`), if the module shows."""
        if depth > MAX_DEPTH:
            return None
        m = self.m
        while isinstance(expr, ast.Attribute) and not (isinstance(expr.value, ast.Name)
                                                        and expr.value.id in ("self", "cls", scope.self_name)):
            expr = expr.value
        if isinstance(expr, ast.Call):
            q = m.qualified(expr.func)
            last = q.rsplit(".", 1)[-1] if q else ""
            if last in HF_CLIENTS:
                return _Client(hf=True)
            module = q.rsplit(".", 1)[0] if "." in q else ""
            provider = _class_provider(module, last)
            if provider:
                return _Client(provider, compatible=_argument(expr, None, ("base_url", "api_base")) is not None
                               and provider in ("openai",))
            if isinstance(expr.func, ast.Attribute):
                return self._client(expr.func.value, scope, depth + 1)
            return None
        if isinstance(expr, ast.Name):
            if expr.id in m.module_imports and expr.id not in scope.names:
                provider = _module_provider(m.module_imports[expr.id][0])
                return _Client(provider) if provider else None
            entries = m._entries(expr.id, scope)
            for entry in entries:
                if isinstance(entry, tuple) and not entry[3]:
                    found = self._client(entry[0], entry[1], depth + 1)
                    if found is not None:
                        return found
            return None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            owner = scope.owner()
            if owner is not None:
                for value, where, _how, each in owner.attrs.get(expr.attr, []):
                    if not each:
                        found = self._client(value, where, depth + 1)
                        if found is not None:
                            return found
        return None

    def _class_fields(self, node: ast.ClassDef, scope: _Scope) -> None:
        """Fields named like a model setting with a Hub id as default, in a class body (a settings class, a
        dataclass): configuration; in a pydantic `BaseSettings` the environment variable of the same name
        overrides it."""
        settings = any(self.m.qualified(b).rsplit(".", 1)[-1] == "BaseSettings" for b in node.bases)
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                name, value = stmt.target.id, stmt.value
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                name, value = stmt.targets[0].id, stmt.value
            else:
                continue
            if not is_model_setting(name):
                continue
            setting = name.upper() if settings else ""
            for v in self.m.resolve(value, scope):
                if isinstance(v, Value):
                    found = make_found(Value(v.text, v.setting or setting, v.how),
                                       Spec("hub", "config", f"{node.name}.{name}"),
                                       stmt.lineno + self.line_offset, stmt.col_offset + 1, self.cell)
                    if found is not None:
                        self.found.append(found)


def _module_provider(module: str) -> str | None:
    for prefix, provider in PROVIDER_MODULES:
        if module == prefix or module.startswith(prefix + "."):
            return provider
    return None


def _class_provider(module: str, last: str) -> str | None:
    """The provider whose model a class's `model=` names: a class of a provider's SDK or of its LangChain /
    LlamaIndex package, or one of the known class names when the module does not say where it comes from."""
    provider = _module_provider(module)
    if provider and last[:1].isupper():
        return "azure-openai" if last.startswith(("Azure", "AsyncAzure")) else provider
    if last in WRAPPER_CLASSES and (not module or module.startswith(("langchain", "llama_index"))):
        return WRAPPER_CLASSES[last]
    if last in CLIENT_CLASSES and not module:
        return CLIENT_CLASSES[last]
    return None


@record
class PythonResult:
    found: tuple[Found, ...] = ()
    pending: tuple[Pending, ...] = ()
    problem: tuple[str, int, int] | None = None


def parse(source: str) -> ast.Module:
    """`ast.parse`, raising SyntaxError (a NUL byte too), RecursionError, MemoryError or ValueError."""
    return ast.parse(source, type_comments=False)


def analyse(source: str, *, cell: int = 0, line_offset: int = 0) -> PythonResult:
    """The model references of one Python source. A source that does not parse is a problem with its line and
    column. (A caller with many files first asks `triggered` of the bytes: a file without a trigger names nothing.)"""
    hot = hot_lines(source)
    if not hot:
        return PythonResult()
    try:
        tree = parse(source)
        finder = _Finder(_Module(tree), cell, line_offset, hot)
        finder.run()
    except SyntaxError as exc:
        return PythonResult(problem=(f"not valid Python: {exc.msg}", (exc.lineno or 0) + line_offset,
                                     exc.offset or 0))
    except (RecursionError, MemoryError):
        return PythonResult(problem=("nested too deeply to parse", 0, 0))
    except ValueError as exc:
        return PythonResult(problem=(f"not parsed: {exc}", 0, 0))
    return PythonResult(tuple(finder.found), tuple(finder.pending))


class ModuleIndex:
    """A module of the tree that others import from: what its module-level names stand for."""

    def __init__(self, source: str) -> None:
        self.module = _Module(parse(source))

    def constant(self, name: str) -> list[Value | Ref]:
        return self.module.constant(name)


def file_result(result: PythonResult) -> FileResult:
    problems = (result.problem,) if result.problem else ()
    return FileResult(result.found, problems, result.pending)

