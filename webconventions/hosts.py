"""Host names as the Host check compares them; no web framework imported (commands use it).

:func:`host_of` takes the host out of a ``Host`` header, :func:`host_pattern` checks and
normalises an allowed-host entry to the same form (a host as a browser sends it, by the rule
an allowed origin's host takes: :func:`_browser_host`), :func:`is_wildcard_address` tells a
bind address that names every address, :func:`is_loopback_address` one only this machine
reaches, :func:`origin_pattern` checks and normalises an allowed browser origin to the form
a browser sends (:func:`normal_origin`, which compares one), and :func:`accepted_hosts` is
the list the Host check takes for a server bound to an address (the person's service and
the hub both: the address a server was told to bind is a name its clients use).
"""

from __future__ import annotations

import ipaddress
import socket
import string
from collections.abc import Sequence

import idna

__all__ = [
    "LOOPBACK_HOSTS",
    "accepted_hosts",
    "host_of",
    "host_pattern",
    "is_loopback_address",
    "is_wildcard_address",
    "normal_origin",
    "origin_pattern",
    "url_for",
]

#: The loopback ``Host`` names, as :func:`host_pattern` writes them (a loopback-bound
#: server's printed URL names one of them).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``value`` as an IP address (``::0``, ``0`` and ``127.1`` too, as a socket reads them)."""
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    short = value.lower()  # inet_aton takes 0X7F.1 as 0x7f.1
    if short and all(c in "0123456789abcdefx." for c in short):  # inet_aton's short forms
        try:
            return ipaddress.IPv4Address(socket.inet_aton(short))
        except OSError:
            return None
    return None


def _ipv6_text(ip: ipaddress.IPv6Address) -> str:
    """An IPv6 address as a browser writes it in a URL (WHATWG URL Standard, "IPv6 serializer").

    Eight hex pieces in lower case without leading zeros, the first longest run of two or more
    zero pieces written ``::``, never a dotted IPv4 tail (``::ffff:7f00:1``), no zone id.
    ``ip.compressed`` writes an IPv4-mapped address dotted from Python 3.13 (``::ffff:127.0.0.1``,
    gh-87799), which no browser's ``Origin`` or ``Host`` matches (review rev12).
    """
    packed = ip.packed
    pieces = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    start, length = -1, 1
    at = 0
    while at < 8:
        end = at
        while end < 8 and pieces[end] == 0:
            end += 1
        if end - at > length:
            start, length = at, end - at
        at = end + 1
    if start < 0:
        return ":".join(f"{p:x}" for p in pieces)
    head = ":".join(f"{p:x}" for p in pieces[:start])
    tail = ":".join(f"{p:x}" for p in pieces[start + length :])
    return f"{head}::{tail}"


def is_wildcard_address(value: str) -> bool:
    """Whether a bind address names every address (``0.0.0.0``, ``::``, ``::0``, ``0``, ``""``)."""
    value = value.strip().lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    ip = _ip(value)
    return value == "" or (ip is not None and ip.is_unspecified)


def is_loopback_address(value: str) -> bool:
    """Whether a bind address is reachable from this machine only.

    ``localhost`` and any loopback IP address in any spelling (``127.0.0.2``, ``127.1``,
    ``::1``, ``[0:0::1]``); not a wildcard, not another name (it may resolve to anything).
    """
    value = value.strip().lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    ip = _ip(value)
    return value == "localhost" or (ip is not None and ip.is_loopback)


def accepted_hosts(first: Sequence[str], bound: str, then: Sequence[str] = ()) -> list[str]:
    """The ``Host`` names a server bound to ``bound`` answers: ``first``, ``bound``, ``then``.

    ``bound`` (the ``--host`` address) counts when it names one address, in the form a
    browser's ``Host`` has it (:func:`_bound_host`: ``FE80::2`` -> ``[fe80::2]``, ``10.1``
    -> ``10.0.0.1``): not a wildcard (``0.0.0.0``, ``::``, ``0``:
    :func:`is_wildcard_address`), and not a value no ``Host`` header has. An IP address in a
    ``Host`` header cannot be a DNS-rebinding name (the attacker's page would send its own
    name), and a name it was told to bind is one its admin chose. Each name once, in that
    order.
    """
    names = list(first)
    if not is_wildcard_address(bound):
        name = _bound_host(bound)
        if name is not None:
            names.append(name)
    names += then
    return list(dict.fromkeys(names))


