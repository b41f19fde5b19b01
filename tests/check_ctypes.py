#!/usr/bin/python3
"""The Python bindings' ctypes declarations against the C headers (issue 10).

Parses every `EVO_API` prototype of include/evoopt/*.h (with the headers'
enums, opaque handles and callback typedefs) and compares it with the
argtypes and restype the evoopt package gave each library function it
declares (bindings/python/evoopt/_lib.py), and with the CFUNCTYPE a library
function is cast to. Scalars must agree in kind, size and signedness (an
enum is an int; size_t and uint64_t are both 8-byte unsigned here), a
pointer is c_void_p or POINTER of the pointee, a string c_char_p, a callback
typedef a CFUNCTYPE of the same signature, a pointer to a struct declared
with its body (evo_option_bounds) POINTER of a ctypes.Structure with the
same fields in the same order and of the same types.

usage: check_ctypes.py INCLUDE_DIR PYTHON_PACKAGE_ROOT
(EVOOPT_LIBRARY names the library to load, as for the bindings' tests).
Exit 0 pass, 1 mismatch, 77 skip (numpy missing: the package cannot load).
"""
import ctypes
import os
import re
import sys

INT_TYPES = {
    # C spelling -> (kind, size): 'i' signed, 'u' unsigned, 'f' real
    "int": ("i", ctypes.sizeof(ctypes.c_int)),
    "signed": ("i", ctypes.sizeof(ctypes.c_int)),
    "unsigned": ("u", ctypes.sizeof(ctypes.c_uint)),
    "unsigned int": ("u", ctypes.sizeof(ctypes.c_uint)),
    "long": ("i", ctypes.sizeof(ctypes.c_long)),
    "unsigned long": ("u", ctypes.sizeof(ctypes.c_ulong)),
    "int8_t": ("i", 1), "uint8_t": ("u", 1),
    "int16_t": ("i", 2), "uint16_t": ("u", 2),
    "int32_t": ("i", 4), "uint32_t": ("u", 4),
    "int64_t": ("i", 8), "uint64_t": ("u", 8),
    "size_t": ("u", ctypes.sizeof(ctypes.c_size_t)),
    "double": ("f", 8), "float": ("f", 4),
    "char": ("c", 1),
    "_Bool": ("b", 1), "bool": ("b", 1),
}

# ctypes' simple-type codes -> (kind, size)
CODES = {}
for _t in (ctypes.c_byte, ctypes.c_short, ctypes.c_int, ctypes.c_long,
           ctypes.c_longlong):
    CODES[_t._type_] = ("i", ctypes.sizeof(_t))
for _t in (ctypes.c_ubyte, ctypes.c_ushort, ctypes.c_uint, ctypes.c_ulong,
           ctypes.c_ulonglong):
    CODES[_t._type_] = ("u", ctypes.sizeof(_t))
CODES["d"], CODES["f"] = ("f", 8), ("f", 4)
CODES["c"], CODES["?"] = ("c", 1), ("b", 1)


class Headers:
    def __init__(self, include_dir):
        text = ""
        for name in sorted(os.listdir(include_dir)):
            if name.endswith(".h"):
                with open(os.path.join(include_dir, name)) as f:
                    text += f.read() + "\n"
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        # preprocessor lines, with their continuations
        text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
        text = re.sub(r'extern "C"\s*\{', " ", text)
        self.enums = set(re.findall(r"typedef\s+enum\s+\w*\s*\{[^}]*\}\s*(\w+)\s*;",
                                    text))
        self.enums |= {"enum " + n for n in re.findall(r"enum\s+(\w+)\s*\{", text)}
        self.handles = {alias for _, alias in re.findall(
            r"typedef\s+struct\s+(\w+)\s+(\w+)\s*;", text)}
        # structs with a body: name -> [(field name, (base, depth))]
        self.structs = {}
        for tag, body, alias in re.findall(
                r"typedef\s+struct\s+(\w*)\s*\{([^}]*)\}\s*(\w+)\s*;", text):
            fields = []
            for decl in body.split(";"):
                decl = " ".join(decl.split())
                if decl:
                    fields.append((decl.replace("*", " ").split()[-1],
                                   self.ctype(decl, named=True)))
            self.structs[alias] = fields
        self.callbacks = {}
        for ret, name, params in re.findall(
                r"typedef\s+([^;(){}]+?)\(\s*\*\s*(\w+)\s*\)\s*\(([^;]*?)\)\s*;",
                text):
            self.callbacks[name] = (self.ctype(ret), self.params(params))
        self.functions = {}
        for ret, name, params in re.findall(
                r"EVO_API\s+([^;(){}]*?)\b(evo_\w+)\s*\(([^;]*?)\)\s*;", text):
            self.functions[name] = (self.ctype(ret), self.params(params))

    def ctype(self, decl, named=False):
        """(base, depth) of a C declaration; the name dropped when named."""
        decl = decl.replace("*", " * ").replace("[", " [ ")
        depth = decl.count("*") + decl.count("[")
        decl = re.sub(r"\[[^\]]*\]", " ", decl)
        words = [w for w in decl.replace("*", " ").split()
                 if w not in ("const", "restrict", "volatile", "struct")]
        if named and len(words) >= 2 and words[-1] not in (
                "int", "long", "char", "unsigned", "signed"):
            words = words[:-1]  # the parameter's name
        return " ".join(words), depth

    def params(self, text):
        text = " ".join(text.split())
        if text in ("", "void"):
            return []
        return [self.ctype(p, named=True) for p in text.split(",")]


