"""Frozen fact dataclasses to plain JSON values and back, derived from their type hints.

The cache stores parse results with this. Nothing here evaluates or unpickles anything:
decoding builds only the dataclasses named by the type hints of the root type, and checks
every value against its hint, so a hostile or stale document is rejected (`DecodeError`),
never turned into facts of the wrong shape. A field or type added to the facts later is
picked up from `dataclasses.fields` and the hints; a hint this module cannot represent
(`Any`, a plain class) fails when the codec is built, loudly, in the tests.

Encoding: a dataclass in a position whose hint names exactly that class is the list of
its init fields in order; where the hint is a union, it is `{"ClassName": [fields]}`.
Tuples, frozensets and lists are lists, dicts are lists of pairs, enums their name;
`bytes`, `complex` and non-finite floats are `{"bytes"|"complex"|"float": text}`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from miglint.source import syntax as s

Json = Any
Encoder = Callable[[Any], Json]
Decoder = Callable[[Json], Any]

_SCALARS = (str, int, bool, type(None))
# Tags of the few non-JSON scalars; dataclass tags are class names (capitalised).
_SPECIAL_TAGS = ("bytes", "complex", "float")


class DecodeError(ValueError):
    """A document that does not have the shape the type hints describe."""


def _fail(expected: str, data: Json) -> typing.NoReturn:
    raise DecodeError(f"expected {expected}, got {type(data).__name__}")


class Codec:
    """Encoder and decoder for one root dataclass type and everything its hints reach."""

    def __init__(self, root: type) -> None:
        self._codecs: dict[object, tuple[Encoder, Decoder]] = {}
        self._classes: dict[type, _ClassCodec] = {}
        self.encode, self.decode = self._compile(root)

    def _compile(self, hint: object) -> tuple[Encoder, Decoder]:
        key = hint
        if key in self._codecs:
            return self._codecs[key]
        result = self._build(hint)
        self._codecs[key] = result
        return result

    def _build(self, hint: object) -> tuple[Encoder, Decoder]:
        origin = typing.get_origin(hint)
        arguments = typing.get_args(hint)
        if hint is type(None) or hint is None:
            return _none, _decode_none
        if origin is typing.Union or origin is types.UnionType:
            return self._union(arguments)
        if origin is typing.Literal:
            allowed = frozenset(arguments)
            return _identity, _literal_decoder(allowed)
        if origin is tuple:
            if len(arguments) == 2 and arguments[1] is Ellipsis:
                return self._homogeneous(arguments[0], tuple)
            if arguments == ((),) or not arguments:
                return _empty_tuple_encoder, _decode_empty_tuple
            return self._fixed_tuple(arguments)
        if origin in (frozenset, set, list):
            assert origin is not None
            return self._homogeneous(arguments[0], origin)
        if origin in (dict, Mapping) or origin is typing.Mapping:
            return self._mapping(arguments[0], arguments[1])
        if isinstance(hint, type):
            if dataclasses.is_dataclass(hint):
                return self._dataclass(hint)
            if issubclass(hint, enum.Enum):
                return _enum_codec(hint)
            if hint is bool:
                return _identity, _exact_decoder(bool)
            if hint is int:
                return _identity, _exact_decoder(int)
            if hint is str:
                return _identity, _exact_decoder(str)
            if hint is float:
                return _encode_float, _decode_float
            if hint is complex:
                return _encode_complex, _decode_complex_tagged
            if hint is bytes:
                return _encode_bytes, _decode_bytes_tagged
        raise TypeError(f"miglint.source.serial cannot store values of type {hint!r}")

    def _dataclass(self, cls: type) -> tuple[Encoder, Decoder]:
        codec = self._classes.get(cls)
        if codec is None:
            codec = _ClassCodec(cls)
            self._classes[cls] = codec
            hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
            fields = [f for f in dataclasses.fields(cls) if f.init]
            compiled = [self._compile(hints[f.name]) for f in fields]
            codec.names = tuple(f.name for f in fields)
            codec.encoders = tuple(c[0] for c in compiled)
            codec.decoders = tuple(c[1] for c in compiled)
            codec.kinds = tuple(
                hints[f.name] if hints[f.name] in (str, int, bool) else None for f in fields
            )
            codec.scalar = all(kind is not None for kind in codec.kinds)
            codec.finish()
        return codec.encode, codec.decode

    def _homogeneous(self, item: object, container: type) -> tuple[Encoder, Decoder]:
        encode_item, decode_item = self._compile(item)

        def encode(value: Any) -> Json:
            return [encode_item(v) for v in value]

        def decode(data: Json) -> Any:
            if type(data) is not list:
                _fail("a list", data)
            return container([decode_item(v) for v in data])

        return encode, decode

    def _fixed_tuple(self, items: tuple[object, ...]) -> tuple[Encoder, Decoder]:
        compiled = [self._compile(item) for item in items]
        encoders = [c[0] for c in compiled]
        decoders = [c[1] for c in compiled]

        def encode(value: Any) -> Json:
            return [e(v) for e, v in zip(encoders, value, strict=True)]

        def decode(data: Json) -> Any:
            if type(data) is not list or len(data) != len(decoders):
                _fail(f"a list of {len(decoders)}", data)
            return tuple(d(v) for d, v in zip(decoders, data, strict=True))

        return encode, decode

    def _mapping(self, key: object, value: object) -> tuple[Encoder, Decoder]:
        encode_key, decode_key = self._compile(key)
        encode_value, decode_value = self._compile(value)

        def encode(mapping: Any) -> Json:
            return [[encode_key(k), encode_value(v)] for k, v in mapping.items()]

        def decode(data: Json) -> Any:
            if type(data) is not list:
                _fail("a list of pairs", data)
            result = {}
            for pair in data:
                if type(pair) is not list or len(pair) != 2:
                    _fail("a pair", pair)
                result[decode_key(pair[0])] = decode_value(pair[1])
            return result

        return encode, decode

    def _union(self, alternatives: tuple[object, ...]) -> tuple[Encoder, Decoder]:
        scalars: set[type] = set()
        tagged: dict[str, tuple[type, Encoder, Decoder]] = {}
        # type -> (tag, encoder); bytes, complex and floats tag themselves (tag None).
        by_class: dict[type, tuple[str | None, Encoder]] = {}
        sequence: tuple[Encoder, Decoder] | None = None
        sequence_type: type | None = None
        for alternative in alternatives:
            if alternative is type(None) or alternative is None:
                scalars.add(type(None))
                continue
            origin = typing.get_origin(alternative)
            if origin in (tuple, frozenset, list, set):
                if sequence is not None:
                    raise TypeError(
                        f"miglint.source.serial: two sequence types in {alternatives!r}"
                    )
                sequence = self._compile(alternative)
                sequence_type = origin
                continue
            if alternative in (str, int, bool):
                scalars.add(alternative)
                continue
            if alternative in (float, complex, bytes):
                assert isinstance(alternative, type)
                encoder, decoder = self._compile(alternative)
                tagged[alternative.__name__] = (alternative, encoder, decoder)
                by_class[alternative] = (None, encoder)
                continue
            if isinstance(alternative, type) and (
                dataclasses.is_dataclass(alternative) or issubclass(alternative, enum.Enum)
            ):
                tag = alternative.__name__
                if tag in tagged or tag in _SPECIAL_TAGS:
                    raise TypeError(f"miglint.source.serial: two types named {tag} in one union")
                encoder, decoder = self._compile(alternative)
                tagged[tag] = (alternative, encoder, decoder)
                by_class[alternative] = (tag, encoder)
                continue
            raise TypeError(f"miglint.source.serial cannot store values of type {alternative!r}")
        # JSON keeps true/false apart from numbers, and 1 apart from 1.0.
        plain = frozenset(scalars)

        def encode(value: Any) -> Json:
            kind = type(value)
            if kind in plain:
                return value
            if kind is float and float in by_class:
                number: float = value
                return number if math.isfinite(number) else {"float": repr(number)}
            entry = by_class.get(kind)
            if entry is not None:
                tag, encoder = entry
                return encoder(value) if tag is None else {tag: encoder(value)}
            if sequence is not None and isinstance(value, sequence_type):  # type: ignore[arg-type]
                return sequence[0](value)
            raise TypeError(
                f"miglint.source.serial: {kind.__name__} is not one of {alternatives!r}"
            )

        def decode(data: Json) -> Any:
            kind = type(data)
            if kind in plain:
                return data
            if kind is float and float in by_class:
                return data
            if kind is dict:
                if len(data) != 1:
                    _fail("one tagged value", data)
                ((tag, inner),) = data.items()
                entry = tagged.get(tag)
                if entry is None:
                    raise DecodeError(f"unknown tag {tag!r}")
                if entry[0] in (float, complex, bytes):
                    return entry[2]({tag: inner})
                return entry[2](inner)
            if kind is list and sequence is not None:
                return sequence[1](data)
            _fail(" or ".join(sorted(t.__name__ for t in plain) + sorted(tagged)), data)

        return encode, decode


class _ClassCodec:
    """Fields of one dataclass, filled in after creation so that types can be recursive."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.names: tuple[str, ...] = ()
        self.encoders: tuple[Encoder, ...] = ()
        self.decoders: tuple[Decoder, ...] = ()
        # Per field: the exact JSON type of a plain str/int/bool field, checked inline
        # (most fields are), else None and its decoder runs.
        self.kinds: tuple[type | None, ...] = ()
        self.scalar = False
        self.plan: tuple[tuple[str, Encoder | None], ...] = ()
        self.direct = False

    def finish(self) -> None:
        """Prepare the fast paths, once the fields are known."""
        # Plain fields are copied as they are; the others go through their encoder.
        self.plan = tuple(
            (name, None if kind is not None else encoder)
            for name, kind, encoder in zip(self.names, self.kinds, self.encoders, strict=True)
        )
        # Fields are read from the instance's __dict__ when it has one holding them all.
        self.direct = "__slots__" not in vars(self.cls) and len(self.names) == len(
            dataclasses.fields(self.cls)
        )

    def encode(self, value: Any) -> Json:
        if type(value) is not self.cls:
            raise TypeError(f"miglint.source.serial: expected {self.cls.__name__}, got {value!r}")
        if not self.direct:
            return [e(getattr(value, n)) for e, n in zip(self.encoders, self.names, strict=True)]
        fields = value.__dict__
        return [fields[n] if e is None else e(fields[n]) for n, e in self.plan]

    def decode(self, data: Json) -> Any:
        if type(data) is not list or len(data) != len(self.decoders):
            _fail(f"the {len(self.decoders)} fields of {self.cls.__name__}", data)
        if self.cls is s.Missing:
            return s.MISSING
        if self.scalar:
            # All plain fields (Span, most of a file's objects): check types, then build.
            if not all(type(v) is k for k, v in zip(self.kinds, data, strict=True)):
                _fail(f"the plain fields of {self.cls.__name__}", data)
            return self.cls(*data)
        values = []
        for kind, decoder, item in zip(self.kinds, self.decoders, data, strict=True):
            if kind is None:
                values.append(decoder(item))
            elif type(item) is kind:
                values.append(item)
            else:
                _fail(kind.__name__, item)
        try:
            return self.cls(*values)
        except (TypeError, ValueError) as error:
            raise DecodeError(f"{self.cls.__name__}: {error}") from None