def _bound_host(bound: str) -> str | None:
    """A bind address as a browser's ``Host`` names it; ``None`` when no ``Host`` does.

    An IP address in any spelling a socket binds is written as a browser writes it
    (``10.1`` -> ``10.0.0.1``, ``fe80::2%eth0`` -> ``[fe80::2]``: a browser sends no zone
    id, which a link-local bind needs, and :func:`host_of` drops one); a name as
    :func:`host_pattern` lists it (a Unicode name in punycode). :func:`host_pattern` refuses
    those IP spellings in a setting, where they are a mistake; a bind address is not one.
    """
    text = bound.strip()
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    ip = _ip(inner)
    if isinstance(ip, ipaddress.IPv6Address):
        return f"[{_ipv6_text(ip)}]"
    if ip is not None:
        return str(ip)
    try:
        return host_pattern(text)
    except ValueError:  # not a name a Host header has: nothing to add
        return None


#: What an allowed-host entry is called in the messages of :func:`_browser_host`.
_HOST = "a host name"


def host_pattern(value: str) -> str:
    """An allowed-host entry in the form :func:`host_of` gives, or ``ValueError`` saying why.

    A host as a browser sends it in ``Host``, by the rule of an allowed origin's host
    (:func:`_browser_host`, one rule for both): lower case, a Unicode name in punycode
    (``bücher.example`` -> ``xn--bcher-kva.example``: clients send the A-label), a name
    IDNA 2008 refuses (an emoji) refused with its ``xn--`` form to list, an IPv4 address only
    dotted-quad (``127.1``, ``0x7f.1``, ``2130706433`` refused, the message giving
    ``127.0.0.1``; ``192.168.001.020`` is octal to a browser, 192.168.1.16, and the message
    says so), ``%`` and the other code points no host has refused, in the entry as written
    and as the UTS #46 mapping writes it (``＊`` is ``*``, a soft hyphen alone is ``""``:
    refused, not listed); an empty label refused (``a..b``, ``.example``); an ``xn--`` label
    a browser does not decode refused (``xn--a``: :func:`_check_a_label`). A name ending in
    a number that is no IPv4 address (``web.1``) is kept: no browser sends it, a client
    that is not a browser may (RFC 9110 allows it in ``Host``). An IPv6 address in
    brackets, compressed as a browser writes it (``fe80::2`` -> ``[fe80::2]``;
    :func:`_ipv6_text`), a zone id refused (``fe80::2%eth0``: no browser sends one, and the
    check compares without). ``*`` and ``*.example.org`` kept (the suffix by the same rule;
    ``*.`` before an IP address refused: an address has no subdomains). A port
    (``192.168.1.20:8765``) is refused, not dropped: the Host check takes no ports, and a
    port listed would look as if it were checked.
    """
    name = value.strip()
    lower = name.lower()
    if name == "*":
        return name
    if name.startswith("*.") and ":" not in name:
        return f"*.{_host_suffix(value, name[2:])}"
    inner = lower[1:].partition("]") if lower.startswith("[") else None
    if inner is not None:
        address, _, rest = inner
        if rest:
            raise ValueError(
                f"{value!r} has a port or more after the address; list the host alone, "
                f"'[{address}]' (the Host check takes no ports)"
            )
        ip = _ip(address)
        if not isinstance(ip, ipaddress.IPv6Address):
            raise ValueError(f"{value!r} is not an IPv6 address in brackets")
        return _ipv6_host(value, ip, _HOST)
    if ":" in lower:
        ip = _ip(lower)
        if isinstance(ip, ipaddress.IPv6Address):
            return _ipv6_host(value, ip, _HOST)
        host, _, port = lower.rpartition(":")
        if port.isdigit() and ":" not in host:
            raise ValueError(
                f"{value!r} has a port; list the host alone, {host!r} (the Host check takes "
                "no ports)"
            )
        raise ValueError(f"{value!r} is not a host name or an IP address")
    if not name or any(c.isspace() or c in "/@?#*" for c in name):
        raise ValueError(f"{value!r} is not a host name or an IP address")
    return _browser_host(value, name, _HOST)