def describe(t):
    if t is None:
        return "None"
    return getattr(t, "__name__", repr(t))


class Checker:
    def __init__(self, headers):
        self.h = headers

    def same(self, c, py):
        """None if the ctypes type py fits the C type c = (base, depth), else
        the reason."""
        base, depth = c
        if depth == 0 and base == "void":
            return None if py is None else "C returns void, Python %s" % (
                describe(py))
        if py is None:
            return "C has %s, Python None" % self.spell(c)
        if depth == 0 and base in self.h.callbacks:
            if not hasattr(py, "_argtypes_"):
                return "C has callback %s, Python %s" % (base, describe(py))
            ret, args = self.h.callbacks[base]
            return self.signature(ret, args, py._restype_,
                                  list(py._argtypes_), base)
        if depth == 0:
            want = ("i", ctypes.sizeof(ctypes.c_int)) if (
                base in self.h.enums or base.startswith("enum ")) else \
                INT_TYPES.get(base)
            if want is None:
                return "unknown C type %s" % self.spell(c)
            got = CODES.get(getattr(py, "_type_", None)) \
                if isinstance(getattr(py, "_type_", None), str) else None
            if got != want:
                return "C has %s, Python %s" % (self.spell(c), describe(py))
            return None
        # a pointer
        if py is ctypes.c_void_p:
            return None
        if depth == 1 and base in self.h.structs:
            return self.struct(base, getattr(py, "_type_", None))
        if py is ctypes.c_char_p:
            return None if (base, depth) == ("char", 1) else \
                "C has %s, Python c_char_p" % self.spell(c)
        pointee = getattr(py, "_type_", None)
        if not isinstance(pointee, type):
            return "C has %s, Python %s" % (self.spell(c), describe(py))
        why = self.same((base, depth - 1), pointee)
        return None if why is None else "C has %s, Python %s (%s)" % (
            self.spell(c), describe(py), why)

    def struct(self, name, py):
        """None if the ctypes.Structure py has the fields of the header's
        struct name, in order, of the same types; else the reason."""
        if not (isinstance(py, type) and issubclass(py, ctypes.Structure)):
            return "C has %s *, Python %s" % (name, describe(py))
        c_fields = self.h.structs[name]
        py_fields = list(py._fields_)
        if [f for f, _ in c_fields] != [f for f, _ in py_fields]:
            return "struct %s: fields %s in C, %s in Python" % (
                name, [f for f, _ in c_fields], [f for f, _ in py_fields])
        for (field, c), (_, t) in zip(c_fields, py_fields):
            why = self.same(c, t)
            if why:
                return "struct %s, field %s: %s" % (name, field, why)
        return None

    def signature(self, ret, args, restype, argtypes, name):
        problems = []
        why = self.same(ret, restype)
        if why:
            problems.append("return: " + why)
        if len(args) != len(argtypes):
            problems.append("%d parameters in C, %d in Python" % (
                len(args), len(argtypes)))
        else:
            for i, (c, py) in enumerate(zip(args, argtypes)):
                why = self.same(c, py)
                if why:
                    problems.append("parameter %d: %s" % (i + 1, why))
        return "; ".join(problems) or None

    @staticmethod
    def spell(c):
        return c[0] + " " + "*" * c[1] if c[1] else c[0]


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    include_dir, package_root = sys.argv[1:3]
    headers = Headers(include_dir)
    if not headers.functions:
        print("FAIL: no EVO_API prototype found in %s" % include_dir)
        return 1
    sys.path.insert(0, package_root)
    try:
        import numpy  # noqa: F401  (the package needs it)
    except ImportError:
        print("SKIP: numpy is not installed for %s" % sys.executable)
        return 77
    import evoopt  # noqa: F401  (every module, so every declaration)
    from evoopt import _lib
    lib = _lib.lib
    checker = Checker(headers)
    failures, checked = [], 0
    declared = {name: fn for name, fn in vars(lib).items()
                if isinstance(fn, ctypes._CFuncPtr)}
    for name in sorted(declared):
        fn = declared[name]
        if name not in headers.functions:
            failures.append("%s: declared in Python, no EVO_API prototype in "
                            "the headers" % name)
            continue
        if fn.argtypes is None:
            continue  # only looked up (e.g. cast to a callback type below)
        ret, args = headers.functions[name]
        why = checker.signature(ret, args, fn.restype, list(fn.argtypes),
                                name)
        checked += 1
        if why:
            failures.append("%s: %s" % (name, why))
    # Library functions the package casts to a CFUNCTYPE (as a callback).
    addresses = {ctypes.cast(fn, ctypes.c_void_p).value: name
                 for name, fn in declared.items()}
    for attr, value in sorted(vars(_lib).items()):
        if not (isinstance(value, ctypes._CFuncPtr) and
                hasattr(type(value), "_argtypes_")):
            continue
        name = addresses.get(ctypes.cast(value, ctypes.c_void_p).value)
        if name is None or name not in headers.functions:
            continue
        ret, args = headers.functions[name]
        why = checker.signature(ret, args, type(value)._restype_,
                                list(type(value)._argtypes_), name)
        checked += 1
        if why:
            failures.append("%s (as _lib.%s): %s" % (name, attr, why))
    for line in failures:
        print("FAIL: " + line)
    print("%d EVO_API prototypes, %d Python declarations checked, %d "
          "mismatches" % (len(headers.functions), checked, len(failures)))
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