def _identity(value: Any) -> Json:
    return value


def _none(value: Any) -> Json:
    if value is not None:
        raise TypeError(f"miglint.source.serial: expected None, got {value!r}")
    return None


def _decode_none(data: Json) -> Any:
    if data is not None:
        _fail("null", data)
    return None


def _exact_decoder(kind: type) -> Decoder:
    def decode(data: Json) -> Any:
        if type(data) is not kind:
            _fail(kind.__name__, data)
        return data

    return decode


def _literal_decoder(allowed: frozenset[object]) -> Decoder:
    def decode(data: Json) -> Any:
        if type(data) not in _SCALARS or data not in allowed:
            _fail(f"one of {sorted(map(repr, allowed))}", data)
        return data

    return decode


def _empty_tuple_encoder(value: Any) -> Json:
    return []


def _decode_empty_tuple(data: Json) -> Any:
    if data != []:
        _fail("an empty list", data)
    return ()


def _encode_float(value: Any) -> Json:
    number: float = value
    return number if math.isfinite(number) else {"float": repr(number)}


def _decode_float(data: Json) -> Any:
    if type(data) is float:
        return data
    if type(data) is dict and len(data) == 1 and data.get("float") in ("inf", "-inf", "nan"):
        return float(data["float"])
    _fail("a float", data)


def _encode_complex(value: Any) -> Json:
    number: complex = value
    return {"complex": [repr(number.real), repr(number.imag)]}


def _decode_complex_tagged(data: Json) -> Any:
    parts = data.get("complex") if type(data) is dict and len(data) == 1 else None
    if type(parts) is not list or len(parts) != 2 or not all(type(p) is str for p in parts):
        _fail("a complex number", data)
    try:
        return complex(float(parts[0]), float(parts[1]))
    except ValueError:
        _fail("a complex number", data)


def _encode_bytes(value: Any) -> Json:
    data: bytes = value
    return {"bytes": data.hex()}


def _decode_bytes_tagged(data: Json) -> Any:
    text = data.get("bytes") if type(data) is dict and len(data) == 1 else None
    if type(text) is not str:
        _fail("bytes", data)
    try:
        return bytes.fromhex(text)
    except ValueError:
        _fail("bytes", data)


def _enum_codec(cls: type[enum.Enum]) -> tuple[Encoder, Decoder]:
    def encode(value: Any) -> Json:
        member: enum.Enum = value
        return member.name

    def decode(data: Json) -> Any:
        if type(data) is not str or data not in cls.__members__:
            _fail(f"a {cls.__name__} name", data)
        return cls[data]

    return encode, decode