def _host_suffix(value: str, suffix: str) -> str:
    """The name after ``*.`` in an allowed-host pattern, as :func:`_browser_host` writes it.

    ``ValueError`` for no name, another ``*``, or an IP address in any spelling a browser or
    a socket reads (``*.10.0.0.1``, ``*.1``: a host ending in a number is an address to a
    browser, and an address has no subdomains), told before the suffix is read as a host, so
    the message does not offer an address's dotted-quad form to list.
    """
    if not suffix or any(c.isspace() or c in "/@?#*[]" for c in suffix):
        raise ValueError(f"{value!r} is not a host name or a '*.name' pattern")
    if _ip(suffix.rstrip(".")) is not None:
        raise _no_subdomains(value, suffix.lower())
    name = _mapped_host(value, suffix, _HOST)
    if _ip(name.rstrip(".")) is not None:  # one in full-width digits: '*.１０.0.0.1'
        raise _no_subdomains(value, name)
    _check_number(value, name, _HOST)
    return name


def _no_subdomains(value: str, suffix: str) -> ValueError:
    """The refusal of ``*.`` before an IP address (``suffix``, as written, lower case)."""
    return ValueError(
        f"{value!r} matches no host: {suffix!r} is an IP address (a browser reads a host "
        "ending in a number as one), which has no subdomains; list each name or address "
        "to allow"
    )


#: The default port of each web scheme: an origin with it is written without (RFC 6454).
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normal_origin(origin: str) -> str:
    """An ``Origin`` as a browser serialises it: ``scheme://host[:port]`` in lower case.

    No trailing ``/``, the default port of ``http``/``https`` dropped (RFC 6454, section
    6.2). Anything it cannot read is only stripped and lower-cased (a request's header is
    compared, never refused here).

    Examples
    --------
    >>> normal_origin("HTTP://LocalHost:80/"), normal_origin("https://a.example:8443")
    ('http://localhost', 'https://a.example:8443')
    """
    text = origin.strip().rstrip("/").lower()
    scheme, sep, rest = text.partition("://")
    host, colon, port = rest.rpartition(":")
    if sep and colon and "]" not in port and port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return text


def origin_pattern(value: str) -> str:
    """An allowed browser origin in the form :func:`normal_origin` gives, or ``ValueError``.

    ``scheme://host[:port]`` (a trailing ``/`` and upper case accepted and normalised, a
    default port dropped, an IPv6 host in brackets compressed); ``*`` (any origin, CORS
    only) and ``null`` (an opaque origin) kept. A path, query, fragment, user name or a port
    that is not a number 1-65535 is refused: an origin has none of them. A host is written
    as a browser sends it or refused (:func:`_browser_host`: a Unicode name to punycode; a
    short IPv4 form refused, a name ending in a number such as ``web.1`` too, as no browser
    opens a page there; a host the UTS #46 mapping turns empty or into ``*`` or ``:`` refused;
    :func:`_ipv6_host`: an IPv6 zone id refused), as is ``*`` in a
    host (``http://*.example``: an origin is compared whole, a browser sends one host and
    never a pattern; ``*`` alone, any origin, is kept).

    Examples
    --------
    >>> origin_pattern("http://LOCALHOST:5173/")
    'http://localhost:5173'
    """
    text = value.strip()
    if text in ("*", "null"):
        return text
    scheme, sep, rest = text.rstrip("/").partition("://")
    scheme = scheme.lower()
    if not sep or not scheme[:1].isalpha() or not all(c.isalnum() or c in "+.-" for c in scheme):
        raise ValueError(f"{value!r} is not an origin: write scheme://host[:port]")
    if not rest or any(c in rest for c in "/?#@") or any(c.isspace() for c in rest):
        raise ValueError(
            f"{value!r} is not an origin: scheme://host[:port] only, no path, query or user"
        )
    host, port = rest, ""
    if rest.startswith("["):
        address, _, after = rest[1:].partition("]")
        ip = _ip(address)
        if not isinstance(ip, ipaddress.IPv6Address) or (after and not after.startswith(":")):
            raise ValueError(f"{value!r} is not an origin: a bad IPv6 address in brackets")
        host, port = _ipv6_host(value, ip, _ORIGIN), after[1:]
        if after and not port:
            raise ValueError(f"{value!r} is not an origin: an empty port")
    elif ":" in rest:
        host, _, port = rest.partition(":")
        if not port:
            raise ValueError(f"{value!r} is not an origin: an empty port")
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{value!r} is not an origin: the port must be a number 1-65535")
    if not host:
        raise ValueError(f"{value!r} is not an origin: no host")
    if "*" in host:
        raise ValueError(
            f"{value!r} is not an origin: '*' in a host matches nothing (an origin is "
            "compared whole, and a browser sends one host, never a pattern); list each "
            "origin, or '*' alone for any origin"
        )
    if not host.startswith("["):
        host = _browser_host(value, host, _ORIGIN)
    return normal_origin(f"{scheme}://{host.lower()}" + (f":{int(port)}" if port else ""))


