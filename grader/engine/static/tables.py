"""The kinds of value the static reading tracks, and the tables that say what each is.

Kinds: an expression is harmless (``None``) or one of these strings. "lib:NAME" is a forbidden
library or anything taken from it; "module:NAME" a harmless imported module (stores into it
matter); "opaque:WHAT" reaches modules without naming them, so any use of it is undecidable;
"getter:KIND" is the bound ``get``/``pop`` of a mapping kind.
"""

from __future__ import annotations

_IMPORT, _EXEC, _EVAL = "import", "exec", "eval"
_BUILTINS, _SYS, _MODULES, _IMPORTLIB, _GC = "builtins", "sys", "sys.modules", "importlib", "gc"
_NAMESPACE, _NAMESPACE_FN = "namespace", "namespace-fn"
_GETATTR, _SETATTR = "getattr", "setattr"

_BUILTIN_NAMES = {"__import__": _IMPORT, "exec": _EXEC, "eval": _EVAL, "compile": _EVAL,
                  "globals": _NAMESPACE_FN, "vars": _NAMESPACE_FN, "locals": _NAMESPACE_FN,
                  "getattr": _GETATTR, "setattr": _SETATTR, "delattr": _SETATTR,
                  "__builtins__": _BUILTINS, "__loader__": "opaque:__loader__"}
_SPECIAL_MODULES = {"builtins": _BUILTINS, "sys": _SYS, "importlib": _IMPORTLIB, "gc": _GC,
                    "__main__": "opaque:__main__", "runpy": "opaque:runpy", "imp": "opaque:imp",
                    "pkgutil": "opaque:pkgutil", "zipimport": "opaque:zipimport"}
_MEMBERS: dict[str, dict[str, str]] = {
    # ``__builtins__`` is the module in __main__ and its dict elsewhere: both forms are read.
    _BUILTINS: {**_BUILTIN_NAMES, "__dict__": _BUILTINS, "get": "getter:builtins",
                "__getitem__": "getter:builtins"},
    _SYS: {"modules": _MODULES, "__dict__": _SYS, "meta_path": "opaque:sys.meta_path",
           "path_hooks": "opaque:sys.path_hooks",
           "path_importer_cache": "opaque:sys.path_importer_cache"},
    _IMPORTLIB: {"import_module": _IMPORT, "__import__": _IMPORT, "__dict__": _IMPORTLIB},
    # Every live object, the torch module the worker preloads for TP2 and TP3 among them.
    _GC: {"get_objects": "opaque:gc.get_objects", "get_referrers": "opaque:gc.get_referrers",
          "get_referents": "opaque:gc.get_referents"},
    _MODULES: {"get": "getter:sys.modules", "pop": "getter:sys.modules",
               "setdefault": "getter:sys.modules", "__getitem__": "getter:sys.modules"},
    _NAMESPACE: {"get": "getter:namespace", "__getitem__": "getter:namespace"},
}
# Attributes that mean the same on any object: ``print.__self__`` is the builtins module, a
# module's ``__builtins__`` its dict, a function's ``__globals__`` and a frame's ``f_globals``
# hold some module's names.
_ANY_MEMBER = {"__import__": _IMPORT, "import_module": _IMPORT, "__builtins__": _BUILTINS,
               "__self__": _BUILTINS, "sys": _SYS, "importlib": _IMPORTLIB, "builtins": _BUILTINS,
               **{a: f"opaque:{a}" for a in ("__globals__", "f_globals", "f_locals", "f_builtins",
                                             "__subclasses__", "__loader__")}}
_LABELS = {_BUILTINS: "__builtins__", _SYS: "sys", _IMPORTLIB: "importlib", _GC: "gc",
           _MODULES: "sys.modules", _NAMESPACE: "globals()/vars()/locals()"}
_ESCAPES = {
    _BUILTINS: "usa __builtins__ (o el módulo builtins) de una forma que no se puede seguir",
    _SYS: "usa el módulo sys de una forma que no se puede seguir",
    _MODULES: "lee sys.modules",
    _IMPORTLIB: "usa importlib de una forma que no se puede seguir",
    _GC: "usa el módulo gc de una forma que no se puede seguir",
    _IMPORT: "usa __import__/importlib.import_module sin llamarla con un nombre fijo",
    _EXEC: "usa exec",
    _EVAL: "usa eval/compile",
    _NAMESPACE: "usa globals()/vars()/locals()",
    _NAMESPACE_FN: "usa globals()/vars()/locals()",
}
_CALLABLES = _ESCAPES.keys() - _LABELS.keys()
"""Kinds that are functions: indexing or ``getattr`` on them reaches nothing we follow."""
