"""The decision hot path, straight on rego-cpp's C API (the library `regopy` ships).

Through regopy's wrappers, building the input costs twice as much (a Python walk through them)
and the answer is read twice; here the input document is pushed node by node and the answer
read once. Compiling stays with regopy's public API (`_rego.py`).
"""

from __future__ import annotations

import ctypes
import math
import os
from pathlib import Path
from typing import Any

from regopy import rego_shared  # type: ignore[import-untyped]

_V = ctypes.c_void_p
_U32 = ctypes.c_uint32
_OK = 0
_ERROR_MESSAGE = 1801  # NodeKind.ErrorMessage
_INT64 = range(-(2**63), 2**63)

_lib = ctypes.CDLL(rego_shared.path)


def _bind(name: str, restype: Any, *argtypes: Any) -> Any:
    function = getattr(_lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


_new = _bind("regoNew", _V)
_free = _bind("regoFree", None, _V)
_strict_builtin_errors = _bind("regoSetStrictBuiltInErrors", None, _V, ctypes.c_bool)
_set_log_level = _bind("regoSetLogLevel", _U32, _V, _U32)
_error_size = _bind("regoErrorSize", _U32, _V)
_error = _bind("regoError", _U32, _V, ctypes.c_char_p, _U32)
_bundle_load_binary = _bind("regoBundleLoadBinary", _V, _V, ctypes.c_char_p)
_bundle_ok = _bind("regoBundleOk", ctypes.c_bool, _V)
_free_bundle = _bind("regoFreeBundle", None, _V)
_set_input = _bind("regoSetInput", _U32, _V, _V)
_query_entrypoint = _bind("regoBundleQueryEntrypoint", _V, _V, _V, ctypes.c_char_p)
_output_ok = _bind("regoOutputOk", ctypes.c_bool, _V)
_output_json_size = _bind("regoOutputJSONSize", _U32, _V)
_output_json = _bind("regoOutputJSON", _U32, _V, ctypes.c_char_p, _U32)
_output_node = _bind("regoOutputNode", _V, _V)
_free_output = _bind("regoFreeOutput", None, _V)
_node_type = _bind("regoNodeType", _U32, _V)
_node_size = _bind("regoNodeSize", _U32, _V)
_node_get = _bind("regoNodeGet", _V, _V, _U32)
_node_value_size = _bind("regoNodeValueSize", _U32, _V)
_node_value = _bind("regoNodeValue", _U32, _V, ctypes.c_char_p, _U32)
_new_input = _bind("regoNewInput", _V)
_free_input = _bind("regoFreeInput", None, _V)
_input_string = _bind("regoInputString", _U32, _V, ctypes.c_char_p)
_input_int = _bind("regoInputInt", _U32, _V, ctypes.c_int64)
_input_float = _bind("regoInputFloat", _U32, _V, ctypes.c_double)
_input_bool = _bind("regoInputBoolean", _U32, _V, ctypes.c_bool)
_input_null = _bind("regoInputNull", _U32, _V)
_input_item = _bind("regoInputObjectItem", _U32, _V)
_input_object = _bind("regoInputObject", _U32, _V, _U32)
_input_array = _bind("regoInputArray", _U32, _V, _U32)


class EvaluationError(Exception):
    """The policy set could not answer: rego-cpp refused the input or failed to evaluate."""


class RegoSession:
    """One rego-cpp interpreter with its own copy of the compiled bundle. Not thread-safe: use one
    per thread."""

    def __init__(self, bundle_file: Path) -> None:
        self._rego: int | None = None
        self._bundle: int | None = None
        rego = _new()
        _set_log_level(rego, 0)  # errors come back in the output, not on stdout
        _strict_builtin_errors(rego, True)  # a builtin's error is an error, not an undefined value
        bundle = _bundle_load_binary(rego, os.fsencode(bundle_file))
        if not bundle or not _bundle_ok(bundle):
            message = _last_error(rego)
            if bundle:
                _free_bundle(bundle)
            _free(rego)
            raise EvaluationError(f"cannot load the compiled policy bundle: {message}")
        self._rego, self._bundle = rego, bundle

    def evaluate(self, document: dict[str, Any], entrypoint: bytes) -> str:
        """The JSON text of the entrypoint's value for input `document` ("undefined" when it has
        none); raises `EvaluationError` when evaluation fails."""
        if self._rego is None:
            raise EvaluationError("the rego session is closed")
        handle = _new_input()
        try:
            _push(handle, document)
            if _set_input(self._rego, handle) != _OK:
                raise EvaluationError(f"input refused: {_last_error(self._rego)}")
        finally:
            _free_input(handle)
        output = _query_entrypoint(self._rego, self._bundle, entrypoint)
        if not output:
            raise EvaluationError(_last_error(self._rego))
        try:
            if not _output_ok(output):
                raise EvaluationError("; ".join(_error_messages(_output_node(output))) or "evaluation failed")
            size = _output_json_size(output)
            buffer = ctypes.create_string_buffer(size)
            if _output_json(output, buffer, size) != _OK:
                raise EvaluationError("cannot read the result")
            return buffer.value.decode("utf-8")
        finally:
            _free_output(output)

    def close(self) -> None:
        if self._bundle is not None:
            _free_bundle(self._bundle)
            self._bundle = None
        if self._rego is not None:
            _free(self._rego)
            self._rego = None

    def __del__(self) -> None:
        self.close()


def _push(handle: int, value: Any) -> None:
    kind = type(value)
    if kind is str:
        if "\0" in value:
            raise EvaluationError("input refused: a string holds a NUL character")
        failed = _input_string(handle, value.encode())
    elif kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise EvaluationError(f"input refused: an object key is not a string: {key!r}")
            _push(handle, key)
            _push(handle, item)
            if _input_item(handle) != _OK:
                raise EvaluationError("input refused: bad object item")
        failed = _input_object(handle, len(value))
    elif kind is list:
        for item in value:
            _push(handle, item)
        failed = _input_array(handle, len(value))
    elif kind is bool:
        failed = _input_bool(handle, value)
    elif kind is int:
        if value not in _INT64:
            raise EvaluationError(f"input refused: integer out of range: {value}")
        failed = _input_int(handle, value)
    elif kind is float:
        if not math.isfinite(value):
            raise EvaluationError(f"input refused: {value} is not a JSON number")
        failed = _input_float(handle, value)
    elif value is None:
        failed = _input_null(handle)
    else:
        raise EvaluationError(f"input refused: {kind.__name__} is not a JSON value")
    if failed != _OK:
        raise EvaluationError(f"input refused: cannot add a {kind.__name__}")


def _error_messages(node: int) -> list[str]:
    messages: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if _node_type(current) == _ERROR_MESSAGE:
            size = _node_value_size(current)
            buffer = ctypes.create_string_buffer(size)
            if _node_value(current, buffer, size) == _OK:
                messages.append(buffer.value.decode("utf-8", "replace"))
        pending.extend(_node_get(current, index) for index in reversed(range(_node_size(current))))
    return messages


def _last_error(rego: int) -> str:
    size = _error_size(rego)
    buffer = ctypes.create_string_buffer(size)
    if _error(rego, buffer, size) != _OK:
        return "unknown rego-cpp error"
    return buffer.value.decode("utf-8", "replace").strip() or "unknown rego-cpp error"