#: Code points a browser never lets into a URL's host (WHATWG URL Standard, "forbidden host
#: code point" and "forbidden domain code point"), besides those :func:`origin_pattern` and
#: :func:`host_pattern` refuse before (``/?#@``, white space) and ``*``, refused with their
#: own messages.
_FORBIDDEN_HOST = set("%<>[]\\^|") | {chr(c) for c in range(0x20)} | {chr(0x7F)}

#: What an allowed origin is called in the messages of :func:`_browser_host`.
_ORIGIN = "an origin"


def _ipv6_host(value: str, ip: ipaddress.IPv6Address, what: str) -> str:
    """An IPv6 host in brackets as a browser writes it, or ``ValueError`` for a zone id.

    ``what`` names the entry ``value`` in the message (:data:`_ORIGIN`, :data:`_HOST`). A
    browser takes no zone id (``fe80::1%eth0``, ``%25eth0`` in a URL) in a host: an entry
    with one would never match its ``Origin`` (and the Host check compares an address
    without one, :func:`host_of`); the message gives the address to list.
    """
    if ip.scope_id is not None:
        raise ValueError(
            f"{value!r} is not {what} a browser sends: a browser takes no zone id "
            f"(%{ip.scope_id}) in an IPv6 address; list '[{_ipv6_text(ip)}]'"
        )
    return f"[{_ipv6_text(ip)}]"


def _browser_host(value: str, host: str, what: str) -> str:
    """A listed host (not an IPv6 address) as a browser sends it, or ``ValueError``.

    One rule for an allowed origin's host (``Origin``) and an allowed host (``Host``): a
    browser writes both from the URL's host. ``what`` names the entry ``value`` in the
    messages (:data:`_ORIGIN`, :data:`_HOST`); ``*`` is the caller's to refuse or keep.
    A browser sends a name in ASCII and an IPv4 address dotted-quad (WHATWG URL Standard,
    "host parsing"), so an entry in another spelling would never match one:

    - a Unicode name (``http://bücher.example``) is converted to punycode
      (``http://xn--bcher-kva.example``) by IDNA 2008 (RFC 5891) after the UTS #46 mapping,
      non-transitional, as browsers do (``ß`` stays ``ß``: ``xn--zca``); a name IDNA 2008
      refuses (an emoji, a symbol: some browsers still take them) is refused, naming the
      problem: list its ``xn--`` form;
    - the name so mapped is checked again (:func:`_check_shape`): the mapping removes some
      characters (a soft hyphen, a zero-width space) and turns full-width forms into ASCII
      (``＊`` -> ``*``, ``：`` -> ``:``), so an entry that passed its caller's checks as
      written could become ``""``, ``*`` or a host with a port;
    - a host whose last label is a number (:func:`_check_number`: ``127.1``,
      ``2130706433``, ``0x7f.1``, ``0177.0.0.1``) is an IPv4 address to a browser: refused
      unless written dotted-quad, the message giving that form (``127.0.0.1``); a name
      ending in a number that is no address (``web.1``) is an allowed host, not an origin;
    - ``%`` and the other code points no host has (``<>[]^|``, a backslash, controls) are refused.

    An IPv6 zone id (``http://[fe80::1%25eth0]``) is refused where the brackets are read
    (:func:`_ipv6_host`).
    """
    name = _mapped_host(value, host, what)
    _check_number(value, name, what)
    return name


#: What no host has once mapped (:func:`_check_shape`): the code points of
#: :data:`_FORBIDDEN_HOST`, and those the callers refuse in an entry as written (``:/?#@``,
#: ``*``), which UTS #46 makes of full-width forms (``：``, ``＊``).
_NOT_IN_HOST = _FORBIDDEN_HOST | set(":/?#@*")


def _mapped_host(value: str, host: str, what: str) -> str:
    """``host`` in lower case, a Unicode name in punycode, checked (:func:`_browser_host`)."""
    bad = sorted(set(host) & _FORBIDDEN_HOST)
    if bad:
        raise ValueError(
            f"{value!r} is not {what}: {bad[0]!r} is never in a browser's host "
            "(percent-encoding included: write the host as it reads)"
        )
    mapped = (host if host.isascii() else _punycode_host(value, host, what)).lower()
    _check_shape(value, host, mapped, what)
    if host.isascii():  # a Unicode host's xn-- labels are checked as it is converted
        for label in mapped.split("."):
            _check_a_label(value, label, what)
    return mapped


def _check_a_label(value: str, label: str, what: str) -> None:
    """``ValueError`` for an ASCII ``xn--`` label no browser sends (review rev_hostsfix).

    A browser's UTS #46 ToASCII decodes an ``xn--`` label and fails the host unless the
    punycode decodes to a non-empty, non-ASCII label that UTS #46 leaves as it is (no upper
    case, nothing disallowed) and that encodes back to the same label; so ``xn--a``,
    ``xn--`` and ``xn--abc-`` never match a client. Not IDNA 2008's stricter rules: a label
    it refuses for a code point (``xn--n3h``, the snowman) or for a hyphen or length rule
    WHATWG skips is what :func:`_punycode_host` tells the person to list, and browsers send
    it.
    """
    if not label.startswith("xn--"):
        return
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
        ok = bool(decoded) and not decoded.isascii()
        ok = ok and "xn--" + decoded.encode("punycode").decode("ascii") == label
        ok = ok and idna.uts46_remap(decoded, std3_rules=False, transitional=False) == decoded
    except (UnicodeError, idna.IDNAError):
        ok = False
    if ok:
        try:
            idna.ulabel(label)
        except idna.InvalidCodepoint:
            pass
        except idna.IDNAError:
            ok = _whatwg_skips(decoded)
    if not ok:
        raise ValueError(
            f"{value!r} is not {what} a browser sends: its label {label!r} is not the punycode "
            "of a name a browser takes (a browser decodes an xn-- label and refuses the host "
            "when that fails): write the name in Unicode, or its xn-- form as a browser writes it"
        )


def _check_shape(value: str, written: str, host: str, what: str) -> None:
    """``ValueError`` unless ``host``, the entry's host ``written`` as mapped, is a host's shape.

    Refused: an empty host, an empty label (``a..b``, ``.example``; one trailing ``.`` is
    kept, as browsers send it: no resolver reaches a name with an empty label, DNS has
    none), white space, a control and the characters of :data:`_NOT_IN_HOST`. The callers
    refuse those characters in the entry as written; UTS #46 makes them of characters they
    let pass (a soft hyphen or a zero-width space becomes nothing, ``＊`` ``*``), which
    would list ``""`` (a request with no ``Host``), ``*`` (every host) or ``*.`` (every
    name with a trailing dot). The message names the entry and, when the mapping made the
    problem, what the entry became.
    """
    fault = _shape_fault(host, what)
    if fault is None:
        return
    as_written = fault if host == written.lower() else _shape_fault(written.lower(), what)
    if as_written is not None and as_written.split(";")[0] == fault.split(";")[0]:
        # the entry as written has the fault (".Bücher.example": the leading '.', not the
        # mapping; review rev_hostsfix), its advice in the entry's own spelling
        raise ValueError(f"{value!r} is not {what}: {written.lower()!r} {as_written}")
    raise ValueError(
        f"{value!r} is not {what}: a browser maps its host to {host!r} (full-width forms to "
        f"ASCII, invisible characters to nothing), which {fault}; write the entry in plain ASCII"
    )


def _shape_fault(host: str, what: str) -> str | None:
    """Why ``host`` is not a host's shape, said after it (:func:`_check_shape`); else ``None``.

    An allowed host (``what`` is :data:`_HOST`) with a leading ``.`` (``.example.org``, the
    name and its subdomains elsewhere) is told the two entries that mean that here.
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    bad = sorted(c for c in set(host) if c in _NOT_IN_HOST or c.isspace() or not c.isprintable())
    if not host:
        return "is empty"
    if bad:
        return f"has {bad[0]!r}, never in a host name"
    if "" not in labels:
        return None
    fault = "has an empty label (a leading '.' or two dots in a row)"
    rest = ".".join(labels[1:])
    if what == _HOST and labels[0] == "" and rest and "" not in labels[1:]:
        fault += _leading_dot_advice(rest)
    return fault


def _leading_dot_advice(rest: str) -> str:
    """What to list for ``.rest`` (:func:`_shape_fault`): ``rest`` and ``*.rest``, those taken.

    Each is offered only if :func:`host_pattern` takes it (review rev_hostsfix: ``.1``,
    ``.10.0.0.1`` were told to list ``*.1``, ``*.10.0.0.1``, refused: an address has no
    subdomains); ``""`` when it takes neither (``.1``: ``1`` is ``0.0.0.1`` to a browser).
    """
    taken = []
    for entry in (rest, f"*.{rest}"):
        try:
            host_pattern(entry)
        except ValueError:
            continue
        taken.append(entry)
    if len(taken) == 2:
        return f"; for a name and its subdomains list {taken[0]!r} and {taken[1]!r}"
    if taken and _ip(rest.rstrip(".")) is not None:
        return f"; list {taken[0]!r} (an IP address has no subdomains)"
    return f"; list {taken[0]!r}" if taken else ""


def _is_number(label: str) -> bool:
    """Whether a label is a number to a browser's IPv4 parser (WHATWG: "ends in a number")."""
    hex_digits = "0123456789abcdef"
    return label.isdigit() or (label[:2] == "0x" and all(c in hex_digits for c in label[2:]))


def _check_number(value: str, host: str, what: str) -> None:
    """``ValueError`` for a host ending in a number that a browser does not send as it is.

    WHATWG URL reads a host whose last label is a number (``127.1``, ``0x7f.1``) as an IPv4
    address: refused unless it is one written dotted-quad, the message giving that form, and
    for a number with a leading zero (octal to a browser: ``192.168.001.020`` is
    192.168.1.16) the form without zeros as well; a dotted quad with a trailing ``.``
    (``127.0.0.1.``) is told that the dot is the problem (a browser drops it), not to list
    an address that may be listed already. A name that is not all numbers
    (``web.1``, ``server.123``) fails a browser's parse, so no browser makes that origin
    (refused in an origin); a client that is not a browser (a phone app, a container's
    health check) sends it in ``Host`` as RFC 9110 allows, so it is an allowed host.
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not _is_number(labels[-1]):
        return
    ip = _ip(".".join(labels))
    decimal = _without_leading_zeros(labels)
    if ip is not None and str(ip) == host:
        return
    if ip is not None and decimal is not None and decimal != str(ip):
        raise ValueError(
            f"{value!r} is not {what} a browser sends: browsers read a number with a leading "
            f"zero as octal, so the entry means {ip}; if you meant {decimal}, write it without "
            f"leading zeros, {decimal!r} (list {str(ip)!r} if you meant that one)"
        )
    if ip is not None and host.endswith(".") and str(ip) == host[:-1]:
        raise ValueError(
            f"{value!r} is not {what} a browser sends: the trailing '.' is the problem; a "
            f"browser drops it after an IPv4 address and sends {host[:-1]!r}, the entry "
            "without the dot"
        )
    if ip is not None:
        raise ValueError(
            f"{value!r} is not {what} a browser sends: a browser writes that IPv4 "
            f"address {str(ip)!r}; list it so"
        )
    if all(_is_number(label) for label in labels):
        octal = f" (a number with a leading zero is octal to a browser: write {decimal!r})"
        raise ValueError(
            f"{value!r} is not {what}: {host!r} ends in a number, so a browser reads it as an "
            f"IPv4 address, and it is not one{octal if decimal else ''}"
        )
    if what == _ORIGIN:
        raise ValueError(
            f"{value!r} is not {what} a browser makes: its host {host!r} ends in a number, so "
            "a browser reads it as an IPv4 address, which it is not, and opens no page there "
            "(a client that is not a browser may use the name: list it in allowed_hosts)"
        )


def _without_leading_zeros(labels: list[str]) -> str | None:
    """Four decimal labels, one with a leading zero, as a dotted quad without; else ``None``.

    ``["192", "168", "001", "020"]`` -> ``"192.168.1.20"``: what the person most likely
    meant, where a browser reads ``001`` and ``020`` as octal.
    """
    if len(labels) != 4 or not all(label.isascii() and label.isdigit() for label in labels):
        return None
    if not any(len(label) > 1 and label[0] == "0" for label in labels):
        return None
    numbers = [int(label) for label in labels]
    return ".".join(map(str, numbers)) if all(n <= 255 for n in numbers) else None


def _punycode_host(value: str, host: str, what: str) -> str:
    """A Unicode host as a browser sends it: each non-ASCII label to punycode, or ``ValueError``.

    UTS #46 mapping (non-transitional, no STD3 rules), then label by label, as browsers do
    (WHATWG URL: UTS #46 with CheckHyphens, UseSTD3ASCIIRules and VerifyDnsLength false): a
    non-ASCII label by IDNA 2008 (RFC 5891), an ``xn--`` label checked to decode, any other
    ASCII label kept as it is. IDNA 2008 on the whole host refused what browsers send when
    another label was ASCII with ``_``, an edge hyphen, ``--`` at 3-4, over 63 characters or
    empty (``http://bücher.my_host.example``; review rev12). A non-ASCII label keeps IDNA
    2008's rules, its hyphen and length rules too, stricter than WHATWG's: ``bücher-``,
    ``-bücher``, ``ab--ü`` and a label whose punycode is over 63 characters are refused,
    though a browser may send their ``xn--`` form. A label IDNA 2008 refuses (an emoji, a
    symbol, those hyphens and lengths) is refused, the message giving the host's punycode for a
    disallowed code point or one of those hyphen and length rules where it can be written
    (``☃.net`` -> ``xn--n3h.net``, what Chromium sends; ``bücher-.example`` ->
    ``xn--bcher--3ya.example``), to be listed instead (rev13 review). ``what`` names the
    entry ``value`` in the messages, as for :func:`_browser_host`.
    """
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise ValueError(
            f"{value!r} is not {what} a browser sends: its host {host!r} has a character "
            f"no host name has ({exc})"
        ) from None
    labels = []
    for label in mapped.split("."):
        try:
            if label.isascii():
                if label.startswith("xn--"):
                    idna.ulabel(label)  # a browser checks an xn-- label of a Unicode host
                labels.append(label)
            else:
                labels.append(idna.alabel(label).decode("ascii"))
        except idna.IDNAError as exc:
            browser_form = isinstance(exc, idna.InvalidCodepoint) or _whatwg_skips(label)
            hint = _punycode_hint(mapped) if browser_form and not label.isascii() else ""
            raise ValueError(
                f"{value!r} is not {what} a browser sends: its label {label!r} has no IDNA "
                f"2008 form ({exc}); list the host's punycode (xn--...) form{hint}"
            ) from None
    return ".".join(labels)


def _whatwg_skips(label: str) -> bool:
    """Whether ``label`` breaks an IDNA 2008 rule WHATWG URL skips for it.

    Those rules (CheckHyphens and VerifyDnsLength false): a hyphen at its start or end, ``--``
    at 3-4, an A-label over 63 characters. Read from the label, not from the error's text or
    attributes, which differ between ``idna`` versions.
    """
    if label[:1] == "-" or label[-1:] == "-" or label[2:4] == "--":
        return True
    try:
        return len("xn--" + label.encode("punycode").decode("ascii")) > 63
    except UnicodeError:
        return False


def _punycode_hint(mapped: str) -> str:
    """``", 'xn--...'"``: the UTS #46-mapped host with each non-ASCII label in punycode.

    Given for a label refused for a code point IDNA 2008 disallows (an emoji, a symbol), or
    for IDNA 2008's hyphen and length rules (:func:`_whatwg_skips`), where it is what a
    browser that takes the host sends (Chromium: ``☃.net`` -> ``xn--n3h.net``); not for a
    joiner or bidi refusal, which browsers refuse too. ``""`` when a label has no punycode.
    """
    try:
        text = ".".join(
            label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
            for label in mapped.split(".")
        )
    except UnicodeError:
        return ""
    return f", {text!r}"


def host_of(host_header: str) -> str:
    r"""The host part of a ``Host`` header: ``[::1]:8765`` -> ``[::1]``, ``a:80`` -> ``a``.

    RFC 9110 7.2 ``host [ ":" port ]``, ``port = *DIGIT``, the host either a bracketed IPv6
    address (compressed here, as :func:`host_pattern` writes allowed ones; a zone id
    dropped) or a name of ASCII letters, digits, ``-``, ``.`` and ``_`` with no empty label
    (one trailing ``.`` kept, as ``localhost.`` is sent and listed), in lower case. Anything
    else gives ``""``, a malformed ``Host`` that only ``*`` lets in: a port part that is not
    digits (``127.0.0.1:1@evil``, ``[::1]x``; attacker review 2026-12-06: it passed as
    ``127.0.0.1``), and what came before the first ``:`` unchecked until review
    rev_hostsfix: ``evil.com@a.example.org``, ``evil.com/a.example.org``,
    ``evil.com a.example.org``, ``[a.example.org`` (no ``]``) and ``..example.org`` all
    ended in ``.example.org`` and matched ``*.example.org``. Only ASCII spaces and tabs
    around the header are dropped (RFC 9110 5.5 ``OWS``): ``str.strip`` also dropped
    ``\x85`` and ``\xa0``, so ``localhost\x85`` passed as ``localhost``.
    """
    text = host_header.strip(" \t")
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not _is_port_part(text[end + 1 :]):
            return ""
        ip = _ip(text[1:end])  # one spelling of an IPv6 address: [fe80:0::2] = [fe80::2]
        return f"[{_ipv6_text(ip)}]" if isinstance(ip, ipaddress.IPv6Address) else ""
    host, colon, port = text.partition(":")
    if not _is_port_part(colon + port) or not host or not set(host) <= _NAME_CHARACTERS:
        return ""
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    return "" if "" in labels else host.lower()


#: What a name in a ``Host`` header is made of (:func:`host_of`): RFC 3986's unreserved
#: characters a host name has, ``_`` too (``my_service``, a container's name), no ``~``;
#: letters in either case, checked before lower-casing (``"\u212a".lower()`` is ``"k"``).
_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._")


def _is_port_part(rest: str) -> bool:
    """Whether ``rest``, what follows the host in a Host header, is empty or ``:`` and digits."""
    return rest == "" or (rest[0] == ":" and all(c in "0123456789" for c in rest[1:]))


def url_for(host: str, port: int) -> str:
    """The URL to print for a server bound to ``host``.

    A wildcard bind (``0.0.0.0``, ``::``, ``0``, ...) listens on every address, loopback one of
    them, so loopback is shown; an IPv6 address is bracketed; an IPv4 address is shown
    dotted-quad (``127.1`` -> ``127.0.0.1``: the form the Host check takes for it,
    :func:`accepted_hosts`, which browsers and curl send; httpx sends a URL's host as written).
    """
    shown = host.strip().strip("[]")
    ip = _ip(shown)
    if is_wildcard_address(shown):
        shown = "::1" if ":" in shown else "127.0.0.1"
    elif isinstance(ip, ipaddress.IPv4Address):
        shown = str(ip)
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"
